"""compare(): autodiff vs BP1-BP4 by hand, differences and timings, and its table."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings

from autograd_lite.errors import ShapeError
from autograd_lite.nielsen import ComparisonReport, ManualNetwork, compare
from autograd_lite.nielsen.compare import LayerDifference, round_off_bounds

try:  # tests/ is not a package: pytest puts it on sys.path
    from nielsen_helpers import cases, make_batch
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.nielsen_helpers import cases, make_batch


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
    assert report.within_round_off and 0 <= report.round_off_ratio <= 1
    for row in report.rows:
        assert isinstance(row, LayerDifference)
        assert row.max_difference <= row.bound and row.ratio <= 1
        # The bound is an error analysis, not a blanket: far below the gradients' size.
        assert 0 < row.bound <= 1e-9 * row.scale
        assert row.scale > 0
    assert report.tolerance == max(row.bound for row in report.rows)
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
        assert r.within_round_off
    assert [row.scale for row in a.rows] == [row.scale for row in b.rows]


def test_float32_report():
    report = _quick([6, 5, 3], dtype=np.float32)
    assert report.dtype == "float32"
    assert report.within_round_off
    # float32's epsilon is 2**29 times float64's: so are the bounds, on the same data.
    wide = _quick([6, 5, 3])
    for row32, row64 in zip(report.rows, wide.rows, strict=True):
        assert row32.bound > 1e5 * row64.bound


def test_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        compare([3, 2], repeats=0)
    with pytest.raises(ValueError, match="at least 2 layers"):
        compare([3])
    with pytest.raises(ValueError, match="mini_batch_size"):
        compare([3, 2], mini_batch_size=0)


def test_verdict_is_relative_to_the_gradients_and_the_batch():
    """A large batch: sums of 20000 terms differ by more than 1e-12 and are still round-off.

    The old verdict (an absolute 1e-12) called 1.4e-11 on gradients of size ~1e3 (a relative
    1e-14) "LARGER than round-off"; the bound now grows with the batch and the magnitudes.
    """
    report = _quick([20, 10, 3], mini_batch_size=20_000, repeats=1, number=1)
    assert report.max_difference > 1e-12  # above the old absolute tolerance
    assert report.within_round_off, str(report)
    assert "round-off level" in str(report) and "LARGER" not in str(report)


def test_verdict_flags_a_difference_beyond_round_off(monkeypatch):
    """The bound is not vacuous: the matrix gradients off by a relative 1e-9 are caught."""
    original = ManualNetwork.backprop_matrix

    def off(self, X, Y):
        nabla_b, nabla_w = original(self, X, Y)
        return nabla_b, [w * (1 + 1e-9) for w in nabla_w]

    monkeypatch.setattr(ManualNetwork, "backprop_matrix", off)
    report = _quick([6, 5, 3])
    assert not report.within_round_off and report.round_off_ratio > 1
    assert report.difference("nabla_w", 2).ratio > 1
    assert report.difference("nabla_b", 2).ratio <= 1
    assert "LARGER than round-off" in str(report)


@given(cases(max_width=12, max_m=8))
@settings(max_examples=max(20, settings().max_examples), deadline=None)
def test_bounds_hold_for_every_pair_of_computations(case):
    """round_off_bounds covers autodiff, per-sample and matrix backprop on random networks."""
    sizes, seed, m, cost = case
    X, Y = make_batch(sizes, seed, m)
    report = compare(sizes, batch=(X, Y), seed=seed, cost=cost, repeats=1, number=1)
    assert report.within_round_off, str(report)


def test_bounds_are_entrywise_and_grow_where_terms_cancel():
    """A sum whose terms cancel gets a bound relative to the terms, not to the small result."""
    man = ManualNetwork([1, 1], seed=0, cost="quadratic")
    man.weights, man.biases = [np.array([[0.0]])], [np.array([[0.0]])]  # a = 1/2 everywhere
    X = np.ones((1, 4))
    Y = np.array([[0.0, 1.0, 0.0, 1.0]])  # deltas +1/8, -1/8: the gradient is exactly 0
    bounds = round_off_bounds(man.weights, man.biases, X, Y, "quadratic")
    assert bounds.nabla_b[0].shape == (1, 1) and bounds.delta[0].shape == (1, 4)
    assert np.all(man.backprop_matrix(X, Y)[0][0] == 0)
    assert bounds.nabla_b[0][0, 0] > 0  # round-off in the four terms of size 1/8
    assert bounds.nabla_b[0][0, 0] < 1e-13
    with pytest.raises(ValueError, match="cost must be"):
        round_off_bounds(man.weights, man.biases, X, Y, "hinge")


def test_batch_larger_than_the_data_is_an_error():
    X, Y = make_batch([5, 4, 3], 0, 6)
    with pytest.raises(ShapeError, match="mini-batch of 7 was asked for.*has 6 samples"):
        compare([5, 4, 3], batch=(X, Y), mini_batch_size=7, repeats=1, number=1)
    assert compare([5, 4, 3], batch=(X, Y), mini_batch_size=6, repeats=1, number=1)


def test_cli_compare_batch_larger_than_the_data_is_one_line(capsys):
    from autograd_lite.cli import main
    from autograd_lite.datasets import load_mnist

    n = len(load_mnist().train)
    assert main(["compare", "--batch", str(n + 1)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"mini-batch of {n + 1} was asked for" in err
    assert f"has {n} samples" in err
