"""al.func: functional_call (parameters as arguments) and grad with respect to a dict of them."""

from __future__ import annotations

import doctest
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn
from autograd_lite.errors import InvalidInputError, ShapeError
from autograd_lite.func import functional_call
from autograd_lite.testing.strategies import mlps, module_inputs

SETTINGS = settings(max_examples=40, deadline=None)


def _state(module: nn.Module) -> list[tuple[str, int, bytes]]:
    """Names, identities and bytes of every parameter and buffer: what must come back."""
    params = [(n, id(p), p.data.tobytes()) for n, p in module.named_parameters()]
    return params + [(n, id(b), b.tobytes()) for n, b in module.named_buffers()]


def _other_values(module: nn.Module, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(p.shape) for n, p in module.named_parameters()}


# -- the test: al.func.grad through functional_call == loss.backward(), bitwise --------
@SETTINGS
@given(st.data(), mlps(max_layers=3, max_width=5, bias=st.booleans()))
def test_grad_through_functional_call_is_backward_bitwise(data: Any, model: nn.Sequential) -> None:
    x = data.draw(module_inputs(model))
    y = np.full(model(x).shape, data.draw(st.floats(0, 1)))
    params = {name: p.data.copy() for name, p in model.named_parameters()}

    def loss(p: dict[str, Any]) -> al.Tensor:
        return al.quadratic_cost(functional_call(model, p, x), y)

    value, grads = al.func.value_and_grad(loss)(params)
    model.zero_grad()
    eager = al.quadratic_cost(model(x), y)
    eager.backward()
    assert value.tobytes() == eager.data.tobytes()
    assert list(grads) == list(params)
    for name, p in model.named_parameters():
        assert p.grad is not None
        assert grads[name].tobytes() == p.grad.tobytes(), name
    again = al.func.grad(loss)(params)
    assert all(again[n].tobytes() == grads[n].tobytes() for n in params)


@SETTINGS
@given(st.data(), mlps(max_layers=2, max_width=4), st.integers(0, 2**31))
def test_output_is_that_of_a_model_holding_the_values(
    data: Any, model: nn.Sequential, seed: int
) -> None:
    """Oracle: a second model loaded with the values computes the same output, bitwise; the
    module gets its own parameters (same objects, same bytes) back."""
    x = data.draw(module_inputs(model))
    values = _other_values(model, seed)
    before = _state(model)
    out = functional_call(model, values, x)
    twin = nn.Sequential(*[type(layer)(*_args(layer)) for layer in model])
    twin.load_state_dict(values)
    assert out.data.tobytes() == twin(x).data.tobytes()
    assert _state(model) == before
    assert functional_call(model, {}, x).data.tobytes() == model(x).data.tobytes()


def _args(layer: nn.Module) -> tuple:
    if isinstance(layer, nn.Linear):
        return (layer.in_features, layer.out_features, layer.bias is not None)
    return ()


def test_the_given_tensor_is_used_and_gets_the_gradient() -> None:
    layer = nn.Linear(3, 2, seed=0)
    w = al.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="w")
    out = functional_call(layer, {"weight": w}, np.ones((4, 3)))
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((2, 3), 4.0))
    assert layer.weight.grad is None  # replaced: not in this graph
    assert layer.bias is not None
    np.testing.assert_array_equal(layer.bias.grad, [4.0, 4.0])  # not given: the module's own
    expected = np.ones((4, 3)) @ w.data.T + layer.bias.data
    assert out.data.tobytes() == expected.tobytes()


def test_a_sequence_of_mappings_is_merged() -> None:
    layer = nn.Linear(2, 1, seed=0)
    w, b = np.array([[1.0, 2.0]]), np.array([0.5])
    out = functional_call(layer, ({"weight": w}, {"bias": b}), np.ones((1, 2)))
    assert (
        out.data.tobytes()
        == functional_call(layer, {"weight": w, "bias": b}, np.ones((1, 2))).data.tobytes()
    )


def test_arrays_become_constants_and_keyword_arguments_reach_forward() -> None:
    class Affine(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(np.ones(2))

        def forward(self, x: Any, *, shift: float = 0.0) -> al.Tensor:
            return x * self.scale + shift

    m = Affine()
    out = functional_call(m, {"scale": [2.0, 3.0]}, np.ones(2), shift=1.0)
    np.testing.assert_array_equal(out.data, [3.0, 4.0])
    assert not out.requires_grad


# -- restoring ----------------------------------------------------------------------------------
class _Fails(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))

    def forward(self, x: Any) -> al.Tensor:
        raise RuntimeError("forward failed")


def test_parameters_come_back_when_forward_raises() -> None:
    m = _Fails()
    before = _state(m)
    with pytest.raises(RuntimeError, match="forward failed"):
        functional_call(m, {"weight": np.zeros(3)}, np.ones(3))
    assert _state(m) == before
    assert isinstance(m.weight, nn.Parameter)


def test_parameters_in_containers_are_replaced_without_mutating_the_containers() -> None:
    class Bag(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ws = [nn.Parameter(np.ones(2)), nn.Parameter(np.full(2, 2.0))]
            self.pair = (nn.Parameter(np.ones(2)), 5)
            self.table = {"a": nn.Parameter(np.full(2, 3.0))}

        def forward(self) -> al.Tensor:
            return self.ws[0] * self.ws[1] * self.pair[0] * self.table["a"]

    m = Bag()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["ws.0", "ws.1", "pair.0", "table.a"]
    ws, pair, table = m.ws, m.pair, m.table
    ws_items, table_items = list(ws), dict(table)
    out = functional_call(m, {"ws.1": np.full(2, 5.0), "table.a": np.full(2, 7.0)})
    np.testing.assert_array_equal(out.data, np.full(2, 35.0))
    assert m.ws is ws and m.pair is pair and m.table is table
    assert list(ws) == ws_items and dict(table) == table_items


def test_a_tied_weight_is_replaced_everywhere() -> None:
    shared = nn.Linear(2, 2, bias=False, seed=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    other = nn.Linear(2, 2, bias=False, seed=0)
    other.weight.data = np.array([[1.0, -2.0], [0.5, 3.0]])
    model_other = nn.Sequential(other, nn.Tanh(), other)
    x = np.array([[0.3, -0.7]])
    out = functional_call(model, {"0.weight": other.weight.data}, x)
    assert out.data.tobytes() == model_other(x).data.tobytes()
    assert model(x).data.tobytes() != out.data.tobytes()


def test_nested_calls_on_the_same_module() -> None:
    class Twice(nn.Module):
        def __init__(self, inner: nn.Linear) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> al.Tensor:
            # Re-entrant: the inner call replaces again, then puts the outer values back.
            doubled = functional_call(self.inner, {"weight": 2 * self.inner.weight.data}, x)
            return doubled + self.inner(x)

    inner = nn.Linear(2, 1, bias=False, seed=0)
    model = Twice(inner)
    before = _state(model)
    x = np.array([[1.0, 2.0]])
    out = functional_call(model, {"inner.weight": np.array([[1.0, 1.0]])}, x)
    np.testing.assert_array_equal(out.data, [[6.0 + 3.0]])
    assert _state(model) == before


# -- buffers ------------------------------------------------------------------------------------
def test_buffers_replace_running_statistics() -> None:
    bn = nn.BatchNorm1d(2)
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    bn.eval()
    mean, var = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    twin = nn.BatchNorm1d(2)
    twin.eval()
    twin.running_mean[...], twin.running_var[...] = mean, var
    out = functional_call(bn, {"running_mean": mean, "running_var": var}, x)
    assert out.data.tobytes() == twin(x).data.tobytes()
    bn.train()
    given_mean, own = np.zeros(2), bn.running_mean.copy()
    functional_call(bn, {"running_mean": given_mean}, x)
    assert not np.array_equal(given_mean, np.zeros(2))  # updated in place, as in PyTorch
    np.testing.assert_array_equal(bn.running_mean, own)


# -- errors -------------------------------------------------------------------------------------
def test_unknown_names_are_refused_with_a_suggestion() -> None:
    model = nn.Sequential(nn.Linear(2, 2, seed=0))
    with pytest.raises(InvalidInputError, match=r"'0\.wieght': did you mean \['0\.weight'\]"):
        functional_call(model, {"0.wieght": np.ones((2, 2))}, np.ones((1, 2)))


def test_bad_inputs_raise_typed_errors() -> None:
    model = nn.Linear(2, 2, seed=0)
    before = _state(model)
    with pytest.raises(ShapeError, match=r"'weight' has shape \(2, 2\).*shape \(3,\)"):
        functional_call(model, {"weight": np.ones(3)}, np.ones((1, 2)))
    with pytest.raises(InvalidInputError, match="params must be a mapping"):
        functional_call(model, [np.ones((2, 2))], np.ones((1, 2)))  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"\['weight'\] appear in more than one"):
        functional_call(model, ({"weight": np.ones((2, 2))}, {"weight": np.ones((2, 2))}))
    with pytest.raises(InvalidInputError, match="named_parameters"):
        functional_call(lambda x: x, {}, 1.0)
    with pytest.raises(InvalidInputError, match=r"strict=True but params lacks \['bias'\]"):
        functional_call(model, {"weight": np.ones((2, 2))}, np.ones((1, 2)), strict=True)
    with pytest.raises(InvalidInputError, match="value of 'bias'"):
        functional_call(model, {"bias": np.array(["a", "b"])}, np.ones((1, 2)))
    assert _state(model) == before


# -- threads ------------------------------------------------------------------------------------
class _Slow(nn.Module):
    """Reads its weight twice with a pause between: a race would mix two threads' values."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.zeros(3))

    def forward(self, x: Any) -> al.Tensor:
        first = x * self.weight
        time.sleep(0.001)
        return first + x * self.weight


def test_threads_never_see_each_others_values_nor_corrupt_the_module() -> None:
    m = _Slow()
    before = _state(m)
    errors: list[str] = []

    def work(k: int) -> None:
        try:
            for _ in range(20):
                out = functional_call(m, {"weight": np.full(3, float(k))}, np.ones(3))
                if not np.array_equal(out.data, np.full(3, 2.0 * k)):
                    errors.append(f"thread {k} got {out.data}")
        except Exception as error:  # a thread's exception would not fail the test by itself
            errors.append(f"thread {k} raised {error!r}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _state(m) == before


# -- func.grad ----------------------------------------------------------------------------------
def test_func_grad_with_several_arguments_and_nesting() -> None:
    def f(p: dict[str, Any], x: Any, scale: float) -> al.Tensor:
        return ((p["w"] * x) ** 2).sum() * scale + p["b"].sum()

    p = {"w": np.array([1.0, 2.0]), "b": np.array([0.5])}
    x = np.array([3.0, -1.0])
    gp, gx = al.func.grad(f, argnums=(0, 1))(p, x, 2.0)
    np.testing.assert_array_equal(gp["w"], 4.0 * p["w"] * x**2)
    np.testing.assert_array_equal(gp["b"], [1.0])
    np.testing.assert_array_equal(gx, 4.0 * p["w"] ** 2 * x)
    assert al.func.grad(f, argnums=-1)(p, x, 2.0) == np.sum((p["w"] * x) ** 2)  # d/d scale

    def first(q: dict[str, Any]) -> al.Tensor:  # d/dw of sum(w**3) is 3 w**2; again: 6 w
        return (al.func.grad(lambda r: (r["w"] ** 3).sum())(q)["w"]).sum()

    np.testing.assert_array_equal(al.func.grad(first)({"w": p["w"]})["w"], 6.0 * p["w"])
    with pytest.raises(InvalidInputError, match="argnums 3"):
        al.func.grad(f, argnums=3)(p, x, 2.0)


def test_docstring_examples_run() -> None:
    from autograd_lite.testing import strategies

    gradcheck_module = sys.modules["autograd_lite.testing.gradcheck"]
    for module in (al.func, gradcheck_module, strategies):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


class _Masked(nn.Module):
    """Two positional arguments and a keyword: the call forms of torch.func.functional_call."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.array([2.0, 3.0]))

    def forward(self, x: Any, mask: Any, *, shift: float = 0.0) -> al.Tensor:
        return x * self.scale * mask + shift


@pytest.mark.parametrize(
    "call",
    [
        lambda m, p, x, k: functional_call(m, p, x, k, shift=1.0),
        lambda m, p, x, k: functional_call(m, p, (x, k), {"shift": 1.0}),
        lambda m, p, x, k: functional_call(m, p, (x, k), shift=1.0),
        lambda m, p, x, k: functional_call(m, p, args=(x, k), kwargs={"shift": 1.0}),
        lambda m, p, x, k: functional_call(m, p, (x, k), {"shift": 1.0}, tie_weights=True),
    ],
)
def test_torch_funcs_call_forms_give_the_same_call(call: Any) -> None:
    """A tuple of positional arguments, a dict of keywords, args= and kwargs= (PyTorch's
    contract), or the arguments as they are: one call of the module."""
    out = call(_Masked(), {"scale": np.array([5.0, 7.0])}, np.ones(2), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(out.data, [6.0, 1.0])


def test_tie_weights_false_and_args_twice_are_refused() -> None:
    m, p = _Masked(), {"scale": np.ones(2)}
    with pytest.raises(InvalidInputError, match="tie_weights=False"):
        functional_call(m, p, (np.ones(2), np.ones(2)), tie_weights=False)
    with pytest.raises(InvalidInputError, match="args="):
        functional_call(m, p, np.ones(2), args=(np.ones(2),))


def test_call_forms_match_torch_func() -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Linear(3, 2, seed=0), torch.nn.Linear(3, 2).double()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    w = np.arange(6.0).reshape(2, 3)
    x = np.random.default_rng(0).normal(size=(4, 3))
    got = functional_call(ours, {"weight": w}, (x,))
    want = torch.func.functional_call(
        theirs, {"weight": torch.from_numpy(w)}, (torch.from_numpy(x),)
    )
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)


def _mlp_params(rng: np.random.Generator, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(rng.normal(size=(m, n)), rng.normal(size=n)) for m, n in zip(sizes, sizes[1:])]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 99), sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4))
def test_grad_of_hips_style_params_keeps_their_structure(seed: int, sizes: list[int]) -> None:
    """HIPS autograd's ``[(W1, b1), (W2, b2)]`` (and dicts inside lists): the gradient comes in
    the same structure, each leaf as if it were an argument of its own."""
    rng = np.random.default_rng(seed)
    params, x = _mlp_params(rng, sizes), rng.normal(size=(3, sizes[0]))

    def forward(ps: Any, scale: dict[str, Any]) -> Any:
        h = x
        for w, b in ps:
            h = np.tanh(np.dot(h, w) + b)
        return np.sum(h**2) * scale["s"]

    grads = al.func.grad(forward, argnums=(0, 1))(params, {"s": np.array(2.0)})
    assert type(grads[0]) is list and all(type(t) is tuple for t in grads[0])
    assert set(grads[1]) == {"s"}
    flat = [leaf for pair in params for leaf in pair]
    flat_grads = al.grad(
        lambda *leaves: forward(list(zip(leaves[::2], leaves[1::2])), {"s": 2.0}),
        argnums=tuple(range(len(flat))),
    )(*flat)
    for got, want in zip([g for pair in grads[0] for g in pair], flat_grads, strict=True):
        np.testing.assert_array_equal(got, want)


def test_grad_keeps_a_namedtuple_of_parameters() -> None:
    from collections import namedtuple

    Pair = namedtuple("Pair", "w b")
    grads = al.func.grad(lambda p: (p.w * p.b).sum())(Pair(np.ones(2), np.full(2, 3.0)))
    assert type(grads) is Pair
    np.testing.assert_array_equal(grads.w, [3.0, 3.0])
    np.testing.assert_array_equal(grads.b, [1.0, 1.0])


def test_a_single_argument_then_a_dict_is_torchs_args_and_kwargs() -> None:
    """``functional_call(m, p, x, {"shift": 1.0})``: PyTorch reads the dict as the keywords."""

    class Shifted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(np.array([2.0]))

        def forward(self, x: Any, *, shift: float = 0.0) -> al.Tensor:
            return x * self.scale + shift

    out = functional_call(Shifted(), {"scale": np.array([3.0])}, np.ones(1), {"shift": 1.0})
    np.testing.assert_array_equal(out.data, [4.0])
