"""The autodiff chapter-2 network against the hand-written BP1-BP4 (``test_nielsen_manual.py``
checks those against finite differences)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite.errors import CheckpointError
from autograd_lite.nielsen import CrossEntropyCost, ManualNetwork, Network, QuadraticCost
from autograd_lite.nielsen.manual import sigmoid, sigmoid_prime

try:  # tests/ is not a package: pytest puts it on sys.path
    from nielsen_helpers import COST_NAMES, FAST, assert_rel, cases, make_batch
    from tolerances import (
        assert_within,
        backprop_bounds,
        cost_bound,
        step_bounds,
        sync_parameters,
    )
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.nielsen_helpers import COST_NAMES, FAST, assert_rel, cases, make_batch
    from tests.tolerances import (
        assert_within,
        backprop_bounds,
        cost_bound,
        step_bounds,
        sync_parameters,
    )


def pair(sizes, seed, cost, dtype=np.float64):
    return (
        Network(sizes, seed=seed, cost=cost, dtype=dtype),
        ManualNetwork(sizes, seed=seed, cost=cost, dtype=dtype),
    )


# ---------------------------------------------------------------------------------------------
# Same start
# ---------------------------------------------------------------------------------------------


def test_same_initial_parameters_and_api():
    net, man = pair([6, 5, 4, 3], 11, "quadratic")
    assert net.sizes == man.sizes == [6, 5, 4, 3] and net.num_layers == 4
    for p, q in zip(net.weights + net.biases, man.weights + man.biases, strict=True):
        np.testing.assert_array_equal(p, q)
        assert isinstance(p, np.ndarray)
    assert [b.shape for b in net.biases] == [(5, 1), (4, 1), (3, 1)]
    assert [w.shape for w in net.weights] == [(5, 6), (4, 5), (3, 4)]
    assert net.cost is QuadraticCost
    assert Network([2, 2], cost="cross-entropy").cost is CrossEntropyCost
    with pytest.raises(ValueError, match="at least 2 layers"):
        Network([3])
    with pytest.raises(ValueError, match="cost must be"):
        Network([3, 2], cost="nope")


# ---------------------------------------------------------------------------------------------
# BP3, BP4: the gradients
# ---------------------------------------------------------------------------------------------


@FAST
@given(cases())
def test_autodiff_gradients_equal_manual(case):
    """nabla_b (BP3) and nabla_w (BP4) from the graph equal the hand-written ones.

    To round-off: both are within round_off_bounds of the exact gradient.
    """
    sizes, seed, m, cost = case
    net, man = pair(sizes, seed, cost)
    X, Y = make_batch(sizes, seed, m)
    ad_b, ad_w = net.backprop(X, Y)
    mx_b, mx_w = man.backprop_matrix(X, Y)
    assert [g.shape for g in ad_b] == [b.shape for b in net.biases]
    assert [g.shape for g in ad_w] == [w.shape for w in net.weights]
    bounds = backprop_bounds(man, X, Y)
    for got, want, bound in zip(
        ad_b + ad_w, mx_b + mx_w, bounds.nabla_b + bounds.nabla_w, strict=True
    ):
        assert_within(got, want, 2 * bound, "autodiff vs matrix manual")
    # Against the chapter's per-sample backprop, summed over the mini-batch.
    for j in range(m):
        nb, nw = man.backprop(X[:, [j]], Y[:, [j]])
        ab, aw = net.backprop(X[:, [j]], Y[:, [j]])
        one = backprop_bounds(man, X[:, [j]], Y[:, [j]])
        for got, want, bound in zip(ab + aw, nb + nw, one.nabla_b + one.nabla_w, strict=True):
            assert_within(got, want, 2 * bound, f"autodiff vs manual, sample {j}")


@FAST
@given(cases())
def test_autodiff_deltas_satisfy_bp1_bp2_and_give_bp3_bp4(case):
    """delta^l read from the graph (retain_grad on each z^l) obeys all four equations."""
    sizes, seed, m, cost = case
    net, man = pair(sizes, seed, cost)
    X, Y = make_batch(sizes, seed, m)
    deltas = net.deltas(X, Y)
    assert [d.shape for d in deltas] == [(n, m) for n in sizes[1:]]
    bounds = backprop_bounds(man, X, Y)
    for got, want, bound in zip(deltas, man.deltas(X, Y), bounds.delta, strict=True):
        assert_within(got, want, 2 * bound, "autodiff vs manual delta")
    # Recompute z^l and a^l by hand to write the equations out.
    activations, zs = [X], []
    for b, w in zip(net.biases, net.weights, strict=True):
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    aL = activations[-1]
    grad_a = aL - Y if cost == "quadratic" else (aL - Y) / (aL * (1 - aL))
    # BP1 written out: grad_a C times sigma'(z^L), the latter recomputed from the same a^L
    # (1 - a is exact for a >= 1/2, Sterbenz), adds at most 4 roundings of the result.
    bp1_bound = 2 * bounds.delta[-1] + 8 * np.finfo(float).eps * np.abs(deltas[-1])
    assert_within(deltas[-1], grad_a * sigmoid_prime(zs[-1]), bp1_bound, "BP1")
    for l in range(len(deltas) - 1):  # BP2, every hidden layer
        bp2 = (net.weights[l + 1].T @ deltas[l + 1]) * sigmoid_prime(zs[l])
        assert_within(deltas[l], bp2, 2 * bounds.delta[l], f"BP2, layer {l + 2}")
    nabla_b, nabla_w = net.backprop(X, Y)
    for l, d in enumerate(deltas):
        bp3, bp4 = d.sum(axis=1, keepdims=True), d @ activations[l].T  # summed over samples
        assert_within(nabla_b[l], bp3, 2 * bounds.nabla_b[l], f"BP3, layer {l + 2}")
        assert_within(nabla_w[l], bp4, 2 * bounds.nabla_w[l], f"BP4, layer {l + 2}")


@FAST
@given(cases())
def test_minibatch_gradient_is_sum_and_average_times_m(case):
    """Assumption 1 of section 2.2, on the autodiff side: one graph for m columns = sum of m."""
    sizes, seed, m, cost = case
    net = Network(sizes, seed=seed, cost=cost)
    X, Y = make_batch(sizes, seed, m)
    batch_b, batch_w = net.backprop(X, Y)
    per = [net.backprop(X[:, [j]], Y[:, [j]]) for j in range(m)]
    bounds = backprop_bounds(net, X, Y)
    eps = np.finfo(float).eps
    for l in range(len(sizes) - 1):
        sum_b = sum(p[0][l] for p in per)
        sum_w = sum(p[1][l] for p in per)
        assert_within(batch_b[l], sum_b, 2 * bounds.nabla_b[l], "nabla_b, batch vs sum")
        assert_within(batch_w[l], sum_w, 2 * bounds.nabla_w[l], "nabla_w, batch vs sum")
        mean_w = sum_w / m  # the gradient of C = (1/m) sum_x C_x
        # Dividing by m and multiplying back adds two roundings of the summed value.
        again = 2 * bounds.nabla_w[l] + 2 * eps * np.abs(sum_w)
        assert_within(batch_w[l], m * mean_w, again, "nabla_w, batch vs m * mean")
    # The deltas of the batch are the per-sample deltas, column by column.
    batch_deltas = net.deltas(X, Y)
    for j in range(m):
        for d_batch, d_one, bound in zip(
            batch_deltas, net.deltas(X[:, [j]], Y[:, [j]]), bounds.delta, strict=True
        ):
            assert_within(d_batch[:, [j]], d_one, 2 * bound[:, [j]], f"delta of column {j}")


@FAST
@given(cases())
@example(([20, 3, 13, 19, 14], 4430, 3, "cross-entropy"))  # a near 1: 1 - a's rounding counts
@example(([10, 8, 5, 8, 20], 4_294_967_295, 5, "cross-entropy"))  # seed 13 of the dev profile
def test_cost_is_a_function_of_the_output_activations_only(case):
    """Assumption 2: C computed from a^L alone equals the network's C, and dC/da^L is grad_a C.

    a^L is cut out of the graph (a fresh leaf holding the same values): nothing before it can
    reach the cost, yet the cost and its gradient are unchanged.
    """
    sizes, seed, m, cost = case
    net, man = pair(sizes, seed, cost)
    X, Y = make_batch(sizes, seed, m)
    aL = net.feedforward(X)
    leaf = al.Tensor(aL.copy(), requires_grad=True)
    if cost == "quadratic":
        C = al.quadratic_cost(leaf, Y)
    else:
        C = al.cross_entropy_cost(leaf, Y)
    C.backward()
    # Both costs are computed from the same a^L: they differ by the summation and the log
    # terms' rounding only (cost_bound, with no forward error, bounds that twice over).
    eps = np.finfo(float).eps
    allowed = 2 * cost_bound(man, X, Y) + 4 * m * eps * abs(C.item())
    assert_within(C.item(), net.total_cost(X, Y) * m, allowed, "cost, leaf vs network")
    assert_within(C.item(), man.cost.fn(aL, Y), allowed, "cost, leaf vs manual")
    # grad_a C from the same a^L: a few roundings of each entry, relative to its terms (for the
    # cross-entropy, -y/a + (1 - y)/(1 - a) in whatever arrangement).
    dC = man.cost_derivative(aL, Y)
    if cost == "quadratic":
        terms = aL + np.abs(Y)
    else:
        terms = (np.abs(Y) + np.abs(1 - Y) + aL + np.abs(Y)) / (aL * (1 - aL))
    assert_within(leaf.grad, dC, 8 * eps * terms, "grad_a C")
    # BP1 is then grad_a C (.) sigma'(z^L): the output error from the cost's gradient alone.
    # sigma'(z^L) = s(1 - s) is recomputed here from another z^L (off by E_L each): a relative
    # 2 E_L + 4 eps, and the absolute 2 eps of rounding a near 1 (relative 2 eps a / (a(1-a))),
    # for it and for the a(1 - a) inside grad_a C (round_off_bounds' analysis of s).
    zL = net.weights[-1] @ _hidden(net, X) + net.biases[-1]
    bounds = backprop_bounds(man, X, Y)
    bp1 = leaf.grad * sigmoid_prime(zL)
    relative = 2 * (2 * bounds.z_error[-1] + 4 * eps + 2 * eps / (1 - aL)) + 4 * eps
    allowed = 2 * bounds.delta[-1] + relative * np.abs(bp1)
    assert_within(net.deltas(X, Y)[-1], bp1, allowed, "BP1")


def _hidden(net, X):
    """a^{L-1} (the input itself for a network without hidden layers)."""
    a = X
    for b, w in zip(net.biases[:-1], net.weights[:-1], strict=True):
        a = sigmoid(w @ a + b)
    return a


# ---------------------------------------------------------------------------------------------
# Training in lockstep
# ---------------------------------------------------------------------------------------------


@FAST
@given(cases(max_layers=4), st.integers(1, 4), st.floats(0.05, 3.0))
def test_update_mini_batch_in_lockstep_with_manual(case, steps, eta):
    """Along the autodiff network's trajectory, every step of the three update rules, taken
    from the same parameters, agrees to the round-off of one step (tolerances.step_bounds).

    (Comparing the parameters only after several steps would also measure how training
    amplifies a difference, which is not a property of the code.)
    """
    sizes, seed, m, cost = case
    net, man = pair(sizes, seed, cost)
    man_matrix = ManualNetwork(sizes, seed=seed, cost=cost)
    rng = np.random.default_rng(seed)
    for k in range(steps):
        X, Y = rng.random((sizes[0], m)), rng.random((sizes[-1], m))
        chapter = [(X[:, [j]], Y[:, [j]]) for j in range(m)]
        sync_parameters(net, man, man_matrix)
        before = [p.copy() for p in net.weights + net.biases]
        bounds = backprop_bounds(man, X, Y)
        net.update_mini_batch(chapter if k % 2 else (X, Y), eta)
        man.update_mini_batch(chapter, eta)
        man_matrix.update_mini_batch_matrix(X, Y, eta)
        after = net.weights + net.biases
        allowed = step_bounds(bounds, before, after, eta, m)
        for p, q, r, bound in zip(
            after,
            man.weights + man.biases,
            man_matrix.weights + man_matrix.biases,
            allowed,
            strict=True,
        ):
            assert_within(p, q, 2 * bound, f"step {k}: autodiff vs per-sample")
            assert_within(p, r, 2 * bound, f"step {k}: autodiff vs matrix")


def test_update_rule_is_w_minus_eta_over_m_nabla():
    net = Network([4, 3, 2], seed=0)
    X, Y = make_batch(net.sizes, 0, 6)
    nabla_b, nabla_w = net.backprop(X, Y)
    before = [p.copy() for p in net.biases + net.weights]
    net.update_mini_batch((X, Y), 1.5)
    for p, old, g in zip(net.biases + net.weights, before, nabla_b + nabla_w, strict=True):
        np.testing.assert_array_equal(p, old - (1.5 / 6) * g)


def _toy_problem(n=60, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    X = rng.random((4, n)) * 0.3
    X[labels, np.arange(n)] += 0.7
    return X, np.eye(3)[:, labels], labels


@pytest.mark.parametrize("cost", COST_NAMES)
def test_sgd_in_lockstep_with_manual(cost, capsys):
    X, Y, labels = _toy_problem(73)
    chapter = [(X[:, [j]], Y[:, [j]]) for j in range(73)]
    test = [(X[:, [j]], int(labels[j])) for j in range(73)]
    net, man = pair([4, 5, 3], 4, cost)
    h_net = net.SGD(chapter, 3, 10, 1.0, test_data=test)
    h_man = man.SGD((X, Y), 3, 10, 1.0, test_data=(X, labels), matrix=True)
    for p, q in zip(net.weights + net.biases, man.weights + man.biases, strict=True):
        assert_rel(p, q, 1e-10)
    assert [h["correct"] for h in h_net] == [h["correct"] for h in h_man]
    assert h_net[-1]["cost"] == pytest.approx(h_man[-1]["cost"], rel=1e-10)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[0].startswith("Epoch 0: ")


def test_float32_kept_end_to_end():
    net = Network([5, 4, 3], seed=0, dtype=np.float32, cost="cross-entropy")
    X, Y = make_batch(net.sizes, 0, 4)  # float64 data: converted once, at the door
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)
    assert net.feedforward(X).dtype == np.float32
    nb, nw = net.backprop(X, Y)
    assert all(g.dtype == np.float32 for g in nb + nw)
    assert all(d.dtype == np.float32 for d in net.deltas(X, Y))
    net.update_mini_batch((X, Y), 0.5)
    net.update_mini_batch([(X[:, [0]], Y[:, [0]])], 0.5)
    net.SGD((X, Y), 2, 2, 0.5, verbose=False, test_data=(X, Y.argmax(axis=0)))
    assert all(p.dtype == np.float32 for p in net.weights + net.biases)
    # And it still agrees with the float32 manual network to float32 round-off.
    net2, man = pair([5, 4, 3], 0, "cross-entropy", dtype=np.float32)
    for got, want in zip(
        sum(net2.backprop(X, Y), []), sum(man.backprop_matrix(X, Y), []), strict=True
    ):
        assert got.dtype == want.dtype == np.float32
        assert_rel(got, want, 1e-5)


def test_feedforward_builds_no_graph_and_matches_manual():
    net, man = pair([5, 4, 3], 2, "quadratic")
    X, _ = make_batch(net.sizes, 2, 7)
    out = net.feedforward(X)
    assert type(out) is np.ndarray and out.shape == (3, 7)
    assert_rel(out, man.feedforward(X), 1e-14)
    assert_rel(net.feedforward(X[:, 0]), man.feedforward(X[:, [0]]), 1e-14)  # 1-D input
    assert al.is_grad_enabled()  # no_grad was left again
    assert net.evaluate((X, np.zeros(7, dtype=int))) == man.evaluate((X, np.zeros(7, dtype=int)))


def test_backprop_accepts_single_columns_and_vectors():
    net = Network([3, 2], seed=0)
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 0.0])
    nb1, nw1 = net.backprop(x, y)
    nb2, nw2 = net.backprop(x.reshape(3, 1), y.reshape(2, 1))
    np.testing.assert_array_equal(nw1[0], nw2[0])
    np.testing.assert_array_equal(nb1[0], nb2[0])


def test_parameters_may_be_replaced_between_steps():
    """The public weights/biases are plain lists of arrays: assigning new ones is honoured."""
    net, man = pair([3, 4, 2], 0, "quadratic")
    X, Y = make_batch(net.sizes, 0, 5)
    net.update_mini_batch((X, Y), 1.0)
    net.weights = [w.copy() for w in man.weights]
    net.biases = [b.copy() for b in man.biases]
    for got, want in zip(
        sum(net.backprop(X, Y), []), sum(man.backprop_matrix(X, Y), []), strict=True
    ):
        assert_rel(got, want, 1e-12)


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip_and_across_classes(tmp_path, dtype):
    net = Network([4, 6, 3], seed=5, dtype=dtype, cost="cross-entropy")
    X, Y, _ = _toy_problem(20)
    net.SGD((X, Y), 1, 5, 1.0, verbose=False)
    path = net.save(tmp_path / "model.npz")
    back = Network.load(path, seed=1)
    assert back.sizes == net.sizes and back.cost is CrossEntropyCost and back.dtype == dtype
    assert back.seed == 1
    for p, q in zip(net.weights + net.biases, back.weights + back.biases, strict=True):
        np.testing.assert_array_equal(p, q)
        assert q.dtype == dtype
    np.testing.assert_array_equal(back.feedforward(X), net.feedforward(X))
    as_manual = ManualNetwork.load(path)  # a checkpoint is the same for both classes
    assert_rel(as_manual.feedforward(X), net.feedforward(X), 1e-6)
    # Loaded parameters are used by training (not the random ones drawn in the constructor).
    back.update_mini_batch((X.astype(dtype), Y.astype(dtype)), 0.5)
    net.update_mini_batch((X.astype(dtype), Y.astype(dtype)), 0.5)
    for p, q in zip(net.weights, back.weights, strict=True):
        np.testing.assert_array_equal(p, q)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found") as info:
        Network.load(tmp_path / "absent.npz")
    assert str(tmp_path / "absent.npz") in str(info.value)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Network.load(bad)
    good = Network([3, 2], seed=0).save(tmp_path / "good.npz")
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
        Network.load(truncated)
    assert "\n" not in str(info.value)
