"""The benchmarks' own instruments compute what they claim to (timing itself is never tested)."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from autograd_lite.nielsen import Network
from benchmarks.minimal_tape import MinimalTapeNetwork


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minimal_tape_matches_network_bitwise(dtype) -> None:
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


def test_ab_extracts_an_importable_copy_of_the_package(tmp_path) -> None:
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


def test_collector_log_counts_each_generation() -> None:
    """bench_deep's gc.callbacks entry counts and times the collections it is told about."""
    from benchmarks.bench_deep import CollectorLog

    log = CollectorLog()
    gc.callbacks.append(log)
    try:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    finally:
        gc.callbacks.remove(log)
    assert log.count[0] >= 1 and log.count[2] >= 2
    assert all(seconds >= 0.0 for seconds in log.seconds) and log.seconds[2] > 0.0
