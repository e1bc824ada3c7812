r"""Normalisation layers: `LayerNorm`, `BatchNorm1d`, `BatchNorm2d`.

Each is composed of differentiable ops (mean, subtraction, power, product), so its gradients,
and their gradients, come from the engine:

$$
y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\,\gamma + \beta,
$$

with $\mu$ and the *biased* variance $\sigma^2$ taken over the normalised axes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.errors import ShapeError
from autograd_lite.function import Function
from autograd_lite.nn.module import (
    Module,
    ModuleArgumentError,
    Parameter,
    as_tensor,
    number_in,
    positive_int,
)
from autograd_lite.tensor import Tensor

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d"]


class _ByRunningStats(Function):
    """``(x - running_mean) / sqrt(running_var + eps)`` with the statistics read when the op
    runs: a replay or ``al.compile`` runs this forward at every call (an op with a context), so
    an evaluation after more training uses the statistics of now, as eagerly."""

    differentiable = True

    @staticmethod
    def forward(ctx: Any, x: Any, norm: Any = None, shape: tuple = ()) -> Any:
        ctx.scale = ((norm.running_var + norm.eps) ** -0.5).reshape(shape)
        return (x - norm.running_mean.reshape(shape)) * ctx.scale

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:  # (ctx: a Context holding .scale)
        return grad * ctx.scale


_ByRunningStats.__name__ = "batch_norm_eval"  # (the op's name in graphs and errors)


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(y, mean, var)``: ``x`` normalised over ``axes`` by its mean and biased variance."""
    mean = ops.mean(x, axis=axes, keepdims=True)
    centered = ops.sub(x, mean)
    var = ops.mean(ops.mul(centered, centered), axis=axes, keepdims=True)
    return ops.mul(centered, ops.pow(ops.add(var, eps), -0.5)), mean, var


class LayerNorm(Module):
    r"""Normalises each sample over its last ``len(normalized_shape)`` axes, then scales by
    ``weight`` (ones) and shifts by ``bias`` (zeros), both of shape ``normalized_shape``.

    The same in training and evaluation: no running statistics.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(
            positive_int("LayerNorm", "normalized_shape", n) for n in shape
        )
        if not self.normalized_shape:
            raise ModuleArgumentError("LayerNorm: normalized_shape must name at least one axis")
        self.eps = number_in("LayerNorm", "eps", eps, 0.0)
        self.elementwise_affine = bool(elementwise_affine)
        affine = self.elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ShapeError(
                f"LayerNorm({self.normalized_shape}): expected inputs ending in "
                f"{self.normalized_shape}, got shape {x.shape}"
            )
        y, _, _ = _normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        if self.weight is not None:
            y = ops.mul(y, self.weight)
        return y if self.bias is None else ops.add(y, self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: the axes differ (``ndims`` gives the input ranks allowed)."""

    ndims: tuple[int, ...] = ()
    running_mean: Any  # buffers: NumPy arrays, or None without track_running_stats
    running_var: Any
    num_batches_tracked: Any

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        self.eps = number_in(name, "eps", eps, 0.0)
        if momentum is not None:
            momentum = number_in(name, "momentum", momentum, 0.0, 1.0)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, dtype)) if affine else None
        tracked = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(c, dtype) if tracked else None)
        self.register_buffer("running_var", np.ones(c, dtype) if tracked else None)
        self.register_buffer(
            "num_batches_tracked", np.array(0, dtype=np.int64) if tracked else None
        )

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch counted."""
        if self.track_running_stats:
            self.running_mean[...] = 0.0
            self.running_var[...] = 1.0
            self.num_batches_tracked[...] = 0

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim not in self.ndims or x.shape[1] != self.num_features:
            ranks = " or ".join(f"{n}-d" for n in self.ndims)
            raise ShapeError(
                f"{name}({self.num_features}): expected a {ranks} input with "
                f"{self.num_features} channels in axis 1, got shape {x.shape}"
            )
        axes = (0, *range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training or not self.track_running_stats:
            count = math.prod(x.shape) // self.num_features
            if self.training and count < 2:
                raise ShapeError(
                    f"{name}: expected more than 1 value per channel when training, got input "
                    f"shape {x.shape}"
                )
            y, mean, var = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.data, var.data, count)
        else:
            y = _ByRunningStats.apply(x, norm=self, shape=shape)
        if self.weight is not None:
            y = ops.add(ops.mul(y, ops.reshape(self.weight, shape=shape)),
                        ops.reshape(self.bias, shape=shape))  # fmt: skip
        return y

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        """PyTorch's rule: ``running = (1 - m) running + m batch``, the variance unbiased
        (``n / (n - 1)``); ``momentum=None`` is the cumulative average (``m = 1 / batches``)."""
        self.num_batches_tracked += 1
        m = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var.reshape(-1) * (count / (count - 1))
        self.running_mean *= 1 - m
        self.running_mean += m * mean.reshape(-1)
        self.running_var *= 1 - m
        self.running_var += m * unbiased

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs, per channel ``C``.

    In training mode each channel is normalised by the batch's mean and biased variance over
    the other axes, and the running statistics are updated as PyTorch does:
    $\hat\mu \leftarrow (1 - m)\hat\mu + m\mu$, $\hat\sigma^2 \leftarrow (1 - m)
    \hat\sigma^2 + m\,\sigma^2 \frac{n}{n - 1}$ (the *unbiased* variance), with ``momentum``
    $m$ (``None``: a cumulative average), and ``num_batches_tracked`` counts the batches.
    In evaluation mode the running statistics normalise (with ``track_running_stats=False``,
    the batch's, always). The running statistics are NumPy arrays (buffers) in the
    ``state_dict``: ``running_mean``, ``running_var``, ``num_batches_tracked`` (int64).

    Updating the running statistics reads the batch's values, so ``al.grad(f, replay=True)``
    refuses a training-mode BatchNorm with a ``ReplayError``; in evaluation mode (or with
    ``track_running_stats=False``) it replays.
    """

    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation of ``(N, C, H, W)`` inputs, per channel ``C`` (statistics over
    ``N``, ``H``, ``W``); otherwise as `BatchNorm1d`."""

    ndims = (4,)
