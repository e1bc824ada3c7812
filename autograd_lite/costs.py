"""Cost functions: quadratic, cross-entropy, and log-likelihood with softmax.

Each cost is summed over the samples of a mini-batch by default (``reduction="sum"``), which is
the chapter's convention: the gradient of the cost is Σₓ ∇Cₓ, and the update divides by the
batch size m (w ← w − (η/m) Σₓ ∇Cₓ). ``reduction="mean"`` divides by m instead. ``axis`` names
the class (feature) axis: ``0`` for the chapter's columns-are-samples layout, ``-1`` (default)
for rows-are-samples as in `autograd_lite.nn`. It only matters for ``"mean"`` and for the
softmax of the log-likelihood cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.errors import InvalidArgumentError, ShapeError
from autograd_lite.ops import Draw, defop
from autograd_lite.tensor import Tensor, as_array, raw

__all__ = ["quadratic_cost", "cross_entropy_cost", "log_likelihood_cost"]

_REDUCTIONS = ("sum", "mean")


def _sample_count(shape: tuple[int, ...], axis: int, reduction: str) -> int:
    if reduction == "sum":
        return 1
    if reduction not in _REDUCTIONS:
        raise InvalidArgumentError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    if reduction == "sum" or len(shape) < 2:
        return 1
    return int(np.prod(shape)) // shape[axis]


def _check_same_shape(name: str, a: Any, y: Any) -> None:
    if a.__class__ is np.ndarray and y.__class__ is np.ndarray and a.shape == y.shape:
        return  # the common case, without np.shape's dispatch
    if np.shape(a) != np.shape(y):
        raise ShapeError(
            f"{name}: the output has shape {np.shape(a)} but the target y has shape "
            f"{np.shape(y)}; they must match (one column or row per sample)"
        )


# -- quadratic -------------------------------------------------------------------------------
def _quadratic(a: Any, y: Any, scale: float = 1.0) -> Any:
    """``C = ½ Σ ‖y − a‖²`` (times ``scale``). VJP: ``∂C/∂a = g (a − y)``, the chapter's
    ``cost_derivative`` (BP1's ∇ₐC)."""
    _check_same_shape("quadratic_cost", a, y)
    d = a - y
    return np.asarray(0.5 * scale * np.vdot(d, d))


def _quadratic_vjp_a(g: Any, out: Any, a: Any, y: Any, scale: float = 1.0) -> Any:
    d = a - y  # a fresh array (or Tensor), so the products below may be in place
    if scale != 1.0:
        d *= scale
    d *= g
    return d


_quadratic_op = defop(
    "quadratic_cost",
    _quadratic,
    (_quadratic_vjp_a, lambda g, out, a, y, scale=1.0: (g * scale) * (y - a)),
    draw=Draw("cost", ("real", "real"), opt_in=True),
    public=lambda a, y, **params: quadratic_cost(a, y, **params),
)


def quadratic_cost(a: Any, y: Any, *, reduction: str = "sum", axis: int = -1) -> Tensor:
    """Quadratic cost ``C = Σₓ ½‖y(x) − aᴸ(x)‖²`` (the chapter's (6), without the 1/n).

    Parameters
    ----------
    a : Tensor
        Output activations, one sample per column (``axis=0``) or per row (``axis=-1``).
    y : array_like
        Targets, the same shape as ``a``.
    reduction : {"sum", "mean"}
        Sum over the mini-batch (default) or average over its samples.
    axis : int
        The class axis; the samples are counted along the others (only used for ``"mean"``).

    Returns
    -------
    Tensor
        A scalar. Its gradient with respect to ``a`` is ``a − y`` per sample.
    """
    if reduction == "sum":  # the chapter's convention, and the hot path of its training loop
        return _quadratic_op(a, y)
    count = _sample_count(np.shape(a), axis, reduction)
    return _quadratic_op(a, y, scale=1.0 / count)


# -- cross-entropy ---------------------------------------------------------------------------
def _cross_entropy(a: Any, y: Any, scale: float = 1.0) -> Any:
    """``C = −Σ [y ln a + (1 − y) ln(1 − a)]``. VJP: ``g (a − y) / (a (1 − a))``."""
    _check_same_shape("cross_entropy_cost", a, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.nan_to_num(y * np.log(a) + (1 - y) * np.log1p(-a))  # 0·log 0 counts as 0
    return -scale * np.sum(terms)


def _cross_entropy_vjp_a(g: Any, out: Any, a: Any, y: Any, scale: float = 1.0) -> Any:
    return (g * scale) * (a - y) / (a * (1 - a))


def _cross_entropy_vjp_y(g: Any, out: Any, a: Any, y: Any, scale: float = 1.0) -> Any:
    return (g * scale) * (ops.log_any(1 - a) - ops.log_any(a))


_cross_entropy_op = defop(
    "cross_entropy_cost",
    _cross_entropy,
    (_cross_entropy_vjp_a, _cross_entropy_vjp_y),
    draw=Draw("cost", ("unit", "probability"), opt_in=True),
    public=lambda a, y, **params: cross_entropy_cost(a, y, **params),
)


def _cross_entropy_logits(z: Any, y: Any, scale: float = 1.0) -> Any:
    """Cross-entropy of ``a = σ(z)`` computed from ``z``: ``Σ [max(z,0) − y z + ln(1+e^−|z|)]``.

    VJP: ``∂C/∂z = g (σ(z) − y)``: with sigmoid output and cross-entropy the output error is
    ``δᴸ = aᴸ − y``, with no σ′ factor (chapter 3).
    """
    _check_same_shape("cross_entropy_cost", z, y)
    return scale * np.sum(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))


_cross_entropy_logits_op = defop(
    "cross_entropy_cost_logits",  # (reached as cross_entropy_cost(z, y, logits=True))
    _cross_entropy_logits,
    (
        lambda g, out, z, y, scale=1.0: (g * scale) * (ops.sigmoid_any(z) - y),
        lambda g, out, z, y, scale=1.0: (g * scale) * -z,
    ),
    draw=Draw("cost", ("real", "probability"), opt_in=True),
    public=None,
    apply=lambda z, y, **params: cross_entropy_cost(z, y, logits=True, **params),
)


def cross_entropy_cost(
    a: Any, y: Any, *, logits: bool = False, reduction: str = "sum", axis: int = -1
) -> Tensor:
    """Cross-entropy cost ``C = −Σₓ Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)]`` (chapter 3, (57)).

    Parameters
    ----------
    a : Tensor
        Sigmoid output activations, or the weighted inputs ``zᴸ`` when ``logits=True``.
    y : array_like
        Targets in [0, 1], the same shape as ``a``.
    logits : bool, default False
        Take ``zᴸ`` and compute the cost stably from it (no log of 0, no overflow); its gradient
        is then exactly ``σ(z) − y``.
    reduction : {"sum", "mean"}
        Sum over the mini-batch (default) or average over its samples.
    axis : int
        The class axis (only used for ``"mean"``).

    Returns
    -------
    Tensor
        A scalar.
    """
    count = _sample_count(np.shape(a), axis, reduction)
    op = _cross_entropy_logits_op if logits else _cross_entropy_op
    return op(a, y, scale=1.0 / count)


# -- log-likelihood ----------------------------------------------------------------------------
def log_likelihood_cost(
    logits: Any, labels: Any, *, reduction: str = "sum", axis: int = -1
) -> Tensor:
    """Log-likelihood of a softmax output: ``C = −Σₓ ln softmax(zᴸ)_{label(x)}`` (chapter 3).

    Parameters
    ----------
    logits : Tensor
        Weighted inputs ``zᴸ`` of the output layer.
    labels : array_like
        Integer class indices (one per sample), or targets of the same shape as ``logits``
        (one-hot or probabilities).
    reduction : {"sum", "mean"}
        Sum over the mini-batch (default) or average over its samples.
    axis : int
        The class axis: ``-1`` when samples are rows, ``0`` for the chapter's columns.

    Returns
    -------
    Tensor
        A scalar. Its gradient with respect to ``zᴸ`` is ``softmax(zᴸ) − y`` per sample.
    """
    # (shape and dtype only: reading a recorded Tensor's .data is refused while replay records)
    data = logits if isinstance(logits, Tensor) else np.asarray(logits)
    shape = data.shape
    targets = _targets(shape, labels, axis).astype(data.dtype, copy=False)
    count = _sample_count(shape, axis, reduction)
    picked = ops.mul(ops.log_softmax(logits, axis=axis), targets)
    total = ops.neg(ops.sum(picked))
    return total if count == 1 else ops.mul(total, 1.0 / count)


def _targets(shape: tuple[int, ...], labels: Any, axis: int) -> np.ndarray:
    given = np.asarray(raw(labels))  # (a recorded Tensor's values would be frozen: see replay)
    if given.shape == shape:
        return as_array(given, what="log_likelihood_cost")
    if given.dtype.kind not in "iu":
        raise ShapeError(
            f"log_likelihood_cost: labels of shape {given.shape} must be integer class indices "
            f"(one per sample) or targets of the logits' shape {shape}"
        )
    classes = shape[axis]
    sample_shape = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
    if given.shape != sample_shape:
        raise ShapeError(
            f"log_likelihood_cost: {given.shape[0] if given.ndim else 0} labels for logits of "
            f"shape {shape}: expected one label per sample, shape {sample_shape}"
        )
    if given.size and (given.min() < 0 or given.max() >= classes):
        raise ShapeError(
            f"log_likelihood_cost: labels must lie in 0..{classes - 1}, got values in "
            f"{given.min()}..{given.max()}"
        )
    one_hot = np.moveaxis(np.eye(classes, dtype=np.float64)[given], -1, axis)
    return one_hot
