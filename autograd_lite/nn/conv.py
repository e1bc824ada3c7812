r"""Convolution and pooling layers, NCHW, with PyTorch's signatures, initialisation and
state_dict layout: `Conv2d`, `MaxPool2d`, `AvgPool2d`.

Each is a thin module over a primitive of `autograd_lite.ops` (``conv2d``, ``max_pool2d``,
``avg_pool2d``), whose vjps are primitives too: gradients of any order flow through them.

Examples
--------
>>> import numpy as np
>>> from autograd_lite import nn
>>> conv = nn.Conv2d(1, 6, 5, padding=2, seed=0)
>>> [(name, p.shape) for name, p in conv.named_parameters()]
[('weight', (6, 1, 5, 5)), ('bias', (6,))]
>>> x = np.zeros((2, 1, 28, 28))
>>> nn.MaxPool2d(2)(conv(x)).shape
(2, 6, 14, 14)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.nn.init import fan_in_uniform, make_rng
from autograd_lite.nn.module import Module, ModuleArgumentError, Parameter, positive_int
from autograd_lite.tensor import Tensor

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d"]


def _size(value: Any, what: str, low: int) -> tuple[int, int]:
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if (
        len(pair) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
        or min(pair) < low
    ):
        raise ModuleArgumentError(
            f"{what} must be an int >= {low} or a pair of them, got {value!r}"
        )
    return int(pair[0]), int(pair[1])


class Conv2d(Module):
    r"""A 2-D convolution over ``(N, C_in, H, W)`` inputs (PyTorch's ``torch.nn.Conv2d``
    without ``groups``/``padding_mode``): $y = w \star x + b$.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding, dilation : int or (int, int)
        As in PyTorch; ``padding`` adds zeros on both sides.
    bias : bool, default True
    seed : int, optional
        Seed of the generator that draws the initial values.
    rng : numpy.random.Generator, optional
        Draw from this generator instead; not with ``seed``.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    weight : Parameter, shape ``(out_channels, in_channels, kh, kw)``
        PyTorch's layout, so ``state_dict()`` loads into ``torch.nn.Conv2d`` unchanged.
    bias : Parameter, shape ``(out_channels,)``, or None

    Notes
    -----
    PyTorch's default initialisation: ``kaiming_uniform_(weight, a=√5)``, which is
    $U(-1/\sqrt{fan_{in}}, 1/\sqrt{fan_{in}})$ with
    $fan_{in} = C_{in} \cdot kh \cdot kw$, and the bias from the same interval (weights
    drawn first, then the bias).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        bias: bool = True,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int("Conv2d", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2d", "out_channels", out_channels)
        self.kernel_size = _size(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = _size(stride, "Conv2d: stride", 1)
        self.padding = _size(padding, "Conv2d: padding", 0)
        self.dilation = _size(dilation, "Conv2d: dilation", 1)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        generator = make_rng(seed, rng)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(fan_in_uniform(shape, fan_in, generator).astype(dtype))
        self.bias = (
            Parameter(fan_in_uniform(self.out_channels, fan_in, generator).astype(dtype))
            if bias
            else None
        )

    def forward(self, x: Any) -> Tensor:
        """``conv2d(x, weight, bias)`` for ``x`` of shape ``(N, in_channels, H, W)``."""
        return ops.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")


class MaxPool2d(Module):
    """Max pooling over ``(N, C, H, W)`` inputs (PyTorch's ``torch.nn.MaxPool2d`` with
    ``ceil_mode=False``). ``stride`` defaults to ``kernel_size``; ``padding`` counts as -inf.
    The gradient goes to the first maximum of each window (row-major), as PyTorch's CPU kernel.
    """

    def __init__(
        self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size = _size(kernel_size, "MaxPool2d: kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _size(stride, "MaxPool2d: stride", 1)
        self.padding = _size(padding, "MaxPool2d: padding", 0)
        self.dilation = _size(dilation, "MaxPool2d: dilation", 1)

    def forward(self, x: Any) -> Tensor:
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )


class AvgPool2d(Module):
    """Average pooling over ``(N, C, H, W)`` inputs (PyTorch's ``torch.nn.AvgPool2d`` with
    ``ceil_mode=False, count_include_pad=True``: each window's sum divided by ``kh·kw``).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _size(kernel_size, "AvgPool2d: kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _size(stride, "AvgPool2d: stride", 1)
        self.padding = _size(padding, "AvgPool2d: padding", 0)

    def forward(self, x: Any) -> Tensor:
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
