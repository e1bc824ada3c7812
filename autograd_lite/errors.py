"""The exceptions autograd_lite raises.

Every error is a subclass of `AutogradLiteError` and of ``ValueError`` or ``TypeError``
(engine errors are also ``RuntimeError``, as in PyTorch), so callers can catch them precisely or
broadly. Messages name the op, the input and the shapes, and say what to do.
"""

from __future__ import annotations

__all__ = [
    "AutogradLiteError",
    "ShapeError",
    "InvalidInputError",
    "TensorIndexError",
    "BackwardError",
    "NonScalarBackwardError",
    "GraphReleasedError",
    "InvalidGradientError",
    "HigherOrderError",
    "AnomalyError",
    "DatasetError",
    "CheckpointError",
    "ReplayError",
    "TrainingError",
    "RequiresGradError",
    "DuplicateOpError",
    "InvalidArgumentError",
    "NumpyDispatchError",
]


class AutogradLiteError(Exception):
    """Base class of every error raised by autograd_lite."""


class ShapeError(AutogradLiteError, ValueError, RuntimeError):
    """An op received operands whose shapes it cannot combine (also a ``RuntimeError``, what
    PyTorch raises for shapes)."""


class InvalidInputError(AutogradLiteError, TypeError):
    """An op or a Tensor received something that is not numeric (strings, objects, ...)."""


class TensorIndexError(AutogradLiteError, IndexError, ValueError):
    """An index out of range, or of a kind a Tensor cannot be indexed with.

    Both an ``IndexError`` (what Python's iteration protocol expects) and a ``ValueError``.
    """


class BackwardError(AutogradLiteError, ValueError, RuntimeError):
    """``backward`` or ``grad`` was called on something it cannot differentiate."""


class NonScalarBackwardError(BackwardError):
    """``backward()`` without ``grad`` on a tensor with more than one element."""


class GraphReleasedError(BackwardError):
    """A second backward pass through a graph whose saved arrays were released."""


class InvalidGradientError(AutogradLiteError, ValueError):
    """A gradient of the wrong shape or type: from a hook, a user vjp or ``backward(grad=...)``."""


class HigherOrderError(BackwardError):
    """``create_graph=True`` through an op whose vjp cannot itself be differentiated."""


class AnomalyError(AutogradLiteError, ValueError):
    """Raised in `autograd_lite.detect_anomaly()` mode when an op first produces NaN or inf."""


class DatasetError(AutogradLiteError, ValueError):
    """A data file that is missing, truncated, corrupt, or fails its checksum."""


class CheckpointError(AutogradLiteError, ValueError):
    """A saved model (``.npz``) that is missing, corrupt, or does not fit the network."""


class ReplayError(AutogradLiteError, ValueError):
    """A function cannot be recorded for replay (``al.grad(f, replay=True)``): a hook in its
    graph, or values of its arguments read out of the graph (``x > 0``, ``if x``, ``x.data``
    handed to an op ...), which the recording would freeze."""


class TrainingError(AutogradLiteError, ValueError):
    """Training refused before it starts: a learning rate that is not a positive finite number,
    or NaN/inf in the training data."""


class RequiresGradError(AutogradLiteError, ValueError, RuntimeError):
    """A call that needs a tensor's ``requires_grad`` to be otherwise (a hook on a tensor that
    does not require grad; ``requires_grad_(False)`` on a non-leaf)."""


class InvalidArgumentError(AutogradLiteError, ValueError):
    """An argument of an accepted type but an invalid value (a ``reduction`` that is neither
    ``"sum"`` nor ``"mean"``, an unknown profile name ...)."""


class DuplicateOpError(AutogradLiteError, ValueError):
    """An op declared (``ops.defop``) under a name, or for a Tensor method, already taken."""


class NumpyDispatchError(AutogradLiteError, TypeError):
    """A NumPy function or ufunc called on a Tensor that autograd_lite cannot record: it has no
    derivative rule (declare one with ``al.primitive``), or it was given ``out=`` or an argument
    that the op does not take (``np.sum(x, dtype=...)``)."""
