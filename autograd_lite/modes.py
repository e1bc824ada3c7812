"""Recording modes: `no_grad()`, `enable_grad()` and `detect_anomaly()`, per thread.

They work as context managers and as decorators, and nest. Like PyTorch's grad mode, a mode
belongs to the thread that set it: a ``no_grad`` block in one thread does not stop another
thread's recording, and a new thread starts with grad enabled, anomaly detection off, no replay
recording and no ``al.grad`` running, whatever the others are doing.

The modes live in a `contextvars.ContextVar` (each thread has its own context, and so
does each asyncio task; a context copied by ``asyncio.to_thread`` starts with the modes in force
when it was copied). Its value is an immutable frame: a mode change sets a new frame, so nothing
is shared that another thread could change. A block restores, when it exits, the value its mode
had when it entered (kept per thread: one instance, ``@no_grad()`` on a method, may be entered
recursively and by several threads at once). Ops read the frame on every call: one
``ContextVar.get`` and two attribute reads, a few tens of nanoseconds, where a
``threading.local`` attribute costs about a hundred each.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np

from autograd_lite.errors import AnomalyError, InvalidArgumentError

__all__ = [
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "check_finite",
]


class _Modes:
    """The modes in force: one immutable frame (a change makes a new one)."""

    __slots__ = ("grad_enabled", "anomaly", "recording", "depth")

    def __init__(
        self,
        grad_enabled: bool = True,
        anomaly: bool = False,
        recording: bool = False,  # a replay is recording a graph (see autograd_lite.replay)
        depth: int = 0,  # how many al.grad evaluations are running (see autograd_lite.functional)
    ) -> None:
        self.grad_enabled = grad_enabled
        self.anomaly = anomaly
        self.recording = recording
        self.depth = depth

    def _with(self, name: str, value: Any) -> _Modes:
        frame = _Modes(self.grad_enabled, self.anomaly, self.recording, self.depth)
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
        CURRENT.set(CURRENT.get(DEFAULT)._with(name, value))

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
    _stacks: dict[int, list[Any]]

    def __new__(cls, func: Any = None) -> Any:
        mode = super().__new__(cls)
        mode._stacks = {}  # thread id -> the values its open blocks will restore
        # ``@no_grad`` without parentheses decorates directly, like ``@no_grad()``.
        return mode(func) if func is not None else mode

    def __enter__(self) -> None:
        frame = CURRENT.get(DEFAULT)
        self._saved().append(getattr(frame, self._attribute))
        CURRENT.set(frame._with(self._attribute, self._value))

    def __exit__(self, *exc: object) -> None:
        saved = self._saved()
        value = saved.pop()
        if not saved:  # (no entry left behind for a thread that is done with this instance)
            del self._stacks[threading.get_ident()]
        CURRENT.set(CURRENT.get(DEFAULT)._with(self._attribute, value))

    def _saved(self) -> list[Any]:
        """This thread's stack of values to restore: blocks of one instance nest in a thread,
        while other threads may be inside the same instance."""
        return self._stacks.setdefault(threading.get_ident(), [])


class no_grad(_SetMode):  # noqa: N801 - named like the PyTorch context manager users know
    """Do not record operations: results are plain tensors that do not require grad.

    Use as ``with al.no_grad(): ...`` or as a decorator ``@al.no_grad()``. Evaluation and
    parameter updates belong here: they are faster and keep the graph from growing.
    """

    _attribute = "grad_enabled"
    _value = False


class enable_grad(_SetMode):  # noqa: N801
    """Record operations again inside a [`no_grad`][autograd_lite.modes.no_grad] block."""

    _attribute = "grad_enabled"
    _value = True


class detect_anomaly(_SetMode):  # noqa: N801
    """Raise `AnomalyError` at the first op that makes NaN or inf.

    Every op's forward output, and every gradient computed in backward, is checked; the error
    names the op (e.g. ``log``), the input shapes and where the first bad value is. It costs a
    scan of every array, so use it to debug, not to train.
    """

    _attribute = "anomaly"
    _value = True


class set_grad_enabled(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Turn recording on or off, like ``torch.set_grad_enabled``: called as a function it sets
    this thread's mode at once; as ``with al.set_grad_enabled(b):`` (or a decorator) it sets
    the mode for the block and restores the previous one after it.

    Parameters
    ----------
    mode : bool
        True records operations (the default mode), False does as `no_grad`.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise InvalidArgumentError(
                f"set_grad_enabled: mode must be True or False, got {type(mode).__name__}"
            )
        self.mode = bool(mode)
        self.previous = is_grad_enabled()
        self._saved: dict[int, list[bool]] = {}  # thread id -> the values to restore
        self._just_set = True  # the mode was set by the call: the first block restores previous
        STATE.grad_enabled = self.mode

    def __call__(self, func: Any) -> Any:  # as a decorator: no change until it is called
        STATE.grad_enabled = self.previous
        self._just_set = False
        return super().__call__(func)

    def __enter__(self) -> None:
        restore = self.previous if self._just_set else is_grad_enabled()
        self._just_set = False
        self._saved.setdefault(threading.get_ident(), []).append(restore)
        STATE.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        stack = self._saved[threading.get_ident()]
        STATE.grad_enabled = stack.pop()
        if not stack:
            del self._saved[threading.get_ident()]


def is_grad_enabled() -> bool:
    """Whether ops are currently recorded."""
    return CURRENT.get(DEFAULT).grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether [`detect_anomaly`][autograd_lite.modes.detect_anomaly] is active."""
    return CURRENT.get(DEFAULT).anomaly


# -- the check detect_anomaly runs on every op output and gradient -------------------------------
def check_finite(array: Any, where: str, inputs: Sequence[Any] = ()) -> None:
    """Under ``detect_anomaly``: raise `AnomalyError` if ``array``
    (an op's output or a gradient) holds NaN/inf, naming where and which input brought it."""
    plain = isinstance(array, (np.ndarray, np.generic, float, int))
    data = np.asarray(array if plain else array.data)  # (an array, or a Tensor's)
    if data.dtype.kind != "f" or np.isfinite(data).all():
        return
    bad = np.argwhere(~np.isfinite(data))
    for position, a in enumerate(inputs):
        # Under detect_anomaly no op returns NaN/inf, so a non-finite input came from outside:
        # a leaf, a constant, or a tensor computed before detect_anomaly was entered.
        a = np.asarray(a)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            index, kind = _first_bad(a)
            raise AnomalyError(
                f"{where}: input {position} of shape {a.shape} already holds {kind} (at index "
                f"{index}), so the output of shape {data.shape} has {bad.shape[0]} non-finite "
                f"value(s); the NaN/inf came from outside the checked ops: a leaf, a constant, "
                f"or a tensor computed before detect_anomaly was entered"
            )
    first, kind = _first_bad(data)
    shapes = ", ".join(str(np.shape(a)) for a in inputs)
    raise AnomalyError(
        f"{where}: produced {kind} at index {first} of an output of shape {data.shape}"
        + (f" from inputs of shapes {shapes}" if inputs else "")
        + f"; {bad.shape[0]} non-finite value(s) in all"
    )


def _first_bad(data: np.ndarray) -> tuple[tuple[int, ...], str]:
    """The index of the first NaN/inf of ``data``, and what it is (``"nan"``, ``"inf"``...)."""
    first = tuple(int(i) for i in np.argwhere(~np.isfinite(data))[0]) if data.ndim else ()
    return first, "nan" if np.isnan(data[first]) else str(data[first])
