r"""The base of every optimizer: parameter groups, per-parameter state, ``state_dict``.

PyTorch's contract (``torch.optim.Optimizer``): an optimizer holds ``param_groups``, a list of
dicts each with its ``"params"`` and its own hyper-parameters, and ``state``, a dict from each
parameter to its buffers (momentum, moment estimates, step count). ``step()`` reads every
parameter's ``.grad`` and updates ``.data`` in place; a parameter whose ``.grad`` is None is
skipped. ``state_dict()`` names the parameters by their position (0, 1, ... over the groups in
order), so it can be loaded into a new optimizer built over other tensors of the same shapes:

.. code-block:: text

    {"state": {0: {"momentum_buffer": array}, ...},
     "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1]}, ...]}

Hyper-parameters are checked once, when a group is made (the constructor,
`Optimizer.add_param_group()`, `Optimizer.load_state_dict()`), never at each step: a
bad one raises [`TrainingError`][autograd_lite.errors.TrainingError] (a ``ValueError``), or
`InvalidInputError` (a ``TypeError``) for something that is not a
number, naming the optimizer, the hyper-parameter and the value. Schedulers and users may
change ``group["lr"]`` between steps, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from autograd_lite.errors import (
    CheckpointError,
    InvalidGradientError,
    InvalidInputError,
    TrainingError,
)
from autograd_lite.tensor import Tensor

__all__ = ["Optimizer", "check_learning_rate"]

#: A hyper-parameter's check: ``(optimizer name, hyper-parameter name, value) -> value``.
Check = Callable[[str, str, Any], Any]

_REAL = (int, float, np.integer, np.floating)
#: Keys a PyTorch optimizer's ``state_dict`` has in its groups that only choose an
#: implementation (foreach, fused ...): dropped on load when off.
_TORCH_IMPLEMENTATION_KEYS = ("foreach", "fused", "differentiable", "capturable")


def check_learning_rate(
    value: Any, name: str = "lr (the learning rate η)", owner: str = "SGD"
) -> float:
    """``value`` as a float, if it is a finite positive real number: a learning rate (``lr``
    here, the chapter's η in [`autograd_lite.nielsen`][autograd_lite.nielsen]).

    Raises
    ------
    TrainingError
        If it is 0, negative, NaN or inf.
    InvalidInputError
        If it is not a real number (a bool, a string, None ...).
    """
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise InvalidInputError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    rate = float(value)
    if not (math.isfinite(rate) and rate > 0):
        raise TrainingError(f"{owner}: {name} must be a positive finite number, got {rate}")
    return rate


def learning_rate(owner: str, name: str, value: Any) -> float:
    """The `Check` of ``lr``: `check_learning_rate()`."""
    return check_learning_rate(value, name, owner)


def number(low: float = 0.0, high: float = math.inf, *, open_high: bool = False) -> Check:
    """A `Check` for a finite real number in ``[low, high]`` (``[low, high)`` with
    ``open_high``)."""

    def check(owner: str, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, _REAL):
            raise InvalidInputError(f"{owner}: {name} must be a number, got {value!r}")
        x = float(value)
        inside = low <= x and (x < high if open_high else x <= high)
        if not (inside and math.isfinite(x)):
            interval = f"[{low}, {high})" if open_high else f"[{low}, {high}]"
            raise TrainingError(f"{owner}: {name} must be a finite number in {interval}, got {x}")
        return x

    return check


def flag(owner: str, name: str, value: Any) -> bool:
    """The `Check` of an on/off option: a bool (or NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def count(owner: str, name: str, value: Any) -> int | None:
    """The `Check` of an optional positive int (None allowed)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise InvalidInputError(f"{owner}: {name} must be a positive int, got {value!r}")
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise TrainingError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def betas(owner: str, name: str, value: Any) -> tuple[float, float]:
    """The `Check` of Adam's ``betas``: two numbers, each in [0, 1)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{owner}: {name} must be a pair (beta1, beta2), got {value!r}")
    pair = tuple(value)
    if len(pair) != 2:
        raise TrainingError(f"{owner}: {name} must be a pair (beta1, beta2), got {value!r}")
    unit = number(0.0, 1.0, open_high=True)
    return unit(owner, f"{name}[0]", pair[0]), unit(owner, f"{name}[1]", pair[1])


def _grad_array(owner: str, p: Tensor, grad: Any) -> np.ndarray:
    """The gradient of ``p`` as an array of its shape (the rare cases, off the fast path)."""
    if isinstance(grad, Tensor):  # from backward(create_graph=True): used by value
        grad = grad.data
    grad = np.asarray(grad)
    if grad.shape != p.data.shape:
        raise InvalidGradientError(
            f"{owner}.step: a parameter of shape {p.shape} has a gradient of shape {grad.shape}"
        )
    return grad


class Optimizer:
    """The base class: parameter groups, state, ``zero_grad``, ``step``, ``state_dict``.

    A subclass sets `hyper` (each hyper-parameter and its check), `state_keys`
    (the buffers of its per-parameter state) and writes `_update()`, the update of one
    group; everything else is here.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The leaf tensors to update (e.g. ``model.parameters()``), or parameter groups: dicts
        with a ``"params"`` list and any hyper-parameters that override ``defaults`` for them.
    defaults : dict
        Every hyper-parameter's value for the groups that do not set it.

    Attributes
    ----------
    param_groups : list of dict
        Each with ``params`` and every hyper-parameter; change ``lr`` here (or with a
        scheduler of `autograd_lite.optim.lr_scheduler`) between steps.
    state : dict
        Parameter -> its buffers (``{"step": 3, "exp_avg": array, ...}``), made at its first
        step.
    defaults : dict
        The hyper-parameters given to the constructor.
    """

    #: Hyper-parameter -> its check (learning_rate, number(...), flag ...), in display order.
    hyper: ClassVar[dict[str, Check]] = {"lr": learning_rate}
    #: The names a parameter's state may hold (``state_dict``/``load_state_dict``).
    state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        name = type(self).__name__
        self.defaults = {k: self.hyper[k](name, k, v) for k, v in defaults.items()}
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[int, tuple[list[Tensor], int, list[list[Any]]]] = {}
        self._step_count = 0
        if isinstance(params, Tensor):
            raise InvalidInputError(
                f"{name}: params must be an iterable of tensors, got a single Tensor; "
                "write [tensor]"
            )
        if isinstance(params, Mapping):
            params = [params]
        items = list(params)
        if not items:
            raise TrainingError(f"{name}: got an empty parameter list")
        if all(isinstance(item, Mapping) for item in items):
            groups = items
        elif any(isinstance(item, Mapping) for item in items):
            raise InvalidInputError(f"{name}: params mixes tensors and parameter-group dicts")
        else:
            groups = [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ----------------------------------------------------------------------------
    def _checked_group(self, g: int, group: Mapping[str, Any], seen: set[int]) -> dict[str, Any]:
        name = type(self).__name__
        if not isinstance(group, Mapping):
            raise InvalidInputError(f"{name}: parameter group {g} must be a dict, got {group!r}")
        unknown = set(group) - {"params", "initial_lr", *self.hyper}
        if unknown:
            raise TrainingError(
                f"{name}: parameter group {g} has unknown keys {sorted(unknown)}; allowed: "
                f"params, {', '.join(self.hyper)}"
            )
        if "params" not in group:
            raise TrainingError(f"{name}: parameter group {g} has no 'params'")
        raw = group["params"]
        tensors = [raw] if isinstance(raw, Tensor) else list(raw)
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise InvalidInputError(
                    f"{name}: parameter {i} of group {g} is a {type(p).__name__}, not a Tensor"
                )
            if not p.is_leaf:
                raise TrainingError(
                    f"{name}: parameter {i} of group {g} (shape {p.shape}, made by "
                    f"'{p.op}') is not a leaf; pass the leaf tensors themselves, such as "
                    f"nn.Parameter objects"
                )
            if id(p) in seen:
                raise TrainingError(
                    f"{name}: parameter {i} of group {g} (shape {p.shape}) appears more than "
                    "once (in this group or an earlier one)"
                )
            seen.add(id(p))
        made: dict[str, Any] = {"params": tensors}
        for key, check in self.hyper.items():  # the defaults were checked by the constructor
            made[key] = (
                check(name, f"{key} of parameter group {g}", group[key])
                if key in group
                else self.defaults[key]
            )
        if "initial_lr" in group:
            made["initial_lr"] = float(group["initial_lr"])
        self._check_options(made, f" of parameter group {g}")
        return made

    def _check_options(self, group: dict[str, Any], where: str) -> None:
        """Checks between a group's hyper-parameters (Nesterov needs momentum ...)."""

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the others from
        ``defaults``), as when unfreezing layers while training."""
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        self.param_groups.append(self._checked_group(len(self.param_groups), param_group, seen))

    def parameters(self) -> list[Tensor]:
        """Every parameter, group by group."""
        return [p for group in self.param_groups for p in group["params"]]

    # -- the step --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` before the next backward: set it to None
        (the default, as in PyTorch), or with ``set_to_none=False`` fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None or set_to_none:
                    p.grad = None
                elif isinstance(grad, np.ndarray) and grad.flags.writeable:
                    grad.fill(0)
                else:  # a Tensor from create_graph=True, or a read-only array
                    p.grad = np.zeros_like(p.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (PyTorch's contract: it runs with
            gradients enabled, before the update); its result is returned.
        """
        loss = None
        if closure is not None and not callable(closure):
            raise InvalidInputError(
                f"{type(self).__name__}.step: closure must be a function returning the loss, "
                f"got {closure!r} (SGD's mini-batch size is step(batch_size=m))"
            )
        if closure is not None:
            from autograd_lite.modes import enable_grad

            with enable_grad():
                loss = closure()
        self._step_count += 1
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _records(self, group: dict[str, Any]) -> list[list[Any]]:
        """``[p, w, tmp, gbuf]`` for each parameter of ``group``: ``w`` is ``p.data`` (made
        writable), ``tmp`` and ``gbuf`` scratch arrays shaped like it, made once (not in the
        state: their values do not outlive a step). A step checks ``record[0] is p`` and
        ``record[1] is p.data``, and calls `_refresh()` if not (a parameter replaced in the
        group, or its ``.data`` rebound)."""
        params = group["params"]
        cached = self._scratch.get(id(group))
        if cached is None or cached[0] is not params or cached[1] != len(params):
            if cached is None and len(self._scratch) >= len(self.param_groups):
                live = {id(g) for g in self.param_groups}  # forget groups no longer here
                self._scratch = {k: v for k, v in self._scratch.items() if k in live}
            cached = self._scratch[id(group)] = (params, len(params),
                                                 [self._record(p) for p in params])  # fmt: skip
        return cached[2]

    @staticmethod
    def _record(p: Tensor) -> list[Any]:
        w = p.data
        if not w.flags.writeable:  # e.g. an array loaded read-only: updated as a copy
            w = p.data = w.copy()
        return [p, w, np.empty_like(w), np.empty_like(w)]

    def _with_gradients(
        self, group: dict[str, Any]
    ) -> Iterator[tuple[Tensor, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``(p, p.data, scratch, scratch, gradient array)`` for each parameter of ``group`` that
        has a gradient: the walk every step shares (a record is remade when ``p`` or its
        ``.data`` was replaced; a gradient that is not an array of ``p``'s shape is converted
        or refused)."""
        records, name = self._records(group), type(self).__name__
        for i, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            record = records[i]
            if record[0] is not p or record[1] is not p.data:
                record = self._refresh(records, i, p)
            _, w, tmp, gbuf = record
            if type(grad) is not np.ndarray or grad.shape != w.shape:
                grad = _grad_array(name, p, grad)
            yield p, w, tmp, gbuf, grad

    def _refresh(self, records: list[list[Any]], i: int, p: Tensor) -> list[Any]:
        """The record of ``p``, parameter ``i`` of a group, made anew."""
        record = records[i] = self._record(p)
        return record

    # -- saving and resuming ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, parameters named by position:
        ``{"state": {index: {name: array or int}}, "param_groups": [{..., "params": [index,
        ...]}]}``. Arrays are copies: later steps do not change a saved state dict."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = ids
            groups.append(saved)
        state = {}
        for p, buffers in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {
                    k: v.copy() if isinstance(v, np.ndarray) else v for k, v in buffers.items()
                }
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume from `state_dict()` (this optimizer's or another's over parameters of
        the same shapes; a PyTorch optimizer's, its tensors turned into arrays, loads too).

        The groups' hyper-parameters become the saved ones; the arrays are copied (cast to
        each parameter's dtype). Everything is checked before anything changes.

        Raises
        ------
        CheckpointError
            If the groups or their sizes differ, a state names an unknown parameter or
            buffer, or a buffer's shape is not its parameter's.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise CheckpointError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups', "
                f"got {type(state_dict).__name__}"
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise CheckpointError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                f"group(s), this optimizer {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = list(saved.get("params", ()))
            if len(ids) != len(group["params"]):
                raise CheckpointError(
                    f"{name}.load_state_dict: parameter group {g} has {len(ids)} parameter(s) "
                    f"in the state dict, {len(group['params'])} here"
                )
            by_index.update(zip((int(i) for i in ids), group["params"]))
            options = {k: v for k, v in saved.items() if k != "params"}
            for key in _TORCH_IMPLEMENTATION_KEYS:
                if not options.get(key, False):
                    options.pop(key, None)
            try:
                groups.append(self._checked_group(g, {**options, "params": []}, set()))
            except (TrainingError, InvalidInputError) as error:
                raise CheckpointError(f"{name}.load_state_dict: {error}") from error
            groups[-1]["params"] = group["params"]
        state: dict[Tensor, dict[str, Any]] = {}
        for key, buffers in dict(state_dict["state"]).items():
            p = by_index.get(int(key))
            if p is None:
                raise CheckpointError(
                    f"{name}.load_state_dict: state for parameter {key}, which no group has"
                )
            state[p] = self._loaded_state(int(key), p, buffers)
        self.param_groups[:] = groups
        self.state = state
        self._scratch.clear()

    def _loaded_state(self, key: int, p: Tensor, buffers: Mapping[str, Any]) -> dict[str, Any]:
        name = type(self).__name__
        loaded: dict[str, Any] = {}
        for k, v in dict(buffers).items():
            if k not in self.state_keys:
                raise CheckpointError(
                    f"{name}.load_state_dict: parameter {key} has state {k!r}; {name} keeps "
                    f"{', '.join(self.state_keys)}"
                )
            if v is None:  # PyTorch's SGD keeps momentum_buffer=None without momentum
                continue
            if k == "step":
                step = float(np.asarray(v))
                if not (step >= 0 and step == int(step)):
                    raise CheckpointError(
                        f"{name}.load_state_dict: parameter {key} has step {step}, not a count"
                    )
                loaded[k] = int(step)
                continue
            array = np.asarray(v)
            if array.shape != p.data.shape:
                raise CheckpointError(
                    f"{name}.load_state_dict: parameter {key}'s {k!r} has shape {array.shape}, "
                    f"the parameter {p.data.shape}"
                )
            loaded[k] = np.array(array, dtype=p.data.dtype, copy=True)
        return loaded

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i} ({len(group['params'])} tensor(s))")
            for key in (*self.hyper, "initial_lr"):
                if key in group:
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines + [")"])
