"""al.optim.SGD: Nielsen's update rule, L2 as in network2, momentum, and lockstep with
al.nielsen.Network."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import nn, optim
from autograd_lite.nielsen import Network


def _params_with_grads(seed=0):
    rng = np.random.default_rng(seed)
    w = nn.Parameter(rng.normal(size=(3, 2)))
    b = nn.Parameter(rng.normal(size=3))
    w.grad, b.grad = rng.normal(size=(3, 2)), rng.normal(size=3)
    return w, b


def test_step_is_w_minus_eta_over_m_times_summed_gradient():
    w, b = _params_with_grads()
    w0, b0 = w.data.copy(), b.data.copy()
    array = w.data
    optim.SGD([w, b], lr=3.0).step(batch_size=10)
    np.testing.assert_array_equal(w.data, w0 - (3.0 / 10) * w.grad)
    np.testing.assert_array_equal(b.data, b0 - (3.0 / 10) * b.grad)
    assert w.data is array  # in place


def test_batch_size_in_constructor_step_override_and_none():
    w, _ = _params_with_grads()
    w0 = w.data.copy()
    opt = optim.SGD([w], lr=1.0, batch_size=4)
    opt.step()
    np.testing.assert_allclose(w.data, w0 - w.grad / 4, rtol=1e-15)
    opt.step(batch_size=2)
    np.testing.assert_allclose(w.data, w0 - w.grad / 4 - w.grad / 2, rtol=1e-15)
    w.data[...] = w0
    optim.SGD([w], lr=0.5).step()  # no m: the gradient is used as it is
    np.testing.assert_allclose(w.data, w0 - 0.5 * w.grad, rtol=1e-15)


def test_summed_cost_with_batch_size_equals_mean_cost_without():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 3)), rng.uniform(size=(8, 2))
    models = [nn.Sequential(nn.Linear(3, 2, seed=4), nn.Sigmoid()) for _ in range(2)]
    for reduction, m in (("sum", 8), ("mean", None)):
        model = models[0] if reduction == "sum" else models[1]
        opt = optim.SGD(model.parameters(), lr=0.7)
        for _ in range(3):
            opt.zero_grad()
            al.quadratic_cost(model(x), y, reduction=reduction).backward()
            opt.step(batch_size=m)
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13)


def test_weight_decay_is_network2_rule_on_weights_only():
    w, b = _params_with_grads(1)
    w0, b0 = w.data.copy(), b.data.copy()
    eta, lmbda, n, m = 0.5, 5.0, 1000, 10
    opt = optim.SGD([{"params": [w], "weight_decay": lmbda}, {"params": [b]}], lr=eta, n=n)
    opt.step(batch_size=m)
    np.testing.assert_array_equal(w.data, (1 - eta * (lmbda / n)) * w0 - (eta / m) * w.grad)
    np.testing.assert_array_equal(b.data, b0 - (eta / m) * b.grad)  # biases are not decayed


def test_weight_decay_without_n_is_pytorch_convention():
    w, _ = _params_with_grads(2)
    w0 = w.data.copy()
    optim.SGD([w], lr=0.1, weight_decay=0.01).step()
    np.testing.assert_allclose(w.data, w0 - 0.1 * (0.01 * w0 + w.grad), rtol=1e-14)


def test_momentum_velocity():
    w, _ = _params_with_grads(3)
    eta, mu, lmbda, n, m = 0.3, 0.9, 2.0, 50, 5
    ref_w, ref_v = w.data.copy(), np.zeros_like(w.data)
    opt = optim.SGD([w], lr=eta, momentum=mu, weight_decay=lmbda, n=n, batch_size=m)
    rng = np.random.default_rng(0)
    for _ in range(4):
        w.grad = rng.normal(size=w.shape)
        grad_c = w.grad / m + (lmbda / n) * ref_w  # ∇C of the regularized cost
        ref_v = mu * ref_v - eta * grad_c  # v -> mu v - eta ∇C
        ref_w = ref_w + ref_v  # w -> w + v
        opt.step()
        np.testing.assert_allclose(w.data, ref_w, rtol=1e-13)
        np.testing.assert_allclose(opt.velocity[w], ref_v, rtol=1e-13)


def test_skips_missing_gradients_zero_grad_and_graph_gradients():
    w, b = _params_with_grads(4)
    b.grad = None
    b0 = b.data.copy()
    opt = optim.SGD([w, b], lr=1.0, weight_decay=1.0)
    opt.step()
    np.testing.assert_array_equal(b.data, b0)  # no gradient: no decay either
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    # A gradient left as a Tensor by backward(create_graph=True) is used by value.
    x = nn.Parameter([1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, al.Tensor)
    optim.SGD([x], lr=0.1).step()
    np.testing.assert_allclose(x.data, [1.0 - 0.3, 2.0 - 1.2])


def test_l2_groups_split_weights_from_biases_and_frozen_parameters_are_allowed():
    model = nn.Sequential(nn.Linear(3, 2, seed=0), nn.Tanh(), nn.Linear(2, 1, seed=1))
    groups = optim.l2_groups(model, 5.0)
    assert [g["weight_decay"] for g in groups] == [5.0, 0.0]
    assert groups[0]["params"] == [model[0].weight, model[2].weight]
    assert groups[1]["params"] == [model[0].bias, model[2].bias]
    assert len(optim.l2_groups(nn.Linear(2, 2, bias=False), 1.0)) == 1
    model[0].weight.requires_grad = False  # frozen: listed, never updated
    opt = optim.SGD(model.parameters(), lr=1.0, weight_decay=1.0)
    frozen = model[0].weight.data.copy()
    al.quadratic_cost(model(np.ones((2, 3))), np.zeros((2, 1))).backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert model[0].bias.grad is not None


def test_float32_parameters_stay_float32():
    model = nn.Linear(3, 2, seed=0, dtype=np.float32)
    x = np.ones((4, 3), np.float32)
    al.quadratic_cost(model(x), np.zeros((4, 2), np.float32)).backward()
    optim.SGD(model.parameters(), lr=0.1, momentum=0.5, weight_decay=0.1).step(batch_size=4)
    assert all(p.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: optim.SGD([], lr=1.0), ValueError, "empty"),
        (lambda p: optim.SGD([p], lr=-1.0), ValueError, "lr"),
        (lambda p: optim.SGD([p], lr="fast"), TypeError, "lr"),
        (lambda p: optim.SGD([p], lr=1.0, momentum=1.5), ValueError, "momentum"),
        (lambda p: optim.SGD([p], lr=1.0, weight_decay=-1), ValueError, "weight_decay"),
        (lambda p: optim.SGD([p], lr=1.0, n=0), ValueError, "n must"),
        (lambda p: optim.SGD([p], lr=1.0, batch_size=2.5), ValueError, "batch_size"),
        (lambda p: optim.SGD([p, p], lr=1.0), ValueError, "more than once"),
        (lambda p: optim.SGD([p * 2], lr=1.0), ValueError, "leaf"),
        (lambda p: optim.SGD([np.ones(2)], lr=1.0), TypeError, "not a Tensor"),
        (lambda p: optim.SGD(p, lr=1.0), TypeError, "single Tensor"),
        (lambda p: optim.SGD([{"params": [p], "eta": 1}], lr=1.0), ValueError, "unknown"),
        (lambda p: optim.SGD([{"params": [p]}, p], lr=1.0), TypeError, "mixes"),
        (lambda p: optim.SGD([p], lr=1.0).step(batch_size=0), ValueError, "batch_size"),
    ],
)
def test_rejects_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(nn.Parameter([1.0, 2.0]))


# -- lockstep with the chapter's network ---------------------------------------------------------
def _model_from_network(net, final_sigmoid=True):
    layers = []
    for w, b in zip(net.weights, net.biases):
        layer = nn.Linear(w.shape[1], w.shape[0])
        layer.load_state_dict({"weight": w, "bias": b.ravel()})  # b (n, 1) -> (n,)
        layers += [layer, nn.Sigmoid()]
    return nn.Sequential(*(layers if final_sigmoid else layers[:-1]))


def _assert_same(model, net, atol):
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]
    for layer, w, b in zip(linears, net.weights, net.biases):
        np.testing.assert_allclose(layer.weight.data, w, rtol=0, atol=atol)
        np.testing.assert_allclose(layer.bias.data, b.ravel(), rtol=0, atol=atol)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_sequential_with_sgd_matches_nielsen_network_step_for_step(cost):
    sizes, eta, m = [6, 5, 4, 3], 3.0 if cost == "quadratic" else 0.5, 7
    net = Network(sizes, seed=11, cost=cost)
    logits = cost == "cross-entropy"
    model = _model_from_network(net)
    head = model[:-1]  # the same layers, up to z^L
    opt = optim.SGD(model.parameters(), lr=eta)
    rng = np.random.default_rng(12)
    for _ in range(6):
        X = rng.uniform(size=(sizes[0], m))  # Nielsen: samples are columns
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=m)]
        net.update_mini_batch((X, Y), eta)
        opt.zero_grad()
        if logits:
            al.cross_entropy_cost(head(X.T), Y.T, logits=True).backward()
        else:
            al.quadratic_cost(model(X.T), Y.T).backward()  # nn: samples are rows
        opt.step(batch_size=m)
        _assert_same(model, net, atol=1e-10)


def test_l2_and_momentum_match_network2_rule_with_nielsen_gradients():
    """network2's update, written with Network.backprop's gradients, against SGD with groups."""
    sizes, eta, lmbda, n, m, mu = [5, 4, 3], 0.5, 5.0, 100, 4, 0.6
    net = Network(sizes, seed=3, cost="cross-entropy")
    model = _model_from_network(net)
    opt = optim.SGD(optim.l2_groups(model, lmbda), lr=eta, momentum=mu, n=n)
    vw = [np.zeros_like(w) for w in net.weights]
    vb = [np.zeros_like(b) for b in net.biases]
    rng = np.random.default_rng(4)
    for _ in range(5):
        X = rng.uniform(size=(sizes[0], m))
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=m)]
        nabla_b, nabla_w = net.backprop(X, Y)
        vw = [
            mu * v - eta * ((lmbda / n) * w + nw / m) for v, w, nw in zip(vw, net.weights, nabla_w)
        ]
        vb = [mu * v - eta * nb / m for v, nb in zip(vb, nabla_b)]
        net.weights = [w + v for w, v in zip(net.weights, vw)]
        net.biases = [b + v for b, v in zip(net.biases, vb)]
        opt.zero_grad()
        al.cross_entropy_cost(model[:-1](X.T), Y.T, logits=True).backward()
        opt.step(batch_size=m)
        _assert_same(model, net, atol=1e-10)
