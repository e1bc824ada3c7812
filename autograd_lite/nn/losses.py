r"""Loss modules with PyTorch's signatures and ``reduction`` (``"mean"``, ``"sum"``, ``"none"``):
`MSELoss`, `CrossEntropyLoss`, `NLLLoss`, `BCEWithLogitsLoss`, and the
functions they call (`mse_loss()`, `cross_entropy()`, `nll_loss()`,
[`binary_cross_entropy_with_logits()`][autograd_lite.nn.losses.binary_cross_entropy_with_logits]).

The class axis is axis 1 of an input ``(N, C)`` or ``(N, C, d1, …)``, axis 0 of an input
``(C,)``. Log-probabilities come from ``log_softmax`` (shifted by the maximum), so logits of
±1000 give finite losses and exact gradients. The chapter's costs
(`quadratic_cost()` …) are unchanged: these are PyTorch's, which average
over the batch where the chapter's sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.errors import (
    InvalidArgumentError,
    InvalidInputError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.nn.module import Module, ModuleArgumentError, as_tensor, number_in
from autograd_lite.ops import Draw, defop
from autograd_lite.tensor import Tensor

__all__ = [
    "MSELoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(owner: str, reduction: Any) -> str:
    if reduction not in _REDUCTIONS:
        raise ModuleArgumentError(
            f"{owner}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    return str(reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    return ops.sum(loss) if reduction == "sum" else loss


def _raw(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _class_weights(owner: str, weight: Any, n_classes: int) -> np.ndarray | None:
    if weight is None:
        return None
    w = _raw(weight)
    if w.shape != (n_classes,):
        raise ShapeError(f"{owner}: weight must have shape ({n_classes},), got {w.shape}")
    return w


def _class_axis(owner: str, x: Tensor) -> int:
    if x.ndim == 0:
        raise ShapeError(
            f"{owner}: expected an input (C,), (N, C) or (N, C, d1, ...), got a scalar"
        )
    return 1 if x.ndim >= 2 else 0


def _indices(owner: str, target: Any, x: Tensor, axis: int, ignore_index: int) -> np.ndarray:
    """The class indices of ``target`` (integers, or floats holding whole numbers), checked."""
    t = _raw(target)
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    if t.shape != expected:
        raise ShapeError(
            f"{owner}: input of shape {x.shape} needs class indices of shape {expected} (or "
            f"probabilities of shape {x.shape}), got target shape {t.shape}"
        )
    if t.dtype.kind == "f" and np.array_equal(t, np.round(t)):
        t = t.astype(np.int64)
    if t.dtype.kind not in "iu":
        raise InvalidInputError(
            f"{owner}: class indices must be integers, got an array of dtype {t.dtype}"
        )
    n_classes = x.shape[axis]
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise TensorIndexError(
            f"{owner}: class index {t[bad].flat[0]} is outside [0, {n_classes}) "
            f"(ignore_index={ignore_index})"
        )
    return t


def _nll(
    logp: Tensor, t: np.ndarray, weight: np.ndarray | None, axis: int, ignore_index: int
) -> tuple[Tensor, np.ndarray]:
    """``(-w_n log p_n[t_n], w_n)`` per sample; ``w_n`` is 0 where ``t_n == ignore_index``."""
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    index: list[Any] = list(np.indices(t.shape, sparse=True))
    index.insert(axis, safe)
    w = keep.astype(logp.dtype) if weight is None else weight[safe] * keep
    return ops.mul(ops.getitem(logp, tuple(index)), -w.astype(logp.dtype)), w


def _weighted_mean(loss: Tensor, w: np.ndarray, reduction: str) -> Tensor:
    """PyTorch's weighted reductions: "mean" divides by the weights' sum, not the count."""
    if reduction == "mean":
        total = w.sum()
        if total == 0:  # every sample ignored: PyTorch's NaN, and a zero gradient
            return ops.add(ops.mul(ops.sum(loss), 0.0), np.nan)
        return ops.div(ops.sum(loss), total)
    return _reduce(loss, reduction)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    r"""$(x - y)^2$ elementwise, then reduced; ``input`` and ``target`` of one shape."""
    reduction = _check_reduction("mse_loss", reduction)
    x, y = as_tensor(input), target
    if _raw(y).shape != x.shape:
        raise ShapeError(
            f"mse_loss: input shape {x.shape} and target shape {_raw(y).shape} differ "
            "(PyTorch would broadcast them with a warning; reshape one)"
        )
    diff = ops.sub(x, y)
    return _reduce(ops.mul(diff, diff), reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    r"""$|x - y|$ elementwise, then reduced; ``input`` and ``target`` of one shape. The
    gradient of $|\cdot|$ at 0 is 0, as PyTorch's."""
    reduction = _check_reduction("l1_loss", reduction)
    x = as_tensor(input)
    if _raw(target).shape != x.shape:
        raise ShapeError(
            f"l1_loss: input shape {x.shape} and target shape {_raw(target).shape} differ "
            "(PyTorch would broadcast them with a warning; reshape one)"
        )
    return _reduce(ops.abs(ops.sub(x, target)), reduction)


def nll_loss(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""The negative log-likelihood $-w_{t_n} \log p_{n, t_n}$ of log-probabilities
    ``input`` (e.g. from ``log_softmax``) at the class indices ``target``.

    ``"mean"`` divides by $\sum_n w_{t_n}$ over the samples not ignored.
    """
    reduction = _check_reduction("nll_loss", reduction)
    x = as_tensor(input)
    axis = _class_axis("nll_loss", x)
    w = _class_weights("nll_loss", weight, x.shape[axis])
    t = _indices("nll_loss", target, x, axis, ignore_index)
    loss, w_n = _nll(x, t, w, axis, ignore_index)
    return _weighted_mean(loss, w_n, reduction)


def cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Cross-entropy of the logits ``input`` against class indices or class probabilities.

    ``target`` of the input's shape less the class axis holds class indices: the loss is
    `nll_loss()` of ``log_softmax(input)``; with ``label_smoothing`` $\varepsilon$
    it is $(1 - \varepsilon)\,\text{nll} + \frac{\varepsilon}{C}\sum_c -w_c \log p_c$
    (reduced alike). ``target`` of the input's shape holds probabilities $q$ (smoothed
    to $(1 - \varepsilon) q + \varepsilon / C$): the loss is $-\sum_c w_c q_c
    \log p_c$, and ``"mean"`` divides by the number of samples.
    """
    owner = "cross_entropy"
    reduction = _check_reduction(owner, reduction)
    eps = number_in(owner, "label_smoothing", label_smoothing, 0.0, 1.0)
    x = as_tensor(input)
    axis = _class_axis(owner, x)
    n_classes = x.shape[axis]
    w = _class_weights(owner, weight, n_classes)
    logp = ops.log_softmax(x, axis=axis)
    w_view = None if w is None else w.reshape((n_classes,) + (1,) * (x.ndim - axis - 1))
    weighted = logp if w_view is None else ops.mul(logp, w_view.astype(x.dtype))
    q = _raw(target)
    if q.shape == x.shape and q.dtype.kind == "f":
        # (a target Tensor that requires grad gets its gradient, as in PyTorch)
        probs = target if isinstance(target, Tensor) else q.astype(x.dtype)
        if eps:
            probs = probs * (1 - eps) + eps / n_classes
        loss = ops.neg(ops.sum(ops.mul(weighted, probs), axis=axis))
        if reduction == "mean":
            return ops.div(ops.sum(loss), x.data.size // n_classes)
        return _reduce(loss, reduction)
    t = _indices(owner, target, x, axis, ignore_index)
    loss, w_n = _nll(logp, t, w, axis, ignore_index)
    nll = _weighted_mean(loss, w_n, reduction)
    if not eps:
        return nll
    keep = (t != ignore_index).astype(x.dtype)
    smooth = _weighted_mean(ops.mul(ops.sum(weighted, axis=axis), -keep), w_n, reduction)
    return ops.add(ops.mul(nll, 1 - eps), ops.mul(smooth, eps / n_classes))


# -- binary cross-entropy of probabilities: one op (PyTorch's clamps, and its gradient rule) ----
_LOG_FLOOR = -100.0  # PyTorch clamps each log at -100, so a probability of 0 or 1 is finite
_EPSILON = float(np.float32(1e-12))  # PyTorch's floor of x(1 - x) in the gradient (a float32)


def _clamped_logs(x: Any) -> tuple[Any, Any]:
    """``(max(ln x, -100), max(ln(1 - x), -100))`` of an array or a Tensor (recorded)."""
    if isinstance(x, Tensor):
        return (
            ops.clamp(ops.log(x), min=_LOG_FLOOR),
            ops.clamp(ops.log(ops.sub(1.0, x)), min=_LOG_FLOOR),
        )
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(x), _LOG_FLOOR), np.maximum(np.log(1.0 - x), _LOG_FLOOR)


def _bce(x: Any, y: Any, weight: Any = None, reduction: str = "mean") -> Any:
    r"""PyTorch's ``binary_cross_entropy``: $-w\,[y \log x + (1 - y)\log(1 - x)]$ of the
    probabilities ``x`` (in [0, 1]) and targets ``y`` (one shape), each log clamped at -100,
    then reduced.

    VJPs (PyTorch's): $\partial/\partial x = w\,(x - y) / \max(x(1 - x), 10^{-12})$,
    $\partial/\partial y = w\,(\log(1 - x) - \log x)$ (not clamped), times ``g`` spread
    back by the reduction.
    """
    if np.shape(x) != np.shape(y):
        raise ShapeError(
            f"binary_cross_entropy: target shape {np.shape(y)} differs from input shape "
            f"{np.shape(x)}"
        )
    if np.any((x < 0) | (x > 1)) or np.any(np.isnan(x)):
        raise InvalidArgumentError(
            f"binary_cross_entropy: the input of shape {np.shape(x)} must hold probabilities "
            f"in [0, 1]; for logits use binary_cross_entropy_with_logits"
        )
    log_x, log_rest = _clamped_logs(x)
    loss = -(y * log_x + (1.0 - y) * log_rest)
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    return np.mean(loss) if reduction == "mean" else np.sum(loss)


def _spread_back(g: Any, x: Any, weight: Any, reduction: str) -> Any:
    """``g`` as the gradient of each element's loss: spread over ``x``'s shape (divided by the
    count for "mean"), times ``weight``."""
    if reduction != "none":
        g = g / int(x.size) if reduction == "mean" else g
    return g if weight is None else g * weight


def _bce_vjp_x(g: Any, out: Any, x: Any, y: Any, weight: Any = None,
               reduction: str = "mean") -> Any:  # fmt: skip
    g = _spread_back(g, x, weight, reduction)
    if isinstance(g, Tensor) or isinstance(x, Tensor) or isinstance(y, Tensor):
        spread = ops.maximum(ops.mul(x, ops.sub(1.0, x)), _EPSILON)
        return ops.mul(g, ops.div(ops.sub(x, y), spread))
    return g * (x - y) / np.maximum(x * (1.0 - x), _EPSILON)


def _bce_vjp_y(g: Any, out: Any, x: Any, y: Any, weight: Any = None,
               reduction: str = "mean") -> Any:  # fmt: skip
    # (PyTorch's rule: the logs unclamped here, so ±inf at a probability of 0 or 1)
    return _spread_back(g, x, weight, reduction) * (ops.log_any(1.0 - x) - ops.log_any(x))


_bce_op = defop(
    "binary_cross_entropy",
    _bce,
    (_bce_vjp_x, _bce_vjp_y),
    draw=Draw("cost", ("unit", "probability"), opt_in=True),
    public=None,
    apply=lambda x, y, **params: binary_cross_entropy(x, y, **params),
)


def binary_cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    r"""$-w\,[y \log x + (1 - y)\log(1 - x)]$ of probabilities ``input`` in [0, 1] (e.g. a
    ``sigmoid``'s output) and targets ``target`` of the same shape, reduced; PyTorch's
    ``F.binary_cross_entropy``, with its clamp of each log at -100 (a probability of exactly
    0 or 1 gives a finite loss) and its gradient. ``weight`` broadcasts against the input.
    From logits, `binary_cross_entropy_with_logits()` is stable where this is not."""
    reduction = _check_reduction("binary_cross_entropy", reduction)
    x = as_tensor(input)
    y = target if isinstance(target, Tensor) else _raw(target).astype(x.dtype)
    w = None if weight is None else _raw(weight).astype(x.dtype)
    return _bce_op(x, y, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    r"""$-w\,[p\,y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))]$ of the logits ``x`` and
    targets ``y`` in [0, 1] (one shape), ``p`` the ``pos_weight`` (broadcast along the last
    axis: one per class).

    Computed as $(1 - y)x - (p y + 1 - y)\log\sigma(x)$ with $\log\sigma(x)$ a
    ``log_softmax`` of $(0, x)$: finite with exact gradients at any logit.
    """
    reduction = _check_reduction("binary_cross_entropy_with_logits", reduction)
    x = as_tensor(input)
    y: Any = _raw(target).astype(x.dtype)
    if y.shape != x.shape:
        raise ShapeError(
            f"binary_cross_entropy_with_logits: target shape {y.shape} differs from input "
            f"shape {x.shape}"
        )
    if isinstance(target, Tensor) and target.requires_grad:  # (its gradient, as in PyTorch)
        y = target if target.dtype == x.dtype else target.astype(x.dtype)
    pairs = ops.stack([np.zeros(x.shape, x.dtype), x], axis=-1)
    log_sigmoid = ops.getitem(ops.log_softmax(pairs, axis=-1), (..., 1))
    positive = 1.0 if pos_weight is None else _raw(pos_weight).astype(x.dtype)
    coefficient = y * positive + (1 - y)
    loss = ops.sub(ops.mul(x, 1 - y), ops.mul(log_sigmoid, coefficient))
    if weight is not None:
        loss = ops.mul(loss, _raw(weight).astype(x.dtype))
    return _reduce(loss, reduction)


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(type(self).__name__, reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    r"""Mean squared error $\frac1n\sum (x - y)^2$ (``"mean"``); see `mse_loss()`.

    PyTorch's mean over *every element*; the chapter's `quadratic_cost()`
    is $\frac12\sum\|y - a\|^2$ summed over the batch.
    """

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return mse_loss(input, target, self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities at class indices; see `nll_loss()`.
    ``weight`` (one per class) is a buffer, in the ``state_dict`` as in PyTorch."""

    weight: np.ndarray | None

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else _raw(weight))
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(NLLLoss):
    """Cross-entropy of logits against class indices or probabilities, with
    ``label_smoothing``; see [`cross_entropy()`][autograd_lite.nn.losses.cross_entropy]."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = number_in(
            "CrossEntropyLoss", "label_smoothing", label_smoothing, 0.0, 1.0
        )

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, stable at any logit; see
    `binary_cross_entropy_with_logits()`. ``weight`` and ``pos_weight`` are buffers."""

    weight: np.ndarray | None
    pos_weight: np.ndarray | None

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else _raw(weight))
        self.register_buffer("pos_weight", None if pos_weight is None else _raw(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; see `binary_cross_entropy()`.
    ``weight`` is a buffer. From logits, `BCEWithLogitsLoss` is stable where this is not."""

    weight: np.ndarray | None

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else _raw(weight))

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy(input, target, self.weight, self.reduction)
