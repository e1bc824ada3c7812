"""Saving never loses work: doomed saves fail before training, interrupted training is saved,
saves are atomic and leave no temporaries, keep modes and links; training refuses a bad η or
NaN data before it starts; what a model was trained with comes back with ``--load``."""

from __future__ import annotations

import math
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import checkpoint, nn, optim
from autograd_lite.cli import main
from autograd_lite.errors import CheckpointError, InvalidInputError, TrainingError
from autograd_lite.nielsen import ManualNetwork, Network

ROOT = Path(__file__).resolve().parents[1]
FAST_TRAIN = ["train", "--epochs", "1", "--limit", "300", "--no-progress"]
NETWORKS = [Network, ManualNetwork]


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def tiny_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((4, n)), rng.integers(0, 3, n)


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


# -- η and data are refused before training ---------------------------------------------------


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
@settings(max_examples=30, deadline=None)
@given(eta=st.one_of(st.floats(max_value=0.0), st.sampled_from([math.inf, -math.inf, math.nan])))
def test_sgd_refuses_a_bad_eta_before_touching_the_weights(cls, eta):
    net = cls([4, 3, 3], seed=0)
    before = [w.copy() for w in net.weights]
    with pytest.raises(TrainingError, match="eta"):
        net.SGD(tiny_data(), 1, 5, eta, verbose=False)
    for w, w0 in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(w, w0)
    assert net.eta is None


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("eta", [True, "3", None, 1j, [3.0]])
def test_sgd_refuses_an_eta_that_is_not_a_real_number(cls, eta):
    with pytest.raises(InvalidInputError, match="eta"):
        cls([4, 3, 3], seed=0).SGD(tiny_data(), 1, 5, eta, verbose=False)


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "Y one-hot"])
def test_sgd_refuses_nan_or_inf_in_the_training_data(cls, bad, where):
    net = cls([4, 3, 3], seed=0)
    X, labels = tiny_data()
    Y = np.eye(3)[labels].T
    (X if where == "X" else Y)[1, 7] = bad
    before = net.weights[0].copy()
    with pytest.raises(TrainingError, match="NaN or inf"):
        net.SGD((X, Y), 1, 5, 0.5, verbose=False)
    np.testing.assert_array_equal(net.weights[0], before)


@pytest.mark.parametrize("lr", [0, 0.0, -1.0, math.inf, math.nan])
def test_optim_sgd_refuses_a_non_positive_or_non_finite_lr(lr):
    model = nn.Sequential(nn.Linear(2, 1, seed=0))
    with pytest.raises(TrainingError, match="lr"):
        optim.SGD(model.parameters(), lr=lr)
    with pytest.raises(TrainingError, match="lr"):
        optim.SGD([{"params": model.parameters(), "lr": lr}], lr=0.1)


def test_optim_sgd_refuses_an_infinite_weight_decay():
    model = nn.Sequential(nn.Linear(2, 1, seed=0))
    with pytest.raises(ValueError, match="weight_decay"):
        optim.SGD(model.parameters(), lr=0.1, weight_decay=math.inf)


@pytest.mark.parametrize("eta", ["nan", "inf", "-inf", "0", "-0.5", "1e999"])
def test_cli_refuses_a_bad_eta(eta, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", f"--eta={eta}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "must be a positive number" in err and "Traceback" not in err


# -- non-finite parameters are never saved ----------------------------------------------------


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_a_diverged_network_is_not_saved(tmp_path, cls):
    net = cls([4, 3, 3], seed=0)
    net.biases[1][2, 0] = np.inf
    with pytest.raises(CheckpointError) as info:
        net.save(tmp_path / "diverged.npz")
    message = str(info.value)
    assert "'b1'" in message and "smaller" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_module_is_not_saved(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, seed=0))
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(CheckpointError, match=r"'0\.weight'.*smaller"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# -- where and how saves write ----------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = Network([3, 2], seed=0).save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "m.npz"
    Network([3, 2], seed=0).save(path)
    path.chmod(0o640)
    Network([3, 2], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    np.testing.assert_array_equal(Network.load(path).weights[0], Network([3, 2], seed=1).weights[0])


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real" / "model.npz"
    target.parent.mkdir()
    Network([3, 2], seed=0).save(target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    Network([3, 2], seed=5).save(link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    np.testing.assert_array_equal(
        Network.load(target).weights[0], Network([3, 2], seed=5).weights[0]
    )
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


@pytest.mark.parametrize("problem", ["missing folder", "folder at path", "file as folder"])
def test_a_doomed_save_names_the_path_not_a_temporary(tmp_path, problem):
    (tmp_path / "plain").write_text("x")
    (tmp_path / "dir").mkdir()
    path = {
        "missing folder": tmp_path / "nowhere" / "m.npz",
        "folder at path": tmp_path / "dir",
        "file as folder": tmp_path / "plain" / "m.npz",
    }[problem]
    with pytest.raises(CheckpointError) as info:
        Network([3, 2], seed=0).save(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot save here") and ".tmp" not in message
    assert leftovers(tmp_path) == []


KILLED_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from autograd_lite import checkpoint

    def savez_then_die(f, **arrays):
        f.write(b"PK half a file")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    np.savez = savez_then_die
    checkpoint.write_npz(sys.argv[1], {"a": np.zeros(3)})
    """
)


def test_a_killed_save_leaves_its_temporary_and_the_next_save_removes_it(tmp_path):
    path = tmp_path / "model.npz"
    Network([3, 2], seed=0).save(path)
    good = path.read_bytes()
    other = tmp_path / ".model.npz.bak.1.0123456789abcdef.tmp"  # another target's: kept
    other.write_bytes(b"not ours")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_SAVE, str(path)], cwd=ROOT, capture_output=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert path.read_bytes() == good  # atomic: the old model is intact
    stale = [n for n in leftovers(tmp_path) if n != other.name]
    assert len(stale) == 1 and stale[0].startswith(".model.npz.")
    Network([3, 2], seed=1).save(path)
    assert leftovers(tmp_path) == [other.name]
    assert Network.load(path).sizes == [3, 2]


def test_a_live_process_temporary_is_left_alone(tmp_path):
    # a concurrent save by a running process (this one) must not lose its temporary file
    path = tmp_path / "model.npz"
    live = tmp_path / f".model.npz.{os.getpid()}.0123456789abcdef.tmp"
    live.write_bytes(b"in flight")
    Network([3, 2], seed=0).save(path)
    assert live.exists()


def test_checkpoints_store_their_arrays_in_c_order(tmp_path):
    net = Network([3, 2], seed=0)
    net.weights[0] = np.asfortranarray(net.weights[0])
    back = Network.load(net.save(tmp_path / "f.npz"))
    np.testing.assert_array_equal(back.weights[0], net.weights[0])


# -- what a model was trained with --------------------------------------------------------------


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_eta_dtype_and_cost_come_back_with_the_model(tmp_path, cls):
    net = cls([4, 3, 3], seed=0, dtype=np.float32, cost="cross-entropy")
    net.SGD(tiny_data(), 1, 5, 0.25, verbose=False)
    back = cls.load(net.save(tmp_path / "m.npz"))
    assert back.eta == 0.25 and back.dtype == np.float32 and back.cost.name == "cross-entropy"


def test_a_checkpoint_saved_before_eta_was_stored_still_loads(tmp_path):
    net = Network([3, 2], seed=0)
    old = {"sizes": np.array([3, 2]), "cost": np.array("quadratic")}
    old |= {"w0": net.weights[0], "b0": net.biases[0]}
    np.savez(tmp_path / "old.npz", **old)
    back = Network.load(tmp_path / "old.npz")
    assert back.eta is None
    np.testing.assert_array_equal(back.weights[0], net.weights[0])


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["nowhere/model.npz", "", "file/model.npz"])
def test_cli_checks_save_before_training(tmp_path, where, capsys):
    (tmp_path / "file").write_text("x")
    target = tmp_path / where if where else tmp_path
    status, out, err = run([*FAST_TRAIN, "--save", str(target)], capsys)
    assert status == 2
    assert out == ""  # nothing trained, nothing loaded
    assert err.count("\n") == 1 and str(target) in err and ".tmp" not in err


def test_cli_load_trains_on_with_the_stored_cost_eta_and_dtype(tmp_path, capsys):
    model = tmp_path / "model.npz"
    status, _, err = run(
        [*FAST_TRAIN, "--cost", "cross-entropy", "--eta", "0.5", "--float32", "--save", str(model)],
        capsys,
    )
    assert status == 0, err
    status, out, err = run(["train", "--epochs", "0", "--load", str(model)], capsys)
    assert status == 0, err
    header = out.splitlines()[0]
    assert "cross-entropy cost" in header and "η = 0.5," in header and "float32" in header
    assert err == ""


def test_cli_load_says_which_flags_it_ignores(tmp_path, capsys):
    model = tmp_path / "model.npz"
    assert run([*FAST_TRAIN, "--save", str(model)], capsys)[0] == 0
    argv = ["train", "--epochs", "0", "--load", str(model), "--cost", "cross-entropy"]
    status, out, err = run([*argv, "--float32", "--eta", "0.1"], capsys)
    assert status == 0, err
    notes = err.splitlines()
    assert len(notes) == 2
    assert notes[0].startswith("autograd-lite: note: --cost cross-entropy ignored")
    assert notes[1].startswith("autograd-lite: note: --float32 ignored")
    header = out.splitlines()[0]
    assert "quadratic cost" in header and "η = 0.1," in header and "float64" in header


def _train_then_signal(tmp_path, signum):
    model = tmp_path / "model.npz"
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "autograd_lite", *FAST_TRAIN, "--epochs", "100000"]
    proc = subprocess.Popen(
        [*argv, "--eta", "2.5", "--save", str(model)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:  # wait until training is under way
            if line.startswith("Epoch 0:"):
                break
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err, model


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_saves_the_model_so_far_on_ctrl_c_or_sigterm(tmp_path, signum, status):
    code, err, model = _train_then_signal(tmp_path, signum)
    assert code == status, err
    saved = model.with_name("model.interrupted.npz")
    assert err.count("\n") == 1 and str(saved) in err and "saved the model so far" in err
    assert not model.exists()  # PATH (maybe a good older model) is left alone
    assert leftovers(tmp_path) == []
    net = Network.load(saved)
    assert net.sizes == [784, 30, 10] and net.eta == 2.5
    assert not np.array_equal(net.weights[0], Network([784, 30, 10], seed=0).weights[0])


def test_interrupted_save_path_keeps_the_suffix():
    from autograd_lite.cli import _interrupted_path

    assert _interrupted_path(Path("a/model.npz")) == Path("a/model.interrupted.npz")
    assert _interrupted_path(Path("model")) == Path("model.interrupted")


def test_write_npz_returns_the_path_it_was_given(tmp_path):
    assert checkpoint.write_npz(tmp_path / "x", {"a": np.zeros(2)}) == tmp_path / "x"


def test_cli_interrupted_during_the_final_save_saves_to_the_sibling(tmp_path, capsys, monkeypatch):
    model = tmp_path / "model.npz"
    real_save = Network.save

    def interrupted_save(self, path):
        if Path(path) == model:
            raise KeyboardInterrupt  # Ctrl-C while the finished model is being written
        return real_save(self, path)

    monkeypatch.setattr(Network, "save", interrupted_save)
    status, _, err = run([*FAST_TRAIN, "--save", str(model)], capsys)
    assert status == 130
    saved = tmp_path / "model.interrupted.npz"
    assert err.count("\n") == 1 and "after 1 complete epochs" in err and str(saved) in err
    assert Network.load(saved).sizes == [784, 30, 10] and not model.exists()
