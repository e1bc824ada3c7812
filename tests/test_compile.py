"""``al.compile``: one fused node per input signature, bitwise the eager graph, replay's guards."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import errors, nn, optim
from autograd_lite.testing.strategies import COST_OPS, graphs


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _mlp(sizes, seed, dtype=np.float64, act=nn.Sigmoid):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(n_in, n_out, seed=seed + i, dtype=dtype), act()]
    return nn.Sequential(*layers)


@settings(deadline=None, max_examples=25)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    m=st.integers(1, 4),
    dtype=st.sampled_from([np.float64, np.float32]),
    act=st.sampled_from([nn.Sigmoid, nn.Tanh, nn.ReLU]),
    seed=st.integers(0, 2**16),
)
def test_a_compiled_module_trains_bitwise_as_the_eager_one(sizes, m, dtype, act, seed) -> None:
    """The usual loop, unchanged: outputs, every parameter's gradient and the updated
    parameters (in-place optimizer updates seen at the next call) are bitwise the eager ones."""
    rng = np.random.default_rng(seed)
    models = [_mlp(sizes, seed, dtype, act) for _ in range(2)]
    compiled = al.compile(models[1])
    opts = [optim.SGD(model.parameters(), lr=0.5, momentum=0.5) for model in models]
    for _ in range(3):
        x = rng.standard_normal((m, sizes[0])).astype(dtype)
        y = rng.random((m, sizes[-1])).astype(dtype)
        outs = []
        for model, forward, opt in zip(models, (models[0], compiled), opts):
            model.zero_grad()
            out = forward(x)
            al.quadratic_cost(out, y).backward()
            opt.step()
            outs.append(out)
        assert _same(outs[0].data, outs[1].data)
        for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
            assert _same(p.grad, q.grad) and _same(p.data, q.data)
    assert compiled.fallback_reason is None and compiled.plans == 1


@settings(deadline=None, max_examples=40)
@given(
    graph=st.one_of(
        graphs(max_ops=5),
        graphs(max_ops=4, dtype=np.float32),
        graphs(ops=sorted(COST_OPS), scalar_output=True, max_ops=2),
    ),
)
def test_a_compiled_function_is_the_eager_graph_bitwise(graph) -> None:
    """Random graphs of every op, non-scalar outputs included: the value and the gradient of
    every input, with an upstream gradient that is not all ones."""
    compiled = al.compile(graph)
    with np.errstate(all="ignore"):
        for _ in range(2):  # the recording, then a replay
            results = []
            for fn in (graph, compiled):
                leaves = [al.Tensor(v, requires_grad=True) for v in graph.leaf_values]
                out = fn(*leaves)
                seed = np.linspace(0.5, 1.5, out.data.size).reshape(out.shape).astype(out.dtype)
                out.backward(seed)
                results.append([out.data, *(leaf.grad for leaf in leaves)])
            for a, b in zip(*results, strict=True):
                assert (a is None and b is None) or _same(a, b), repr(graph)
    assert compiled.fallback_reason is None, compiled.fallback_reason


def test_the_source_shows_the_generated_forward_and_backward() -> None:
    compiled = al.compile(_mlp([3, 2], seed=0))
    compiled(np.ones((4, 3)))
    assert "def forward(" in compiled.source and "def backward(" in compiled.source
    assert "v3 = linear_0(x0, x1, x2)" in compiled.source  # Linear: one op


def test_a_new_shape_records_again_and_values_are_part_of_the_signature() -> None:
    def f(x, power):
        return x**power

    compiled = al.compile(f)
    x = al.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for power in (2, 3, 2):
        compiled(x, power).sum().backward()
    assert np.array_equal(x.grad, 2 * 2 * x.data + 3 * x.data**2)
    compiled(al.Tensor(np.ones((2, 2))), 2)
    assert compiled.plans == 3


def test_what_cannot_be_compiled_runs_eagerly_with_the_reason() -> None:
    def branchy(x):
        return x * 2.0 if x.sum() > 0 else x * 3.0  # a Python branch on data

    compiled = al.compile(branchy)
    x = al.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    compiled(x).sum().backward()
    assert np.array_equal(x.grad, [2.0, 2.0])
    assert "ReplayError" in compiled.fallback_reason and "'>'" in compiled.fallback_reason
    with pytest.raises(errors.ReplayError, match="'>'"):
        al.compile(branchy, fullgraph=True)(x)


@pytest.mark.parametrize(
    ("fn", "args", "match"),
    [
        (lambda x: (x * 2.0, x), (np.ones(2),), "tuple"),
        (lambda x, d: x * 2.0, (np.ones(2), {"not": "hashable"}), "hashable"),
        (lambda x: x * x.data, (np.ones(2),), r"\.data"),
    ],
)
def test_fullgraph_raises_where_the_default_falls_back(fn, args, match) -> None:
    compiled = al.compile(fn)
    compiled(*args)
    assert compiled.fallback_reason is not None
    with pytest.raises(errors.AutogradLiteError, match=match):
        al.compile(fn, fullgraph=True)(*args)


def test_hooks_are_refused_as_in_replay() -> None:
    def f(x):
        y = x * 2.0
        y.register_hook(lambda g: g)
        return y

    compiled = al.compile(f)
    compiled(al.Tensor(np.ones(2), requires_grad=True))
    assert "hook" in compiled.fallback_reason


def test_a_rebound_closure_value_records_again() -> None:
    scale = 2.0

    def f(x):
        return x * scale

    compiled = al.compile(f)
    assert np.array_equal(compiled(np.ones(2)).data, [2.0, 2.0])
    scale = 5.0
    assert np.array_equal(compiled(np.ones(2)).data, [5.0, 5.0])


def test_a_rebound_parameter_is_a_new_signature() -> None:
    model = _mlp([2, 2], seed=0)
    compiled = al.compile(model)
    compiled(np.ones((1, 2)))
    model.layers[0].weight = nn.Parameter(np.zeros((2, 2)))
    assert np.array_equal(compiled(np.ones((1, 2))).data, model(np.ones((1, 2))).data)
    assert compiled.plans == 2


def test_a_closure_tensor_is_read_afresh_and_inputs_that_need_no_grad_get_none() -> None:
    w = al.Tensor(np.array([1.0, 2.0]))
    compiled = al.compile(lambda x: (x * w).sum())
    x = al.Tensor(np.ones(2))
    assert compiled(x).data == 3.0 and not compiled(x).requires_grad
    w.data = np.array([10.0, 20.0])
    assert compiled(x).data == 30.0


def test_no_grad_anomaly_and_grad_run_without_recording_a_graph() -> None:
    model = _mlp([2, 1], seed=0)
    compiled = al.compile(model)
    with al.no_grad():
        out = compiled(np.ones((1, 2)))
    assert not out.requires_grad
    with al.detect_anomaly():
        compiled(np.ones((1, 2))).sum().backward()
    assert compiled.fallback_reason is not None
    f = al.compile(lambda x: (x**3).sum())
    assert np.array_equal(al.grad(lambda x: f(x))(np.array([2.0])), [12.0])


def test_a_retained_graph_backpropagates_through_the_fused_node_twice() -> None:
    model = _mlp([3, 2], seed=0)
    compiled = al.compile(model)
    loss = compiled(np.ones((2, 3))).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.copy() for p in model.parameters()]
    loss.backward()
    assert all(np.array_equal(p.grad, 2 * g) for p, g in zip(model.parameters(), first))


def _count_walks(monkeypatch) -> list:
    """The walks of a module tree made by ``parameters()`` (which caches its list)."""
    walks: list = []
    walk = nn.module._walked
    monkeypatch.setattr(nn.module, "_walked", lambda *a: walks.append(1) or walk(*a))
    return walks


def test_the_module_tree_is_walked_once_while_its_parameters_stay_bound(monkeypatch) -> None:
    model = _mlp([2, 2, 1], seed=0)
    walks = _count_walks(monkeypatch)
    compiled = al.compile(model)
    for _ in range(3):
        compiled(np.ones((1, 2)))
    assert len(walks) == 1
    model.layers[2] = nn.Linear(2, 1, seed=5)  # another parameter at that path: walked again
    assert np.array_equal(compiled(np.ones((1, 2))).data, model(np.ones((1, 2))).data)
    assert len(walks) == 2 and compiled.plans == 2


class _Keyed(nn.Module):
    """Layers in a dict under digit keys (``blocks.0.weight``)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = {"0": nn.Linear(2, 3, seed=0), "1": nn.Linear(3, 1, seed=1)}

    def forward(self, x):
        return self.blocks["1"](al.tanh(self.blocks["0"](x)))


def test_a_layer_rebound_in_a_dict_records_again(monkeypatch) -> None:
    model = _Keyed()
    walks = _count_walks(monkeypatch)
    compiled, x = al.compile(model), np.ones((4, 2))
    for _ in range(3):
        compiled(x)
    assert len(walks) == 1 and compiled.plans == 1 and compiled.fallback_reason is None
    model.blocks["0"] = nn.Linear(2, 3, seed=7)  # rebound under the same key: walked again
    assert _same(compiled(x).data, model(x).data)
    assert len(walks) == 2 and compiled.plans == 2
    model.blocks["0"].weight.data = np.ones((3, 2))  # same object, new array: seen by value
    assert _same(compiled(x).data, model(x).data)


def test_a_layer_appended_after_compiling_is_run() -> None:
    """Its parameters change the signature: recorded again, the output is the eager one."""
    model = _mlp([2, 3], seed=0)
    compiled, x = al.compile(model), np.ones((4, 2))
    compiled(x)
    model.append(nn.Linear(3, 1, seed=1))
    assert _same(compiled(x).data, model(x).data) and compiled.plans == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.append(nn.Sigmoid()),  # a layer without parameters, added to the list
        lambda m: m.layers.__setitem__(1, nn.Tanh()),  # replaced in place in the list
        lambda m: setattr(m, "layers", [*m.layers[:1], nn.ReLU()]),  # the list rebound
    ],
)
def test_a_parameterless_layer_added_or_replaced_is_seen(change: Any) -> None:
    """Layers without parameters change no parameter: the module's structure() keys the
    recordings, so the compiled output stays the eager one."""
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Sigmoid())
    compiled, x = al.compile(model), np.random.default_rng(0).normal(size=(4, 2))
    assert _same(compiled(x).data, model(x).data)
    change(model)
    assert _same(compiled(x).data, model(x).data) and compiled.plans == 2


def test_a_parameter_frozen_after_compiling_gets_no_gradient() -> None:
    """requires_grad is read every call (the tree is walked only when it changes)."""
    model = _mlp([2, 3, 1], seed=0)
    compiled, x, y = al.compile(model), np.ones((4, 2)), np.zeros((4, 1))
    al.quadratic_cost(compiled(x), y).backward()
    first = model.layers[0]
    first.weight.requires_grad = False
    model.zero_grad()
    al.quadratic_cost(compiled(x), y).backward()
    assert first.weight.grad is None and first.bias.grad is not None and compiled.plans == 2


def test_an_object_with_parameters_but_no_structure_is_read_every_call() -> None:
    """Without ``structure()`` nothing says the parameters are the same: asked every call."""

    class Scaled:
        def __init__(self) -> None:
            self.weights = [al.Tensor(np.array([1.0, 2.0]), requires_grad=True)]

        def parameters(self) -> list:
            return list(self.weights)

        def __call__(self, x: Any) -> Any:
            return (x * self.weights[0]).sum()

    fn = Scaled()
    compiled = al.compile(fn)
    compiled(np.ones(2)).backward()
    fn.weights[0] = al.Tensor(np.array([3.0, 5.0]), requires_grad=True)
    out = compiled(np.full(2, 2.0))
    out.backward()
    assert out.item() == 16.0 and np.array_equal(fn.weights[0].grad, [2.0, 2.0])
    assert compiled.fallback_reason is None and compiled.plans == 2


def _twins(make: Any) -> tuple[Any, Any]:
    """Two models made alike (same seeds): one to compile, one to run eagerly."""
    return make(), make()


def test_dropout_draws_a_new_mask_at_every_compiled_call_as_eagerly() -> None:
    """The mask is drawn by the op itself, which the fused node runs at every call: the same
    masks, outputs and gradients as the eager model's, call after call."""
    compiled_model, eager = _twins(
        lambda: nn.Sequential(nn.Linear(3, 4, seed=0), nn.Dropout(0.5, seed=1), nn.Tanh())
    )
    compiled, x = al.compile(compiled_model), np.random.default_rng(0).normal(size=(5, 3))
    outputs = []
    for _ in range(4):
        for model in (compiled_model, eager):
            model.zero_grad()
        ours, theirs = compiled(x), eager(x)
        ours.sum().backward()
        theirs.sum().backward()
        assert _same(ours.data, theirs.data) and compiled.fallback_reason is None
        for p, q in zip(compiled_model.parameters(), eager.parameters()):
            assert _same(p.grad, q.grad)
        outputs.append(ours.data)
    assert not _same(outputs[0], outputs[1]) and compiled.plans == 1


def test_train_eval_and_a_rebound_hyper_parameter_are_seen() -> None:
    model = nn.Sequential(nn.Linear(3, 3, seed=0), nn.Dropout(0.5, seed=1))
    compiled, x = al.compile(model), np.ones((4, 3))
    compiled(x)
    model.eval()
    assert _same(compiled(x).data, model(x).data)
    model.train()
    model.layers[1].p = 0.0  # a hyper-parameter the forward reads: recorded again
    assert _same(compiled(x).data, model(x).data)
    norm = nn.LayerNorm(3)
    compiled_norm, z = al.compile(norm), x * np.arange(3)
    compiled_norm(z)
    norm.eps = 10.0
    assert _same(compiled_norm(z).data, norm(z).data)


def test_batch_norm_in_eval_reads_the_running_statistics_of_now() -> None:
    """Evaluate, train more (the running statistics change in place), evaluate again: the
    compiled evaluation uses the new statistics, as the eager one does."""
    compiled_model, eager = _twins(
        lambda: nn.Sequential(nn.Linear(3, 3, seed=0), nn.BatchNorm1d(3), nn.Sigmoid())
    )
    compiled, rng = al.compile(compiled_model), np.random.default_rng(1)
    for _ in range(3):
        batch = rng.normal(size=(6, 3))
        for model in (compiled_model, eager):
            model.train()
        compiled(batch)
        eager(batch)
        for model in (compiled_model, eager):
            model.eval()
        ours, theirs = compiled(batch), eager(batch)
        assert _same(ours.data, theirs.data)
        ours.sum().backward()
        theirs.sum().backward()
        for p, q in zip(compiled_model.parameters(), eager.parameters()):
            assert _same(p.grad, q.grad)


def test_a_module_made_elsewhere_does_not_record_again() -> None:
    """Building a module anywhere makes every structure() new, but not this tree's versions:
    the recording is kept."""
    model = _mlp([2, 3], seed=0)
    compiled, x = al.compile(model), np.ones((1, 2))
    compiled(x)
    nn.Linear(2, 2, seed=1)
    nn.MSELoss()
    compiled(x)
    assert compiled.plans == 1 and compiled.fallback_reason is None


@pytest.mark.parametrize("how", ["bound method", "closure"])
def test_tensors_from_outside_that_require_grad_get_their_gradients(how: str) -> None:
    """A function that reads a model through ``self`` or a closure: its parameters are inputs
    of the fused node, so they get the eager gradients (replay would hold them constant)."""
    model, eager = _twins(lambda: _mlp([3, 4, 2], seed=0))
    fn = model.forward if how == "bound method" else (lambda x: model(x))
    compiled, x = al.compile(fn), np.random.default_rng(2).normal(size=(5, 3))
    for _ in range(2):
        for m in (model, eager):
            m.zero_grad()
        compiled(x).sum().backward()
        eager(x).sum().backward()
        for p, q in zip(model.parameters(), eager.parameters()):
            assert _same(p.grad, q.grad)
    assert compiled.fallback_reason is None and compiled.plans == 1
    first = model.layers[0].weight
    first.requires_grad = False  # frozen: recorded again without it
    model.zero_grad()
    compiled(x).sum().backward()
    assert first.grad is None and model.layers[0].bias.grad is not None
    first.data = np.ones((4, 3))  # another value: read afresh
    first.requires_grad = True
    np.testing.assert_array_equal(compiled(x).data, model(x).data)
    # The module's tree is watched (a bound method's owner, a closure's model) as when the
    # module itself is compiled: a parameter or a layer rebound is recorded again.
    model.layers[0].weight = nn.Parameter(np.full((4, 3), 2.0))
    np.testing.assert_array_equal(compiled(x).data, model(x).data)
    model.layers[2] = nn.Linear(4, 2, seed=7)
    model.zero_grad()
    compiled(x).sum().backward()
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    assert all(_same(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))


def test_a_forward_that_binds_module_attributes_runs_eagerly_with_the_reason() -> None:
    """Such a forward changes the module at every call: each call would record again."""

    class Remembers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(2, 2, seed=0)

        def forward(self, x: Any) -> Any:
            self.last = self.layer(x)
            return al.tanh(self.last)

    model = Remembers()
    compiled, x = al.compile(model), np.ones((3, 2))
    calls = []
    original = model.forward
    model.forward = lambda x: calls.append(1) or original(x)  # type: ignore[method-assign]
    for _ in range(3):
        out = compiled(x)
        assert "binds attributes" in compiled.fallback_reason
        assert model.last.op == "linear" and _same(out.data, al.tanh(model.last).data)
    assert len(calls) == 4  # recorded once, then eagerly at every call
