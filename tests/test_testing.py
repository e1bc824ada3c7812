"""Tests of the testing tools themselves: gradcheck, gradgradcheck, the strategies, profiles."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite.errors import HigherOrderError, InvalidInputError
from autograd_lite.testing import GradcheckError, gradcheck, gradgradcheck
from autograd_lite.testing.graph import Graph, Step, Var, call_op
from autograd_lite.testing.profiles import PROFILES, profile_name
from autograd_lite.testing.strategies import (
    BroadcastShapes,
    broadcastable_shapes,
    graphs,
    mlps,
    module_inputs,
    mutually_broadcastable_shapes,
    shapes,
    tensors,
)

FIND = settings(
    max_examples=500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
FIND_FAST = settings(FIND, phases=[Phase.generate])


def _rng_tensor(shape: tuple, name: str | None = None, seed: int = 0) -> al.Tensor:
    data = np.random.default_rng(seed).uniform(-1, 1, size=shape)
    return al.Tensor(data, requires_grad=True, name=name)


def _scaled_sin(scale: float = 1.0, where: tuple | None = None) -> Any:
    """sin with a vjp that is wrong by ``scale`` (everywhere, or only at index ``where``)."""

    @al.primitive
    def sin(x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    def vjp(g: np.ndarray, out: np.ndarray, x: np.ndarray) -> np.ndarray:
        factor = np.ones_like(x)
        if where is None:
            factor[...] = scale
        else:
            factor[where] = scale
        return g * np.cos(x) * factor

    sin.defvjp(vjp)
    return sin


# -- gradcheck: passing ---------------------------------------------------------------------------
def test_gradcheck_passes_on_correct_functions() -> None:
    x, w = _rng_tensor((2, 3), "x"), _rng_tensor((3, 4), "w", seed=1)
    assert gradcheck(lambda a, b: al.tanh(a @ b), [x, w]) is True  # matrix output
    assert gradcheck(lambda a, b: (al.sigmoid(a @ b) ** 2).sum(), [x, w])  # scalar output
    assert gradcheck(lambda a: a.exp(), x)  # one Tensor, not a list
    assert gradcheck(lambda a, b: (a.sum(axis=0), a @ b), (x, w))  # a tuple of outputs
    assert gradcheck(lambda a: a.reshape(3, 2).T, [x])  # outputs that are views of the input
    assert gradcheck(lambda a: al.Tensor(np.ones(2)) * 3.0, [x])  # independent of the input
    assert gradcheck(_scaled_sin(), [x], fast_mode=True)
    transposed = al.Tensor(np.arange(6.0).reshape(2, 3).T, requires_grad=True)  # not C-ordered
    assert gradcheck(lambda a: a * a, [transposed])
    assert not gradcheck(_scaled_sin(2.0), [transposed], raise_exception=False)


def test_gradcheck_rule_for_which_inputs_are_checked() -> None:
    wrong = _scaled_sin(2.0)
    x = np.linspace(-1.0, 1.0, 4)
    n = np.array([1, 2, 3, 4])  # integers: passed through as constants
    # No Tensor requires grad: every float array is checked, the integer array is a constant.
    assert gradcheck(lambda a, k: a * k, [x, n])
    with pytest.raises(GradcheckError):
        gradcheck(lambda a, k: wrong(a) * k, [x, n])
    # Some input requires grad: only those are checked; others pass through unchanged.
    seen = []
    t = al.Tensor(x, requires_grad=True)

    def f(a: Any, b: Any) -> Any:
        seen.append(b)
        return a * wrong(al.Tensor(b))

    assert gradcheck(f, [t, x])  # the wrong vjp is only reached through a constant
    assert all(b is x for b in seen)
    with pytest.raises(InvalidInputError, match="nothing to check"):
        gradcheck(lambda k: al.Tensor(k), [n])


# -- gradcheck: failing ----------------------------------------------------------------------------
def test_gradcheck_error_names_input_element_and_values() -> None:
    x, w = _rng_tensor((2, 3), "x"), _rng_tensor((3, 2), "w", seed=1)
    wrong = _scaled_sin(1.5, where=(1, 0))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a @ wrong(b), [x, w])
    error = info.value
    assert isinstance(error, AssertionError)
    assert (error.input_index, error.input_name) == (1, "w")
    assert error.input_element == (1, 0)
    assert error.output_element[1] == 0  # column 0 of a @ sin(w) depends on w[1, 0]
    assert abs(error.analytic - error.numeric) > error.tolerance
    assert error.tolerance == pytest.approx(1e-5 + 1e-3 * abs(error.numeric))
    message = str(error)
    for piece in ("input 1 ('w')", "in[1, 0]", "analytic", "numeric", "tolerance", "atol"):
        assert piece in message, message
    assert repr(error.analytic) in message and repr(error.numeric) in message


def test_gradcheck_without_exception_returns_false() -> None:
    x = _rng_tensor((3,))
    assert gradcheck(_scaled_sin(1.01), [x], raise_exception=False) is False
    assert gradcheck(_scaled_sin(1.01), [x], raise_exception=False, fast_mode=True) is False


def test_gradcheck_fast_mode_catches_and_locates() -> None:
    x = _rng_tensor((4,), "x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(_scaled_sin(-1.0, where=(2,)), [x], fast_mode=True)
    assert info.value.input_element == (2,)  # the full check located it


def test_gradcheck_tolerances_are_honoured() -> None:
    x = _rng_tensor((3,))
    slightly = _scaled_sin(1.0 + 1e-4)  # 1e-4 relative error: inside rtol=1e-3
    assert gradcheck(slightly, [x])
    assert not gradcheck(slightly, [x], rtol=1e-6, atol=1e-9, raise_exception=False)
    with pytest.raises(ValueError, match="eps > 0"):
        gradcheck(slightly, [x], eps=0.0)


def test_gradcheck_refuses_float32() -> None:
    x = al.Tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="x32")
    with pytest.raises(InvalidInputError, match=r"input 0 \('x32'\) has dtype float32.*float64"):
        gradcheck(lambda a: a * 2.0, [x])
    assert issubclass(InvalidInputError, TypeError)


def test_gradcheck_rejects_bad_functions() -> None:
    x = _rng_tensor((3,))
    with pytest.raises(InvalidInputError, match="must return a Tensor"):
        gradcheck(lambda a: a.data, [x])
    with pytest.raises(ValueError, match="output shapes must not depend"):
        gradcheck(lambda a: a[: 1 + int(np.floor(a.data[0] * 1e6)) % 2], [x])


# -- gradcheck: never mutates ----------------------------------------------------------------------
def test_gradcheck_leaves_inputs_and_grads_untouched() -> None:
    x = _rng_tensor((2, 3), "x")
    x.grad = np.full((2, 3), 7.0)
    arr = np.linspace(0.5, 1.5, 3)
    x_before, arr_before = x.data.copy(), arr.copy()
    assert gradcheck(lambda a: a * 2.0, [x])
    assert not gradcheck(_scaled_sin(2.0), [x], raise_exception=False)
    assert gradcheck(lambda b: b.exp(), [arr])
    np.testing.assert_array_equal(x.data, x_before)
    np.testing.assert_array_equal(x.grad, 7.0)
    np.testing.assert_array_equal(arr, arr_before)
    assert x.requires_grad and x.name == "x"


@pytest.mark.parametrize("fast_mode", [False, True])
def test_perturbed_values_restored_when_f_raises(fast_mode: bool) -> None:
    x = _rng_tensor((2, 3), "x")
    before = x.data.copy()
    seen: list[Any] = []

    def f(a: Any) -> Any:
        seen.append(a)
        if len(seen) == 3:  # while an element is perturbed
            raise RuntimeError("boom")
        return a * a

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(f, [x], fast_mode=fast_mode)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None
    private = seen[0]
    assert private is not x and private.name == "x"
    np.testing.assert_array_equal(private.data, before)  # the private copy was restored too


# -- gradgradcheck ---------------------------------------------------------------------------------
def test_gradgradcheck_passes_on_smooth_functions() -> None:
    x, w = _rng_tensor((2, 3), "x"), _rng_tensor((3, 2), "w", seed=1)
    assert gradgradcheck(lambda a, b: al.tanh(a @ b), [x, w])
    assert gradgradcheck(lambda a: al.sigmoid(a) * al.exp(a), [x], fast_mode=True)
    assert gradgradcheck(lambda a: a * 3.0, [x])  # the gradient is constant: zero Hessian
    assert gradgradcheck(lambda a: a**3, [x], grad_outputs=np.ones((2, 3)))


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    # cube's vjp is right to first order, but it is built from a square op whose own vjp is
    # wrong: only the second derivative sees it.
    @al.primitive(differentiable=True)
    def square(x: np.ndarray) -> np.ndarray:
        return x * x

    square.defvjp(lambda g, out, x: g * x)  # should be 2 g x

    @al.primitive(differentiable=True)
    def cube(x: np.ndarray) -> np.ndarray:
        return x**3

    cube.defvjp(lambda g, out, x: 3 * square(x) * g)
    x = _rng_tensor((3,), "x")
    assert gradcheck(cube, [x])
    with pytest.raises(GradcheckError, match="gradgradcheck") as info:
        gradgradcheck(cube, [x])
    assert info.value.input_name == "x"


def test_gradgradcheck_reports_opaque_vjps() -> None:
    with pytest.raises(HigherOrderError):
        gradgradcheck(_scaled_sin(), [_rng_tensor((2,))])


def test_gradgradcheck_validates_grad_outputs() -> None:
    with pytest.raises(ValueError, match="grad_outputs"):
        gradgradcheck(lambda a: a * a, [_rng_tensor((2,))], grad_outputs=np.ones(3))


# -- strategies: tensors and shapes ----------------------------------------------------------------
@given(shape=shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_bounds(shape: tuple) -> None:
    assert 1 <= len(shape) <= 2 and all(2 <= n <= 3 for n in shape)


@given(
    t=tensors(shape=(2, 3), elements=(-1.0, 0.5), requires_grad=True, name="t"),
    u=tensors(shape=shapes(max_dims=2), dtype=np.float32, elements=(0.1, 0.3)),
    v=tensors(elements=st.just(0.25), requires_grad=st.booleans()),
)
def test_tensors_respect_arguments(t: al.Tensor, u: al.Tensor, v: al.Tensor) -> None:
    assert t.shape == (2, 3) and t.dtype == np.float64 and t.requires_grad and t.name == "t"
    assert t.data.min() >= -1.0 and t.data.max() <= 0.5
    assert u.dtype == np.float32 and u.ndim <= 2 and not u.requires_grad
    assert np.all((u.data >= np.float32(0.1)) & (u.data <= np.float32(0.3)))
    assert np.all(v.data == 0.25) and np.all(np.isfinite(v.data))


def test_tensors_reject_bad_arguments() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        tensors(dtype=np.int64)
    with pytest.raises(TypeError, match="elements"):
        tensors(elements="wide")
    with pytest.raises(ValueError, match="low <= high"):
        tensors(elements=(1.0, 0.0))
    with pytest.raises(ValueError):
        shapes(min_dims=3, max_dims=1)


@given(group=mutually_broadcastable_shapes(3))
def test_mutually_broadcastable_shapes_broadcast(group: BroadcastShapes) -> None:
    assert len(group.input_shapes) == 3
    assert np.broadcast_shapes(*group.input_shapes) == group.result_shape
    arrays = [np.zeros(s) for s in group.input_shapes]
    assert np.broadcast(*arrays).shape == group.result_shape


def test_broadcastable_shapes_reach_rank_differences_and_both_way_broadcasting() -> None:
    ranks = find(broadcastable_shapes(2), lambda s: 1 <= len(s[0]) < len(s[1]), settings=FIND)
    assert all(n == 1 for shape in ranks for n in shape)  # shrunk to sides of 1
    both = find(
        broadcastable_shapes(2),
        lambda s: len(s[0]) == len(s[1]) == 2 and s[0][0] == s[1][1] == 1 < s[0][1] and s[1][0] > 1,
        settings=FIND,
    )
    assert np.broadcast_shapes(*both) == (both[1][0], both[0][1])


# -- strategies: graphs ----------------------------------------------------------------------------
def _argument_values(graph: Graph) -> list[tuple[str, list, dict]]:
    """(op, argument values, params) of every step, from a NumPy-level evaluation."""
    calls: list[tuple[str, list, dict]] = []

    def record(name: str, args: list, params: dict) -> Any:
        calls.append((name, [a.data if isinstance(a, al.Tensor) else a for a in args], params))
        return call_op(name, args, params)

    graph.evaluate(graph.leaves(), call=record)
    return calls


@given(graph=graphs(max_ops=8))
def test_graphs_are_valid_and_inside_the_domains(graph: Graph) -> None:
    out = graph(*graph.leaves())
    assert np.all(np.isfinite(out.data)) and out.shape == graph.output_shape
    for name, args, params in _argument_values(graph):
        if name == "log":
            assert np.min(args[0]) > 0
        if name == "div":
            assert np.min(np.abs(args[1])) > 0.05
        if name == "pow":
            assert np.min(args[0]) > 0
        if name == "relu":
            assert np.min(np.abs(args[0])) > 0.01
        if name == "max" and np.ndim(args[0]) > 0:
            x = np.asarray(args[0])
            top = np.max(x, axis=params["axis"], keepdims=True)
            assert np.all(np.sum(np.isclose(x, top, rtol=0, atol=0.01), axis=params["axis"]) == 1)


@given(graph=graphs(ops=["exp", "tanh"], include=["matmul"], max_ops=3))
def test_graphs_respect_ops_include_and_max_ops(graph: Graph) -> None:
    assert "matmul" in graph.ops
    assert set(graph.ops) <= {"exp", "tanh", "matmul", "sum", "add"}  # sum/add: folding
    assert len([op for op in graph.ops if op not in ("sum", "add")]) <= 3


@given(graph=graphs(max_ops=4, dtype=np.float32, scalar_output=True))
def test_graphs_float32_and_scalar_output(graph: Graph) -> None:
    leaves = graph.leaves()
    assert all(leaf.dtype == np.float32 for leaf in leaves)
    assert graph(*leaves).shape == ()


def test_graphs_leaves_are_fresh_and_evaluation_repeatable() -> None:
    graph = find(graphs(max_ops=3), lambda g: len(g.leaf_values) >= 1, settings=FIND_FAST)
    first, second = graph.leaves(), graph.leaves()
    assert all(a is not b and not np.shares_memory(a.data, b.data) for a, b in zip(first, second))
    assert all(leaf.requires_grad and leaf.name.startswith("v") for leaf in first)
    value = graph(*first).data.copy()
    first[0].data[...] = 123.0  # scribbling on one set of leaves changes nothing else
    np.testing.assert_array_equal(graph(*second).data, value)
    assert not graph.leaf_values[0].flags.writeable
    with pytest.raises(TypeError, match="leaves"):
        graph(*first, *first)


def test_graphs_reach_fan_out_and_broadcasting() -> None:
    fan_out = find(graphs(), lambda g: max(g.use_counts()) >= 2, settings=FIND_FAST)
    assert max(fan_out.use_counts()) >= 2

    def broadcasts(g: Graph) -> bool:
        for s in g.steps:
            shapes_ = [g.steps[a.index].shape for a in s.args if isinstance(a, Var)]
            if s.op in ("add", "mul", "sub", "div") and len(set(shapes_)) == 2:
                return len({len(x) for x in shapes_}) == 2  # ranks differ, as (3,) and (2, 3)
        return False

    assert broadcasts(find(graphs(ops=["add", "mul", "sub", "div"]), broadcasts, settings=FIND))


def test_graphs_shrink_to_small_readable_programs() -> None:
    pool = graphs(ops=["exp", "tanh", "add", "matmul", "sigmoid"], max_ops=8)
    graph = find(pool, lambda g: g.uses("matmul") and g.uses("sigmoid"), settings=FIND)
    text = repr(graph)
    lines = text.splitlines()
    assert len(graph.ops) <= 3, text
    assert lines[0] == "Graph(" and lines[-1] == ")"
    assert lines[-2] == f"    return v{graph.output}"
    pattern = re.compile(r"    v\d+ = (leaf\(\(.*\), .*\)|[a-z_]+\(.*\)  # \([\d, ]*\))")
    assert all(pattern.fullmatch(line) for line in lines[1:-2]), text
    assert any("matmul(v" in line for line in lines) and any("sigmoid(v" in line for line in lines)


def test_graph_repr_and_evaluate_hook() -> None:
    graph = Graph(
        [
            Step("leaf", shape=(2,), value=np.array([1.0, 2.0])),
            Step("mul", (Var(0), 2.0), shape=(2,)),
            Step("getitem", (Var(1),), {"index": (slice(1, None), Ellipsis)}, shape=(1,)),
            Step("getitem", (Var(2),), {"index": np.array([0, 0])}, shape=(2,)),
            Step("sum", (Var(1),), {"axis": None, "keepdims": False}, shape=()),
        ],
        output=4,
    )
    assert repr(graph) == (
        "Graph(\n"
        "    v0 = leaf((2,), [1.0, 2.0])\n"
        "    v1 = mul(v0, 2.0)  # (2,)\n"
        "    v2 = getitem(v1, index=[1:, ...])  # (1,)\n"
        "    v3 = getitem(v2, index=[0, 0])  # (2,)\n"
        "    v4 = sum(v1, axis=None, keepdims=False)  # ()\n"
        "    return v4\n"
        ")"
    )
    assert graph(*graph.leaves()).item() == 6.0
    names: list[str] = []
    graph.evaluate([np.array([1.0, 2.0])], call=lambda n, a, p: names.append(n) or a[0])
    assert names == ["mul", "getitem", "getitem", "sum"]


def test_graphs_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown op"):
        graphs(ops=["nope"])
    with pytest.raises(ValueError, match="cannot include"):
        graphs(include=["exp", "log"], max_ops=1)
    with pytest.raises(ValueError, match="min_ops"):
        graphs(min_ops=3, max_ops=2)


# -- a planted bug is found and shrunk by a plain @given test --------------------------------------
def test_given_plus_gradcheck_finds_and_shrinks_a_planted_bug(monkeypatch: Any) -> None:
    monkeypatch.setattr(al.ops.sigmoid, "vjps", (lambda g, out, z: g * out,))  # no (1 - s)

    failing: list[Graph] = []

    @settings(FIND, max_examples=100)
    @given(graph=graphs(include=["sigmoid"], max_ops=5))
    def test_sigmoid_graphs(graph: Graph) -> None:
        try:
            gradcheck(graph, graph.leaves())
        except GradcheckError:
            failing.append(graph)
            raise

    with pytest.raises(GradcheckError):
        test_sigmoid_graphs()
    # Hypothesis replays the shrunk example last: read it from the test, not from hypothesis's
    # report (whose wording changes between versions).
    report = repr(failing[-1])
    assert "sigmoid(v0)" in report, report  # the falsifying example, shrunk to a tiny graph
    assert report.count(" = ") <= 3, report


# -- profiles --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "dev"),
        ({"CI": "true"}, "ci"),
        ({"CI": "1", "AUTOGRAD_LITE_PROFILE": "dev"}, "dev"),
        ({"AUTOGRAD_LITE_PROFILE": "ci"}, "ci"),
        ({"CI": "false"}, "dev"),
        ({"AUTOGRAD_LITE_PROFILE": "thorough"}, "thorough"),
    ],
)
def test_profile_selection(environ: dict, expected: str) -> None:
    assert profile_name(environ) == expected


def test_profiles_registered_and_loaded() -> None:
    with pytest.raises(ValueError, match="not a profile"):
        profile_name({"AUTOGRAD_LITE_PROFILE": "fast"})
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None and ci.database is None
    dev = settings.get_profile("dev")
    assert dev.max_examples < ci.max_examples
    assert PROFILES["dev"]["max_examples"] == dev.max_examples
    assert settings.default.max_examples == PROFILES[profile_name()]["max_examples"]


# -- hypothesis stays optional ---------------------------------------------------------------------
def test_importing_autograd_lite_testing_does_not_need_hypothesis() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import autograd_lite, autograd_lite.testing as t\n"
        "import numpy as np\n"
        "x = autograd_lite.Tensor(np.ones(2), requires_grad=True)\n"
        "assert t.gradcheck(lambda a: a * a, [x])\n"
        "try:\n"
        "    t.strategies\n"
        "except ImportError:\n"
        "    print('lazy')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"


# -- gradcheck of a Module: parameters and inputs in one call ------------------------------------
def _product(weight_factor: float = 1.0, input_factor: float = 1.0) -> Any:
    """``x * w`` with vjps wrong by the given factors (1: right)."""

    @al.primitive(differentiable=True)
    def product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x * w

    product.defvjp(
        lambda g, out, x, w: g * w * input_factor, lambda g, out, x, w: g * x * weight_factor
    )
    return product


class _Gain(al.nn.Module):
    """``tanh(product(x, weight) + bias)``: a custom layer built on a custom primitive."""

    def __init__(self, n: int, product: Any, seed: int = 0) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.weight = al.nn.Parameter(rng.uniform(0.5, 1.5, n))
        self.bias = al.nn.Parameter(rng.uniform(-0.5, 0.5, n))
        self.product = product

    def forward(self, x: Any) -> al.Tensor:
        return al.tanh(self.product(x, self.weight) + self.bias)


def _module_state(module: al.nn.Module) -> list:
    params = [(n, id(p), p.data.tobytes(), p.grad) for n, p in module.named_parameters()]
    return params + [(n, b.tobytes()) for n, b in module.named_buffers()]


def test_gradcheck_of_a_module_names_the_parameter_whose_vjp_is_wrong() -> None:
    x = np.random.default_rng(1).uniform(-1, 1, (3, 4))
    layer = _Gain(4, _product(weight_factor=2.0))
    with pytest.raises(
        GradcheckError, match=r"with respect to parameter 'weight' \(shape \(4,\)\)"
    ) as info:
        gradcheck(layer, [x])  # wrt="all" by default: before, only x was checked
    assert info.value.parameter_name == info.value.input_name == "weight"
    assert info.value.input_index is None
    assert gradcheck(layer, [x], wrt="inputs")  # x's vjp is right
    assert not gradcheck(layer, [x], wrt="parameters", raise_exception=False)
    assert not gradcheck(layer, [x], fast_mode=True, raise_exception=False)
    model = al.nn.Sequential(al.nn.Linear(4, 4, seed=0), _Gain(4, _product(weight_factor=2.0)))
    with pytest.raises(GradcheckError, match=r"parameter '1\.weight'") as nested:
        gradcheck(model, [x], wrt="parameters")
    assert nested.value.parameter_name == "1.weight"


def test_gradcheck_of_a_module_names_an_input_whose_vjp_is_wrong() -> None:
    x = al.Tensor(np.random.default_rng(2).uniform(-1, 1, (2, 3)), requires_grad=True, name="x")
    layer = _Gain(3, _product(input_factor=0.5))
    with pytest.raises(GradcheckError, match=r"with respect to input 0 \('x'\)") as info:
        gradcheck(layer, [x])
    assert info.value.input_index == 0 and info.value.parameter_name is None
    assert gradcheck(layer, [x], wrt="parameters")


def test_a_frozen_parameter_is_not_checked() -> None:
    x = np.random.default_rng(3).uniform(-1, 1, (2, 3))
    layer = _Gain(3, _product(weight_factor=3.0))
    layer.weight.requires_grad = False
    assert gradcheck(layer, [x], wrt="all")  # only bias (right) and x (right) are checked
    layer.weight.requires_grad = True
    assert not gradcheck(layer, [x], raise_exception=False)


def test_gradgradcheck_of_a_module_names_the_parameter() -> None:
    @al.primitive(differentiable=True)
    def times(g: np.ndarray, x: np.ndarray) -> np.ndarray:
        return g * x

    times.defvjp(lambda h, out, g, x: h * x * 2.0, lambda h, out, g, x: h * g)  # d/dg wrong

    @al.primitive(differentiable=True)
    def product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x * w

    product.defvjp(lambda g, out, x, w: g * w, lambda g, out, x, w: times(g, x))
    x = np.random.default_rng(4).uniform(-1, 1, (2, 3))
    right = _Gain(3, _product())
    assert gradgradcheck(right, [x]) and gradcheck(_Gain(3, product), [x])
    with pytest.raises(GradcheckError, match="parameter 'weight'"):
        gradgradcheck(_Gain(3, product), [x], wrt="parameters")


@settings(max_examples=25, deadline=None)
@given(st.data(), mlps(max_layers=3, max_width=4, bias=st.booleans()))
def test_gradcheck_accepts_random_modules_and_leaves_them_untouched(
    data: Any, model: al.nn.Sequential
) -> None:
    x = data.draw(module_inputs(model))
    before = _module_state(model)
    assert gradcheck(model, [x], wrt="all")
    assert gradcheck(model, [x], wrt="parameters", fast_mode=True)
    assert _module_state(model) == before
    assert all(p.grad is None for p in model.parameters())


@settings(max_examples=10, deadline=None)
@given(st.data(), mlps(max_layers=2, max_width=3))
def test_gradgradcheck_accepts_random_modules(data: Any, model: al.nn.Sequential) -> None:
    x = data.draw(module_inputs(model, batch=2))
    before = _module_state(model)
    assert gradgradcheck(model, [x], wrt="all", fast_mode=True)
    assert _module_state(model) == before


def test_gradcheck_of_a_module_in_training_mode_keeps_its_buffers() -> None:
    model = al.nn.Sequential(al.nn.Linear(3, 2, seed=0), al.nn.BatchNorm1d(2), al.nn.Tanh())
    x = np.random.default_rng(5).uniform(-1, 1, (4, 3))
    for p in model.parameters():
        p.grad = np.full(p.shape, 7.0)
    before = _module_state(model)
    assert gradcheck(model, [x])
    assert _module_state(model) == before  # running statistics and .grad as they were
    model(x)
    assert _module_state(model) != before  # (a forward pass in training mode changes them)


def test_gradcheck_module_argument_errors() -> None:
    layer = _Gain(2, _product())
    x = np.ones((1, 2))
    with pytest.raises(InvalidInputError, match="wrt must be one of"):
        gradcheck(layer, [x], wrt="weights")
    with pytest.raises(InvalidInputError, match="wrt='parameters' applies to an"):
        gradcheck(lambda a: a * a, [x], wrt="parameters")
    layer.requires_grad_(False)
    with pytest.raises(InvalidInputError, match="no parameter with requires_grad=True"):
        gradcheck(layer, [x], wrt="parameters")
    single = al.nn.Linear(2, 2, seed=0, dtype=np.float32)
    with pytest.raises(InvalidInputError, match=r"parameter 'weight' has dtype float32.*float64"):
        gradcheck(single, [x])


# -- strategies for modules -----------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(st.data())
def test_module_inputs_have_the_shape_the_first_layer_expects(data: Any) -> None:
    nn = al.nn
    batch = data.draw(st.integers(1, 3))
    cases = [
        (nn.Sequential(nn.Tanh(), nn.Linear(3, 2, seed=0)), (batch, 3)),
        (nn.Sequential(nn.Conv2d(2, 1, 3, seed=0), nn.Flatten()), (batch, 2, 5, 5)),
        (nn.LayerNorm((2, 3)), (batch, 2, 3)),
        (nn.BatchNorm1d(4).eval(), (batch, 4)),  # eval: one sample is enough
    ]
    for module, shape in cases:
        x = data.draw(module_inputs(module, batch=batch))
        assert x.shape == shape and x.dtype == np.float64
        assert np.all(np.abs(x) <= 3.0)
        module(x)  # it fits
    indices = data.draw(module_inputs(nn.Embedding(5, 2, seed=0), batch=batch))
    assert indices.shape == (batch,) and indices.dtype.kind == "i"
    assert np.all((0 <= indices) & (indices < 5))
    drawn = data.draw(module_inputs(nn.Sigmoid(), shape=(2, 2), elements=(0.0, 1.0)))
    assert drawn.shape[1:] == (2, 2) and 1 <= drawn.shape[0] <= 4 and np.all(drawn >= 0)
    bn = data.draw(module_inputs(nn.Sequential(nn.BatchNorm2d(1))))
    assert bn.shape[0] >= 2 and bn.shape[1:] == (1, 5, 5)  # BatchNorm trains on 2+ samples


def test_module_inputs_refuses_a_module_that_does_not_say_its_shape() -> None:
    from autograd_lite.nn import ModuleArgumentError

    with pytest.raises(ModuleArgumentError, match="pass shape="):
        module_inputs(al.nn.Sequential(al.nn.Tanh()))
    with pytest.raises(ModuleArgumentError, match="batch must be a positive int"):
        module_inputs(al.nn.Linear(2, 2), batch=0)


@settings(max_examples=30, deadline=None)
@given(mlps(min_layers=2, max_layers=3, max_width=3, activations=(al.nn.ReLU,)))
def test_mlps_draw_linear_layers_and_activations(model: al.nn.Sequential) -> None:
    linears = [m for m in model if isinstance(m, al.nn.Linear)]
    assert 2 <= len(linears) <= 3 and len(model) == 2 * len(linears)
    assert all(isinstance(m, al.nn.ReLU) for m in model.layers[1::2])
    assert all(1 <= m.in_features <= 3 and 1 <= m.out_features <= 3 for m in linears)
    assert all(a.out_features == b.in_features for a, b in zip(linears, linears[1:]))
