"""The hand-written chapter-2 network: BP1-BP4 against finite differences, and its API.

Nothing here uses the autodiff engine: these tests check the manual equations independently, so
that the autodiff-vs-manual tests in ``test_nielsen_network.py`` compare against something
known to be right.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autograd_lite.errors import CheckpointError, ShapeError, TrainingError
from autograd_lite.nielsen import common
from autograd_lite.nielsen.common import (
    as_columns,
    initial_parameters,
    make_shuffle_rng,
    validate_sizes,
)
from autograd_lite.nielsen.manual import (
    CrossEntropyCost,
    ManualNetwork,
    QuadraticCost,
    get_cost,
    sigmoid,
    sigmoid_prime,
)

try:  # tests/ is not a package: pytest puts it on sys.path
    from nielsen_helpers import FAST, assert_rel, cases, make_batch
    from tolerances import (
        assert_within,
        backprop_bounds,
        cost_bound,
        step_bounds,
        sync_parameters,
    )
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.nielsen_helpers import FAST, assert_rel, cases, make_batch
    from tests.tolerances import (
        assert_within,
        backprop_bounds,
        cost_bound,
        step_bounds,
        sync_parameters,
    )


# ---------------------------------------------------------------------------------------------
# sizes, initial parameters, sigmoid, costs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, pattern",
    [
        ([], "at least 2 layers"),
        ([784], "at least 2 layers"),
        ([784, 0, 10], r"sizes\[1\] must be a positive int"),
        ([3, -2], r"sizes\[1\] must be a positive int"),
        ([3, 2.5], r"sizes\[1\] must be a positive int"),
        ([True, 2], r"sizes\[0\] must be a positive int"),
        (["3", 2], r"sizes\[0\] must be a positive int"),
        ("784", "list of layer widths"),
        (None, "list of layer widths"),
    ],
)
def test_validate_sizes_errors(sizes, pattern):
    with pytest.raises(ShapeError, match=pattern) as info:
        validate_sizes(sizes)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=pattern):
        ManualNetwork(sizes)


def test_validate_sizes_ok():
    assert validate_sizes((784, np.int64(30), 10)) == [784, 30, 10]
    assert all(type(n) is int for n in validate_sizes(np.array([2, 3])))


def test_initial_parameters_order_shapes_and_seed():
    sizes = [4, 3, 2]
    biases, weights = initial_parameters(sizes, seed=5)
    # Documented order, that of Nielsen's network.py after np.random.seed(5): all biases first
    # (layer order), then all weights, drawn by the legacy np.random.randn.
    np.random.seed(5)  # noqa: NPY002 - the book seeds the global legacy generator
    expected_b = [np.random.randn(y, 1) for y in sizes[1:]]  # noqa: NPY002
    expected_w = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]  # noqa: NPY002
    for got, want in zip(biases + weights, expected_b + expected_w, strict=True):
        np.testing.assert_array_equal(got, want)
    b32, w32 = initial_parameters(sizes, seed=5, dtype=np.float32)
    assert all(a.dtype == np.float32 for a in b32 + w32)
    np.testing.assert_array_equal(w32[1], weights[1].astype(np.float32))
    b_other, _ = initial_parameters(sizes, seed=6)
    assert not np.array_equal(b_other[0], biases[0])


def test_same_seed_same_network_and_shuffles():
    a, b = ManualNetwork([5, 4, 3], seed=1), ManualNetwork([5, 4, 3], seed=1)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(
        make_shuffle_rng(3).permutation(9), make_shuffle_rng(3).permutation(9)
    )


def test_constructor_rejects_bad_cost_dtype_and_seed():
    with pytest.raises(TrainingError, match="cost must be"):
        ManualNetwork([2, 2], cost="hinge")
    with pytest.raises(TrainingError, match="floating dtype"):
        ManualNetwork([2, 2], dtype=np.int32)
    with pytest.raises(TrainingError, match="seed must be"):
        ManualNetwork([2, 2], seed=1.5)
    assert get_cost("cross_entropy") is CrossEntropyCost
    assert get_cost(QuadraticCost) is QuadraticCost
    assert "ManualNetwork(sizes=[2, 2]" in repr(ManualNetwork([2, 2], seed=0))


def test_sigmoid_is_stable_and_accurate():
    z = np.array([-1000.0, -745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = sigmoid(z)
            sp = sigmoid_prime(z)
            s32 = sigmoid(z.astype(np.float32))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5
    assert np.all(np.isfinite(sp)) and sp[0] == 0.0 and sp[-1] == 0.0
    assert s32.dtype == np.float32
    mid = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(sigmoid(mid), 1.0 / (1.0 + np.exp(-mid)), rtol=1e-15, atol=0)
    # The left tail keeps full relative accuracy (no 1 - (1 - tiny) cancellation).
    np.testing.assert_allclose(sigmoid(np.array([-40.0])), np.exp(-40.0) / (1 + np.exp(-40.0)))


def test_costs_values_and_deltas():
    a = np.array([[0.2, 0.9], [0.7, 0.1]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert QuadraticCost.fn(a, y) == pytest.approx(0.5 * np.sum((a - y) ** 2))
    ce = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))
    assert CrossEntropyCost.fn(a, y) == pytest.approx(ce)
    z = np.log(a / (1 - a))  # sigmoid(z) == a
    np.testing.assert_allclose(CrossEntropyCost.delta(z, a, y), a - y)
    # BP1 in its general form, grad_a C (.) sigma'(z), gives the same delta for both costs.
    for cost in (QuadraticCost, CrossEntropyCost):
        np.testing.assert_allclose(
            cost.delta(z, a, y), cost.derivative(a, y) * sigmoid_prime(z), rtol=1e-12
        )
    # 0 * log 0 counts as 0 and there is no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert CrossEntropyCost.fn(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])) == 0.0
    net = ManualNetwork([2, 2])
    np.testing.assert_array_equal(net.cost_derivative(a, y), a - y)


# ---------------------------------------------------------------------------------------------
# BP1-BP4 against central finite differences
# ---------------------------------------------------------------------------------------------


def _sample_cost(net, x, y):
    if net.cost is not CrossEntropyCost:
        return net.cost.fn(net.feedforward(x), y)
    # The finite-difference oracle needs C as a well-conditioned function of z^L: computed from
    # a = sigma(z), ln(1 - a) loses all precision once a rounds near 1 (z of 20 or more), and the
    # central difference then measures that rounding. The same cost, from z^L directly:
    # -[y ln sigma(z) + (1 - y) ln(1 - sigma(z))] = ln(1 + e^z) - y z.
    a = x
    for b, w in zip(net.biases[:-1], net.weights[:-1], strict=True):
        a = sigmoid(w @ a + b)
    z = net.weights[-1] @ a + net.biases[-1]
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


@FAST
@given(cases(max_m=1))
def test_backprop_matches_finite_differences(case):
    """Per-sample backprop (BP1-BP4) against central differences of C_x, both costs."""
    sizes, seed, _, cost = case
    net = ManualNetwork(sizes, seed=seed, cost=cost)
    x, y = make_batch(sizes, seed, 1)
    nabla_b, nabla_w = net.backprop(x, y)
    assert [g.shape for g in nabla_b] == [b.shape for b in net.biases]
    assert [g.shape for g in nabla_w] == [w.shape for w in net.weights]
    rng = np.random.default_rng(seed)
    params = [(p, g) for p, g in zip(net.biases + net.weights, nabla_b + nabla_w, strict=True)]
    h = 1e-6
    checked = 0
    for _ in range(40):  # a random sample of entries, from every kind of parameter
        p, g = params[rng.integers(len(params))]
        idx = tuple(rng.integers(n) for n in p.shape)
        old = p[idx]
        p[idx] = old + h
        c_plus = _sample_cost(net, x, y)
        p[idx] = old - h
        c_minus = _sample_cost(net, x, y)
        p[idx] = old
        fd = (c_plus - c_minus) / (2 * h)
        assert abs(fd - g[idx]) <= 1e-6 * max(1.0, abs(g[idx])), (idx, fd, g[idx])
        checked += 1
    assert checked == 40


@FAST
@given(cases(max_m=1))
def test_deltas_are_dC_dz(case):
    """delta^l = dC/dz^l: checked by shifting z^l through its bias, b^l_j -> b^l_j + h."""
    sizes, seed, _, cost = case
    net = ManualNetwork(sizes, seed=seed, cost=cost)
    x, y = make_batch(sizes, seed, 1)
    deltas = net.deltas(x, y)
    assert [d.shape for d in deltas] == [(n, 1) for n in sizes[1:]]
    h = 1e-6
    for b, d in zip(net.biases, deltas, strict=True):
        for j in range(b.shape[0]):
            b[j, 0] += h
            c_plus = _sample_cost(net, x, y)
            b[j, 0] -= 2 * h
            c_minus = _sample_cost(net, x, y)
            b[j, 0] += h
            fd = (c_plus - c_minus) / (2 * h)
            assert abs(fd - d[j, 0]) <= 1e-6 * max(1.0, abs(d[j, 0]))


# ---------------------------------------------------------------------------------------------
# The section 2.2 assumptions, and the matrix form
# ---------------------------------------------------------------------------------------------


@FAST
@given(cases())
@example(([9, 1, 3], 52, 5, "cross-entropy"))  # failed a fixed 1e-13 relative bound once
def test_minibatch_gradient_is_sum_of_per_sample_gradients(case):
    """Assumption 1: C = (1/n) sum_x C_x, so the mini-batch gradient is the per-sample sum.

    Each side is within round_off_bounds of the exact gradient (an error analysis from the
    data, relative to the magnitudes summed), so they differ by at most twice that.
    """
    sizes, seed, m, cost = case
    net = ManualNetwork(sizes, seed=seed, cost=cost)
    X, Y = make_batch(sizes, seed, m)
    sum_b = [np.zeros_like(b) for b in net.biases]
    sum_w = [np.zeros_like(w) for w in net.weights]
    for j in range(m):
        nb, nw = net.backprop(X[:, [j]], Y[:, [j]])
        sum_b = [s + g for s, g in zip(sum_b, nb, strict=True)]
        sum_w = [s + g for s, g in zip(sum_w, nw, strict=True)]
    mb, mw = net.backprop_matrix(X, Y)
    bounds = backprop_bounds(net, X, Y)
    for got, want, bound in zip(
        mb + mw, sum_b + sum_w, bounds.nabla_b + bounds.nabla_w, strict=True
    ):
        assert_within(got, want, 2 * bound, "matrix vs summed per-sample gradient")
    # backprop given several columns returns the same sums.
    pb, pw = net.backprop(X, Y)
    for got, want in zip(pb + pw, mb + mw, strict=True):
        np.testing.assert_array_equal(got, want)
    # The deltas of the batch are the per-sample deltas, column by column.
    batch_deltas = net.deltas(X, Y)
    for j in range(m):
        for d_batch, d_one, bound in zip(
            batch_deltas, net.deltas(X[:, [j]], Y[:, [j]]), bounds.delta, strict=True
        ):
            assert_within(d_batch[:, [j]], d_one, 2 * bound[:, [j]], f"delta of column {j}")
    # And the average cost is the mean of the per-sample costs (each within cost_bound).
    per_sample = [net.cost.fn(net.feedforward(X[:, [j]]), Y[:, [j]]) for j in range(m)]
    allowed = (2 * cost_bound(net, X, Y) + (m + 2) * np.finfo(float).eps * sum(per_sample)) / m
    assert_within(net.total_cost(X, Y), np.mean(per_sample), allowed, "average cost")


@FAST
@given(cases(max_layers=4))
def test_cost_depends_on_the_output_activations_only(case):
    """Assumption 2: C is a function of a^L. Changes that leave a^L fixed leave C fixed.

    Cutting every connection out of hidden neuron k (column k of the next weight matrix set to
    zero), its own parameters no longer reach a^L: perturbing them changes neither a^L nor C,
    and backprop gives them zero gradient.
    """
    sizes, seed, m, cost = case
    if len(sizes) < 3:
        sizes = [sizes[0], 3, sizes[-1]]
    net = ManualNetwork(sizes, seed=seed, cost=cost)
    X, Y = make_batch(sizes, seed, m)
    k = 0
    net.weights[1][:, k] = 0.0  # hidden neuron k of layer 2 feeds nothing
    a_before = net.feedforward(X)
    c_before = net.total_cost(X, Y)
    assert c_before == pytest.approx(net.cost.fn(a_before, Y) / m, rel=1e-15)
    nabla_b, nabla_w = net.backprop_matrix(X, Y)
    assert np.all(nabla_b[0][k] == 0.0) and np.all(nabla_w[0][k] == 0.0)
    rng = np.random.default_rng(seed)
    net.biases[0][k] += rng.standard_normal()
    net.weights[0][k] += rng.standard_normal(sizes[0])
    np.testing.assert_array_equal(net.feedforward(X), a_before)
    assert net.total_cost(X, Y) == c_before


@FAST
@given(cases(), st.integers(1, 4), st.floats(0.05, 3.0))
def test_per_sample_and_matrix_updates_train_in_lockstep(case, steps, eta):
    """Each step of both rules, from the same parameters, agrees to one step's round-off."""
    sizes, seed, m, cost = case
    a = ManualNetwork(sizes, seed=seed, cost=cost)
    b = ManualNetwork(sizes, seed=seed, cost=cost)
    rng = np.random.default_rng(seed)
    for k in range(steps):
        X = rng.random((sizes[0], m))
        Y = rng.random((sizes[-1], m))
        chapter_batch = [(X[:, [j]], Y[:, [j]]) for j in range(m)]
        sync_parameters(a, b)
        before = [p.copy() for p in a.weights + a.biases]
        bounds = backprop_bounds(a, X, Y)
        a.update_mini_batch(chapter_batch, eta)
        b.update_mini_batch_matrix(X, Y, eta)
        allowed = step_bounds(bounds, before, a.weights + a.biases, eta, m)
        for p, q, bound in zip(a.weights + a.biases, b.weights + b.biases, allowed, strict=True):
            assert_within(p, q, 2 * bound, f"step {k}")


def test_update_mini_batch_is_w_minus_eta_over_m_times_sum():
    net = ManualNetwork([3, 4, 2], seed=0)
    X, Y = make_batch(net.sizes, 0, 5)
    nabla_b, nabla_w = net.backprop_matrix(X, Y)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.update_mini_batch((X, Y), 0.5)
    for w, old, nw in zip(net.weights, w0, nabla_w, strict=True):
        assert_rel(w, old - (0.5 / 5) * nw, 1e-14)
    for b, old, nb in zip(net.biases, b0, nabla_b, strict=True):
        assert_rel(b, old - (0.5 / 5) * nb, 1e-14)


def test_float32_is_kept_end_to_end():
    net = ManualNetwork([6, 5, 3], seed=0, dtype=np.float32, matrix=True)
    X, Y = make_batch(net.sizes, 0, 4, dtype=np.float32)
    assert net.feedforward(X).dtype == np.float32
    assert net.feedforward(X.astype(np.float64)).dtype == np.float32
    for g in sum(net.backprop(X[:, [0]], Y[:, [0]]), []) + sum(net.backprop_matrix(X, Y), []):
        assert g.dtype == np.float32
    assert all(d.dtype == np.float32 for d in net.deltas(X, Y))
    net.SGD((X, Y), 2, 2, 1.0, verbose=False)
    net.update_mini_batch([(X[:, [0]], Y[:, [0]])], 1.0)
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)


# ---------------------------------------------------------------------------------------------
# Data handling and SGD
# ---------------------------------------------------------------------------------------------


def _toy_problem(n=60, seed=0):
    """A linearly separable 3-class problem on 4 inputs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    X = rng.random((4, n)) * 0.3
    X[labels, np.arange(n)] += 0.7
    Y = np.eye(3)[:, labels]
    return X, Y, labels


def test_data_formats_are_equivalent():
    """The chapter's list and (X, Y) arrays, one-hot or int labels: one conversion, one result."""
    X, Y, labels = _toy_problem()
    sizes = [4, 5, 3]
    chapter = [(X[:, [j]], Y[:, [j]]) for j in range(X.shape[1])]
    cols = as_columns((X, Y), sizes, np.float64)
    for other in (
        chapter,
        (np.asfortranarray(X), labels),
        [(x, int(k)) for (x, _), k in zip(chapter, labels, strict=True)],
    ):
        got = as_columns(other, sizes, np.float64)
        np.testing.assert_array_equal(got[0], cols[0])
        np.testing.assert_array_equal(got[1], cols[1])
    rows = as_columns(chapter, sizes, np.float64)[0].T
    assert rows.flags.c_contiguous and rows.shape == (60, 4)  # a mini-batch is one gather
    assert as_columns((X, Y), sizes, np.float64)[0] is X  # already columns: no copy
    Xt, lt = as_columns(
        [(x, int(k)) for (x, _), k in zip(chapter, labels, strict=True)], sizes, float, True
    )
    np.testing.assert_array_equal(Xt, X)
    np.testing.assert_array_equal(lt, labels)
    np.testing.assert_array_equal(as_columns((X, Y), sizes, float, labels=True)[1], labels)
    Xb, Yb = as_columns(chapter[:3], sizes, np.float64)
    np.testing.assert_array_equal(Xb, X[:, :3])
    np.testing.assert_array_equal(Yb, Y[:, :3])
    x, y = as_columns((X[:, 0], Y[:, 0]), sizes, np.float32)  # one sample, 1-D
    assert x.shape == (4, 1) and y.shape == (3, 1) and x.dtype == y.dtype == np.float32
    with pytest.raises(ShapeError, match=r"X must have shape \(4, n\)"):
        as_columns((X[:3], Y), sizes, np.float64)
    with pytest.raises(ValueError, match="labels must lie in"):
        as_columns((X, labels + 5), sizes, np.float64)
    with pytest.raises(ShapeError, match=r"Y must have shape \(3, 60\)"):
        as_columns((X, Y[:2]), sizes, np.float64)


def test_evaluate_counts_argmax_matches(monkeypatch):
    net = ManualNetwork([4, 3], seed=0)
    X, _, labels = _toy_problem(25)
    expected = sum(int(np.argmax(net.feedforward(X[:, [j]])) == labels[j]) for j in range(25))
    assert net.evaluate((X, labels)) == expected
    assert net.evaluate([(X[:, [j]], int(labels[j])) for j in range(25)]) == expected
    assert net.evaluate((X, np.eye(3)[:, labels])) == expected  # one-hot columns
    assert net.evaluate([]) == 0
    monkeypatch.setattr(common, "EVAL_CHUNK", 7)  # fed forward in chunks of 7 columns
    assert net.evaluate((X, labels)) == expected


def test_sgd_learns_prints_and_reports(capsys):
    X, Y, labels = _toy_problem(90)
    seen = []
    net = ManualNetwork([4, 6, 3], seed=2)
    history = net.SGD(
        (X, Y), 4, 10, 3.0, test_data=(X, labels), callback=lambda j, s: seen.append((j, s))
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 4
    for j, line in enumerate(out):
        assert re.fullmatch(rf"Epoch {j}: \d+ / 90 \(\d+\.\d%\) \d+\.\ds", line), line
    assert [j for j, _ in seen] == [0, 1, 2, 3]
    assert [s for _, s in seen] == history
    last = history[-1]
    assert set(last) == {"epoch", "correct", "total", "accuracy", "cost", "seconds"}
    assert last["total"] == 90 and last["accuracy"] == last["correct"] / 90
    assert last["correct"] >= 80
    assert history[-1]["cost"] < history[0]["cost"]
    # No test data: the book's "Epoch j complete" line; nothing at all with verbose=False.
    net.SGD((X, Y), 1, 10, 3.0)
    assert re.fullmatch(r"Epoch 0 complete \d+\.\ds\n", capsys.readouterr().out)
    h = net.SGD((X, Y), 1, 10, 3.0, verbose=False, monitor_cost=False)
    assert capsys.readouterr().out == ""
    assert h[0]["cost"] is None and h[0]["correct"] is None


def test_sgd_progress_bar(capsys):
    X, Y, _ = _toy_problem(30)
    net = ManualNetwork([4, 3], seed=0)
    net.SGD((X, Y), 1, 10, 1.0, verbose=False, progress=True)
    assert "Epoch 0" in capsys.readouterr().err


def test_sgd_formats_and_modes_train_identically():
    """Same seed: the chapter list, arrays, per-sample and matrix updates give the same net."""
    X, Y, labels = _toy_problem(47)
    chapter = [(X[:, [j]], Y[:, [j]]) for j in range(47)]
    nets = [ManualNetwork([4, 5, 3], seed=9, matrix=mtx) for mtx in (False, True, False)]
    nets[0].SGD(chapter, 2, 10, 2.0, verbose=False)
    nets[1].SGD((X, Y), 2, 10, 2.0, verbose=False)
    nets[2].SGD((X, labels), 2, 10, 2.0, verbose=False, matrix=True)
    for other in nets[1:]:
        for p, q in zip(
            nets[0].weights + nets[0].biases, other.weights + other.biases, strict=True
        ):
            assert_rel(p, q, 1e-12)


def test_sgd_rejects_bad_arguments():
    net = ManualNetwork([4, 3], seed=0)
    X, Y, _ = _toy_problem(10)
    with pytest.raises(TrainingError, match="mini_batch_size"):
        net.SGD((X, Y), 1, 0, 1.0, verbose=False)
    with pytest.raises(TrainingError, match="epochs"):
        net.SGD((X, Y), -1, 5, 1.0, verbose=False)
    with pytest.raises(TrainingError, match="empty"):
        net.SGD([], 1, 5, 1.0, verbose=False)


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip(tmp_path, dtype):
    net = ManualNetwork([5, 4, 3], seed=3, dtype=dtype, cost="cross-entropy")
    path = net.save(tmp_path / "net.npz")
    assert path == tmp_path / "net.npz" and path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary left behind
    back = ManualNetwork.load(path)
    assert back.sizes == net.sizes and back.cost is CrossEntropyCost and back.dtype == dtype
    for p, q in zip(net.weights + net.biases, back.weights + back.biases, strict=True):
        np.testing.assert_array_equal(p, q)
        assert q.dtype == dtype
    X, _, _ = _toy_problem(5)
    X = X[:, :5]
    X = np.vstack([X, X[:1]])
    np.testing.assert_array_equal(back.feedforward(X), net.feedforward(X))
    # A path without the .npz suffix is written exactly there.
    assert net.save(tmp_path / "plain").name == "plain"
    assert ManualNetwork.load(tmp_path / "plain").sizes == [5, 4, 3]


def _write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _good_arrays():
    net = ManualNetwork([3, 2], seed=0)
    return {
        "sizes": np.array([3, 2]),
        "cost": np.array("quadratic"),
        "w0": net.weights[0],
        "b0": net.biases[0],
    }


def _checkpoint_cases(tmp_path):
    good = _write_npz(tmp_path / "good.npz", **_good_arrays())
    raw = good.read_bytes()
    yield "missing", tmp_path / "nope.npz", "not found"
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file at all" * 10)
    yield "corrupt", garbage, "corrupt or truncated"
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    yield "truncated", truncated, "corrupt or truncated"
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    yield "empty", empty, "corrupt or truncated"
    yield "directory", tmp_path, "not a regular file"
    a = _good_arrays()
    del a["sizes"]
    yield "no sizes", _write_npz(tmp_path / "nosizes.npz", **a), "'sizes' or 'cost' entry missing"
    a = _good_arrays()
    del a["w0"]
    yield "no weights", _write_npz(tmp_path / "now.npz", **a), "entry 'w0' missing"
    a = _good_arrays()
    a["w0"] = np.zeros((3, 2))
    yield "wrong shape", _write_npz(tmp_path / "shape.npz", **a), "'w0' has shape"
    a = _good_arrays()
    a["b0"] = a["b0"].copy()
    a["b0"][0, 0] = np.nan
    yield "nan", _write_npz(tmp_path / "nan.npz", **a), "non-finite"
    a = _good_arrays()
    a["w0"] = a["w0"].copy()
    a["w0"][1, 1] = np.inf
    yield "inf", _write_npz(tmp_path / "inf.npz", **a), "non-finite"
    a = _good_arrays()
    a["sizes"] = np.array([3, 0])
    yield "bad sizes", _write_npz(tmp_path / "badsizes.npz", **a), "invalid 'sizes'"
    a = _good_arrays()
    a["sizes"] = np.array([3.0, 2.0])
    yield "float sizes", _write_npz(tmp_path / "fsizes.npz", **a), "1-D integer array"
    a = _good_arrays()
    a["cost"] = np.array("hinge")
    yield "unknown cost", _write_npz(tmp_path / "cost.npz", **a), "cost must be"
    a = _good_arrays()
    a["w1"] = np.zeros((2, 2))
    yield "extra layer", _write_npz(tmp_path / "extra.npz", **a), "parameter arrays"
    a = _good_arrays()
    a["w0"] = a["w0"].astype(np.float32)
    yield "mixed dtypes", _write_npz(tmp_path / "mixed.npz", **a), "mix dtypes"
    a = _good_arrays()
    a["w0"] = a["w0"].astype(np.int64)
    yield "int weights", _write_npz(tmp_path / "int.npz", **a), "floating dtype"
    a = _good_arrays()
    a["cost"] = np.array(["quadratic", {"x": 1}], dtype=object)
    yield "pickled object", _write_npz(tmp_path / "obj.npz", **a), "corrupt or truncated"
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    yield "npy, not npz", npy, "not an .npz archive"


def test_checkpoint_errors(tmp_path):
    assert ManualNetwork.load(_write_npz(tmp_path / "ok.npz", **_good_arrays())).sizes == [3, 2]
    names = []
    for name, path, fragment in _checkpoint_cases(tmp_path):
        with pytest.raises(CheckpointError) as info:
            ManualNetwork.load(path)
        message = str(info.value)
        assert "\n" not in message, name
        assert str(path) in message, name
        assert fragment in message, (name, message)
        names.append(name)
    assert len(names) == 18
