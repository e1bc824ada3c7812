"""How an op is recorded: `Primitive`, and the user-facing forms ``al.primitive`` and
``al.Function``.

A primitive is a NumPy forward plus one vector-Jacobian product (vjp) per input. Calling it on
Tensors runs the forward on their arrays and, when gradients are being recorded, returns a
Tensor that remembers the primitive, its inputs and the arrays it saw. The engine later calls
``vjps[i](g, out, *inputs, **params)`` for each input ``i`` that requires grad.

A vjp written only with operators (``+ - * / @``) and methods that ndarrays and Tensors share
(``sum``, ``reshape``, ``T``, indexing) works on both: on ndarrays for a plain backward, on
Tensors under ``create_graph=True``, where the backward is itself recorded. Such a primitive is
*differentiable* (every built-in op is). A vjp written with NumPy functions is computed on
arrays, and asking for its derivative raises `HigherOrderError` instead of silently returning zero.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_lite.errors import (
    AutogradLiteError,
    HigherOrderError,
    InvalidGradientError,
    InvalidInputError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.modes import CURRENT, DEFAULT, check_finite
from autograd_lite.tensor import Tensor, as_array, next_sequence_number

__all__ = ["Primitive", "EachInput", "primitive", "Function", "Context", "as_output"]

_new_tensor = object.__new__


class EachInput:
    """The vjps of a variadic op (``concatenate``, ``stack``, ``Function``).

    ``fn(index, g, out, inputs, **params)`` returns the gradient for input ``index``; it gets
    the inputs as one tuple, so a backward through n inputs costs O(n), not O(n²).
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __getitem__(self, index: int) -> Callable[..., Any]:
        return lambda g, out, *inputs, **params: self.fn(index, g, out, inputs, **params)

    def __len__(self) -> int:  # unknown arity: any number of inputs
        return 2**31


class Primitive:
    """An op: a NumPy ``forward`` and its vector-Jacobian products, one per input.

    Parameters
    ----------
    name : str
        Used in error messages, ``Tensor.op`` and graph drawings.
    forward : callable
        ``forward(*arrays, **params) -> ndarray``.
    vjps : sequence of callables
        ``vjps[i](g, out, *inputs, **params)`` returns the gradient with respect to input ``i``
        given the upstream gradient ``g`` and the forward output ``out``, or None for zero.
    differentiable : bool, default True
        The vjps use only operations that also work on Tensors, so they can be recorded.
    trusted : bool, default True
        Built-in ops are trusted; the engine validates the type and shape of every gradient an
        untrusted (user-defined) primitive returns.
    """

    __slots__ = ("name", "forward", "vjps", "differentiable", "trusted", "_param_names", "__dict__")
    vjps: Sequence[Callable[..., Any]] | EachInput

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Sequence[Callable[..., Any]] | EachInput = (),
        *,
        differentiable: bool = True,
        trusted: bool = True,
    ) -> None:
        self.name, self.forward, self.trusted = name, forward, trusted
        self.differentiable, self.__doc__ = differentiable, forward.__doc__
        self.defvjp(*(() if isinstance(vjps, EachInput) else vjps))
        if isinstance(vjps, EachInput):  # variadic: any number of inputs, no positional params
            self.vjps, self._arity = vjps, len(vjps)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def defvjp(self, *vjps: Callable[..., Any]) -> Primitive:
        """Attach one vjp per input (decorator-friendly: returns the primitive)."""
        self.vjps, self._arity = vjps, len(vjps)
        # Positional arguments past the inputs are the forward's parameters (axis, shape ...).
        self._param_names: tuple[str, ...] = ()
        if vjps:
            names = list(inspect.signature(self.forward).parameters.values())[len(vjps) :]
            self._param_names = tuple(
                p.name for p in names if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            )
        return self

    def __call__(self, *args: Any, **params: Any) -> Tensor:
        # This is the hot path of every op: keep it to plain loops and attribute reads.
        if len(args) > self._arity:  # parameters passed by position
            if not self._param_names:
                raise InvalidInputError(
                    f"{self.name}: called with {len(args)} inputs but it has {self._arity} "
                    f"vjp(s); give one vjp per input (defvjp) and pass parameters by keyword"
                )
            params.update(zip(self._param_names, args[self._arity :]))
            args = args[: self._arity]
        arrays: list[Any] = []
        record = converted = False
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg.data)
                if arg.requires_grad:
                    record = True
            elif arg.__class__ is float or arg.__class__ is int:
                arrays.append(arg)  # a Python number: NumPy keeps the other operand's dtype
            elif arg.__class__ is np.ndarray and arg.dtype.kind == "f":
                arrays.append(arg)  # a constant array, used as it is
            elif isinstance(arg, int) and arg.__class__ is not bool:  # (x.size: an int subclass)
                arrays.append(int(arg))
            else:
                arrays.append(as_array(arg, what=self.name))
                converted = True
        try:
            # (an empty **params still costs a dictionary: most ops have no parameters)
            out = self.forward(*arrays, **params) if params else self.forward(*arrays)
        except AutogradLiteError:
            raise
        except Exception as error:
            raise self._forward_error(error, arrays, params) from None
        if out.__class__ is not np.ndarray:  # (0-d results are NumPy scalars)
            out = as_output(out)
        modes = CURRENT.get(DEFAULT)  # this thread's (see autograd_lite.modes)
        if modes.anomaly:
            check_finite(out, f"{self.name} (forward)", arrays)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = result.name = result._hooks = None
        result._retain = False
        result._seq = next_sequence_number()
        if record and modes.grad_enabled:
            if converted and not modes.recording:  # (a replay reads the originals each call)
                args = tuple(a if isinstance(a, Tensor) else x for a, x in zip(args, arrays))
            result.requires_grad = True
            result._op = self
        elif modes.recording and any(isinstance(a, Tensor) for a in args):
            # While a replay records f, an op on Tensors that does not record itself (no_grad, or
            # no input requires grad) is a stop-gradient step: recomputed at each replay.
            result.requires_grad, result._op = False, self
        else:
            result.requires_grad, result._op = False, None
            result._in0 = result._in1 = result._more = result._arrays = result._params = None
            return result
        # The inputs go into slots, not a tuple (Tensor._args): one object per op to collect.
        n = len(args)
        result._in0 = args[0] if n else None
        result._in1 = args[1] if n > 1 else None
        result._more = args[2:] if n > 2 else None
        result._arrays = tuple(arrays)  # a tuple of arrays: the GC need not track it
        result._params = params or None
        return result

    def _forward_error(self, error: Exception, arrays: list, params: dict) -> Exception:
        if "could not be broadcast" in str(error):
            described = [str(np.shape(a)) for a in arrays]
            described += [
                f"{key} {np.shape(value) if hasattr(value, 'shape') else tuple(value)}"
                for key, value in params.items()
                if key in ("condition", "shape")
            ]
            message = f"{self.name}: cannot broadcast shapes {' and '.join(described)} together"
        else:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            message = f"{self.name}: {error} (input shapes: {shapes})"
        if isinstance(error, IndexError) and not isinstance(error, np.exceptions.AxisError):
            return TensorIndexError(message)
        if isinstance(error, (ValueError, ArithmeticError)):  # (an AxisError is a ValueError)
            return ShapeError(message)
        return InvalidInputError(message) if isinstance(error, TypeError) else error


def as_output(out: Any) -> np.ndarray:
    """A forward's result that is not an ndarray, as an op's output: a float array (a NumPy
    scalar, or the result of an op on Python ints only)."""
    out = np.asarray(out)
    return out if out.dtype.kind == "f" else out.astype(np.float64)


# -- user-defined primitives -----------------------------------------------------------------
def primitive(
    forward: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    differentiable: bool = False,
) -> Any:
    """Turn a NumPy function into an op; attach its vjps with ``.defvjp``.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays, **params) -> ndarray``.
    name : str, optional
        The op's name in errors and graphs (default: the function's name).
    differentiable : bool, default False
        Declare that the vjps use only operators and Tensor-compatible methods, so they can be
        recorded under ``create_graph=True`` for higher-order gradients. When False, asking for
        a second derivative through this op raises
        [`HigherOrderError`][autograd_lite.errors.HigherOrderError].

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> @al.primitive
    ... def cube(x):
    ...     return x**3
    >>> _ = cube.defvjp(lambda g, out, x: 3 * x**2 * g)
    >>> x = al.Tensor([2.0], requires_grad=True)
    >>> cube(x).sum().backward()
    >>> x.grad
    array([12.])
    """

    def make(fn: Callable[..., Any]) -> Primitive:
        return Primitive(name or fn.__name__, fn, (), differentiable=differentiable, trusted=False)

    return make(forward) if forward is not None else make


class Context:
    """The ``ctx`` of an `al.Function`: what forward leaves for backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._graph_inputs: dict[int, Any] | None = None
        self._grads: tuple | None = None
        self._grads_for: Any = None

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (inputs, the output, or anything else) for ``backward``."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept: arrays, or Tensors under ``create_graph=True``."""
        if self._graph_inputs is None:
            return self._saved
        for index, array in enumerate(self._saved):
            if id(array) not in self._graph_inputs:
                raise HigherOrderError(
                    f"saved_tensors[{index}] is neither an input nor the output of the op, so "
                    f"under create_graph=True it would be a constant and the second derivative "
                    f"would be wrong; save only inputs/outputs, or set differentiable = False"
                )
        return tuple(self._graph_inputs[id(array)] for array in self._saved)


class Function:
    """A user-defined op in PyTorch's style: subclass, write two static methods, call ``apply``.

    ``forward(ctx, *arrays, **params)`` gets NumPy arrays and returns an array;
    ``backward(ctx, grad)`` returns one gradient per input (None for none). Set the class
    attribute ``differentiable = True`` when backward uses only Tensor-compatible operations on
    ``grad`` and on saved inputs/outputs: it is then recorded under ``create_graph=True``.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> class Square(al.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    >>> x = al.Tensor([3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    >>> x.grad
    array([6.])
    """

    differentiable = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run the op on Tensors (or array-likes) and record it."""
        ctx = Context(tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs))
        op = cls.__dict__.get("_primitive")
        if op is None:
            op = Primitive(cls.__name__, _function_forward, EachInput(_function_vjp), trusted=False)
            cls._primitive = op  # type: ignore[attr-defined]
        op.differentiable = bool(cls.differentiable)  # may be set after the first apply
        return op(*inputs, cls=cls, ctx=ctx, **params)


def _function_forward(*arrays: Any, cls: type[Function], ctx: Context, **params: Any) -> Any:
    return cls.forward(ctx, *arrays, **params)


def _function_vjp(
    index: int, g: Any, out: Any, inputs: tuple, cls: type[Function], ctx: Context, **params: Any
) -> Any:
    if ctx._grads_for is not g:
        if isinstance(g, Tensor):  # create_graph: map saved arrays back to the graph's Tensors
            ctx._graph_inputs = {id(x.data if isinstance(x, Tensor) else x): x for x in inputs}
            ctx._graph_inputs[id(out.data)] = out
        grads = cls.backward(ctx, g)
        ctx._graph_inputs = None
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(inputs):
            raise InvalidGradientError(
                f"{cls.__name__}.backward returned {len(grads)} gradient(s) for "
                f"{len(inputs)} input(s); return one per input (None for no gradient)"
            )
        ctx._grads, ctx._grads_for = grads, g
    return ctx._grads[index] if ctx._grads is not None else None
