"""How ``strategies.graphs`` draws each op: valid shapes, parameters and input domains.

Each op declares how it is drawn (``defop(..., draw=Draw(kind, domains))`` in
[`autograd_lite.ops`][autograd_lite.ops]): `GENERATORS` is derived from those declarations. Every
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
from autograd_lite.ops import REGISTRY, Draw, max_pool2d, max_pool2d_masks
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
            return _broadcasts_within(sx, v.shape) and right(v)

        y = b.pick(fits, lambda: b.partner(sx), right_domain)
        return b.emit(op, (x, y))

    return gen


def _broadcasts_within(sa: tuple[int, ...], sb: tuple[int, ...]) -> bool:
    """Whether the shapes broadcast together to one within the graphs' bounds."""
    try:
        joint = np.broadcast_shapes(sa, sb)
    except ValueError:
        return False
    return len(joint) <= MAX_NDIM and int(np.prod(joint)) <= MAX_SIZE


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
    if b.max_side >= 2 and b.integer(0, 2) == 2:  # (shrinks to 0: the general case)
        # A fresh left operand is then a square matrix of distinct values: where a forgotten or
        # misplaced transpose keeps the shape right and the values wrong (not so when symmetric).
        n = b.integer(2, b.max_side)
        a = b.pick(lambda v: 1 <= v.ndim <= 3, (n, n), "distinct")
    else:
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


def _linear(b: Builder) -> Any:
    """A mini-batch of rows ``(m, k)``, a weight ``(n, k)`` and a bias ``(n,)``."""
    x = b.pick(lambda v: v.ndim == 2, lambda: b.new_shape(2, 2))
    k = b.shape(x)[1]
    weight = b.pick(lambda v: v.ndim == 2 and v.shape[1] == k, lambda: (b.side(), k))
    n = b.shape(weight)[0]
    return b.emit("linear", (x, weight, b.pick(lambda v: v.shape == (n,), (n,))))


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


def _along(op: str) -> Gen:
    """One int axis and keepdims, over values without near-ties along it (max_along, min_along:
    the gradient goes to one element, which a tie would make a kink)."""

    def gen(b: Builder) -> Any:
        rule, keepdims = b.axis_rule(("int",)), b.flag()

        def pred(v: np.ndarray) -> bool:
            return v.ndim >= 1 and no_ties(rule(v.ndim))(v) and no_ties(rule(v.ndim))(-v)

        x = b.pick(pred, lambda: b.new_shape(1), "distinct")
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
            if not _broadcasts_within(sx, v.shape):
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


# -- convolution and pooling (ops.py's last section) -----------------------------------------------
def _conv_geometry(b: Builder, size: tuple[int, ...], pool: bool = False) -> tuple:
    """kernel, stride, padding, dilation for an input of spatial ``size`` whose output is not
    empty (pooling: padding at most half the kernel, no dilation)."""
    stride = (b.integer(1, 2), b.integer(1, 2))
    dilation = (1, 1) if pool else (b.integer(1, 2), b.integer(1, 2))
    kernel, padding = [], []
    for n, d in zip(size, dilation):
        k = b.integer(1, min(3, (n - 1) // d + 1))
        kernel.append(k)
        padding.append(b.integer(0, k // 2 if pool else 1))
    return tuple(kernel), stride, tuple(padding), dilation


def _conv_out(size: tuple[int, ...], kernel: tuple, stride: tuple, padding: tuple,
              dilation: tuple) -> tuple[int, int]:  # fmt: skip
    h, w = ((n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))  # fmt: skip
    return h, w


def _nchw(b: Builder) -> tuple[int, ...]:
    return (b.integer(1, 2), b.integer(1, 2), b.integer(1, 4), b.integer(1, 4))


def _four_d(v: np.ndarray) -> bool:
    return v.ndim == 4


def _spread(v: np.ndarray) -> bool:
    """4-D, every two entries apart by more than 2·MARGIN (no near-ties in any window)."""
    return v.ndim == 4 and (v.size < 2 or bool(np.diff(np.sort(v, axis=None)).min() > 0.1))


def _conv2d(b: Builder) -> Any:
    x = b.pick(lambda v: v.ndim == 4, lambda: _nchw(b))
    n, c, *size = b.shape(x)
    kernel, stride, padding, dilation = _conv_geometry(b, tuple(size))
    o = b.integer(1, 2)
    w = b.pick(lambda v: v.shape == (o, c, *kernel), (o, c, *kernel))
    bias = b.pick(lambda v: v.shape == (o,), (o,)) if b.flag() else 0.0
    params = {"stride": stride, "padding": padding, "dilation": dilation}
    return b.emit("conv2d", (x, w, bias), params)


def _conv2d_grads(op: str) -> Gen:
    """``conv2d_input_grad(g, w)`` or ``conv2d_weight_grad(x, g)`` for a drawn convolution."""

    def gen(b: Builder) -> Any:
        n, c, *size = _nchw(b)
        kernel, stride, padding, dilation = _conv_geometry(b, tuple(size))
        o = b.integer(1, 2)
        x_shape, w_shape = (n, c, *size), (o, c, *kernel)
        g_shape = (n, o, *_conv_out(tuple(size), kernel, stride, padding, dilation))
        g = b.pick(lambda v: v.shape == g_shape, g_shape)
        params = {"stride": stride, "padding": padding, "dilation": dilation}
        if op == "conv2d_input_grad":
            w = b.pick(lambda v: v.shape == w_shape, w_shape)
            return b.emit(op, (g, w), {"x_shape": x_shape, **params})
        x = b.pick(lambda v: v.shape == x_shape, x_shape)
        return b.emit(op, (x, g), {"w_shape": w_shape, **params})

    return gen


def _pool(op: str) -> Gen:
    """``max_pool2d`` (on values without near-ties) or ``avg_pool2d``."""

    def gen(b: Builder) -> Any:
        distinct = op == "max_pool2d"
        x = b.pick(
            _spread if distinct else _four_d, lambda: _nchw(b), "distinct" if distinct else "real"
        )
        kernel, stride, padding, _ = _conv_geometry(b, b.shape(x)[2:], pool=True)
        return b.emit(op, (x,), {"kernel_size": kernel, "stride": stride, "padding": padding})

    return gen


def _pool_backward(op: str) -> Gen:
    """``max_pool2d_backward`` (first-max masks of a drawn input) or ``avg_pool2d_backward``."""

    def gen(b: Builder) -> Any:
        shape = _nchw(b)
        kernel, stride, padding, dilation = _conv_geometry(b, shape[2:], pool=True)
        out = shape[:2] + _conv_out(shape[2:], kernel, stride, padding, dilation)
        g = b.pick(lambda v: v.shape == out, out)
        params = {"shape": shape, "kernel_size": kernel, "stride": stride, "padding": padding}
        if op == "max_pool2d_backward":
            x = b.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)))
            top = max_pool2d(x, kernel, stride, padding).data
            params["masks"] = max_pool2d_masks(x, top, kernel, stride, padding, dilation)
        return b.emit(op, (g,), params)

    return gen


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
    "linear": _linear,
    "max_along": _along("max_along"),
    "min_along": _along("min_along"),
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "scatter_add": _scatter_add,
    "concatenate": _concatenate,
    "stack": _stack,
    "where": _where,
    "conv2d": _conv2d,
    "conv2d_input_grad": _conv2d_grads("conv2d_input_grad"),
    "conv2d_weight_grad": _conv2d_grads("conv2d_weight_grad"),
    "max_pool2d": _pool("max_pool2d"),
    "avg_pool2d": _pool("avg_pool2d"),
    "max_pool2d_backward": _pool_backward("max_pool2d_backward"),
    "avg_pool2d_backward": _pool_backward("avg_pool2d_backward"),
    "clamp": _clamp,
}


def generator(name: str, draw: Draw) -> Gen:
    """The generator of the op ``name`` from its declared [`Draw`][autograd_lite.ops.Draw]."""
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
