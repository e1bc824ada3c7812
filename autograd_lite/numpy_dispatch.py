"""NumPy's own functions on Tensors: `np.exp(x)`, `np.sum(x, axis=0)`, `ndarray + x` record.

NumPy hands a call that involves a `Tensor` to
`Tensor.__array_ufunc__` (ufuncs: `np.exp`, `np.add` …) or `Tensor.__array_function__`
(the rest: `np.sum`, `np.concatenate` …); both land in `dispatch_ufunc` and
`dispatch_function` here. So code written for HIPS autograd (`import numpy as np` inside
`f`) runs unchanged under `autograd_lite.grad`.

The table is **derived from the op declarations**: every op of
`autograd_lite.ops.REGISTRY` declared with `numpy=(np.f, ...)` answers for those NumPy
functions (an op declared later, by a test or by user code with `defop`, is picked up at its
first use). NumPy's arguments are bound with NumPy's own signature and passed to the op's
public function by name (`np.clip`'s `a_min`/`a_max` are the op's `min`/`max`); an
argument the op does not take is accepted only at NumPy's default (`np.sum(x, dtype=None)`),
otherwise the call is refused. Besides the declarations there are:

* `COMPOSITIONS`: NumPy functions that are a composition of ops (`np.dot` is `matmul`
  up to 2-D, `mul` with a scalar; `np.square`, `np.outer`, `np.squeeze`, `np.expand_dims`,
  `np.var` and `np.std` with NumPy's ``ddof=0``);
* `PREDICATES`: comparison and test ufuncs (`np.equal`, `np.isnan` …), and ufuncs whose
  derivative is 0 wherever it exists (`np.sign`, `np.floor` …): not differentiable, they
  return NumPy's array, a constant;
* `READERS`: functions that return indices, truth values, shapes or constants of a tensor's
  shape (`np.argmax`, `np.allclose`, `np.shape`, `np.zeros_like` …): computed by NumPy on the
  tensor's values (or its shape alone), returned as NumPy values.

Anything else raises `NumpyDispatchError` naming the function and
pointing to `al.primitive`, as does `out=` (the result is a new Tensor; an array cannot hold
it) and any ufunc method other than a plain call (`np.add.reduce`: use `np.sum`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_lite.errors import NumpyDispatchError, ShapeError
from autograd_lite.function import Primitive
from autograd_lite.ops import REGISTRY, matmul, mul, reshape, transpose
from autograd_lite.tensor import Tensor, raw

__all__ = [
    "COMPOSITIONS",
    "PREDICATES",
    "READERS",
    "dispatch_function",
    "dispatch_table",
    "dispatch_ufunc",
    "numpy_name",
]


def numpy_name(func: Any) -> str:
    """`np.exp`, `np.linalg.norm`, `np.add.reduce`: how a user wrote `func`."""
    module = getattr(func, "__module__", None) or "numpy"
    prefix = "np" + module[len("numpy") :] if module.startswith("numpy") else module
    return f"{prefix}.{getattr(func, '__name__', repr(func))}"


def _dot(a: Any, b: Any) -> Tensor:
    """`np.dot`: the matrix product up to 2-D, the elementwise product with a scalar."""
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 0 or ndb == 0:
        return mul(a, b)
    if nda <= 2 and ndb <= 2:
        return matmul(a, b)
    raise NumpyDispatchError(
        f"np.dot of shapes {np.shape(a)} and {np.shape(b)}: on Tensors np.dot takes up to 2-D "
        f"operands; for stacks of matrices use np.matmul (or @)"
    )


def _new_shape(func: Callable[..., Any], a: Any, *args: Any) -> Tensor:
    """``a`` reshaped as NumPy's shape function ``func`` (`np.squeeze`, `np.expand_dims`)
    would reshape it: NumPy works out the shape (and its errors) on a stand-in."""
    try:
        shape = func(_metadata(a) if isinstance(a, Tensor) else a, *args).shape
    except ValueError as error:  # (an AxisError is a ValueError too)
        raise ShapeError(f"{numpy_name(func)}: {error} (input shape {np.shape(a)})") from None
    return reshape(a, shape=shape)


def _squeeze(a: Any, axis: Any = None) -> Tensor:
    """`np.squeeze`: a reshape."""
    return _new_shape(np.squeeze, a, axis)


def _expand_dims(a: Any, axis: Any) -> Tensor:
    """`np.expand_dims`: a reshape."""
    return _new_shape(np.expand_dims, a, axis)


def _moved_axes(func: Callable[..., Any], a: Any, *args: Any) -> Tensor:
    """``a`` transposed as NumPy's axis function ``func`` (`np.swapaxes`, `np.moveaxis`) would
    transpose it: NumPy moves the axes (and raises its errors) of a stand-in whose axis ``i``
    has length ``i + 1``, and the result's shape is the permutation."""
    shape = np.shape(a)
    stand_in = np.broadcast_to(np.zeros(()), tuple(range(1, len(shape) + 1)))
    try:
        moved = func(stand_in, *args).shape
    except (ValueError, TypeError) as error:  # (an AxisError is a ValueError too)
        raise ShapeError(f"{numpy_name(func)}: {error} (input shape {shape})") from None
    return transpose(a, axes=tuple(n - 1 for n in moved))


def _swapaxes(a: Any, axis1: int, axis2: int) -> Tensor:
    """`np.swapaxes`: a transpose."""
    return _moved_axes(np.swapaxes, a, axis1, axis2)


def _moveaxis(a: Any, source: Any, destination: Any) -> Tensor:
    """`np.moveaxis`: a transpose."""
    return _moved_axes(np.moveaxis, a, source, destination)


def _square(x: Any) -> Tensor:
    """`np.square`: ``x * x`` (the same correctly rounded product)."""
    return mul(x, x)


def _outer(a: Any, b: Any) -> Tensor:
    """`np.outer`: the flattened ``a`` as a column times the flattened ``b`` as a row."""
    return mul(reshape(a, shape=(-1, 1)), reshape(b, shape=(1, -1)))


def _spread(name: str) -> Callable[..., Tensor]:
    """`np.var` / `np.std`: the op with NumPy's ``ddof`` (default 0) as its ``correction``."""

    def spread(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
               keepdims: Any = False, **rest: Any) -> Tensor:  # fmt: skip
        _refuse_out(f"np.{name}", out)
        extra = {k: v for k, v in rest.items() if v is not _NO_VALUE and v is not None}
        extra.pop("correction", None)  # (NumPy 2's other name for ddof: taken below)
        if dtype is not None or extra.pop("where", True) is not True or extra:
            raise NumpyDispatchError(
                f"np.{name} on a Tensor takes axis=, ddof= and keepdims= only (or correction=); "
                f"leave dtype=, where= and mean= at their defaults"
            )
        correction = rest.get("correction")
        correction = ddof if correction is None or correction is _NO_VALUE else correction
        keep = False if keepdims is _NO_VALUE else bool(keepdims)
        return REGISTRY[name].primitive(a, axis=axis, keepdims=keep, correction=correction)

    spread.__name__ = f"np_{name}"
    return spread


#: NumPy functions computed as a composition of declared ops.
COMPOSITIONS: dict[Callable[..., Any], Callable[..., Tensor]] = {
    np.dot: _dot, np.square: _square, np.outer: _outer, np.squeeze: _squeeze,
    np.expand_dims: _expand_dims, np.var: _spread("var"), np.std: _spread("std"),
    np.swapaxes: _swapaxes, np.moveaxis: _moveaxis,
}  # fmt: skip

#: NumPy's aliases of a function the registry declares under its other name.
_ALIASES: dict[Callable[..., Any], Callable[..., Any]] = {np.amax: np.max, np.amin: np.min}

#: Ufuncs that compare or test values: no gradient; NumPy's boolean array comes back.
PREDICATES: frozenset[np.ufunc] = frozenset(
    (
        np.equal,
        np.not_equal,
        np.less,
        np.less_equal,
        np.greater,
        np.greater_equal,
        np.isnan,
        np.isinf,
        np.isfinite,
        np.signbit,
        np.logical_and,
        np.logical_or,
        np.logical_xor,
        np.logical_not,
        # values whose derivative is 0 wherever it exists (PyTorch's sign, floor ...): NumPy's
        # result comes back, a constant of the graph
        np.sign,
        np.floor,
        np.ceil,
        np.trunc,
        np.rint,
    )
)

#: Functions whose result is not a value to differentiate (indices, truth values, shapes).
READERS: frozenset[Callable[..., Any]] = frozenset(
    (
        np.argmax,
        np.argmin,
        np.argsort,
        np.nonzero,
        np.flatnonzero,
        np.count_nonzero,
        np.any,
        np.all,
        np.isclose,
        np.allclose,
        np.array_equal,
        np.shape,
        np.ndim,
        np.size,
        np.result_type,
        np.zeros_like,
        np.ones_like,
        np.empty_like,
        np.full_like,
    )
)
#: Readers of a tensor's shape and dtype only (no value is read, so they are fine while a replay
#: records).
_METADATA = frozenset(
    (np.shape, np.ndim, np.size, np.result_type, np.zeros_like, np.ones_like, np.empty_like,
     np.full_like)
)  # fmt: skip

#: NumPy's parameter names that an op spells otherwise.
_RENAMED = {"a_min": "min", "a_max": "max"}

#: A ufunc's keyword arguments at their defaults (anything else is refused).
_UFUNC_DEFAULTS: dict[str, Any] = {
    "where": True,
    "casting": "same_kind",
    "order": "K",
    "dtype": None,
    "subok": True,
    "signature": None,
}

_table: dict[Any, Callable[..., Tensor]] = {}
_table_key: tuple[int, str | None] = (-1, None)


def _key() -> tuple[int, str | None]:
    return len(REGISTRY), next(reversed(REGISTRY), None)


def dispatch_table() -> dict[Any, Callable[..., Tensor]]:
    """NumPy function or ufunc -> the public function of the op that computes it.

    Derived from the `numpy=` metadata of `REGISTRY` (rebuilt when an
    op is declared), plus `COMPOSITIONS`.
    """
    global _table, _table_key
    key = _key()
    if key != _table_key:
        table: dict[Any, Callable[..., Tensor]] = {}
        for info in REGISTRY.values():
            for func in info.numpy:
                table[func] = info.public or info.primitive
        for alias, func in _ALIASES.items():
            if func in table:
                table.setdefault(alias, table[func])
        table.update(COMPOSITIONS)
        _table, _table_key = table, key
    return _table


def _no_rule(name: str) -> NumpyDispatchError:
    return NumpyDispatchError(
        f"{name} has no derivative rule in autograd_lite, so it cannot take a Tensor: write it "
        f"with autograd_lite ops, declare it with al.primitive (forward + vjp), or pass "
        f"x.detach().numpy() to use the values as a constant"
    )


def _refuse_out(name: str, out: Any) -> None:
    if out is None or (isinstance(out, tuple) and all(o is None for o in out)):
        return
    raise NumpyDispatchError(
        f"{name}(..., out=...) on a Tensor: the result is a new Tensor, an existing array "
        f"cannot hold it; write y = {name}(...) instead (this includes `array += tensor`)"
    )


def dispatch_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict[str, Any]) -> Any:
    """`Tensor.__array_ufunc__`: a ufunc call with a Tensor among `inputs` (or `out`)."""
    if not kwargs and method == "__call__":  # the hot path: `ndarray @ tensor`, `np.exp(t)`
        op = (_table if _table_key == _key() else dispatch_table()).get(ufunc)
        if op is not None:
            return op(*inputs)
    name = numpy_name(ufunc)
    if method != "__call__":
        raise NumpyDispatchError(
            f"{name}.{method} on a Tensor has no derivative rule: only plain calls record "
            f"(for {name}.reduce use np.sum / np.max ..., or declare it with al.primitive)"
        )
    _refuse_out(name, kwargs.pop("out", None))
    for key, value in kwargs.items():
        if key not in _UFUNC_DEFAULTS or not _is_default(value, _UFUNC_DEFAULTS[key]):
            raise NumpyDispatchError(
                f"{name}(..., {key}={value!r}) on a Tensor: only the default is supported; "
                f"convert the result afterwards (e.g. .astype) or compute on x.detach().numpy()"
            )
    if ufunc in PREDICATES:
        return ufunc(*(raw(x) for x in inputs))
    op = dispatch_table().get(ufunc)
    if op is None:
        raise _no_rule(name)
    return op(*inputs)


def dispatch_function(func: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """`Tensor.__array_function__`: a NumPy function called with a Tensor among its
    arguments."""
    if func is np.where and len(args) + len(kwargs) == 1:  # np.where(c): np.nonzero(c)
        return np.nonzero(raw(args[0]) if args else raw(next(iter(kwargs.values()))))
    op = (_table if _table_key == _key() else dispatch_table()).get(func)
    if op is not None:  # the hot path: `np.sum(t, axis=0)`, `np.reshape(t, (4,))`
        positional, shared = _shared_names(func, op)
        if len(args) - 1 <= len(positional) and shared.issuperset(kwargs):
            if len(args) == 1:
                return op(args[0], **kwargs)
            return op(args[0], **dict(zip(positional, args[1:])), **kwargs)
    if func in READERS:
        values = _metadata if func in _METADATA else raw
        return func(*_replace(args, values), **_replace(kwargs, values))
    name = numpy_name(func)
    if op is None:
        raise _no_rule(name)
    if func in COMPOSITIONS:
        return op(*args, **kwargs)
    return _call(func, name, op, args, kwargs)


_shared: dict[tuple[Any, Any], tuple[tuple[str, ...], frozenset[str]]] = {}


def _shared_names(func: Any, op: Callable[..., Tensor]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The arguments after the first that NumPy's `func` and the op take under one name and
    meaning, which pass through as they are: (those NumPy takes by position, in order, up to the
    first that is not shared; all of them). Empty where the first argument needs a check
    (`np.concatenate(..., axis=None)`), the table has an adapter, or a signature is unknown."""
    found = _shared.get((func, op))
    if found is None:
        positional: list[str] = []
        names: frozenset[str] = frozenset()
        their_signature, our_signature = _signature(func), _signature(_target(op))
        if func not in COMPOSITIONS and their_signature and our_signature:
            theirs = list(their_signature.parameters.values())
            ours = our_signature.parameters
            if theirs and theirs[0].name != "arrays":
                names = frozenset(
                    p.name for p in theirs[1:] if p.name in ours and p.name not in _RENAMED
                )
                for p in theirs[1:]:
                    if p.name not in names or p.kind not in (
                        p.POSITIONAL_ONLY,
                        p.POSITIONAL_OR_KEYWORD,
                    ):
                        break
                    positional.append(p.name)
        found = _shared[(func, op)] = (tuple(positional), names)
    return found


def _call(func: Any, name: str, op: Callable[..., Tensor], args: tuple, kwargs: dict) -> Tensor:
    """Bind NumPy's arguments with NumPy's signature, then call the op by parameter name."""
    theirs, ours = _signature(func), _signature(_target(op))
    if theirs is None or ours is None:  # (a signature Python cannot read: pass the call on)
        _refuse_out(name, kwargs.pop("out", None))
        return op(*args, **kwargs)
    try:
        bound = theirs.bind(*args, **kwargs)
    except TypeError as error:
        raise NumpyDispatchError(f"{name}: {error}") from None
    given = dict(bound.arguments)
    for param in theirs.parameters.values():  # (**kwargs of NumPy's signature, e.g. np.clip)
        if param.kind is param.VAR_KEYWORD:
            given.update(given.pop(param.name, {}))
    first, *rest = given.items()
    call_kwargs: dict[str, Any] = {}
    if first[0] == "arrays":  # np.concatenate / np.stack: a sequence of arrays
        _reject_axis_none(name, dict(rest))
    for key, value in rest:
        if value is _NO_VALUE:
            continue
        if key == "out":
            _refuse_out(name, value)
            continue
        target = _RENAMED.get(key, key)
        declared = theirs.parameters.get(key)
        if target in ours.parameters:
            call_kwargs[target] = value
        elif declared is None or not _is_default(value, declared.default):
            raise NumpyDispatchError(
                f"{name}(..., {key}={value!r}) on a Tensor: autograd_lite's "
                f"{getattr(op, 'name', None) or op.__name__} does not take {key}=; "
                f"leave it at NumPy's default"
            )
    return op(first[1], **call_kwargs)


_NO_VALUE: Any = getattr(np, "_NoValue", None)


def _reject_axis_none(name: str, rest: dict[str, Any]) -> None:
    if "axis" in rest and rest["axis"] is None:
        raise NumpyDispatchError(
            f"{name}(..., axis=None) on Tensors: flatten each one first "
            f"(np.reshape(t, -1)) and join them along axis=0"
        )


def _is_default(value: Any, default: Any) -> bool:
    if value is default or value is _NO_VALUE:
        return True
    simple = (str, bool, int, float, type(None))
    return type(value) in simple and type(value) is type(default) and value == default


_signatures: dict[Any, inspect.Signature | None] = {}


def _signature(func: Any) -> inspect.Signature | None:
    if func not in _signatures:
        try:
            _signatures[func] = inspect.signature(func)
        except (TypeError, ValueError):  # (some functions written in C have none)
            _signatures[func] = None
    return _signatures[func]


def _target(op: Callable[..., Tensor]) -> Callable[..., Any]:
    """Whose parameters the op takes: a primitive's forward, or the public wrapper itself."""
    return op.forward if isinstance(op, Primitive) else op


def _metadata(tensor: Tensor) -> np.ndarray:
    # A stand-in with the tensor's shape and dtype that reads none of its values.
    return np.broadcast_to(np.zeros((), tensor.dtype), tensor.shape)


def _replace(value: Any, convert: Callable[[Tensor], Any]) -> Any:
    """`value` with every Tensor in it (at the top or in a list/tuple/dict) converted."""
    if isinstance(value, Tensor):
        return convert(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_replace(v, convert) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, convert) for k, v in value.items()}
    return value
