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


def _containers(model: nn.Module) -> list:
    """Every list and dict reachable from the modules' attributes."""
    found: list = []

    def visit(value: object) -> None:
        if isinstance(value, (list, dict)):
            found.append(value)
        if isinstance(value, (list, tuple, dict)):
            for item in value.values() if isinstance(value, dict) else value:
                visit(item)

    for _, module in model.named_modules():
        for value in vars(module).values():
            visit(value)
    return found


@settings(deadline=None, max_examples=150)
@given(module_trees(), st.data())
def test_the_cached_parameter_list_follows_every_change_to_the_tree(model, data) -> None:
    """After each change (an attribute set or deleted anywhere in the tree, a list or dict
    changed in place), ``parameters()`` is again the ``named_parameters`` walk."""
    for _ in range(data.draw(st.integers(1, 4))):
        new = data.draw(st.sampled_from([nn.Parameter(np.ones(2)), nn.Linear(1, 1), 7]))
        modules = [m for _, m in model.named_modules()]
        containers = _containers(model)
        # (made before the list is cached: building a module sets attributes too)
        assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
        how = data.draw(st.sampled_from(["set", "del", "in place"]))
        if how == "in place" and containers:
            box = data.draw(st.sampled_from(containers))
            keys = list(box) if isinstance(box, dict) else list(range(len(box)))
            if keys and data.draw(st.booleans()):
                box[data.draw(st.sampled_from(keys))] = new  # an item replaced
            elif isinstance(box, dict):
                box[f"new{len(box)}"] = new
            else:
                box.append(new)
        else:
            module = data.draw(st.sampled_from(modules))
            names = [k for k in vars(module) if k not in ("training", "layers")]
            if how == "del" and names:
                delattr(module, data.draw(st.sampled_from(names)))
            else:
                setattr(module, data.draw(st.sampled_from(["m0", "extra", "fresh"])), new)
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


def test_a_module_that_is_not_hashable_still_lists_its_parameters() -> None:
    class Equal(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(np.ones(2))

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Equal)

    model = Equal()
    assert model.parameters() == [model.w] or model.parameters()[0] is model.w
    model.w = nn.Parameter(np.zeros(3))
    assert model.parameters()[0] is model.w


def test_an_item_removed_and_replaced_between_calls_is_seen() -> None:
    """A parameter deleted from a list and a new one appended (making a Parameter sets no
    module attribute, and may reuse the freed object's id were the cache not keeping it
    alive): ``parameters()`` lists the new one."""
    model = Holder(ps=[nn.Parameter(np.ones(3))])
    for _ in range(50):
        model.parameters()
        del model.ps[0]
        model.ps.append(nn.Parameter(np.ones(3)))
        assert model.parameters()[0] is model.ps[0]
