"""PyTorch's ``torch.nn.functional`` names: ``from autograd_lite.nn import functional as F``.

The layers' computations as functions, for a custom layer written as PyTorch users write one
(``F.relu(self.fc(x))``, ``F.cross_entropy(logits, labels)``). Each is the function or op that
the matching layer of `autograd_lite.nn` runs, so ``F.linear(x, W, b)`` is bitwise
``Linear``'s output and ``F.cross_entropy`` is ``CrossEntropyLoss``'s.

>>> import numpy as np, autograd_lite as al
>>> from autograd_lite.nn import functional as F
>>> x = al.Tensor([[1.0, -2.0]], requires_grad=True)
>>> loss = F.cross_entropy(F.relu(F.linear(x, np.eye(2))), np.array([0]))
>>> loss.backward()
>>> x.grad.round(4)
array([[-0.2689,  0.    ]])
"""

from __future__ import annotations

from autograd_lite import ops
from autograd_lite.nn.layers import dropout, linear
from autograd_lite.nn.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)

__all__ = [
    "linear", "dropout", "relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "mse_loss", "nll_loss", "cross_entropy", "binary_cross_entropy_with_logits",
]  # fmt: skip

# (each op's public function, as ``al.<name>``: softmax's also takes ``dim=``)
relu, sigmoid, tanh, softplus, softmax, log_softmax = (
    ops.REGISTRY[name].public
    for name in ("relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax")
)
