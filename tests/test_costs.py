"""The three costs against direct NumPy formulas, their reductions, and chapter 3's δᴸ = a − y."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import nn


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    m, k = 5, 4
    z = rng.normal(size=(m, k))
    a = _sigmoid(z)
    y = rng.uniform(size=(m, k))
    labels = rng.integers(0, k, size=m)
    return z, a, y, labels


def _value_and_grad(cost, x):
    t = al.Tensor(x, requires_grad=True)
    c = cost(t)
    c.backward()
    return c.item(), t.grad


# -- quadratic ---------------------------------------------------------------------------------
def test_quadratic_value_and_gradient(batch):
    _, a, y, _ = batch
    value, grad = _value_and_grad(lambda t: al.quadratic_cost(t, y), a)
    assert value == pytest.approx(0.5 * np.sum((y - a) ** 2), rel=1e-14)
    np.testing.assert_allclose(grad, a - y, rtol=1e-14)


def test_quadratic_mean_divides_by_samples_rows_and_columns(batch):
    _, a, y, _ = batch
    m = a.shape[0]
    total = 0.5 * np.sum((y - a) ** 2)
    value, grad = _value_and_grad(lambda t: al.quadratic_cost(t, y, reduction="mean"), a)
    assert value == pytest.approx(total / m, rel=1e-14)
    np.testing.assert_allclose(grad, (a - y) / m, rtol=1e-14)
    # The chapter's layout: samples are columns, classes along axis 0.
    value_cols, _ = _value_and_grad(
        lambda t: al.quadratic_cost(t, y.T, reduction="mean", axis=0), a.T
    )
    assert value_cols == pytest.approx(total / m, rel=1e-14)


# -- cross-entropy -----------------------------------------------------------------------------
def _cross_entropy(a, y):
    return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))


def test_cross_entropy_probabilities(batch):
    _, a, y, _ = batch
    value, grad = _value_and_grad(lambda t: al.cross_entropy_cost(t, y), a)
    assert value == pytest.approx(_cross_entropy(a, y), rel=1e-13)
    np.testing.assert_allclose(grad, (a - y) / (a * (1 - a)), rtol=1e-12)


def test_cross_entropy_logits_matches_probabilities(batch):
    z, a, y, _ = batch
    value, grad = _value_and_grad(lambda t: al.cross_entropy_cost(t, y, logits=True), z)
    assert value == pytest.approx(_cross_entropy(a, y), rel=1e-12)
    np.testing.assert_allclose(grad, _sigmoid(z) - y, rtol=1e-13, atol=1e-15)


def test_cross_entropy_mean_reduction(batch):
    z, a, y, _ = batch
    m = z.shape[0]
    for logits, x in ((False, a), (True, z)):
        s, gs = _value_and_grad(lambda t, lg=logits: al.cross_entropy_cost(t, y, logits=lg), x)
        mv, gm = _value_and_grad(
            lambda t, lg=logits: al.cross_entropy_cost(t, y, logits=lg, reduction="mean"), x
        )
        assert mv == pytest.approx(s / m, rel=1e-14)
        np.testing.assert_allclose(gm, gs / m, rtol=1e-14)


def test_cross_entropy_logits_stable_at_1000():
    z = np.array([[1000.0, -1000.0, 1000.0, -1000.0, 0.0]])
    y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = _value_and_grad(lambda t: al.cross_entropy_cost(t, y, logits=True), z)
    # Wrong with full confidence costs |z|; right with full confidence costs 0; z = 0 costs ln 2.
    assert value == pytest.approx(2000.0 + np.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0, 0.0, -0.5]])


def test_cross_entropy_zero_times_log_zero_is_zero():
    a = np.array([[1.0, 0.0, 0.5]])
    y = np.array([[1.0, 0.0, 1.0]])
    assert al.cross_entropy_cost(al.Tensor(a), y).item() == pytest.approx(np.log(2.0))


# -- log-likelihood ----------------------------------------------------------------------------
def test_log_likelihood_integer_labels(batch):
    z, _, _, labels = batch
    m = len(labels)
    expected = -np.sum(np.log(_softmax(z))[np.arange(m), labels])
    value, grad = _value_and_grad(lambda t: al.log_likelihood_cost(t, labels), z)
    assert value == pytest.approx(expected, rel=1e-13)
    one_hot = np.eye(z.shape[1])[labels]
    np.testing.assert_allclose(grad, _softmax(z) - one_hot, rtol=1e-12, atol=1e-15)
    # One-hot targets give the same; so does the chapter's columns layout (axis=0).
    value_oh, _ = _value_and_grad(lambda t: al.log_likelihood_cost(t, one_hot), z)
    value_cols, grad_cols = _value_and_grad(
        lambda t: al.log_likelihood_cost(t, labels, axis=0), z.T
    )
    assert value_oh == pytest.approx(expected, rel=1e-13)
    assert value_cols == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad_cols, grad.T, rtol=1e-12, atol=1e-15)


def test_log_likelihood_mean_and_stability(batch):
    z, _, _, labels = batch
    m = len(labels)
    s, gs = _value_and_grad(lambda t: al.log_likelihood_cost(t, labels), z)
    mv, gm = _value_and_grad(lambda t: al.log_likelihood_cost(t, labels, reduction="mean"), z)
    assert mv == pytest.approx(s / m, rel=1e-14)
    np.testing.assert_allclose(gm, gs / m, rtol=1e-14)
    big = np.array([[1000.0, -1000.0, 0.0]])
    with np.errstate(over="raise"):
        value, grad = _value_and_grad(lambda t: al.log_likelihood_cost(t, np.array([1])), big)
    assert value == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-300)


def test_log_likelihood_with_softmax_layer_gradient(batch):
    """softmax output + log-likelihood: δᴸ = a − y (chapter 3, eq. 81-84)."""
    z, _, _, labels = batch
    zt = al.Tensor(z, requires_grad=True)
    a = nn.Softmax()(zt)
    cost = -(al.log(a) * np.eye(z.shape[1])[labels]).sum()
    cost.backward()
    np.testing.assert_allclose(zt.grad, a.data - np.eye(z.shape[1])[labels], atol=1e-13)


def test_reduction_validation(batch):
    _, a, y, labels = batch
    for call in (
        lambda: al.quadratic_cost(al.Tensor(a), y, reduction="avg"),
        lambda: al.cross_entropy_cost(al.Tensor(a), y, reduction="none"),
        lambda: al.log_likelihood_cost(al.Tensor(a), labels, reduction="mean!"),
    ):
        with pytest.raises(ValueError, match="reduction"):
            call()


# -- chapter 3: sigmoid + cross-entropy has no σ′ factor -------------------------------------
@pytest.mark.parametrize("logits", [False, True])
def test_output_error_is_a_minus_y_for_cross_entropy(logits):
    rng = np.random.default_rng(3)
    layer = nn.Linear(6, 4, seed=1)
    x = rng.normal(size=(7, 6))
    y = np.eye(4)[rng.integers(0, 4, size=7)]
    z = layer(x).retain_grad()
    a = al.sigmoid(z)
    cost = al.cross_entropy_cost(z if logits else a, y, logits=logits)
    cost.backward()
    np.testing.assert_allclose(z.grad, a.data - y, rtol=1e-12, atol=1e-14)


def test_output_error_has_sigma_prime_for_quadratic():
    rng = np.random.default_rng(4)
    layer = nn.Linear(6, 4, seed=2)
    x = rng.normal(size=(7, 6))
    y = np.eye(4)[rng.integers(0, 4, size=7)]
    z = layer(x).retain_grad()
    a = al.sigmoid(z)
    al.quadratic_cost(a, y).backward()
    s = a.data
    np.testing.assert_allclose(z.grad, (s - y) * s * (1 - s), rtol=1e-12, atol=1e-15)  # BP1
