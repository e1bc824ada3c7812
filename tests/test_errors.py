"""Every error of DESIGN.md: its type, its base class (ValueError or TypeError), and a message
that names the op and the shapes. Bad input never escapes as a bare NumPy exception and never
corrupts state."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors

FAST = settings(max_examples=100, deadline=None)


def leaf(value):
    return al.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def ones(*shape):
    return leaf(np.ones(shape))


# -- the hierarchy ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_an_autograd_lite_error(name):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.AutogradLiteError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("name", [n for n in errors.__all__ if n not in ("AutogradLiteError",)])
def test_every_error_is_a_value_type_or_index_error(name):
    cls = getattr(errors, name)
    if cls is errors.TensorIndexError:
        assert issubclass(cls, IndexError)  # as NumPy and Python index errors
    else:
        assert issubclass(cls, (ValueError, TypeError))


def test_engine_errors_are_runtime_errors_too():
    for cls in (
        errors.BackwardError,
        errors.NonScalarBackwardError,
        errors.GraphReleasedError,
        errors.HigherOrderError,
    ):
        assert issubclass(cls, errors.BackwardError)
        assert issubclass(cls, RuntimeError) and issubclass(cls, ValueError)
    assert issubclass(errors.ShapeError, ValueError)
    assert issubclass(errors.InvalidInputError, TypeError)
    assert issubclass(errors.InvalidGradientError, ValueError)
    assert issubclass(errors.AnomalyError, ValueError)


# -- shape errors, one by one ----------------------------------------------------------------
def test_matmul_message_names_both_shapes_and_inner_dimensions():
    with pytest.raises(errors.ShapeError) as info:
        ones(30, 784) @ ones(10, 1)
    assert str(info.value) == (
        "matmul: cannot multiply (30, 784) by (10, 1): inner dimensions 784 and 10 differ"
    )


@pytest.mark.parametrize(
    ("sa", "sb", "inner"),
    [((3,), (4,), ("3", "4")), ((2, 3), (2,), ("3", "2")), ((5,), (4, 2), ("5", "4"))],
)
def test_matmul_vector_cases(sa, sb, inner):
    with pytest.raises(errors.ShapeError) as info:
        al.matmul(ones(*sa), ones(*sb))
    message = str(info.value)
    assert message.startswith("matmul:")
    assert str(sa) in message and str(sb) in message
    assert all(n in message for n in inner)


def test_matmul_of_a_scalar_and_batch_mismatch():
    with pytest.raises(errors.ShapeError, match=r"matmul: .*\(\).*\(3,\)"):
        al.matmul(leaf(2.0), ones(3))
    with pytest.raises(errors.ShapeError, match=r"matmul: .*batch"):
        ones(2, 2, 3) @ ones(3, 3, 2)


@pytest.mark.parametrize(
    ("op", "name"),
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a - b, "sub"),
        (lambda a, b: a * b, "mul"),
        (lambda a, b: a / b, "div"),
        (lambda a, b: a**b, "pow"),
        (al.add, "add"),
        (al.mul, "mul"),
    ],
)
def test_elementwise_shape_mismatch(op, name):
    with pytest.raises(errors.ShapeError) as info:
        op(ones(3), ones(4))
    message = str(info.value)
    assert message.startswith(name + ":")
    assert "(3,)" in message and "(4,)" in message
    with pytest.raises(errors.ShapeError):
        op(np.ones((2, 3)), ones(3, 2))  # a NumPy array on the left too


def test_hadamard_of_unequal_shapes_even_if_broadcastable():
    with pytest.raises(errors.ShapeError) as info:
        al.hadamard(ones(2, 3), ones(1, 3))
    message = str(info.value)
    assert "hadamard" in message and "(2, 3)" in message and "(1, 3)" in message
    out = al.hadamard(ones(2, 3), ones(2, 3))
    assert out.shape == (2, 3)


@pytest.mark.parametrize("shape", [(4,), (2, 2), (7,), (4, -1), (-1, -1)])
def test_reshape_to_an_impossible_shape(shape):
    with pytest.raises(errors.ShapeError) as info:
        ones(2, 3).reshape(shape)
    message = str(info.value)
    assert "reshape" in message and "(2, 3)" in message


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(axis=2),
        lambda t: t.sum(axis=-3),
        lambda t: t.mean(axis=5),
        lambda t: t.max(axis=2),
        lambda t: t.softmax(axis=2),
        lambda t: t.log_softmax(axis=-3),
        lambda t: al.concatenate([t, t], axis=2),
        lambda t: al.stack([t, t], axis=4),
    ],
    ids=["sum", "sum-neg", "mean", "max", "softmax", "log_softmax", "concatenate", "stack"],
)
def test_out_of_range_axis_is_an_autograd_lite_error_naming_the_op(call):
    with pytest.raises(errors.AutogradLiteError) as info:
        call(ones(2, 3))
    assert "(2, 3)" in str(info.value) and "axis" in str(info.value)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "softmax", "concatenate"])
def test_out_of_range_axis_is_a_value_error(op):
    t = ones(2, 3)
    calls = {
        "sum": lambda: t.sum(axis=2),
        "mean": lambda: t.mean(axis=2),
        "max": lambda: t.max(axis=2),
        "softmax": lambda: t.softmax(axis=2),
        "concatenate": lambda: al.concatenate([t, t], axis=2),
    }
    with pytest.raises(ValueError) as info:
        calls[op]()
    assert isinstance(info.value, errors.AutogradLiteError)
    assert str(info.value).startswith(op)


def test_swapaxes_out_of_range():
    with pytest.raises(errors.AutogradLiteError) as info:
        ones(2, 3).swapaxes(0, 5)
    assert "(2, 3)" in str(info.value)


@pytest.mark.parametrize("op", ["where", "broadcast_to"])
def test_shape_errors_name_the_offending_shape(op):
    with pytest.raises(errors.ShapeError) as info:
        if op == "where":
            al.where(np.ones(4, dtype=bool), ones(3), 0.0)
        else:
            al.broadcast_to(ones(3), (4,))
    assert "(4,)" in str(info.value) and "(3,)" in str(info.value)


@pytest.mark.parametrize("index", [3, -4, (0, 2), (slice(None), 5), [0, 3], (0, 0, 0)], ids=repr)
def test_out_of_range_index(index):
    with pytest.raises(errors.TensorIndexError) as info:
        ones(3, 2)[index]
    assert isinstance(info.value, IndexError)
    assert "getitem" in str(info.value) and "(3, 2)" in str(info.value)


def test_non_integer_index():
    for index in (1.5, "a", np.array([0.5])):
        with pytest.raises(errors.TensorIndexError):
            ones(3)[index]


# -- costs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cost", "a_shape", "y_shape"),
    [
        (al.quadratic_cost, (3, 1), (3,)),
        (al.quadratic_cost, (10, 5), (5, 10)),
        (al.cross_entropy_cost, (3,), (4,)),
        (lambda a, y: al.cross_entropy_cost(a, y, logits=True), (2, 3), (3, 2)),
    ],
)
def test_costs_with_bad_target_shapes(cost, a_shape, y_shape):
    a = leaf(np.full(a_shape, 0.5))
    with pytest.raises(errors.ShapeError) as info:
        cost(a, np.full(y_shape, 0.5))
    message = str(info.value)
    assert "cost" in message and str(a_shape) in message and str(y_shape) in message
    assert a.grad is None


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        (np.array([0, 1, 2]), "(2, 3)"),  # three labels for two samples
        (np.array([0, 3]), "0..2"),  # a label out of range
        (np.array([-1, 0]), "0..2"),
        (np.array([0.5, 1.0]), "(2, 3)"),  # floats of the wrong shape
        (np.ones((3, 2)), "(2, 3)"),  # one-hot transposed
    ],
)
def test_log_likelihood_cost_with_bad_labels(labels, fragment):
    with pytest.raises(errors.ShapeError) as info:
        al.log_likelihood_cost(ones(2, 3), labels)
    assert "log_likelihood_cost" in str(info.value) and fragment in str(info.value)


# -- engine errors ---------------------------------------------------------------------------
def test_engine_errors_are_raised_with_helpful_messages():
    x = ones(2)
    with pytest.raises(errors.NonScalarBackwardError, match=r"\(2,\)"):
        (x * 2.0).backward()
    with pytest.raises(errors.InvalidGradientError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(grad=np.ones(3))
    y = (x * 2.0).sum()
    y.backward()
    with pytest.raises(errors.GraphReleasedError, match="retain_graph"):
        y.backward()
    with pytest.raises(errors.BackwardError):
        al.Tensor([1.0]).sum().backward()


def test_hook_error_names_both_shapes():
    x = ones(2, 3)
    x.register_hook(lambda g: np.ones((3, 2)))
    with pytest.raises(errors.InvalidGradientError) as info:
        (x * 2.0).sum().backward()
    assert "(3, 2)" in str(info.value) and "(2, 3)" in str(info.value)
    assert x.grad is None


def test_higher_order_error_is_raised_not_a_silent_zero():
    @al.primitive
    def square(v):
        return v * v

    square.defvjp(lambda g, out, v: 2 * np.multiply(v, g))
    x = ones(2)
    (g,) = al.gradients(square(x).sum(), [x], create_graph=True)
    with pytest.raises(errors.HigherOrderError, match="square"):
        al.gradients(g.sum(), [x])


def test_anomaly_error():
    with al.detect_anomaly(), pytest.raises(errors.AnomalyError, match=r"log.*\(2,\)"):
        al.log(leaf([0.0, 1.0]))


def test_non_numeric_input_errors():
    for bad in ("x", None, [object()], {"a": 1}):
        with pytest.raises(errors.InvalidInputError):
            al.Tensor(bad)
        with pytest.raises(errors.InvalidInputError) as info:
            al.mul(ones(1), bad)
        assert "mul" in str(info.value)


# -- failed ops change nothing ---------------------------------------------------------------
def test_a_failed_op_leaves_existing_gradients_and_graph_intact():
    x = ones(3)
    y = (x * 2.0).sum()
    for bad in (lambda: x + ones(4), lambda: x @ ones(2, 2), lambda: x.reshape(2, 2), lambda: x[7]):
        with pytest.raises(errors.AutogradLiteError):
            bad()
    y.backward()  # the graph built before the failures still works
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


# -- the property: bad shapes never escape as bare NumPy errors ------------------------------
shape_st = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)

BINARY_OPS = {
    "add": al.add,
    "sub": al.sub,
    "mul": al.mul,
    "div": al.div,
    "pow": al.pow,
    "matmul": al.matmul,
    "hadamard": al.hadamard,
    "where": lambda a, b: al.where(a.data > 0.5, a, b),
    "concatenate0": lambda a, b: al.concatenate([a, b]),
    "concatenate-1": lambda a, b: al.concatenate([a, b], axis=-1),
    "stack": lambda a, b: al.stack([a, b]),
    "stack-1": lambda a, b: al.stack([a, b], axis=-1),
    "quadratic_cost": al.quadratic_cost,
    "cross_entropy_cost": al.cross_entropy_cost,
    "cross_entropy_logits": lambda a, b: al.cross_entropy_cost(a, b, logits=True),
    "log_likelihood_cost": al.log_likelihood_cost,
    "broadcast_to": lambda a, b: al.broadcast_to(a, b.shape),
    "reshape": lambda a, b: a.reshape(b.shape),
    "reflected_mul": lambda a, b: a.data * b,
    "reflected_matmul": lambda a, b: a.data @ b,
}


def _check_outcome(name, make, inputs):
    try:
        out = make()
    except errors.AutogradLiteError as error:
        assert isinstance(error, (ValueError, TypeError, IndexError)), (name, type(error))
        assert str(error), name
        return None
    # Whatever the forward accepts, the backward must handle, giving input-shaped gradients.
    assert isinstance(out, al.Tensor), (name, type(out))
    out.sum().backward()
    for t in inputs:
        if t.grad is not None:
            assert np.shape(t.grad) == t.shape, (name, t.shape, np.shape(t.grad))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN from empty means is fine
@FAST
@given(st.sampled_from(sorted(BINARY_OPS)), shape_st, shape_st, st.data())
def test_random_shape_pairs_into_binary_ops(name, sa, sb, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = leaf(rng.uniform(0.1, 0.9, size=sa))
    b = leaf(rng.uniform(0.1, 0.9, size=sb))
    with np.errstate(all="ignore"):
        _check_outcome(name, lambda: BINARY_OPS[name](a, b), [a, b])


@FAST
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.sampled_from(["add", "sub", "mul", "div", "pow", "where"]),
)
def test_broadcastable_pairs_always_work(shapes, name):
    sa, sb = shapes.input_shapes
    a, b = leaf(np.full(sa, 0.5)), leaf(np.full(sb, 0.7))
    out = _check_outcome(name, lambda: BINARY_OPS[name](a, b), [a, b])
    assert out is not None and out.shape == shapes.result_shape
    assert a.grad.shape == sa and b.grad.shape == sb


UNARY_WITH_PARAMETER = {
    "sum": lambda t, k: t.sum(axis=k),
    "sum_keepdims": lambda t, k: t.sum(axis=k, keepdims=True),
    "mean": lambda t, k: t.mean(axis=k),
    "max": lambda t, k: t.max(axis=k),
    "softmax": lambda t, k: t.softmax(axis=k),
    "log_softmax": lambda t, k: t.log_softmax(axis=k),
    "transpose": lambda t, k: t.transpose(tuple((i + k) % 4 for i in range(t.ndim)) or None),
    "getitem": lambda t, k: t[k],
    "getitem_tuple": lambda t, k: t[k, 0],
    "getitem_list": lambda t, k: t[[k, 0]],
    "reshape": lambda t, k: t.reshape(k, -1),
    "concatenate": lambda t, k: al.concatenate([t, t], axis=k),
    "stack": lambda t, k: al.stack([t, t], axis=k),
    "log_likelihood_labels": lambda t, k: al.log_likelihood_cost(t, np.full(t.shape[:-1], k)),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN from empty means is fine
@FAST
@given(st.sampled_from(sorted(UNARY_WITH_PARAMETER)), shape_st, st.integers(-4, 4))
def test_random_parameters_into_unary_ops(name, shape, k):
    # A known bug, pinned by test_reduction_over_axis_0_of_a_0d_tensor below:
    assume(not (shape == () and name in ("sum", "sum_keepdims", "max") and k in (0, -1)))
    x = leaf(np.random.default_rng(0).uniform(0.1, 0.9, size=shape))
    with np.errstate(all="ignore"):
        _check_outcome(name, lambda: UNARY_WITH_PARAMETER[name](x, k), [x])


@pytest.mark.parametrize("op", ["sum", "max"])
@pytest.mark.parametrize("axis", [0, -1])
def test_reduction_over_axis_0_of_a_0d_tensor(op, axis):
    x = leaf(2.0)
    try:
        y = getattr(x, op)(axis=axis)
    except errors.AutogradLiteError:
        return  # refusing the axis would be fine too
    y.backward()
    assert float(x.grad) == 1.0


BUILTIN_ERRORS = {"ValueError", "TypeError", "IndexError"}


def _bare_raises(source: str) -> list[int]:
    """Line numbers of ``raise ValueError(...)``/``TypeError``/``IndexError`` (the built-ins
    themselves, not an AutogradLiteError subclass of them)."""
    import ast

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in BUILTIN_ERRORS:
                lines.append(node.lineno)
    return lines


def test_the_scan_sees_a_bare_raise():
    assert _bare_raises("def f():\n    raise ValueError('x')\n") == [2]
    assert _bare_raises("def f():\n    raise errors.ShapeError('x')\n") == []


def test_the_package_raises_no_bare_builtin_error():
    """Every error for bad input is an AutogradLiteError (DESIGN.md, Errors), so it can be
    caught as one; each also subclasses the built-in, so ``except ValueError`` still works."""
    from pathlib import Path

    package = Path(al.__file__).parent
    found = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := _bare_raises(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"bare built-in raises (use autograd_lite.errors): {found}"
