"""The engine: fan-out, diamonds, broadcasting, accumulation, released graphs, deep and wide
graphs, retain_grad, hooks, no_grad, anomaly mode, backward(grad=...), aliasing, gradients(),
and user-defined ops (first order; higher order is in test_higher_order.py)."""

from __future__ import annotations

import gc
import math
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors

try:  # tests/ is not a package: pytest puts it on sys.path
    from reference import BINARY, UNARY, Program, assert_close, numeric_grad
    from tolerances import assert_within, sum_bound
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.reference import BINARY, UNARY, Program, assert_close, numeric_grad
    from tests.tolerances import assert_within, sum_bound

FAST = settings(max_examples=40, deadline=None)

# 0-d included: the sum of two 0-d gradients is a NumPy scalar, which once lost every
# contribution after the second (fixed in 5d5a3ae; the 0-d tests below pin it).
shapes_any = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arrays(shape, lo=-2.0, hi=2.0):
    return hnp.arrays(
        np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, allow_subnormal=False)
    )


def leaf(value, **kwargs):
    return al.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True, **kwargs)


# -- fan-out and diamonds ---------------------------------------------------------------------
@FAST
@given(
    shapes_any.flatmap(
        lambda s: st.tuples(arrays(s), st.lists(st.floats(-3, 3), min_size=1, max_size=7))
    )
)
def test_fan_out_accumulates_the_sum_of_contributions(case):
    array, coefficients = case
    x = leaf(array)
    y = None
    for c in coefficients:  # x used k times, each use with its own weight
        term = x * c
        y = term if y is None else y + term
    y.sum().backward()
    # Each contribution 1 * c is exact; the engine and sum() add the same k terms in their own
    # orders, each within k eps sum|c| of the exact sum.
    k = len(coefficients)
    allowed = 2 * sum_bound(np.sum(np.abs(coefficients)), k)
    assert_within(x.grad, np.full(array.shape, sum(coefficients)), allowed, "fan-out sum")


@FAST
@given(shapes_any.flatmap(arrays), st.integers(1, 8))
def test_fan_out_into_one_variadic_op(array, k):
    x = leaf(array)
    al.stack([x] * k).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(array.shape, float(k)))
    if array.ndim:  # NumPy cannot concatenate 0-d arrays
        x.zero_grad()
        al.concatenate([x * 1.0] * k, axis=0).sum().backward()
        np.testing.assert_array_equal(x.grad, np.full(array.shape, float(k)))


@pytest.mark.parametrize("k", [3, 4, 6])
def test_fan_out_into_a_0d_leaf(k):
    x = leaf(1.5)
    y = x
    for _ in range(k - 1):
        y = y + x
    y.backward()
    assert float(x.grad) == k


def test_fan_out_into_a_0d_intermediate():
    w = leaf([1.0, 2.0, 3.0])
    s = w.sum()  # 0-d, used three times
    (s * s * s).backward()  # d(s^3)/dw = 3 s^2 = 108
    np.testing.assert_allclose(w.grad, np.full(3, 3 * 6.0**2))


def test_fan_out_into_0d_tensors_in_a_create_graph_pass():
    x = leaf(1.5)
    s = x * 1.0
    (g,) = al.gradients(s * s * s + x * x * x, [x], create_graph=True)
    np.testing.assert_allclose(g.data, 6 * 1.5**2)
    (h,) = al.gradients(g, [x])
    np.testing.assert_allclose(h, 12 * 1.5)


def test_diamond():
    x = leaf([0.5, -1.0])
    a = x * 2.0
    b = x.exp()
    y = (a * b).sum()  # d/dx (2x e^x) = 2 e^x + 2x e^x
    y.backward()
    v = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad, 2 * np.exp(v) + 2 * v * np.exp(v))


@FAST
@given(st.integers(1, 12), shapes_any.flatmap(arrays))
@example(12, np.where(np.arange(24).reshape(2, 3, 4) == 0, -0.75, 2.0))  # seed 20: |f| = 2e5
def test_stacked_diamonds(depth, array):
    # each level: y <- tanh(y) * y + y  (three uses of y)
    x = leaf(array)
    y = x
    for _ in range(depth):
        y = y.tanh() * y + y

    def f(v):
        for _ in range(depth):
            v = np.tanh(v) * v + v
        return math.fsum(v.ravel())  # correctly rounded: the sum adds no order-dependent error

    def rounding(v):
        # Running bound on each entry's rounding through the levels: 3 ops, each within eps of
        # its terms, then carried by the level's derivative 1 + tanh v + v sech^2 v.
        err = np.zeros_like(v)
        for _ in range(depth):
            t = np.tanh(v)
            err = np.abs(1 + t + v * (1 - t * t)) * err + 3 * eps * (np.abs(t * v) + np.abs(v))
            v = t * v + v
        return err, v

    y.sum().backward()
    expected = numeric_grad(f, array)
    # Central differences with h = 1e-6: rtol 1e-4 and atol 1e-5 allow for the truncation
    # (h^2 times the third derivative over 6), as before; added is the rounding of the two
    # evaluations of f: the perturbed entry's own rounding twice and each fsum's half ulp of
    # |f|, over 2h (|f| = 2e5 puts that at 1e-5, which a fixed atol of 1e-5 missed).
    eps, h = np.finfo(float).eps, 1e-6
    err, final = rounding(np.asarray(array, dtype=np.float64))
    fd_rounding = (2 * err + eps * abs(float(np.sum(final)))) / (2 * h)
    allowed = 1e-4 * np.abs(expected) + 1e-5 + fd_rounding
    assert_within(x.grad, expected, allowed, "stacked diamonds vs central differences")


step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY)), st.integers(0, 50)),
    st.tuples(
        st.just("b"), st.sampled_from(sorted(BINARY)), st.integers(0, 50), st.integers(0, 50)
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.lists(step, min_size=1, max_size=12),
    hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    st.integers(0, 2**16),
    st.data(),
)
def test_random_dag_matches_central_differences(n_inputs, raw_steps, shape, seed, data):
    # Indices are taken modulo the pool size, so every program is valid; reuse gives fan-out
    # and diamonds, and every value feeds the output.
    steps = []
    for k, s in enumerate(raw_steps):
        size = n_inputs + k
        steps.append((s[0], s[1], *(i % size for i in s[2:])))
    program = Program(n_inputs, steps, seed)
    inputs = [data.draw(arrays(shape, -1.5, 1.5)) for _ in range(n_inputs)]
    tensors = [leaf(a) for a in inputs]
    out = program.tensor(*tensors)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), program.numpy(*inputs), rtol=1e-10, atol=1e-10)
    out.backward()
    for i, t in enumerate(tensors):

        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return program.numpy(*args)

        expected = numeric_grad(f, inputs[i])
        assert_close(t.grad, expected, rtol=1e-4, atol=1e-5, what=f"input {i} of {steps}")


# -- broadcasting ---------------------------------------------------------------------------------
def test_broadcast_vector_plus_matrix():
    a = leaf([1.0, 2.0, 3.0])
    b = leaf(np.ones((2, 3)))
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))


def test_broadcast_column_times_row():
    a = leaf([[1.0], [2.0]])
    b = leaf([[1.0, 10.0, 100.0]])
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1) and b.grad.shape == (1, 3)
    np.testing.assert_array_equal(a.grad, [[111.0], [111.0]])
    np.testing.assert_array_equal(b.grad, [[3.0, 3.0, 3.0]])


@FAST
@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 1000))
def test_bias_column_broadcast_gradient_is_the_sum_over_columns(n, m, seed):
    # The chapter's z = w a + b with samples in columns: dC/db = sum over the mini-batch (BP3).
    rng = np.random.default_rng(seed)
    wa = rng.normal(size=(n, m))
    b = leaf(rng.normal(size=(n, 1)))
    upstream = rng.normal(size=(n, m))
    z = al.Tensor(wa) + b
    (z * upstream).sum().backward()
    assert b.grad.shape == (n, 1)
    np.testing.assert_allclose(b.grad, upstream.sum(axis=1, keepdims=True))


@FAST
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.sampled_from(["add", "sub", "mul", "div", "pow", "where"]),
    st.data(),
)
def test_broadcast_gradients_are_summed_to_input_shapes(shapes, op, data):
    sa, sb = shapes.input_shapes
    a0 = data.draw(arrays(sa, 0.5, 2.0))
    b0 = data.draw(arrays(sb, 0.5, 2.0))
    w = data.draw(arrays(shapes.result_shape, -1.0, 1.0))
    fns = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": lambda a, b: a**b,
        "where": None,
    }
    size = int(np.prod(shapes.result_shape, dtype=int))
    mask = (np.arange(size) % 2 == 0).reshape(shapes.result_shape)
    if op == "where":

        def fn(a, b):
            if isinstance(a, al.Tensor):
                return al.where(mask, a, b)
            return np.where(mask, a, b)

    else:
        fn = fns[op]
    a, b = leaf(a0), leaf(b0)
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    (out * w).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    assert_close(a.grad, numeric_grad(lambda v: np.sum(fn(v, b0) * w), a0), what=f"{op} a")
    assert_close(b.grad, numeric_grad(lambda v: np.sum(fn(a0, v) * w), b0), what=f"{op} b")


@FAST
@given(
    hnp.mutually_broadcastable_shapes(signature="(n?,k),(k,m?)->(n?,m?)", max_dims=3, max_side=3),
    st.data(),
)
def test_batched_matmul_gradients(shapes, data):
    sa, sb = shapes.input_shapes
    a0, b0 = data.draw(arrays(sa)), data.draw(arrays(sb))
    w = data.draw(arrays(shapes.result_shape))
    a, b = leaf(a0), leaf(b0)
    out = a @ b
    assert out.shape == np.matmul(a0, b0).shape
    (out * w).sum().backward()
    assert_close(a.grad, numeric_grad(lambda v: np.sum(np.matmul(v, b0) * w), a0), what="a")
    assert_close(b.grad, numeric_grad(lambda v: np.sum(np.matmul(a0, v) * w), b0), what="b")


# -- accumulation across calls, zero_grad, released graphs ---------------------------------------
def test_leaves_accumulate_across_backward_calls_and_zero_grad_clears():
    x = leaf([1.0, 2.0])
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad, k * 2 * np.array([1.0, 2.0]))
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_second_backward_through_a_released_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.copy()
    with pytest.raises(errors.GraphReleasedError) as info:
        y.backward()
    assert isinstance(info.value, errors.BackwardError)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    assert "retain_graph" in str(info.value)
    np.testing.assert_array_equal(x.grad, first)  # the failed call changed nothing


def test_backward_through_a_released_shared_subgraph_raises():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    (h * 3.0).sum().backward()
    with pytest.raises(errors.GraphReleasedError, match="retain_graph"):
        (h * 4.0).sum().backward()


@FAST
@given(shapes_any.flatmap(arrays), st.integers(2, 4))
def test_retain_graph_allows_repeated_backward_and_gradients_add_up(array, times):
    x = leaf(array)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    once = x.grad.copy()
    for k in range(2, times + 1):
        y.backward(retain_graph=True)
        # k bitwise-equal terms added one by one: within (k - 1) eps k|once|; k * once rounds
        # once more (eps k|once|).
        assert_within(x.grad, k * once, sum_bound(k * np.abs(once), k), f"{k} backward calls")
    y.backward()  # the last one may release
    with pytest.raises(errors.GraphReleasedError):
        y.backward()


# -- deep and wide graphs -----------------------------------------------------------------------
def test_million_op_chain_backpropagates_without_recursion():
    n = 1_000_000
    c = 1.0000001
    limit = sys.getrecursionlimit()
    start = time.perf_counter()
    gc.disable()  # building a million objects triggers many full collections: pure overhead
    try:
        x = leaf(1.0)  # a scalar, as in the issue
        y = x
        for _ in range(n):
            y = y * c
        y.backward()
    finally:
        gc.enable()
    elapsed = time.perf_counter() - start
    assert sys.getrecursionlimit() == limit  # no cheating by raising it
    np.testing.assert_allclose(y.item(), c**n, rtol=1e-9)
    np.testing.assert_allclose(x.grad, c**n, rtol=1e-9)
    assert elapsed < 60, f"a million-op chain took {elapsed:.1f}s"


def test_deep_chain_with_fan_out_at_every_level():
    # y <- 0.5 y + 0.5 y : each level uses y twice, 10,000 levels deep
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y * 0.5 + y * 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])


def _tree_sum(values):
    while len(values) > 1:
        paired = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
        values = paired + values[len(values) - len(values) % 2 :]
    return values[0]


def test_wide_graph():
    n = 20_000
    leaves = [leaf([float(i)]) for i in range(n)]
    hub = leaf([2.0])
    total = _tree_sum([t * hub for t in leaves]).sum()  # hub fans out n times
    total.backward()
    np.testing.assert_allclose(hub.grad, [sum(range(n))])
    assert all(float(t.grad[0]) == 2.0 for t in leaves)


def _backward_seconds(y):
    start = time.perf_counter()
    y.backward()
    return time.perf_counter() - start


@pytest.mark.parametrize(("op", "n"), [("concatenate", 1500), ("stack", 4000)])
def test_variadic_op_backward_is_linear_in_its_inputs(op, n):
    chain_x = leaf([1.0])
    chain = chain_x
    for _ in range(n):
        chain = chain + 1.0
    reference_seconds = _backward_seconds(chain.sum())  # n nodes, linear time
    leaves = [leaf([float(i)]) for i in range(n)]
    y = getattr(al, op)(leaves).sum()
    seconds = _backward_seconds(y)
    assert all(float(t.grad[0]) == 1.0 for t in leaves)
    assert seconds < 10 * reference_seconds + 0.05, (
        f"{op} of {n} inputs: backward {seconds:.3f}s vs {reference_seconds:.3f}s for a chain "
        f"of {n} adds"
    )


def test_deep_binary_tree_reduction():
    n = 2**12
    leaves = [leaf([1.0 + i % 7]) for i in range(n)]
    level = leaves
    while len(level) > 1:
        level = [level[i] * level[i + 1] ** 0.0 + level[i + 1] for i in range(0, len(level), 2)]
    level[0].sum().backward()
    # d/d leaf_0: derivative of a*(b**0) + b w.r.t. a is 1; leaf_1 gets 1 (+ 0 from b**0).
    assert all(float(t.grad[0]) == 1.0 for t in leaves)


# -- retain_grad and hooks ---------------------------------------------------------------------
def test_retain_grad_on_non_leaves():
    x = leaf([1.0, -2.0, 3.0])
    z = x * 2.0
    z.retain_grad()
    a = z.tanh()
    a.retain_grad()
    other = x + 1.0  # not retained
    y = (a * 3.0).sum() + other.sum()
    y.backward()
    np.testing.assert_allclose(a.grad, [3.0, 3.0, 3.0])
    np.testing.assert_allclose(z.grad, 3.0 * (1 - np.tanh([2.0, -4.0, 6.0]) ** 2))
    assert other.grad is None
    np.testing.assert_allclose(x.grad, 2.0 * z.grad + 1.0)


def test_retain_grad_returns_the_tensor_and_the_grad_accumulates():
    x = leaf([1.0, 2.0])
    z = (x * 2.0).retain_grad()
    assert isinstance(z, al.Tensor)
    y = (z * z).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(z.grad, 2 * z.data)
    y.backward()
    np.testing.assert_allclose(z.grad, 4 * z.data)


def test_hook_can_modify_the_gradient():
    x = leaf([1.0, 2.0])
    z = x * 3.0
    z.register_hook(lambda g: g * 10.0)
    z.sum().backward()
    np.testing.assert_allclose(x.grad, [30.0, 30.0])


def test_hook_sees_the_total_gradient_and_none_keeps_it():
    x = leaf([1.0, 2.0])
    z = x * 1.0
    seen = []
    z.register_hook(lambda g: seen.append(np.array(g, copy=True)))
    (z * 2.0 + z * 5.0).sum().backward()  # z fans out: its hook runs once, on the total
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [7.0, 7.0])
    np.testing.assert_allclose(x.grad, [7.0, 7.0])


def test_hooks_on_leaves_and_chained_hooks():
    x = leaf([1.0, 2.0])
    calls = []
    x.register_hook(lambda g: calls.append("a") or g + 1.0)
    x.register_hook(lambda g: calls.append("b") or g * 2.0)
    (x * 3.0).sum().backward()
    assert calls == ["a", "b"]
    np.testing.assert_allclose(x.grad, [8.0, 8.0])  # (3 + 1) * 2


def test_hook_handle_remove():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 100.0)
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad, [100.0])
    handle.remove()
    handle.remove()  # idempotent
    x.zero_grad()
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])


@pytest.mark.parametrize("bad_shape", [(4,), (3, 1), (1,), ()])
@pytest.mark.parametrize("on", ["leaf", "intermediate"])
def test_hook_returning_the_wrong_shape_raises_and_changes_nothing(on, bad_shape):
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([1.0, 1.0, 1.0])
    (x * w).sum().backward()  # some existing .grad that must survive
    before_x, before_w = x.grad.copy(), w.grad.copy()
    z = x * w
    target = x if on == "leaf" else z
    z.retain_grad()
    handle = target.register_hook(lambda g: np.zeros(bad_shape))
    with pytest.raises(errors.InvalidGradientError) as info:
        (z * 2.0).sum().backward()
    message = str(info.value)
    assert str(bad_shape) in message and "(3,)" in message
    assert isinstance(info.value, ValueError)
    np.testing.assert_array_equal(x.grad, before_x)
    np.testing.assert_array_equal(w.grad, before_w)
    assert z.grad is None
    handle.remove()


def test_failed_backward_leaves_the_graph_usable():
    x = leaf([1.0, 2.0, 3.0])
    y = (x.exp() * 2.0).sum()
    handle = x.register_hook(lambda g: np.zeros(4))
    with pytest.raises(errors.InvalidGradientError):
        y.backward()
    handle.remove()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0, 3.0]))


def test_hook_on_tensor_without_grad_or_non_callable_is_refused():
    with pytest.raises(ValueError):
        al.Tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError):
        leaf([1.0]).register_hook("not callable")


# -- no_grad / enable_grad ---------------------------------------------------------------------
def test_no_grad_context_manager():
    x = leaf([1.0])
    assert al.is_grad_enabled()
    with al.no_grad():
        assert not al.is_grad_enabled()
        y = x * 2.0
    assert al.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.op is None
    with pytest.raises(errors.BackwardError, match="require"):
        y.sum().backward()


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = leaf([1.0])

    @al.no_grad()
    def f(t):
        assert not al.is_grad_enabled()
        return t * 2.0

    @al.no_grad
    def g(t):
        return t * 3.0

    assert not f(x).requires_grad
    assert not g(x).requires_grad
    assert al.is_grad_enabled()
    np.testing.assert_array_equal(g(x).data, [3.0])


def test_no_grad_decorator_reentrant_and_recursive():
    @al.no_grad()
    def depth(n):
        assert not al.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5
    assert al.is_grad_enabled()


def test_no_grad_nesting_and_enable_grad():
    x = leaf([1.0])
    with al.no_grad():
        with al.no_grad():
            assert not al.is_grad_enabled()
        assert not al.is_grad_enabled()
        with al.enable_grad():
            assert al.is_grad_enabled()
            y = x * 2.0
        assert not al.is_grad_enabled()
    assert al.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_no_grad_restored_after_an_exception():
    with pytest.raises(RuntimeError), al.no_grad():
        raise RuntimeError("boom")
    assert al.is_grad_enabled()
    with pytest.raises(RuntimeError), al.detect_anomaly():
        raise RuntimeError("boom")
    assert not al.modes.is_anomaly_enabled()


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(errors.BackwardError):
        al.Tensor([1.0]).backward()
    with pytest.raises(errors.BackwardError):
        (al.Tensor([1.0]) * 2).sum().backward()


# -- anomaly mode ---------------------------------------------------------------------------------
def test_anomaly_names_log_in_forward():
    with al.detect_anomaly():
        with pytest.raises(errors.AnomalyError) as info:
            al.log(leaf([1.0, 0.0]))
    assert "log" in str(info.value) and "(2,)" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_anomaly_names_div_for_zero_over_zero():
    with al.detect_anomaly():
        with pytest.raises(errors.AnomalyError, match="div") as info:
            leaf([0.0, 1.0]) / al.Tensor([0.0, 1.0])
    assert "nan" in str(info.value).lower()


def test_anomaly_names_the_op_whose_backward_makes_nan():
    x = leaf([0.0, 1.0])
    with al.detect_anomaly():
        y = (x**0.5) * al.Tensor([0.0, 1.0])  # forward finite: 0 * 0 and 1 * 1
        with pytest.raises(errors.AnomalyError) as info:
            y.sum().backward()  # pow's vjp: 0 * 0.5 * 0^-0.5 = 0 * inf = nan
    message = str(info.value)
    assert "pow" in message and "backward" in message
    assert x.grad is None


def test_anomaly_as_decorator_and_quiet_when_finite():
    @al.detect_anomaly()
    def f(v):
        assert al.modes.is_anomaly_enabled()
        return (v.exp() * v).sum()

    x = leaf([1.0, 2.0])
    f(x).backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    assert not al.modes.is_anomaly_enabled()


def test_outside_anomaly_mode_log_zero_is_minus_inf_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = leaf([0.0, 1.0])
        y = al.log(x)
        np.testing.assert_array_equal(y.data, [-np.inf, 0.0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [np.inf, 1.0])


# -- backward(grad=...) ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,)])
def test_non_scalar_backward_without_grad(shape):
    x = leaf(np.ones(shape))
    with pytest.raises(errors.NonScalarBackwardError) as info:
        (x * 2.0).backward()
    assert str(shape) in str(info.value)
    assert isinstance(info.value, errors.BackwardError)
    assert x.grad is None


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_backward_without_grad(shape):
    x = leaf(np.full(shape, 2.0))
    (x * x).backward()
    np.testing.assert_allclose(x.grad, np.full(shape, 4.0))


@pytest.mark.parametrize("grad_shape", [(3,), (2, 3, 1), (), (3, 2)])
def test_backward_with_a_wrong_shape_grad(grad_shape):
    x = leaf(np.ones((2, 3)))
    with pytest.raises(errors.InvalidGradientError) as info:
        (x * 2.0).backward(grad=np.ones(grad_shape))
    assert str(grad_shape) in str(info.value) and "(2, 3)" in str(info.value)
    assert x.grad is None


@pytest.mark.parametrize("through", ["op", "leaf", "identity_ops"])
def test_backward_grad_is_neither_mutated_nor_aliased(through):
    x = leaf([1.0, 2.0, 3.0])
    if through == "op":
        y = x * 2.0
    elif through == "leaf":
        y = x
    else:
        y = (x + 0.0).reshape(3)
    upstream = np.array([1.0, -1.0, 0.5])
    keep = upstream.copy()
    y.backward(grad=upstream)
    y2 = x + 0.0
    y2.backward(grad=upstream)  # accumulate too
    np.testing.assert_array_equal(upstream, keep)
    assert not np.shares_memory(x.grad, upstream)
    x.grad[...] = 123.0
    np.testing.assert_array_equal(upstream, keep)


def test_backward_accepts_lists_and_tensors_as_grad():
    x = leaf([1.0, 2.0])
    (x * 3.0).backward(grad=[1.0, 2.0])
    np.testing.assert_allclose(x.grad, [3.0, 6.0])
    x.zero_grad()
    (x * 3.0).backward(grad=al.Tensor([1.0, 1.0]))
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


# -- .grad ownership ----------------------------------------------------------------------------
BUILDERS = {
    "add": lambda a, b: (a + b).sum(),
    "sub": lambda a, b: (a - b).sum(),
    "broadcast": lambda a, b: (a.reshape(3, 1) + b.reshape(1, 3)).sum(),
    "reshape": lambda a, b: (a.reshape(1, 3) + b.reshape(3, 1).T).sum(),
    "transpose": lambda a, b: (a.reshape(3, 1).T + b).sum(),
    "slices": lambda a, b: (al.concatenate([a, b])[1:5]).sum() + a[0] + b[2],
    "stack": lambda a, b: al.stack([a, b]).sum(),
    "mean": lambda a, b: (a + b).mean() + a.sum(),
    "same": lambda a, b: (a + a + b).sum(),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_grads_never_alias_each_other_and_are_writable(name):
    a = leaf([1.0, 2.0, 3.0])
    b = leaf([4.0, 5.0, 6.0])
    mid = (a * 1.0).retain_grad()
    y = BUILDERS[name](mid, b)
    y.backward()
    grads = [a.grad, b.grad, mid.grad]
    for g in grads:
        assert isinstance(g, np.ndarray)
        assert g.flags.writeable
        assert not np.shares_memory(g, a.data) and not np.shares_memory(g, b.data)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.shares_memory(grads[i], grads[j]), (i, j)
    keep_b = b.grad.copy()
    a.grad += 1000.0
    np.testing.assert_array_equal(b.grad, keep_b)


def test_grads_do_not_alias_forward_data():
    x = leaf([1.0, 2.0])
    y = x.reshape(2, 1)  # a view of x.data
    y.retain_grad()
    (y * 1.0).sum().backward()
    x.grad[...] = 7.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(y.grad, [[1.0], [1.0]])


# -- gradients() and grad() -----------------------------------------------------------------------
def test_gradients_does_not_touch_grad():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    h = (x * w).retain_grad()
    y = (h * h).sum()
    gx, gw = al.gradients(y, [x, w])
    np.testing.assert_allclose(gx, 2 * (x.data * w.data) * w.data)
    np.testing.assert_allclose(gw, 2 * (x.data * w.data) * x.data)
    assert x.grad is None and w.grad is None and h.grad is None


def test_gradients_with_respect_to_intermediates():
    x = leaf([0.5, -0.5])
    h = x.tanh()
    z = h * 3.0
    y = (z * z).sum()
    gh, gz, gx = al.gradients(y, [h, z, x])
    np.testing.assert_allclose(gz, 2 * z.data)
    np.testing.assert_allclose(gh, 6 * z.data)
    np.testing.assert_allclose(gx, 6 * z.data * (1 - h.data**2))
    assert x.grad is None


def test_gradients_unused_inputs_and_multiple_outputs():
    x = leaf([1.0, 2.0])
    unused = leaf([5.0])
    y1 = (x * 2.0).sum()
    y2 = (x * x).sum()
    gx, gu = al.gradients([y1, y2], [x, unused])
    np.testing.assert_allclose(gx, 2.0 + 2 * x.data)
    np.testing.assert_array_equal(gu, [0.0])
    with pytest.raises(errors.BackwardError):
        al.gradients((x * 1.0).sum(), [unused], allow_unused=False)


def test_gradients_with_grad_outputs_and_create_graph():
    x = leaf([1.0, 2.0])
    y = x * x
    (g,) = al.gradients(y, [x], grad_outputs=np.array([1.0, 3.0]), create_graph=True)
    assert isinstance(g, al.Tensor) and g.requires_grad
    np.testing.assert_allclose(g.data, [2.0, 12.0])
    assert x.grad is None
    g.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 6.0])


def test_gradients_with_too_few_grad_outputs():
    x = leaf([1.0, 2.0])
    outputs = [x * 2.0, x * 3.0]
    try:
        (g,) = al.gradients(outputs, [x], grad_outputs=[np.ones(2)])
    except errors.AutogradLiteError:
        return  # refusing is right
    np.testing.assert_allclose(g, [5.0, 5.0])  # never [2, 2]


def test_gradients_of_a_non_differentiable_output():
    with pytest.raises(errors.BackwardError):
        al.gradients(al.Tensor([1.0]).sum(), [leaf([1.0])])


def test_returned_gradients_are_independent_writable_arrays():
    g = al.grad(lambda x: x.sum())(np.ones(3))
    assert g.flags.writeable
    g *= 0.5
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ga, gb = al.gradients((a + b).sum(), [a, b])
    assert not np.shares_memory(ga, gb)


def test_grad_and_value_and_grad():
    def f(x, y):
        return (x * x * y).sum()

    x0, y0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(al.grad(f)(x0, y0), 2 * x0 * y0)
    gx, gy = al.grad(f, argnums=(0, 1))(x0, y0)
    np.testing.assert_allclose(gy, x0 * x0)
    value, g = al.value_and_grad(f, argnums=1)(x0, y0)
    np.testing.assert_allclose(value, np.sum(x0 * x0 * y0))
    np.testing.assert_allclose(g, x0 * x0)
    with pytest.raises(errors.BackwardError):
        al.grad(lambda x: x * 2.0)(x0)  # not a scalar


# -- user-defined ops ---------------------------------------------------------------------------
class Mul(al.Function):
    seen_needs: list = []

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        Mul.seen_needs.append(ctx.needs_input_grad)
        a, b = ctx.saved_tensors
        return grad * b, grad * a


def test_function_forward_backward_and_composition():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    assert Mul.apply(a, b).op == "Mul"
    out = Mul.apply(a.tanh(), b) * 2.0 + a  # composed with built-ins on both sides
    out.sum().backward()
    np.testing.assert_allclose(a.grad, 2 * b.data * (1 - np.tanh(a.data) ** 2) + 1)
    np.testing.assert_allclose(b.grad, 2 * np.tanh(a.data))


def test_function_needs_input_grad_and_constants():
    Mul.seen_needs.clear()
    a = leaf([1.0, 2.0])
    Mul.apply(a, np.array([5.0, 6.0])).sum().backward()
    Mul.apply(a, al.Tensor([5.0, 6.0])).sum().backward()
    assert Mul.seen_needs == [(True, False), (True, False)]
    np.testing.assert_allclose(a.grad, [10.0, 12.0])


def test_function_returning_none_for_an_input():
    class HalfGrad(al.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return None, grad

    a, b = leaf([1.0]), leaf([2.0])
    HalfGrad.apply(a, b).sum().backward()
    assert a.grad is None
    np.testing.assert_array_equal(b.grad, [1.0])


def test_function_with_keyword_parameter_and_a_single_gradient():
    class Scale(al.Function):
        @staticmethod
        def forward(ctx, a, factor=1.0):
            ctx.factor = factor
            return a * factor

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.factor  # one input: a bare gradient, not a tuple

    a = leaf([1.0, 2.0])
    Scale.apply(a, factor=3.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])


@pytest.mark.parametrize("returned", [1, 3])
def test_function_returning_the_wrong_number_of_gradients(returned):
    class Wrong(al.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return (grad,) * returned

    a, b = leaf([1.0]), leaf([2.0])
    with pytest.raises(errors.InvalidGradientError) as info:
        Wrong.apply(a, b).sum().backward()
    assert "Wrong" in str(info.value) and str(returned) in str(info.value)
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("shape", [(4,), (3, 2), (), (2,), (1, 4)])
def test_function_returning_a_wrong_shape(shape):
    class BadShape(al.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(shape)

    a = leaf([1.0, 2.0, 3.0])
    with pytest.raises(errors.InvalidGradientError) as info:
        BadShape.apply(a).sum().backward()
    assert "BadShape" in str(info.value) and "(3,)" in str(info.value)
    assert a.grad is None


@pytest.mark.parametrize("shape", [(5, 3), (3, 3)])
def test_user_gradient_larger_than_the_output_is_rejected(shape):
    class TooBig(al.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(shape)

    a = leaf([1.0, 2.0, 3.0])
    with pytest.raises(errors.InvalidGradientError):
        TooBig.apply(a).sum().backward()


def test_primitive_with_defvjp_and_parameters():
    @al.primitive
    def scaled_cube(x, factor):
        return factor * x**3

    scaled_cube.defvjp(lambda g, out, x, factor: g * 3 * factor * x**2)
    x = leaf([1.0, 2.0])
    y = scaled_cube(x, 2.0) + scaled_cube(x, factor=1.0)
    assert y.op == "add"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 9 * x.data**2)


def test_primitive_composes_with_builtins_and_broadcasting():
    @al.primitive(name="my_add")
    def my_add(a, b):
        return a + b

    my_add.defvjp(lambda g, out, a, b: g, lambda g, out, a, b: g)  # broadcast-shaped grads
    a = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    out = my_add(a.exp(), b)
    assert out.op == "my_add"
    out.sum().backward()
    np.testing.assert_allclose(a.grad, np.exp(a.data))
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])


def test_primitive_vjp_returning_garbage():
    @al.primitive
    def twice(x):
        return 2 * x

    x = leaf([1.0, 2.0])
    for bad in ("abc", np.ones(5), [[1.0, 2.0], [3.0]], object()):
        twice.defvjp(lambda g, out, x, bad=bad: bad)
        with pytest.raises(errors.InvalidGradientError) as info:
            twice(x).sum().backward()
        assert "twice" in str(info.value)
        assert x.grad is None


def test_primitive_without_vjp_refuses_tensors_that_require_grad():
    @al.primitive
    def novjp(x):
        return x * 2

    with pytest.raises(errors.AutogradLiteError) as info:
        novjp(leaf([1.0]))
    assert "novjp" in str(info.value)


# -- max: tied maxima share the gradient equally ---------------------------------------------
@st.composite
def tied_reductions(draw):
    """An array of few distinct values (so maxima tie), an axis (None or one axis), keepdims,
    and an upstream gradient of the reduced shape."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.0])))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    keepdims = draw(st.booleans())
    reduced = np.max(x, axis=axis, keepdims=keepdims).shape
    g = draw(hnp.arrays(np.float64, reduced, elements=st.floats(-3, 3, allow_subnormal=False)))
    return x, axis, keepdims, g


@FAST
@given(tied_reductions())
@example((np.array([[2.0, 0.0, 2.0], [1.0, 1.0, 1.0]]), None, False, np.array(3.0)))
@example((np.array([[2.0, 0.0, 2.0], [1.0, 1.0, 1.0]]), 1, False, np.array([3.0, -1.5])))
@example((np.array([[2.0, 0.0, 2.0], [1.0, 1.0, 1.0]]), 0, True, np.array([[3.0, 1.0, 2.0]])))
def test_max_shares_the_gradient_equally_among_tied_maxima(case):
    x_value, axis, keepdims, g = case
    x = leaf(x_value)
    x.max(axis=axis, keepdims=keepdims).backward(grad=g)
    winners = x_value == np.max(x_value, axis=axis, keepdims=True)
    count = winners.sum(axis=axis, keepdims=True)
    upstream = g if keepdims or axis is None else np.expand_dims(g, axis)
    share = np.broadcast_to(upstream, x_value.shape)
    assert np.all(x.grad[~winners] == 0.0), "an element below the maximum got a gradient"
    # Every winner of a slice gets g/k (computed as g/k or as g·(1/k): two roundings apart at
    # most, so within eps relative) ...
    expected = share / count
    gap = np.abs(np.where(winners, x.grad - expected, 0.0))
    assert np.all(gap <= np.finfo(np.float64).eps * np.abs(expected)), "ties not shared equally"
    # ... and the shares add up to the slice's upstream gradient: k equal terms g/k sum to g
    # within k roundings (one for g/k, k - 1 for the additions), so |Σ - g| <= k·eps·|g|.
    total = x.grad.sum(axis=axis, keepdims=True)
    bound = count * np.finfo(np.float64).eps * np.abs(upstream)
    assert np.all(np.abs(total - upstream) <= bound), (total, upstream)
