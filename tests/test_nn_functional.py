"""``autograd_lite.nn.functional``: PyTorch's ``F.*`` names for what the layers compute."""

from __future__ import annotations

import doctest
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors, nn
from autograd_lite.nn import functional as F

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(
    batch=st.integers(1, 4), n_in=st.integers(1, 5), n_out=st.integers(1, 4),
    lead=st.sampled_from([(), (2,)]), bias=st.booleans(), seed=st.integers(0, 99),
)  # fmt: skip
def test_linear_is_the_layer_bitwise(batch, n_in, n_out, lead, bias, seed) -> None:
    layer = nn.Linear(n_in, n_out, bias=bias, seed=seed)
    x = np.random.default_rng(seed).standard_normal((*lead, batch, n_in))
    by_layer, by_function = layer(x), F.linear(x, layer.weight, layer.bias)
    np.testing.assert_array_equal(by_function.data, by_layer.data)
    by_layer.sum().backward()
    expected = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    by_function.sum().backward()
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, expected[name])


def test_the_functions_are_the_layers_and_ops() -> None:
    z = al.Tensor(np.linspace(-2.0, 2.0, 12).reshape(3, 4))
    for function, layer in ((F.relu, nn.ReLU()), (F.sigmoid, nn.Sigmoid()), (F.tanh, nn.Tanh()),
                            (lambda t: F.softmax(t, dim=0), nn.Softmax(dim=0)),
                            (lambda t: F.log_softmax(t, dim=1), nn.LogSoftmax(dim=1)),
                            (lambda t: F.leaky_relu(t, 0.2), nn.LeakyReLU(0.2)),
                            (F.silu, nn.SiLU()), (F.softplus, nn.Softplus()),
                            (lambda t: F.softplus(t, 2, 1.5), nn.Softplus(2, 1.5))):  # fmt: skip
        np.testing.assert_array_equal(function(z).data, layer(z).data)
    labels = np.array([0, 3, 1])
    np.testing.assert_array_equal(
        F.cross_entropy(z, labels).data, nn.CrossEntropyLoss()(z, labels).data
    )
    np.testing.assert_array_equal(F.mse_loss(z, z * 2).data, nn.MSELoss()(z, z * 2).data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.ReLU(inplace=True),
        lambda: nn.LeakyReLU(0.1, True),
        lambda: nn.SiLU(True),
        lambda: nn.Dropout(0.5, True),
        lambda: F.relu(al.zeros(2), inplace=True),
    ],  # fmt: skip
)
def test_pytorchs_inplace_true_is_refused_by_name(make) -> None:
    with pytest.raises(errors.InvalidArgumentError, match=r"(ReLU|relu|SiLU|Dropout).*inplace"):
        make()
    # (inplace=False, PyTorch's default, spelled out, is accepted)
    assert nn.ReLU(inplace=False)(al.Tensor([-1.0, 2.0])).data.tolist() == [0.0, 2.0]
    assert nn.Dropout(0.5, False).p == 0.5


def test_activation_layers_refuse_a_slope_or_beta_that_is_not_a_number() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="LeakyReLU: negative_slope"):
        nn.LeakyReLU("0.1")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgumentError, match="Softplus: beta"):
        nn.Softplus(beta=None)  # type: ignore[arg-type]


def test_dropout_draws_from_its_generator_and_is_the_identity_when_not_training() -> None:
    x = al.Tensor(np.ones((4, 5)))
    a, b = F.dropout(x, 0.5, seed=3), nn.Dropout(0.5, seed=3)(x)
    np.testing.assert_array_equal(a.data, b.data)
    assert set(np.unique(a.data)) <= {0.0, 2.0}
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize(
    "call",
    [
        lambda: F.linear(np.ones((2, 3)), np.ones((4, 2))),
        lambda: F.linear(np.ones((2, 3)), np.ones(3)),
        lambda: F.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3)),
    ],
)
def test_linear_names_the_shapes_that_do_not_fit(call) -> None:
    with pytest.raises(errors.ShapeError, match="linear: "):
        call()


def test_dropout_refuses_a_probability_outside_0_1() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="dropout"):
        F.dropout(al.Tensor(np.ones(2)), 1.5)


@FAST
@given(values=hnp.arrays(np.float64, (3, 4), elements=st.floats(-3, 3, width=64)))
def test_against_pytorch(values: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    w, b = np.arange(8.0).reshape(2, 4) / 7, np.array([0.5, -0.25])
    labels = np.array([1, 0, 1])
    ours = al.Tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    mine = F.cross_entropy(F.linear(F.tanh(ours), w, b), labels) + F.softplus(ours).sum()
    ref = tf.cross_entropy(tf.linear(torch.tanh(theirs), torch.tensor(w), torch.tensor(b)),
                           torch.tensor(labels)) + tf.softplus(theirs).sum()  # fmt: skip
    mine.backward()
    ref.backward()
    np.testing.assert_allclose(mine.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_docstring_example_runs() -> None:
    result = doctest.testmod(sys.modules["autograd_lite.nn.functional"])
    assert result.failed == 0 and result.attempted > 0


def test_the_linear_op_names_mismatched_shapes() -> None:
    with pytest.raises(errors.ShapeError, match=r"linear: an input of shape \(2, 3\)"):
        al.linear(np.ones((2, 3)), np.ones((4, 5)), np.ones(4))
