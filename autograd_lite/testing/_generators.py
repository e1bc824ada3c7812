"""How ``strategies.graphs`` draws each op: valid shapes, parameters and input domains.

Each op declares how it is drawn (``defop(..., draw=Draw(kind, domains))`` in
:mod:`autograd_lite.ops`): :data:`GENERATORS` is derived from those declarations. Every
generator picks its inputs among the values drawn so far (fan-out: a value may be used
many times) or makes a fresh leaf, and only accepts an existing value whose *actual* entries lie
in the op's domain with a margin: positive under ``log`` and as the base of ``pow``, away from 0
as a divisor and under ``relu``, without near-ties under ``max``, bounded under ``exp``. Fresh
leaves are drawn inside the domain, so an op can always be emitted on fresh leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd_lite.errors import InvalidArgumentError
from autograd_lite.ops import REGISTRY, Draw
from autograd_lite.testing._builder import (
    MARGIN,
    MAX_NDIM,
    MAX_SIZE,
    Builder,
    Pred,
    any_value,
    exp_safe,
    no_ties,
    nonzero,
    off_kink,
    positive,
    probability,
    unit_interval,
)

__all__ = ["GENERATORS", "DOMAINS", "Gen", "generator"]

_CONSTANTS = (2.0, -1.0, 0.5, 3.0, -0.25)


# -- generators: each emits one op or returns None ---------------------------------------------
Gen = Callable[[Builder], Any]


def _unary(op: str, pred: Pred = any_value, domain: str = "real") -> Gen:
    def gen(b: Builder) -> Any:
        return b.emit(op, (b.pick(pred, domain=domain),))

    return gen


def _broadcasting(
    op: str,
    left: Pred,
    right: Pred,
    left_domain: str,
    right_domain: str,
    constants: tuple[tuple[float, ...], tuple[float, ...]],
) -> Gen:
    """Binary op with NumPy broadcasting, each side a value or (sometimes) a Python constant."""

    def gen(b: Builder) -> Any:
        mode = b.choice(("values", "value-constant", "constant-value"))
        if mode == "value-constant":
            return b.emit(op, (b.pick(left, domain=left_domain), b.choice(constants[1])))
        if mode == "constant-value":
            return b.emit(op, (b.choice(constants[0]), b.pick(right, domain=right_domain)))
        x = b.pick(left, domain=left_domain)
        sx = b.shape(x)

        def fits(v: np.ndarray) -> bool:
            try:
                joint = np.broadcast_shapes(sx, v.shape)
            except ValueError:
                return False
            return len(joint) <= MAX_NDIM and int(np.prod(joint)) <= MAX_SIZE and right(v)

        y = b.pick(fits, lambda: b.partner(sx), right_domain)
        return b.emit(op, (x, y))

    return gen


def _same_shape(op: str) -> Gen:
    def gen(b: Builder) -> Any:
        x = b.pick()
        sx = b.shape(x)
        return b.emit(op, (x, b.pick(lambda v: v.shape == sx, sx)))

    return gen


def _matmul_shape(sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple[int, ...] | None:
    if not sa or not sb:
        return None
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner_b:
        return None
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        return None
    return batch + sa[-2:-1] + sb[-1:] if len(sb) > 1 else batch + sa[-2:-1]


def _matmul(b: Builder) -> Any:
    a = b.pick(lambda v: 1 <= v.ndim <= 3, lambda: b.new_shape(1, 3))
    sa = b.shape(a)

    def fits(v: np.ndarray) -> bool:
        out = _matmul_shape(sa, v.shape)
        return out is not None and int(np.prod(out)) <= MAX_SIZE

    def new_b() -> tuple[int, ...]:
        k = sa[-1]
        kind = b.choice(("matrix", "vector", "batch"))
        if kind == "vector":
            return (k,)
        m = b.side()
        if kind == "matrix":
            return (k, m)
        batch = b.partner(sa[:-2]) if len(sa) > 2 else (b.side(),)
        return batch + (k, m)

    return b.emit("matmul", (a, b.pick(fits, new_b)))


def _reduction(op: str, distinct: bool = False) -> Gen:
    def gen(b: Builder) -> Any:
        rule = b.axis_rule()
        keepdims = b.flag()
        pred: Pred = any_value
        domain = "real"
        if distinct:
            # (no near-ties at the top, for max, nor at the bottom, for min)
            pred = lambda v: no_ties(rule(v.ndim))(v) and no_ties(rule(v.ndim))(-v)  # noqa: E731
            domain = "distinct"
        x = b.pick(pred, domain=domain)
        return b.emit(op, (x,), {"axis": rule(len(b.shape(x))), "keepdims": keepdims})

    return gen


def _softmax(op: str) -> Gen:
    def gen(b: Builder) -> Any:
        rule = b.axis_rule(("int",))
        x = b.pick(lambda v: v.ndim >= 1, lambda: b.new_shape(1))
        return b.emit(op, (x,), {"axis": rule(len(b.shape(x)))})

    return gen


def _factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _reshape(b: Builder) -> Any:
    x = b.pick()
    size = int(np.prod(b.shape(x)))
    ndim = b.integer(0 if size == 1 else 1, 3)
    dims = [1] * ndim
    for f in _factors(size):
        dims[b.integer(0, ndim - 1)] *= f
    if ndim and b.flag():
        dims[b.integer(0, ndim - 1)] = -1
    return b.emit("reshape", (x,), {"shape": tuple(dims)})


def _transpose(b: Builder) -> Any:
    x = b.pick()
    ndim = len(b.shape(x))
    if ndim < 2 or not b.flag():
        return b.emit("transpose", (x,), {"axes": None})
    perm = b.draw(st.permutations(range(ndim)))
    negative = b.flag()
    return b.emit("transpose", (x,), {"axes": tuple(a - ndim if negative else a for a in perm)})


def _broadcast_to(b: Builder) -> Any:
    x = b.pick(lambda v: v.ndim <= 3)
    return b.emit("broadcast_to", (x,), {"shape": b.expansion(b.shape(x))})


def _getitem(b: Builder) -> Any:
    x = b.pick(lambda v: v.ndim >= 1, lambda: b.new_shape(1))
    return b.emit("getitem", (x,), {"index": b.index(b.shape(x))})


def _scatter_add(b: Builder) -> Any:
    target = b.new_shape(1)
    index = b.index(target)
    source = np.zeros(target)[index].shape
    g = b.pick(lambda v: v.shape == source, source)
    return b.emit("scatter_add", (g,), {"index": index, "shape": target})


def _concatenate(b: Builder) -> Any:
    x = b.pick(lambda v: v.ndim >= 1, lambda: b.new_shape(1))
    sx = b.shape(x)
    axis = b.integer(-len(sx), len(sx) - 1)
    a = axis % len(sx)

    def fits(v: np.ndarray) -> bool:
        return v.ndim == len(sx) and all(v.shape[i] == sx[i] for i in range(len(sx)) if i != a)

    def new() -> tuple[int, ...]:
        return sx[:a] + (b.side(),) + sx[a + 1 :]

    others = [b.pick(fits, new) for _ in range(b.integer(1, 2))]
    return b.emit("concatenate", (x, *others), {"axis": axis})


def _stack(b: Builder) -> Any:
    x = b.pick(lambda v: v.ndim <= 3)
    sx = b.shape(x)
    others = [b.pick(lambda v: v.shape == sx, sx) for _ in range(b.integer(1, 2))]
    return b.emit("stack", (x, *others), {"axis": b.integer(-len(sx) - 1, len(sx))})


def _where(b: Builder) -> Any:
    mode = b.choice(("values", "value-constant", "constant-value"))
    x = b.pick()
    sx = b.shape(x)
    if mode == "values":

        def fits(v: np.ndarray) -> bool:
            try:
                return int(np.prod(np.broadcast_shapes(sx, v.shape))) <= MAX_SIZE
            except ValueError:
                return False

        y = b.pick(fits, lambda: b.partner(sx))
        args: tuple = (x, y)
        joint = np.broadcast_shapes(sx, b.shape(y))
    else:
        constant = b.choice(_CONSTANTS)
        args = (x, constant) if mode == "value-constant" else (constant, x)
        joint = sx
    condition = np.array(b.draw(hnp.arrays(np.bool_, b.partner(joint))), dtype=bool)
    return b.emit("where", args, {"condition": condition})


def _untied_pair(op: str) -> Gen:
    """maximum/minimum: two values that broadcast, apart by more than the margin everywhere
    (at a near-tie the derivative jumps, and finite differences straddle it)."""

    def gen(b: Builder) -> Any:
        x = b.pick()
        sx = b.shape(x)

        def apart(v: np.ndarray) -> bool:
            try:
                joint = np.broadcast_shapes(sx, v.shape)
            except ValueError:
                return False
            if int(np.prod(joint)) > MAX_SIZE or len(joint) > MAX_NDIM:
                return False
            return bool(np.abs(b.value(x) - v).min() > MARGIN) if v.size else True

        y = b.pick(apart, lambda: b.partner(sx))
        return b.emit(op, (x, y)) if apart(b.value(y)) else None

    return gen


_CLAMP_BOUNDS = ((-0.75, None), (None, 0.625), (-0.375, 1.125), (-1.25, 0.25))


def _clamp(b: Builder) -> Any:
    """clamp: bounds from a few pairs, the input apart from them by more than the margin."""
    low, high = b.choice(_CLAMP_BOUNDS)

    def apart(v: np.ndarray) -> bool:
        return all(bound is None or np.abs(v - bound).min() > MARGIN for bound in (low, high))

    x = b.pick(apart)
    return b.emit("clamp", (x,), {"min": low, "max": high}) if apart(b.value(x)) else None


# -- costs (opt-in) --------------------------------------------------------------------------------
def _pair_cost(op: str, left: Pred, left_domain: str, right: Pred, right_domain: str) -> Gen:
    def gen(b: Builder) -> Any:
        a = b.pick(left, domain=left_domain)
        sa = b.shape(a)
        y = b.pick(lambda v: v.shape == sa and right(v), sa, right_domain)
        return b.emit(op, (a, y), {"reduction": b.choice(("sum", "mean"))})

    return gen


def _log_likelihood(b: Builder) -> Any:
    z = b.pick(lambda v: v.ndim >= 1, lambda: b.new_shape(1))
    shape = b.shape(z)
    labels = b.draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    params = {"labels": np.asarray(labels, dtype=np.int64), "reduction": b.choice(("sum", "mean"))}
    return b.emit("log_likelihood_cost", (z,), params)


# -- the table, derived from the op declarations (``autograd_lite.ops.defop(..., draw=Draw(...))``)
#: A domain name of ``Draw.domains`` -> (the test a drawn value must pass, the domain of a fresh
#: leaf's elements).
DOMAINS: dict[str, tuple[Pred, str]] = {
    "real": (any_value, "real"),
    "positive": (positive, "positive"),
    "nonzero": (nonzero, "nonzero"),
    "off_kink": (off_kink, "nonzero"),
    "exp_safe": (exp_safe, "real"),
    "small": (lambda v: bool(np.abs(v).max() <= 3), "real"),
    "distinct": (any_value, "distinct"),  # (the reduction checks ties along its own axes)
    "unit": (unit_interval, "unit"),
    "probability": (probability, "probability"),
}

#: Shape rules of ops that have one of their own: ``Draw.kind`` names them.
_SHAPE_RULES: dict[str, Gen] = {
    "matmul": _matmul,
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "scatter_add": _scatter_add,
    "concatenate": _concatenate,
    "stack": _stack,
    "where": _where,
    "clamp": _clamp,
}


def generator(name: str, draw: Draw) -> Gen:
    """The generator of the op ``name`` from its declared :class:`~autograd_lite.ops.Draw`."""
    kind, domains = draw.kind, draw.domains
    if kind == "elementwise":
        pred, domain = DOMAINS[domains[0]]
        return _unary(name, pred, domain)
    if kind == "broadcasting":
        (left, left_domain), (right, right_domain) = DOMAINS[domains[0]], DOMAINS[domains[1]]
        constants = draw.constants or (_CONSTANTS, _CONSTANTS)
        return _broadcasting(name, left, right, left_domain, right_domain, constants)
    if kind == "same_shape":
        return _same_shape(name)
    if kind == "reduction":
        return _reduction(name, distinct=domains[0] == "distinct")
    if kind == "axis":
        return _softmax(name)
    if kind == "untied_pair":
        return _untied_pair(name)
    if kind == "cost":
        (left, left_domain), (right, right_domain) = DOMAINS[domains[0]], DOMAINS[domains[1]]
        return _pair_cost(name, left, left_domain, right, right_domain)
    if kind in _SHAPE_RULES:
        return _SHAPE_RULES[kind]
    raise InvalidArgumentError(
        f"{name}: unknown Draw kind {kind!r}; see autograd_lite.ops.Draw for the kinds"
    )


class _Generators(Mapping[str, Gen]):
    """Every declared op with a ``draw``, read from the registry at each use (so an op declared
    later, e.g. by a test module, is drawn too), plus the composite ``log_likelihood_cost``."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, Draw], Gen] = {}

    def _names(self) -> list[str]:
        names = [name for name, info in REGISTRY.items() if info.draw is not None]
        return names + ["log_likelihood_cost"]

    def __getitem__(self, name: str) -> Gen:
        if name == "log_likelihood_cost":
            return _log_likelihood
        info = REGISTRY.get(name)
        if info is None or info.draw is None:
            raise KeyError(name)
        key = (name, info.draw)
        if key not in self._made:
            self._made[key] = generator(name, info.draw)
        return self._made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: The generator of every op, by name.
GENERATORS: Mapping[str, Gen] = _Generators()
