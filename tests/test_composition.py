"""Composition: user-defined primitives with built-in ops, modules and costs under second
derivatives, Hessian-vector products against finite differences of gradients, and
gradient-of-gradient through every op a model is built from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn
from autograd_lite.errors import HigherOrderError
from autograd_lite.testing import GradcheckError, gradcheck, gradgradcheck


def _fd_grad_direction(f, x, v, eps=1e-5):
    """(∇f(x + εv) − ∇f(x − εv)) / 2ε: the finite-difference Hessian-vector product."""
    df = al.grad(f)
    return (df(x + eps * v) - df(x - eps * v)) / (2 * eps)


def _assert_hvp(f, x, v, rtol=1e-5, atol=1e-7):
    hv = al.hvp(f, x, v)
    fd = _fd_grad_direction(f, x, v)
    scale = max(1.0, float(np.abs(fd).max()))
    np.testing.assert_allclose(hv, fd, rtol=rtol, atol=atol * scale)
    return hv


# -- user-defined primitives -------------------------------------------------------------------
def _softplus_forward(x):
    return np.logaddexp(0.0, x)


def _make_softplus(differentiable):
    """softplus(x) = ln(1 + eˣ), softplus′ = σ. The vjp uses al.sigmoid, so it works on arrays
    (plain backward) and on Tensors (create_graph); only the declaration differs."""
    op = al.primitive(_softplus_forward, name="softplus", differentiable=differentiable)
    return op.defvjp(lambda g, out, x: g * al.sigmoid(x))


softplus = _make_softplus(True)
softplus_numpy = al.primitive(_softplus_forward, name="softplus_numpy").defvjp(
    lambda g, out, x: g / (1.0 + np.exp(-x))
)
softplus_wrong = al.primitive(_softplus_forward, name="softplus_wrong").defvjp(
    lambda g, out, x: g * out  # a plausible slip: softplus(x) instead of σ(x)
)


class SigmoidLinear(al.Function):
    """Fused σ(x Wᵀ + b): one op for a whole sigmoid layer, its backward written by hand."""

    differentiable = True

    @staticmethod
    def forward(ctx, x, w, b):
        out = 1.0 / (1.0 + np.exp(-(x @ w.T + b)))
        ctx.save_for_backward(x, w, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, out = ctx.saved_tensors
        delta = grad * out * (1 - out)  # BP1/BP2: ⊙ σ′(z)
        return delta @ w, delta.T @ x, delta.sum(axis=0)  # BP2, BP4, BP3


class SigmoidLinearNumpy(SigmoidLinear):
    differentiable = False


def test_user_primitive_composes_with_builtin_ops():
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    assert gradcheck(lambda x, w: al.tanh(softplus(x @ w.T)).sum(axis=0) * 2.0, [x, w])
    assert gradcheck(lambda x: softplus_numpy(x) * softplus(-x) + al.exp(-x), [x])
    assert gradcheck(lambda x, w: SigmoidLinear.apply(x, w, np.ones(3)) ** 2, [x, w])
    assert gradcheck(lambda b: SigmoidLinear.apply(x, w, b).mean(), [np.zeros(3)])


def test_user_primitive_fan_out_and_broadcast_accumulate():
    x = al.Tensor([0.5, -1.0], requires_grad=True)
    y = softplus(x) * softplus(x) + softplus(x.reshape(2, 1)).sum()  # x used three times
    y.sum().backward()
    s, d = np.logaddexp(0, x.data), 1 / (1 + np.exp(-x.data))
    # y.sum() = Σ s² + 2 Σ s: the broadcast scalar is counted once per element of y
    np.testing.assert_allclose(x.grad, 2 * s * d + 2 * d, rtol=1e-14)


def test_user_primitive_inside_a_module_and_sequential():
    class Softplus(nn.Module):
        def forward(self, z):
            return softplus(z)

    model = nn.Sequential(nn.Linear(3, 4, seed=0), Softplus(), nn.Linear(4, 2, seed=1))
    x, y = np.random.default_rng(1).normal(size=(6, 3)), np.eye(2)[[0, 1, 0, 1, 1, 0]]
    w = model[0].weight

    def cost():
        return al.log_likelihood_cost(model(x), y.argmax(axis=1)).item()

    model.zero_grad()
    al.log_likelihood_cost(model(x), y.argmax(axis=1)).backward()
    numeric = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        old = w.data[i]
        w.data[i] = old + 1e-6
        up = cost()
        w.data[i] = old - 1e-6
        down = cost()
        w.data[i] = old
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(w.grad, numeric, rtol=1e-6, atol=1e-8)


def test_differentiable_user_ops_give_second_derivatives():
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=4), rng.normal(size=4)
    hv = _assert_hvp(lambda t: (softplus(t) ** 2).sum(), x, v)
    s, d = np.logaddexp(0, x), 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(hv, 2 * (d * d + s * d * (1 - d)) * v, rtol=1e-12)
    w, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    xs = rng.normal(size=(2, 4))
    _assert_hvp(lambda t: (SigmoidLinear.apply(t, w, b) ** 2).sum(), xs, rng.normal(size=(2, 4)))
    _assert_hvp(lambda t: SigmoidLinear.apply(xs, t, b).sum(), w, rng.normal(size=(3, 4)))
    assert gradgradcheck(lambda t: softplus(t) * al.tanh(t), [x])
    assert gradgradcheck(SigmoidLinear.apply, [xs, w, b])


@pytest.mark.parametrize(
    "f",
    [
        lambda t: softplus_numpy(t).sum(),
        lambda t: _make_softplus(False)(t).sum(),  # Tensor-friendly vjp, but not declared
        lambda t: SigmoidLinearNumpy.apply(t.reshape(1, 3), np.eye(3), np.zeros(3)).sum(),
    ],
    ids=["numpy-vjp", "undeclared", "function"],
)
def test_undeclared_user_ops_raise_higher_order_error(f):
    x = np.array([0.1, -0.2, 0.3])
    assert np.all(np.isfinite(al.grad(f)(x)))  # first order is fine
    with pytest.raises(HigherOrderError, match="create_graph|differentiable"):
        al.hvp(f, x, np.ones(3))
    t = al.Tensor(x, requires_grad=True)
    (g,) = al.gradients(f(t), [t], create_graph=True)
    with pytest.raises(HigherOrderError):
        g.sum().backward()


def test_gradcheck_catches_a_wrong_vjp():
    x = np.linspace(-2.0, 2.0, 5)
    assert gradcheck(lambda t: softplus(t), [x])
    with pytest.raises(GradcheckError, match="input 0") as failure:
        gradcheck(lambda t: softplus_wrong(t), [x])
    assert isinstance(failure.value, AssertionError)
    assert gradcheck(lambda t: softplus_wrong(t), [x], raise_exception=False) is False

    class WrongBias(SigmoidLinear):
        @staticmethod
        def backward(ctx, grad):
            gx, gw, gb = SigmoidLinear.backward(ctx, grad)
            return gx, gw, gb * 0.5

    w = np.random.default_rng(3).normal(size=(2, 3))
    assert gradcheck(lambda b: SigmoidLinear.apply(np.ones((4, 3)), w, b), [np.zeros(2)])
    with pytest.raises(GradcheckError):
        gradcheck(lambda b: WrongBias.apply(np.ones((4, 3)), w, b), [np.zeros(2)])


# -- Hessian-vector products of random small networks --------------------------------------------
_ACTIVATIONS = {"tanh": al.tanh, "sigmoid": al.sigmoid, "softplus": softplus, "relu2": None}


def _mlp_loss(n_in, hidden, n_out, m, activation, cost, seed, wrt="params"):
    """A one-hidden-layer network's loss on fixed random data, as a function of one flat
    vector: its parameters θ (``wrt="params"``) or its input batch (``wrt="input"``)."""
    rng = np.random.default_rng(seed)
    x_fixed = rng.normal(size=(m, n_in))
    labels = rng.integers(0, n_out, size=m)
    y = np.eye(n_out)[labels]
    shapes = [(hidden, n_in), (hidden,), (n_out, hidden), (n_out,)]
    sizes = [int(np.prod(s)) for s in shapes]
    theta_fixed = rng.normal(size=sum(sizes))
    act = _ACTIVATIONS[activation] or (lambda z: al.relu(z) ** 2)
    kinks = {}

    def network_loss(theta, x):
        parts, start = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(theta[start : start + size].reshape(shape))
            start += size
        w1, b1, w2, b2 = parts
        hidden_z = x @ w1.T + b1
        kinks["margin"] = float(np.abs(hidden_z.data).min())  # distance to relu's kink
        z = act(hidden_z) @ w2.T + b2
        if cost == "quadratic":
            return al.quadratic_cost(al.sigmoid(z), y)
        if cost == "cross-entropy":
            return al.cross_entropy_cost(z, y, logits=True, reduction="mean")
        return al.log_likelihood_cost(z, labels)

    if wrt == "input":
        return (lambda x: network_loss(theta_fixed, x.reshape(m, n_in))), m * n_in, kinks
    return (lambda theta: network_loss(theta, x_fixed)), sum(sizes), kinks


@settings(max_examples=60, deadline=None)
@given(
    n_in=st.integers(1, 3),
    hidden=st.integers(1, 4),
    n_out=st.integers(2, 3),
    m=st.integers(1, 4),
    activation=st.sampled_from(sorted(_ACTIVATIONS)),
    cost=st.sampled_from(["quadratic", "cross-entropy", "log-likelihood"]),
    wrt=st.sampled_from(["params", "input"]),
    seed=st.integers(0, 2**16),
)
def test_hvp_matches_finite_differences_of_gradients(
    n_in, hidden, n_out, m, activation, cost, wrt, seed
):
    loss, size, kinks = _mlp_loss(n_in, hidden, n_out, m, activation, cost, seed, wrt)
    rng = np.random.default_rng(seed + 1)
    point, v = rng.normal(size=size), rng.normal(size=size)
    loss(al.Tensor(point))
    # relu² has a jump in its second derivative at 0: finite differences across it mean nothing.
    assume(activation != "relu2" or kinks["margin"] > 1e-3)
    _assert_hvp(loss, point, v, rtol=1e-4, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 5))
def test_hvp_is_symmetric_and_linear_in_v(seed, n):
    loss, size, _ = _mlp_loss(2, n, 2, 3, "tanh", "log-likelihood", seed)
    rng = np.random.default_rng(seed)
    theta, u, v = rng.normal(size=(3, size))
    hu, hv = al.hvp(loss, theta, u), al.hvp(loss, theta, v)
    assert float(u @ hv) == pytest.approx(float(v @ hu), rel=1e-9, abs=1e-12)  # H = Hᵀ
    np.testing.assert_allclose(al.hvp(loss, theta, 2 * u - v), 2 * hu - hv, atol=1e-12)


def test_nested_grad_equals_hvp():
    loss, size, _ = _mlp_loss(2, 3, 2, 4, "sigmoid", "quadratic", 7)
    rng = np.random.default_rng(7)
    theta, v = rng.normal(size=(2, size))
    df = al.grad(loss)
    nested = al.grad(lambda t: (df(t) * v).sum())(theta)
    np.testing.assert_allclose(nested, al.hvp(loss, theta, v), rtol=1e-12, atol=1e-14)


# -- second derivatives through modules and costs, by create_graph ------------------------------
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy", "cross-entropy-logits", "ll"])
def test_parameter_hvp_through_modules_and_costs(cost):
    rng = np.random.default_rng(8)
    model = nn.Sequential(
        nn.Linear(3, 4, init="normalized", seed=1), nn.Tanh(), nn.Linear(4, 3, seed=2)
    )
    x = rng.normal(size=(5, 3))
    labels = rng.integers(0, 3, size=5)
    y = np.eye(3)[labels]
    w = model[2].weight
    v = rng.normal(size=w.shape)

    def loss():
        z = model(x)
        if cost == "quadratic":
            return al.quadratic_cost(al.sigmoid(z), y)
        if cost == "cross-entropy":
            return al.cross_entropy_cost(al.sigmoid(z), y, reduction="mean")
        if cost == "cross-entropy-logits":
            return al.cross_entropy_cost(z, y, logits=True)
        return al.log_likelihood_cost(z, labels)

    def gradient():
        (g,) = al.gradients(loss(), [w])
        return g

    (g,) = al.gradients(loss(), [w], create_graph=True)
    model.zero_grad()
    (g * v).sum().backward()
    hv = w.grad
    w0 = w.data.copy()
    eps = 1e-5
    w.data = w0 + eps * v
    up = gradient()
    w.data = w0 - eps * v
    down = gradient()
    w.data = w0
    np.testing.assert_allclose(hv, (up - down) / (2 * eps), rtol=1e-5, atol=1e-8)
    assert model[0].weight.grad is not None  # the mixed second derivative reached layer 0 too


def test_gradient_penalty_double_backprop_through_a_module():
    """d/dW ‖∂C/∂x‖²: the input gradient is itself differentiated with respect to a weight."""
    rng = np.random.default_rng(9)
    model = nn.Sequential(nn.Linear(3, 3, seed=3), nn.Sigmoid(), nn.Linear(3, 2, seed=4))
    x, y = rng.normal(size=(4, 3)), rng.uniform(size=(4, 2))

    def penalty():
        xt = al.Tensor(x, requires_grad=True)
        (gx,) = al.gradients(al.quadratic_cost(model(xt), y), [xt], create_graph=True)
        return (gx * gx).sum()

    model.zero_grad()
    penalty().backward()
    w = model[0].weight
    analytic, numeric = w.grad, np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        old = w.data[i]
        w.data[i] = old + 1e-6
        up = penalty().item()
        w.data[i] = old - 1e-6
        down = penalty().item()
        w.data[i] = old
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


# -- gradient of gradient through each op --------------------------------------------------------
_C = np.random.default_rng(10).normal(size=(3, 3))


def _positive(x):
    return np.abs(x) + 0.5


SECOND_ORDER_CASES = {
    "tanh": (lambda x: (al.tanh(x) * _C).sum(), None),
    "sigmoid": (lambda x: (al.sigmoid(x) * _C).sum(), None),
    "sigmoid_prime": (lambda x: (al.sigmoid_prime(x) * _C).sum(), None),
    "exp": (lambda x: (al.exp(x) * _C).sum(), None),
    "log": (lambda x: (al.log(x) * _C).sum(), _positive),
    "matmul": (lambda x: ((x @ x) * _C).sum(), None),
    "matmul-vector": (lambda x: (x @ x[0]) @ _C[1], None),
    "softmax": (lambda x: (al.softmax(x) * _C).sum(), None),
    "softmax-axis0": (lambda x: (al.softmax(x, axis=0) * _C).sum(), None),
    "log_softmax": (lambda x: (al.log_softmax(x) * _C).sum(), None),
    "relu-squared": (lambda x: ((al.relu(x) ** 2) * _C).sum(), None),
    "pow-constant": (lambda x: ((x**3) * _C).sum(), None),
    "pow-tensor-exponent": (lambda x: (x**x).sum(), _positive),
    "pow-reflected": (lambda x: ((2.0**x) * _C).sum(), None),
    "div": (lambda x: (x / (1.0 + x * x) * _C).sum(), None),
    "div-denominator": (lambda x: (_C / x).sum(), _positive),
    "mul-hadamard-neg": (lambda x: (-al.hadamard(x, x * _C)).sum(), None),
    "sub-add-broadcast": (lambda x: (((x - x.sum(axis=0)) + x[:, :1]) ** 2).sum(), None),
    "sum": (lambda x: (x.sum(axis=0) ** 2 * _C[0]).sum() + x.sum() ** 2, None),
    "mean": (lambda x: (x.mean(axis=1, keepdims=True) ** 3).sum() + x.mean() ** 2, None),
    "max": (lambda x: (x.max(axis=0) ** 3).sum() + x.max() ** 2, None),
    "reshape": (lambda x: ((x.reshape(9) ** 3) * _C.reshape(9)).sum(), None),
    "transpose": (lambda x: ((x.T * x) * _C).sum() + (x.transpose(1, 0) ** 3).sum(), None),
    "getitem": (lambda x: (x[0] * x[2]).sum() + (x[[0, 0, 1], 1:] ** 3).sum(), None),
    "concatenate": (lambda x: (al.concatenate([x, x * x], axis=1) ** 2).sum(), None),
    "stack": (lambda x: (al.stack([x, al.tanh(x)], axis=-1) ** 2).sum(), None),
    "where": (lambda x: al.where(x.data > 0, x**2, x**3).sum(), None),
    "broadcast_to": (lambda x: (al.broadcast_to(x[0], (2, 3)) ** 3 * _C[:2]).sum(), None),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER_CASES))
def test_gradient_of_gradient_through_each_op(name):
    f, transform = SECOND_ORDER_CASES[name]
    rng = np.random.default_rng(sorted(SECOND_ORDER_CASES).index(name))
    x, v = rng.normal(size=(2, 3, 3))
    if transform is not None:
        x = transform(x)
    if name == "max":
        x = x + np.arange(9.0).reshape(3, 3)  # distinct values: no ties to share
    hv = _assert_hvp(f, x, v)
    assert np.any(hv != 0)


def test_relu_second_derivative_is_zero_almost_everywhere():
    x = np.array([[-1.5, 0.3, 2.0], [0.7, -0.2, 1.1]])
    v = np.ones_like(x)
    np.testing.assert_array_equal(al.hvp(lambda t: (al.relu(t) * 3.0).sum(), x, v), 0.0)
    hv = al.hvp(lambda t: (al.relu(t) ** 2).sum(), x, v)
    np.testing.assert_array_equal(hv, 2.0 * (x > 0))  # H = 2 diag[x > 0]
