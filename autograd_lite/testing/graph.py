"""A small computation DAG that a test can evaluate and print: what ``strategies.graphs`` draws.

A `Graph` is a list of steps. A step is either a leaf (an input, with the value it was
drawn with) or an op applied to earlier steps and constants. Calling the graph on fresh leaves
evaluates it with autograd_lite; `Graph.evaluate()` takes any other ``call`` to run the same
steps with another implementation (NumPy, PyTorch, ...). ``repr`` is the op list, one step a
line, so a shrunk counterexample reads like a tiny program::

    Graph(
        v0 = leaf((2, 3), [[0.5, -1.0, 2.0], [1.5, 0.25, -2.0]])
        v1 = sigmoid(v0)  # (2, 3)
        v2 = sum(v1, axis=1, keepdims=False)  # (2,)
        return v2
    )

This module needs only NumPy; hypothesis is used by `autograd_lite.testing.strategies`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_lite import costs, ops
from autograd_lite.errors import InvalidInputError
from autograd_lite.tensor import Tensor

__all__ = ["Var", "Step", "Graph", "COST_OPS", "call_op"]

#: Ops that ``graphs(ops=...)`` draws only when named: the costs (declared with
#: ``Draw(..., opt_in=True)``; ``cross_entropy_cost_logits`` is ``cross_entropy_cost(z, y,
#: logits=True)``), and ``log_likelihood_cost``, a composite of ops.
COST_OPS: tuple[str, ...] = (
    *(name for name, info in ops.REGISTRY.items() if info.draw and info.draw.opt_in),
    "log_likelihood_cost",
)


@dataclass(frozen=True)
class Var:
    """A reference to the value of step ``index`` (printed ``v<index>``)."""

    index: int

    def __repr__(self) -> str:
        return f"v{self.index}"


@dataclass(frozen=True, eq=False)
class Step:
    """One line of a [`Graph`][autograd_lite.testing.graph.Graph].

    Attributes
    ----------
    op : str
        ``"leaf"``, a name of ``ops.OPS``, or one of `COST_OPS`.
    args : tuple
        [`Var`][autograd_lite.testing.graph.Var] references and Python float constants.
    params : dict
        Keyword parameters of the op (``axis``, ``index``, ``condition`` ...).
    shape : tuple of int
        The shape of the value.
    value : ndarray or None
        A leaf's drawn value (None for op steps).
    """

    op: str
    args: tuple[Any, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, ...] = ()
    value: np.ndarray | None = None


def call_op(name: str, args: Sequence[Any], params: dict[str, Any]) -> Tensor:
    """Apply the op ``name`` with autograd_lite (looked up at call time, so patches apply).

    Each op is called through its public function, as user code does (``getitem``,
    ``concatenate``, ``stack``, ``where`` and the costs prepare parameters for the primitive):
    the declaration's ``apply``.
    """
    if name == "log_likelihood_cost":
        return costs.log_likelihood_cost(*args, **params)
    return ops.REGISTRY[name].apply(*args, **params)


class Graph:
    """A computation DAG over autograd_lite ops, drawn by `strategies.graphs()`.

    Parameters
    ----------
    steps : sequence of Step
        Leaves and op applications, each referring only to earlier steps.
    output : int
        The step whose value the graph returns.
    dtype : numpy dtype
        The dtype of the leaves.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_lite.testing.graph import Graph, Step, Var
    >>> g = Graph([Step("leaf", shape=(2,), value=np.array([1.0, 2.0])),
    ...            Step("exp", (Var(0),), shape=(2,))], output=1)
    >>> g
    Graph(
        v0 = leaf((2,), [1.0, 2.0])
        v1 = exp(v0)  # (2,)
        return v1
    )
    >>> g(*g.leaves()).shape
    (2,)
    """

    def __init__(self, steps: Sequence[Step], output: int, dtype: Any = np.float64) -> None:
        self.steps: tuple[Step, ...] = tuple(steps)
        self.output = output
        self.dtype = np.dtype(dtype)

    # -- what it is made of ----------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        """The op of every non-leaf step, in order (repeats included)."""
        return tuple(s.op for s in self.steps if s.op != "leaf")

    @property
    def leaf_values(self) -> tuple[np.ndarray, ...]:
        """The drawn value of each leaf (read-only views; `leaves()` gives fresh copies)."""
        values = []
        for s in self.steps:
            if s.op == "leaf" and s.value is not None:
                view = s.value.view()
                view.flags.writeable = False
                values.append(view)
        return tuple(values)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of the graph's output."""
        return self.steps[self.output].shape

    def use_counts(self) -> list[int]:
        """How many times each step's value is an argument of a later step (fan-out)."""
        counts = [0] * len(self.steps)
        for s in self.steps:
            for a in s.args:
                if isinstance(a, Var):
                    counts[a.index] += 1
        return counts

    def uses(self, op: str) -> bool:
        """Whether some step applies ``op``."""
        return op in self.ops

    # -- running it --------------------------------------------------------------------------------
    def leaves(self, requires_grad: bool = True, dtype: Any = None) -> list[Tensor]:
        """Fresh leaf Tensors holding the drawn values (new arrays on every call).

        Each is named after its step (``"v0"``, ...), so gradcheck messages point at the line of
        ``repr(graph)``. The values satisfy the domains of the ops (positive under ``log``, away
        from 0 under ``div`` and ``relu``, no ties under ``max`` ...); other values may not.
        """
        out = []
        for index, s in enumerate(self.steps):
            if s.op == "leaf":
                data = np.array(s.value, dtype=dtype or self.dtype, copy=True)
                out.append(Tensor(data, requires_grad=requires_grad, name=f"v{index}"))
        return out

    def __call__(self, *leaves: Any) -> Tensor:
        """Evaluate the graph with autograd_lite on ``leaves`` (one per leaf, in order)."""
        return self.evaluate(leaves)

    def evaluate(
        self,
        leaves: Sequence[Any],
        call: Callable[[str, Sequence[Any], dict[str, Any]], Any] | None = None,
    ) -> Any:
        """Run the steps on ``leaves``; ``call(op, args, params)`` applies one op.

        The default ``call`` is autograd_lite's; pass another to evaluate the same graph with
        another framework (the leaves are then that framework's arrays).
        """
        count = sum(1 for s in self.steps if s.op == "leaf")
        if len(leaves) != count:
            raise InvalidInputError(f"this graph takes {count} leaves, got {len(leaves)}")
        call = call or call_op
        values: list[Any] = []
        feed = iter(leaves)
        for s in self.steps:
            if s.op == "leaf":
                values.append(next(feed))
                continue
            args = [values[a.index] if isinstance(a, Var) else a for a in s.args]
            values.append(call(s.op, args, s.params))
        return values[self.output]

    # -- printing ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = ["Graph("]
        for index, s in enumerate(self.steps):
            if s.op == "leaf" and s.value is not None:
                lines.append(f"    v{index} = leaf({s.shape}, {_format_values(s.value)})")
                continue
            parts = [repr(a) for a in s.args]
            parts += [f"{k}={_format_param(v)}" for k, v in s.params.items()]
            lines.append(f"    v{index} = {s.op}({', '.join(parts)})  # {s.shape}")
        lines.append(f"    return v{self.output}")
        lines.append(")")
        return "\n".join(lines)

    __str__ = __repr__


def _format_values(value: np.ndarray) -> str:
    if value.size > 12:
        return f"<{value.size} values in [{value.min():.4g}, {value.max():.4g}]>"
    return str(np.round(value.astype(np.float64), 4).tolist())


def _format_param(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return str(value.astype(int).tolist())
        return str(value.tolist())
    if isinstance(value, tuple) and any(isinstance(v, (slice, np.ndarray)) for v in value):
        return "[" + ", ".join(_format_index(v) for v in value) + "]"
    if isinstance(value, slice):
        return "[" + _format_index(value) + "]"
    return repr(value)


def _format_index(value: Any) -> str:
    if isinstance(value, slice):
        text = ":".join("" if v is None else str(v) for v in (value.start, value.stop, value.step))
        return text[:-1] if text.endswith(":") and value.step is None else text
    if value is Ellipsis:
        return "..."
    if isinstance(value, np.ndarray):
        return _format_param(value)
    return repr(value)
