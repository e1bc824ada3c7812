"""NumPy's functions on Tensors record (issue 14, item 2): ``np.exp(x)``, ``np.sum(x, axis=0)``,
``ndarray + x`` … give NumPy's values bitwise and the al op's gradients; everything else is
refused with a typed, one-line error."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import numpy_dispatch
from autograd_lite.errors import (
    AutogradLiteError,
    NumpyDispatchError,
    ReplayError,
    RequiresGradError,
)
from autograd_lite.ops import REGISTRY, Draw, defop
from autograd_lite.testing import strategies
from autograd_lite.testing.graph import Var

try:  # tests/ is not a package: pytest puts it on sys.path
    from example_runner import run_example
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.example_runner import run_example

#: (op name, NumPy function) for every declared NumPy counterpart: new declarations join here.
DISPATCHED = [
    (name, func) for name, info in REGISTRY.items() for func in info.numpy if info.draw is not None
]


def numpy_call(func: Any, args: list[Any], params: dict[str, Any]) -> Any:
    """Call ``func`` the way NumPy code does, given an op's inputs and parameters."""
    params = {k: v for k, v in params.items() if k != "bounds"}  # (concatenate's wrapper adds it)
    if func in (np.concatenate, np.stack):
        return func(list(args), **params)
    if func is np.where:
        return func(params.pop("condition"), *args, **params)
    return func(*args, **params)


def _one_op(graph: Any, name: str) -> tuple[list[Any], dict[str, Any]]:
    """The inputs (leaf arrays or constants) and parameters of the step of ``name``."""
    step = next(s for s in graph.steps if s.op == name)
    args = [graph.steps[a.index].value if isinstance(a, Var) else a for a in step.args]
    assert all(not isinstance(a, Var) or graph.steps[a.index].op == "leaf" for a in step.args)
    return args, dict(step.params)


@st.composite
def op_cases(draw: Any, name: str) -> tuple[list[Any], dict[str, Any], Any]:
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    graph = draw(strategies.graphs(ops=[name], include=[name], max_ops=1, dtype=dtype))
    args, params = _one_op(graph, name)
    return args, params, dtype


def test_every_declared_numpy_counterpart_is_in_the_table() -> None:
    table = numpy_dispatch.dispatch_table()
    for info in REGISTRY.values():
        for func in info.numpy:
            assert table[func] is (info.public or info.primitive), (info.name, func)
    assert {np.add, np.exp, np.sum, np.matmul, np.where, np.concatenate} <= set(table)


@pytest.mark.parametrize(
    ("name", "func"), DISPATCHED, ids=[f"{n}-{f.__name__}" for n, f in DISPATCHED]
)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_numpy_function_on_tensors_matches_numpy_and_the_op(
    name: str, func: Callable[..., Any], data: st.DataObject
) -> None:
    args, params, dtype = data.draw(op_cases(name))
    # The value: np.f(Tensors) is np.f(arrays), bitwise, of the same dtype.
    expected = numpy_call(func, args, dict(params))
    leaves = [al.Tensor(a, requires_grad=True) if isinstance(a, np.ndarray) else a for a in args]
    out = numpy_call(func, leaves, dict(params))
    assert isinstance(out, al.Tensor)
    assert out.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(out.data, expected, strict=True)
    # The gradient: that of the al op itself (its declared public function), bitwise.
    twins = [al.Tensor(a, requires_grad=True) if isinstance(a, np.ndarray) else a for a in args]
    reference = REGISTRY[name].apply(*twins, **params)
    weights = np.linspace(-1.0, 2.0, out.size).reshape(out.shape).astype(dtype)
    (out * weights).sum().backward()
    (reference * weights).sum().backward()
    for leaf, twin in zip(leaves, twins):
        if isinstance(leaf, al.Tensor):
            assert leaf.grad is not None
            np.testing.assert_array_equal(leaf.grad, twin.grad, strict=True)


CALL_FORMS: list[Callable[[Any], Any]] = [
    lambda x: np.sum(x, 0),
    lambda x: np.sum(x, 1, None),
    lambda x: np.sum(x, axis=(0, 1), keepdims=True),
    lambda x: np.sum(x, None, None, None, True),
    lambda x: np.mean(x, -1, keepdims=True),
    lambda x: np.max(x, 0),
    lambda x: np.amax(x, axis=1),
    lambda x: np.reshape(x, (3, 2)),
    lambda x: np.reshape(x, -1, "C"),
    lambda x: np.reshape(x, shape=(6,)),
    lambda x: np.transpose(x),
    lambda x: np.transpose(x, (1, 0)),
    lambda x: np.broadcast_to(x, (4, 2, 3)),
    lambda x: np.concatenate((x, x), 1),
    lambda x: np.stack([x, x], axis=-1),
    lambda x: np.where(x > 0, x, -x),
    lambda x: np.dot(x, np.transpose(x)),
    lambda x: np.dot(2.0, x),
    lambda x: np.true_divide(x, 3.0),
    lambda x: np.power(x, 2),
]


@pytest.mark.parametrize("form", CALL_FORMS, ids=range(len(CALL_FORMS)))
@settings(max_examples=15, deadline=None)
@given(a=hnp.arrays(np.float64, (2, 3), elements=st.floats(-2, 2)))
def test_numpy_call_forms_bind_like_numpy(form: Callable[[Any], Any], a: np.ndarray) -> None:
    """Positional and keyword forms of NumPy's signatures reach the op's parameters."""
    out = form(al.Tensor(a, requires_grad=True))
    assert isinstance(out, al.Tensor)
    np.testing.assert_array_equal(out.data, form(a), strict=True)


def test_where_with_a_condition_only_is_nonzero() -> None:
    t = al.Tensor([0.0, 2.0, 0.0, 1.0])
    result = np.where(t)
    assert isinstance(result, tuple) and result[0].tolist() == [1, 3]


# -- HIPS-autograd-style functions: `import numpy as np` inside f -----------------------------
def mlp_loss(w: Any, x: np.ndarray) -> Any:
    hidden = np.tanh(np.matmul(x, w[:3]) + w[3])
    logits = np.dot(hidden, np.transpose(w[:3]))
    top = np.max(logits, axis=1, keepdims=True)
    shifted = logits - top
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[:, 0]) + 0.1 * np.sum(np.power(w, 2))


def joined(a: Any, b: Any) -> Any:
    stacked = np.stack([a, np.negative(b)], axis=0)
    both = np.concatenate([np.reshape(stacked, (-1,)), np.true_divide(a, np.add(b, 3.0))])
    chosen = np.where(np.arange(both.shape[0]) % 2 == 0, both, np.multiply(both, both))
    return np.sum(np.subtract(chosen, 1.0) * np.exp(np.mean(a)))


small = hnp.arrays(np.float64, (4, 3), elements=st.floats(-1.5, 1.5))
vectors = hnp.arrays(np.float64, (3,), elements=st.floats(-1.5, 1.5))


@settings(max_examples=30, deadline=None)
@given(w=small, x=hnp.arrays(np.float64, (5, 3), elements=st.floats(-2, 2)))
def test_hips_style_mlp_under_grad_passes_gradcheck(w: np.ndarray, x: np.ndarray) -> None:
    gradient = al.grad(mlp_loss)(al.Tensor(w), x)
    assert isinstance(gradient, np.ndarray) and gradient.shape == w.shape
    assert al.testing.gradcheck(lambda t: mlp_loss(t, x), [al.Tensor(w, requires_grad=True)])
    # The same function on plain arrays is NumPy's, untouched.
    value = mlp_loss(w, x)
    assert type(value) is np.float64
    assert value == mlp_loss(al.Tensor(w), x).item()


@settings(max_examples=30, deadline=None)
@given(a=vectors, b=hnp.arrays(np.float64, (3,), elements=st.floats(0.0, 2.0)))
def test_hips_style_joins_and_where_pass_gradcheck(a: np.ndarray, b: np.ndarray) -> None:
    ta, tb = al.Tensor(a, requires_grad=True), al.Tensor(b, requires_grad=True)
    assert al.testing.gradcheck(joined, [ta, tb])
    np.testing.assert_array_equal(joined(ta, tb).data, joined(a, b), strict=False)


@settings(max_examples=15, deadline=None)
@given(a=vectors, b=hnp.arrays(np.float64, (3,), elements=st.floats(0.0, 2.0)))
def test_hips_style_second_derivatives_pass_gradgradcheck(a: np.ndarray, b: np.ndarray) -> None:
    # create_graph=True: the backward of NumPy-dispatched ops is recorded too.
    ta, tb = al.Tensor(a, requires_grad=True), al.Tensor(b, requires_grad=True)
    assert al.testing.gradgradcheck(joined, [ta, tb])


@settings(max_examples=20, deadline=None)
@given(w=small, x=hnp.arrays(np.float64, (5, 3), elements=st.floats(-2, 2)))
def test_hips_style_function_replays_like_eager(w: np.ndarray, x: np.ndarray) -> None:
    eager = al.grad(mlp_loss)
    replayed = al.grad(mlp_loss, replay=True)
    for scale in (1.0, 0.5, -0.25):  # the first call records, the others replay
        np.testing.assert_array_equal(
            replayed(al.Tensor(w * scale), x), eager(al.Tensor(w * scale), x)
        )


def test_reading_values_of_a_recorded_tensor_is_refused_under_replay() -> None:
    def f(x: Any) -> Any:
        return np.sum(x) * float(np.argmax(x))

    with pytest.raises(ReplayError):
        al.grad(f, replay=True)(al.Tensor([1.0, 3.0, 2.0]))


# -- arrays and Tensors mixed ----------------------------------------------------------------
BINARY = [
    (lambda a, t: a + t, lambda a, t: t.__radd__(a)),
    (lambda a, t: a - t, lambda a, t: t.__rsub__(a)),
    (lambda a, t: a * t, lambda a, t: t.__rmul__(a)),
    (lambda a, t: a / t, lambda a, t: t.__rtruediv__(a)),
    (lambda a, t: a**t, lambda a, t: t.__rpow__(a)),
    (lambda a, t: a @ t, lambda a, t: t.__rmatmul__(a)),
]


@pytest.mark.parametrize(("numpy_form", "tensor_form"), BINARY)
@settings(max_examples=25, deadline=None)
@given(
    a=hnp.arrays(np.float64, (3, 3), elements=st.floats(0.5, 2.0)),
    b=hnp.arrays(np.float64, (3, 3), elements=st.floats(0.5, 2.0)),
)
def test_ndarray_op_tensor_is_a_tensor_that_records(
    numpy_form: Callable[..., Any], tensor_form: Callable[..., Any], a: np.ndarray, b: np.ndarray
) -> None:
    t, twin = al.Tensor(b, requires_grad=True), al.Tensor(b, requires_grad=True)
    kept = a.copy()
    out = numpy_form(a, t)  # ndarray first: NumPy hands it to Tensor.__array_ufunc__
    assert isinstance(out, al.Tensor) and out.dtype == np.float64
    reference = tensor_form(a, twin)
    np.testing.assert_array_equal(out.data, reference.data)
    np.testing.assert_array_equal(out.data, numpy_form(a, b))
    out.sum().backward()
    reference.sum().backward()
    np.testing.assert_array_equal(t.grad, twin.grad)
    np.testing.assert_array_equal(a, kept)  # the array is a constant, untouched


def test_numpy_scalars_and_arrays_without_tensors_keep_numpy_results() -> None:
    t = al.Tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(np.float64(2.0) * t, al.Tensor)
    plain = np.exp(np.array([1.0, 2.0]))
    assert type(plain) is np.ndarray
    assert type(np.sum(np.ones((2, 2)), axis=0)) is np.ndarray


# -- non-differentiable readers ----------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    a=hnp.arrays(np.float64, (2, 3), elements=st.floats(-2, 2)),
    b=hnp.arrays(np.float64, (2, 3), elements=st.floats(-2, 2)),
)
def test_comparisons_and_readers_return_numpy_values(a: np.ndarray, b: np.ndarray) -> None:
    t = al.Tensor(a, requires_grad=True)
    for compare in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal):
        for result, expected in ((compare(t, b), compare(a, b)), (compare(b, t), compare(b, a))):
            assert type(result) is np.ndarray and result.dtype == np.bool_
            np.testing.assert_array_equal(result, expected)
    assert (np.isfinite(t) == np.isfinite(a)).all()
    assert np.argmax(t) == np.argmax(a) and np.argmin(t, axis=1).tolist() == list(a.argmin(1))
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
    assert np.allclose(t, a) and np.array_equal(t, a)
    assert np.result_type(t, np.float32) == np.float64
    np.testing.assert_array_equal(np.where(t > 0)[0], np.where(a > 0)[0])


COMPOSED = [
    (lambda np_, x, y: np_.square(x), "square"),
    (lambda np_, x, y: np_.outer(x, y), "outer"),
    (lambda np_, x, y: np_.squeeze(np_.reshape(x, (1, *x.shape, 1))), "squeeze"),
    (lambda np_, x, y: np_.squeeze(np_.reshape(x, (1, *x.shape)), axis=0), "squeeze axis"),
    (lambda np_, x, y: np_.expand_dims(x, (0, -1)), "expand_dims"),
    (lambda np_, x, y: np_.var(x, axis=0), "var"),
    (lambda np_, x, y: np_.std(x, axis=-1, ddof=1, keepdims=True), "std ddof keepdims"),
    (lambda np_, x, y: np_.var(x) + np_.std(x), "var std whole"),
    (lambda np_, x, y: np_.var(x, axis=1, correction=1), "var correction"),
]


@pytest.mark.parametrize(("f", "name"), COMPOSED, ids=[name for _, name in COMPOSED])
@settings(max_examples=20, deadline=None)
@given(
    # (distinct values a quarter apart: var and std stay far from their kink at 0 for gradcheck)
    a=hnp.arrays(np.float64, (3, 4), elements=st.integers(-8, 8).map(lambda k: k / 4), unique=True),
    b=hnp.arrays(np.float64, (4,), elements=st.floats(-2, 2)),
)
def test_compositions_give_numpy_values_and_pass_gradcheck(
    f: Callable[..., Any], name: str, a: np.ndarray, b: np.ndarray
) -> None:
    """np.square, np.outer, np.squeeze, np.expand_dims, np.var, np.std on Tensors: NumPy's
    values (to rounding: var and std are the ops' formulas) and gradients that check."""
    got = f(np, al.Tensor(a), al.Tensor(b))
    assert isinstance(got, al.Tensor)
    np.testing.assert_allclose(got.data, f(np, a, b), rtol=1e-12, atol=1e-12)
    assert al.testing.gradcheck(
        lambda x, y: f(np, x, y),
        [al.Tensor(a, requires_grad=True), al.Tensor(b, requires_grad=True)],
    )


@settings(max_examples=25, deadline=None)
@given(a=hnp.arrays(np.float64, (2, 3), elements=st.floats(-5, 5)))
def test_piecewise_constant_ufuncs_and_like_factories_return_numpy_constants(
    a: np.ndarray,
) -> None:
    """np.sign, np.floor … (derivative 0 wherever it exists) and np.zeros_like … give NumPy's
    arrays: constants, so ``np.sign(t) * t`` differentiates as ``|t|`` does."""
    t = al.Tensor(a, requires_grad=True)
    for ufunc in (np.sign, np.floor, np.ceil, np.trunc, np.rint):
        result = ufunc(t)
        assert type(result) is np.ndarray
        np.testing.assert_array_equal(result, ufunc(a))
    for like, args in ((np.zeros_like, ()), (np.ones_like, ()), (np.full_like, (2.5,))):
        result = like(t, *args)
        assert type(result) is np.ndarray and result.dtype == a.dtype
        np.testing.assert_array_equal(result, like(a, *args))
    assert np.empty_like(t).shape == a.shape
    (np.sign(t) * t).sum().backward()
    np.testing.assert_array_equal(t.grad, np.sign(a))


# -- errors ------------------------------------------------------------------------------------
def _one_line_error(call: Callable[[], Any], error: type[Exception], *words: str) -> str:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, AutogradLiteError)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda t: np.sin(t), ("np.sin", "al.primitive")),
        (lambda t: np.log1p(t), ("np.log1p", "al.primitive")),
        (lambda t: np.einsum("ij->i", t), ("np.einsum", "al.primitive")),
        (lambda t: np.var(t, dtype=np.float32), ("np.var", "dtype=")),
        (lambda t: np.std(t, out=np.zeros(())), ("np.std", "out=")),
        (lambda t: np.linalg.norm(t), ("np.linalg.norm", "al.primitive")),
        (lambda t: np.cumsum(t), ("np.cumsum", "al.primitive")),
        (lambda t: np.add.reduce(t), ("np.add.reduce",)),
        (lambda t: np.exp(t, out=np.zeros((2, 2))), ("np.exp", "out=")),
        (lambda t: np.sum(t, out=np.zeros(())), ("np.sum", "out=")),
        (lambda t: np.sum(t, dtype=np.float32), ("np.sum", "dtype=")),
        (lambda t: np.exp(t, dtype=np.float32), ("np.exp", "dtype=")),
        (lambda t: np.reshape(t, (4,), order="F"), ("np.reshape", "order=")),
        (lambda t: np.concatenate([t, t], axis=None), ("np.concatenate", "axis=None")),
        (lambda t: np.dot(np.ones((2, 2, 2)), t), ("np.dot", "np.matmul")),
    ],
)
def test_unsupported_numpy_calls_raise_typed_one_line_errors(
    call: Callable[[Any], Any], words: tuple[str, ...]
) -> None:
    for requires_grad in (True, False):
        t = al.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=requires_grad)
        _one_line_error(partial(call, t), NumpyDispatchError, *words)
        assert issubclass(NumpyDispatchError, TypeError)


def test_in_place_into_an_array_is_refused_and_leaves_it_untouched() -> None:
    a = np.ones(2)
    t = al.Tensor([1.0, 2.0], requires_grad=True)

    def add_in_place() -> None:
        b = a
        b += t

    _one_line_error(add_in_place, NumpyDispatchError, "out=")
    np.testing.assert_array_equal(a, np.ones(2))


def test_asarray_refuses_a_tensor_that_requires_grad_as_pytorch_does() -> None:
    leaf = al.Tensor([1.0, 2.0], requires_grad=True)
    for t in (leaf, leaf * 2.0):
        _one_line_error(partial(np.asarray, t), RequiresGradError, ".detach().numpy()")
        _one_line_error(partial(np.array, t), RequiresGradError, ".detach().numpy()")
    assert issubclass(RequiresGradError, RuntimeError)
    np.testing.assert_array_equal(np.asarray(leaf.detach()), [1.0, 2.0])


@given(hnp.arrays(st.sampled_from([np.float64, np.float32]), hnp.array_shapes(max_dims=3)))
def test_asarray_of_a_tensor_without_grad_is_its_data(a: np.ndarray) -> None:
    t = al.Tensor(a)
    assert np.asarray(t) is t.data
    copied = np.array(t)
    np.testing.assert_array_equal(copied, a)
    assert not np.shares_memory(copied, t.data)
    converted = np.asarray(al.Tensor(a.clip(-1e3, 1e3)), dtype=np.float32)
    np.testing.assert_array_equal(converted, a.clip(-1e3, 1e3).astype(np.float32))


# -- the table follows the declarations ------------------------------------------------------------
def test_an_op_declared_later_with_a_numpy_counterpart_is_dispatched() -> None:
    t = al.Tensor([0.5, -1.0], requires_grad=True)
    with pytest.raises(NumpyDispatchError, match="np.sinh"):
        np.sinh(t)
    name = "dispatch_test_sinh"
    defop(name, np.sinh, (lambda g, out, x: g * np.cosh(x),), draw=None, numpy=(np.sinh,))
    try:
        out: Any = np.sinh(t)
        assert out.op == name
        np.testing.assert_array_equal(out.data, np.sinh(t.data))
        out.sum().backward()
        np.testing.assert_array_equal(t.grad, np.cosh(t.data))
    finally:
        del REGISTRY[name]
    with pytest.raises(NumpyDispatchError, match="np.sinh"):
        np.sinh(t)


def test_draw_metadata_covers_every_dispatched_op() -> None:
    # (ops without Draw would be missing from DISPATCHED above: none are)
    missing = [n for n, info in REGISTRY.items() if info.numpy and not isinstance(info.draw, Draw)]
    assert missing == []


# -- the example -----------------------------------------------------------------------------------
def test_numpy_dispatch_example_runs() -> None:
    root = Path(__file__).resolve().parent.parent
    result = run_example("numpy_dispatch.py", "--quick")
    assert result.returncode == 0, result.stderr
    assert "gradcheck of the NumPy-written loss: passed" in result.stdout
    assert "np.sin(t) -> NumpyDispatchError" in result.stdout
    assert "np.asarray(t) -> RequiresGradError" in result.stdout
    spec = importlib.util.spec_from_file_location(
        "numpy_dispatch_example", root / "examples" / "numpy_dispatch.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(["--quick"])
    assert results["gradcheck"] is True
    assert results["loss_after"] < results["loss_before"] / 2 and results["accuracy"] > 0.9
    assert results["np.exp(t, out=a)"] == "NumpyDispatchError"
    assert results["sin_grad_error"] == 0.0


def test_a_counterpart_without_a_readable_signature_passes_the_call_on() -> None:
    # `min` (a builtin) stands for a NumPy function written in C without a signature.
    with pytest.raises(ValueError):
        inspect.signature(min)
    name = "dispatch_test_opaque"
    defop(name, lambda x, scale=1.0: x * scale, (lambda g, out, x, scale=1.0: g * scale,),
          numpy=(min,))  # fmt: skip
    try:
        t = al.Tensor([1.0, -2.0], requires_grad=True)
        out = numpy_dispatch.dispatch_function(min, (t,), {"scale": 3.0})
        assert out.op == name
        np.testing.assert_array_equal(out.data, [3.0, -6.0])
        with pytest.raises(NumpyDispatchError, match="out="):
            numpy_dispatch.dispatch_function(min, (t,), {"out": np.zeros(2)})
    finally:
        del REGISTRY[name]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda t: np.squeeze(t, axis=0), "np.squeeze"),
        (lambda t: np.expand_dims(t, 5), "np.expand_dims"),
    ],
)
def test_shape_functions_name_themselves_in_their_errors(call: Any, name: str) -> None:
    from autograd_lite.errors import ShapeError

    with pytest.raises(ShapeError, match=name):
        call(al.Tensor(np.ones((2, 3))))
