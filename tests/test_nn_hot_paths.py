"""The per-step paths of the training loop: ``Module.parameters``/``zero_grad``'s flat walk and
``Linear``'s mini-batch form ``(W @ x.T).T``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn


class Holder(nn.Module):
    """A module holding whatever it is given (parameters, modules, containers of them)."""

    def __init__(self, **members: object) -> None:
        super().__init__()
        for key, value in members.items():
            setattr(self, key, value)


@st.composite
def module_trees(draw: st.DrawFn) -> nn.Module:
    """Trees of modules with shared parameters and shared sub-modules, in lists, tuples, dicts
    and Sequentials, and a module that contains its ancestor."""
    params = [nn.Parameter(np.zeros(i + 1)) for i in range(4)]
    made: list[nn.Module] = []

    def member(depth: int) -> object:
        kind = draw(st.sampled_from(["param", "module", "list", "dict", "shared", "plain"]))
        if kind == "param":
            return draw(st.sampled_from(params))
        if kind == "shared" and made:
            return draw(st.sampled_from(made))
        if kind == "plain" or depth > 2:
            return draw(st.sampled_from([3, "text", np.ones(2), None]))
        if kind == "list":
            items = [member(depth + 1) for _ in range(draw(st.integers(0, 3)))]
            return items if draw(st.booleans()) else tuple(items)
        if kind == "dict":
            return {f"k{i}": member(depth + 1) for i in range(draw(st.integers(0, 3)))}
        return node(depth + 1)

    def node(depth: int) -> nn.Module:
        n = draw(st.integers(0, 4))
        if draw(st.booleans()):
            module: nn.Module = nn.Sequential(
                *[node(depth + 1) for _ in range(n)] if depth < 3 else []
            )
            module.extra = member(depth)  # type: ignore[attr-defined]
        else:
            module = Holder(**{f"m{i}": member(depth) for i in range(n)})
        made.append(module)
        return module

    root = node(0)
    if draw(st.booleans()) and made:
        draw(st.sampled_from(made)).back = root  # type: ignore[attr-defined]  # a cycle
    return root


@settings(deadline=None, max_examples=200)
@given(module_trees())
def test_the_flat_walk_lists_the_named_parameters_in_their_order(model: nn.Module) -> None:
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


@settings(deadline=None, max_examples=50)
@given(module_trees())
def test_zero_grad_clears_every_parameter_it_lists(model: nn.Module) -> None:
    for _, p in model.named_parameters():
        p.grad = np.ones_like(p.data)
    model.zero_grad()
    assert all(p.grad is None for _, p in model.named_parameters())


def test_zero_grad_sees_a_parameter_replaced_inside_a_list() -> None:
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Sigmoid())
    model.zero_grad()
    model.layers[0] = nn.Linear(2, 2, seed=1)
    model.layers[0].weight.grad = np.ones((2, 2))
    model.zero_grad()
    assert model.layers[0].weight.grad is None


@settings(deadline=None, max_examples=40)
@given(
    m=st.integers(1, 5),
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 6),
    bias=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_linear_on_a_mini_batch_matches_its_formula(m, n_in, n_out, bias, dtype, seed) -> None:
    """``(W @ x.T).T + b`` gives ``x W^T + b`` and the gradients ``Δ^T X``, ``Σ Δ``, ``Δ W``
    (up to rounding), in the parameters' dtype, and a weight gradient that owns its memory."""
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, bias=bias, seed=seed, dtype=dtype)
    x = al.Tensor(rng.standard_normal((m, n_in)).astype(dtype), requires_grad=True)
    g = rng.standard_normal((m, n_out)).astype(dtype)
    y = layer(x)
    y.backward(g)
    w = layer.weight.data
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    expected = x.data @ w.T + (layer.bias.data if bias else 0)
    assert y.dtype == dtype and np.allclose(y.data, expected, **tol)
    assert layer.weight.grad.dtype == dtype and np.allclose(layer.weight.grad, g.T @ x.data, **tol)
    assert layer.weight.grad.base is None and layer.weight.grad.flags.c_contiguous
    assert np.allclose(x.grad, g @ w, **tol)
    if bias:
        assert np.allclose(layer.bias.grad, g.sum(0), **tol)


def test_linear_on_stacked_batches_and_single_samples_keeps_the_row_form() -> None:
    layer = nn.Linear(3, 2, seed=0)
    x = np.arange(24.0).reshape(2, 4, 3)
    assert np.allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data)
    v = np.arange(3.0)
    assert np.allclose(layer(v).data, layer.weight.data @ v + layer.bias.data)
