r"""Stochastic gradient descent, written so that it is Nielsen's update rule exactly.

The costs of :mod:`autograd_lite.costs` *sum* over the mini-batch by default, so after
``cost.backward()`` a parameter's ``.grad`` is :math:`\sum_x \nabla C_x`. Nielsen's step divides
that sum by the mini-batch size :math:`m`; here :math:`m` is passed to :meth:`SGD.step` (or fixed
once with ``SGD(..., batch_size=m)``), and ``lr`` is the chapter's :math:`\eta`:

.. math:: w \to w - \frac{\eta}{m} \sum_x \nabla C_x \qquad \text{(chapter 1, eq. 20)}

With a cost built with ``reduction="mean"`` the gradient is already the average: call
``step()`` without ``batch_size``. With ``weight_decay`` :math:`\lambda` and the training-set
size ``n``, the step is network2's L2-regularized rule (chapter 3, eq. 93):

.. math:: w \to \left(1 - \frac{\eta\lambda}{n}\right) w - \frac{\eta}{m} \sum_x \nabla C_x

Nielsen decays the weights but not the biases: give them separate *parameter groups*
(``SGD([{"params": weights, "weight_decay": lmbda}, {"params": biases}], lr=eta, n=n)``), or let
:func:`l2_groups` split a module's parameters that way.
With ``momentum`` :math:`\mu` each parameter keeps a velocity :math:`v` (chapter 3):

.. math:: v \to \mu v - \eta \nabla C, \qquad w \to w + v,

where :math:`\nabla C = \frac1m \sum_x \nabla C_x + \frac{\lambda}{n} w` (the second term only for
decayed parameters). With :math:`\mu = 0` this is the rule above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_lite.errors import InvalidInputError, TrainingError
from autograd_lite.modes import no_grad
from autograd_lite.tensor import Tensor

__all__ = ["SGD", "l2_groups", "check_learning_rate"]

_GROUP_KEYS = ("lr", "momentum", "weight_decay", "n")


def _check_number(name: str, value: Any, *, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"SGD: {name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not (low <= value <= high) or not math.isfinite(value):
        raise ValueError(f"SGD: {name} must lie in [{low}, {high}], got {value}")
    return value


def check_learning_rate(value: Any, name: str = "lr (the learning rate η)") -> float:
    """``value`` as a float, if it is a finite positive real number: a learning rate (``lr``
    here, the chapter's η in :mod:`autograd_lite.nielsen`).

    Raises
    ------
    TrainingError
        If it is 0, negative, NaN or inf.
    InvalidInputError
        If it is not a real number (a bool, a string, None ...).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"SGD: {name} must be a number, got {type(value).__name__}")
    rate = float(value)
    if not (math.isfinite(rate) and rate > 0):
        raise TrainingError(f"SGD: {name} must be a positive finite number, got {rate}")
    return rate


def _check_count(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"SGD: {name} must be a positive int, got {value!r}")
    return int(value)


def l2_groups(module: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Parameter groups that decay a module's weights but not its biases, as network2 does.

    Weights are the parameters with two or more dimensions (``Linear.weight``); the rest (the
    biases, and any other vector or scalar) get ``weight_decay=0``. Empty groups are left out.

    Examples
    --------
    >>> from autograd_lite import nn, optim
    >>> net = nn.Sequential(nn.Linear(784, 30), nn.Sigmoid(), nn.Linear(30, 10), nn.Sigmoid())
    >>> opt = optim.SGD(optim.l2_groups(net, 5.0), lr=0.5, n=50_000)
    >>> [len(group["params"]) for group in opt.param_groups]
    [2, 2]
    """
    weights, others = [], []
    for p in module.parameters():
        (weights if p.ndim >= 2 else others).append(p)
    groups = [
        {"params": weights, "weight_decay": weight_decay},
        {"params": others, "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


class SGD:
    r"""Mini-batch stochastic gradient descent with optional momentum and L2 weight decay.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The leaf tensors to update (e.g. ``model.parameters()``; frozen ones, with
        ``requires_grad=False``, never get a gradient and are left alone), or
        parameter groups: dicts with a ``"params"`` list and any of ``"lr"``, ``"momentum"``,
        ``"weight_decay"``, ``"n"`` overriding the defaults below for that group.
    lr : float
        The learning rate :math:`\eta`, a positive finite number (else ``TrainingError``).
    momentum : float, default 0
        The momentum coefficient :math:`\mu` in [0, 1] (1 - :math:`\mu` is the "friction").
    weight_decay : float, default 0
        The L2 regularization parameter :math:`\lambda` (the chapter's ``lmbda``).
    batch_size : int, optional
        The mini-batch size :math:`m` to divide a summed gradient by, when every step uses
        the same one; ``step(batch_size=m)`` overrides it. None: the gradient is used as it is
        (a ``reduction="mean"`` cost, or :math:`m = 1`).
    n : int, optional
        The training-set size :math:`n` in network2's shrink factor
        :math:`1 - \eta\lambda/n`. None means 1: then ``weight_decay`` is the per-step
        coefficient, as in PyTorch (:math:`w \to w - \eta(\lambda w + \nabla C)`).

    Attributes
    ----------
    param_groups : list of dict
        Each with ``params`` and its ``lr``, ``momentum``, ``weight_decay``, ``n``; change
        ``lr`` here to schedule the learning rate.
    velocity : dict
        The momentum velocity :math:`v` of each parameter (created at its first step).

    Examples
    --------
    Nielsen's ``update_mini_batch`` on a model ``net`` with a summed cost:

    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn, optim
    >>> net = nn.Sequential(nn.Linear(2, 1, seed=0), nn.Sigmoid())
    >>> opt = optim.SGD(net.parameters(), lr=3.0)
    >>> X, Y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [0.0]])
    >>> opt.zero_grad()
    >>> al.quadratic_cost(net(X), Y).backward()
    >>> opt.step(batch_size=len(X))          # w <- w - (eta/m) sum_x grad C_x
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        batch_size: int | None = None,
        n: int | None = None,
    ) -> None:
        defaults = {
            "lr": check_learning_rate(lr),
            "momentum": _check_number("momentum", momentum, high=1.0),
            "weight_decay": _check_number("weight_decay", weight_decay),
            "n": _check_count("n", n),
        }
        self.defaults = defaults
        self.batch_size = _check_count("batch_size", batch_size)
        if isinstance(params, Tensor):
            raise TypeError("SGD: params must be an iterable of tensors, got a single Tensor")
        items = list(params)
        if not items:
            raise ValueError("SGD: got an empty parameter list")
        if all(isinstance(item, dict) for item in items):
            groups = items
        elif any(isinstance(item, dict) for item in items):
            raise TypeError("SGD: params mixes tensors and parameter-group dicts")
        else:
            groups = [{"params": items}]
        self.param_groups: list[dict[str, Any]] = []
        seen: set[int] = set()
        for g, group in enumerate(groups):
            self.param_groups.append(self._make_group(g, group, defaults, seen))
        self.velocity: dict[Tensor, np.ndarray] = {}

    @staticmethod
    def _make_group(
        g: int, group: dict[str, Any], defaults: dict[str, Any], seen: set[int]
    ) -> dict[str, Any]:
        unknown = set(group) - {"params", *_GROUP_KEYS}
        if unknown:
            raise ValueError(
                f"SGD: parameter group {g} has unknown keys {sorted(unknown)}; allowed: "
                f"params, {', '.join(_GROUP_KEYS)}"
            )
        if "params" not in group:
            raise ValueError(f"SGD: parameter group {g} has no 'params'")
        raw = group["params"]
        tensors = [raw] if isinstance(raw, Tensor) else list(raw)
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"SGD: parameter {i} of group {g} is a {type(p).__name__}, not a Tensor"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"SGD: parameter {i} of group {g} (shape {p.shape}, made by "
                    f"'{p.op}') is not a leaf; pass the leaf tensors themselves, such as "
                    f"nn.Parameter objects"
                )
            if id(p) in seen:
                raise ValueError(
                    f"SGD: parameter {i} of group {g} (shape {p.shape}) appears more than once"
                )
            seen.add(id(p))
        made = {"params": tensors}
        made["lr"] = check_learning_rate(group.get("lr", defaults["lr"]))
        made["momentum"] = _check_number(
            "momentum", group.get("momentum", defaults["momentum"]), high=1.0
        )
        made["weight_decay"] = _check_number(
            "weight_decay", group.get("weight_decay", defaults["weight_decay"])
        )
        made["n"] = _check_count("n", group.get("n", defaults["n"]))
        return made

    def parameters(self) -> list[Tensor]:
        """Every parameter, group by group."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        """Clear every parameter's ``.grad`` (set it to None) before the next backward."""
        for p in self.parameters():
            p.grad = None

    @no_grad()
    def step(self, batch_size: int | None = None) -> None:
        r"""Update every parameter that has a gradient, in place.

        Parameters
        ----------
        batch_size : int, optional
            :math:`m`: ``.grad`` holds :math:`\sum_x \nabla C_x` over this many samples (a
            cost with the default ``reduction="sum"``) and is divided by it. Defaults to the
            ``batch_size`` given to the constructor; with neither, ``.grad`` is used as it is.

        Notes
        -----
        Parameters whose ``.grad`` is None (unused in the last backward) are skipped: no
        decay, no momentum. The arithmetic for :math:`\mu = 0` is network2's, term by term:
        ``w *= 1 - lr * weight_decay / n`` then ``w -= (lr / m) * grad``.
        """
        m = _check_count("batch_size", batch_size) or self.batch_size or 1
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            decay = group["weight_decay"] / (group["n"] or 1)
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if isinstance(grad, Tensor):  # from backward(create_graph=True)
                    grad = grad.data
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"SGD.step: a parameter of shape {p.shape} has a gradient of shape "
                        f"{grad.shape}"
                    )
                if not p.data.flags.writeable:
                    p.data = p.data.copy()
                w = p.data
                if mu == 0.0:
                    if decay:
                        w *= 1.0 - lr * decay
                    w -= (lr / m) * grad
                    continue
                v = self.velocity.get(p)
                if v is None:
                    v = self.velocity[p] = np.zeros_like(w)
                v *= mu
                v -= (lr / m) * grad
                if decay:
                    v -= (lr * decay) * w
                w += v

    def __repr__(self) -> str:
        parts = []
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={group[k]}" for k in _GROUP_KEYS)
            parts.append(f"  group {i}: {len(group['params'])} tensor(s), {settings}")
        return "SGD(\n" + "\n".join(parts) + "\n)"
