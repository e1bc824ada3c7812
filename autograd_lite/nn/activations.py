r"""Elementwise activations and softmax as modules: `Sigmoid`, `Tanh`,
`ReLU`, `Softmax`, `LogSoftmax`."""

from __future__ import annotations

from typing import Any

from autograd_lite import ops
from autograd_lite.nn.module import Module
from autograd_lite.tensor import Tensor

__all__ = ["Sigmoid", "Tanh", "ReLU", "Softmax", "LogSoftmax"]


class Sigmoid(Module):
    r"""$\sigma(z) = 1/(1 + e^{-z})$, elementwise; $\sigma' = \sigma(1 - \sigma)$."""

    def forward(self, z: Any) -> Tensor:
        return ops.sigmoid(z)


class Tanh(Module):
    r"""$\tanh z$, elementwise; derivative $1 - \tanh^2 z$."""

    def forward(self, z: Any) -> Tensor:
        return ops.tanh(z)


class ReLU(Module):
    r"""$\max(z, 0)$, elementwise; derivative 1 for $z > 0$, else 0 (also at 0)."""

    def forward(self, z: Any) -> Tensor:
        return ops.relu(z)


class Softmax(Module):
    r"""Softmax along ``dim``: $a_j = e^{z_j} / \sum_k e^{z_k}$ (chapter 3).

    ``dim`` is PyTorch's name (default -1, the last axis); ``axis=`` is the same. Its Jacobian
    is $\partial a_j/\partial z_k = a_j(\delta_{jk} - a_k)$. To train with the
    log-likelihood cost, give the *logits* to `CrossEntropyLoss` or
    `log_likelihood_cost()` (stable) rather than this layer's output.
    """

    def __init__(self, dim: int | None = None, *, axis: int | None = None) -> None:
        super().__init__()
        self.axis = -1 if dim is None and axis is None else (axis if dim is None else dim)

    def forward(self, z: Any) -> Tensor:
        return ops.softmax(z, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    r"""$\ln \mathrm{softmax}(z)_j = z_j - \ln \sum_k e^{z_k}$ along ``dim``, stably."""

    def forward(self, z: Any) -> Tensor:
        return ops.log_softmax(z, axis=self.axis)
