"""Global recording modes: :func:`no_grad` and :func:`detect_anomaly`.

Both work as context managers and as decorators, and nest. The state is one small object that
ops read on every call, so it is kept deliberately plain.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled"]


class _Modes:
    __slots__ = ("grad_enabled", "anomaly", "recording")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.recording = False  # a replay is recording a graph (see autograd_lite.replay)


STATE = _Modes()


class _SetMode(contextlib.ContextDecorator):
    _attribute = ""
    _value = False

    def __new__(cls, func: Any = None) -> Any:
        mode = super().__new__(cls)
        # ``@no_grad`` without parentheses decorates directly, like ``@no_grad()``.
        return mode(func) if func is not None else mode

    def __enter__(self) -> None:
        # A stack, so that one instance used as a decorator can be re-entered recursively.
        self.__dict__.setdefault("_saved", []).append(getattr(STATE, self._attribute))
        setattr(STATE, self._attribute, self._value)

    def __exit__(self, *exc: object) -> None:
        setattr(STATE, self._attribute, self._saved.pop())


class no_grad(_SetMode):  # noqa: N801 - named like the PyTorch context manager users know
    """Do not record operations: results are plain tensors that do not require grad.

    Use as ``with al.no_grad(): ...`` or as a decorator ``@al.no_grad()``. Evaluation and
    parameter updates belong here: they are faster and keep the graph from growing.
    """

    _attribute = "grad_enabled"
    _value = False


class enable_grad(_SetMode):  # noqa: N801
    """Record operations again inside a :class:`no_grad` block."""

    _attribute = "grad_enabled"
    _value = True


class detect_anomaly(_SetMode):  # noqa: N801
    """Raise :class:`~autograd_lite.errors.AnomalyError` at the first op that makes NaN or inf.

    Every op's forward output, and every gradient computed in backward, is checked; the error
    names the op (e.g. ``log``), the input shapes and where the first bad value is. It costs a
    scan of every array, so use it to debug, not to train.
    """

    _attribute = "anomaly"
    _value = True


def is_grad_enabled() -> bool:
    """Whether ops are currently recorded."""
    return STATE.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether :class:`detect_anomaly` is active."""
    return STATE.anomaly
