"""The `Tensor`: an array, its gradient, and the link to the op that made it.

A Tensor made by the user is a *leaf*. A Tensor returned by an op while gradients are being
recorded remembers that op (``_op``), its inputs (``_args``: Tensors or constants) and the input
arrays the op saw (``_arrays``). That is the whole graph: `autograd_lite.engine` walks it
backwards. Operator sugar (``+``, ``@``, ``.sum()`` …) is installed on the class by
`autograd_lite.ops`, from the declaration of the op each one calls (where every forward
sits beside its derivative): this module imports nothing above it (``backward`` imports the
engine when it runs).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from autograd_lite.errors import (
    InvalidInputError,
    ReplayError,
    RequiresGradError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.modes import STATE, no_grad

__all__ = ["Tensor", "as_array", "raw", "guarding_data"]

#: Every tensor gets the next number at creation. A tensor is always created after its inputs, so
#: the engine can visit a graph in decreasing sequence number without sorting it first.
next_sequence_number = itertools.count().__next__


class _WeakIdentityMap:
    """Tensor -> value, holding the Tensor weakly and keyed by identity (a
    ``WeakKeyDictionary`` compares its keys with ``==``, which is elementwise on Tensors)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[int, tuple[weakref.ref[Tensor], Any]] = {}

    def __setitem__(self, tensor: Tensor, value: Any) -> None:
        key, items = id(tensor), self._items

        def forget(ref: weakref.ref[Tensor]) -> None:
            entry = items.get(key)
            if entry is not None and entry[0] is ref:
                del items[key]

        items[key] = (weakref.ref(tensor, forget), value)

    def get(self, tensor: Any, default: Any = None) -> Any:
        entry = self._items.get(id(tensor))
        if entry is None or entry[0]() is not tensor:
            return default
        return entry[1]

    def __len__(self) -> int:
        return len(self._items)


#: While a replay records, each Tensor made by converting something (a list, an int array, another
#: Tensor) -> (that object, dtype): the replay converts it again at every call instead of
#: freezing the copy.
MADE_FROM = _WeakIdentityMap()

#: What an op takes besides a Tensor: an array or a Python number.
Operand = Union["Tensor", ArrayLike]

_FLOAT_KINDS = "f"
_CASTABLE_KINDS = "biu"


def float_dtype(what: str, dtype: DTypeLike, hint: str = "use float32 or float64") -> np.dtype:
    """``dtype`` as a NumPy floating-point dtype, or
    [`InvalidInputError`][autograd_lite.errors.InvalidInputError] naming ``what`` (a Tensor
    holds floating-point numbers only; ``hint`` says what to do instead)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise InvalidInputError(f"{what}: {dtype!r} is not a NumPy dtype") from None
    if resolved.kind not in _FLOAT_KINDS:
        raise InvalidInputError(
            f"{what}: a Tensor holds floating-point numbers, not {resolved}; {hint}"
        )
    return resolved


def as_array(data: Operand, dtype: DTypeLike | None = None, what: str = "Tensor") -> np.ndarray:
    """Convert ``data`` to a floating-point ndarray, refusing non-numeric input.

    Floating-point arrays are used as they are (no copy); booleans and integers become float64
    (or ``dtype``). Strings, objects, ``None`` and complex numbers raise
    [`InvalidInputError`][autograd_lite.errors.InvalidInputError] naming ``what``.
    """
    if isinstance(data, Tensor):
        _check_not_recorded(data, "al.Tensor(x) (the constructor, or another conversion)")
        data = data.data
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"{what}: cannot make a numeric array from {type(data).__name__} ({error})"
        ) from None
    kind = array.dtype.kind
    if kind in _FLOAT_KINDS:
        return array
    if kind in _CASTABLE_KINDS:
        return array.astype(np.float64)
    raise InvalidInputError(
        f"{what}: expected numbers, got an array of dtype {array.dtype} "
        f"(from {type(data).__name__}); convert the data to floats first"
    )


class _Size(int):
    """``Tensor.size``: the number of elements, an int (NumPy's ``size``) that can also be
    called as PyTorch's ``size()`` (the shape) and ``size(dim)`` (the length of one dim)."""

    _shape: tuple[int, ...]

    def __new__(cls, size: int, shape: tuple[int, ...]) -> _Size:
        out = super().__new__(cls, size)
        out._shape = shape
        return out

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # In NumPy's arithmetic, a plain int (weakly typed: float32 arrays stay float32).
        plain = (int(x) if isinstance(x, _Size) else x for x in inputs)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._shape
        ndim = len(self._shape)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise InvalidInputError(f"size: dim must be an int, got {dim!r}")
        if not -ndim <= dim < ndim or not self._shape:
            raise TensorIndexError(
                f"size: dim {dim} is out of range for a tensor of shape {self._shape}"
            )
        return self._shape[dim]


class _HookHandle:
    """Returned by `Tensor.register_hook()`; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array_like
        Numbers. Floating-point arrays keep their dtype (float32 stays float32) and are not
        copied; integers, booleans and Python lists become float64.
    requires_grad : bool, default False
        Whether gradients with respect to this tensor are wanted. Ops on a tensor that requires
        grad record themselves so that `backward()` can reach it.
    name : str, optional
        A label shown in ``repr`` and in graph drawings (`autograd_lite.viz.to_dot()`).
    dtype : numpy dtype, optional
        Convert the data to this dtype.

    Examples
    --------
    >>> import autograd_lite as al
    >>> x = al.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.])
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "name",
        "_op",
        "_in0",
        "_in1",
        "_more",
        "_arrays",
        "_params",
        "_hooks",
        "_retain",
        "_seq",
        "__weakref__",
    )

    def __init__(
        self,
        data: Operand,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.data = array = as_array(data, dtype)
        self.grad: Any = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._op: Any = None  # the Primitive that made it (autograd_lite.function)
        self._in0: Any = None
        self._in1: Any = None
        self._more: Any = None  # (tuple | None: the inputs past the second)
        self._arrays: Any = None  # (tuple | None)
        self._params: Any = None  # (dict | None)
        self._hooks: list | None = None
        self._retain = False
        self._seq = next_sequence_number()
        if STATE.recording and array is not data:  # a conversion: see replay
            MADE_FROM[self] = (data, dtype)

    # -- construction without validation (the caller made the array) --------------------------
    @classmethod
    def _constant(cls, data: np.ndarray) -> Tensor:
        out = cls.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = False
        out.name = None
        out._op = None
        out._in0 = out._in1 = out._more = None
        out._arrays = None
        out._params = None
        out._hooks = None
        out._retain = False
        out._seq = next_sequence_number()
        return out

    # -- array-like properties ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of `data`."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> _Size:
        """The number of elements (NumPy's ``x.size``, an int); called, PyTorch's
        ``x.size()`` (the shape) and ``x.size(d)`` (the length of dim ``d``)."""
        data = self.data
        return _Size(data.size, data.shape)

    def dim(self) -> int:
        """The number of dimensions, PyTorch's spelling of `ndim`."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements, PyTorch's spelling of NumPy's `size`."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of `data` (float64 unless float32 was given)."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (or by an op while nothing required grad)."""
        return self._op is None

    @property
    def _args(self) -> tuple | None:
        """The inputs of the op that made this tensor (Tensors or constants), or None for a
        leaf and after the graph was released.

        They are kept in three slots rather than one tuple: a tuple of Tensors is one more object
        for Python's cyclic garbage collector to traverse, per op, at every full collection.
        """
        arrays = self._arrays
        if arrays is None:
            return None
        n = len(arrays)
        if n == 1:
            return (self._in0,)
        if n == 2:
            return (self._in0, self._in1)
        return (self._in0, self._in1, *(self._more or ())) if n else ()

    @property
    def op(self) -> str | None:
        """The name of the op that produced this tensor, or None for a leaf."""
        return None if self._op is None else self._op.name

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise InvalidInputError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise InvalidInputError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __repr__(self) -> str:
        _check_not_recorded(self, "repr()/str()")
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = []
        if self.dtype != np.float64:
            extras.append(f"dtype={self.dtype}")
        if self._op is not None:
            extras.append(f"op={self._op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}{''.join(', ' + e for e in extras)})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)`: the data of a tensor that does not require grad.

        A tensor that requires grad (or was computed from one) refuses, as in PyTorch: the
        array would silently leave the graph. Call `t.detach().numpy()` for its values.
        """
        if self.requires_grad:
            raise RequiresGradError(
                f"np.asarray / np.array of a Tensor of shape {self.shape} that requires grad: "
                f"its values would leave the graph; call .detach().numpy() instead"
            )
        _check_not_recorded(self, "converting it to a NumPy array")
        if dtype is None:
            return self.data.copy() if copy else self.data
        return self.data.astype(dtype, copy=bool(copy))

    # -- NumPy's functions on Tensors record (`np.exp(x)`, `ndarray + x`): the dispatch
    # table (derived from the op declarations) lives in autograd_lite.numpy_dispatch, above ops.
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Ufuncs (`np.exp`, `np.add` …, and `ndarray + tensor`) record as ops."""
        return _numpy_dispatch().dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(
        self, func: Callable[..., Any], types: Any, args: tuple, kwargs: dict[str, Any]
    ) -> Any:
        """NumPy's functions (`np.sum`, `np.concatenate` …) record as ops."""
        for kind in types:  # another library's array type among the arguments: let it answer
            if not (issubclass(kind, Tensor) or issubclass(kind, np.ndarray)):
                return NotImplemented
        return _numpy_dispatch().dispatch_function(func, args, kwargs)

    def __bool__(self) -> bool:
        _check_not_recorded(self, "its truth value (an `if` on data)")
        if self.data.size != 1:
            raise ShapeError(
                f"bool(): the truth value of a Tensor of shape {self.shape} is ambiguous (it "
                f"has {self.data.size} elements, not one); use (t != 0).any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        _check_not_recorded(self, "float()")
        return float(self.item())

    def __int__(self) -> int:
        _check_not_recorded(self, "int()")
        return int(self.item())

    # Comparisons are elementwise, as in PyTorch and NumPy, and return NumPy boolean arrays
    # (not recorded). Tensors stay hashed by identity (the engine keys its dictionaries on
    # them): Python's dicts and sets test identity before ``==``, so those keep working; to ask
    # whether a Tensor is in a list, compare with ``is``.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> NDArray[np.bool_]:  # type: ignore[override]
        return self._compare(other, np.equal, "==")

    def __ne__(self, other: object) -> NDArray[np.bool_]:  # type: ignore[override]
        return self._compare(other, np.not_equal, "!=")

    def __lt__(self, other: Operand) -> NDArray[np.bool_]:
        return self._compare(other, np.less, "<")

    def __le__(self, other: Operand) -> NDArray[np.bool_]:
        return self._compare(other, np.less_equal, "<=")

    def __gt__(self, other: Operand) -> NDArray[np.bool_]:
        return self._compare(other, np.greater, ">")

    def __ge__(self, other: Operand) -> NDArray[np.bool_]:
        return self._compare(other, np.greater_equal, ">=")

    # PyTorch's names of the comparisons
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def _compare(self, other: Any, compare: np.ufunc, symbol: str) -> Any:
        """``compare(data, other)``; NotImplemented for what is not numbers (``t == None`` is
        then False, as in PyTorch, and ``t < "a"`` Python's TypeError)."""
        _check_not_recorded(self, f"'{symbol}'")
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented
        value = raw(other)
        try:
            return compare(self.data, value)
        except ValueError:  # (shapes that do not broadcast)
            raise ShapeError(
                f"'{symbol}': cannot compare a Tensor of shape {self.shape} with shape "
                f"{np.shape(value)}: the shapes do not broadcast"
            ) from None
        except TypeError:  # (a value NumPy cannot compare with numbers)
            return NotImplemented

    # -- in-place arithmetic (PyTorch's manual update: ``with no_grad(): w -= lr * w.grad``) --
    def __iadd__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.add, "+=")

    def __isub__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.subtract, "-=")

    def __imul__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.multiply, "*=")

    def __itruediv__(self, other: Operand) -> Tensor:
        return self._in_place(other, np.divide, "/=")

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``, by the rules of ``t += x``: on a constant, or under ``no_grad``
        (not on a node whose graph awaits its backward), ``t`` gets a new array with the values
        assigned. Where it would have to be recorded it raises: write ``al.where(mask, value, t)``
        or build the result with ``al.stack`` / ``al.concatenate``."""
        if STATE.grad_enabled and (
            self.requires_grad
            or self._op is not None
            or (isinstance(value, Tensor) and value.requires_grad)
        ):
            raise RequiresGradError(
                f"t[...] = value on a Tensor of shape {self.shape} with gradients enabled: the "
                f"assignment cannot be recorded; write al.where(mask, value, t), or assign "
                f"under al.no_grad() to a Tensor that no graph needs"
            )

        def assign(data: np.ndarray, other: Any) -> np.ndarray:
            out = data.copy()
            out[index] = other
            return out

        self._in_place(value, assign, "[...] =")

    def _in_place(self, other: Any, compute: Callable[..., Any], symbol: str) -> Any:
        """``t -= x`` and the like. Where the result would be recorded (gradients enabled and
        ``t`` or ``x`` in a graph), it is the new Tensor ``t - x`` (a leaf that requires grad
        refuses, as in PyTorch); otherwise (under ``no_grad``, or on constants) ``t`` itself,
        holding a new array of its shape and dtype: the arrays that graphs saved are never
        overwritten."""
        in_graph = self.requires_grad or self._op is not None
        if STATE.grad_enabled and (in_graph or (isinstance(other, Tensor) and other.requires_grad)):
            if self._op is None and self.requires_grad:
                raise RequiresGradError(
                    f"'{symbol}' on a leaf Tensor of shape {self.shape} that requires grad: "
                    f"its old value would be lost to the graph; update it under "
                    f"al.no_grad() (as in PyTorch), or write t = t {symbol[0]} x"
                )
            return NotImplemented  # (Python then computes t = t - x: a recorded op)
        _check_not_recorded(self, f"'{symbol}'")
        if self._op is not None and self._arrays is not None and self.requires_grad:
            raise RequiresGradError(  # (PyTorch's version counter raises at the backward)
                f"'{symbol}' on a Tensor of shape {self.shape} computed by '{self._op.name}' in a "
                f"graph not yet backpropagated: its backward may read this value, so changing "
                f"it would make the gradients wrong; compute a new Tensor instead"
            )
        try:
            value = compute(self.data, raw(other))
        except (TypeError, ValueError, IndexError) as error:
            # (not numbers; shapes that do not broadcast; t[index] = v with the index out of range)
            kind = (
                TensorIndexError if isinstance(error, IndexError)
                else ShapeError if isinstance(error, ValueError) else InvalidInputError
            )  # fmt: skip
            raise kind(
                f"'{symbol}' on a Tensor of shape {self.shape} with {type(other).__name__} "
                f"of shape {np.shape(raw(other))}: {error}"
            ) from None
        if value.shape != self.data.shape:
            raise ShapeError(
                f"'{symbol}': the result has shape {value.shape}, the Tensor {self.shape}; "
                f"an in-place update keeps the Tensor's shape"
            )
        self.data = value.astype(self.data.dtype, copy=False)
        return self

    # -- values out --------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        _check_not_recorded(self, "numpy()")
        return self.data

    def tolist(self) -> Any:
        """The values as (nested) Python lists of floats, like ``ndarray.tolist`` (a float for
        a 0-d tensor)."""
        _check_not_recorded(self, "tolist()")
        return self.data.tolist()

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        _check_not_recorded(self, "item()")
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a one-element tensor can be converted to a Python number, "
                f"this one has shape {self.data.shape}"
            )
        return self.data.item()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph.

        While a replay records (``al.grad(f, replay=True)``) and this tensor depends on the
        arguments, the result is a stop-gradient step that each replay recomputes."""
        if STATE.recording and (self.requires_grad or self._op is not None):
            with no_grad():
                return self.reshape(self.data.shape)  # (an identity, not differentiated)
        return Tensor._constant(self.data)

    # -- autodiff ----------------------------------------------------------------------------
    def backward(
        self, grad: Operand | None = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of some scalar with respect to this tensor (the "upstream" vector of the
            vector-Jacobian product). May be omitted only when this tensor has one element.
        retain_graph : bool, default False
            Keep the graph's saved arrays so that backward can run through it again.
        create_graph : bool, default False
            Record the backward pass itself, so the gradients (then Tensors) can be
            differentiated again: gradients of gradients, Hessian-vector products.
        """
        from autograd_lite import engine  # (engine sits above tensor: the one lazy import)

        engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (e.g. to read δ^l = ∂C/∂z^l)."""
        self._retain = True
        return self

    def register_hook(self, hook: Callable[[Any], Any]) -> _HookHandle:
        """Call ``hook(grad)`` when this tensor's total gradient is ready.

        The hook may return a replacement gradient of the same shape, or None to keep it.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise InvalidInputError(f"register_hook: expected a callable, got {type(hook)}")
        if not self.requires_grad:
            raise RequiresGradError(
                "register_hook: this tensor does not require grad; create it with "
                "requires_grad=True (or call requires_grad_()) first"
            )
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def zero_grad(self) -> None:
        """Clear ``.grad`` (set it to None)."""
        self.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place and return it."""
        if self._op is not None and not requires_grad:
            raise RequiresGradError(
                "requires_grad_: a non-leaf tensor always requires grad; use detach()"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # -- operators and op methods: installed by autograd_lite.ops from its declarations --------
    # (each op says which it backs: ``defop(..., methods=("__add__", "__radd__"))``). Declared
    # here for type checkers only.
    if TYPE_CHECKING:

        def __add__(self, other: Operand) -> Tensor: ...
        def __radd__(self, other: Operand) -> Tensor: ...
        def __sub__(self, other: Operand) -> Tensor: ...
        def __rsub__(self, other: Operand) -> Tensor: ...
        def __mul__(self, other: Operand) -> Tensor: ...
        def __rmul__(self, other: Operand) -> Tensor: ...
        def __truediv__(self, other: Operand) -> Tensor: ...
        def __rtruediv__(self, other: Operand) -> Tensor: ...
        def __pow__(self, other: Operand) -> Tensor: ...
        def __rpow__(self, other: Operand) -> Tensor: ...
        def __matmul__(self, other: Operand) -> Tensor: ...
        def __rmatmul__(self, other: Operand) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        @property
        def T(self) -> Tensor: ...
        def __getattr__(self, name: str) -> Any: ...  # the op methods: t.sum(), t.exp() ...

    def __pos__(self) -> Tensor:
        return self


_DISPATCH: Any = None


def _numpy_dispatch() -> Any:
    """The module autograd_lite.numpy_dispatch (above this layer: one lazy import, cached)."""
    global _DISPATCH
    if _DISPATCH is None:
        from autograd_lite import numpy_dispatch

        _DISPATCH = numpy_dispatch
    return _DISPATCH


def raw(value: Any) -> Any:
    """The array of a Tensor (or the value itself), for a use outside the graph: a mask, an
    index, labels. While a replay records, reading a Tensor that ``f`` computes is refused
    ([`ReplayError`][autograd_lite.errors.ReplayError]): its value would be frozen into the plan."""
    if isinstance(value, Tensor):
        _check_not_recorded(value, "its values, used outside the graph")
        return value.data
    return value


def _check_not_recorded(tensor: Tensor, what: str) -> None:
    """While ``al.grad(f, replay=True)`` records ``f``, a value read out of a Tensor that
    depends on the arguments would be frozen into the plan: the replay would reuse the first
    call's value. Refuse it instead. Such a Tensor requires grad (every argument does while
    ``f`` is recorded), or was computed under ``no_grad`` or from outside Tensors only (then it
    keeps its op: a stop-gradient step that the plan recomputes)."""
    if STATE.recording and (tensor.requires_grad or tensor._op is not None):
        raise ReplayError(
            f"replay: {what} of a Tensor of shape {tensor.shape} that f computes (from its "
            f"arguments, or from Tensors it reads); the recording would keep this call's value "
            f"for every later call. "
            f"Compute it with autograd_lite ops (no Python branch on data), or use "
            f"replay=False for this function"
        )


# -- the guard on ``Tensor.data`` while a replay records ---------------------------------------
# ``data`` is a plain slot: the op path reads it at C speed. While a recording runs (in any
# thread) the slot is hidden behind a property that refuses a read, from outside the library's
# own plumbing, of a Tensor that depends on the recorded arguments. Outside recordings nothing
# is slower.
_DATA_SLOT: Any = vars(Tensor)["data"]  # the slot's member descriptor
#: Modules whose reads of ``.data`` are the op path, not values taken out of the graph.
_PLUMBING = frozenset(
    f"autograd_lite.{m}" for m in ("tensor", "function", "engine", "functional", "replay", "modes")
)


def _guarded_data(tensor: Tensor) -> np.ndarray:
    if (
        STATE.recording
        and (tensor.requires_grad or tensor._op is not None)
        and sys._getframe(1).f_globals.get("__name__") not in _PLUMBING
    ):
        _check_not_recorded(tensor, "reading .data (x.shape and x.dtype are fine)")
    return _DATA_SLOT.__get__(tensor, Tensor)


_GUARDED_DATA = property(_guarded_data, _DATA_SLOT.__set__, doc="The tensor's ndarray.")
_guards_lock = threading.Lock()
_guard_users = 0


@contextlib.contextmanager
def guarding_data() -> Iterator[None]:
    """Within this block ``Tensor.data`` is guarded (see above); blocks may nest and overlap
    across threads."""
    global _guard_users
    with _guards_lock:
        _guard_users += 1
        if _guard_users == 1:
            setattr(Tensor, "data", _GUARDED_DATA)  # noqa: B010 (a slot, seen by type checkers)
    try:
        yield
    finally:
        with _guards_lock:
            _guard_users -= 1
            if _guard_users == 0:
                setattr(Tensor, "data", _DATA_SLOT)  # noqa: B010
