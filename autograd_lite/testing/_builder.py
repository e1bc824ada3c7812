"""The state of a graph being drawn, and the input domains of the ops.

`Builder` holds the steps drawn so far with their values (computed eagerly, so domains
are checked on actual numbers), picks inputs among them or draws fresh leaves, and rolls back an
op whose result would be out of bounds. Used by `autograd_lite.testing._generators`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd_lite.testing.graph import Step, Var, call_op

__all__ = [
    "Builder",
    "Pred",
    "MARGIN",
    "BOUND",
    "MAX_SIZE",
    "MAX_NDIM",
    "any_value",
    "positive",
    "nonzero",
    "off_kink",
    "exp_safe",
    "unit_interval",
    "probability",
    "no_ties",
]

#: Minimum distance of a value from a kink, a pole, 0 under log, or a tie under max.
MARGIN = 0.05
#: Values larger than this are not produced (so finite differences stay accurate).
BOUND = 100.0
#: No intermediate value has more elements than this.
MAX_SIZE = 64
#: Or more dimensions than this.
MAX_NDIM = 4

Pred = Callable[[np.ndarray], bool]


# -- domains -----------------------------------------------------------------------------------
def any_value(v: np.ndarray) -> bool:
    return True


def positive(v: np.ndarray) -> bool:
    return bool(v.min() > 2 * MARGIN)


def nonzero(v: np.ndarray) -> bool:
    return bool(np.abs(v).min() > 2 * MARGIN)


def off_kink(v: np.ndarray) -> bool:
    return bool(np.abs(v).min() > MARGIN)


def exp_safe(v: np.ndarray) -> bool:
    return bool(v.max() < 4.0)


def unit_interval(v: np.ndarray) -> bool:  # inside (0, 1), for cross-entropy's activations
    return bool(v.min() > MARGIN and v.max() < 1 - MARGIN)


def probability(v: np.ndarray) -> bool:  # targets in [0, 1]
    return bool(v.min() >= 0.0 and v.max() <= 1.0)


def no_ties(axis: Any) -> Pred:
    """Along the reduced axes, the largest entry beats the second by more than MARGIN."""

    def pred(v: np.ndarray) -> bool:
        if v.ndim == 0:
            return True
        axes = tuple(range(v.ndim)) if axis is None else axis
        axes = tuple(a % v.ndim for a in (axes if isinstance(axes, tuple) else (axes,)))
        rest = [a for a in range(v.ndim) if a not in axes]
        rows = np.transpose(v, rest + list(axes)).reshape(
            -1, int(np.prod([v.shape[a] for a in axes]))
        )
        if rows.shape[1] < 2:
            return True
        top = np.sort(rows, axis=1)
        return bool((top[:, -1] - top[:, -2]).min() > MARGIN)

    return pred


_DOMAIN_ELEMENTS: dict[str, st.SearchStrategy[float]] = {}


def domain_elements(domain: str, width: Literal[32, 64]) -> st.SearchStrategy[float]:
    key = f"{domain}/{width}"
    if key not in _DOMAIN_ELEMENTS:

        def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
            if width == 32:  # the nearest float32 bounds
                lo, hi = float(np.float32(lo)), float(np.float32(hi))
            return st.floats(lo, hi, width=width, allow_subnormal=False)

        _DOMAIN_ELEMENTS[key] = {
            "real": floats(-2.0, 2.0),
            "positive": floats(0.5, 2.0),
            "nonzero": st.one_of(floats(0.5, 2.0), floats(-2.0, -0.5)),
            "unit": floats(0.1, 0.9),
            "probability": floats(0.0, 1.0),
        }[domain]
    return _DOMAIN_ELEMENTS[key]


# -- the builder ---------------------------------------------------------------------------------
class Builder:
    """The graph under construction: steps, their values, and the hypothesis ``draw``."""

    def __init__(self, draw: Callable[[Any], Any], dtype: Any, max_side: int, max_dims: int):
        self.draw = draw
        self.dtype = np.dtype(dtype)
        self.max_side = max_side
        self.max_dims = max_dims
        self.steps: list[Step] = []
        self.values: list[np.ndarray] = []
        self.fresh_only = False  # the fallback: every input a new leaf
        self.first_pick = False  # the next pick is an op's first input: prefer the latest sink

    # state ------------------------------------------------------------------------------------
    def mark(self) -> int:
        return len(self.steps)

    def rollback(self, mark: int) -> None:
        del self.steps[mark:]
        del self.values[mark:]

    def value(self, ref: Any) -> Any:
        return self.values[ref.index] if isinstance(ref, Var) else ref

    def shape(self, ref: Any) -> tuple[int, ...]:
        return self.values[ref.index].shape if isinstance(ref, Var) else ()

    def sinks(self) -> list[int]:
        """Op steps whose value nothing uses yet, most recent first."""
        used = {a.index for s in self.steps for a in s.args if isinstance(a, Var)}
        return [
            i for i in range(len(self.steps) - 1, -1, -1)
            if self.steps[i].op != "leaf" and i not in used
        ]  # fmt: skip

    # drawing ----------------------------------------------------------------------------------
    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def flag(self) -> bool:
        return self.draw(st.booleans())

    def choice(self, options: tuple) -> Any:
        return self.draw(st.sampled_from(options))

    def side(self) -> int:
        return self.integer(1, self.max_side)

    def new_shape(self, min_dims: int = 0, max_dims: int | None = None) -> tuple[int, ...]:
        top = self.max_dims if max_dims is None else min(max_dims, self.max_dims)
        ndim = self.integer(min(min_dims, top), top)
        return tuple(self.side() for _ in range(ndim))

    def new_leaf(self, shape: tuple[int, ...], domain: str = "real") -> Var:
        width: Literal[32, 64] = 32 if self.dtype == np.float32 else 64
        if domain == "distinct":  # for max: well-separated values
            size = int(np.prod(shape))
            perm = self.draw(st.permutations(range(size)))
            flip = self.flag()
            values = (np.array(perm, dtype=np.float64) - (size - 1) / 2) * 0.25
            data = (-values if flip else values).reshape(shape).astype(self.dtype)
        else:
            data = self.draw(hnp.arrays(self.dtype, shape, elements=domain_elements(domain, width)))
            data = np.asarray(data, dtype=self.dtype)
        self.steps.append(Step("leaf", shape=tuple(shape), value=data))
        self.values.append(data)
        return Var(len(self.steps) - 1)

    def pick(
        self,
        pred: Pred = any_value,
        shape: tuple[int, ...] | Callable[[], tuple[int, ...]] | None = None,
        domain: str = "real",
    ) -> Var:
        """An existing value satisfying ``pred`` (sinks first), or a fresh leaf in ``domain``."""
        candidates: list[int] = []
        sinks: list[int] = []
        if not self.fresh_only:
            sinks = self.sinks()
            order = sinks + [i for i in range(len(self.steps) - 1, -1, -1) if i not in sinks]
            candidates = [i for i in order if pred(self.values[i])]
        first, self.first_pick = self.first_pick, False
        if first and candidates and candidates[0] in sinks and self.integer(0, 3) < 3:
            return Var(candidates[0])  # mostly chain onto the latest unused value
        index = self.integer(0, len(candidates))
        if index < len(candidates):
            return Var(candidates[index])
        if shape is None:
            new = self.new_shape()
        elif callable(shape):
            new = shape()
        else:
            new = shape
        return self.new_leaf(tuple(new), domain)

    def emit(self, op: str, args: tuple, params: dict | None = None, check: bool = True) -> Any:
        """Append ``op(*args, **params)``; None if its value is out of bounds (then roll back)."""
        params = params or {}
        result = call_op(op, [self.value(a) for a in args], params).data
        if check and (
            result.size > MAX_SIZE
            or result.ndim > MAX_NDIM
            or not np.isfinite(result).all()
            or (result.size and np.abs(result).max() > BOUND)
        ):
            return None
        self.steps.append(Step(op, tuple(args), dict(params), tuple(result.shape)))
        self.values.append(result)
        return Var(len(self.steps) - 1)

    # shapes -----------------------------------------------------------------------------------
    def partner(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape``: fewer or more leading dims, 1s either way."""
        drop = self.integer(0, len(shape))
        core = []
        for n in shape[drop:]:
            if n == 1:
                core.append(self.side())
            else:
                core.append(1 if self.flag() else n)
        if drop:  # a lower rank: (3,) against (2, 3)
            return tuple(core)
        extra = self.integer(0, max(0, self.max_dims - len(shape)))
        return tuple(self.side() for _ in range(extra)) + tuple(core)

    def expansion(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that ``shape`` broadcasts to (for broadcast_to)."""
        extra = self.integer(0, max(0, self.max_dims - len(shape)))
        core = tuple(self.side() if n == 1 else n for n in shape)
        return tuple(self.side() for _ in range(extra)) + core

    def axis(self, ndim: int, kinds: tuple[str, ...] = ("none", "int", "tuple")) -> Any:
        return self.axis_rule(kinds)(ndim)

    def axis_rule(self, kinds: tuple[str, ...] = ("none", "int", "tuple")) -> Callable[[int], Any]:
        """Draw an axis choice now, applicable to any number of dimensions later."""
        kind = self.choice(kinds)
        seed = self.integer(0, 7)
        negative = self.flag()

        def rule(ndim: int) -> Any:
            if kind == "none" or ndim == 0:
                return None
            if kind == "int":
                a = seed % ndim
                return a - ndim if negative else a
            axes = tuple(i for i in range(ndim) if seed >> i & 1) or (seed % ndim,)
            return tuple(a - ndim if negative else a for a in axes)

        return rule

    def index(self, shape: tuple[int, ...]) -> Any:
        """A NumPy index for an array of ``shape`` (ndim >= 1) selecting at least one element."""
        n0 = shape[0]
        kind = self.integer(0, 6)
        if kind == 0:  # an integer on axis 0
            return self.integer(-n0, n0 - 1)
        if kind == 1:  # a slice on axis 0
            start = self.integer(0, n0 - 1)
            stop = self.integer(start + 1, n0)
            step = self.integer(1, 2)
            return slice(start, None if stop == n0 else stop, None if step == 1 else step)
        if kind == 2 or (kind == 4 and len(shape) < 2):  # integers with repeats, on axis 0
            picks = self.draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4))
            return np.array(picks, dtype=np.intp)
        if kind == 3:  # a boolean mask of the whole shape
            mask = np.array(self.draw(hnp.arrays(np.bool_, shape)), dtype=bool)
            mask.flat[self.integer(0, mask.size - 1)] = True
            return mask
        if kind == 4:  # integers with repeats on axis 1
            n1 = shape[1]
            picks = self.draw(st.lists(st.integers(-n1, n1 - 1), min_size=1, max_size=3))
            return (slice(None), np.array(picks, dtype=np.intp))
        if kind == 5:  # x[..., i]
            return (Ellipsis, self.integer(-shape[-1], shape[-1] - 1))
        # x[i, 1:] style: an integer then a slice
        first = self.integer(0, n0 - 1)
        if len(shape) < 2:
            return (first,)
        return (first, slice(self.integer(0, shape[1] - 1), None))
