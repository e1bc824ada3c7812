r"""Layers with PyTorch's signatures, samples as rows: `Linear`, `Identity`,
`Flatten`, `Dropout`, `Embedding`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.errors import ShapeError, TensorIndexError
from autograd_lite.function import Function
from autograd_lite.nn.init import init_weights, make_rng
from autograd_lite.nn.module import (
    Module,
    ModuleArgumentError,
    Parameter,
    as_tensor,
    not_in_place,
    number_in,
    positive_int,
)
from autograd_lite.tensor import Tensor

__all__ = ["Linear", "Identity", "Flatten", "Dropout", "Embedding", "linear", "dropout"]


class Linear(Module):
    r"""A fully connected layer, $y = x W^\top + b$, samples as rows.

    Parameters
    ----------
    in_features, out_features : int
        Input and output widths.
    bias : bool, default True
        Add the bias $b$.
    init : {"kaiming_uniform", "standard", "normalized"}, default "kaiming_uniform"
        ``"kaiming_uniform"``: PyTorch's default, $W_{jk}, b_j \sim \mathcal
        U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})$.
        ``"standard"``: $W_{jk}, b_j \sim \mathcal N(0, 1)$ (chapters 1-2).
        ``"normalized"``: $W_{jk} \sim \mathcal N(0, 1/n_{in})$, $b_j \sim
        \mathcal N(0, 1)$ (chapter 3).
    seed : int, optional
        Seed of the generator that draws the initial values.
    rng : numpy.random.Generator, optional
        Draw from this generator instead (share one across layers); not with ``seed``.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    weight : Parameter, shape ``(out_features, in_features)``
        The chapter's $w^l$.
    bias : Parameter, shape ``(out_features,)``, or None
        The chapter's $b^l$ as a row (its ``(n_out, 1)`` column is ``bias.reshape(-1, 1)``).

    Notes
    -----
    For a mini-batch $X$ of shape ``(m, n_in)`` the gradients are
    $\partial C/\partial W = \Delta^\top X$ and
    $\partial C/\partial b = \sum_x \delta_x$ with $\Delta = \partial C/\partial Y$
    of shape ``(m, n_out)``: BP4 and BP3 summed over the mini-batch, transposed to rows.

    A mini-batch (2-D ``x``) with a bias is one op, `autograd_lite.ops.linear()`, computed as
    ``(W @ x.T).T + b``, the chapter's $w a + b$ with samples as columns: its vjp hands the
    weight its gradient $\Delta^\top X$ as a fresh array of ``W``'s layout, where
    ``x @ W.T`` would hand a transposed view that backward must copy; one node instead of
    four (transpose, matmul, transpose, add) saves the Python cost of three nodes at every
    step (timed in ``benchmarks/bench_compile.py``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "kaiming_uniform",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        self.init = init
        weight, b = init_weights(self.in_features, self.out_features, init, make_rng(seed, rng))
        self.weight = Parameter(weight.astype(dtype, copy=False))
        self.bias = Parameter(b.astype(dtype, copy=False)) if bias else None

    def forward(self, x: Any) -> Tensor:
        """``x @ W.T + b`` for ``x`` of shape ``(..., in_features)``."""
        if x.__class__ is not np.ndarray or x.dtype.kind != "f":  # (a float array: as it is,
            x = as_tensor(x)  # a constant of the op, no Tensor made for it)
        n_in = self.in_features
        if x.ndim == 0 or x.shape[-1] != n_in:
            raise ShapeError(
                f"Linear({n_in}, {self.out_features}): expected inputs with {n_in} features "
                f"in the last axis (shape (m, {n_in})), got shape {x.shape}"
            )
        return ops.linear(x, self.weight, self.bias)  # (the chapter's w a: see Notes)

    def extra_repr(self) -> str:
        extra = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features}, {self.out_features}{extra}, init={self.init!r}"


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:  # noqa: A002
    r"""$y = x W^\top + b$ for ``input`` of shape ``(..., in_features)``, ``weight`` of shape
    ``(out_features, in_features)`` and ``bias`` of shape ``(out_features,)`` or None
    (``torch.nn.functional.linear``): what `Linear` computes, bitwise."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(
            f"linear: an input of shape {x.shape} and a weight of shape {w.shape}; the weight "
            f"must be (out_features, in_features) and the input (..., in_features)"
        )
    if bias is not None and np.shape(bias) != (w.shape[0],):
        raise ShapeError(
            f"linear: a bias of shape {np.shape(bias)} for {w.shape[0]} outputs; expected "
            f"({w.shape[0]},)"
        )
    return ops.linear(x, w, bias)


def dropout(
    input: Any,  # noqa: A002
    p: float = 0.5,
    training: bool = True,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> Any:
    r"""Zero each element with probability ``p`` and scale the rest by $1/(1-p)$ when
    ``training`` (``torch.nn.functional.dropout``), drawing the mask from ``rng`` (or a
    generator seeded with ``seed``; unseeded by default); the input as it is otherwise."""
    p = number_in("dropout", "p", p, 0.0, 1.0)
    return _dropped(input, p, training, make_rng(seed, rng))


class _DropoutOp(Function):
    """``x ⊙ mask``, the mask drawn by the forward itself: a replay or ``al.compile`` runs this
    forward at every call (an op with a context), so each call draws a new mask, as eagerly;
    the backward multiplies by the same mask."""

    differentiable = True

    @staticmethod
    def forward(ctx: Any, x: Any, p: float = 0.5, rng: Any = None) -> Any:
        keep = rng.random(np.shape(x)) >= p
        ctx.mask = (keep * (0.0 if p == 1 else 1.0 / (1.0 - p))).astype(x.dtype)
        return x * ctx.mask

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:  # (ctx: a Context holding .mask)
        return grad * ctx.mask


_DropoutOp.__name__ = "dropout"  # (the op's name in graphs and errors)


def _dropped(x: Any, p: float, training: bool, rng: np.random.Generator) -> Any:
    if not training or p == 0:
        return x
    return _DropoutOp.apply(as_tensor(x), p=p, rng=rng)


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer); arguments given to
    the constructor are ignored, as in PyTorch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Joins the axes ``start_dim`` … ``end_dim`` into one: ``(N, C, H, W)`` becomes
    ``(N, C*H*W)`` with the defaults (the batch axis kept)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        shape = x.shape
        start, end = (d + len(shape) if d < 0 else d for d in (self.start_dim, self.end_dim))
        if not 0 <= start <= end < max(len(shape), 1):
            raise ShapeError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): no such axes in "
                f"an input of shape {shape}"
            )
        if not shape:
            return ops.reshape(x, shape=(1,))
        joined = math.prod(shape[start : end + 1])
        return ops.reshape(x, shape=(*shape[:start], joined, *shape[end + 1 :]))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    r"""In training mode, zeroes each element with probability ``p`` and scales the rest by
    $1/(1-p)$ (so the expectation is unchanged); in evaluation mode, the identity.

    The mask is a constant of the graph: the gradient is the upstream gradient times the same
    mask. Each call in training mode draws a new mask from the layer's generator (``seed=`` or
    ``rng=``; unseeded by default), also under ``al.compile`` and ``al.grad(f, replay=True)``:
    the draw is part of the op, which they run at every call.
    """

    def __init__(
        self,
        p: float = 0.5,
        inplace: bool = False,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        not_in_place("nn.Dropout", inplace, "nn.Dropout(p) and use its output")
        self.p = number_in("Dropout", "p", p, 0.0, 1.0)
        self.rng = make_rng(seed, rng)

    def forward(self, x: Any) -> Any:
        return _dropped(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    r"""A lookup table: row $i$ of ``weight`` (``(num_embeddings, embedding_dim)``) for
    each index $i$; an input of shape ``S`` gives ``S + (embedding_dim,)``.

    ``weight`` is drawn from $\mathcal N(0, 1)$ as in PyTorch. With ``padding_idx``, that
    row starts at zero and gets no gradient (its output is still the row's value). Indices are
    integers, or floats holding whole numbers (a Tensor's data); negative ones are refused.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ModuleArgumentError(
                    f"Embedding: padding_idx {padding_idx} is outside the "
                    f"{self.num_embeddings} embeddings"
                )
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        weight = make_rng(seed, rng).standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        self.weight = Parameter(weight.astype(dtype, copy=False))

    def forward(self, indices: Any) -> Tensor:
        raw = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if raw.dtype.kind == "f" and np.array_equal(raw, np.round(raw)):
            raw = raw.astype(np.int64)
        if raw.dtype.kind not in "iu":
            raise TensorIndexError(
                f"Embedding: indices must be integers, got an array of dtype {raw.dtype}"
            )
        if raw.size and (raw.min() < 0 or raw.max() >= self.num_embeddings):
            raise TensorIndexError(
                f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices must lie in "
                f"[0, {self.num_embeddings}), got {raw.min()} … {raw.max()}"
            )
        rows = ops.getitem(self.weight, raw)
        if self.padding_idx is None:
            return rows
        frozen = ops.getitem(self.weight.detach(), raw)
        return ops.where((raw != self.padding_idx)[..., None], rows, frozen)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
