"""al.nn against PyTorch (skipped without it): each layer's and loss's outputs and gradients
on random inputs, train/eval, and state_dicts moved to torch.nn models and back (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=requires_grad)


def _load_into_torch(model, torch_model):
    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return torch_model


def _compare(ours, theirs, x, upstream_seed=0):
    """Same output, same input gradient and parameter gradients for a random upstream."""
    xa = al.Tensor(x, requires_grad=True)
    xt = _t(x, requires_grad=True)
    out, ref = ours(xa), theirs(xt)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    upstream = np.random.default_rng(upstream_seed).normal(size=ref.shape)
    out.backward(upstream)
    ref.backward(_t(upstream))
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), **TOL)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].grad.numpy(), err_msg=name, **TOL)


# -- layers ----------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 6),
    batch=st.integers(1, 4),
    seed=st.integers(0, 99),
)
def test_linear_matches_torch(n_in, n_out, batch, seed):
    ours = nn.Linear(n_in, n_out, seed=seed)
    theirs = _load_into_torch(ours, tnn.Linear(n_in, n_out, dtype=torch.float64))
    _compare(ours, theirs, np.random.default_rng(seed).normal(size=(batch, n_in)))


def test_linear_default_initialisation_has_torchs_bounds():
    torch.manual_seed(0)
    theirs = tnn.Linear(50, 40)
    ours = nn.Linear(50, 40, seed=0)
    for name in ("weight", "bias"):
        t = getattr(theirs, name).detach().numpy()
        o = getattr(ours, name).data
        assert np.abs(o).max() <= 1 / np.sqrt(50) and np.abs(t).max() <= 1 / np.sqrt(50)
        assert abs(o.std() - t.std()) < 0.1 / np.sqrt(50)  # the same distribution


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (lambda: nn.LayerNorm(5), lambda: tnn.LayerNorm(5), (3, 5)),
        (
            lambda: nn.LayerNorm((2, 3), eps=1e-3),
            lambda: tnn.LayerNorm((2, 3), eps=1e-3),
            (4, 2, 3),
        ),
        (lambda: nn.LayerNorm(4, bias=False), lambda: tnn.LayerNorm(4, bias=False), (2, 4)),
        (lambda: nn.Flatten(), lambda: tnn.Flatten(), (2, 3, 4)),
        (lambda: nn.Flatten(0, 1), lambda: tnn.Flatten(0, 1), (2, 3, 4)),
        (lambda: nn.Identity(), lambda: tnn.Identity(), (2, 3)),
        (lambda: nn.Sigmoid(), lambda: tnn.Sigmoid(), (2, 3)),
        (lambda: nn.Tanh(), lambda: tnn.Tanh(), (2, 3)),
        (lambda: nn.ReLU(), lambda: tnn.ReLU(), (2, 3)),
        (lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (2, 3)),
        (lambda: nn.SiLU(), lambda: tnn.SiLU(), (2, 3)),
        (lambda: nn.Softplus(), lambda: tnn.Softplus(), (2, 3)),
        (lambda: nn.Softplus(2.0, 1.5), lambda: tnn.Softplus(2.0, 1.5), (3, 4)),
        (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1), (2, 3)),
        (lambda: nn.LogSoftmax(dim=0), lambda: tnn.LogSoftmax(dim=0), (2, 3)),
    ],
    ids=lambda v: "" if callable(v) else str(v),
)
def test_layers_match_torch(ours, theirs, shape):
    ours, theirs = ours(), theirs().double()
    for p in ours.parameters():  # away from the ones/zeros start
        p.data[...] = np.random.default_rng(1).normal(size=p.shape)
    _load_into_torch(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(2).normal(size=shape) * 3)


@pytest.mark.parametrize(
    ("cls", "tcls", "shape"),
    [(nn.BatchNorm1d, tnn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, tnn.BatchNorm1d, (4, 3, 5)),
     (nn.BatchNorm2d, tnn.BatchNorm2d, (2, 3, 4, 4))],
)  # fmt: skip
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_matches_torch_in_training_and_evaluation(cls, tcls, shape, momentum):
    ours = cls(3, momentum=momentum)
    theirs = tcls(3, momentum=momentum).double()
    rng = np.random.default_rng(3)
    for p in ours.parameters():
        p.data[...] = rng.normal(size=p.shape)
    _load_into_torch(ours, theirs)
    for step in range(4):
        x = rng.normal(size=shape) * (step + 1) + step
        for p in (*ours.parameters(), *theirs.parameters()):
            p.grad = None
        _compare(ours, theirs, x, upstream_seed=step)
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), err_msg=key, **TOL)
    ours.eval(), theirs.eval()
    for p in (*ours.parameters(), *theirs.parameters()):
        p.grad = None
    _compare(ours, theirs, rng.normal(size=shape))
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 4


def test_embedding_matches_torch_with_padding():
    ours = nn.Embedding(6, 3, padding_idx=2, seed=0)
    theirs = _load_into_torch(ours, tnn.Embedding(6, 3, padding_idx=2).double())
    idx = np.array([[1, 2, 5], [2, 2, 0]])
    out, ref = ours(idx), theirs(torch.from_numpy(idx))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    upstream = np.random.default_rng(0).normal(size=ref.shape)
    out.backward(upstream)
    ref.backward(_t(upstream))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)


def test_dropout_in_evaluation_and_its_expectation_like_torch():
    x = np.ones((200, 200))
    assert nn.Dropout(0.3).eval()(x) is x
    kept = nn.Dropout(0.3, seed=0)(x).data
    reference = tnn.Dropout(0.3)(_t(x)).numpy()
    assert set(np.unique(kept)) == set(np.unique(reference)) == {0.0, 1 / 0.7}
    assert abs(kept.mean() - 1) < 0.02 and abs(reference.mean() - 1) < 0.02


# -- losses ------------------------------------------------------------------------------------
REDUCTIONS = ("mean", "sum", "none")


def _compare_loss(ours, theirs, x, target, target_t):
    xa, xt = al.Tensor(x, requires_grad=True), _t(x, requires_grad=True)
    out, ref = ours(xa, target), theirs(xt, target_t)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    upstream = np.random.default_rng(0).normal(size=ref.shape)
    out.backward(upstream)
    ref.backward(_t(upstream))
    np.testing.assert_allclose(xa.grad, xt.grad.numpy(), **TOL)
    assert np.all(np.isfinite(xa.grad))


@settings(max_examples=25)
@given(
    shape=st.sampled_from([(5,), (4, 3), (3, 4, 2), (2, 3, 2, 2)]),
    reduction=st.sampled_from(REDUCTIONS),
    smoothing=st.sampled_from([0.0, 0.1, 0.7]),
    weighted=st.booleans(),
    probabilities=st.booleans(),
    scale=st.sampled_from([1.0, 1000.0]),
    seed=st.integers(0, 99),
)
def test_cross_entropy_matches_torch(
    shape, reduction, smoothing, weighted, probabilities, scale, seed
):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * scale
    axis = 1 if len(shape) > 1 else 0
    n_classes = shape[axis]
    weight = rng.uniform(0.5, 2.0, size=n_classes) if weighted else None
    if probabilities:
        target = np.moveaxis(
            rng.dirichlet(np.ones(n_classes), size=shape[:axis] + shape[axis + 1 :]), -1, axis
        )
        target_t = _t(target)
    else:
        target = rng.integers(0, n_classes, size=shape[:axis] + shape[axis + 1 :])
        if target.ndim:
            target.flat[0] = -100  # ignored
        target_t = torch.from_numpy(np.asarray(target))
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    ours = nn.CrossEntropyLoss(weight=weight, **kwargs)
    theirs = tnn.CrossEntropyLoss(weight=None if weight is None else _t(weight), **kwargs)
    _compare_loss(ours, theirs, x, target, target_t)


@settings(max_examples=15)
@given(
    shape=st.sampled_from([(4, 3), (3, 4, 2)]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    seed=st.integers(0, 99),
)
def test_nll_loss_matches_torch(shape, reduction, weighted, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    target = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
    target.flat[-1] = 1
    weight = rng.uniform(0.5, 2.0, size=shape[1]) if weighted else None
    ours = nn.NLLLoss(weight=weight, reduction=reduction, ignore_index=1)
    theirs = tnn.NLLLoss(
        weight=None if weight is None else _t(weight), reduction=reduction, ignore_index=1
    )
    _compare_loss(ours, theirs, x, target, torch.from_numpy(target))


@settings(max_examples=15)
@given(
    shape=st.sampled_from([(4,), (3, 4), (2, 3, 2)]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    positive=st.booleans(),
    scale=st.sampled_from([1.0, 1000.0]),
    seed=st.integers(0, 99),
)
def test_bce_with_logits_matches_torch(shape, reduction, weighted, positive, scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * scale
    y = rng.uniform(size=shape)
    weight = rng.uniform(0.5, 2.0, size=shape) if weighted else None
    pos = rng.uniform(0.5, 3.0, size=shape[-1]) if positive else None
    ours = nn.BCEWithLogitsLoss(weight=weight, reduction=reduction, pos_weight=pos)
    theirs = tnn.BCEWithLogitsLoss(
        weight=None if weight is None else _t(weight),
        reduction=reduction,
        pos_weight=None if pos is None else _t(pos),
    )
    _compare_loss(ours, theirs, x, y, _t(y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(reduction):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _compare_loss(nn.MSELoss(reduction), tnn.MSELoss(reduction=reduction), x, y, _t(y))


# -- state_dict: to PyTorch and back ---------------------------------------------------------------
def _pair():
    ours = nn.Sequential(
        nn.Linear(4, 6, seed=0), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.2, seed=0),
        nn.Linear(6, 5, seed=1), nn.LayerNorm(5), nn.Tanh(), nn.Linear(5, 3, seed=2),
    )  # fmt: skip
    theirs = tnn.Sequential(
        tnn.Linear(4, 6), tnn.BatchNorm1d(6), tnn.ReLU(), tnn.Dropout(0.2),
        tnn.Linear(6, 5), tnn.LayerNorm(5), tnn.Tanh(), tnn.Linear(5, 3),
    ).double()  # fmt: skip
    return ours, theirs


def test_state_dict_keys_shapes_and_dtypes_are_torchs():
    ours, theirs = _pair()
    expected = theirs.state_dict()
    ours_sd = ours.state_dict()
    assert list(ours_sd) == list(expected)
    for key, value in expected.items():
        assert ours_sd[key].shape == tuple(value.shape), key
        assert ours_sd[key].dtype == value.numpy().dtype, key


def test_a_model_moves_to_torch_and_back_with_the_same_outputs():
    ours, theirs = _pair()
    rng = np.random.default_rng(0)
    for _ in range(3):  # train mode: batch statistics move the running ones
        ours(rng.normal(size=(8, 4)))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    ours.eval(), theirs.eval()
    x = rng.normal(size=(7, 4))
    np.testing.assert_allclose(ours(x).data, theirs(_t(x)).detach().numpy(), **TOL)
    # and back: torch's state (as NumPy arrays) into a fresh model
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.5)
    back, _ = _pair()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    back.eval()
    np.testing.assert_allclose(back(x).data, theirs(_t(x)).detach().numpy(), **TOL)
    assert int(back[1].num_batches_tracked) == 3


def test_loss_weights_are_buffers_in_the_state_dict_like_torchs():
    w = np.array([1.0, 2.0, 3.0])
    assert list(nn.CrossEntropyLoss(weight=w).state_dict()) == list(
        tnn.CrossEntropyLoss(weight=_t(w)).state_dict()
    )
    assert nn.CrossEntropyLoss().state_dict() == {} == dict(tnn.CrossEntropyLoss().state_dict())
    pos = tnn.BCEWithLogitsLoss(weight=_t(w), pos_weight=_t(w)).state_dict()
    assert list(nn.BCEWithLogitsLoss(weight=w, pos_weight=w).state_dict()) == list(pos)


def test_tied_modules_appear_under_each_name_like_torch():
    shared = nn.Linear(2, 2, seed=0)
    ours = nn.Sequential(shared, nn.Tanh(), shared)
    tshared = tnn.Linear(2, 2)
    theirs = tnn.Sequential(tshared, tnn.Tanh(), tshared)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_a_cnn_with_batch_norm_moves_to_torch_with_the_same_outputs():
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5, seed=0), nn.Linear(4 * 3 * 3, 5, seed=1),
    )  # fmt: skip
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Dropout(0.5), tnn.Linear(4 * 3 * 3, 5),
    ).double()  # fmt: skip
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    ours(rng.normal(size=(6, 1, 6, 6)))  # training: the running statistics move
    _load_into_torch(ours, theirs)
    ours.eval(), theirs.eval()
    x = rng.normal(size=(3, 1, 6, 6))
    np.testing.assert_allclose(ours(x).data, theirs(_t(x)).detach().numpy(), **TOL)
