"""Tensor: dtype rules, properties, values out, operator sugar, comparisons, indexing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors

try:  # tests/ is not a package: pytest puts it on sys.path
    from reference import assert_close, numeric_grad
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.reference import assert_close, numeric_grad

FAST = settings(max_examples=40, deadline=None)

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def float_arrays(dtype=np.float64, shape=small_shapes, lo=-10.0, hi=10.0):
    width = 32 if dtype == np.float32 else 64
    return hnp.arrays(
        dtype,
        shape,
        elements=st.floats(lo, hi, allow_nan=False, width=width, allow_subnormal=False),
    )


# -- dtype rules ------------------------------------------------------------------------------
@FAST
@given(st.lists(st.integers(-1000, 1000), min_size=0, max_size=6))
def test_python_ints_become_float64(values):
    t = al.Tensor(values)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(values, dtype=np.float64))


@FAST
@given(
    hnp.arrays(
        hnp.integer_dtypes() | hnp.unsigned_integer_dtypes() | st.just(np.bool_), small_shapes
    )
)
def test_integer_and_bool_arrays_become_float64(array):
    t = al.Tensor(array)
    assert t.dtype == np.float64
    assert t.shape == array.shape
    np.testing.assert_array_equal(t.data, array.astype(np.float64))


def test_python_scalars_default_to_float64():
    assert al.Tensor(1.5).dtype == np.float64
    assert al.Tensor(3).dtype == np.float64
    assert al.Tensor(True).dtype == np.float64
    assert al.Tensor([[1.0, 2.0]]).dtype == np.float64


@FAST
@given(float_arrays(np.float32))
def test_float32_kept_and_not_copied(array):
    t = al.Tensor(array)
    assert t.dtype == np.float32
    assert np.shares_memory(t.data, array) or array.size == 0


def test_dtype_argument_converts():
    assert al.Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert al.Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


FLOAT32_CHAIN = [
    lambda t: t * 2.0,
    lambda t: 2.0 * t,
    lambda t: t + 1,
    lambda t: 1 - t,
    lambda t: t / 3.0,
    lambda t: 1.0 / (t * t + 1.0),
    lambda t: t**2,
    lambda t: t.tanh(),
    lambda t: t.sigmoid(),
    lambda t: (t * 0.1).exp(),
    lambda t: (t * t + 1.0).log(),
    lambda t: t.relu(),
    lambda t: t.softmax(axis=-1),
    lambda t: t.log_softmax(axis=-1),
    lambda t: t.T,
    lambda t: t.reshape(-1),
    lambda t: t[..., :1],
    lambda t: t.mean(axis=-1, keepdims=True),
    lambda t: t.max(axis=-1, keepdims=True),
    lambda t: t.sum(axis=0),
    lambda t: al.sigmoid_prime(t),
    lambda t: al.where(t.data > 0, t, t * 0.5),
    lambda t: al.concatenate([t, t], axis=-1),
    lambda t: al.stack([t, t]),
]


@FAST
@given(
    float_arrays(
        np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), -3, 3
    ),
    st.lists(st.sampled_from(range(len(FLOAT32_CHAIN))), min_size=1, max_size=5),
)
def test_float32_kept_through_ops_and_gradients(array, chain):
    x = al.Tensor(array, requires_grad=True)
    y = x
    for k in chain:
        if y.ndim == 0:
            y = y.reshape(1)
        y = FLOAT32_CHAIN[k](y)
        assert y.dtype == np.float32, f"op {k} promoted float32 to {y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert x.grad.shape == x.shape


def test_float32_matmul_and_costs_keep_dtype():
    w = al.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    a = al.Tensor(np.full((4, 2), 0.5, np.float32), requires_grad=True)
    z = w @ a
    assert z.dtype == np.float32
    cost = al.quadratic_cost(z.sigmoid(), np.zeros((3, 2), np.float32))
    assert cost.dtype == np.float32
    cost.backward()
    assert w.grad.dtype == np.float32 and a.grad.dtype == np.float32


def test_float32_leaf_gets_float32_gradient_even_through_float64_ops():
    x = al.Tensor(np.ones(3, np.float32), requires_grad=True)
    (x * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "bad",
    [
        "1.5",
        ["a", "b"],
        None,
        object(),
        [object(), 1.0],
        [1.0, None],
        [[1.0, 2.0], [3.0]],
        {"a": 1},
        b"12",
        [1 + 2j],
        np.array(["x"]),
        np.array([1, 2], dtype=object),
    ],
    ids=repr,
)
def test_non_numeric_input_raises_invalid_input(bad):
    with pytest.raises(errors.InvalidInputError) as info:
        al.Tensor(bad)
    assert isinstance(info.value, TypeError)
    assert "Tensor" in str(info.value)


@pytest.mark.parametrize("bad", ["abc", None, object(), [None], ["1"]], ids=repr)
@pytest.mark.parametrize("op", [al.add, al.sub, al.mul, al.div, al.matmul, al.pow])
def test_non_numeric_operand_of_an_op_raises_invalid_input(op, bad):
    x = al.Tensor(np.ones(1), requires_grad=True)
    with pytest.raises(errors.InvalidInputError) as info:
        op(x, bad)
    assert op.name in str(info.value)
    with pytest.raises(errors.InvalidInputError):
        op(bad, x)
    assert x.grad is None


# -- properties -------------------------------------------------------------------------------
@FAST
@given(float_arrays(), st.booleans(), st.one_of(st.none(), st.text(min_size=1, max_size=5)))
def test_leaf_properties(array, requires_grad, name):
    t = al.Tensor(array, requires_grad=requires_grad, name=name)
    assert t.shape == array.shape
    assert t.ndim == array.ndim
    assert t.size == array.size
    assert t.dtype == np.float64
    assert t.is_leaf
    assert t.requires_grad is requires_grad
    assert t.name == name
    assert t.op is None
    assert t.grad is None


@pytest.mark.parametrize(
    ("make", "op"),
    [
        (lambda x: x + 1.0, "add"),
        (lambda x: 1.0 - x, "sub"),
        (lambda x: x * x, "mul"),
        (lambda x: x / 2.0, "div"),
        (lambda x: -x, "neg"),
        (lambda x: x**2, "pow"),
        (lambda x: x @ x, "matmul"),
        (lambda x: x.exp(), "exp"),
        (lambda x: x.sum(), "sum"),
        (lambda x: x.mean(), "mean"),
        (lambda x: x.reshape(1, 3), "reshape"),
        (lambda x: x[0], "getitem"),
        (lambda x: x.tanh(), "tanh"),
    ],
)
def test_op_results_record_their_op(make, op):
    x = al.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = make(x)
    assert y.op == op
    assert not y.is_leaf
    assert y.requires_grad
    assert y.grad is None
    with al.no_grad():
        z = make(x)
    assert z.op is None and z.is_leaf and not z.requires_grad


def test_ops_on_constants_do_not_require_grad():
    x = al.Tensor([1.0, 2.0])
    y = (x * 2 + 1).exp().sum()
    assert not y.requires_grad
    assert y.is_leaf


def test_detach_shares_data_and_cuts_the_graph():
    x = al.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.op is None
    np.testing.assert_array_equal(d.data, y.data)
    assert np.shares_memory(d.data, y.data)
    z = (d * x).sum()  # the detached factor is a constant
    z.backward()
    np.testing.assert_allclose(x.grad, d.data)


def test_numpy_returns_the_data():
    x = al.Tensor([1.0, 2.0])
    assert x.numpy() is x.data
    assert isinstance(x.numpy(), np.ndarray)


@FAST
@given(finite, st.integers(0, 3))
def test_item_of_one_element_tensor(value, ndim):
    t = al.Tensor(np.full((1,) * ndim, value))
    item = t.item()
    assert isinstance(item, float)
    assert item == value


@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,), (1, 2)])
def test_item_of_other_sizes_raises(shape):
    with pytest.raises(ValueError, match=r"item") as info:
        al.Tensor(np.zeros(shape)).item()
    assert str(shape) in str(info.value)


def test_repr():
    assert repr(al.Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    r = repr(al.Tensor([1.0, 2.0], requires_grad=True, name="w"))
    assert r.startswith("Tensor([1., 2.]") and "requires_grad=True" in r and "name='w'" in r
    r = repr(al.Tensor([1.0], requires_grad=True) * 2)
    assert "op=mul" in r
    r = repr(al.Tensor(np.ones(2, np.float32)))
    assert "dtype=float32" in r
    assert "2." in repr(al.Tensor(2.0))


def test_len_and_iteration():
    x = al.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    assert len(x) == 3
    rows = list(x)
    assert [r.shape for r in rows] == [(2,)] * 3
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(TypeError):
        len(al.Tensor(1.0))


# -- operators --------------------------------------------------------------------------------
OPERATORS = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a**b),
]


@FAST
@given(
    st.sampled_from(OPERATORS),
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.data(),
)
def test_operators_with_numpy_on_either_side_give_tensors(op, shapes, data):
    name, fn = op
    sa, sb = shapes.input_shapes
    a = data.draw(float_arrays(shape=st.just(sa), lo=0.5, hi=2.0))
    b = data.draw(float_arrays(shape=st.just(sb), lo=0.5, hi=2.0))
    expected = fn(a, b)
    for left, right in [
        (al.Tensor(a), b),  # Tensor op ndarray
        (a, al.Tensor(b)),  # ndarray op Tensor: must not become an ndarray of Tensors
        (al.Tensor(a), al.Tensor(b)),
    ]:
        out = fn(left, right)
        assert isinstance(out, al.Tensor), f"{name}: {type(left)} op {type(right)} -> {type(out)}"
        assert out.op is None
        assert out.shape == np.shape(expected)
        # One elementwise op on positive operands: correctly rounded (pow within a few ulps),
        # so a relative 4 eps covers it, whatever route the Tensor takes.
        np.testing.assert_allclose(out.data, expected, rtol=4 * np.finfo(float).eps, atol=0)


@FAST
@given(st.sampled_from(OPERATORS), st.floats(0.5, 2.0), float_arrays(lo=0.5, hi=2.0))
def test_reflected_operators_with_python_scalars_and_their_gradients(op, scalar, array):
    name, fn = op
    x = al.Tensor(array, requires_grad=True)
    out = fn(scalar, x)
    assert isinstance(out, al.Tensor) and out.op == name
    np.testing.assert_allclose(out.data, fn(scalar, array), rtol=4 * np.finfo(float).eps, atol=0)
    out.sum().backward()
    expected = numeric_grad(lambda v: np.sum(fn(scalar, v)), array)
    assert_close(x.grad, expected, rtol=1e-5, atol=1e-6, what=f"d({scalar} {name} x)/dx")


def test_numpy_scalars_and_arrays_on_the_left():
    x = al.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for left in (np.ones(3), np.float64(2.0), np.float32(2.0), np.int64(2)):
        out = left * x
        assert isinstance(out, al.Tensor), type(out)
        out = left @ x if np.ndim(left) else left + x
        assert isinstance(out, al.Tensor)
    y = np.arange(3.0) @ x
    assert isinstance(y, al.Tensor) and y.shape == ()
    y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 2.0])


def test_unary_operators():
    x = al.Tensor([1.0, -2.0], requires_grad=True)
    assert (+x) is x
    y = -x
    assert y.op == "neg"
    np.testing.assert_array_equal(y.data, [-1.0, 2.0])
    (y * np.array([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [-3.0, -4.0])


@FAST
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.data(),
)
def test_comparisons_return_boolean_arrays(shapes, data):
    sa, sb = shapes.input_shapes
    a = data.draw(hnp.arrays(np.float64, sa, elements=st.integers(-2, 2).map(float)))
    b = data.draw(hnp.arrays(np.float64, sb, elements=st.integers(-2, 2).map(float)))
    t, u = al.Tensor(a, requires_grad=True), al.Tensor(b)
    for got, want in [
        (t < u, a < b),
        (t <= u, a <= b),
        (t > u, a > b),
        (t >= u, a >= b),
        (t < b, a < b),
        (a > u, a > b),  # ndarray on the left: reflected to u < a
        (t >= 0.0, a >= 0.0),
    ]:
        assert isinstance(got, (np.ndarray, np.bool_)) and not isinstance(got, al.Tensor)
        assert np.asarray(got).dtype == np.bool_
        np.testing.assert_array_equal(got, want)


# -- indexing ---------------------------------------------------------------------------------
@FAST
@given(
    float_arrays(shape=hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=6)),
    st.data(),
)
def test_fancy_index_gradient_counts_repeats(array, data):
    n = array.shape[0]
    index = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=10))
    x = al.Tensor(array, requires_grad=True)
    y = x[np.array(index)]
    np.testing.assert_array_equal(y.data, array[index])
    weights = np.arange(1.0, len(index) + 1)
    (y * weights).sum().backward()
    expected = np.zeros(n)
    np.add.at(expected, np.array(index), weights)
    np.testing.assert_allclose(x.grad, expected)


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        slice(None, None, -1),
        slice(1, 3),
        (Ellipsis, 0),
        (None, 0),
        (slice(None), [0, 0, 2]),
        ([1, 0], [2, 2]),
        (0, slice(None), None),
    ],
    ids=repr,
)
def test_basic_and_advanced_indexing_matches_numpy(index):
    array = np.arange(12.0).reshape(3, 4)
    x = al.Tensor(array, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.data, array[index])
    w = np.random.default_rng(0).normal(size=np.shape(array[index]))
    (y * w).sum().backward()
    expected = numeric_grad(lambda a: np.sum(a[index] * w), array)
    assert_close(x.grad, expected, what=f"x[{index!r}]")


def test_boolean_mask_indexing():
    x = al.Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = x[x > 0]
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("index", [5, -6, (0, 7), [0, 9], (1, 1, 1)], ids=repr)
def test_out_of_range_index_raises_tensor_index_error(index):
    x = al.Tensor(np.zeros((5, 3)), requires_grad=True)
    with pytest.raises(errors.TensorIndexError) as info:
        x[index]
    assert isinstance(info.value, IndexError)
    assert "getitem" in str(info.value) and "(5, 3)" in str(info.value)


# -- 0-d gradients ------------------------------------------------------------------------------
def test_grad_of_a_0d_leaf_is_a_writable_array():
    # 0-d arithmetic gives NumPy scalars; .grad must still be a writable 0-d ndarray
    for make in (lambda x: x * 2.0, lambda x: x * x, lambda x: x + x + x, lambda x: x.sum()):
        x = al.Tensor(3.0, requires_grad=True)
        for _ in range(2):  # the first .grad, then the accumulated one
            make(x).backward()
            assert isinstance(x.grad, np.ndarray) and x.grad.shape == ()
            assert x.grad.flags.writeable
        x.grad[...] = 0.0  # e.g. an optimizer zeroing in place
