"""The ops a PyTorch user expects (issue 14, item 1): each against PyTorch when it is installed,
gradcheck and gradgradcheck always, the subgradients at kinks, ``dim=``/``keepdim=``, ``==``,
the factories and ``set_grad_enabled``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors
from autograd_lite.testing import gradcheck, gradgradcheck

FAST = settings(max_examples=30, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def arrays(shape: Any = shapes, lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy:
    return hnp.arrays(
        np.float64, shape, elements=st.floats(lo, hi, allow_subnormal=False, width=64)
    )


def spread(values: np.ndarray, step: float = 0.25) -> np.ndarray:
    """Distinct, well separated values of the shape of ``values`` (no ties, nothing at a kink)."""
    order = np.argsort(values, axis=None, kind="stable").argsort().reshape(values.shape)
    # (0.07 off the grid of steps: no value at 0, at a clamp bound below, or tied)
    return (order - (values.size - 1) / 2) * step + 0.07


def axes_of(ndim: int) -> st.SearchStrategy:
    single = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return st.one_of(st.none(), single, many)


# Each new differentiable op: (how to call it with autograd_lite, with torch, input kind).
# Inputs are away from kinks and ties here; the kinks are tested on their own below.
CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], str]] = {
    "sqrt": (lambda x: al.sqrt(x), lambda t, x: t.sqrt(x), "positive"),
    "abs": (lambda x: abs(x), lambda t, x: t.abs(x), "spread"),
    "softplus": (lambda x: al.softplus(x), lambda t, x: t.nn.functional.softplus(x), "real"),
    "maximum": (
        lambda x: al.maximum(x, x[..., ::-1] + 0.125),
        lambda t, x: t.maximum(x, x.flip(-1) + 0.125),
        "spread",
    ),
    "minimum": (
        lambda x: al.minimum(x[..., ::-1] - 0.125, x),
        lambda t, x: t.minimum(x.flip(-1) - 0.125, x),
        "spread",
    ),
    "clamp": (
        lambda x: x.clamp(min=-0.4, max=0.3),
        lambda t, x: t.clamp(x, min=-0.4, max=0.3),
        "spread",
    ),
    "clip_min_only": (lambda x: al.clip(x, -0.1), lambda t, x: t.clamp(x, min=-0.1), "spread"),
    "min": (lambda x: x.min(dim=-1).values, lambda t, x: x.min(dim=-1).values, "spread"),
    "max": (lambda x: x.max(0, keepdim=True)[0], lambda t, x: x.max(0, keepdim=True)[0], "spread"),
    "amin": (lambda x: x.amin(dim=-1), lambda t, x: x.amin(dim=-1), "spread"),
    "amax": (lambda x: x.amax(0, keepdim=True), lambda t, x: x.amax(0, keepdim=True), "spread"),
    "logsumexp": (lambda x: al.logsumexp(x, dim=-1), lambda t, x: t.logsumexp(x, -1), "real"),
    "logsumexp_all": (
        lambda x: x.logsumexp(),
        lambda t, x: t.logsumexp(x, tuple(range(x.ndim))),
        "real",
    ),  # fmt: skip
    "var": (lambda x: x.var(), lambda t, x: x.var(), "spread"),
    "var_dim": (
        lambda x: x.var(dim=-1, unbiased=False),
        lambda t, x: x.var(-1, unbiased=False),
        "spread",
    ),  # fmt: skip
    "std": (
        lambda x: al.std(x, dim=0, keepdim=True),
        lambda t, x: x.std(0, keepdim=True),
        "spread",
    ),  # fmt: skip
    "std_correction": (lambda x: x.std(correction=0), lambda t, x: x.std(correction=0), "spread"),
    "squeeze": (lambda x: x[None].squeeze(0), lambda t, x: x[None].squeeze(0), "real"),
    "unsqueeze": (lambda x: al.unsqueeze(x, -1), lambda t, x: x.unsqueeze(-1), "real"),
    "flatten": (lambda x: x.flatten(), lambda t, x: x.flatten(), "real"),
    "flatten_from_1": (lambda x: al.flatten(x[None], 1), lambda t, x: x[None].flatten(1), "real"),
    "view": (lambda x: x.view(-1), lambda t, x: x.view(-1), "real"),
    "permute": (
        lambda x: x.permute(*reversed(range(x.ndim))),
        lambda t, x: x.permute(*reversed(range(x.ndim))),
        "real",
    ),  # fmt: skip
    "clone": (lambda x: x.clone() * 2, lambda t, x: x.clone() * 2, "real"),
}


def _input(kind: str, values: np.ndarray) -> np.ndarray:
    if kind == "positive":
        return np.abs(values) + 0.5
    if kind == "spread":
        return spread(values)
    return values


@pytest.mark.parametrize("name", sorted(CASES))
@FAST
@given(values=arrays())
def test_new_op_matches_pytorch(name: str, values: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs, kind = CASES[name]
    data = _input(kind, values)
    x = al.Tensor(data, requires_grad=True)
    out = ours(x)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    (out * weights).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    tout = theirs(torch, tx)
    (tout * torch.tensor(weights)).sum().backward()
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10, deadline=None)
@given(values=arrays(hnp.array_shapes(min_dims=1, max_dims=2, min_side=2, max_side=3)))
def test_new_op_gradcheck_and_gradgradcheck(name: str, values: np.ndarray) -> None:
    ours, _, kind = CASES[name]
    x = al.Tensor(_input(kind, values), requires_grad=True)
    assert gradcheck(ours, [x])
    assert gradgradcheck(ours, [x])


def test_batched_matmul_broadcasts_batch_dims_like_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for sa, sb in [((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4,))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        x, y = al.Tensor(a, requires_grad=True), al.Tensor(b, requires_grad=True)
        out = x @ y
        g = rng.standard_normal(out.shape)
        out.backward(g)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        (tx @ ty).backward(torch.tensor(g))
        np.testing.assert_allclose(out.data, (tx @ ty).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batched_matmul_gradgradcheck() -> None:
    rng = np.random.default_rng(2)
    x = al.Tensor(rng.standard_normal((2, 1, 2, 3)), requires_grad=True)
    y = al.Tensor(rng.standard_normal((3, 3, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: (a @ b) ** 2, [x, y])
    assert gradgradcheck(lambda a, b: (a @ b) ** 2, [x, y])


# -- subgradients at kinks: PyTorch's conventions --------------------------------------------
def _grad(f: Callable[[al.Tensor], al.Tensor], data: Any) -> np.ndarray:
    x = al.Tensor(np.asarray(data, dtype=np.float64), requires_grad=True)
    f(x).sum().backward()
    return np.asarray(x.grad)


KINKS: list[tuple[str, Callable[..., Any], Callable[..., Any], list]] = [
    ("abs at 0", lambda x: abs(x), lambda t, x: x.abs(), [0.0, -1.0, 2.0]),
    ("relu at 0", lambda x: x.relu(), lambda t, x: x.relu(), [0.0, -1.0, 2.0]),
    (
        "clamp at its bounds",
        lambda x: x.clamp(-1.0, 1.0),
        lambda t, x: x.clamp(-1.0, 1.0),
        [-1.0, 1.0, 0.0, 2.0, -2.0],
    ),  # fmt: skip
    (
        "clamp min == max",
        lambda x: x.clamp(0.5, 0.5),
        lambda t, x: x.clamp(0.5, 0.5),
        [0.5, 0.0, 1.0],
    ),  # fmt: skip
    (
        "maximum tie",
        lambda x: al.maximum(x, x[::-1]),
        lambda t, x: t.maximum(x, x.flip(0)),
        [1.0, 3.0, 1.0],
    ),  # fmt: skip
    (
        "minimum tie with a constant",
        lambda x: al.minimum(x, 2.0),
        lambda t, x: t.minimum(x, t.tensor(2.0, dtype=t.float64)),
        [2.0, 1.0, 3.0],
    ),  # fmt: skip
    ("full max with ties", lambda x: x.max(), lambda t, x: x.max(), [3.0, 1.0, 3.0, 3.0]),
    ("full min with ties", lambda x: x.min(), lambda t, x: x.min(), [0.0, 1.0, 0.0]),
    (
        "amax over a dim with ties",
        lambda x: x.amax(dim=1),
        lambda t, x: x.amax(dim=1),
        [[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]],
    ),  # fmt: skip
    (
        "max over a dim with ties: g to the index it returns",
        lambda x: x.max(dim=1).values,
        lambda t, x: x.max(dim=1).values,
        [[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]],
    ),  # fmt: skip
    (
        "min over a dim with ties: g to the index it returns",
        lambda x: x.min(0)[0],
        lambda t, x: x.min(0)[0],
        [[2.0, 2.0], [2.0, 5.0]],
    ),  # fmt: skip
    ("sqrt at 0", lambda x: al.sqrt(x), lambda t, x: x.sqrt(), [0.0, 4.0]),
    ("std of equal values", lambda x: x.std(), lambda t, x: x.std(), [1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("case", KINKS, ids=[k[0] for k in KINKS])
def test_subgradient_at_kink_matches_pytorch(case: tuple) -> None:
    torch = pytest.importorskip("torch")
    name, ours, theirs, data = case
    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    if name.startswith("clamp") and version < (2, 14):
        pytest.skip("PyTorch before 2.14 passed g at clamp's bounds (docs/composition.md)")
    tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    theirs(torch, tx).sum().backward()
    np.testing.assert_array_equal(_grad(ours, data), tx.grad.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keep", [False, True])
def test_max_over_a_dim_is_torchs_values_and_indices(name: str, keep: bool) -> None:
    """``x.max(dim)``: PyTorch's (values, indices), unpacked, indexed or by name."""
    torch = pytest.importorskip("torch")
    data = [[2.0, 2.0, 1.0], [0.0, 5.0, 5.0], [1.0, 3.0, 2.0]]
    theirs = getattr(torch.tensor(data, dtype=torch.float64), name)(dim=1, keepdim=keep)
    values, indices = getattr(al.Tensor(data), name)(1, keep)
    np.testing.assert_array_equal(values.data, theirs.values.numpy())
    np.testing.assert_array_equal(indices, theirs.indices.numpy())
    ours = getattr(al, name)(al.Tensor(data), dim=1, keepdim=keep)
    np.testing.assert_array_equal(ours[0].data, ours.values.data)
    np.testing.assert_array_equal(ours[1], ours.indices)


def test_values_and_indices_without_pytorch() -> None:
    """Without torch: the forms that give (values, indices) and those that give the values."""
    x = al.Tensor([[1.0, 4.0, 4.0], [3.0, 0.0, 2.0]], requires_grad=True)
    result = x.max(dim=1)
    assert len(result) == 2 and result.indices.tolist() == [1, 0]
    result.values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # the index only
    for values_only in (x.max(axis=1), x.amax(1), np.max(x, axis=1), x.max((0, 1)), x.max()):
        assert isinstance(values_only, al.Tensor)
    with pytest.raises(errors.TensorIndexError):
        result[2]


def test_a_compiled_function_may_read_the_values_of_max_over_a_dim() -> None:
    """The indices are computed only when read, so a recording that reads only the values
    is not refused."""
    compiled = al.compile(lambda x: x.max(dim=1).values.sum())
    x = al.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    compiled(x).backward()
    assert compiled.fallback_reason is None
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def test_subgradient_conventions_without_pytorch() -> None:
    """The documented table, checked without torch (values from the rules, not from torch)."""
    np.testing.assert_array_equal(_grad(lambda x: abs(x), [0.0, -2.0, 3.0]), [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(_grad(lambda x: x.clamp(-1, 1), [-1, 1, 0, 2]), [0, 0, 1, 0])
    np.testing.assert_array_equal(_grad(lambda x: al.maximum(x, 1.0), [1, 0, 2]), [0.5, 0, 1])
    np.testing.assert_array_equal(_grad(lambda x: x.max(), [3.0, 1.0, 3.0]), [0.5, 0, 0.5])
    np.testing.assert_array_equal(_grad(lambda x: x.min(), [0.0, 0.0, 1.0]), [0.5, 0.5, 0])
    assert np.isinf(_grad(lambda x: al.sqrt(x), [0.0])[0])


def test_maximum_tie_splits_between_two_tensors() -> None:
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    y = al.Tensor([1.0, 3.0], requires_grad=True)
    al.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 0.0])
    np.testing.assert_array_equal(y.grad, [0.5, 1.0])


def test_softplus_and_logsumexp_are_stable() -> None:
    x = al.Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    out = al.softplus(x)
    np.testing.assert_allclose(out.data, [0.0, np.log(2.0), 1000.0], rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.5, 1.0], rtol=1e-15)
    y = al.Tensor([1000.0, 1000.0], requires_grad=True)
    lse = al.logsumexp(y)
    np.testing.assert_allclose(lse.data, 1000.0 + np.log(2.0), rtol=1e-15)
    lse.backward()
    # e^(x - out): out ≈ 1000.69 carries an absolute rounding error of ulp(1000) ≈ 1.1e-13
    np.testing.assert_allclose(y.grad, [0.5, 0.5], rtol=4 * np.spacing(1000.0))
    assert al.logsumexp(al.Tensor([-np.inf, -np.inf])).item() == -np.inf


# -- dim= / keepdim= ---------------------------------------------------------------------------
REDUCTIONS = ["sum", "mean", "max", "min", "var", "std", "logsumexp"]


@pytest.mark.parametrize("name", REDUCTIONS)
@FAST
@given(data=st.data())
def test_dim_keepdim_are_axis_keepdims(name: str, data: st.DataObject) -> None:
    values = spread(data.draw(arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2))))
    axis = data.draw(axes_of(values.ndim))
    keep = data.draw(st.booleans())
    x = al.Tensor(values)
    numpy_spelling = getattr(al, name)(x, axis=axis, keepdims=keep)
    torch_spelling = getattr(x, name)(dim=axis, keepdim=keep)
    positional = getattr(x, name)(axis, keep) if name not in ("var", "std") else torch_spelling
    if name in ("max", "min") and isinstance(axis, int):  # PyTorch's (values, indices)
        torch_spelling, positional = torch_spelling.values, positional[0]
    for other in (torch_spelling, positional):
        np.testing.assert_array_equal(numpy_spelling.data, other.data)


@FAST
@given(values=arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1)), data=st.data())
def test_dim_on_softmax_concatenate_stack_argmax(values: np.ndarray, data: st.DataObject) -> None:
    dim = data.draw(st.integers(-values.ndim, values.ndim - 1))
    x = al.Tensor(values)
    for name in ("softmax", "log_softmax"):
        np.testing.assert_array_equal(
            getattr(al, name)(x, axis=dim).data, getattr(x, name)(dim=dim).data
        )
    np.testing.assert_array_equal(
        al.concatenate([x, x], axis=dim).data, al.concatenate([x, x], dim=dim).data
    )
    np.testing.assert_array_equal(al.stack([x, x], axis=dim).data, al.stack([x, x], dim=dim).data)
    keep = data.draw(st.booleans())
    for name, reference in (("argmax", np.argmax), ("argmin", np.argmin)):
        got = getattr(x, name)(dim=dim, keepdim=keep)
        np.testing.assert_array_equal(got, reference(values, axis=dim, keepdims=keep))
        np.testing.assert_array_equal(got, getattr(al, name)(x, axis=dim, keepdims=keep))
        assert got.dtype.kind == "i"


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(axis=0, dim=0),
        lambda x: al.mean(x, keepdims=True, keepdim=True),
        lambda x: x.softmax(axis=0, dim=0),
        lambda x: al.concatenate([x, x], axis=0, dim=0),
        lambda x: al.stack([x], axis=0, dim=0),
        lambda x: x.argmax(axis=0, dim=0),
        lambda x: x.squeeze(axis=0, dim=0),
        lambda x: x.var(unbiased=True, correction=1),
    ],
)
def test_both_spellings_raise_a_typed_error(call: Callable[[al.Tensor], Any]) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="only one"):
        call(al.Tensor(np.ones((2, 2))))


def test_argmax_of_a_tensor_in_the_graph_is_not_recorded() -> None:
    x = al.Tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    picked = (x * 2).argmax(dim=1)
    np.testing.assert_array_equal(picked, [1, 0])
    assert isinstance(picked, np.ndarray)


# -- shape functions and readers ---------------------------------------------------------------
@FAST
@given(values=arrays(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)))
def test_shape_functions_match_numpy(values: np.ndarray) -> None:
    x = al.Tensor(values, requires_grad=True)
    np.testing.assert_array_equal(x.squeeze().data, np.squeeze(values))
    np.testing.assert_array_equal(al.unsqueeze(x, 0).data, values[None])
    np.testing.assert_array_equal(x.unsqueeze(-1).data, values[..., None])
    np.testing.assert_array_equal(x.flatten().data, values.reshape(-1))
    np.testing.assert_array_equal(x.view(values.size).data, values.reshape(-1))
    perm = tuple(reversed(range(values.ndim)))
    np.testing.assert_array_equal(al.permute(x, perm).data, np.transpose(values, perm))
    assert x.tolist() == values.tolist()
    copy = x.clone()
    assert copy.data is not x.data and not np.shares_memory(copy.data, x.data)


def test_squeeze_keeps_a_named_axis_that_is_not_one() -> None:
    x = al.Tensor(np.zeros((1, 3, 1)))
    assert x.squeeze(1).shape == (1, 3, 1)
    assert x.squeeze((0, 2)).shape == (3,)
    assert x.squeeze(dim=-1).shape == (1, 3)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: x.unsqueeze(4), errors.TensorIndexError),
        (lambda x: x.squeeze(3), errors.TensorIndexError),
        (lambda x: x.flatten(2, 0), errors.InvalidArgumentError),
        (lambda x: x.permute(0, 0, 1), errors.InvalidArgumentError),
        (lambda x: x.permute(0, 1), errors.InvalidArgumentError),
        (lambda x: x.argmax(dim=5), errors.TensorIndexError),
        (lambda x: x.clamp(), errors.InvalidArgumentError),
        (lambda x: x.clamp(min="0"), errors.InvalidInputError),
        (lambda x: x.astype(np.int64), errors.InvalidInputError),
        (lambda x: x.unsqueeze(1.5), errors.InvalidInputError),
    ],
)
def test_bad_arguments_raise_typed_errors(call: Callable[[al.Tensor], Any], error: type) -> None:
    with pytest.raises(error):
        call(al.Tensor(np.ones((2, 3, 1))))


def test_astype_is_recorded_and_casts_the_gradient_back() -> None:
    x = al.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and y.op == "astype"
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


# -- == and != ---------------------------------------------------------------------------------
@FAST
@given(values=arrays(), other=arrays(st.just(())))
def test_eq_ne_are_elementwise_like_lt(values: np.ndarray, other: np.ndarray) -> None:
    x = al.Tensor(values, requires_grad=True)
    for result, expected in (
        (x == other, values == other),
        (x != other, values != other),
        (x == al.Tensor(values), np.ones(values.shape, dtype=bool)),
        (other == x, values == other),  # (a NumPy array on the left hands over to the Tensor)
    ):
        assert isinstance(result, np.ndarray) and result.dtype == bool
        np.testing.assert_array_equal(result, expected)


def test_tensors_stay_hashed_by_identity() -> None:
    a, b = al.Tensor([1.0, 2.0]), al.Tensor([1.0, 2.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2
    assert hash(a) != hash(b)
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum() + (x * 3).sum()  # fan-out: the engine keys its dictionaries on tensors
    y.backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_modules_and_optimizers_work_with_elementwise_eq() -> None:
    model = al.nn.Sequential(al.nn.Linear(2, 2), al.nn.ReLU(), al.nn.Linear(2, 1))
    params = list(model.parameters())
    with pytest.raises(errors.TrainingError, match="more than once"):  # found by identity
        al.optim.Adam(params + params[:1], lr=0.1)
    twin = al.nn.Parameter(params[0].data.copy())  # equal values, another tensor: accepted
    optimizer = al.optim.Adam([*params, twin], lr=0.1)
    loss = model(al.Tensor([[1.0, -1.0]])).sum()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    assert len(model.state_dict()) == 4


# -- factories -----------------------------------------------------------------------------------
@FAST
@given(
    size=st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
    dtype=st.sampled_from([None, np.float32, np.float64, "float32"]),
    requires_grad=st.booleans(),
)
def test_factories_shape_dtype(size: tuple, dtype: Any, requires_grad: bool) -> None:
    expected = np.dtype(np.float64 if dtype is None else dtype)
    made = {
        "zeros": (al.zeros(*size, dtype=dtype, requires_grad=requires_grad), 0.0),
        "zeros tuple": (al.zeros(size, dtype=dtype, requires_grad=requires_grad), 0.0),
        "ones": (al.ones(size, dtype=dtype, requires_grad=requires_grad), 1.0),
        "full": (al.full(size, 2.5, dtype=dtype, requires_grad=requires_grad), 2.5),
    }
    for what, (t, value) in made.items():
        assert t.shape == size and t.dtype == expected, what
        assert t.requires_grad == requires_grad and t.is_leaf
        np.testing.assert_array_equal(t.data, np.full(size, value))
    for t in (al.randn(*size, seed=3, dtype=dtype), al.rand(size, seed=3, dtype=dtype)):
        assert t.shape == size and t.dtype == expected
    like = al.zeros_like(made["full"][0])
    assert like.shape == size and like.dtype == expected and not like.data.any()
    assert al.ones_like(made["full"][0], dtype=np.float64).dtype == np.float64


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_random_factories_follow_seed_and_rng(seed: int) -> None:
    np.testing.assert_array_equal(al.randn(3, 2, seed=seed).data, al.randn(3, 2, seed=seed).data)
    expected = np.random.default_rng(seed).standard_normal((3, 2))
    np.testing.assert_array_equal(al.randn(3, 2, rng=np.random.default_rng(seed)).data, expected)
    uniform = al.rand(50, seed=seed).data
    assert uniform.min() >= 0.0 and uniform.max() < 1.0
    np.testing.assert_array_equal(uniform, np.random.default_rng(seed).random(50))


def test_tensor_factory_copies_and_arange_counts() -> None:
    source = np.array([1.0, 2.0], dtype=np.float32)
    t = al.tensor(source, requires_grad=True)
    source[0] = 9.0
    assert t.dtype == np.float32 and t.data[0] == 1.0 and t.requires_grad
    assert al.tensor([1, 2]).dtype == np.float64
    assert al.tensor(t).requires_grad is False
    np.testing.assert_array_equal(al.arange(5).data, np.arange(5.0))
    np.testing.assert_array_equal(al.arange(1, 2, 0.25).data, np.arange(1, 2, 0.25))
    assert al.arange(3, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: al.zeros(-1), errors.ShapeError),
        (lambda: al.zeros(2.5), errors.InvalidInputError),
        (lambda: al.ones(10**6, 10**6), errors.ShapeError),
        (lambda: al.zeros(2, dtype=np.int64), errors.InvalidInputError),
        (lambda: al.zeros(2, dtype="nonsense"), errors.InvalidInputError),
        (lambda: al.full((2,), "x"), errors.InvalidInputError),
        (lambda: al.arange(0, 1, 0), errors.InvalidArgumentError),
        (lambda: al.arange(0, np.inf), errors.InvalidArgumentError),
        (lambda: al.arange(0, 1e12, 1e-3), errors.ShapeError),
        (lambda: al.randn(2, seed=1, rng=np.random.default_rng(1)), errors.InvalidArgumentError),
        (lambda: al.rand(2, rng=3), errors.InvalidInputError),
        (lambda: al.tensor("abc"), errors.InvalidInputError),
    ],
)
def test_factory_errors_are_typed(call: Callable[[], Any], error: type) -> None:
    with pytest.raises(error):
        call()


# -- set_grad_enabled ----------------------------------------------------------------------------
def test_set_grad_enabled_as_context_function_and_decorator() -> None:
    x = al.Tensor([1.0], requires_grad=True)
    with al.set_grad_enabled(False):
        assert not al.is_grad_enabled() and not (x * 2).requires_grad
        with al.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not al.is_grad_enabled()
    assert al.is_grad_enabled()
    try:
        al.set_grad_enabled(False)  # a call sets the mode at once, like torch
        assert not al.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        al.set_grad_enabled(True)
    assert al.is_grad_enabled()

    @al.set_grad_enabled(False)
    def evaluate() -> bool:
        return (x * 2).requires_grad

    assert al.is_grad_enabled()  # decorating changes nothing
    assert evaluate() is False and al.is_grad_enabled()
    with pytest.raises(errors.InvalidArgumentError):
        al.set_grad_enabled("no")


def test_set_grad_enabled_is_per_thread() -> None:
    seen: list[bool] = []
    with al.set_grad_enabled(False):
        worker = threading.Thread(target=lambda: seen.append(al.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen == [True]


@FAST
@given(values=arrays())
def test_new_ops_under_no_grad_do_not_record(values: np.ndarray) -> None:
    assume(values.size > 1)
    x = al.Tensor(values, requires_grad=True)
    with al.no_grad():
        for out in (al.sqrt(abs(x) + 1), x.clamp(0, 1), al.logsumexp(x), x.var(), x.clone()):
            assert not out.requires_grad and out.is_leaf


# -- PyTorch's spellings of NumPy's: transpose(dim0, dim1), dims as a list, cat ----------------
@FAST
@given(
    values=arrays(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)), data=st.data()
)
def test_transpose_of_two_dims_swaps_them_as_in_pytorch(
    values: np.ndarray, data: st.DataObject
) -> None:
    """``x.transpose(d0, d1)`` is ``np.swapaxes`` (PyTorch's meaning), also for a matrix and
    ``(0, 1)``, where NumPy's method would leave it as it is; its gradient swaps back."""
    d0, d1 = (data.draw(st.integers(-values.ndim, values.ndim - 1)) for _ in "ab")
    x = al.Tensor(values, requires_grad=True)
    y = x.transpose(d0, d1)
    np.testing.assert_array_equal(y.data, np.swapaxes(values, d0, d1))
    weights = np.arange(y.data.size, dtype=np.float64).reshape(y.shape)
    (y * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, np.swapaxes(weights, d0, d1))
    assert x.transpose().shape == values.T.shape  # no argument, or a tuple: NumPy's meaning
    np.testing.assert_array_equal(x.transpose(tuple(range(values.ndim))[::-1]).data, values.T)


def test_transpose_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal((2, 3, 4))
    for dims in ((0, 1), (1, 2), (2, 0), (-1, -2), (1, 1)):
        got = al.Tensor(values).transpose(*dims).data
        np.testing.assert_array_equal(got, torch.tensor(values).transpose(*dims).numpy())
    matrix = values[0]
    np.testing.assert_array_equal(
        al.Tensor(matrix).transpose(0, 1).data, torch.tensor(matrix).transpose(0, 1).numpy()
    )


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "max", "min", "logsumexp"])
def test_dims_given_as_a_list_are_a_tuple_of_axes(name: str) -> None:
    """PyTorch takes ``x.sum(dim=[0, 2])`` and ``x.sum([0, 2])``; NumPy only a tuple."""
    values = spread(np.zeros((2, 3, 4)))
    x = al.Tensor(values, requires_grad=True)
    by_tuple = getattr(x, name)(dim=(0, 2))
    np.testing.assert_array_equal(getattr(x, name)(dim=[0, 2]).data, by_tuple.data)
    np.testing.assert_array_equal(getattr(al, name)(x, dim=[0, 2]).data, by_tuple.data)
    if name not in ("var", "std"):
        np.testing.assert_array_equal(getattr(x, name)([0, 2]).data, by_tuple.data)


def test_cat_is_concatenate() -> None:
    a, b = al.Tensor(np.ones((2, 3)), requires_grad=True), al.Tensor(np.zeros((1, 3)))
    joined = al.cat([a, b], dim=0)
    assert joined.shape == (3, 3)
    np.testing.assert_array_equal(joined.data, al.concatenate([a, b], axis=0).data)
    joined.sum().backward()
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))


def test_amax_and_amin_are_the_values_only() -> None:
    x = al.Tensor([[1.0, 3.0], [2.0, 0.0]])
    for function, method in ((al.amax, x.amax), (al.amin, x.amin)):
        np.testing.assert_array_equal(function(x, dim=1).data, method(1).data)
        assert isinstance(function(x, 0), al.Tensor)
