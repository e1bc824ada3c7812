"""Recording modes: :func:`no_grad`, :func:`enable_grad` and :func:`detect_anomaly`, per thread.

They work as context managers and as decorators, and nest. Like PyTorch's grad mode, a mode
belongs to the thread that set it: a ``no_grad`` block in one thread does not stop another
thread's recording, and a new thread starts with grad enabled, anomaly detection off, no replay
recording and no ``al.grad`` running, whatever the others are doing.

The modes live in a :class:`contextvars.ContextVar` (each thread has its own context, and so
does each asyncio task; a context copied by ``asyncio.to_thread`` starts with the modes in force
when it was copied). Its value is an immutable frame: entering a mode pushes a new frame, leaving
it restores that mode from the frame below, so nothing is shared that another thread could
change. Ops read the frame on every call: one ``ContextVar.get`` and two attribute reads, a few
tens of nanoseconds, where a ``threading.local`` attribute costs about a hundred each.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled"]


class _Modes:
    """One frame of the modes; ``previous`` is the frame that was current when a block opened."""

    __slots__ = ("grad_enabled", "anomaly", "recording", "depth", "previous")

    def __init__(
        self,
        grad_enabled: bool = True,
        anomaly: bool = False,
        recording: bool = False,  # a replay is recording a graph (see autograd_lite.replay)
        depth: int = 0,  # how many al.grad evaluations are running (see autograd_lite.functional)
        previous: _Modes | None = None,
    ) -> None:
        self.grad_enabled = grad_enabled
        self.anomaly = anomaly
        self.recording = recording
        self.depth = depth
        self.previous = previous

    def _with(self, name: str, value: Any, previous: _Modes | None) -> _Modes:
        frame = _Modes(self.grad_enabled, self.anomaly, self.recording, self.depth, previous)
        setattr(frame, name, value)
        return frame


#: The modes of a thread (or task) that has set none.
DEFAULT = _Modes()
#: The current frame: ``CURRENT.get(DEFAULT)`` (what the ops read on every call).
CURRENT: ContextVar[_Modes] = ContextVar("autograd_lite_modes")


def _field(name: str) -> property:
    def read(self: _State) -> Any:
        return getattr(CURRENT.get(DEFAULT), name)

    def write(self: _State, value: Any) -> None:
        frame = CURRENT.get(DEFAULT)
        CURRENT.set(frame._with(name, value, frame.previous))

    return property(read, write)


class _State:
    """The current thread's modes by attribute: ``STATE.grad_enabled``, ``STATE.recording = True``.

    Setting an attribute changes it for this thread (and context) only.
    """

    __slots__ = ()
    grad_enabled = _field("grad_enabled")
    anomaly = _field("anomaly")
    recording = _field("recording")
    depth = _field("depth")


STATE = _State()


class _SetMode(contextlib.ContextDecorator):
    _attribute = ""
    _value = False

    def __new__(cls, func: Any = None) -> Any:
        mode = super().__new__(cls)
        # ``@no_grad`` without parentheses decorates directly, like ``@no_grad()``.
        return mode(func) if func is not None else mode

    def __enter__(self) -> None:
        # The value to restore stays in the frame below, not on the instance: one instance
        # (``@no_grad()`` on a method) may be entered recursively and by several threads at once.
        frame = CURRENT.get(DEFAULT)
        CURRENT.set(frame._with(self._attribute, self._value, frame))

    def __exit__(self, *exc: object) -> None:
        frame = CURRENT.get(DEFAULT)
        below = frame.previous
        saved = getattr(below, self._attribute)
        CURRENT.set(frame._with(self._attribute, saved, below.previous))


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
    return CURRENT.get(DEFAULT).grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether :class:`detect_anomaly` is active."""
    return CURRENT.get(DEFAULT).anomaly
