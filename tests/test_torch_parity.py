"""PyTorch parity of the tensor surface (issue 14, items 1, 2 and 5): the calls a PyTorch user
writes, run both ways, comparing values, shapes, dtypes, gradients and the error types where
PyTorch refuses. Tests with ``torch`` in their arguments skip when PyTorch is not installed
(the ``torch`` fixture); the others state the same behaviour without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors

FAST = settings(max_examples=40, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def arrays(shape: Any = shapes) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_subnormal=False, width=64))


def run_both(
    torch: Any,
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    *inputs: np.ndarray,
    seed: int = 0,
) -> None:
    """Call ``ours`` on Tensors and ``theirs`` on torch tensors made from ``inputs``; assert the
    same values, shapes and dtypes, and the same gradients of a random weighted sum of the
    outputs (the float ones)."""
    mine = [al.Tensor(a, requires_grad=True) for a in inputs]
    their = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, expected = ours(*mine), theirs(*their)
    outs = list(out) if isinstance(out, (tuple, list)) or hasattr(out, "indices") else [out]
    expect = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    assert len(outs) == len(expect)
    rng = np.random.default_rng(seed)
    ours_total, theirs_total = None, None
    for o, e in zip(outs, expect, strict=True):
        values = o.data if isinstance(o, al.Tensor) else np.asarray(o)
        assert values.shape == tuple(e.shape)
        assert str(values.dtype) == str(e.dtype).replace("torch.", "")
        np.testing.assert_allclose(values, e.detach().numpy(), rtol=1e-10, atol=1e-12)
        if isinstance(o, al.Tensor) and e.requires_grad:
            w = rng.normal(size=values.shape)
            mine_term, their_term = (o * w).sum(), (e * torch.tensor(w)).sum()
            ours_total = mine_term if ours_total is None else ours_total + mine_term
            theirs_total = their_term if theirs_total is None else theirs_total + their_term
    if ours_total is None:
        return
    ours_total.backward()
    grads = torch.autograd.grad(theirs_total, their, allow_unused=True)
    for t, g in zip(mine, grads, strict=True):
        expected_grad = np.zeros(t.shape) if g is None else g.numpy()
        actual = np.zeros(t.shape) if t.grad is None else t.grad
        np.testing.assert_allclose(actual, expected_grad, rtol=1e-9, atol=1e-12)


def dims_of(ndim: int) -> st.SearchStrategy:
    """The ``dim=`` a PyTorch user passes: None, an int (maybe negative), a tuple or list of
    distinct dims, or the empty tuple (every dim, in PyTorch)."""
    single = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim).filter(
        lambda dims: len({d % ndim for d in dims}) == len(dims)
    )
    return st.one_of(st.none(), single, many, many.map(tuple), st.just(()))


REDUCTIONS = ["sum", "mean", "var", "std", "amax", "amin", "logsumexp"]


# -- reductions: dim=, keepdim=, unbiased=, correction= ------------------------------------------
@FAST
@given(data=st.data(), name=st.sampled_from(REDUCTIONS), keepdim=st.booleans())
def test_reductions_take_pytorchs_dims(torch: Any, data: Any, name: str, keepdim: bool) -> None:
    x = data.draw(arrays())
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # (no ties: amax's rule is tested below)
    dim = data.draw(dims_of(x.ndim))
    if dim == () and name in ("var", "std"):  # (PyTorch's forward reduces every dim, but its
        dim = tuple(range(x.ndim))  # backward none: its gradient is inf; ours is consistent)
    if name == "logsumexp" and dim in (None, ()):  # (PyTorch requires it, and not empty)
        dim = tuple(range(x.ndim))
    if dim is None:
        run_both(torch, lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x)
        return
    run_both(
        torch,
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim),
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim),
        x,
    )


@FAST
@given(x=arrays(), keepdim=st.booleans(), unbiased=st.booleans(), data=st.data())
def test_var_and_std_take_pytorchs_positions(
    torch: Any, x: np.ndarray, keepdim: bool, unbiased: bool, data: Any
) -> None:
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for name in ("var", "std"):
        run_both(
            torch,
            lambda t, n=name: getattr(t, n)(dim, unbiased, keepdim),
            lambda t, n=name: getattr(t, n)(dim, unbiased, keepdim),
            x,
        )
        run_both(torch, lambda t, n=name: getattr(t, n)(unbiased), lambda t, n=name: getattr(
            t, n)(unbiased), x)  # fmt: skip
        run_both(
            torch,
            lambda t, n=name: getattr(al, n)(t, dim, correction=0, keepdim=keepdim),
            lambda t, n=name: getattr(torch, n)(t, dim, correction=0, keepdim=keepdim),
            x,
        )


def test_var_positional_unbiased_is_not_keepdim() -> None:
    x = al.Tensor(np.arange(6.0).reshape(2, 3) ** 2)
    biased = x.var(1, False)
    assert biased.shape == (2,)
    np.testing.assert_allclose(biased.data, np.var(x.data, axis=1))
    assert x.std(1, True, True).shape == (2, 1)
    np.testing.assert_allclose(x.var(False).data, np.var(x.data))
    with pytest.raises(errors.InvalidInputError, match="unbiased"):
        x.var(1, 2)


@pytest.mark.parametrize("name", [*REDUCTIONS, "max", "min", "argmax", "argmin", "softmax"])
@pytest.mark.parametrize("dim", [2, -3, (0, 5)])
def test_a_dim_out_of_range_is_an_index_error_as_in_pytorch(name: str, dim: Any) -> None:
    if name in ("max", "min", "argmax", "argmin", "softmax") and isinstance(dim, tuple):
        dim = 7
    x = al.ones(2, 3, requires_grad=True)
    with pytest.raises(IndexError) as info:
        getattr(x, name)(dim=dim)
    assert isinstance(info.value, errors.AutogradLiteError)
    assert "(2, 3)" in str(info.value)


@pytest.mark.parametrize("name", [*REDUCTIONS, "max", "min"])
@pytest.mark.parametrize("dim", [0, -1])
def test_dim_0_of_a_0d_tensor_is_the_tensor(name: str, dim: int) -> None:
    x = al.Tensor(2.5, requires_grad=True)
    out = getattr(x, name)(dim)
    values = out[0] if name in ("max", "min") else out
    assert values.shape == ()
    values.backward()
    assert x.grad.shape == ()
    if name in ("max", "min"):
        assert out[1] == 0


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var"])
def test_an_empty_dim_tuple_reduces_every_dim_as_in_pytorch(name: str) -> None:
    x = al.Tensor(np.arange(6.0).reshape(2, 3) ** 2)
    np.testing.assert_allclose(getattr(x, name)(dim=()).data, getattr(x, name)().data)
    assert getattr(x, name)(dim=[], keepdim=True).shape == (1, 1)
    assert np.sum(x, axis=()).shape == (2, 3)  # (NumPy's axis=() keeps its meaning)


def test_max_along_a_dim_of_an_empty_tensor_is_empty_as_in_pytorch() -> None:
    x = al.zeros(0, 3)
    values, indices = x.max(1)
    assert values.shape == (0,) and indices.shape == (0,)
    assert x.argmin(dim=1).shape == (0,)
    for call in (lambda: x.argmax(), lambda: x.argmax(0), lambda: x.min(0).indices):
        with pytest.raises(errors.TensorIndexError, match=r"\(0, 3\)"):
            call()


# -- elementwise: pow at a zero base ------------------------------------------------------------
@FAST
@given(exponent=arrays(st.just((5,))), data=st.data())
def test_pow_at_a_zero_base_has_pytorchs_gradients(
    torch: Any, exponent: np.ndarray, data: Any
) -> None:
    base = np.where(data.draw(hnp.arrays(bool, (5,))), 0.0, np.abs(exponent) + 0.5)
    exponent = np.round(exponent * 2) / 2  # (integers and halves: 0, and exact powers)
    run_both(torch, lambda a, b: a**b, lambda a, b: a**b, base, exponent)
    run_both(torch, lambda b: 0.0**b, lambda b: 0.0**b, np.abs(exponent))


def test_the_exponents_gradient_at_a_zero_base_is_zero_for_exponents_at_least_zero() -> None:
    b = al.Tensor([0.0, 0.5, 2.0, -1.0], requires_grad=True)
    (al.Tensor(0.0) ** b).sum().backward()
    np.testing.assert_array_equal(b.grad[:3], 0.0)
    assert b.grad[3] == -np.inf  # (0^-1 · ln 0 = inf · -inf, as in PyTorch)


# -- shape ops: PyTorch's methods and keywords ---------------------------------------------------
SHAPE_CALLS: dict[str, Callable[[Any], Any]] = {
    "x.pow(3)": lambda t: t.pow(3),
    "x.neg()": lambda t: t.neg(),
    "x.matmul(x.mT)": lambda t: t.matmul(t.mT),
    "x.reshape(shape=)": lambda t: t.reshape(shape=(-1,)),
    "x.permute(dims=)": lambda t: t.permute(dims=tuple(reversed(range(t.ndim)))),
    "x.transpose(dim0=, dim1=)": lambda t: t.transpose(dim0=0, dim1=-1),
    "x.flatten(start_dim=)": lambda t: t.flatten(start_dim=1),
    "x.squeeze(dim)": lambda t: t.unsqueeze(1).squeeze(1),
    "x.T": lambda t: t.T,
}


@FAST
@given(x=arrays(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)))
def test_pytorchs_shape_methods_and_keywords(torch: Any, x: np.ndarray) -> None:
    for call in SHAPE_CALLS.values():
        run_both(torch, call, call, x)
    run_both(torch, lambda t: al.transpose(t, 0, -1), lambda t: torch.transpose(t, 0, -1), x)
    matrix = x.reshape(x.shape[0], -1)
    run_both(torch, lambda t: t.t(), lambda t: t.t(), matrix)


def test_transpose_reads_numpys_and_pytorchs_arguments() -> None:
    x = al.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert al.transpose(x).shape == (4, 3, 2)
    assert al.transpose(x, (1, 0, 2)).shape == (3, 2, 4)
    assert al.transpose(x, 0, 2).shape == (4, 3, 2)
    assert al.transpose(x, dim0=1, dim1=2).shape == (2, 4, 3)
    assert np.transpose(x, axes=(2, 0, 1)).shape == (4, 2, 3)
    with pytest.raises(errors.TensorIndexError):
        x.transpose(0, 3)
    with pytest.raises(errors.ShapeError, match="at most 2 dims"):
        x.t()
    with pytest.raises(errors.InvalidInputError, match="shape"):
        x.reshape(2, shape=(24,))


# -- the tensor's readers and comparisons ---------------------------------------------------------
def test_size_is_numpys_int_and_pytorchs_method(torch: Any) -> None:
    data = np.zeros((2, 3, 4))
    ours, theirs = al.Tensor(data), torch.tensor(data)
    assert ours.size == data.size and isinstance(ours.size, int)
    assert ours.size() == tuple(theirs.size())
    for dim in range(-3, 3):
        assert ours.size(dim) == theirs.size(dim)
    for dim in (3, -4):
        with pytest.raises(IndexError):
            theirs.size(dim)
        with pytest.raises(errors.TensorIndexError):
            ours.size(dim)
    with pytest.raises(errors.TensorIndexError):
        al.Tensor(1.0).size(0)


@pytest.mark.parametrize("data", [[2.5], [[-3.0]], 4.0])
def test_float_and_int_of_a_one_element_tensor(torch: Any, data: Any) -> None:
    ours, theirs = al.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    assert float(ours) == float(theirs) and int(ours) == int(theirs)
    assert bool(ours) == bool(theirs)


def test_float_int_bool_of_many_elements_are_typed_errors() -> None:
    x = al.Tensor([1.0, 2.0])
    for convert in (float, int, bool):
        with pytest.raises(errors.ShapeError, match=r"\(2,\)"):
            convert(x)


@pytest.mark.parametrize("symbol", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_are_pytorchs_elementwise_booleans(torch: Any, symbol: str) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, (3, 4)).astype(float), rng.integers(0, 3, (4,)).astype(float)
    name = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[symbol]
    for other, their_other in ((al.Tensor(b), torch.tensor(b)), (1.0, 1.0), (1, 1)):
        ours = eval(f"x {symbol} y", {"x": al.Tensor(a), "y": other})
        theirs = eval(f"x {symbol} y", {"x": torch.tensor(a), "y": their_other})
        assert ours.dtype == bool
        np.testing.assert_array_equal(ours, theirs.numpy())
        np.testing.assert_array_equal(getattr(al.Tensor(a), name)(other), theirs.numpy())


def test_comparing_shapes_that_do_not_broadcast_is_a_shape_error() -> None:
    with pytest.raises(errors.ShapeError, match=r"\(2, 2\).*\(3,\)"):
        _ = al.ones(2, 2) == np.ones(3)


def test_equality_with_none_or_a_string_is_false_as_in_pytorch(torch: Any) -> None:
    for other in (None, "a"):
        assert (al.ones(2) == other) is (torch.ones(2) == other) is False
        assert (al.ones(2) != other) is True
    with pytest.raises(TypeError):
        _ = al.ones(2) < "a"


@pytest.mark.parametrize(
    "call",
    [
        lambda t, lib: t.float(),
        lambda t, lib: t.double(),
        lambda t, lib: t.to(lib.float32),
        lambda t, lib: t.to("cpu"),
        lambda t, lib: t.float().to(lib.float64),
        lambda t, lib: t.float().type_as(t),
    ],
)
def test_dtype_conversions_are_pytorchs(torch: Any, call: Callable[..., Any]) -> None:
    data = np.random.default_rng(1).normal(size=(2, 3))
    ours = call(al.Tensor(data, requires_grad=True), np)
    theirs = call(torch.tensor(data, requires_grad=True), torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    run_both(torch, lambda t: call(t, np) * 3.0, lambda t: call(t, torch) * 3.0, data)


def test_to_without_a_change_is_the_tensor_itself() -> None:
    x = al.Tensor([1.0], requires_grad=True)
    assert x.to("cpu") is x and x.double() is x and x.to(np.float64) is x
    assert x.to(np.float64, copy=True) is not x
    with pytest.raises(errors.InvalidArgumentError, match="CPU"):
        x.to("cuda")


# -- nn.functional ------------------------------------------------------------------------------
probabilities = hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(0, 1, width=64))


@FAST
@given(x=probabilities, data=st.data(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy_is_pytorchs_even_at_0_and_1(
    torch: Any, x: np.ndarray, data: Any, reduction: str
) -> None:
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0, 1, width=64)))
    weight = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0.5, 2, width=64)))
    from autograd_lite.nn import functional as F

    tf = torch.nn.functional
    run_both(
        torch,
        lambda a: F.binary_cross_entropy(a, y, weight=weight, reduction=reduction),
        lambda a: tf.binary_cross_entropy(
            a, torch.tensor(y), weight=torch.tensor(weight), reduction=reduction
        ),
        x,
    )
    inside = np.clip(x, 0.01, 0.99)  # (the target's gradient is infinite at 0 and 1)
    run_both(
        torch,
        lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
        lambda a, b: tf.binary_cross_entropy(a, b, reduction=reduction),
        inside,
        y,
    )
    run_both(
        torch,
        lambda a: al.nn.BCELoss(reduction=reduction)(a, y),
        lambda a: torch.nn.BCELoss(reduction=reduction)(a, torch.tensor(y)),
        x,
    )


def test_binary_cross_entropy_refuses_values_outside_0_1() -> None:
    from autograd_lite.nn import functional as F

    with pytest.raises(errors.InvalidArgumentError, match="binary_cross_entropy.*logits"):
        F.binary_cross_entropy(al.Tensor([1.5, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(errors.ShapeError, match=r"\(3,\).*\(2,\)"):
        F.binary_cross_entropy(al.Tensor([0.5, 0.5]), np.ones(3))
    loss = F.binary_cross_entropy(al.Tensor([0.0, 1.0]), np.array([1.0, 0.0]), reduction="sum")
    assert loss.item() == 200.0  # (each log clamped at -100)


@FAST
@given(x=arrays(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)))
def test_soft_targets_of_losses_get_their_gradients(torch: Any, x: np.ndarray) -> None:
    from autograd_lite.nn import functional as F

    tf = torch.nn.functional
    run_both(
        torch,
        lambda a, b: F.cross_entropy(a, F.softmax(b, dim=1), label_smoothing=0.1),
        lambda a, b: tf.cross_entropy(a, tf.softmax(b, dim=1), label_smoothing=0.1),
        x,
        x[::-1].copy(),
    )
    run_both(
        torch,
        lambda a, b: F.binary_cross_entropy_with_logits(a, F.sigmoid(b)),
        lambda a, b: tf.binary_cross_entropy_with_logits(a, torch.sigmoid(b)),
        x,
        x[::-1].copy(),
    )


@FAST
@given(
    x=arrays(),
    beta=st.sampled_from([1.0, 0.5, 2.0]),
    threshold=st.sampled_from([20.0, 1.0, 0.5]),
)
def test_functional_takes_pytorchs_keywords(
    torch: Any, x: np.ndarray, beta: float, threshold: float
) -> None:
    from autograd_lite.nn import functional as F

    tf = torch.nn.functional
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3 + 0.0123  # (off the threshold)
    run_both(
        torch,
        lambda a: F.softplus(a, beta=beta, threshold=threshold),
        lambda a: tf.softplus(a, beta=beta, threshold=threshold),
        x,
    )
    run_both(torch, lambda a: F.relu(a, inplace=False), lambda a: tf.relu(a, inplace=False), x)
    run_both(torch, lambda a: F.softmax(a, dim=-1, dtype=np.float64),
             lambda a: tf.softmax(a, dim=-1, dtype=torch.float64), x)  # fmt: skip
    run_both(torch, F.log_softmax, lambda a: tf.log_softmax(a, dim=0 if a.ndim in (1, 3) else 1), x)
    run_both(torch, lambda a: F.dropout(a, 0.3, training=False),
             lambda a: tf.dropout(a, 0.3, training=False), x)  # fmt: skip


def test_inplace_true_is_refused_rather_than_ignored() -> None:
    from autograd_lite.nn import functional as F

    calls = (
        lambda: F.relu(al.ones(2), inplace=True),
        lambda: F.dropout(al.ones(2), 0.5, inplace=True),
    )
    for call in calls:
        with pytest.raises(errors.InvalidArgumentError, match="in place"):
            call()


# -- factories ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["zeros", "ones", "randn", "rand"])
@pytest.mark.parametrize(
    "args, kwargs",
    [((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}), ((4,), {})],
)
def test_factories_take_pytorchs_sizes(
    torch: Any, name: str, args: tuple, kwargs: dict[str, Any]
) -> None:
    ours = getattr(al, name)(*args, **kwargs, requires_grad=True)
    theirs = getattr(torch, name)(*args, **kwargs, dtype=torch.float64, requires_grad=True)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
    assert ours.requires_grad and ours.is_leaf
    if name in ("zeros", "ones"):
        np.testing.assert_array_equal(ours.data, theirs.detach().numpy())


def test_sizes_by_position_and_keyword_together_are_refused() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="size="):
        al.zeros(2, size=(2, 3))


@pytest.mark.parametrize(
    "kwargs", [{"end": 5}, {"start": 1, "end": 5, "step": 2}, {"start": 0.5, "end": 2.0}]
)
def test_arange_takes_pytorchs_keywords(torch: Any, kwargs: dict[str, Any]) -> None:
    np.testing.assert_array_equal(
        al.arange(**kwargs).data, torch.arange(**kwargs, dtype=torch.float64).numpy()
    )
    with pytest.raises(errors.InvalidArgumentError, match="end"):
        al.arange()


@pytest.mark.parametrize("name", ["randn_like", "rand_like"])
def test_random_like_factories(torch: Any, name: str) -> None:
    for data in (np.zeros((2, 3)), np.zeros(4, np.float32)):
        ours = getattr(al, name)(al.Tensor(data), requires_grad=True)
        theirs = getattr(torch, name)(torch.tensor(data), requires_grad=True)
        assert ours.shape == tuple(theirs.shape) and ours.requires_grad
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    seeded = getattr(al, name)(np.zeros(3), seed=1).data
    np.testing.assert_array_equal(seeded, getattr(al, name)(np.zeros(3), seed=1).data)


# -- clamp with Tensor bounds, cat / stack, where -----------------------------------------------
kinked = hnp.arrays(np.float64, 6, elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 1.0, 2.0]))


@FAST
@given(x=kinked, low=kinked, high=kinked)
def test_clamp_with_tensor_bounds_is_pytorchs_even_at_ties(
    torch: Any, x: np.ndarray, low: np.ndarray, high: np.ndarray
) -> None:
    # (one corner differs, documented: where min == max, PyTorch gives g to min (x < min) or
    # to x (x == min == max); ours shares the tie, as minimum(maximum(x, min), max) does)
    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    if version < (2, 14):
        pytest.skip("PyTorch before 2.14 passed g at clamp's bounds (docs/composition.md)")
    high = np.where(low == high, high + 0.5, high)
    run_both(torch, lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi),
             x, low, high)  # fmt: skip
    run_both(torch, lambda a, lo: al.clamp(a, min=lo), lambda a, lo: torch.clamp(a, min=lo),
             x, low)  # fmt: skip
    run_both(torch, lambda a: al.clip(a, max=high), lambda a: torch.clip(a, max=torch.tensor(
        high)), x)  # fmt: skip
    run_both(torch, lambda a: a.clamp(-1.0, 1.0), lambda a: a.clamp(-1.0, 1.0), x)


@FAST
@given(x=arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)), data=st.data())
def test_cat_and_stack_take_pytorchs_dims(torch: Any, x: np.ndarray, data: Any) -> None:
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    new_dim = data.draw(st.integers(-x.ndim - 1, x.ndim))
    run_both(torch, lambda a, b: al.cat([a, b], dim=dim), lambda a, b: torch.cat([a, b], dim=dim),
             x, x * 2)  # fmt: skip
    run_both(torch, lambda a, b: al.concat((a, b), dim), lambda a, b: torch.concat((a, b), dim),
             x, x * 2)  # fmt: skip
    run_both(torch, lambda a, b: al.stack([a, b], new_dim),
             lambda a, b: torch.stack([a, b], new_dim), x, x * 2)  # fmt: skip
    for call in (lambda: al.cat([x, x], dim=x.ndim), lambda: al.stack([x, x], dim=x.ndim + 1)):
        with pytest.raises(errors.TensorIndexError, match=str(x.shape).replace("(", r"\(")
                           .replace(")", r"\)")):  # fmt: skip
            call()


@FAST
@given(x=arrays(), data=st.data())
def test_where_as_function_and_method(torch: Any, x: np.ndarray, data: Any) -> None:
    condition = data.draw(hnp.arrays(bool, x.shape))
    c = torch.tensor(condition)
    run_both(torch, lambda a, b: al.where(condition, a, b), lambda a, b: torch.where(c, a, b),
             x, -x)  # fmt: skip
    run_both(torch, lambda a, b: a.where(condition, b), lambda a, b: a.where(c, b), x, -x)
    run_both(torch, lambda a: al.where(condition, a, 0.0), lambda a: torch.where(c, a, 0.0), x)


# -- NumPy dispatch -----------------------------------------------------------------------------
@FAST
@given(x=arrays(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3)), data=st.data())
def test_numpy_swapaxes_and_moveaxis_record(torch: Any, x: np.ndarray, data: Any) -> None:
    a, b = data.draw(st.integers(-x.ndim, x.ndim - 1)), data.draw(st.integers(0, x.ndim - 1))
    run_both(torch, lambda t: np.swapaxes(t, a, b), lambda t: torch.swapaxes(t, a, b), x)
    run_both(torch, lambda t: np.moveaxis(t, a, b), lambda t: torch.movedim(t, a, b), x)
    moved = np.moveaxis(al.Tensor(x), [0, -1], [-1, 0])
    np.testing.assert_array_equal(moved.data, np.moveaxis(x, [0, -1], [-1, 0]))
    with pytest.raises(errors.ShapeError, match="np.swapaxes"):
        np.swapaxes(al.Tensor(x), 0, x.ndim)


# -- in-place arithmetic: PyTorch's manual update -----------------------------------------------
def test_the_manual_sgd_loop_of_pytorch_runs_unchanged(torch: Any) -> None:
    data = np.random.default_rng(3).normal(size=(3,))
    results = []
    for lib, w in ((al, al.tensor(data, requires_grad=True)),
                   (torch, torch.tensor(data, requires_grad=True))):  # fmt: skip
        for _ in range(3):
            loss = (w * w * w).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                w *= 0.5
                w += 0.25
                w /= 2.0
            w.grad = None
        assert w.requires_grad and w.is_leaf
        results.append(w.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_in_place_updates_keep_the_arrays_graphs_saved() -> None:
    w = al.Tensor([1.0, 2.0], requires_grad=True)
    y = w * w
    with al.no_grad():
        w -= 1.0
    y.backward(np.ones(2))
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])  # (from the values y saw)
    np.testing.assert_array_equal(w.data, [0.0, 1.0])


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
def test_in_place_under_no_grad_on_a_node_of_a_graph_is_refused(symbol: str) -> None:
    # (the sigmoid's backward reads its output: changing it would be a silently wrong gradient)
    x = al.Tensor([0.0, 1.0], requires_grad=True)
    y = x.sigmoid()
    with al.no_grad(), pytest.raises(errors.RequiresGradError, match="sigmoid"):
        exec(f"y {symbol} 2.0", {}, {"y": y})
    y.sum().backward()
    s = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    np.testing.assert_allclose(x.grad, s * (1 - s), rtol=1e-15)
    with al.no_grad():  # after the backward released the graph, the value is the user's
        y += 1.0
    np.testing.assert_allclose(y.data, s + 1.0, rtol=1e-15)


@given(
    data=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)),
    index=st.integers(-6, 5),
    value=st.floats(-5, 5),
)
def test_item_assignment_follows_numpy_and_the_rules_of_in_place(
    data: np.ndarray, index: int, value: float
) -> None:
    t, expected = al.Tensor(data.copy()), data.copy()
    saved = (t * 2.0).data  # (a constant: no graph)
    if -data.size <= index < data.size:
        t[index] = value
        expected[index] = value
        np.testing.assert_array_equal(t.data, expected)
        np.testing.assert_array_equal(saved, data * 2.0)
    else:
        with pytest.raises(errors.TensorIndexError):
            t[index] = value
    w = al.Tensor(data.copy(), requires_grad=True)
    with pytest.raises(errors.RequiresGradError, match="where"):
        w[0] = value
    with al.no_grad():  # PyTorch's manual update of a leaf
        w[0] = value
    assert w.requires_grad and w.data[0] == value


def test_in_place_on_a_leaf_that_requires_grad_is_refused_as_in_pytorch(torch: Any) -> None:
    with pytest.raises(RuntimeError):
        w = torch.ones(2, requires_grad=True)
        w += 1
    with pytest.raises(errors.RequiresGradError, match="no_grad"):
        x = al.ones(2, requires_grad=True)
        x += 1
    y = al.ones(2, requires_grad=True) * 2.0
    y += 1.0  # (a non-leaf: a recorded op, as PyTorch records add_)
    assert y.op == "add"
    with pytest.raises(errors.ShapeError, match="shape"), al.no_grad():
        z = al.ones(2)
        z += np.ones((3, 2))


def test_max_and_min_of_two_tensors_are_elementwise_as_in_pytorch(torch: Any) -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    run_both(torch, lambda x, y: al.max(x, y), lambda x, y: torch.max(x, y), a, b)
    run_both(torch, lambda x, y: x.min(y), lambda x, y: x.min(y), a, b)
    run_both(torch, lambda x, y: x.max(other=y), lambda x, y: x.max(other=y), a, b)


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_and_mean_take_pytorchs_dtype(torch: Any, name: str) -> None:
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    run_both(torch, lambda t: getattr(t.float(), name)(dim=1, dtype=np.float64),
             lambda t: getattr(t.float(), name)(dim=1, dtype=torch.float64), data)  # fmt: skip


def test_a_tensor_given_as_dim_is_named_briefly() -> None:
    x = al.ones(50, 50)
    with pytest.raises(errors.InvalidInputError, match=r"a Tensor of shape \(2,\)") as info:
        x.sum(al.Tensor([0.0, 1.0]))
    assert len(str(info.value)) < 200


# -- more of PyTorch's shape methods, composed of the ops --------------------------------------
@FAST
@given(x=arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)), data=st.data())
def test_flip_expand_repeat_split_chunk_unbind_movedim(
    torch: Any, x: np.ndarray, data: Any
) -> None:
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    other = data.draw(st.integers(-x.ndim, x.ndim - 1))
    size = data.draw(st.integers(1, 4))
    repeats = data.draw(st.lists(st.integers(1, 3), min_size=x.ndim, max_size=x.ndim + 1))
    calls: list[Callable[[Any], Any]] = [
        lambda t: t.flip(dim),
        lambda t: t.flip(tuple({dim % x.ndim, other % x.ndim})),
        lambda t: t.unsqueeze(0).expand(size, *x.shape),
        lambda t: t.unsqueeze(0).expand(size, *([-1] * x.ndim)),
        lambda t: t.repeat(*repeats),
        lambda t: t.split(size, dim),
        lambda t: t.chunk(size, dim=dim),
        lambda t: t.unbind(dim),
        lambda t: t.movedim(dim, other),
        lambda t: t.square(),
    ]
    for call in calls:
        run_both(torch, call, call, x)


def test_split_with_sizes_and_its_errors() -> None:
    x = al.Tensor(np.arange(10.0), requires_grad=True)
    parts = x.split([3, 7])
    assert [p.shape for p in parts] == [(3,), (7,)]
    (parts[0].sum() * 2 + parts[1].sum()).backward()
    np.testing.assert_array_equal(x.grad, [2.0] * 3 + [1.0] * 7)
    with pytest.raises(errors.ShapeError, match="add up"):
        x.split([3, 3])
    with pytest.raises(errors.TensorIndexError):
        x.unbind(1)


# -- the same behaviours stated without PyTorch (CI has no torch) -------------------------------
@given(hnp.arrays(np.float32, hnp.array_shapes(max_dims=3, max_side=4)))
def test_size_in_arithmetic_is_a_python_number(data: np.ndarray) -> None:
    # (x.size is an int subclass: NumPy would read it as an int64 array and promote float32)
    x = al.Tensor(data, requires_grad=True)
    mean = x.sum() / x.size
    mean.backward()
    assert mean.dtype == x.grad.dtype == np.float32
    assert (x * x.size).dtype == (x.size - x).dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.full(data.shape, 1 / data.size, np.float32))


def test_pytorch_surface_without_pytorch() -> None:
    x = al.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.size() == (2, 3) and x.size(-1) == 3 and x.size == 6
    assert float(x[1, 2]) == 5.0 and int(x[0, 1]) == 1
    np.testing.assert_array_equal(x.eq(2.0), x.data == 2.0)
    np.testing.assert_array_equal(x.ge(x.T.T), np.ones((2, 3), bool))
    assert x.float().dtype == np.float32 and x.double() is x
    assert x.t().shape == (3, 2) and x.mT.shape == (3, 2) and x.movedim(0, 1).shape == (3, 2)
    np.testing.assert_array_equal(x.flip(1).data, x.data[:, ::-1])
    np.testing.assert_array_equal(x.repeat(2, 1).data, np.tile(x.data, (2, 1)))
    np.testing.assert_array_equal(x[:1].expand(3, 3).data, np.broadcast_to(x.data[:1], (3, 3)))
    assert [p.shape for p in x.chunk(2, dim=1)] == [(2, 2), (2, 1)]
    assert al.zeros(size=(2, 1)).shape == (2, 1) and al.arange(end=3).shape == (3,)
    assert al.randn_like(x, seed=0).shape == (2, 3)
    np.testing.assert_array_equal(al.max(x, 2.0 * al.ones(2, 3)).data, np.maximum(x.data, 2.0))


def test_clamp_with_tensor_bounds_sends_the_gradient_to_the_bound_chosen() -> None:
    x = al.Tensor([-2.0, 0.0, 2.0], requires_grad=True)
    low = al.Tensor([-1.0, -1.0, -1.0], requires_grad=True)
    high = al.Tensor([1.0, 1.0, 1.0], requires_grad=True)
    out = x.clamp(low, high)
    np.testing.assert_array_equal(out.data, [-1.0, 0.0, 1.0])
    out.sum().backward()
    for t, expected in ((x, [0, 1, 0]), (low, [1, 0, 0]), (high, [0, 0, 1])):
        np.testing.assert_array_equal(t.grad, expected)


def test_binary_cross_entropy_follows_pytorchs_formulas() -> None:
    from autograd_lite.nn import functional as F

    p = al.Tensor([0.25, 0.5, 1.0], requires_grad=True)
    y = np.array([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="sum")
    np.testing.assert_allclose(loss.item(), -np.log(0.25) - np.log(0.5))
    loss.backward()  # w (x - y) / max(x (1 - x), 1e-12 as a float32)
    floor = float(np.float32(1e-12))
    np.testing.assert_allclose(p.grad, (p.data - y) / np.maximum(p.data * (1 - p.data), floor))


def test_softplus_beyond_its_threshold_is_the_identity() -> None:
    from autograd_lite.nn import functional as F

    x = al.Tensor([-1.0, 0.5, 3.0], requires_grad=True)
    out = F.softplus(x, beta=2.0, threshold=2.0)
    np.testing.assert_allclose(out.data[:2], np.log1p(np.exp(2 * x.data[:2])) / 2)
    assert out.data[2] == 3.0
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [*(1 / (1 + np.exp(-2 * x.data[:2]))), 1.0])


@FAST
@given(x=hnp.arrays(np.float64, 6, elements=st.sampled_from([-1.5, -0.5, 0.0, 0.5, 2.0])),
       slope=st.sampled_from([0.01, 0.2, 2.0]),
       reduction=st.sampled_from(["mean", "sum", "none"]))  # fmt: skip
def test_leaky_relu_silu_l1_loss_are_pytorchs_at_kinks_too(
    torch: Any, x: np.ndarray, slope: float, reduction: str
) -> None:
    from autograd_lite.nn import functional as F

    tf = torch.nn.functional
    run_both(torch, lambda a: F.leaky_relu(a, slope), lambda a: tf.leaky_relu(a, slope), x)
    run_both(torch, F.silu, tf.silu, x)
    run_both(torch, lambda a, b: F.l1_loss(a, b, reduction=reduction),
             lambda a, b: tf.l1_loss(a, b, reduction=reduction), x, x[::-1].copy())  # fmt: skip


def test_one_hot_is_pytorchs() -> None:
    from autograd_lite.nn import functional as F

    labels = np.array([[0, 2], [1, 2]])
    hot = F.one_hot(labels)
    assert hot.shape == (2, 2, 3) and hot.dtype == np.int64
    np.testing.assert_array_equal(hot.argmax(-1), labels)
    assert F.one_hot(np.array([1]), 4).shape == (1, 4)
    with pytest.raises(errors.TensorIndexError, match=r"\[0, 2\)"):
        F.one_hot(labels, 2)


def test_where_of_a_condition_alone_is_its_nonzero_indices(torch: Any) -> None:
    data = np.array([[0.0, 1.0], [2.0, 0.0]])
    ours = al.where(al.Tensor(data) > 0)
    theirs = torch.where(torch.tensor(data) > 0)
    assert len(ours) == len(theirs)
    for mine, their in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, their.numpy())
    with pytest.raises(errors.InvalidInputError, match="both x and y"):
        al.where(data > 0, data)


@pytest.mark.parametrize("dim", [(0, 1), [0], ()])
def test_argmax_of_several_dims_is_a_typed_error(dim: Any) -> None:
    with pytest.raises(errors.InvalidInputError, match="one int"):
        al.ones(2, 3).argmax(dim=dim)


BAD_CALLS: dict[str, Callable[[al.Tensor], Any]] = {
    "x.split('a')": lambda x: x.split("a"),
    "x.split(2, 5)": lambda x: x.split(2, 5),
    "x.flip(5)": lambda x: x.flip(5),
    "x.expand(-2, 3)": lambda x: x.expand(-2, 3),
    "x.repeat(-1, 1)": lambda x: x.repeat(-1, 1),
    "x.chunk(2.5)": lambda x: x.chunk(2.5),
    "x.movedim(0, 5)": lambda x: x.movedim(0, 5),
    "x.to(5)": lambda x: x.to(5),
    "x.size('a')": lambda x: x.size("a"),
    "x.var(1, 'x')": lambda x: x.var(1, "x"),
    "x.sum(dim=1.5)": lambda x: x.sum(dim=1.5),
    "x.clamp(np.ones(4))": lambda x: x.clamp(np.ones(4)),
    "x.detach() += 'a'": lambda x: x.detach().__iadd__("a"),
    "x.detach() *= np.ones(4)": lambda x: x.detach().__imul__(np.ones(4)),
    "F.softplus(x, beta='a')": lambda x: __import__(
        "autograd_lite.nn.functional", fromlist=["softplus"]
    ).softplus(x, beta="a"),
    "np.swapaxes(x, 0, 'a')": lambda x: np.swapaxes(x, 0, "a"),
    "x == [1, 2, 3, 4]": lambda x: x == [1, 2, 3, 4],
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=list(BAD_CALLS))
def test_bad_arguments_are_typed_errors(call: Callable[[al.Tensor], Any]) -> None:
    with pytest.raises(errors.AutogradLiteError):
        call(al.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x @ x,
        lambda lib, x: x.reshape(5, 5),
        lambda lib, x: lib.cat([x, x.T]),
        lambda lib, x: x + lib.ones(4, 2),
    ],
)
def test_shape_errors_are_runtime_errors_as_in_pytorch(
    torch: Any, call: Callable[..., Any]
) -> None:
    with pytest.raises(RuntimeError):
        call(torch, torch.ones(2, 3))
    with pytest.raises(RuntimeError) as info:
        call(al, al.ones(2, 3))
    assert isinstance(info.value, errors.ShapeError) and isinstance(info.value, ValueError)
