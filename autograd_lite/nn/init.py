r"""Initial values of layers' parameters: PyTorch's defaults, and the chapter's choices by name.

PyTorch initialises ``Linear`` and ``Conv2d`` weights by Kaiming-uniform with
$a = \sqrt 5$ and biases uniformly with the same bound: both are
$\mathcal U(-1/\sqrt{\text{fan\_in}},\, 1/\sqrt{\text{fan\_in}})$, since the Kaiming bound is
$\text{gain}\sqrt{3/\text{fan\_in}}$ with $\text{gain} = \sqrt{2/(1 + a^2)} =
\sqrt{1/3}$. ``fan_in`` is the number of inputs of one output: ``in_features``, or
``in_channels * kh * kw`` for a convolution. The generator is NumPy's, so the values are not
PyTorch's draws, only their distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_lite.errors import InvalidInputError
from autograd_lite.nn.module import ModuleArgumentError

__all__ = ["INITS", "fan_in_uniform", "init_weights", "make_rng"]

#: The names ``Linear(..., init=...)`` takes: PyTorch's default first, then chapters 1 and 3.
INITS = ("kaiming_uniform", "standard", "normalized")


def make_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """The generator a layer draws from: ``rng`` itself, or a new one seeded with ``seed``."""
    if seed is not None and rng is not None:
        raise ModuleArgumentError("pass either seed= or rng=, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise InvalidInputError(
                f"rng must be a numpy.random.Generator, got {type(rng).__name__}"
            )
        return rng
    return np.random.default_rng(seed)


def fan_in_uniform(shape: Any, fan_in: int, rng: np.random.Generator) -> np.ndarray:
    r"""$\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$ of ``shape``:
    PyTorch's default for the weights (Kaiming-uniform, $a = \sqrt 5$) and the biases
    of ``Linear`` and ``Conv2d``."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape)


def init_weights(
    n_in: int, n_out: int, init: str = "kaiming_uniform", rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw a layer's weights ``(n_out, n_in)`` and biases ``(n_out,)``; weights first.

    ``"kaiming_uniform"`` is PyTorch's default: $w, b \sim \mathcal U(\pm 1/\sqrt{n_{in}})$.
    ``"standard"`` is chapter 1's $w, b \sim \mathcal N(0, 1)$. ``"normalized"`` is
    chapter 3's $w \sim \mathcal N(0, 1/n_{in})$, $b \sim \mathcal N(0, 1)$: it
    keeps $z = \sum_j w_j x_j + b$ of order 1, so sigmoid neurons do not start
    saturated.
    """
    if init not in INITS:
        raise ModuleArgumentError(f"init must be one of {INITS}, got {init!r}")
    rng = np.random.default_rng() if rng is None else rng
    if init == "kaiming_uniform":
        return fan_in_uniform((n_out, n_in), n_in, rng), fan_in_uniform(n_out, n_in, rng)
    weight = rng.standard_normal((n_out, n_in))
    if init == "normalized":
        weight /= np.sqrt(n_in)
    bias = rng.standard_normal(n_out)
    return weight, bias
