r"""Elementwise activations and softmax as modules: `Sigmoid`, `Tanh`,
`ReLU`, `LeakyReLU`, `SiLU`, `Softplus`, `Softmax`, `LogSoftmax`. Each runs the function of
`autograd_lite.nn.functional` of the same name; ``inplace=True`` is refused, as there."""

from __future__ import annotations

import math
from typing import Any

from autograd_lite import ops
from autograd_lite.nn import functional
from autograd_lite.nn.module import Module, not_in_place, number_in
from autograd_lite.tensor import Tensor

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "SiLU", "Softplus", "Softmax", "LogSoftmax"]


class Sigmoid(Module):
    r"""$\sigma(z) = 1/(1 + e^{-z})$, elementwise; $\sigma' = \sigma(1 - \sigma)$."""

    def forward(self, z: Any) -> Tensor:
        return ops.sigmoid(z)


class Tanh(Module):
    r"""$\tanh z$, elementwise; derivative $1 - \tanh^2 z$."""

    def forward(self, z: Any) -> Tensor:
        return ops.tanh(z)


def _not_in_place(name: str, inplace: bool) -> None:
    not_in_place(f"nn.{name}", inplace, f"nn.{name}() and use its output")


class ReLU(Module):
    r"""$\max(z, 0)$, elementwise; derivative 1 for $z > 0$, else 0 (also at 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _not_in_place("ReLU", inplace)

    def forward(self, z: Any) -> Tensor:
        return ops.relu(z)


class LeakyReLU(Module):
    r"""$z$ for $z > 0$, ``negative_slope`` $\cdot z$ otherwise; derivative ``negative_slope``
    at 0, as PyTorch's."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        _not_in_place("LeakyReLU", inplace)
        self.negative_slope = number_in("LeakyReLU", "negative_slope", negative_slope, -math.inf)

    def forward(self, z: Any) -> Tensor:
        return functional.leaky_relu(z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    r"""$z\,\sigma(z)$, elementwise (the swish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _not_in_place("SiLU", inplace)

    def forward(self, z: Any) -> Tensor:
        return functional.silu(z)


class Softplus(Module):
    r"""$\frac1\beta \log(1 + e^{\beta z})$, and $z$ where $\beta z >$ ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = number_in("Softplus", "beta", beta, -math.inf)
        self.threshold = number_in("Softplus", "threshold", threshold, -math.inf)

    def forward(self, z: Any) -> Tensor:
        return functional.softplus(z, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


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
