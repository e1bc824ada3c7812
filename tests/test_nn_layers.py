"""al.nn layers: Flatten, Identity, LayerNorm, BatchNorm1d/2d, Dropout, Embedding, Linear's
initialisations, Module's modes and tree helpers. Each against closed forms written out here,
gradcheck/gradgradcheck, and PyTorch where installed (tests/test_nn_torch.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn
from autograd_lite.errors import ShapeError, TensorIndexError
from autograd_lite.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def _with_params(layer, names):
    """f(x, *params) running ``layer`` with the given tensors as its parameters."""

    def f(x, *params):
        for name, p in zip(names, params, strict=True):
            setattr(layer, name, p)
        return layer(x)

    return f


def _check_grads(layer, x, names=("weight", "bias")):
    params = [al.Tensor(getattr(layer, n).data.copy(), requires_grad=True) for n in names]
    inputs = [al.Tensor(x, requires_grad=True), *params]
    f = _with_params(layer, names)
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


# -- Linear: initialisation ------------------------------------------------------------------------
def test_linear_default_is_pytorchs_kaiming_uniform():
    n_in, n_out = 400, 300
    layer = nn.Linear(n_in, n_out, seed=0)
    bound = 1 / np.sqrt(n_in)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.99 * bound
        assert abs(p.std() - bound / np.sqrt(3)) < 0.05 * bound  # U(-b, b): std b/√3
    w = layer.weight.data.ravel()
    expected = np.random.default_rng(0).uniform(-bound, bound, size=w.size)
    np.testing.assert_array_equal(w, expected)  # drawn first, from the seed's generator


def test_linear_chapter_initialisations_are_named_options():
    standard = nn.Linear(30, 20, init="standard", seed=3)
    draws = np.random.default_rng(3)
    np.testing.assert_array_equal(standard.weight.data, draws.standard_normal((20, 30)))
    np.testing.assert_array_equal(standard.bias.data, draws.standard_normal(20))
    normalized = nn.Linear(30, 20, init="normalized", seed=3)
    np.testing.assert_allclose(normalized.weight.data, standard.weight.data / np.sqrt(30))
    np.testing.assert_array_equal(normalized.bias.data, standard.bias.data)


# -- Flatten, Identity ---------------------------------------------------------------------------
@given(
    shape=st.lists(st.integers(1, 3), min_size=2, max_size=5),
    start=st.integers(0, 4),
    length=st.integers(0, 4),
)
def test_flatten_is_numpys_reshape(shape, start, length):
    start = min(start, len(shape) - 1)
    end = min(start + length, len(shape) - 1)
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    out = nn.Flatten(start, end)(x).data
    expected = x.reshape(*shape[:start], -1, *shape[end + 1 :])
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(nn.Flatten(start, end - len(shape))(x).data, expected)


def test_flatten_default_keeps_the_batch_axis_and_checks_axes():
    x = RNG.normal(size=(2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    with pytest.raises(ShapeError, match="Flatten"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(ShapeError, match="Flatten"):
        nn.Flatten(5)(x)
    _check_grads(nn.Flatten(), RNG.normal(size=(2, 3, 2)), names=())


def test_identity_returns_its_input():
    x = al.Tensor(np.ones(3))
    assert nn.Identity(54, unused="x")(x) is x
    assert nn.Identity().state_dict() == {}


# -- LayerNorm -----------------------------------------------------------------------------------
def _layer_norm(x, k, w, b, eps):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@given(batch=st.integers(1, 3), shape=st.lists(st.integers(1, 4), min_size=1, max_size=2))
def test_layer_norm_matches_its_formula(batch, shape):
    layer = nn.LayerNorm(shape if len(shape) > 1 else shape[0])
    layer.weight.data[...] = RNG.normal(size=shape)
    layer.bias.data[...] = RNG.normal(size=shape)
    x = RNG.normal(size=(batch, *shape)) * 3 + 1
    expected = _layer_norm(x, len(shape), layer.weight.data, layer.bias.data, 1e-5)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)


def test_layer_norm_gradients_and_options():
    layer = nn.LayerNorm(4, eps=1e-3)
    layer.weight.data[...] = [1.0, 2.0, -1.0, 0.5]
    _check_grads(layer, RNG.normal(size=(3, 4)))
    assert nn.LayerNorm((2, 3), elementwise_affine=False).state_dict() == {}
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    with pytest.raises(ShapeError, match=r"LayerNorm\(\(4,\)\).*\(3, 5\)"):
        layer(np.ones((3, 5)))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)


# -- BatchNorm -------------------------------------------------------------------------------------
def _batch_stats(x):
    axes = (0, *range(2, x.ndim))
    return x.mean(axis=axes), x.var(axis=axes), x.var(axis=axes, ddof=1)


@pytest.mark.parametrize(("cls", "shape"), [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                            (nn.BatchNorm2d, (2, 3, 4, 5))])  # fmt: skip
def test_batch_norm_trains_on_batch_statistics_and_updates_running_ones(cls, shape):
    layer = cls(3, momentum=0.25)
    layer.weight.data[...] = [1.0, 2.0, 0.5]
    layer.bias.data[...] = [0.0, -1.0, 3.0]
    view = (1, 3) + (1,) * (len(shape) - 2)
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = RNG.normal(size=shape) * (step + 1) + step
        mean, var, unbiased = _batch_stats(x)
        expected = (x - mean.reshape(view)) / np.sqrt(var.reshape(view) + 1e-5)
        expected = expected * layer.weight.data.reshape(view) + layer.bias.data.reshape(view)
        np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)
        expected_mean = 0.75 * expected_mean + 0.25 * mean
        expected_var = 0.75 * expected_var + 0.25 * unbiased
        np.testing.assert_allclose(layer.running_mean, expected_mean, rtol=1e-13)
        np.testing.assert_allclose(layer.running_var, expected_var, rtol=1e-13)
        assert layer.num_batches_tracked == step + 1
    assert layer.num_batches_tracked.dtype == np.int64 and layer.num_batches_tracked.shape == ()
    layer.eval()
    x = RNG.normal(size=shape)
    expected = (x - expected_mean.reshape(view)) / np.sqrt(expected_var.reshape(view) + 1e-5)
    expected = expected * layer.weight.data.reshape(view) + layer.bias.data.reshape(view)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)
    assert layer.num_batches_tracked == 3  # evaluation leaves the statistics alone
    _check_grads(layer, x)  # evaluation: an affine map of x
    layer.train()
    _check_grads(layer, RNG.normal(size=shape))


def test_batch_norm_momentum_none_is_a_cumulative_average_and_untracked_uses_the_batch():
    layer = nn.BatchNorm1d(2, momentum=None)
    batches = [RNG.normal(size=(5, 2)) + i for i in range(4)]
    for x in batches:
        layer(x)
    np.testing.assert_allclose(layer.running_mean, np.mean([b.mean(0) for b in batches], 0))
    np.testing.assert_allclose(
        layer.running_var, np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-13
    )
    free = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    assert free.state_dict() == {} and free.running_mean is None
    x = RNG.normal(size=(5, 2))
    mean, var, _ = _batch_stats(x)
    np.testing.assert_allclose(free(x).data, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-12)


def test_batch_norm_refuses_bad_shapes_and_arguments():
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3\).*4-d.*\(2, 3\)"):
        nn.BatchNorm2d(3)(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(3\).*\(2, 4\)"):
        nn.BatchNorm1d(3)(np.ones((2, 4)))
    with pytest.raises(ShapeError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    nn.BatchNorm1d(3).eval()(np.ones((1, 3)))  # evaluation: one sample is fine
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)
    with pytest.raises(al.errors.InvalidArgumentError, match="num_features"):
        nn.BatchNorm2d(0)
    assert issubclass(nn.ModuleArgumentError, al.errors.InvalidArgumentError)


# -- Dropout -------------------------------------------------------------------------------------
def test_dropout_masks_and_scales_in_training_and_is_the_identity_in_eval():
    layer = nn.Dropout(0.25, seed=4)
    x = al.Tensor(RNG.normal(size=(40, 50)) + 3, requires_grad=True)
    out = layer(x)
    keep = np.random.default_rng(4).random((40, 50)) >= 0.25  # the layer's first draw
    np.testing.assert_array_equal(out.data, np.where(keep, x.data * (1 / 0.75), 0.0))
    out.backward(np.ones_like(x.data))
    np.testing.assert_array_equal(x.grad, keep * (1 / 0.75))  # the mask is a constant
    assert abs(keep.mean() - 0.75) < 0.02
    second = layer(x).data
    assert not np.array_equal(second != 0, keep)  # a new mask at each call
    np.testing.assert_array_equal(nn.Dropout(0.5, seed=1)(x.data).data,
                                  nn.Dropout(0.5, seed=1)(x.data).data)  # fmt: skip
    layer.eval()
    assert layer(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    assert nn.Dropout(0.0)(x) is x
    rng = np.random.default_rng(9)
    shared = nn.Dropout(0.5, rng=rng)
    assert shared.rng is rng
    for p in (-0.1, 1.5, "half"):
        with pytest.raises((ValueError, TypeError), match="p must be"):
            nn.Dropout(p)


# -- Embedding -----------------------------------------------------------------------------------
def test_embedding_looks_up_rows_and_accumulates_their_gradients():
    layer = nn.Embedding(5, 3, seed=0)
    np.testing.assert_array_equal(
        layer.weight.data, np.random.default_rng(0).standard_normal((5, 3))
    )  # N(0, 1), as in PyTorch
    idx = np.array([[0, 4, 4], [2, 0, 0]])
    out = layer(idx)
    np.testing.assert_array_equal(out.data, layer.weight.data[idx])
    upstream = RNG.normal(size=(2, 3, 3))
    out.backward(upstream)
    expected = np.zeros((5, 3))
    np.add.at(expected, idx, upstream)
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-15)
    np.testing.assert_array_equal(layer(al.Tensor([1.0, 2.0])).data, layer.weight.data[[1, 2]])
    with pytest.raises(TensorIndexError, match=r"Embedding\(5, 3\).*\[0, 5\)"):
        layer(np.array([5]))
    with pytest.raises(TensorIndexError, match="integers"):
        layer(np.array([0.5]))
    f = _with_params(layer, ["weight"])
    w = al.Tensor(layer.weight.data.copy(), requires_grad=True)
    assert gradcheck(lambda w: f(idx, w), [w]) and gradgradcheck(lambda w: f(idx, w), [w])


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    layer = nn.Embedding(4, 2, padding_idx=-1, seed=1)
    assert layer.padding_idx == 3
    np.testing.assert_array_equal(layer.weight.data[3], [0.0, 0.0])
    layer.weight.data[3] = [7.0, 8.0]  # its value is still looked up
    out = layer(np.array([3, 1, 3]))
    np.testing.assert_array_equal(out.data[0], [7.0, 8.0])
    out.backward(np.ones((3, 2)))
    np.testing.assert_array_equal(layer.weight.grad, [[0, 0], [1, 1], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


# -- Module: modes and tree helpers ---------------------------------------------------------------
def test_train_eval_requires_grad_and_apply():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Sequential(nn.Dropout(0.1)))
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "BatchNorm1d", "Dropout", "Sequential", "Sequential"]
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "0", "1", "2", "2.0"]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert [name for name, _ in model.named_buffers()] == [
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert len(model.buffers()) == 3


def test_register_buffer_keeps_arrays_out_of_the_parameters():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(2))
            self.register_buffer("seen", np.zeros(2))
            self.register_buffer("scratch", np.zeros(1), persistent=False)
            self.register_buffer("later", None)

    m = Counter()
    assert [n for n, _ in m.named_parameters()] == ["scale"]
    assert list(m.state_dict()) == ["scale", "seen"]
    assert [n for n, _ in m.named_buffers()] == ["seen", "scratch"]
    m.later = np.ones(3)  # assigned later: a buffer from then on
    assert list(m.state_dict()) == ["scale", "seen", "later"]
    with pytest.raises(ValueError, match="already an attribute"):
        m.register_buffer("scale", np.ones(2))
    with pytest.raises(ValueError, match="identifier"):
        m.register_buffer("a.b", np.ones(2))


# -- replay: what the docs say about Dropout and BatchNorm ------------------------------------
def test_replay_draws_a_new_dropout_mask_at_every_call():
    """The mask is drawn by the op, which a replay runs at every call (as eagerly): not frozen."""
    layer = nn.Dropout(0.5, seed=0)
    x = np.ones(40)
    replayed = al.grad(lambda v: layer(v).sum(), replay=True)
    grads = [replayed(x) for _ in range(3)]
    assert not np.array_equal(grads[1], grads[2])
    assert all(set(np.unique(g)) <= {0.0, 2.0} for g in grads)


def test_replay_refuses_batch_norm_in_training_and_replays_it_in_evaluation():
    layer = nn.BatchNorm1d(2)
    x = RNG.normal(size=(4, 2))
    weights = np.arange(8.0).reshape(4, 2)
    with pytest.raises(al.errors.ReplayError):
        al.grad(lambda v: (layer(v) * weights).sum(), replay=True)(x)
    layer.eval()
    eager = al.grad(lambda v: (layer(v) * weights).sum())(x)
    replayed = al.grad(lambda v: (layer(v) * weights).sum(), replay=True)
    np.testing.assert_array_equal(replayed(x), eager)
    np.testing.assert_array_equal(replayed(x), eager)
