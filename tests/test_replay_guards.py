"""Replay's guards: a replayed gradient never differs silently from the eager graph.

What ``f`` computes from its arguments under ``no_grad`` is recomputed; values read out of a
Tensor that depends on the arguments are refused while recording; closure arrays are read
through their object; rebinding a closure cell, a global or a default records again; and what
replay cannot see (``np.random``, a list changed in place, ``self``'s attributes) is caught by
the checking mode ``replay="check"``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import errors, nn, replay
from autograd_lite.tensor import Tensor
from autograd_lite.testing.strategies import COST_OPS, graphs

floats = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
vectors = st.lists(floats, min_size=1, max_size=4).map(np.array)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _agree(f, *calls, argnums=0):
    """Replayed and eager gradients are bitwise equal at each call (a list of argument tuples,
    or a callable run between calls to change what f reads)."""
    eager = al.value_and_grad(f, argnums)
    replayed = al.value_and_grad(f, argnums, replay=True)
    for call in calls:
        if callable(call):
            call()
            continue
        (value, grads), (value_r, grads_r) = eager(*call), replayed(*call)
        assert _same(value, value_r)
        if isinstance(argnums, int):
            grads, grads_r = [grads], [grads_r]
        assert all(_same(g, g_r) for g, g_r in zip(grads, grads_r, strict=True))
    return replayed


# -- 1. no_grad inside f: a stop-gradient step, recomputed -------------------------------------
@settings(deadline=None, max_examples=30)
@given(first=vectors, factor=st.sampled_from([0.5, 2.0, -1.0]))
def test_values_computed_under_no_grad_are_recomputed_at_every_call(first, factor) -> None:
    def f(x):
        with al.no_grad():
            c = x * 2.0  # from the argument, not differentiated
        d = c + 1.0  # grad enabled again, but from a stop-gradient value only
        assert not c.requires_grad and not d.requires_grad  # as eagerly
        return (x * c * d).sum()

    replayed = al.grad(f, replay=True)
    for x in (first, first * factor):
        assert _same(replayed(x), al.grad(f)(x))
        assert _same(replayed(x), 2.0 * x * (2.0 * x + 1.0))  # c and d are constants for grad
    assert replayed.plans == 1


def test_a_value_computed_under_no_grad_cannot_be_read_out_while_recording() -> None:
    def f(x):
        with al.no_grad():
            c = x * 2.0
        if c.sum() > 0:  # a branch on a value that depends on x
            return (x * c).sum()
        return x.sum()

    with pytest.raises(errors.ReplayError, match="'>'"):
        al.grad(f, replay=True)(np.ones(2))


# -- 2. reading values out of the graph --------------------------------------------------------
def _branch(x):
    if x.data.sum() > 0:
        return (x * 2.0).sum()
    return x.sum()


def _rewrapped(x):
    return (x * al.Tensor(x.data)).sum()


def _wrapped(x):
    return (x * al.Tensor(x * 1.0)).sum()


def _shown(x):
    return x.sum() if repr(x) else x.sum()


def _printed(x):
    return x.sum() if str(x * 2.0) else x.sum()


def _formatted(x):
    return x.sum() if f"{x}" else x.sum()


def _intermediate_data(x):
    y = al.sigmoid(x)
    return (x * y.data).sum()


def _stop_gradient_data(x):
    with al.no_grad():
        c = x * 2.0
    return (x * c.data).sum()


@pytest.mark.parametrize(
    ("f", "what"),
    [
        (_branch, r"reading \.data"),
        (_rewrapped, r"reading \.data"),
        (_wrapped, r"al\.Tensor\(x\)"),
        (_shown, r"repr\(\)"),
        (_printed, r"repr\(\)/str\(\)"),
        (_formatted, r"repr\(\)"),
        (_intermediate_data, r"reading \.data"),
        (_stop_gradient_data, r"reading \.data"),
    ],
)
def test_values_read_out_of_a_recorded_tensor_are_refused(f, what) -> None:
    with pytest.raises(errors.ReplayError, match=what):
        al.grad(f, replay=True)(np.array([1.0, -2.0]))
    al.grad(f)(np.array([1.0, -2.0]))  # eagerly, all of them are allowed
    assert Tensor.__dict__["data"] is replay_data_slot()  # the guard is gone again


def replay_data_slot():
    # (the module: ``from autograd_lite import tensor`` is the factory al.tensor, as torch.tensor)
    from autograd_lite.tensor import _DATA_SLOT

    return _DATA_SLOT


def test_reads_that_are_not_values_of_the_arguments_are_allowed() -> None:
    w = al.Tensor(np.array([1.0, 3.0]))  # a closure Tensor: no argument flows into it

    def f(x):
        assert x.shape == (2,) and x.dtype == np.float64 and len(x) == 2
        scale = float(w.data.sum())  # the closure's own values: read at recording
        return (x * w * scale).sum()

    _agree(f, (np.array([1.0, 2.0]),), (np.array([3.0, 4.0]),))


def test_the_op_path_pays_nothing_for_the_guard_outside_recordings() -> None:
    assert Tensor.__dict__["data"] is replay_data_slot()  # a plain slot, not a property
    df = al.grad(lambda x: (x * x).sum(), replay=True)
    df(np.ones(2))
    assert Tensor.__dict__["data"] is replay_data_slot()


# -- 3. closure arrays are read through their object --------------------------------------------
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float64, np.float32])
def test_a_closure_array_changed_in_place_is_seen(dtype) -> None:
    W = np.array([1, 0, 1], dtype=dtype)

    def f(x):
        return (x * W).sum()

    def change():
        W[:] = np.array([0, 1, 1], dtype=dtype)

    x = np.array([1.0, 2.0, 3.0])
    _agree(f, (x,), (x,), change, (x,), (2 * x,))


def test_a_closure_list_changed_in_place_is_seen_where_an_op_converts_it() -> None:
    L = [1.0, 2.0]
    x = np.array([1.0, 1.0])

    def change():
        L[0] = 5.0

    _agree(lambda x: (x * L).sum(), (x,), change, (x,))


def test_a_closure_array_reshaped_is_recorded_again() -> None:
    W = np.array([1, 2], dtype=np.int64)

    def change():
        nonlocal W
        W = np.array([[1, 2], [3, 4]], dtype=np.int64)

    replayed = _agree(lambda x: (x * W).sum(), (np.ones(2),), change, (np.ones(2),))
    assert replayed.plans == 1


# -- 4. closure cells, globals and defaults ----------------------------------------------------
SCALE = 2.0


def _helper(x):
    return x * SCALE  # a global read by a function f calls


def _uses_a_global(x):
    return (_helper(x) * x).sum()


@settings(deadline=None, max_examples=20)
@given(values=st.lists(floats, min_size=2, max_size=4))
def test_a_rebound_closure_number_is_seen(values) -> None:
    k = values[0]

    def f(x):
        return (x * k).sum()

    calls: list = []
    for v in values[1:]:

        def rebind(v=v):
            nonlocal k
            k = v

        calls += [(np.array([1.0, 2.0]),), rebind]
    replayed = _agree(f, *calls, (np.array([1.0, 2.0]),))
    assert replayed.plans == 1  # recorded again under the same signature, never more plans


def test_a_rebound_global_read_by_a_called_function_is_seen() -> None:
    global SCALE

    def rebind():
        global SCALE
        SCALE = 5.0

    try:
        _agree(_uses_a_global, (np.array([1.0, 2.0]),), rebind, (np.array([1.0, 2.0]),))
    finally:
        SCALE = 2.0


def test_a_closed_over_tensor_rebound_to_another_tensor_is_seen() -> None:
    w = al.Tensor([1.0, 2.0])

    def f(x):
        return (x * w).sum()

    def rebind():
        nonlocal w
        w = al.Tensor([7.0, -1.0])

    _agree(f, (np.ones(2),), rebind, (np.ones(2),))


@pytest.mark.parametrize(
    "change",
    [
        lambda m: setattr(m.layers[0], "weight", nn.Parameter(np.full((3, 2), 0.5))),
        lambda m: m.layers.__setitem__(2, nn.Linear(3, 1, seed=9)),  # a layer replaced
        lambda m: m.append(nn.Tanh()),  # a layer added
        lambda m: m.eval(),  # the training mode
    ],
)
def test_a_closed_over_model_whose_layers_change_is_seen(change) -> None:
    """A model that f reads by name is watched as a tree: a parameter or a layer rebound,
    added or replaced is recorded again (the old Parameter objects are not replayed)."""
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Sigmoid(), nn.Linear(3, 1, seed=1))

    def f(x):
        return model(x).sum()

    x = (np.random.default_rng(0).normal(size=(4, 2)),)
    _agree(f, x, lambda: change(model), x)


def test_a_bound_method_of_a_module_watches_its_tree() -> None:
    """``al.grad(model.loss, replay=True)``: ``self`` is an nn.Module, so its tree is watched
    (the attributes of any other ``self`` are for the checking mode, below)."""

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2, seed=0)

        def loss(self, x):
            return al.sigmoid(self.fc(x)).sum()

    model, x = Model(), (np.random.default_rng(1).normal(size=(4, 3)),)

    def rebind():
        model.fc.weight = nn.Parameter(np.full((2, 3), 0.25))

    _agree(model.loss, x, rebind, x, lambda: setattr(model, "fc", nn.Linear(3, 2, seed=5)), x)


def test_a_rebound_default_is_seen() -> None:
    def f(x, k=2.0):
        return (x * k).sum()

    def rebind():
        f.__defaults__ = (3.0,)

    _agree(f, (np.ones(2),), rebind, (np.ones(2),))


def test_an_equal_number_rebound_does_not_record_again_but_minus_zero_does(monkeypatch) -> None:
    k = 2.0
    recordings = []
    record = replay.record
    monkeypatch.setattr(replay, "record", lambda *a: recordings.append(1) or record(*a))

    df = al.grad(lambda x: (x * k).sum(), replay=True)
    df(np.ones(2))
    k = float("2.0")  # another object, the same value
    df(np.ones(2))
    assert len(recordings) == 1
    k = 0.0
    assert _same(df(np.ones(2)), np.zeros(2))
    k = -0.0  # == 0.0, but not the same bits: x * -0.0 is -0.0
    assert _same(df(np.ones(2)), np.full(2, -0.0))
    assert len(recordings) == 3


# -- 5. the checking mode ----------------------------------------------------------------------
@settings(deadline=None)
@given(
    graph=st.one_of(
        graphs(scalar_output=True, max_ops=6),
        graphs(scalar_output=True, max_ops=4, dtype=np.float32),
        graphs(ops=sorted(COST_OPS), scalar_output=True, max_ops=2),
    ),
    factor=st.sampled_from([1.0, 1.01, 0.97]),
)
def test_the_checking_mode_passes_on_every_graph(graph, factor) -> None:
    values = graph.leaf_values
    argnums = tuple(range(len(values)))
    checked = al.value_and_grad(graph, argnums, replay="check")
    eager = al.value_and_grad(graph, argnums)
    with np.errstate(all="ignore"):
        for scale in (1.0, factor, 1.0):
            inputs = [np.array(v * v.dtype.type(scale)) for v in values]
            (value, grads), (value_c, grads_c) = eager(*inputs), checked(*inputs)
            assert _same(value, value_c)
            assert all(_same(g, h) for g, h in zip(grads, grads_c, strict=True))
    assert checked.calls == 3 and checked.plans == 1


def test_the_checking_mode_catches_np_random() -> None:
    rng = np.random.default_rng(0)

    def f(x):
        return (x * rng.standard_normal(x.shape)).sum()  # frozen at the recording

    df = al.grad(f, replay=True)
    first = df(np.ones(3))
    assert _same(df(np.ones(3)), first)  # replay=True: silently the recording's draw
    with pytest.raises(errors.ReplayError, match="gradient of argument 0 replayed differs"):
        al.grad(f, replay="check")(np.ones(3))


def test_the_checking_mode_names_the_argument_whose_gradient_differs() -> None:
    L = [1.0]

    def f(x, y):
        return (x * L[0] * y).sum()  # L[0] is a Python number: frozen

    vg = al.value_and_grad(f, (0, 1), replay="check")
    x, y = np.zeros(2), np.ones(2)
    vg(x, y)
    L[0] = 3.0  # a list changed in place: replay cannot see it
    with pytest.raises(errors.ReplayError, match="call 2.*gradient of argument 0 .*differs"):
        vg(x, y)  # the value (0) and the gradient for y (x * L[0] = 0) agree


def test_the_checking_mode_catches_an_attribute_of_self_rebound() -> None:
    class Model:
        def __init__(self) -> None:
            self.w = al.Tensor([1.0, 2.0])

        def loss(self, x):
            return (x * self.w).sum()

    model = Model()
    df = al.grad(model.loss, replay="check")
    df(np.ones(2))
    model.w = al.Tensor([3.0, 4.0])
    with pytest.raises(errors.ReplayError, match="differs"):
        df(np.ones(2))


def test_check_every_checks_the_first_call_and_every_nth_after() -> None:
    L = [1.0]
    df = al.grad(lambda x: (x * L[0]).sum(), replay=True, check_every=3)
    df(np.ones(2))  # call 1: checked
    L[0] = 2.0
    df(np.ones(2))  # calls 2 and 3: not checked, stale
    df(np.ones(2))
    with pytest.raises(errors.ReplayError, match="call 4"):
        df(np.ones(2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"replay": "yes"},
        {"replay": 1},
        {"replay": True, "check_every": 0},
        {"replay": True, "check_every": 2.0},
        {"replay": False, "check_every": 2},
    ],
)
def test_bad_checking_options_are_refused(kwargs) -> None:
    for transform in (al.grad, al.value_and_grad):
        with pytest.raises(errors.InvalidInputError):
            transform(lambda x: x.sum(), **kwargs)


@pytest.mark.parametrize("make", [list, lambda v: np.array(v, dtype=np.int64), np.array])
def test_a_tensor_made_inside_f_from_a_closure_object_is_made_again_each_call(make) -> None:
    W = make([1, 2])

    def f(x):
        return (x * al.Tensor(W, dtype=np.float32)).sum()

    def change():
        W[0] = 5

    x = np.ones(2, dtype=np.float32)
    _agree(f, (x,), change, (x,))


@settings(deadline=None, max_examples=20)
@given(first=vectors, factor=st.sampled_from([0.5, 2.0, -1.0]))
def test_detach_inside_f_is_a_stop_gradient_step_recomputed_at_every_call(first, factor) -> None:
    def f(x):
        return (x * x.detach() * 3.0).sum()

    replayed = al.grad(f, replay=True)
    for x in (first, first * factor):
        assert _same(replayed(x), al.grad(f)(x))
        assert _same(replayed(x), x * 3.0)  # the detached factor is a constant


class _Scaled:
    def __call__(self, x):
        return (x * SCALE).sum()


def test_a_global_read_by_a_callable_object_is_watched() -> None:
    global SCALE

    def rebind():
        global SCALE
        SCALE = -3.0

    try:
        _agree(_Scaled(), (np.array([1.0, 2.0]),), rebind, (np.array([1.0, 2.0]),))
    finally:
        SCALE = 2.0


def test_a_closure_array_whose_shape_is_changed_in_place_is_recorded_again() -> None:
    W = np.array([1.0, 2.0])

    def change():
        W.shape = (2, 1)  # the same object: x * W now broadcasts to (2, 2)

    _agree(lambda x: (x * W * x).sum(), (np.array([1.0, 3.0]),), change, (np.array([1.0, 3.0]),))


def test_another_thread_computes_gradients_while_a_recording_guards_data() -> None:
    import threading

    inside, done = threading.Event(), threading.Event()

    def slow(x):
        inside.set()  # Tensor.data is the guarding property from here ...
        done.wait(10)
        return (x * x).sum()

    recorder = threading.Thread(target=lambda: al.grad(slow, replay=True)(np.ones(2)))
    recorder.start()
    assert inside.wait(10)
    try:
        assert Tensor.__dict__["data"] is not replay_data_slot()
        for k in range(50):  # ... and the op path of another thread still runs through it
            w = al.Tensor(np.full(3, float(k)), requires_grad=True)
            ((w * w).sum() * 0.5).backward()
            assert _same(w.grad, np.full(3, float(k)))
    finally:
        done.set()
        recorder.join(10)
    assert Tensor.__dict__["data"] is replay_data_slot()


@pytest.mark.parametrize("how", ["in place", "new array"])
def test_ops_on_outside_tensors_only_are_recomputed_at_every_call(how) -> None:
    w = al.Tensor(np.array([1.0, 2.0]))

    def f(x):
        s = al.exp(w) * 2.0  # depends on no argument, but on w, which may change
        return (x * s).sum()

    def change():
        if how == "in place":
            w.data[:] = [3.0, -1.0]
        else:
            w.data = np.array([3.0, -1.0])

    _agree(f, (np.ones(2),), change, (np.ones(2),))


@pytest.mark.parametrize(
    "values",
    [
        (0.0, -0.0),  # equal in Python, not bitwise: x * -0.0 is -0.0
        (2.0, np.float64(2.0), 2, True),  # equal, but NumPy promotes float32 differently
        ((1.0, 0.0), (1.0, -0.0)),
    ],
)
def test_arguments_taken_by_value_are_told_apart_by_type_and_bits(values) -> None:
    def f(x, k):
        k = k[1] if isinstance(k, tuple) else k
        return (x * k).sum()

    x = np.array([1.0, 2.0], dtype=np.float32)
    calls = [(x, k) for k in values] + [(x, values[0])]
    replayed = _agree(f, *calls, argnums=(0,))
    assert replayed.plans == len(values)


def test_keywords_taken_by_value_are_told_apart_by_bits() -> None:
    def f(x, k=1.0):
        return (x * k).sum()

    eager, replayed = al.grad(f), al.grad(f, replay=True)
    for k in (0.0, -0.0, 0.0):
        assert _same(replayed(np.ones(2), k=k), eager(np.ones(2), k=k))
