"""al.nn losses against their formulas written out in NumPy, by gradcheck/gradgradcheck, and at
±1000 logits (finite values, exact gradients). PyTorch's checks: tests/test_nn_torch.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn
from autograd_lite.errors import InvalidInputError, ShapeError, TensorIndexError
from autograd_lite.testing import gradcheck, gradgradcheck


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _reduce(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / (loss.size if denominator is None else denominator)


REDUCTIONS = ("mean", "sum", "none")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_is_the_mean_squared_difference(reduction):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(
        nn.MSELoss(reduction)(x, y).data, _reduce((x - y) ** 2, reduction), rtol=1e-14
    )
    xt = al.Tensor(x, requires_grad=True)
    assert gradcheck(lambda a: nn.MSELoss(reduction)(a, y), [xt])
    assert gradgradcheck(lambda a: nn.MSELoss(reduction)(a, y), [xt])


@settings(max_examples=30)
@given(
    n=st.integers(1, 5),
    c=st.integers(2, 5),
    reduction=st.sampled_from(REDUCTIONS),
    smoothing=st.sampled_from([0.0, 0.25]),
    weighted=st.booleans(),
    seed=st.integers(0, 999),
)
def test_cross_entropy_with_indices_is_its_formula(n, c, reduction, smoothing, weighted, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c)) * 3
    t = rng.integers(0, c, size=n)
    w = rng.uniform(0.5, 2, size=c) if weighted else np.ones(c)
    logp = _log_softmax(x, 1)
    nll = -w[t] * logp[np.arange(n), t]
    smooth = -(w * logp).sum(axis=1)
    denominator = w[t].sum()
    expected = (1 - smoothing) * _reduce(nll, reduction, denominator) + smoothing / c * _reduce(
        smooth, reduction, denominator
    )
    loss = nn.CrossEntropyLoss(weight=w if weighted else None, reduction=reduction,
                               label_smoothing=smoothing)  # fmt: skip
    np.testing.assert_allclose(loss(x, t).data, expected, rtol=1e-12, atol=1e-14)
    xt = al.Tensor(x, requires_grad=True)
    assert gradcheck(lambda a: loss(a, t), [xt])
    assert gradgradcheck(lambda a: loss(a, t), [xt])


def test_cross_entropy_with_probabilities_and_extra_axes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4))  # (N, C, d1)
    q = rng.dirichlet(np.ones(3), size=(2, 4)).transpose(0, 2, 1)
    expected = -(q * _log_softmax(x, 1)).sum(axis=1)
    loss = nn.CrossEntropyLoss(reduction="none")
    np.testing.assert_allclose(loss(x, q).data, expected, rtol=1e-13)
    np.testing.assert_allclose(nn.CrossEntropyLoss()(x, q).data, expected.mean(), rtol=1e-13)
    xt = al.Tensor(x, requires_grad=True)
    assert gradcheck(lambda a: loss(a, q), [xt]) and gradgradcheck(lambda a: loss(a, q), [xt])
    # indices along the extra axis: the same as one-hot probabilities
    t = rng.integers(0, 3, size=(2, 4))
    one_hot = np.moveaxis(np.eye(3)[t], -1, 1)
    np.testing.assert_allclose(loss(x, t).data, loss(x, one_hot).data, rtol=1e-14)
    # a single sample (C,) with a class index
    np.testing.assert_allclose(
        nn.CrossEntropyLoss()(x[0, :, 0], 2).data, -_log_softmax(x[0, :, 0], 0)[2], rtol=1e-14
    )


def test_ignore_index_drops_samples_from_the_loss_and_the_mean():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 3))
    t = np.array([0, -100, 2, 1])
    keep = [0, 2, 3]
    expected = -_log_softmax(x, 1)[keep, t[keep]].mean()
    xt = al.Tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss()(xt, t)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-14)
    loss.backward()
    np.testing.assert_array_equal(xt.grad[1], 0.0)
    assert nn.CrossEntropyLoss(reduction="none")(x, t).data[1] == 0.0


def test_nll_loss_picks_the_log_probability_of_each_target():
    rng = np.random.default_rng(3)
    logp = _log_softmax(rng.normal(size=(5, 4)), 1)
    t = np.array([3, 0, 0, 2, 1])
    w = np.array([1.0, 2.0, 0.5, 4.0])
    picked = -w[t] * logp[np.arange(5), t]
    np.testing.assert_allclose(nn.NLLLoss(w)(logp, t).data, picked.sum() / w[t].sum(), rtol=1e-14)
    np.testing.assert_allclose(nn.NLLLoss(reduction="none")(logp, t).data,
                               -logp[np.arange(5), t], rtol=1e-14)  # fmt: skip
    # targets as a float Tensor of whole numbers (al.Tensor holds floats)
    np.testing.assert_allclose(
        nn.NLLLoss()(logp, al.Tensor(t)).data, nn.NLLLoss()(logp, t).data, rtol=0
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_is_its_formula(reduction):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4)) * 2
    y = rng.uniform(size=(3, 4))
    w = rng.uniform(0.5, 2, size=(3, 4))
    p = rng.uniform(0.5, 3, size=4)
    s = 1 / (1 + np.exp(-x))
    expected = -w * (p * y * np.log(s) + (1 - y) * np.log(1 - s))
    loss = nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=p)
    np.testing.assert_allclose(loss(x, y).data, _reduce(expected, reduction), rtol=1e-12)
    xt = al.Tensor(x, requires_grad=True)
    assert gradcheck(lambda a: loss(a, y), [xt]) and gradgradcheck(lambda a: loss(a, y), [xt])


# -- numerically extreme logits --------------------------------------------------------------------
def test_losses_are_finite_and_exact_at_plus_minus_1000():
    x = al.Tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction="sum")(x, np.array([1, 0]))
    e = np.exp(-1.0)
    # -log p: 2000 for the first sample, 2000 + log(1 + e^-1) for the second
    assert loss.item() == pytest.approx(4000.0 + np.log1p(e), rel=1e-15)
    loss.backward()
    # softmax - one_hot, summed: p = (1, 0, 0) and (0, 1/(1+e^-1), e^-1/(1+e^-1))
    expected = np.array([[1.0, -1.0, 0.0], [-1.0, 1 / (1 + e), e / (1 + e)]])
    np.testing.assert_allclose(x.grad, expected, rtol=1e-15, atol=0)

    z = al.Tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    bce = nn.BCEWithLogitsLoss(reduction="sum")(z, y)
    assert bce.item() == 2000.0
    bce.backward()
    np.testing.assert_array_equal(z.grad, [1.0, -1.0, 0.0, 0.0])  # σ(z) - y
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.1)(x, np.array([1, 0]))
    assert np.isfinite(smoothed.item())
    # probabilities: -Σ q log p with log p = (0, -2000, -1000) for the first sample
    q = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    soft = al.Tensor(x.data, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction="none")(soft, q)
    np.testing.assert_allclose(loss.data[0], 0.25 * 2000 + 0.25 * 1000, rtol=1e-15)
    loss.sum().backward()
    assert np.all(np.isfinite(soft.grad))
    np.testing.assert_allclose(soft.grad[0], [0.5, -0.25, -0.25], rtol=1e-15)  # p - q


def test_the_chapter_costs_are_unchanged():
    a = np.array([[0.2, 0.7], [0.9, 0.1]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert al.quadratic_cost(a, y).item() == pytest.approx(0.5 * ((a - y) ** 2).sum())
    assert nn.MSELoss()(a, y).item() == pytest.approx(((a - y) ** 2).mean())


# -- errors ----------------------------------------------------------------------------------------
def test_losses_refuse_bad_arguments_with_typed_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ShapeError, match=r"target shape \(3,\)"):
        nn.CrossEntropyLoss()(x, np.array([0, 1, 2]))
    with pytest.raises(TensorIndexError, match=r"class index 3 is outside \[0, 3\)"):
        nn.CrossEntropyLoss()(x, np.array([0, 3]))
    with pytest.raises(InvalidInputError, match="integers"):
        nn.NLLLoss()(x, np.array([0.5, 1.0]))
    with pytest.raises(ShapeError, match=r"weight must have shape \(3,\)"):
        nn.CrossEntropyLoss(weight=np.ones(2))(x, np.array([0, 1]))
    with pytest.raises(ShapeError, match="mse_loss"):
        nn.MSELoss()(x, np.zeros(3))
    with pytest.raises(ShapeError, match="binary_cross_entropy_with_logits"):
        nn.BCEWithLogitsLoss()(x, np.zeros(3))
    with pytest.raises(ShapeError, match="scalar"):
        nn.CrossEntropyLoss()(np.float64(1.0), 0)


def test_mean_over_only_ignored_samples_is_nan_with_a_zero_gradient():
    """PyTorch's convention: the weights sum to 0, the loss is NaN, the gradient 0 (not NaN)."""
    x = al.Tensor(np.log(np.full((3, 4), 0.25)), requires_grad=True)
    loss = nn.NLLLoss(ignore_index=2)(x, np.array([2, 2, 2]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))
