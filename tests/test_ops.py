"""Every op's derivatives, checked numerically on random shapes, dtypes kept, inputs untouched.

The graphs come from :func:`autograd_lite.testing.strategies.graphs` (each test forces the op
under test into every drawn graph) and the checks from :mod:`autograd_lite.testing.gradcheck`.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import costs, ops
from autograd_lite.engine import gradients
from autograd_lite.testing import gradcheck, gradgradcheck
from autograd_lite.testing._generators import GENERATORS
from autograd_lite.testing.graph import COST_OPS
from autograd_lite.testing.strategies import broadcastable_shapes, graphs, tensors

ALL_OPS = sorted(ops.OPS)
ALL_WITH_COSTS = ALL_OPS + list(COST_OPS)


def test_every_op_is_drawn_by_the_graphs_strategy() -> None:
    missing = set(ops.OPS) - set(GENERATORS)
    assert not missing, f"ops without a generator in testing/_generators.py: {sorted(missing)}"


# -- first and second derivatives of every op ---------------------------------------------------
@pytest.mark.parametrize("name", ALL_WITH_COSTS)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: Any) -> None:
    graph = data.draw(graphs(include=[name], max_ops=4), label="graph")
    assert gradcheck(graph, graph.leaves())


@pytest.mark.parametrize("name", ALL_WITH_COSTS)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name: str, data: Any) -> None:
    graph = data.draw(graphs(include=[name], max_ops=3), label="graph")
    assert gradgradcheck(graph, graph.leaves())


@pytest.mark.parametrize("unary", ["tanh", "sigmoid", "exp", "sigmoid_prime", "log"])
@given(
    x=tensors(shape=(2, 3), elements=(0.2, 1.0), requires_grad=True),
    w=tensors(shape=(3, 3), elements=(-0.5, 0.5), requires_grad=True),
)
def test_second_derivative_of_matmul_chains(unary: str, x: Any, w: Any) -> None:
    f = ops.OPS[unary]

    def chain(x: Any, w: Any) -> Any:
        h = f(x @ w) if unary != "log" else f(al.exp(x @ w))
        return f(h @ w) if unary != "log" else f(al.exp(h @ w))

    assert gradgradcheck(chain, [x, w])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@given(shapes=broadcastable_shapes(2, max_side=3), data=st.data())
def test_binary_ops_broadcast(name: str, shapes: tuple, data: Any) -> None:
    low = 0.5 if name in ("div", "pow") else -2.0  # divisor and base away from 0
    a = data.draw(tensors(shape=shapes[0], elements=(low, 2.0), requires_grad=True), label="a")
    b = data.draw(tensors(shape=shapes[1], elements=(low, 2.0), requires_grad=True), label="b")
    out = ops.OPS[name](a, b)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert gradcheck(ops.OPS[name], [a, b])


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3, 4)),
    ((2, 3), (4, 3, 2)),
    ((1, 2, 3), (4, 3, 2)),
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_every_case(sa: tuple, sb: tuple) -> None:
    rng = np.random.default_rng(0)
    a = al.Tensor(rng.standard_normal(sa), requires_grad=True)
    b = al.Tensor(rng.standard_normal(sb), requires_grad=True)
    assert (a @ b).shape == np.matmul(a.data, b.data).shape
    assert gradcheck(al.matmul, [a, b])
    assert gradgradcheck(al.matmul, [a, b])


# -- float32 stays float32 ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_WITH_COSTS)
@given(data=st.data())
def test_float32_kept_end_to_end(name: str, data: Any) -> None:
    graph = data.draw(graphs(include=[name], max_ops=3, dtype=np.float32), label="graph")
    leaves = graph.leaves()
    out = graph(*leaves)
    assert out.dtype == np.float32
    seed = np.ones(out.shape, dtype=np.float32)
    for g in gradients(out, leaves, grad_outputs=seed, retain_graph=True):
        assert g.dtype == np.float32
    for g in gradients(out, leaves, grad_outputs=seed, create_graph=True):
        assert g.dtype == np.float32


@pytest.mark.parametrize("create_graph", [False, True])
def test_float32_pow_constant_base(create_graph: bool) -> None:
    # Found by the float32 graphs: ``pow(2.0, v0)`` gave a float64 gradient (np.log(2.0)).
    x = al.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (g,) = gradients(al.pow(2.0, x).sum(), [x], create_graph=create_graph)
    assert g.dtype == np.float32


def test_float32_log_likelihood_cost() -> None:
    # Found by the float32 graphs: the one-hot targets were float64.
    z = al.Tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    assert costs.log_likelihood_cost(z, np.array([0, 2])).dtype == np.float32


# -- backward leaves its inputs alone --------------------------------------------------------------
@given(graph=graphs(max_ops=6), data=st.data())
def test_backward_never_mutates_inputs_or_upstream(graph: Any, data: Any) -> None:
    leaves = graph.leaves()
    before = [leaf.data.copy() for leaf in leaves]
    out = graph(*leaves)
    out_before = out.data.copy()
    upstream = data.draw(tensors(shape=out.shape, elements=(-1, 1)), label="upstream").data
    upstream_before = upstream.copy()
    gradients(out, leaves, grad_outputs=upstream, retain_graph=True)
    gradients(out, leaves, grad_outputs=upstream, create_graph=True)
    out.backward(upstream)
    for leaf, old in zip(leaves, before):
        np.testing.assert_array_equal(leaf.data, old)
    np.testing.assert_array_equal(out.data, out_before)
    np.testing.assert_array_equal(upstream, upstream_before)
    grads = [leaf.grad for leaf in leaves]
    for i, g in enumerate(grads):  # each .grad its own array, not a view of another's
        assert not any(np.shares_memory(g, other) for other in grads[i + 1 :])
        assert not any(np.shares_memory(g, leaf.data) for leaf in leaves)


# -- conventions and numerical edge cases ----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_derivative_at_zero_is_zero(dtype: Any) -> None:
    x = al.Tensor(np.array([-1.0, 0.0, 1.0], dtype=dtype), requires_grad=True)
    (g,) = gradients(al.relu(x).sum(), [x])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    (h,) = gradients(al.relu(x).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(h.data, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_at_extremes_without_warnings(dtype: Any) -> None:
    z = al.Tensor(np.array([-1000.0, 0.0, 1000.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = al.sigmoid(z)
        (g,) = gradients(s.sum(), [z])
        p = al.sigmoid_prime(z)
        (gp,) = gradients(p.sum(), [z])
    np.testing.assert_array_equal(s.data, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(g, [0.0, 0.25, 0.0])
    np.testing.assert_array_equal(p.data, [0.0, 0.25, 0.0])
    np.testing.assert_array_equal(gp, [0.0, 0.0, 0.0])
    for array in (s.data, g, p.data, gp):
        assert array.dtype == dtype


def test_log_of_zero_is_minus_infinity_without_warnings() -> None:
    x = al.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = al.log(x)
        (g,) = gradients(y.sum(), [x])
    assert y.data[0] == -np.inf and y.data[1] == 0.0
    assert g[0] == np.inf and g[1] == 1.0


def test_fan_out_into_a_scalar_accumulates_every_contribution() -> None:
    # Found by graphs(): ``v1 = add(v0, v0); v2 = add(v1, v0)`` on a 0-d leaf lost a gradient.
    x = al.Tensor(2.0, requires_grad=True)
    (x * x * x).backward()
    assert x.grad == 12.0
    assert al.hvp(lambda t: t * t * t, np.float64(2.0), np.float64(1.0)) == 12.0


# -- against PyTorch, when it is installed ---------------------------------------------------------
def _torch_call(torch: Any) -> Any:
    """A ``Graph.evaluate`` call that runs each op with PyTorch."""

    def constant(value: Any) -> Any:
        return torch.as_tensor(value, dtype=torch.float64) if isinstance(value, float) else value

    def reduce(x: Any, fn: str, axis: Any, keepdims: bool) -> Any:
        dims = tuple(range(x.ndim)) if axis is None else axis
        dims = dims if isinstance(dims, tuple) else (dims,)
        if not dims:
            return x
        if fn in ("max", "min"):
            return getattr(torch, "a" + fn)(x, dim=dims, keepdim=keepdims)
        return getattr(torch, fn)(x, dim=dims, keepdim=keepdims)

    def index(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(index(v) for v in value)
        return torch.as_tensor(value) if isinstance(value, np.ndarray) else value

    def call(name: str, args: list, params: dict) -> Any:
        a = args[0] if args else None
        if name in ("add", "sub", "mul", "hadamard", "div", "pow"):
            x, y = args
            return {
                "add": lambda: x + y,
                "sub": lambda: x - y,
                "mul": lambda: x * y,
                "hadamard": lambda: x * y,
                "div": lambda: x / y,
                "pow": lambda: x**y,
            }[name]()
        if name == "neg":
            return -a
        if name == "matmul":
            return torch.matmul(*args)
        if name in ("exp", "log", "sigmoid", "tanh", "relu"):
            return getattr(torch, name)(a)
        if name == "sigmoid_prime":
            return torch.sigmoid(a) * (1 - torch.sigmoid(a))
        if name in ("softmax", "log_softmax"):
            return getattr(torch, name)(a, dim=params["axis"])
        if name in ("sqrt", "abs"):
            return getattr(torch, name)(a)
        if name == "softplus":
            return torch.nn.functional.softplus(a)
        if name in ("maximum", "minimum"):
            return getattr(torch, name)(*map(constant, args))
        if name == "clamp":
            return torch.clamp(a, min=params["min"], max=params["max"])
        if name in ("clone", "astype"):  # (astype drawn with dtype=None: a copy)
            return a.clone()
        if name in ("sum", "mean", "max", "min", "logsumexp", "var", "std"):
            return reduce(a, name, params["axis"], params["keepdims"])
        if name == "reshape":
            return a.reshape(params["shape"])
        if name == "transpose":
            axes = params["axes"]
            perm = tuple(range(a.ndim))[::-1] if axes is None else tuple(i % a.ndim for i in axes)
            return a.permute(perm)
        if name == "broadcast_to":
            return torch.broadcast_to(a, params["shape"])
        if name == "getitem":
            return a[index(params["index"])]
        if name == "scatter_add":
            shape = params["shape"]
            positions = np.arange(int(np.prod(shape))).reshape(shape)[params["index"]]
            flat = torch.zeros(int(np.prod(shape)), dtype=a.dtype)
            flat = flat.index_add(0, torch.as_tensor(positions.reshape(-1)), a.reshape(-1))
            return flat.reshape(shape)
        if name == "linear":
            return torch.nn.functional.linear(*args)
        if name in ("max_along", "min_along"):  # torch's max(dim) / min(dim): the values
            return getattr(torch, name[:3])(a, dim=params["axis"], keepdim=params["keepdims"])[0]
        if name == "concatenate":
            return torch.cat(args, dim=params["axis"])
        if name == "stack":
            return torch.stack(args, dim=params["axis"])
        if name == "where":
            return torch.where(torch.as_tensor(params["condition"]), *map(constant, args))
        if "conv2d" in name or "pool2d" in name:
            return convolution(name, args, params)
        return cost(name, args, params)

    def convolution(name: str, args: list, params: dict) -> Any:
        F, grad = torch.nn.functional, torch.nn.grad
        if name == "conv2d":
            x, w, b = args
            return F.conv2d(x, w, None if isinstance(b, float) else b, **params)
        if name == "conv2d_input_grad":
            g, w = args
            return grad.conv2d_input(params.pop("x_shape"), w, g, **params)
        if name == "conv2d_weight_grad":
            x, g = args
            return grad.conv2d_weight(x, params.pop("w_shape"), g, **params)
        if name in ("max_pool2d", "avg_pool2d"):
            return getattr(F, name)(args[0], **params)
        shape, g = params.pop("shape"), args[0]
        if name == "avg_pool2d_backward":  # the transpose of avg_pool2d, by torch's autograd
            z = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
            return torch.autograd.grad(F.avg_pool2d(z, **params), z, g, create_graph=True)[0]
        masks = params.pop("masks")
        kernel, stride, padding = params["kernel_size"], params["stride"], params["padding"]
        positions = ops.max_pool2d_positions(masks, shape, kernel, stride, padding, (1, 1))
        flat = torch.zeros(int(np.prod(shape)), dtype=g.dtype)
        return flat.index_add(0, torch.as_tensor(positions.reshape(-1)), g.reshape(-1)).reshape(
            shape
        )

    def cost(name: str, args: list, params: dict) -> Any:
        shape = tuple(args[0].shape)
        scale = 1.0 / costs._sample_count(shape, -1, params["reduction"])
        if name == "quadratic_cost":
            a, y = args
            return 0.5 * scale * ((a - y) ** 2).sum()
        if name == "cross_entropy_cost":
            a, y = args
            return -scale * (y * torch.log(a) + (1 - y) * torch.log1p(-a)).sum()
        if name == "cross_entropy_cost_logits":
            z, y = args
            return scale * (torch.nn.functional.softplus(z) - y * z).sum()
        if name == "binary_cross_entropy":  # (nn.functional's, declared in nn/losses.py)
            a, y = args
            return torch.nn.functional.binary_cross_entropy(a, y, reduction=params["reduction"])
        if name == "log_likelihood_cost":
            labels = torch.as_tensor(params["labels"])
            one_hot = torch.nn.functional.one_hot(labels, shape[-1]).to(torch.float64)
            return -scale * (torch.log_softmax(args[0], dim=-1) * one_hot).sum()
        raise KeyError(name)

    return call


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
@given(graph=graphs(ALL_WITH_COSTS, max_ops=6))
def test_matches_pytorch(graph: Any) -> None:
    import torch

    leaves = graph.leaves()
    out = graph(*leaves)
    ours = gradients(out, leaves, grad_outputs=np.ones(out.shape))
    theirs_leaves = [torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in leaves]
    theirs = graph.evaluate(theirs_leaves, call=_torch_call(torch))
    np.testing.assert_allclose(theirs.detach().numpy(), out.data, rtol=1e-8, atol=1e-12)
    grads = torch.autograd.grad(
        theirs, theirs_leaves, grad_outputs=torch.ones_like(theirs), allow_unused=True
    )
    for mine, other in zip(ours, grads):
        expected = np.zeros_like(mine) if other is None else other.numpy()
        np.testing.assert_allclose(mine, expected, rtol=1e-8, atol=1e-12)
