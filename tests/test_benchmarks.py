"""The benchmarks' own instruments compute what they claim to (timing itself is never tested)."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite.nielsen import Network
from benchmarks.minimal_tape import MinimalTapeNetwork


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minimal_tape_matches_network_bitwise(dtype: type[np.floating]) -> None:
    """The floor diagnostic does the library's arithmetic, so its weights stay bitwise equal."""
    rng = np.random.default_rng(0)
    net = Network([12, 5, 3], seed=3, dtype=dtype)
    tape = MinimalTapeNetwork(net.biases, net.weights)
    for _ in range(20):
        X = rng.random((12, 4)).astype(dtype)
        Y = rng.random((3, 4)).astype(dtype)
        net.update_mini_batch((X, Y), 3.0)
        tape.step(X, Y, 3.0)
    for ours, floor in zip(net.biases + net.weights, tape.biases + tape.weights, strict=True):
        assert floor.dtype == ours.dtype
        np.testing.assert_array_equal(floor, ours)


def test_ab_extracts_an_importable_copy_of_the_package(tmp_path: Path) -> None:
    """``benchmarks.ab`` renames the package at a commit so both versions import side by side."""
    from benchmarks.ab import OLD_NAME, ROOT, extract

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and the repository's history")
    extract("HEAD", tmp_path)
    sources = list((tmp_path / OLD_NAME).rglob("*.py"))
    assert sources
    stray = re.compile(r"\bautograd_lite\b(?!_ab)")  # a name the rename missed
    assert not [p.name for p in sources if stray.search(p.read_text(encoding="utf-8"))]
    code = (
        f"import {OLD_NAME} as old, autograd_lite as new\n"
        "x = old.Tensor([1.0, 2.0], requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "assert old.Tensor is not new.Tensor and list(x.grad) == [2.0, 4.0]\n"
        "assert old.nielsen.Network.__module__.startswith('autograd_lite_ab')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_deep_runs_each_chain_in_a_fresh_process_and_reports_its_error() -> None:
    """bench_deep's runs: a spawned process per chain (its own peak memory), the gradient checked
    there; a failing run comes back as an error, and the other runs go on."""
    pytest.importorskip("psutil")
    from benchmarks.bench_deep import in_fresh_process

    run = in_fresh_process("autograd_lite", 300)
    assert run["grad_ok"] and run["fwd_s"] > 0.0 and run["bwd_s"] > 0.0 and run["peak"] > 0
    assert "TypeError" in in_fresh_process("autograd_lite", "300")["error"]  # range("300")


def test_documented_command_lines_parse() -> None:
    """Every ``python -m benchmarks...`` line of docs/performance.md is accepted by its module.

    In a fresh process: importing the benchmarks here would add their constants to the ones
    hypothesis draws from in this process (its local-constants pool), which moves other tests.
    """
    from benchmarks.common import ROOT

    doc = (ROOT / "docs" / "performance.md").read_text()
    commands = re.findall(r"^python -m (benchmarks[\w.]*)([^#\n]*)", doc, re.M)
    assert len(commands) >= 10
    code = (
        "import argparse, importlib, shlex, sys\n"
        "class Parsed(Exception): pass\n"
        "parse = argparse.ArgumentParser.parse_args\n"
        "def parse_only(self, args=None, namespace=None):\n"
        "    parse(self, args, namespace)  # exits 2 on an option the module does not know\n"
        "    raise Parsed\n"
        "argparse.ArgumentParser.parse_args = parse_only\n"
        f"for module, rest in {commands!r}:\n"
        "    name = 'benchmarks.__main__' if module == 'benchmarks' else module\n"
        "    try:\n"
        "        importlib.import_module(name).main(shlex.split(rest))\n"
        "    except Parsed:\n"
        "        continue\n"
        "    sys.exit(f'{module}{rest}: no command line parsed')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@given(count=st.integers(1, 1700))
@settings(max_examples=10, deadline=None)
def test_load_batches_are_epochs_of_row_blocks_and_their_column_views(count: int) -> None:
    """Every contender gets the same batches: shuffled epochs of 10-sample row blocks, the
    chapter's column layout a view of the same memory."""
    from autograd_lite.datasets import load_mnist
    from benchmarks.bench_nielsen import BATCH, load_batches

    batches, _ = load_batches(np.float32, count)
    assert len(batches) == count
    for Xc, Yc, Xr, Yr in batches:
        assert Xr.shape == (BATCH, 784) and Xr.flags.c_contiguous and Yr.shape == (BATCH, 10)
        assert Xc.base is Xr and Yc.base is Yr
    if count >= 800:  # the first 800 batches are the 8,000 training digits, each once

        def rows(a: np.ndarray) -> np.ndarray:
            return np.sort(np.ascontiguousarray(a).view(f"V{a.shape[1] * a.itemsize}").ravel())

        first = np.concatenate([b[2] for b in batches[:800]])
        assert np.array_equal(rows(first), rows(load_mnist(dtype=np.float32).train.images))


@given(st.lists(st.floats(0.0, 1e3), min_size=1, max_size=40))
def test_summarize_is_the_median_and_quartiles_of_wall_and_cpu(values: list[float]) -> None:
    """Medians, quartiles and minima of plain timings and of ``(wall, cpu)`` pairs."""
    from benchmarks.common import summarize

    s = summarize(values, 1e6)
    assert s["median"] == statistics.median(v * 1e6 for v in values)
    assert s["min"] == min(values) * 1e6 and s["n"] == len(values)
    slack = 1e-9 * max(values) * 1e6  # the quartiles are interpolated
    assert s["min"] - slack <= s["q1"] <= s["median"] + slack
    assert s["median"] - slack <= s["q3"] <= max(values) * 1e6 + slack
    pairs = summarize([(v, 2 * v) for v in values])
    assert pairs["median"] == statistics.median(values)
    assert pairs["cpu"]["median"] == statistics.median(2 * v for v in values)


def test_interleaved_records_every_contender_after_its_warmup() -> None:
    """Each round runs ``warmup + reps`` times, in cycles; only the last ``reps`` are kept."""
    from benchmarks.common import interleaved

    calls = {"a": 0, "b": 0}

    def round_(name: str):  # type: ignore[no-untyped-def]
        def run() -> int:
            calls[name] += 1
            return calls[name]

        return run

    try:
        samples = interleaved({"a": round_("a"), "b": round_("b")}, reps=3, warmup=2)
    finally:
        gc.unfreeze()  # interleaved freezes the heap it finds; give this process's back
    assert calls == {"a": 5, "b": 5}
    assert samples == {"a": [3, 4, 5], "b": [3, 4, 5]}


def test_pinned_blas_reports_the_count_pinned() -> None:
    """threadpoolctl (not ctypes) pins NumPy's BLAS; the count it reports is the one pinned."""
    pytest.importorskip("threadpoolctl")
    from benchmarks.common import pin_blas_threads

    before = pin_blas_threads(None).get("num_threads")
    if before is None:
        pytest.skip("NumPy's BLAS is not one threadpoolctl knows")
    try:
        assert pin_blas_threads(1)["num_threads"] == 1
        assert pin_blas_threads(2)["num_threads"] == 2
    finally:
        pin_blas_threads(before)


def test_footer_writes_numpy_values_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shared footer prints the notes, the machine and the goals, and writes valid JSON."""
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("psutil")
    from benchmarks import common

    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    goals = [common.goal("ratio ≤ 1.25x", 1.1, 1.25, 1.3)]
    payload = {"values": np.arange(3.0), "flag": np.bool_(True), "count": np.int64(7)}
    common.footer("probe", payload, ["a note"], goals)
    out = capsys.readouterr().out
    assert "note: a note" in out and "NumPy" in out and "ratio ≤ 1.25x" in out and "NO" in out
    document = json.loads((tmp_path / "probe.json").read_text())
    assert document["values"] == [0.0, 1.0, 2.0] and document["flag"] is True
    assert document["count"] == 7 and document["goals"][0]["met"] is False
    assert set(document["environment"]["blas"]) >= {"name", "version", "threads"}


def test_peak_rss_resets_and_then_grows_with_an_allocation() -> None:
    """bench_deep's peak memory, in a fresh process as there: reset just before a block of work,
    the peak then counts what the work took, and a second reset forgets it once it is freed."""
    pytest.importorskip("psutil")
    from benchmarks.common import ROOT

    code = (
        "import numpy as np\n"
        "from benchmarks.common import peak_rss_bytes, reset_peak_rss, rss_bytes\n"
        "if not reset_peak_rss(): raise SystemExit(3)\n"
        "before = peak_rss_bytes()\n"
        "assert abs(before - rss_bytes()) < 2**23, (before, rss_bytes())\n"
        "block = np.ones(2**23)\n"  # 64 MiB, written
        "assert peak_rss_bytes() - before > 2**25, (peak_rss_bytes(), before)\n"
        "del block\n"
        "assert reset_peak_rss() and peak_rss_bytes() - before < 2**24, peak_rss_bytes()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if result.returncode == 3:
        pytest.skip("no /proc/self/clear_refs")
    assert result.returncode == 0, result.stderr


def test_table_aligns_text_left_and_numbers_right() -> None:
    """The tables every benchmark prints: text left, numbers right, a missing value as ``-``."""
    from benchmarks.common import table

    lines = table(["name", "µs"], [("a", 1.234), ("bb", 123.4), ("c", None)]).splitlines()
    assert lines == ["name    µs", "----  ----", "a     1.23", "bb     123", "c        -"]


def test_setup_parses_shared_and_own_options_and_imports_only_the_optional_asked_for() -> None:
    """``common.setup``: the shared options, a benchmark's own (a help text is a switch), the
    quick/full repetitions, and the optional contenders: None when skipped or not asked for."""
    pytest.importorskip("threadpoolctl")  # (setup pins the BLAS threads: the bench extra)
    from benchmarks.common import setup

    own = {"--profile": "a switch", "--nodes": {"type": int}}
    args = setup("doc", ["--quick", "--no-torch", "--profile", "--nodes", "7"], own, reps=(3, 30))
    assert (args.quick, args.profile, args.nodes, args.reps) == (True, True, 7, 3)
    assert (
        args.torch is None and args.jax is None and args.notes == ["PyTorch skipped (--no-torch)"]
    )
    args = setup("doc", ["--reps", "5", "--no-jax"], reps=(3, 30), optional=("jax",))
    assert (args.quick, args.reps, args.torch, args.jax) == (False, 5, None, None)
    assert args.notes == ["JAX skipped (--no-jax)"]
    assert setup("doc", [], reps=(3, 30), optional=()).reps == 30
    with pytest.raises(SystemExit):
        setup("doc", ["--profile"])  # not an option of this benchmark


@given(st.lists(st.tuples(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3)), min_size=1, max_size=9),
       st.lists(st.tuples(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3)), min_size=1, max_size=9),
       st.floats(0.1, 10.0))  # fmt: skip
def test_ratio_and_goals_of_compare_the_wall_and_cpu_medians(
    a: list[tuple[float, float]], b: list[tuple[float, float]], limit: float
) -> None:
    """``ratio``: the wall and CPU medians' ratios; ``goals_of``: each goal met when both are
    within, and only the goals whose two contenders ran."""
    from benchmarks.common import goals_of, ratio, summarize

    wall = statistics.median(x for x, _ in a) / statistics.median(x for x, _ in b)
    cpu = statistics.median(y for _, y in a) / statistics.median(y for _, y in b)
    assert ratio(summarize(a), summarize(b)) == (wall, cpu)
    stats = {"a": summarize(a), "b": summarize(b)}
    g, *others = goals_of(stats, [("goal", "a", "b", limit), ("gone", "a", None, limit)])
    assert (g["measured"], g["cpu_measured"], g["limit"]) == (wall, cpu, limit)
    assert g["met"] == (wall <= limit and cpu <= limit) and others == []


def test_over_steps_through_every_item_and_times_per_item() -> None:
    """``over``: a round that runs the step on each item in order, ``(wall, cpu)`` per item."""
    from benchmarks.common import block, compare, over

    seen: list[int] = []
    wall, cpu = over(seen.append, [3, 1, 2])()
    assert seen == [3, 1, 2] and wall >= 0.0 and cpu >= 0.0
    try:
        stats = compare({"a": over(seen.append, [0]), "b": block(lambda: None, 1)}, reps=4)
    finally:
        gc.unfreeze()
    assert set(stats) == {"a", "b"} and stats["a"]["n"] == 4 and "cpu" in stats["b"]
    assert seen == [3, 1, 2] + [0] * 5  # a warm-up round, then the four recorded


def test_gc_off_disables_the_collector_for_the_round_only() -> None:
    """``gc_off``: the round runs with the cyclic collector off; it is back on afterwards, also
    when the round raises."""
    from benchmarks.common import gc_off

    def failing() -> None:
        raise RuntimeError("boom")

    assert gc.isenabled() and gc_off(gc.isenabled)() is False and gc.isenabled()
    with pytest.raises(RuntimeError):
        gc_off(failing)()
    assert gc.isenabled()


def test_bench_compile_phases_are_the_five_parts_of_a_step() -> None:
    """``--profile``'s phase timer returns each phase of the compiled step, timed in the loop."""
    pytest.importorskip("threadpoolctl")
    from benchmarks.bench_compile import phases
    from benchmarks.bench_nielsen import load_batches

    batches = load_batches(np.float64, 3)[0]
    spent = phases(np.float64, batches)
    assert list(spent) == ["zero_grad", "compiled forward", "cost", "backward", "opt.step"]
    assert all(value > 0 for value in spent.values())
