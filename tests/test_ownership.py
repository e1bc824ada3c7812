"""A gradient handed out is owned (issue 12, section 3).

No hook, user-defined vjp or ``.grad`` reader can alter another tensor's gradient: hooks and user
vjps get read-only views (``g *= 100`` is refused with InvalidGradientError, since the same array
may be another tensor's gradient), what they return is copied, and every ``.grad``, retained
gradient and returned gradient is an array of its own. ``detect_anomaly`` also sees NaN/inf made
by a hook, given as the output's gradient, or coming from a leaf.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given

import autograd_lite as al
from autograd_lite import errors
from autograd_lite.testing.graph import Graph, Step, Var, call_op
from autograd_lite.testing.strategies import graphs


def leaf(values: Any, dtype: Any = np.float64) -> al.Tensor:
    return al.Tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- hooks ------------------------------------------------------------------------------------
def test_a_hook_that_writes_into_its_argument_is_refused_and_changes_no_gradient() -> None:
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])

    def h(g: np.ndarray) -> None:
        g *= 100  # before: y.grad became 100 as well (x and y shared one array)

    x.register_hook(h)
    out = ((x + y) * 1.0).sum()
    with pytest.raises(errors.InvalidGradientError, match=r"hook 'h'.*in place.*g \* 2"):
        out.backward(retain_graph=True)
    assert x.grad is None and y.grad is None  # nothing committed


def test_a_hook_on_an_intermediate_cannot_write_into_the_gradient_either() -> None:
    x = leaf([1.0, 2.0])
    z = x * 3.0

    def h(g: np.ndarray) -> None:
        g[0] = 0.0

    z.register_hook(h)
    with pytest.raises(errors.InvalidGradientError, match="in place"):
        (z + z).sum().backward()


def test_an_array_a_hook_keeps_cannot_change_a_gradient_later() -> None:
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    kept: list[np.ndarray] = []
    x.register_hook(kept.append)
    ((x + y) * 1.0).sum().backward()
    with pytest.raises(ValueError, match="read-only"):
        kept[0] *= 100
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_a_returned_gradient_is_copied_out_of_the_hook() -> None:
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    mine = np.array([5.0, 6.0])
    x.register_hook(lambda g: mine)
    y.register_hook(lambda g: mine)  # the same array for both
    ((x + y) * 1.0).sum().backward()
    assert not np.shares_memory(x.grad, mine) and not np.shares_memory(y.grad, mine)
    assert not np.shares_memory(x.grad, y.grad)
    mine[:] = 0.0
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


@pytest.mark.parametrize("returned", [np.int64, np.float64, np.float16])
def test_a_hook_returning_another_dtype_is_cast_to_the_tensors(returned: Any) -> None:
    x = leaf([1.0, 2.0], dtype=np.float32)
    x.register_hook(lambda g: (np.asarray(g) * 3).astype(returned))
    (x * 1.0).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


@pytest.mark.parametrize("returned", [np.complex128, np.bool_, object])
def test_a_hook_returning_a_non_real_dtype_is_refused(returned: Any) -> None:
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.asarray(g).astype(returned))
    with pytest.raises(errors.InvalidGradientError, match="dtype"):
        (x * 1.0).sum().backward()
    assert x.grad is None


# -- user-defined vjps ------------------------------------------------------------------------
def _doubling_primitive(vjp: Any) -> Any:
    @al.primitive
    def double(a: np.ndarray) -> np.ndarray:
        return 2 * a

    double.defvjp(vjp)
    return double


def test_a_user_vjp_that_writes_into_g_is_refused() -> None:
    def vjp(g: np.ndarray, out: np.ndarray, a: np.ndarray) -> np.ndarray:
        g *= 2  # g is also y's gradient below
        return g

    double = _doubling_primitive(vjp)
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    s = x * 1.0
    with pytest.raises(errors.InvalidGradientError, match=r"double: its vjp.*in place"):
        (double(s) + s * 0.0 + y).sum().backward()
    assert x.grad is None and y.grad is None


def test_a_function_backward_that_writes_into_grad_is_refused() -> None:
    class Twice(al.Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
            return 2 * a

        @staticmethod
        def backward(ctx: Any, grad: np.ndarray) -> np.ndarray:
            grad *= 2
            return grad

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = x + y
    with pytest.raises(errors.InvalidGradientError, match=r"Twice: its vjp.*in place"):
        (Twice.apply(z) + z).sum().backward()


def test_an_array_a_user_vjp_keeps_or_returns_twice_is_not_handed_out() -> None:
    kept = np.array([7.0, 8.0])
    double = _doubling_primitive(lambda g, out, a: kept)

    class Both(al.Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return a + b

        @staticmethod
        def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            twice = grad * 1.0
            return twice, twice  # one array for both inputs

    x, a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0])
    (double(x) + Both.apply(a, b)).sum().backward()
    assert not np.shares_memory(x.grad, kept)
    assert not np.shares_memory(a.grad, b.grad)
    kept[:] = 0.0
    a.grad *= 0.5
    np.testing.assert_array_equal(x.grad, [7.0, 8.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


# -- the engine's own gradients -----------------------------------------------------------------
def test_the_leaves_of_an_add_get_arrays_of_their_own() -> None:
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ((a + b) * 2).sum().backward()  # mul's vjp makes a fresh array; add hands it to a and b
    a.grad *= 0.5
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])


def _add_then_double() -> Graph:
    """``((v0 + v1) * 2).sum()``: the graph in which a forgotten ownership check shows."""
    value = np.array([1.0, 2.0])
    return Graph(
        [
            Step("leaf", shape=(2,), value=value),
            Step("leaf", shape=(2,), value=value + 2.0),
            Step("add", (Var(0), Var(1)), shape=(2,)),
            Step("mul", (Var(2), 2.0), shape=(2,)),
            Step("sum", (Var(3),), shape=()),
        ],
        output=4,
    )


def _assert_disjoint(arrays: list[tuple[str, Any]]) -> None:
    for (name_a, a), (name_b, b) in combinations(arrays, 2):
        assert not np.shares_memory(a, b), f"{name_a} and {name_b} share memory"


def _retaining_call(made: list[al.Tensor]) -> Any:
    def call(op: str, args: Any, params: dict[str, Any]) -> Any:
        value = call_op(op, args, params)
        if value.requires_grad:
            value.retain_grad()
            made.append(value)
        return value

    return call


@given(graph=graphs())
@example(graph=_add_then_double())
def test_no_two_gradients_share_memory_after_backward(graph: Graph) -> None:
    leaves = graph.leaves()
    made: list[al.Tensor] = []
    out = graph.evaluate(leaves, _retaining_call(made))
    for _ in range(2):  # the first .grad, then the sum into it
        out.sum().backward(retain_graph=True)
        named = [(f"v{i}.data", x.data) for i, x in enumerate(leaves)]
        named += [(f"leaf {i}.grad", x.grad) for i, x in enumerate(leaves) if x.grad is not None]
        named += [(f"retained {i}.grad", t.grad) for i, t in enumerate(made)]
        _assert_disjoint(named)


@given(graph=graphs())
@example(graph=_add_then_double())
def test_no_two_returned_gradients_share_memory(graph: Graph) -> None:
    leaves = graph.leaves()
    made: list[al.Tensor] = []
    out = graph.evaluate(leaves, _retaining_call(made)).sum()
    wrt = [*leaves, *made, *leaves]  # (each leaf twice: two answers, two arrays)
    grads = al.gradients(out, wrt)
    _assert_disjoint(
        [(f"v{i}.data", x.data) for i, x in enumerate(leaves)]
        + [(f"gradient {i}", g) for i, g in enumerate(grads)]
    )


@given(graph=graphs())
@example(graph=_add_then_double())
def test_no_two_gradients_of_grad_and_its_replay_share_memory(graph: Graph) -> None:
    values = [x.data for x in graph.leaves()]
    argnums = tuple(range(len(values)))

    def f(*xs: al.Tensor) -> al.Tensor:
        return graph(*xs).sum()

    eager = al.grad(f, argnums=argnums)
    replayed = al.grad(f, argnums=argnums, replay=True)
    calls = [eager(*values), replayed(*values), replayed(*values), replayed(*values)]
    named = [(f"argument {i}", v) for i, v in enumerate(values)]
    for c, grads in enumerate(calls):
        named += [(f"call {c} gradient {i}", g) for i, g in enumerate(grads)]
    _assert_disjoint(named)
    for grads in calls[1:]:  # and the replay still agrees with the eager graph
        for g, e in zip(grads, calls[0]):
            np.testing.assert_array_equal(g, e)


# -- detect_anomaly sees what enters the graph ---------------------------------------------------
def test_anomaly_reports_a_nan_made_by_a_hook() -> None:
    x = leaf([1.0, 2.0])
    z = x * 3.0

    def spoil(g: np.ndarray) -> np.ndarray:
        return g * np.nan

    z.register_hook(spoil)
    with al.detect_anomaly(), pytest.raises(errors.AnomalyError, match="hook 'spoil'"):
        z.sum().backward()
    assert x.grad is None


def test_anomaly_reports_an_inf_that_comes_from_a_leaf() -> None:
    x = leaf([1.0, np.inf])
    with al.detect_anomaly(), pytest.raises(errors.AnomalyError, match=r"mul.*input 0.*inf"):
        x * 2.0  # before: nothing was reported, the inf "was not this op's"


def test_anomaly_reports_a_nan_given_as_the_outputs_gradient() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with al.detect_anomaly(), pytest.raises(errors.AnomalyError, match="given for an output"):
        y.backward(grad=np.array([1.0, np.nan]))


def test_a_hook_on_a_zero_dimensional_gradient_cannot_write_into_it_either() -> None:
    x, y = leaf(1.0), leaf(2.0)

    def h(g: np.ndarray) -> None:
        g *= 100  # before: on a NumPy scalar this silently did nothing

    x.register_hook(h)
    with pytest.raises(errors.InvalidGradientError, match="in place"):
        ((x + y) * 1.0).backward()
