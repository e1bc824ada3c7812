"""PyTorch's ``torch.nn.functional`` names: ``from autograd_lite.nn import functional as F``.

The layers' computations as functions, for a custom layer written as PyTorch users write one
(``F.relu(self.fc(x))``, ``F.cross_entropy(logits, labels)``). Each is the function or op that
the matching layer of `autograd_lite.nn` runs, so ``F.linear(x, W, b)`` is bitwise
``Linear``'s output and ``F.cross_entropy`` is ``CrossEntropyLoss``'s. PyTorch's keywords are
taken: ``F.softplus(x, beta, threshold)``, ``F.softmax(x, dim, dtype=)``; ``inplace=True``
raises (a Tensor is never modified in place here: write ``x = F.relu(x)``).

>>> import numpy as np, autograd_lite as al
>>> from autograd_lite.nn import functional as F
>>> x = al.Tensor([[1.0, -2.0]], requires_grad=True)
>>> loss = F.cross_entropy(F.relu(F.linear(x, np.eye(2))), np.array([0]))
>>> loss.backward()
>>> x.grad.round(4)
array([[-0.2689,  0.    ]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from autograd_lite import ops
from autograd_lite.errors import InvalidInputError, TensorIndexError
from autograd_lite.nn import layers
from autograd_lite.nn.layers import linear
from autograd_lite.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from autograd_lite.nn.module import as_tensor, not_in_place
from autograd_lite.tensor import Tensor, raw

__all__ = [
    "linear", "dropout", "relu", "leaky_relu", "silu", "sigmoid", "tanh", "softplus", "softmax",
    "log_softmax", "one_hot", "mse_loss", "l1_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]  # fmt: skip

# (each op's public function, as ``al.<name>``)
sigmoid, tanh = (ops.REGISTRY[name].public for name in ("sigmoid", "tanh"))


def relu(input: Any, inplace: bool = False) -> Tensor:  # noqa: A002
    """$\\max(x, 0)$ elementwise (`autograd_lite.ops.relu`); gradient 0 at 0, as PyTorch's."""
    not_in_place("relu", inplace)
    return ops.relu(input)


def leaky_relu(
    input: Any,  # noqa: A002
    negative_slope: float = 0.01,
    inplace: bool = False,
) -> Tensor:
    r"""$x$ for $x > 0$, ``negative_slope`` $\cdot x$ otherwise, computed as
    $a x + (1 - a)\,\mathrm{relu}(x)$: its gradient at 0 is $a$, as PyTorch's."""
    not_in_place("leaky_relu", inplace)
    x = as_tensor(input)
    return ops.add(ops.mul(x, negative_slope), ops.mul(ops.relu(x), 1.0 - negative_slope))


def silu(input: Any, inplace: bool = False) -> Tensor:  # noqa: A002
    r"""$x\,\sigma(x)$ (PyTorch's ``silu``, the swish)."""
    not_in_place("silu", inplace)
    x = as_tensor(input)
    return ops.mul(x, ops.sigmoid(x))


def one_hot(tensor: Any, num_classes: int = -1) -> np.ndarray:
    """PyTorch's ``one_hot``: the class indices ``tensor`` as rows of 0s and 1s, an int64
    NumPy array of shape ``tensor.shape + (num_classes,)`` (not recorded: no gradient)."""
    labels = np.asarray(raw(tensor))
    if labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu":
        raise InvalidInputError(f"one_hot: class indices must be integers, got {labels.dtype}")
    classes = int(labels.max()) + 1 if num_classes == -1 and labels.size else num_classes
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise TensorIndexError(
            f"one_hot: class indices must lie in [0, {classes}), got {labels.min()} to "
            f"{labels.max()}"
        )
    return (labels[..., None] == np.arange(classes)).astype(np.int64)


def dropout(
    input: Any,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    **generator: Any,
) -> Any:
    """PyTorch's ``F.dropout`` (see [`autograd_lite.nn.layers.dropout`][]: ``seed=`` or
    ``rng=`` draw the mask)."""
    not_in_place("dropout", inplace)
    return layers.dropout(input, p, training, **generator)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """PyTorch's $\\frac1\\beta \\log(1 + e^{\\beta x})$, and $x$ itself where
    $\\beta x > $ ``threshold`` (gradient $\\sigma(\\beta x)$, and 1 there)."""
    for what, value in (("beta", beta), ("threshold", threshold)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidInputError(f"softplus: {what} must be a number, got {value!r}")
    if beta == 1.0 and threshold == 20.0:  # (the op: its values differ from x beyond 20 by
        return ops.softplus(input)  # less than 2e-9, relatively)
    x = as_tensor(input)
    linear_part = raw(x) * beta > threshold  # (a read of values: under replay, refused)
    return ops.where(linear_part, x, ops.div(ops.softplus(ops.mul(x, beta)), beta))


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    # PyTorch's implicit dim (deprecated there): 0 for 0-, 1- and 3-d inputs, else 1
    return dim if dim is not None else (0 if x.ndim in (0, 1, 3) else 1)


def softmax(
    input: Any,  # noqa: A002
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: DTypeLike | None = None,
) -> Tensor:
    """Softmax along ``dim`` (`autograd_lite.ops.softmax`); ``dtype`` converts the input first,
    as in PyTorch."""
    x = as_tensor(input)
    x = x if dtype is None else x.to(np.dtype(dtype))
    return ops.softmax(x, axis=_softmax_dim(x, dim))


def log_softmax(
    input: Any,  # noqa: A002
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: DTypeLike | None = None,
) -> Tensor:
    """Log-softmax along ``dim`` (`autograd_lite.ops.log_softmax`); ``dtype`` converts the
    input first, as in PyTorch."""
    x = as_tensor(input)
    x = x if dtype is None else x.to(np.dtype(dtype))
    return ops.log_softmax(x, axis=_softmax_dim(x, dim))
