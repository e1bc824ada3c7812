"""Smoke tests of the ``autograd-lite`` command line: training, compare, and one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograd_lite.cli import main
from autograd_lite.nielsen import Network

FAST_TRAIN = ["train", "--epochs", "1", "--limit", "300", "--no-progress"]


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_train_prints_one_line_per_epoch_and_a_summary(capsys):
    status, out, err = run(["train", "--epochs", "2", "--limit", "300", "--no-progress"], capsys)
    assert status == 0, err
    epoch_lines = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert len(epoch_lines) == 2
    assert epoch_lines[0].startswith("Epoch 0: ") and "/ 2000 (" in epoch_lines[0]
    assert "Done:" in out and "µs per mini-batch step" in out


def test_train_learns_something_on_the_embedded_digits(capsys):
    status, out, _ = run(["train", "--epochs", "1", "--no-progress"], capsys)
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("Epoch 0"))
    correct = int(line.split(":")[1].split("/")[0])
    assert correct > 800  # far above chance (200 of 2000) after one epoch on 8,000 digits


def test_progress_bar_goes_to_stderr(capsys):
    status, _, err = run(["train", "--epochs", "1", "--limit", "100"], capsys)
    assert status == 0
    assert "batch" in err  # tqdm's bar, unit "batch"


def test_save_then_load_resumes_from_the_saved_weights(tmp_path, capsys):
    model = tmp_path / "model.npz"
    status, out, err = run([*FAST_TRAIN, "--save", str(model)], capsys)
    assert status == 0, err
    assert model.exists() and "Saved the model" in out
    saved = Network.load(model)
    status, out, err = run(["train", "--epochs", "0", "--load", str(model)], capsys)
    assert status == 0, err
    correct = int(out.split("No training (0 epochs): ")[1].split(" /")[0])
    from autograd_lite.datasets import load_mnist

    test = load_mnist().test
    assert correct == saved.evaluate((test.images.T, test.labels))


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--eta", "0"], "must be a positive number"),
        (["train", "--eta", "-1"], "must be a positive number"),
        (["train", "--batch", "0"], "must be at least 1"),
        (["train", "--sizes", "784", "x", "10"], "expected a whole number"),
        (["train", "--cost", "hinge"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err


def test_sizes_that_do_not_fit_the_data(capsys):
    status, _, err = run([*FAST_TRAIN, "--sizes", "100", "30", "10"], capsys)
    assert status == 2
    assert err.count("\n") == 1 and "must start with 784" in err


def test_single_layer_sizes_are_refused(capsys):
    status, _, err = run([*FAST_TRAIN, "--sizes", "784"], capsys)
    assert status != 0
    assert err.count("\n") == 1 and err.startswith("autograd-lite: error:")


def test_missing_data_folder(tmp_path, capsys):
    status, _, err = run([*FAST_TRAIN, "--data", str(tmp_path / "nowhere")], capsys)
    assert status == 2
    assert "no such folder" in err and err.count("\n") == 1


def test_folder_without_idx_files(tmp_path, capsys):
    status, _, err = run([*FAST_TRAIN, "--data", str(tmp_path)], capsys)
    assert status == 1
    assert err.count("\n") == 1 and str(tmp_path) in err


@pytest.mark.parametrize(
    "content", [b"", b"not a zip file", b"PK\x03\x04 truncated"], ids=["empty", "text", "zip"]
)
def test_corrupt_model_file_is_a_one_line_error(tmp_path, content, capsys):
    model = tmp_path / "bad.npz"
    model.write_bytes(content)
    status, _, err = run([*FAST_TRAIN, "--load", str(model)], capsys)
    assert status == 1
    assert err.count("\n") == 1 and "bad.npz" in err


def test_model_with_non_finite_weights_is_refused(tmp_path, capsys):
    path = Network([784, 5, 10], seed=0).save(tmp_path / "nan.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["w0"][0, 0] = np.nan  # written behind save's back, which refuses NaN
    np.savez(path, **arrays)
    status, _, err = run([*FAST_TRAIN, "--load", str(path)], capsys)
    assert status == 1
    assert err.count("\n") == 1 and "nan.npz" in err


def test_missing_model_file(tmp_path, capsys):
    status, _, err = run([*FAST_TRAIN, "--load", str(tmp_path / "absent.npz")], capsys)
    assert status == 1 and "absent.npz" in err and err.count("\n") == 1


def test_plot_draws_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    curve = tmp_path / "curve.png"
    status, out, err = run([*FAST_TRAIN, "--epochs", "2", "--plot", str(curve)], capsys)
    assert status == 0, err
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_reports_round_off_differences(capsys):
    status, out, err = run(["compare", "--sizes", "784", "8", "10"], capsys)
    assert status == 0, err
    assert "nabla_w" in out and "delta" in out
    # every difference printed in scientific notation is at round-off level
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+(nabla|delta)", line)]
    assert len(rows) == 6  # nabla_w, nabla_b, delta for each of the two layers
    differences = [float(x) for row in rows for x in row[3:6]]  # AD-sample, AD-matrix, s-m
    bounds = [float(row[7]) for row in rows]  # the error analysis' bound of each row
    assert all(d <= b for row, b in zip(rows, bounds, strict=True) for d in map(float, row[3:6]))
    assert len(differences) == 18 and "(round-off level;" in out and "LARGER" not in out


def test_no_command_prints_help(capsys):
    status, out, _ = run([], capsys)
    assert status == 2 and "train" in out and "compare" in out


def test_python_dash_m_entry_point():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run(
        [sys.executable, "-m", "autograd_lite", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0
    assert "train" in result.stdout and "compare" in result.stdout
