r"""Learning-rate schedules: PyTorch's ``torch.optim.lr_scheduler`` semantics.

A scheduler changes ``group["lr"]`` of its optimizer's groups. Build it after the optimizer
(it records each group's ``initial_lr``, and sets the lr of epoch 0); call
``scheduler.step()`` *after* ``optimizer.step()``, once per epoch (or per batch, as you
schedule); `LRScheduler.get_last_lr()` is the lr of each group now. Each scheduler has a
``state_dict()``/``load_state_dict()`` (everything but the optimizer) to resume with.

=======================  ==============================================================
``StepLR``               $\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}$
``ExponentialLR``        $\eta_t = \eta_0\,\gamma^t$
``CosineAnnealingLR``    $\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})
                         \frac{1 + \cos(\pi t / T_{\max})}{2}$
``ReduceLROnPlateau``    $\eta \leftarrow \max(f\eta, \eta_{\min})$ after
                         ``patience`` epochs without improvement of a metric
=======================  ==============================================================

As in PyTorch, the first three update the lr *recursively* from the group's current lr
(so a change made by hand, or by another scheduler, carries on); the closed forms above are
what they give when nothing else touches the lr.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from autograd_lite.errors import InvalidInputError, TrainingError
from autograd_lite.optim.optimizer import Optimizer, count, number

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _check_optimizer(owner: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise InvalidInputError(
            f"{owner}: optimizer must be an autograd_lite.optim optimizer, got "
            f"{type(optimizer).__name__}"
        )
    return optimizer


class _Resumable:
    """What every scheduler shares: its last lrs, and saving and resuming its state."""

    _last_lr: list[float]

    def get_last_lr(self) -> list[float]:
        """The lr of each group after the last `step()`."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (resume with `load_state_dict()`)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from `state_dict()`."""
        unknown = set(state_dict) - set(self.__dict__)
        if unknown:
            raise TrainingError(
                f"{type(self).__name__}.load_state_dict: unknown keys {sorted(unknown)}"
            )
        self.__dict__.update(state_dict)


class LRScheduler(_Resumable):
    """The base of the epoch-indexed schedulers: ``last_epoch``, ``step()``,
    ``get_last_lr()``, ``state_dict()``.

    Parameters
    ----------
    optimizer : Optimizer
        Whose groups' ``lr`` this scheduler sets.
    last_epoch : int, default -1
        The index of the last epoch when resuming; -1 starts afresh (and records each group's
        ``initial_lr``, which a resumed scheduler requires).
    """

    _initial = False  # True during the constructor's step

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        self.optimizer = _check_optimizer(name, optimizer)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise TrainingError(f"{name}: last_epoch must be an int >= -1, got {last_epoch!r}")
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise TrainingError(
                        f"{name}: resuming at last_epoch={last_epoch} needs 'initial_lr' in "
                        f"parameter group {i}; build the scheduler with last_epoch=-1 first"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._optimizer_steps = optimizer._step_count
        self._step_count = 0
        self._initial = True  # PyTorch's initial step: epoch last_epoch + 1, the lr kept
        self.step()
        del self._initial

    def get_lr(self) -> list[float]:
        """The lr of each group for ``last_epoch``, from the current ones (PyTorch's
        recursive form)."""
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch and set each group's lr (call it after
        ``optimizer.step()``)."""
        self._step_count += 1
        if self._step_count == 2 and self.optimizer._step_count == self._optimizer_steps:
            warnings.warn(
                f"{type(self).__name__}.step() was called before optimizer.step(): the first "
                "lr of the schedule is skipped. Call optimizer.step() first, then "
                "scheduler.step() (PyTorch's order).",
                UserWarning,
                stacklevel=2,
            )
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every ``step_size`` epochs:
    $\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}$.

    Examples
    --------
    >>> from autograd_lite import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1, seed=0).parameters(), lr=0.1)
    >>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     opt.step()
    ...     lrs.append(sched.get_last_lr()[0])
    ...     sched.step()
    >>> lrs
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        size = count("StepLR", "step_size", step_size)
        if size is None:
            raise TrainingError("StepLR: step_size must be a positive int, got None")
        self.step_size = size
        self.gamma = number(0.0)("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's lr by ``gamma`` every epoch: $\eta_t = \eta_0 \gamma^t$."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = number(0.0)("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from each group's initial lr $\eta_0$ down to ``eta_min``
    over ``T_max`` epochs (SGDR without restarts; it rises again after ``T_max``, as in
    PyTorch): $\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})(1 + \cos(\pi t/T_{\max}))/2$.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        t_max = count("CosineAnnealingLR", "T_max", T_max)
        if t_max is None:
            raise TrainingError("CosineAnnealingLR: T_max must be a positive int, got None")
        self.T_max = t_max
        self.eta_min = number(0.0)("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, t, T, low = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._initial:
            return [group["lr"] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:  # the bottom of a cycle: climb back by the first step
            return [
                group["lr"] + (base - low) * (1 - math.cos(math.pi / T)) / 2
                for base, group in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - low) + low for group in groups]


class ReduceLROnPlateau(_Resumable):
    r"""Reduce each group's lr by ``factor`` when a metric has stopped improving for
    ``patience`` epochs: PyTorch's ``ReduceLROnPlateau``; ``step(metric)`` after each
    validation.

    Parameters
    ----------
    optimizer : Optimizer
        Whose groups' lr it reduces.
    mode : {"min", "max"}, default "min"
        Whether the metric improves by going down (a loss) or up (an accuracy).
    factor : float, default 0.1
        $f$ in (0, 1): the new lr is $\max(f\eta, \eta_{\min})$.
    patience : int, default 10
        Epochs without improvement tolerated; the lr is reduced at the next one.
    threshold : float, default 1e-4
        What counts as an improvement: better than ``best * (1 -+ threshold)`` ("rel") or
        ``best -+ threshold`` ("abs").
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    min_lr : float or list of float, default 0
        The lowest lr of every group, or of each group.
    eps : float, default 1e-8
        A reduction smaller than this is not made.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        self.optimizer = _check_optimizer(name, optimizer)
        self.factor = number(0.0, 1.0, open_high=True)(name, "factor", factor)
        if mode not in ("min", "max"):
            raise TrainingError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise TrainingError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        groups = optimizer.param_groups
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise TrainingError(
                    f"{name}: expected {len(groups)} min_lr value(s), one per group, got "
                    f"{len(min_lr)}"
                )
            self.min_lrs = [number()(name, f"min_lr[{i}]", v) for i, v in enumerate(min_lr)]
        else:
            self.min_lrs = [number()(name, "min_lr", min_lr)] * len(groups)
        for key, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TrainingError(f"{name}: {key} must be an int >= 0, got {value!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.patience, self.cooldown = patience, cooldown
        self.threshold = number()(name, "threshold", threshold)
        self.eps = number()(name, "eps", eps)
        self.cooldown_counter = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in groups]

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics: Any) -> None:
        """Record this epoch's metric; reduce the lr if it has not improved for more than
        ``patience`` epochs."""
        try:
            current = float(metrics)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(
                f"ReduceLROnPlateau.step: the metric must be a number, got {metrics!r}"
            ) from error
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
