"""``al.grad(f, replay=True)``: a recorded graph replayed must give what the eager graph gives,
bitwise, and refuse what it cannot replay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import errors, replay
from autograd_lite.nielsen import Network
from autograd_lite.testing.strategies import COST_OPS, graphs


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise: same dtype, shape and values (NaN where NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _scaled(values: tuple[np.ndarray, ...], factor: float) -> list[np.ndarray]:
    return [np.array(v * v.dtype.type(factor)) for v in values]


@settings(deadline=None)
@given(
    graph=st.one_of(
        graphs(scalar_output=True, max_ops=6),
        graphs(scalar_output=True, max_ops=4, dtype=np.float32),
        graphs(ops=sorted(COST_OPS), scalar_output=True, max_ops=2),
    ),
    factor=st.sampled_from([1.0, 1.01, 0.97]),
)
def test_replay_equals_the_eager_graph_bitwise(graph, factor) -> None:
    """Every op, fan-out, broadcasting, float32, the costs: on the values of the recording and
    on other values of the same shapes (the replay proper)."""
    values = graph.leaf_values
    argnums = tuple(range(len(values)))
    eager = al.value_and_grad(graph, argnums)
    replayed = al.value_and_grad(graph, argnums, replay=True)
    with np.errstate(all="ignore"):
        for inputs in (_scaled(values, 1.0), _scaled(values, factor), _scaled(values, 1.0)):
            value, grads = eager(*inputs)
            value_r, grads_r = replayed(*inputs)
            assert _same(value, value_r), repr(graph)
            for g, g_r in zip(grads, grads_r, strict=True):
                assert _same(g, g_r), repr(graph)
    assert replayed.plans == 1


@settings(deadline=None, max_examples=10)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    m=st.integers(1, 4),
    cost=st.sampled_from(["quadratic", "cross-entropy"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_network_trains_bitwise_as_with_the_graph_built_every_step(
    sizes, m, cost, dtype, seed
) -> None:
    rng = np.random.default_rng(seed)
    nets = [Network(sizes, seed=seed, dtype=dtype, cost=cost, replay=r) for r in (True, False)]
    for _ in range(4):
        X = rng.standard_normal((sizes[0], m)).astype(dtype)
        Y = rng.random((sizes[-1], m)).astype(dtype)
        for net in nets:
            net.update_mini_batch((X, Y), 3.0)
        for p, q in zip(nets[0].biases + nets[0].weights, nets[1].biases + nets[1].weights):
            assert _same(p, q)
    nb, nw = nets[0].backprop(X[:, :1], Y[:, :1])
    nb_e, nw_e = nets[1].backprop(X[:, :1], Y[:, :1])
    assert all(_same(a, b) for a, b in zip(nb + nw, nb_e + nw_e))


def _layer(w, b, x):
    return al.quadratic_cost(al.sigmoid(w @ x + b), np.zeros((w.shape[0], x.shape[1])))


def _layer_args(rng, m=3):
    return rng.standard_normal((2, 4)), rng.standard_normal((2, 1)), rng.standard_normal((4, m))


def test_calls_that_alternate_between_signatures_use_the_right_plan() -> None:
    rng = np.random.default_rng(3)
    eager = al.grad(_layer, (0, 1))
    replayed = al.grad(_layer, (0, 1), replay=True)
    calls = [_layer_args(rng, m) for m in (3, 3, 5, 3, 5, 5)]
    calls.insert(3, tuple(a.astype(np.float32) for a in _layer_args(rng, 3)))
    calls.insert(5, (al.Tensor(calls[0][0]), calls[0][1], calls[0][2]))  # a Tensor argument
    for args in calls:
        for g, h in zip(eager(*args), replayed(*args), strict=True):
            assert _same(g, h)
    assert replayed.plans == 3  # (3, float64), (5, float64), (3, float32)


def test_a_new_shape_is_recorded_and_old_plans_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(replay, "MAX_PLANS", 2)
    rng = np.random.default_rng(0)
    eager = al.grad(_layer, (0, 1))
    replayed = al.grad(_layer, (0, 1), replay=True)
    for m in (3, 5, 3, 7, 5):
        args = _layer_args(rng, m)
        assert all(_same(a, b) for a, b in zip(eager(*args), replayed(*args)))
    assert replayed.plans == 2


def test_the_generated_code_reads_as_backpropagation() -> None:
    replayed = al.grad(_layer, (0, 1), replay=True)
    replayed(*_layer_args(np.random.default_rng(1)))
    (source,) = replayed.sources
    forward, backward = source.split("# backward")
    assert [line.split(":")[0].strip() for line in forward.splitlines() if "# " in line][1:] == [
        "# matmul",
        "# add",
        "# sigmoid",
        "# quadratic_cost",
    ]
    assert backward.index("quadratic_cost") < backward.index("sigmoid") < backward.index("matmul")
    # the bias, broadcast over the batch: its gradient is summed back to its shape by the
    # engine's one rule (engine.fit, which calls sum_to)
    bias = backward[backward.index("gi = add_1_vjp1(") :].splitlines()
    assert (
        "if gi.shape != (2, 1) or gi.dtype is not d1: gi = fit(gi, op1, 1, (2, 1), d1, (2, 3))"
        in bias[1]
    )


def test_constants_are_taken_by_value_and_tensors_of_the_closure_are_read_afresh() -> None:
    scale = al.Tensor(np.array([2.0]))

    def f(x, power):
        return (x**power * scale).sum()

    df = al.grad(f, replay=True)
    x = np.array([1.0, 3.0])
    assert np.array_equal(df(x, 2), 2 * 2 * x)
    assert np.array_equal(df(x, 3), 2 * 3 * x**2)  # another value: another recording
    scale.data = np.array([5.0])  # a new array for the Tensor made outside f
    assert np.array_equal(df(x, 2), 5 * 2 * x)
    assert df.plans == 2


def test_a_function_that_ignores_its_argument() -> None:
    constant = al.Tensor(np.array(4.0))
    value_and_grad = al.value_and_grad(lambda x: constant * 2.0, replay=True)
    for _ in range(2):
        value, g = value_and_grad(np.array([1.0, 2.0]))
        assert value == 8.0 and np.array_equal(g, np.zeros(2))
        value[...] = 0.0  # what the caller gets is its own
    assert value_and_grad(np.array([1.0, 2.0]))[0] == 8.0


def test_gradients_are_fresh_arrays_the_caller_owns() -> None:
    df = al.grad(lambda a, b: (a + b).sum(), (0, 1), replay=True)
    x = np.ones(3)
    for _ in range(2):
        ga, gb = df(x, x)
        assert ga is not gb and not np.shares_memory(ga, gb)
        ga += 1.0
        assert np.array_equal(gb, np.ones(3))


class _Cube(al.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * grad


def test_user_functions_get_a_fresh_context_at_every_replay() -> None:
    df = al.grad(lambda x: _Cube.apply(x).sum(), replay=True)
    for x in (np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 4.0])):
        assert np.array_equal(df(x), 3 * x**2)


def test_a_user_vjp_of_the_wrong_shape_is_still_caught() -> None:
    @al.primitive
    def double(x):
        return 2 * x

    double.defvjp(lambda g, out, x: np.ones(x.shape[0] + 1))
    df = al.grad(lambda x: double(x).sum(), replay=True)
    for _ in range(2):  # the recording, then the replay
        with pytest.raises(errors.InvalidGradientError, match="double"):
            df(np.ones(3))


def test_hooks_cannot_be_replayed() -> None:
    def f(x):
        y = x * 2.0
        y.register_hook(lambda g: g * 0.0)
        return y.sum()

    with pytest.raises(errors.ReplayError, match="hook"):
        al.grad(f, replay=True)(np.ones(2))
    assert np.array_equal(al.grad(f)(np.ones(2)), np.zeros(2))  # eagerly, the hook runs


def test_data_taken_out_of_the_graph_is_refused() -> None:
    def f(x):
        return (x * x.data).sum()  # x.data would be frozen at the recording's values

    with pytest.raises(errors.ReplayError, match=r"reading \.data"):
        al.grad(f, replay=True)(np.ones(2))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.ones(2), np.array([1, 0])), "dtype int64"),
        ((np.ones(2), {"not": "hashable"}), "hashable"),
    ],
)
def test_arguments_replay_cannot_follow_are_refused(args, match) -> None:
    with pytest.raises(errors.ReplayError, match=match):
        al.grad(lambda x, extra: x.sum(), replay=True)(*args)


def test_anomaly_mode_and_outer_graphs_run_eagerly() -> None:
    df = al.grad(lambda x: al.log(x).sum(), replay=True)
    assert np.array_equal(df(np.array([1.0, 2.0])), [1.0, 0.5])
    with al.detect_anomaly(), pytest.raises(errors.AnomalyError, match="log"):
        df(np.array([-1.0, 2.0]))
    second = al.grad(lambda x: df(x).sum())  # d/dx of sum(1/x)
    assert np.allclose(second(np.array([1.0, 2.0])), [-1.0, -0.25])


def test_graphs_too_large_to_compile_run_eagerly(monkeypatch) -> None:
    monkeypatch.setattr(replay, "MAX_STEPS", 3)

    def chain(x):
        for _ in range(5):
            x = x * 1.5 + 0.5
        return x.sum()

    df = al.grad(chain, replay=True)
    x = np.array([1.0, -2.0])
    assert np.array_equal(df(x), al.grad(chain)(x))
    assert np.array_equal(df(x), np.full(2, 1.5**5))
    assert df.plans == 1 and df.sources == []


def test_the_result_must_be_a_one_element_tensor() -> None:
    with pytest.raises(errors.BackwardError, match="scalar"):
        al.grad(lambda x: x * 2.0, replay=True)(np.ones(3))
    with pytest.raises(errors.BackwardError, match="not a Tensor"):
        al.grad(lambda x: 3.0, replay=True)(np.ones(3))
    with pytest.raises(errors.BackwardError, match="out of range"):
        al.grad(lambda x: x.sum(), argnums=2, replay=True)(np.ones(3))


def test_a_closure_tensor_given_data_of_another_shape_is_recorded_anew() -> None:
    c = al.Tensor(np.array([1.0, 2.0, 3.0]))
    df = al.grad(lambda x: (x * c).sum(), replay=True)
    x = np.array([1.0, 1.0, 1.0])
    assert np.array_equal(df(x), [1.0, 2.0, 3.0])
    c.data = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])  # now x is broadcast over rows
    assert np.array_equal(df(x), [11.0, 22.0, 33.0])
    assert np.array_equal(df(x), al.grad(lambda x: (x * c).sum())(x))
    assert df.plans == 1


def test_the_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(replay, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0


def _masked(x):
    return al.where(x > 0, x, 0.0).sum()  # the mask is an array read out of x


def _branching(x):
    return (x * 2.0).sum() if x.sum() > 0 else x.sum()


def _scaled_by_own_value(x):
    return (x * x.sum().item()).sum()


@pytest.mark.parametrize(
    ("f", "what"),
    [
        (_masked, "'>'"),
        (_branching, "'>'"),
        (_scaled_by_own_value, "item"),
    ],
)
def test_values_read_out_of_the_graph_are_refused_not_frozen(f, what) -> None:
    x = np.array([1.0, -2.0])
    with pytest.raises(errors.ReplayError, match=what):
        al.grad(f, replay=True)(x)
    # Eagerly the same function works, and reading values works again after the refusal.
    assert al.grad(f)(x).shape == (2,)
    assert np.array_equal(al.Tensor(x) > 0, [True, False])


def test_data_dependent_masks_inside_vjps_are_computed_at_every_replay() -> None:
    df = al.grad(lambda x: (al.relu(x) * 3.0).sum(), replay=True)
    assert np.array_equal(df(np.array([1.0, -1.0])), [3.0, 0.0])
    assert np.array_equal(df(np.array([-1.0, 1.0])), [0.0, 3.0])


def test_tuples_and_numbers_that_are_not_differentiated_are_constants() -> None:
    df = al.grad(lambda x, shape, k: (x.reshape(shape) * k).sum(), replay=True)
    x = np.arange(6.0)
    assert np.array_equal(df(x, (2, 3), 2.0), np.full(6, 2.0))
    assert np.array_equal(df(x, (3, 2), 5.0), np.full(6, 5.0))
    assert df.plans == 2
    with pytest.raises(errors.ReplayError, match="hashable"):
        df(x, [2, 3], 2.0)


def test_targets_read_out_of_an_argument_are_refused() -> None:
    # log_likelihood_cost turns its labels into a constant target array: with the labels an
    # argument, a replay would keep the first call's targets.
    def f(logits, targets):
        return al.log_likelihood_cost(logits, targets)

    logits, targets = np.zeros((2, 3)), np.eye(3, dtype=np.float32)[[0, 2]]
    with pytest.raises(errors.ReplayError, match="log|values"):
        al.grad(f, replay=True)(logits, targets)
    assert al.grad(f)(logits, targets).shape == (2, 3)


def test_an_index_read_out_of_an_argument_is_refused() -> None:
    def pick(x, index):
        return x[index].sum()

    x, index = np.array([1.0, 2.0, 3.0]), np.array([2.0, 0.0])
    with pytest.raises(errors.ReplayError, match="values"):
        al.grad(pick, replay=True)(x, index)
    assert np.array_equal(al.grad(pick)(x, al.Tensor(index)), [1.0, 0.0, 1.0])


# -- the IR, its interpreter and the generated code -------------------------------------------
@settings(deadline=None, max_examples=60)
@given(
    graph=st.one_of(
        graphs(scalar_output=True, max_ops=6),
        graphs(scalar_output=True, max_ops=4, dtype=np.float32),
        graphs(ops=sorted(COST_OPS), scalar_output=True, max_ops=2),
    ),
)
def test_interpreter_equals_generated_code_equals_eager_bitwise(graph) -> None:
    """The reference interpreter, the generated code and the eager graph agree bit for bit,
    and the split forward/backward that al.compile runs gives the same gradients too."""
    values = graph.leaf_values
    argnums = tuple(range(len(values)))
    with np.errstate(all="ignore"):
        value, grads = al.value_and_grad(graph, argnums)(*values)
        plan = replay.record(graph, values, argnums)
        for run in (plan.interpret, plan.run):
            value_r, grads_r = run(*values)
            assert _same(value, value_r), repr(graph)
            assert all(_same(g, h) for g, h in zip(grads, grads_r, strict=True)), str(plan)
        out, saved = plan.forward(*values)
        seed = np.ones(out.shape, out.dtype)
        split = plan.backward(seed, saved)
        assert all(_same(g, h) for g, h in zip(grads, split, strict=True)), str(plan)


def test_a_plan_prints_one_line_per_step_with_shapes_and_dtypes() -> None:
    plan = replay.record(_layer, _layer_args(np.random.default_rng(0)), (0, 1))
    text = str(plan)
    assert text.splitlines()[0] == "plan(x0: f8[2,4], x1: f8[2,1], x2: f8[4,3]):"
    assert "  v3: f8[2,3] = matmul(x0, x2)" in text
    assert "  v4: f8[2,3] = add(v3, x1)" in text
    assert text.splitlines()[-1] == "  return v7, grad wrt (x0, x1)"
    assert repr(plan) == text


def test_stop_gradient_steps_are_marked_in_the_plan() -> None:
    def f(x):
        with al.no_grad():
            c = x * 2.0
        return (x * c).sum()

    assert "# stop-gradient" in str(replay.record(f, (np.ones(2),)))


def test_a_traceback_through_generated_code_shows_the_generated_line() -> None:
    import traceback

    @al.primitive
    def fragile(x):
        return x * 1.0

    def vjp(g, out, x):
        if out.sum() > 2.0:
            raise RuntimeError("the vjp failed")
        return g

    fragile.defvjp(vjp)
    df = al.grad(lambda x: fragile(x).sum(), replay=True)
    df(np.ones(2))
    with pytest.raises(RuntimeError) as info:
        df(np.full(2, 3.0))
    text = "".join(traceback.format_exception(info.value))
    assert "<replay-" in text and "gi = call_vjp(op0, 0, g_, v1, (x0,), {})" in text


def test_plans_that_are_gone_leave_linecache_between_its_checks() -> None:
    """A plan collected while linecache.checkcache iterates (doctest, pdb, traceback call it)
    must not remove its entry under it; the entry goes at the next recording."""
    import gc
    import linecache

    df = al.grad(lambda x: (x * 2.0).sum(), replay=True)
    df(np.ones(2))
    (name,) = [n for n in linecache.cache if n.startswith("<replay-")][-1:]
    del df
    gc.collect()
    linecache.checkcache()
    assert name in linecache.cache  # still there: removed only by the next recording
    al.grad(lambda x: (x * 3.0).sum(), replay=True)(np.ones(2))
    assert name not in linecache.cache
