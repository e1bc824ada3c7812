"""compare(): autodiff vs BP1-BP4 by hand, differences and timings, and its table."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autograd_lite.nielsen import ComparisonReport, compare
from autograd_lite.nielsen.compare import LayerDifference


def _quick(sizes, **kwargs):
    kwargs.setdefault("repeats", 2)
    kwargs.setdefault("number", 2)
    return compare(sizes, **kwargs)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("sizes", [[784, 30, 10], [5, 7, 6, 3], [3, 2]])
def test_differences_are_round_off(sizes, cost):
    report = _quick(sizes, cost=cost)
    assert isinstance(report, ComparisonReport)
    n_layers = len(sizes) - 1
    assert len(report.rows) == 3 * n_layers
    assert report.max_difference < 1e-12
    assert report.within_round_off and report.tolerance == pytest.approx(1e-12)
    for row in report.rows:
        assert isinstance(row, LayerDifference)
        assert max(row.vs_per_sample, row.vs_matrix, row.per_sample_vs_matrix) < 1e-12
        assert row.scale > 0
    for l in range(2, len(sizes) + 1):
        assert report.difference("nabla_w", l).shape == (sizes[l - 1], sizes[l - 2])
        assert report.difference("nabla_b", l).shape == (sizes[l - 1], 1)
        assert report.difference("delta", l).shape == (sizes[l - 1], 10)
    with pytest.raises(KeyError):
        report.difference("delta", len(sizes) + 1)


def test_table_mentions_every_layer_and_every_version():
    sizes = [6, 5, 4, 3]
    report = _quick(sizes, seed=3, mini_batch_size=4)
    text = str(report)
    assert "sizes [6, 5, 4, 3]" in text and "mini-batch of 4" in text
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=2):
        assert re.search(rf"^\s+{l}\s+nabla_w\s+{n_out}x{n_in}\s", text, re.M), text
        assert re.search(rf"^\s+{l}\s+nabla_b\s+{n_out}x1\s", text, re.M), text
        assert re.search(rf"^\s+{l}\s+delta\s+{n_out}x4\s", text, re.M), text
    assert "round-off level" in text
    for label in ("per-sample manual", "matrix manual", "autodiff"):
        assert re.search(rf"{label}.*\d+\.\d µs\s+\d+\.\d\d x matrix", text), text
    # Aligned: every table row has the same width.
    rows = [line for line in text.splitlines() if re.match(r"^\s+(\d+|layer|-+)\s", line)]
    assert len(rows) == 2 + 3 * 3
    assert len({len(r.rstrip()) for r in rows}) == 1


def test_timings():
    report = _quick([8, 6, 4], repeats=3, number=1)
    assert report.repeats == 3
    assert set(report.timings) == {"per-sample", "matrix", "autodiff"}
    assert all(len(v) == 3 and all(t > 0 for t in v) for v in report.timings.values())
    assert report.matrix_seconds == sorted(report.timings["matrix"])[1]
    assert report.autodiff_over_matrix == report.autodiff_seconds / report.matrix_seconds
    auto = compare([4, 3], repeats=1)  # automatic number of steps per block
    assert auto.per_sample_seconds > 0


def test_given_batch_in_either_format():
    rng = np.random.default_rng(0)
    X = rng.random((5, 6))
    labels = rng.integers(0, 3, 6)
    Y = np.eye(3)[:, labels]
    a = _quick([5, 4, 3], batch=(X, Y))
    b = _quick([5, 4, 3], batch=(X, labels))
    c = _quick([5, 4, 3], batch=[(X[:, [j]], Y[:, [j]]) for j in range(6)])
    assert a.mini_batch_size == b.mini_batch_size == c.mini_batch_size == 6
    for r in (a, b, c):
        assert r.max_difference < 1e-12
    assert [row.scale for row in a.rows] == [row.scale for row in b.rows]


def test_float32_report():
    report = _quick([6, 5, 3], dtype=np.float32)
    assert report.dtype == "float32"
    assert report.tolerance > 1e-6 and report.within_round_off


def test_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        compare([3, 2], repeats=0)
    with pytest.raises(ValueError, match="at least 2 layers"):
        compare([3])
    with pytest.raises(ValueError, match="mini_batch_size"):
        compare([3, 2], mini_batch_size=0)
