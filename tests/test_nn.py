"""al.nn: Parameter, Module discovery and state, Linear, Sequential, activations, checkpoints."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import nn
from autograd_lite.errors import CheckpointError, ShapeError


def _numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to the array x (changed in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


# -- Parameter ---------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad_and_owns_its_data():
    source = np.array([1.0, 2.0])
    p = nn.Parameter(source)
    assert isinstance(p, al.Tensor) and p.is_leaf and p.requires_grad
    p.data += 1
    np.testing.assert_array_equal(source, [1.0, 2.0])  # copied
    assert nn.Parameter([1, 2]).dtype == np.float64
    assert nn.Parameter(np.zeros(2, np.float32)).dtype == np.float32
    assert not nn.Parameter([1.0], requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter(")
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [4.0, 6.0])


# -- Module discovery --------------------------------------------------------------------------
class _Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(np.ones(2))

    def forward(self, x):
        return x * self.a


class _Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1))
        self.blocks = [_Inner(), (_Inner(), nn.Parameter(np.zeros(3)))]
        self.table = {"first": _Inner(), "second": nn.Parameter(np.zeros(1))}
        self.constant = al.Tensor(np.ones(2), requires_grad=True)  # not a Parameter
        self.number = 3.0

    def forward(self, x):
        return x


def test_parameters_found_recursively_in_a_fixed_order():
    model = _Outer()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "scale",
        "blocks.1.1",
        "table.second",
        "blocks.0.a",
        "blocks.1.0.a",
        "table.first.a",
    ]
    assert [name for name, _ in _Outer().named_parameters()] == names
    assert len(model.parameters()) == 6 and model.num_parameters() == 1 + 3 + 1 + 2 * 3
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    assert [name for name, _ in model.named_modules()] == [
        "",
        "blocks.0",
        "blocks.1.0",
        "table.first",
    ]
    assert len(list(model.children())) == 3


def test_state_dict_reaches_parameters_in_lists_and_dicts_and_loads_them_back():
    model, other = _Outer(), _Outer()
    for i, p in enumerate(model.parameters()):
        p.data[...] = i + 1.0
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    other.load_state_dict(state)
    for (name, p), q in zip(model.named_parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_tied_parameters_listed_once_and_cycles_terminate():
    layer = _Inner()
    model = nn.Sequential(layer, layer)
    assert [n for n, _ in model.named_parameters()] == ["0.a"]
    model.me = model  # a cycle: discovery must not loop
    assert len(model.parameters()) == 1
    assert len(list(model.modules())) == 2


def test_zero_grad_and_call_runs_forward():
    model = _Inner()
    out = model(np.array([2.0, 3.0]))
    out.sum().backward()
    np.testing.assert_array_equal(model.a.grad, [2.0, 3.0])
    model.zero_grad()
    assert model.a.grad is None
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1.0)


def test_train_eval_flags_are_recursive():
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Sequential(nn.Tanh()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


class _Highway(nn.Module):
    """y = t ⊙ tanh(x Wₕᵀ + bₕ) + (1 − t) ⊙ x,  t = σ(x Wₜᵀ + bₜ)."""

    def __init__(self, n, seed):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.h = nn.Linear(n, n, init="normalized", rng=rng)
        self.t = nn.Linear(n, n, init="normalized", rng=rng)

    def forward(self, x):
        t = al.sigmoid(self.t(x))
        return t * al.tanh(self.h(x)) + (1 - t) * x


def test_custom_layer_gradients_come_for_free():
    rng = np.random.default_rng(1)
    layer = _Highway(3, seed=2)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 3))

    def cost():
        return al.quadratic_cost(layer(x), y).item()

    layer.zero_grad()
    al.quadratic_cost(layer(x), y).backward()
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(
            p.grad, _numeric_grad(cost, p.data), rtol=1e-6, atol=1e-8, err_msg=name
        )


# -- Linear --------------------------------------------------------------------------------------
def test_linear_is_x_times_w_transpose_plus_b():
    layer = nn.Linear(3, 2, seed=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-15)
    np.testing.assert_allclose(
        layer(x[0]).data, layer.weight.data @ x[0] + layer.bias.data, rtol=1e-15
    )
    no_bias = nn.Linear(3, 2, bias=False, seed=0)
    assert no_bias.bias is None and len(no_bias.parameters()) == 1
    np.testing.assert_allclose(no_bias(x).data, x @ no_bias.weight.data.T, rtol=1e-15)
    assert "Linear(3, 2" in repr(layer) and "bias=False" in repr(no_bias)


def test_linear_gradients_are_bp3_and_bp4_in_rows():
    rng = np.random.default_rng(5)
    layer = nn.Linear(3, 2, seed=1)
    x = rng.normal(size=(6, 3))
    upstream = rng.normal(size=(6, 2))  # Δ = ∂C/∂y, one row per sample
    layer(x).backward(upstream)
    np.testing.assert_allclose(layer.weight.grad, upstream.T @ x, rtol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, upstream.sum(axis=0), rtol=1e-14)


def test_linear_initializations():
    n_in, n_out = 400, 300
    standard = nn.Linear(n_in, n_out, init="standard", seed=0)
    normalized = nn.Linear(n_in, n_out, init="normalized", seed=0)
    assert abs(standard.weight.data.std() - 1.0) < 0.01
    assert abs(normalized.weight.data.std() - 1 / np.sqrt(n_in)) < 0.01 / np.sqrt(n_in)
    assert abs(normalized.weight.data.mean()) < 0.01
    assert abs(normalized.bias.data.std() - 1.0) < 0.15  # biases stay N(0, 1)
    # Same seed, same draws; "normalized" is "standard" scaled by 1/sqrt(n_in).
    np.testing.assert_allclose(normalized.weight.data, standard.weight.data / np.sqrt(n_in))
    np.testing.assert_array_equal(
        nn.Linear(4, 3, seed=7).weight.data, nn.Linear(4, 3, seed=7).weight.data
    )
    rng = np.random.default_rng(7)
    first, second = nn.Linear(4, 3, rng=rng), nn.Linear(4, 3, rng=rng)
    assert not np.array_equal(first.weight.data, second.weight.data)
    assert nn.Linear(2, 2, dtype=np.float32).weight.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_features": 0, "out_features": 2}, ValueError, "in_features"),
        ({"in_features": 2, "out_features": 2.5}, ValueError, "out_features"),
        ({"in_features": 2, "out_features": 2, "init": "xavier"}, ValueError, "init"),
        (
            {"in_features": 2, "out_features": 2, "seed": 1, "rng": np.random.default_rng()},
            ValueError,
            "seed",
        ),
        ({"in_features": 2, "out_features": 2, "rng": 3}, TypeError, "Generator"),
    ],
)
def test_linear_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Linear(**kwargs)


def test_linear_shape_error_names_layer_and_shapes():
    with pytest.raises(ShapeError, match=r"Linear\(3, 2\).*\(4, 5\)"):
        nn.Linear(3, 2, seed=0)(np.ones((4, 5)))


# -- Sequential and activations ---------------------------------------------------------------
def test_sequential_composes_indexes_and_slices():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Sigmoid(), nn.Linear(4, 2, seed=1))
    x = np.random.default_rng(0).normal(size=(5, 3))
    expected = model[2](model[1](model[0](x)))
    np.testing.assert_array_equal(model(x).data, expected.data)
    assert len(model) == 3 and list(model)[1] is model.layers[1]
    head = model[:-1]
    assert isinstance(head, nn.Sequential) and head[0] is model[0]
    assert nn.Sequential([nn.Tanh(), nn.ReLU()]).layers[1].__class__ is nn.ReLU
    model.append(nn.Softmax())
    assert len(model) == 4
    with pytest.raises(TypeError, match="item 1"):
        nn.Sequential(nn.Tanh(), np.tanh)
    assert "(0): Linear(3, 4" in repr(model)


def test_activations_match_numpy():
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    np.testing.assert_allclose(nn.Sigmoid()(z).data, 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(nn.Tanh()(z).data, np.tanh(z), rtol=1e-14)
    np.testing.assert_array_equal(nn.ReLU()(z).data, np.maximum(z, 0))
    for axis in (0, -1):
        e = np.exp(z)
        soft = nn.Softmax(axis=axis)(z).data
        np.testing.assert_allclose(soft, e / e.sum(axis=axis, keepdims=True), rtol=1e-14)
        np.testing.assert_allclose(
            nn.LogSoftmax(axis=axis)(z).data, np.log(soft), rtol=1e-13, atol=1e-15
        )
    assert repr(nn.Softmax(axis=0)) == "Softmax(axis=0)"


# -- state_dict ------------------------------------------------------------------------------------
def _mlp(seed=0):
    return nn.Sequential(nn.Linear(3, 4, seed=seed), nn.Tanh(), nn.Linear(4, 2, seed=seed + 1))


def test_state_dict_round_trip_is_a_copy_and_in_place():
    model, other = _mlp(0), _mlp(10)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.bias"][:] = 99.0
    assert not np.any(model[0].bias.data == 99.0)  # a copy
    state = model.state_dict()
    array_before = other[0].weight.data
    assert other.load_state_dict(state) is other
    assert other[0].weight.data is array_before  # loaded in place
    x = np.ones((2, 3))
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_load_state_dict_errors_name_keys_and_shapes_and_change_nothing():
    model = _mlp(0)
    before = model.state_dict()
    bad = model.state_dict()
    bad["0.bias"] = np.zeros(5)
    bad["2.weight"] = bad["2.weight"] + 1.0
    with pytest.raises(CheckpointError, match=r"'0\.bias'.*\(5,\).*\(4,\)"):
        model.load_state_dict(bad)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # nothing written
    missing = dict(before)
    del missing["2.bias"]
    with pytest.raises(CheckpointError, match=r"missing keys \['2\.bias'\]"):
        model.load_state_dict(missing)
    extra = dict(before, **{"9.weight": np.ones(1)})
    with pytest.raises(CheckpointError, match=r"unexpected keys \['9\.weight'\]"):
        model.load_state_dict(extra)
    model.load_state_dict(missing, strict=False)
    model.load_state_dict(extra, strict=False)
    nan = dict(before, **{"0.bias": np.full(4, np.nan)})
    with pytest.raises(CheckpointError, match="NaN"):
        model.load_state_dict(nan)
    with pytest.raises(CheckpointError, match="mapping"):
        model.load_state_dict([1, 2])


# -- save / load -------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    model = _mlp(0)
    path = model.save(tmp_path / "model.ckpt")
    assert path == tmp_path / "model.ckpt" and path.exists()  # no suffix added
    with np.load(path, allow_pickle=False) as npz:
        assert "0.weight" in npz.files
    other = _mlp(5).load(path)
    x = np.ones((2, 3))
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]  # no temporary left


def test_load_refuses_missing_corrupt_and_mismatched_files(tmp_path):
    model = _mlp(0)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="not found"):
        model.load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError, match="regular file"):
        model.load(tmp_path)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="garbage.npz"):
        model.load(garbage)
    good = model.save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        model.load(truncated)
    wider = nn.Sequential(nn.Linear(3, 5, seed=0), nn.Tanh(), nn.Linear(5, 2, seed=1))
    with pytest.raises(CheckpointError, match=r"good\.npz.*'0\.weight'.*\(4, 3\)"):
        wider.load(good)
    with pytest.raises(CheckpointError, match="unexpected keys"):
        nn.Sequential(nn.Linear(3, 4)).load(good)
    plain = tmp_path / "plain.npz"
    np.savez(plain, **before)  # no format tag
    with pytest.raises(CheckpointError, match="not an autograd_lite.nn checkpoint"):
        model.load(plain)
    pickled = tmp_path / "pickled.npz"
    objects = {"__format__": np.array("autograd_lite.nn/1"), "0.bias": np.array([{}] * 4)}
    np.savez(pickled, **objects)  # an object array under a key the model has: needs pickle
    with pytest.raises(CheckpointError, match=r"pickled\.npz.*allow_pickle"):
        model.load(pickled)
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(CheckpointError, match=".npy"):
        model.load(npy)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert zipfile.is_zipfile(good)


# -- PyTorch's names, typed errors, and checkpoints written with the old names ---------------------
def test_state_dict_errors_are_typed_and_carry_the_keys(tmp_path):
    model = _mlp(0)
    state = model.state_dict()
    del state["2.bias"]
    state["head.weight"] = np.ones(2)
    with pytest.raises(nn.StateDictKeyError) as info:
        model.load_state_dict(state)
    assert info.value.missing_keys == ["2.bias"]
    assert info.value.unexpected_keys == ["head.weight"]
    assert isinstance(info.value, CheckpointError)
    state = dict(model.state_dict(), **{"0.weight": np.ones((3, 4))})
    with pytest.raises(nn.StateDictShapeError) as shape_info:
        model.load_state_dict(state)
    error = shape_info.value
    assert (error.key, error.got, error.expected) == ("0.weight", (3, 4), (4, 3))
    assert isinstance(error, ShapeError)
    wider = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    path = model.save(tmp_path / "m.npz")
    with pytest.raises(nn.StateDictShapeError, match=r"^.*m\.npz: load_state_dict: '0\.weight'"):
        wider.load(path)
    longer = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Linear(2, 2))
    with pytest.raises(nn.StateDictKeyError, match=r"m\.npz: .*missing keys \['3\.weight'"):
        longer.load(path)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(3, 3, init="standard", seed=3), nn.Tanh())

    def forward(self, x):
        return self.inner(x)


def _v1_model(init="standard", seeds=(1, 2)):
    return nn.Sequential(
        nn.Linear(4, 3, init=init, seed=seeds[0]),
        nn.Sigmoid(),
        _Block(),
        nn.Linear(3, 2, init=init, seed=seeds[1]),
    )


def test_a_checkpoint_written_with_the_old_layers_names_still_loads():
    # tests/data/nn_checkpoint_v1.npz was written by Module.save before Sequential's children
    # were named like PyTorch's: its keys are layers.0.weight … layers.2.inner.layers.0.bias
    path = Path(__file__).parent / "data" / "nn_checkpoint_v1.npz"
    with np.load(path, allow_pickle=False) as npz:
        assert "layers.2.inner.layers.0.weight" in npz.files
    model = _v1_model(init="kaiming_uniform", seeds=(8, 9)).load(path)
    expected = _v1_model()  # the model that was saved: chapter-style N(0, 1) draws
    for (key, value), (other, saved) in zip(
        model.state_dict().items(), expected.state_dict().items(), strict=True
    ):
        assert key == other
        np.testing.assert_array_equal(value, saved, err_msg=key)
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    np.testing.assert_allclose(
        model(x).data, [[0.17885474, -2.54173982], [0.36443019, -3.12119826]], rtol=0, atol=1e-8
    )  # printed by the code that wrote the file
    # a state dict with the old names (a nested Sequential's too) loads as well
    old = {"layers." + k.replace("inner.", "inner.layers."): v
           for k, v in expected.state_dict().items()}  # fmt: skip
    assert "layers.2.inner.layers.0.bias" in old
    fresh = _v1_model(init="kaiming_uniform").load_state_dict(old)
    np.testing.assert_array_equal(fresh(x).data, expected(x).data)
