"""Every primitive op, declared once: its NumPy forward, its vector-Jacobian products, and what
the rest of the library derives from them.

For an op ``out = f(x, y)`` and the gradient ``g = ∂C/∂out`` of some scalar ``C``, the vjp for
``x`` returns ``∂C/∂x = g · ∂out/∂x``. Each vjp has the signature ``(g, out, *inputs, **params)``.

**One declaration per op.** ``name = defop("name", forward, (vjp_0, vjp_1), ...)`` registers the
op in `REGISTRY` with its metadata: how the random-graph strategies draw it (`Draw`:
its input domains, shapes and parameters), the ``Tensor`` methods and operators it backs
(``methods=("__add__", "__radd__")``: installed on [`Tensor`][autograd_lite.tensor.Tensor] here),
its NumPy counterparts (``numpy=(np.add,)``) and, for an op called through a wrapper, its public
function. Everything else is derived from the registry: `OPS` and ``__all__`` below, the
package's exports (``al.exp``), the op list of the API docs, the generators of
`autograd_lite.testing.strategies` and the mutation self-test of the test suite.

Conventions shared by every vjp here:

* It is written with operators and with methods that NumPy arrays and Tensors share (``sum``,
  ``reshape``, ``T``, indexing), or with the ``*_any`` helpers below, so the same code runs on
  arrays (a plain backward) and on Tensors (``create_graph=True``: gradients of gradients).
* It may return a gradient of the *broadcast* shape: the engine sums it back to the input's
  shape in one place ([`sum_to()`][autograd_lite.ops.sum_to], below).
* Non-differentiable pieces (masks, indices) are read from the raw data with
  [`raw()`][autograd_lite.tensor.raw].

Where an op realises one of the chapter's equations, its docstring says which: ``hadamard`` and
``sigmoid`` give the ``⊙ σ′(z)`` of BP1/BP2, ``matmul`` gives ``(wᵀ δ)`` of BP2 and ``δ aᵀ`` of
BP4, and ``add``'s unbroadcast is BP3's sum over the mini-batch.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_lite.errors import (
    DuplicateOpError,
    HigherOrderError,
    InvalidArgumentError,
    InvalidGradientError,
    InvalidInputError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.function import EachInput, Primitive
from autograd_lite.tensor import Tensor, float_dtype, raw  # (raw refuses reads replay would freeze)


# -- the registry ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """How `autograd_lite.testing.strategies.graphs()` draws an op (plain data).

    Attributes
    ----------
    kind : str
        The rule for the inputs' shapes and the op's parameters: ``"elementwise"`` (one input of
        any shape), ``"broadcasting"`` (two inputs that broadcast together, or one and a Python
        constant), ``"same_shape"`` (two inputs of one shape), ``"reduction"`` (``axis`` None,
        an int or a tuple; ``keepdims``), ``"axis"`` (ndim >= 1, an int ``axis``), ``"cost"``
        (an activation and a target of its shape; ``reduction``), ``"untied_pair"`` (two inputs
        that broadcast together and differ everywhere by more than a margin: ``maximum``), or
        the name of an op whose
        shapes follow a rule of their own (``"matmul"``, ``"reshape"``, ``"getitem"`` ...:
        see ``autograd_lite/testing/_generators.py``).
    domains : tuple of str
        Where each input's values must lie: ``"real"``, ``"positive"``, ``"nonzero"``,
        ``"off_kink"`` (away from 0, e.g. relu), ``"exp_safe"`` (below 4), ``"small"``
        (``|x| <= 3``), ``"distinct"`` (no near-ties, e.g. max), ``"unit"`` (inside (0, 1)),
        ``"probability"`` (in [0, 1]).
    constants : pair of tuples, optional
        For ``"broadcasting"``: the Python numbers drawn as the left and the right operand.
    opt_in : bool
        Drawn only when named (``graphs(ops=[...])`` or ``include``), not by default.
    """

    kind: str = "elementwise"
    domains: tuple[str, ...] = ("real",)
    constants: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    opt_in: bool = False


@dataclass(frozen=True)
class OpInfo:
    """One op's declaration, as [`defop()`][autograd_lite.ops.defop] registered it."""

    name: str
    primitive: Primitive
    #: The function users call (``al.<name>``): the primitive, or its wrapper; None when the op
    #: is reached only through another function (e.g. ``scatter_add``, the vjp of ``getitem``).
    public: Callable[..., Tensor] | None
    #: ``apply(*inputs, **params)``: the op through its public function, as tests call it.
    apply: Callable[..., Tensor]
    draw: Draw | None
    methods: tuple[str, ...] = ()
    numpy: tuple[Callable[..., Any], ...] = ()
    module: str = field(default="", compare=False)


#: Every declared op by name, in declaration order: the built-in ones below, the costs, and any
#: op declared later (by a test, or by user code with [`defop()`][autograd_lite.ops.defop]).
REGISTRY: dict[str, OpInfo] = {}

_REFLECTED = frozenset(
    ("__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__", "__rmatmul__")
)
_UNARY = frozenset(("__neg__", "__abs__"))


def defop(
    name: str,
    forward: Callable[..., Any],
    vjps: Sequence[Callable[..., Any]] | EachInput = (),
    *,
    draw: Draw | None = None,
    methods: Sequence[str | tuple[str, Any]] = (),
    numpy: Sequence[Callable[..., Any]] = (),
    public: Callable[..., Tensor] | None | bool = True,
    apply: Callable[..., Tensor] | None = None,
    differentiable: bool = True,
) -> Primitive:
    """Declare a primitive op: the one place an op is written.

    Parameters
    ----------
    name : str
        The op's unique name (errors, ``Tensor.op``, graphs, ``al.<name>``).
    forward, vjps
        As for [`Primitive`][autograd_lite.function.Primitive].
    draw : Draw, optional
        How the random-graph strategies draw the op; None: they do not.
    methods : sequence
        The ``Tensor`` methods and operators it backs: ``"__add__"`` (``t + x``),
        ``"__radd__"`` (``x + t``), ``"exp"`` (``t.exp(...)``), or ``(name, attribute)`` for an
        attribute written out (``("T", property(...))``).
    numpy : sequence of callables
        Its NumPy counterparts (``np.add``), for NumPy's functions on Tensors.
    public : callable, True or None
        What ``al.<name>`` is: the primitive (True), a wrapper function, or nothing (None).
    apply : callable, optional
        ``apply(*inputs, **params)`` when the public function takes its inputs otherwise.
    differentiable : bool
        As for [`Primitive`][autograd_lite.function.Primitive].

    Raises
    ------
    DuplicateOpError
        If ``name`` is already declared (or a method name already backed by another op).
    """
    if name in REGISTRY:
        raise DuplicateOpError(
            f"defop: an op named {name!r} is already declared (in {REGISTRY[name].module}); "
            f"give the new op a name of its own"
        )
    named = [method if isinstance(method, tuple) else (method, None) for method in methods]
    for attr, _ in named:
        if hasattr(Tensor, attr):
            owner = [n for n, info in REGISTRY.items() if attr in info.methods]
            raise DuplicateOpError(
                f"defop: {name} cannot back Tensor.{attr}: it exists already"
                + (f" (backed by the op {owner[0]!r})" if owner else "")
            )
    op = Primitive(name, forward, vjps, differentiable=differentiable)
    front = op if public is True else (public or None)
    for attr, value in named:
        setattr(Tensor, attr, value if value is not None else _method(attr, front or op, name))
    REGISTRY[name] = OpInfo(
        name,
        op,
        front,
        apply or front or op,
        draw,
        tuple(attr for attr, _ in named),
        tuple(numpy),
        getattr(forward, "__module__", ""),
    )
    return op


def _method(attr: str, call: Callable[..., Tensor], name: str) -> Callable[..., Tensor]:
    """The Tensor method ``attr`` calling ``call`` (each form written out: no ``*args`` to
    pack on the operators, the hot path)."""
    method: Any
    if getattr(call, "takes_self", False):  # a wrapper whose first parameter is the tensor
        return call
    if attr in _REFLECTED:
        method = lambda self, other: call(other, self)  # noqa: E731
    elif attr in _UNARY:
        method = lambda self: call(self)  # noqa: E731
    elif attr.startswith("__"):
        method = lambda self, other: call(self, other)  # noqa: E731
    else:
        method = lambda self, *args, **kwargs: call(self, *args, **kwargs)  # noqa: E731
    method.__name__ = method.__qualname__ = attr
    method.__doc__ = f"``{name}`` of this tensor: see `autograd_lite.ops.{name}()`."
    return method


# -- the engine's rules that ops use too ------------------------------------------------------
def sum_to(grad: Any, shape: tuple[int, ...], op_name: str = "", index: int = 0) -> Any:
    """Sum ``grad`` down to ``shape``: the adjoint of broadcasting ``shape`` up to grad's shape.

    A vjp may return the gradient of the broadcast shape; the engine (and replay) undo the
    broadcasting here, in one place. Works on ndarrays and on Tensors (then it is recorded,
    for higher-order gradients).
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    if len(gshape) == 2 and shape == (gshape[0], 1):  # a bias (n, 1) over a mini-batch (n, m)
        return grad.sum(axis=1, keepdims=True)
    lead = len(gshape) - len(shape)
    if lead < 0 or any(n != 1 and n != gshape[lead + i] for i, n in enumerate(shape)):
        raise InvalidGradientError(
            f"{op_name}: the gradient for input {index} has shape {gshape}, which cannot be "
            f"summed down to the input's shape {shape}"
        )
    if lead:  # summing the leading axes away needs no reshape afterwards
        axis = 0 if lead == 1 else tuple(range(lead))  # (a bias over a mini-batch: axis 0)
        grad = np.add.reduce(grad, axis) if grad.__class__ is np.ndarray else grad.sum(axis)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _opaque_vjp(g: Any, out: Any, *inputs: Any, op_name: str) -> Any:
    raise HigherOrderError(
        f"{op_name}: its vjp is written with NumPy, so its gradient cannot be differentiated "
        f"again (create_graph=True). Write the vjp with Tensor operations and declare the op "
        f"differentiable=True to get higher-order gradients."
    )


_OPAQUE = Primitive(
    "vjp",
    lambda g, *deps, op_name: g,
    EachInput(lambda i, g, out, inputs, op_name: _opaque_vjp(g, out, op_name=op_name)),
)


def opaque_gradient(value: np.ndarray, depends_on: Sequence[Any], op_name: str) -> Tensor:
    """Wrap a gradient computed in NumPy so that differentiating it raises, not returns zero."""
    return _OPAQUE(value, *depends_on, op_name=op_name)


# -- helpers that work on arrays and on Tensors ------------------------------------------------
def exp_any(x: Any) -> Any:
    """``eˣ`` of an array, or of a Tensor (recorded)."""
    return exp(x) if isinstance(x, Tensor) else np.exp(x)


def log_any(x: Any) -> Any:
    """``ln x`` of an array (``log 0 = -inf`` without a warning), or of a Tensor (recorded)."""
    if isinstance(x, Tensor):
        return log(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(x, (int, float)):  # stay a Python float, which keeps float32 float32
            return float(np.log(x))
        return np.log(x)


def sigmoid_any(x: Any) -> Any:
    """``σ(x)`` of an array (stable), or of a Tensor (recorded)."""
    return sigmoid(x) if isinstance(x, Tensor) else _stable_sigmoid(x)


def _broadcast_any(x: Any, shape: tuple[int, ...]) -> Any:
    return broadcast_to(x, shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def _where_any(condition: np.ndarray, x: Any) -> Any:
    """``x`` where ``condition`` holds, 0 elsewhere (not ``x * mask``: inf·0 would be NaN)."""
    if isinstance(x, Tensor):
        return where(condition, x, 0.0)
    return np.where(condition, x, 0.0)


def _keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    if axis is None or not shape:  # (NumPy accepts axis 0 or -1 on a 0-d array)
        return (1,) * len(shape)
    kept = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in kept else n for i, n in enumerate(shape))


def _dim_keywords(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Rename PyTorch's ``dim=`` / ``keepdim=`` to NumPy's ``axis=`` / ``keepdims=`` in
    ``params`` (in place); both spellings of one parameter raise. An empty ``dim=()`` reduces
    every axis, as in PyTorch (NumPy's ``axis=()`` reduces none)."""
    if params.get("dim", None) in ((), []) and name in _REDUCTIONS:
        params["dim"] = None
    for torch_name, numpy_name in (("dim", "axis"), ("keepdim", "keepdims")):
        if torch_name in params:
            if numpy_name in params:
                raise InvalidArgumentError(
                    f"{name}: got both {numpy_name}= and {torch_name}=, which name the same "
                    f"parameter; pass only one of them"
                )
            params[numpy_name] = params.pop(torch_name)
    if isinstance(params.get("axis"), list):  # torch's dim=[0, 2]: NumPy takes only a tuple
        params["axis"] = tuple(params["axis"])
    return params


#: The ops reducing over ``axis`` (their ``dim=()`` means every axis).
_REDUCTIONS = frozenset(("sum", "mean", "max", "min", "logsumexp", "var", "std"))


def _shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a Tensor or an array-like (read without its values)."""
    return x.shape if isinstance(x, Tensor) else np.shape(x)


def _checked_axis(name: str, x: Any, args: tuple, params: dict[str, Any]) -> tuple:
    """``args`` with an axis list made a tuple (``x.sum([0, 2])``, as PyTorch takes it), after
    checking the axis (``args[0]`` or ``params["axis"]``) against ``x``: out of range raises
    [`TensorIndexError`][autograd_lite.errors.TensorIndexError] (an ``IndexError``, as in
    PyTorch); on a 0-d tensor, dim 0 or -1 is the whole tensor (as PyTorch allows). ``params``
    is updated in place."""
    positional = bool(args)
    axis = args[0] if positional else params["axis"]
    if axis is None:
        return args
    if isinstance(axis, list):
        axis = tuple(axis)
    shape = _shape_of(x)
    ndim = len(shape)
    _dims_in(name, axis, ndim, shape)
    if ndim == 0:
        axis = None
    if positional:
        return (axis, *args[1:])
    params["axis"] = axis
    return args


def _accepting_dim(name: str) -> Callable[..., Tensor]:
    """The public function of the op ``name``: its primitive, also taking ``dim=`` and
    ``keepdim=`` (PyTorch's spelling of ``axis=`` and ``keepdims=``)."""

    op: list[Primitive] = []  # (the primitive, once declared: defop makes it from this call)

    def call(x: Any, *args: Any, **params: Any) -> Tensor:
        if params and ("dim" in params or "keepdim" in params):
            _dim_keywords(name, params)
        if params.get("dtype") is not None and name in ("sum", "mean"):  # PyTorch's dtype=:
            x = _to_method(x if isinstance(x, Tensor) else Tensor(x), params.pop("dtype"))
        elif "dtype" in params and params["dtype"] is None:
            del params["dtype"]
        if args or params.get("axis") is not None:
            args = _checked_axis(name, x, args, params)
        return (op[0] if op else _first(op))(x, *args, **params)

    def _first(cell: list[Primitive]) -> Primitive:
        cell.append(REGISTRY[name].primitive)
        return cell[0]

    call.__name__ = call.__qualname__ = name
    call.takes_self = True  # type: ignore[attr-defined]  # (a Tensor method as it is)
    return call


def _with_doc(public: Callable[..., Tensor], forward: Callable[..., Any]) -> Callable[..., Tensor]:
    """``public`` documented (and signed, for ``inspect``) as ``forward``."""
    public.__doc__ = forward.__doc__
    public.__wrapped__ = forward  # type: ignore[attr-defined]
    return public


def _one_axis(name: str, axis: Any, dim: Any) -> Any:
    if axis is not None and dim is not None:
        raise InvalidArgumentError(
            f"{name}: got both axis= and dim=, which name the same parameter; pass only one"
        )
    return dim if dim is not None else axis


# -- elementwise arithmetic --------------------------------------------------------------------
def _add(a: Any, b: Any) -> Any:
    """Elementwise ``a + b`` with NumPy broadcasting.

    VJP: ``∂C/∂a = g`` and ``∂C/∂b = g``, each summed back to its input's shape by the engine.
    For the chapter's ``z = w a + b`` with the mini-batch in columns, ``b`` (n, 1) is broadcast
    across the columns, and that sum over columns is BP3 summed over the mini-batch.
    """
    return a + b


def _identity_vjp(g: Any, out: Any, *inputs: Any) -> Any:
    return g


add = defop(
    "add",
    _add,
    (_identity_vjp, _identity_vjp),
    draw=Draw("broadcasting", ("real", "real")),
    methods=("__add__", "__radd__"),
    numpy=(np.add,),
)


def _sub(a: Any, b: Any) -> Any:
    """Elementwise ``a - b``. VJP: ``g`` and ``-g``."""
    return a - b


sub = defop(
    "sub",
    _sub,
    (_identity_vjp, lambda g, out, a, b: -g),
    draw=Draw("broadcasting", ("real", "real")),
    methods=("__sub__", "__rsub__"),
    numpy=(np.subtract,),
)


def _mul(a: Any, b: Any) -> Any:
    """Elementwise ``a * b`` with broadcasting. VJP: ``g * b`` and ``g * a``."""
    return a * b


def _square_method(self: Tensor) -> Tensor:
    """PyTorch's ``x.square()``: ``x * x`` (as NumPy's ``np.square`` here)."""
    return mul(self, self)


mul = defop(
    "mul",
    _mul,
    (lambda g, out, a, b: g * b, lambda g, out, a, b: g * a),
    draw=Draw("broadcasting", ("real", "real")),
    methods=(
        "__mul__",
        "__rmul__",
        ("square", _square_method),
    ),
    numpy=(np.multiply,),
)


def _hadamard(a: Any, b: Any) -> Any:
    """The Hadamard product ``a ⊙ b`` of two arrays of the same shape (the chapter's §2.3).

    VJP: ``g ⊙ b`` and ``g ⊙ a``. With ``b = σ′(z)`` this is the ``⊙ σ′(z)`` of BP1 and BP2.
    Unlike `mul()` it does not broadcast: the chapter defines ⊙ for equal shapes.
    """
    if np.shape(a) != np.shape(b):
        raise ShapeError(
            f"hadamard: the operands must have the same shape, got {np.shape(a)} and "
            f"{np.shape(b)}; use mul (*) to broadcast"
        )
    return a * b


hadamard = defop("hadamard", _hadamard, mul.vjps, draw=Draw("same_shape", ("real", "real")))


def _div(a: Any, b: Any) -> Any:
    """Elementwise ``a / b``. VJP: ``g / b`` and ``-g · a / b² = -g · out / b``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def _div_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if isinstance(g, Tensor):
        return g / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / b


def _div_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if isinstance(g, Tensor):
        return -g * out / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return -g * out / b


div = defop(
    "div",
    _div,
    (_div_vjp_a, _div_vjp_b),
    draw=Draw(
        "broadcasting", ("real", "nonzero"), ((2.0, -1.0, 0.5, 3.0, -0.25), (2.0, -1.0, 0.5, -3.0))
    ),
    methods=("__truediv__", "__rtruediv__"),
    numpy=(np.divide,),
)


def _neg(a: Any) -> Any:
    """Elementwise ``-a``. VJP: ``-g``."""
    return -a


neg = defop(
    "neg",
    _neg,
    (lambda g, out, a: -g,),
    draw=Draw(),
    methods=("__neg__", "neg"),
    numpy=(np.negative,),
)


def _pow(a: Any, b: Any) -> Any:
    """Elementwise ``a ** b``. VJP: ``g · b · a^(b-1)`` and ``g · out · ln a``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(a, b)


def _pow_vjp_base(g: Any, out: Any, a: Any, b: Any) -> Any:
    # Where b = 0 the derivative b·a^(b-1) is 0 even at a = 0 (not 0·inf = NaN): this keeps
    # repeated derivatives of polynomials finite at 0.
    if isinstance(b, (int, float)):
        if b == 0:
            return g * 0.0
        if isinstance(a, Tensor):
            return g * b * a ** (b - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * b * np.power(a, b - 1)
    finite = (raw(b) != 0) | (raw(a) != 0)  # 0·0^(-1) is taken as 0
    if isinstance(g, Tensor):
        return _where_any(finite, g * b * a ** (b - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(finite, g * b * np.power(a, b - 1), 0.0)


def _pow_vjp_exponent(g: Any, out: Any, a: Any, b: Any) -> Any:
    # Where a = 0 and b >= 0, PyTorch's rule: 0 (out · ln a would be 0·(-inf) = NaN, or -inf
    # at b = 0), the limit from a > 0 of a^b ln a for b > 0.
    zero_base = (raw(a) == 0) & (raw(b) >= 0)
    with np.errstate(invalid="ignore"):  # (arrays; on Tensors, the ops record as usual)
        grad = g * out * log_any(a)
    return _where_any(~zero_base, grad) if np.any(zero_base) else grad


pow = defop(  # noqa: A001
    "pow",
    _pow,
    (_pow_vjp_base, _pow_vjp_exponent),
    draw=Draw(
        "broadcasting", ("positive", "small"), ((2.0, 0.5, 3.0), (2.0, 3.0, 0.5, -1.0, 1.5, -0.5))
    ),
    methods=("__pow__", "__rpow__", "pow"),
    numpy=(np.power,),
)


# -- matrix product ------------------------------------------------------------------------------
def _matmul(a: Any, b: Any) -> Any:
    """Matrix product with ``np.matmul`` semantics: 1-D, 2-D and batched (broadcast) operands.

    VJP for ``out = a @ b``: ``∂C/∂a = g bᵀ`` and ``∂C/∂b = aᵀ g``. In the chapter's layer
    ``z = w @ a + b`` (left operand ``w``, right operand the activations ``a``), the left vjp
    ``δ aᵀ`` is BP4, the weight gradient (summed over the mini-batch by the product itself), and
    the right vjp ``wᵀ δ`` is BP2's error sent back to the previous layer.
    """
    try:
        return np.matmul(a, b)
    except ValueError:
        raise ShapeError(_matmul_message(np.shape(a), np.shape(b))) from None


def _matmul_message(sa: tuple[int, ...], sb: tuple[int, ...]) -> str:
    if not sa or not sb:
        return f"matmul: cannot multiply {sa} by {sb}: operands must be at least 1-D; use mul"
    inner_a = sa[-1]
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        return (
            f"matmul: cannot multiply {sa} by {sb}: inner dimensions {inner_a} and {inner_b} differ"
        )
    return (
        f"matmul: cannot multiply {sa} by {sb}: batch dimensions {sa[:-2]} and {sb[:-2]} "
        f"do not broadcast"
    )


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        if a.ndim == 1:  # inner product: out is a scalar
            return g * b
        return g.reshape(g.shape + (1,)) * b  # (..., n) x (k,) -> outer product (..., n, k)
    bt = b.T if b.ndim == 2 else b.swapaxes(-1, -2)
    if a.ndim == 1:  # (k,) @ (..., k, m): treat a as a row (1, k)
        row = g.reshape(g.shape[:-1] + (1, g.shape[-1])) @ bt
        return row.reshape(row.shape[:-2] + (row.shape[-1],))
    return g @ bt


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a.reshape((a.shape[0], 1)) * g.reshape(g.shape[:-1] + (1, g.shape[-1]))
    at = a.T if a.ndim == 2 else a.swapaxes(-1, -2)
    if b.ndim == 1:  # (..., n, k) @ (k,): treat b as a column (k, 1)
        column = at @ g.reshape(g.shape + (1,))
        return column.reshape(column.shape[:-1])
    return at @ g


matmul = defop(
    "matmul",
    _matmul,
    (_matmul_vjp_a, _matmul_vjp_b),
    draw=Draw("matmul", ("real", "real")),
    methods=("__matmul__", "__rmatmul__", "matmul"),
    numpy=(np.matmul,),
)


def _linear(x: Any, weight: Any, bias: Any) -> Any:
    """A layer's ``x Wᵀ + b`` for a mini-batch ``x`` of rows ``(m, n_in)``, ``W`` of shape
    ``(n_out, n_in)`` and ``b`` of shape ``(n_out,)``, computed as ``(W xᵀ)ᵀ + b``: the chapter's
    ``w a + b`` with the samples as columns, transposed back (the ops ``transpose``, ``matmul``,
    ``transpose``, ``add``, bitwise, as one node).

    VJPs: ``∂C/∂x = g W`` (as ``(Wᵀ gᵀ)ᵀ``, BP2's error sent back), ``∂C/∂W = gᵀ x`` (BP4
    summed over the mini-batch, a fresh array of ``W``'s layout), ``∂C/∂b = Σ_rows g`` (BP3).
    """
    sx, sw = getattr(x, "shape", ()), getattr(weight, "shape", ())
    if sx[-1:] != sw[1:]:
        raise ShapeError(
            f"linear: an input of shape {sx} and a weight of shape {sw}: the weight must be "
            f"(out_features, {sx[-1] if sx else '?'})"
        )
    return np.matmul(weight, x.T).T + bias


def _linear_vjp_bias(g: Any, out: Any, x: Any, weight: Any, bias: Any) -> Any:
    # (np.add.reduce: the reduction the engine's sum_to makes of add's gradient, bitwise)
    return np.add.reduce(g, 0) if g.__class__ is np.ndarray else g.sum(axis=0)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """``x Wᵀ + b`` (``torch.nn.functional.linear``): for a mini-batch of rows with a bias of
    shape ``(n_out,)``, one op (``linear``); otherwise ``matmul``, ``transpose`` and ``add``,
    with the same values."""
    # (shapes read as attributes: np.shape of a Tensor would go through NumPy's dispatch)
    sx = x.shape if hasattr(x, "shape") else np.shape(x)
    sw = weight.shape if hasattr(weight, "shape") else np.shape(weight)
    if len(sx) == 2 and len(sw) == 2 and bias is not None:
        if (bias.shape if hasattr(bias, "shape") else np.shape(bias)) == sw[:1]:
            return _linear_op(x, weight, bias)
    if len(sx) == 2:
        y = transpose(matmul(weight, transpose(x)))
    else:
        y = matmul(x, transpose(weight))
    return y if bias is None else add(y, bias)


_linear_op = defop(
    "linear",
    _linear,
    (
        lambda g, out, x, weight, bias: (weight.T @ g.T).T,
        lambda g, out, x, weight, bias: g.T @ x,
        _linear_vjp_bias,
    ),  # fmt: skip
    draw=Draw("linear", ("real", "real", "real")),
    public=linear,
)


# -- elementwise functions -------------------------------------------------------------------------
def _exp(x: Any) -> Any:
    """Elementwise ``eˣ``. VJP: ``g · out``."""
    with np.errstate(over="ignore"):
        return np.exp(x)


exp = defop(
    "exp",
    _exp,
    (lambda g, out, x: g * out,),
    draw=Draw(domains=("exp_safe",)),
    methods=("exp",),
    numpy=(np.exp,),
)


def _log(x: Any) -> Any:
    """Elementwise natural logarithm; ``log(0) = -inf`` without a warning. VJP: ``g / x``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def _log_vjp(g: Any, out: Any, x: Any) -> Any:
    if isinstance(x, Tensor):
        return g / x
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / x


log = defop(
    "log", _log, (_log_vjp,), draw=Draw(domains=("positive",)), methods=("log",), numpy=(np.log,)
)


@np.errstate(over="ignore")  # (as a decorator it costs about half of a with-block per call)
def _exp_in_place_overflow_silent(t: np.ndarray) -> np.ndarray:
    return np.exp(t, out=t)


def _stable_sigmoid(z: Any) -> np.ndarray:
    # 1 / (1 + e^-z) in one buffer: accurate to an ulp for every z (no cancellation). For
    # z < -709, e^-z overflows to inf and 1 / inf = 0 is the correctly rounded σ(z): only the
    # overflow warning is silenced.
    t = np.negative(z)
    if t.__class__ is not np.ndarray:  # a 0-d input gives a NumPy scalar: make it an array
        t = np.asarray(t, dtype=t.dtype if isinstance(z, np.ndarray) else np.float64)
    _exp_in_place_overflow_silent(t)
    t += 1.0
    return np.reciprocal(t, out=t)


def _sigmoid(z: Any) -> Any:
    """The logistic function ``σ(z) = 1 / (1 + e^-z)``, stable for any z.

    VJP: ``g ⊙ σ(z)(1 - σ(z)) = g ⊙ σ′(z)``: the ``⊙ σ′(zˡ)`` of BP1 and BP2.
    """
    return _stable_sigmoid(z)


def _sigmoid_vjp(g: Any, out: Any, z: Any) -> Any:
    # g ⊙ σ′(z) with σ′(z) = σ(z)(1 - σ(z)) from the saved output. The product is new, so it
    # may be scaled in place (on Tensors, under create_graph, `*=` makes a new node).
    d = g * out
    d *= 1 - out
    return d


sigmoid = defop("sigmoid", _sigmoid, (_sigmoid_vjp,), draw=Draw(), methods=("sigmoid",))


def _sigmoid_prime(z: Any) -> Any:
    """The chapter's ``σ′(z) = σ(z)(1 - σ(z))``. VJP: ``g · σ′(z)(1 - 2σ(z))``."""
    s = _stable_sigmoid(z)
    return s * (1 - s)


sigmoid_prime = defop(
    "sigmoid_prime",
    _sigmoid_prime,
    (lambda g, out, z: g * out * (1 - 2 * sigmoid_any(z)),),
    draw=Draw(),
)


def _tanh(x: Any) -> Any:
    """Elementwise ``tanh``. VJP: ``g · (1 - out²)``."""
    return np.tanh(x)


tanh = defop(
    "tanh",
    _tanh,
    (lambda g, out, x: g * (1 - out * out),),
    draw=Draw(),
    methods=("tanh",),
    numpy=(np.tanh,),
)


def _relu(x: Any) -> Any:
    """Elementwise ``max(x, 0)``. VJP: ``g`` where ``x > 0``, else 0 (``relu′(0) = 0``)."""
    return np.maximum(x, 0)


relu = defop(
    "relu",
    _relu,
    (lambda g, out, x: _where_any(raw(x) > 0, g),),
    draw=Draw(domains=("off_kink",)),
    methods=("relu",),
)


def _sqrt(x: Any) -> Any:
    """Elementwise ``√x`` (NaN below 0, without a warning). VJP: ``g / (2 · out)``."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


def _sqrt_vjp(g: Any, out: Any, x: Any) -> Any:
    if isinstance(g, Tensor) or isinstance(out, Tensor):
        return g / (2 * out)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / (2 * out)


sqrt = defop(
    "sqrt",
    _sqrt,
    (_sqrt_vjp,),
    draw=Draw(domains=("positive",)),
    methods=("sqrt",),
    numpy=(np.sqrt,),
)


def _abs(x: Any) -> Any:
    """Elementwise ``|x|``. VJP: ``g · sign(x)``, so ``abs′(0) = 0`` (as in PyTorch)."""
    return np.abs(x)


def _sign_vjp(g: Any, out: Any, x: Any) -> Any:
    data = raw(x)
    return _where_any(data != 0, g * np.sign(data))


abs = defop(  # noqa: A001
    "abs",
    _abs,
    (_sign_vjp,),
    draw=Draw(domains=("off_kink",)),
    methods=("abs", "__abs__"),
    numpy=(np.abs,),
)


def _softplus(x: Any) -> Any:
    """Elementwise ``log(1 + eˣ)``, computed as ``logaddexp(0, x)`` (no overflow, no loss for
    large negative x). VJP: ``g · σ(x)``."""
    return np.logaddexp(0.0, x).astype(np.result_type(x, np.float32), copy=False)


softplus = defop(
    "softplus",
    _softplus,
    (lambda g, out, x: g * sigmoid_any(x),),
    draw=Draw(),
    methods=("softplus",),
)


def _tie_weights(mine: Any, other: Any, out: Any, larger: bool) -> np.ndarray:
    """1 where ``mine`` wins, 1/2 where the operands tie, 0 where ``other`` wins."""
    a, b = raw(mine), raw(other)
    wins = np.greater(a, b) if larger else np.less(a, b)
    return (wins + 0.5 * np.equal(a, b)).astype(np.asarray(raw(out)).dtype, copy=False)


def _extremum_vjp(larger: bool, side: int) -> Callable[..., Any]:
    def vjp(g: Any, out: Any, a: Any, b: Any) -> Any:
        mine, other = (a, b) if side == 0 else (b, a)
        weights = _tie_weights(mine, other, out, larger)
        return _where_any(weights != 0, g * weights)

    return vjp


def _maximum(a: Any, b: Any) -> Any:
    """Elementwise maximum with broadcasting (NaN wins). VJP: ``g`` to the larger operand; a tie
    sends ``g/2`` to each (as PyTorch does)."""
    return np.maximum(a, b)


maximum = defop(
    "maximum",
    _maximum,
    (_extremum_vjp(True, 0), _extremum_vjp(True, 1)),
    draw=Draw("untied_pair"),
    methods=("maximum",),
    numpy=(np.maximum,),
)


def _minimum(a: Any, b: Any) -> Any:
    """Elementwise minimum with broadcasting (NaN wins). VJP: ``g`` to the smaller operand; a
    tie sends ``g/2`` to each (as PyTorch does)."""
    return np.minimum(a, b)


minimum = defop(
    "minimum",
    _minimum,
    (_extremum_vjp(False, 0), _extremum_vjp(False, 1)),
    draw=Draw("untied_pair"),
    methods=("minimum",),
    numpy=(np.minimum,),
)


def _clamp(x: Any, min: float | None = None, max: float | None = None) -> Any:  # noqa: A002
    """Elementwise ``x`` limited to ``[min, max]`` (either bound may be None; ``min > max``
    gives ``max`` everywhere, as in PyTorch). VJP: ``g`` where ``min < x < max``, else 0: at a
    bound the gradient is 0, the minimum-norm subgradient, as in PyTorch since 2026 (before,
    PyTorch passed it at the bounds) and as ``relu′(0) = 0``."""
    out = x
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return out


def _clamp_vjp(g: Any, out: Any, x: Any, min: float | None = None,  # noqa: A002
               max: float | None = None) -> Any:  # fmt: skip # noqa: A002
    data = raw(x)
    inside = np.ones(np.shape(data), dtype=bool)
    if min is not None:
        inside &= data > min
    if max is not None:
        inside &= data < max
    return _where_any(inside, g)


def clamp(x: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """``x`` limited to ``[min, max]`` (PyTorch's ``clamp``; ``clip`` is the same function).

    At least one bound must be given. The gradient is ``g`` where ``min < x < max`` and 0
    elsewhere, at the bounds too (the minimum-norm subgradient, as PyTorch's ``clamp`` with
    number bounds). Bounds that are arrays or Tensors (broadcasting against ``x``) give, as in
    PyTorch, ``minimum(maximum(x, min), max)``: the gradient goes to whichever is chosen, shared
    equally at ties, and a Tensor bound gets its part (where ``min == max`` PyTorch gives it all
    to ``min``, or to ``x`` if ``x`` equals both, rather than share it).
    """
    if min is None and max is None:
        raise InvalidArgumentError("clamp: give min=, max= or both (both are None)")
    if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    for what, bound in (("min", min), ("max", max)):
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, (int, float, np.number))
        ):
            raise InvalidInputError(
                f"clamp: {what} must be a number, an array, a Tensor or None, got "
                f"{type(bound).__name__}"
            )
    return _clamp_op(
        x,
        min=None if min is None else float(min),
        max=None if max is None else float(max),
    )


_clamp_op = defop(
    "clamp",
    _clamp,
    (_clamp_vjp,),
    draw=Draw("clamp"),
    methods=("clamp", "clip"),
    numpy=(np.clip,),
    public=clamp,
)
clip = clamp


def _clone(x: Any) -> Any:
    """A copy of ``x`` (PyTorch's ``clone``: recorded, so gradients flow). VJP: ``g``."""
    return np.array(x, copy=True)


clone = defop("clone", _clone, (_identity_vjp,), draw=Draw(), methods=("clone",))


def _astype(x: Any, dtype: Any = None) -> Any:
    """``x`` converted to the floating-point ``dtype`` (recorded, like PyTorch's ``.to``; None:
    a copy in its own dtype). VJP: ``g`` converted back to the input's dtype."""
    x = np.asarray(x)
    if dtype is None:
        return x.astype(x.dtype)
    hint = "for integers or booleans convert the array: t.numpy().astype(...)"
    return x.astype(float_dtype("astype", dtype, hint))


def _astype_vjp(g: Any, out: Any, x: Any, dtype: Any = None) -> Any:
    return g.astype(x.dtype) if isinstance(g, Tensor) else np.asarray(g).astype(x.dtype)


def _float_method(self: Tensor) -> Tensor:
    """PyTorch's ``x.float()``: ``x`` as float32 (recorded; ``x`` itself if it is float32)."""
    return _to_method(self, np.float32)


def _double_method(self: Tensor) -> Tensor:
    """PyTorch's ``x.double()``: ``x`` as float64 (recorded; ``x`` itself if it is float64)."""
    return _to_method(self, np.float64)


def _to_method(self: Tensor, *args: Any, dtype: Any = None, copy: bool = False,
               non_blocking: bool = False) -> Tensor:  # fmt: skip
    """PyTorch's ``x.to(dtype)``, ``x.to("cpu")``, ``x.to(other)`` (its dtype): ``x`` itself
    when nothing changes (unless ``copy=True``), else converted (recorded, as `astype`). There
    is one device, the CPU."""
    for arg in args:
        if isinstance(arg, str) and arg.split(":")[0] == "cpu":
            continue
        if isinstance(arg, str) and arg in ("cuda", "mps") or str(arg).startswith("cuda"):
            raise InvalidArgumentError(
                f"to: autograd_lite runs on the CPU only (NumPy), there is no device {arg!r}"
            )
        if dtype is not None:
            raise InvalidArgumentError(f"to: got two dtypes, {dtype!r} and {arg!r}")
        dtype = arg.dtype if isinstance(arg, Tensor) else arg
    if dtype is None or float_dtype("to", dtype) == self.dtype:
        return astype(self) if copy else self
    return astype(self, dtype=dtype)


def _type_as_method(self: Tensor, other: Any) -> Tensor:
    """PyTorch's ``x.type_as(other)``: ``x`` in ``other``'s dtype."""
    return _to_method(self, np.asarray(raw(other)).dtype if not isinstance(other, Tensor)
                      else other.dtype)  # fmt: skip


astype = defop(
    "astype",
    _astype,
    (_astype_vjp,),
    draw=Draw(opt_in=True),
    methods=(
        "astype",
        ("float", _float_method),
        ("double", _double_method),
        ("to", _to_method),
        ("type_as", _type_as_method),
    ),
    public=None,
)


def _softmax(x: Any, axis: int = -1) -> Any:
    """Softmax along ``axis``: ``e^(x_i) / Σ_j e^(x_j)``, shifted by the max for stability.

    VJP: ``out ⊙ (g - Σ_j g_j out_j)``.
    """
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


softmax = defop(
    "softmax",
    _softmax,
    (lambda g, out, x, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True)),),
    draw=Draw("axis"),
    methods=("softmax",),
    public=_with_doc(_accepting_dim("softmax"), _softmax),
)


def _log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - log Σ_j e^(x_j)`` along ``axis``, by log-sum-exp (no overflow).

    VJP: ``g - softmax(x) · Σ_j g_j``.
    """
    shifted = x - np.max(x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


log_softmax = defop(
    "log_softmax",
    _log_softmax,
    (lambda g, out, x, axis=-1: g - exp_any(out) * g.sum(axis=axis, keepdims=True),),
    draw=Draw("axis"),
    methods=("log_softmax",),
    public=_with_doc(_accepting_dim("log_softmax"), _log_softmax),
)


# -- reductions --------------------------------------------------------------------------------
def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Sum over ``axis``. VJP: ``g`` broadcast back to the input's shape."""
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not keepdims and axis is not None:
        g = g.reshape(_keepdims_shape(x.shape, axis))
    return _broadcast_any(g, x.shape)


sum = defop(  # noqa: A001
    "sum",
    _sum,
    (_sum_vjp,),
    draw=Draw("reduction"),
    methods=("sum",),
    numpy=(np.sum,),
    public=_with_doc(_accepting_dim("sum"), _sum),
)


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean over ``axis``. VJP: ``g / n`` broadcast back, n the number of averaged elements."""
    return np.mean(x, axis=axis, keepdims=keepdims)


def _mean_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    count = x.size // builtins.max(out.size, 1) if out.size else 1
    return _sum_vjp(g, out, x, axis, keepdims) / count


mean = defop(
    "mean",
    _mean,
    (_mean_vjp,),
    draw=Draw("reduction"),
    methods=("mean",),
    numpy=(np.mean,),
    public=_with_doc(_accepting_dim("mean"), _mean),
)


def argmax(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> np.ndarray:  # fmt: skip
    """The index of the maximum over ``dim`` (flattened when None): a NumPy integer array, not
    recorded (like the comparisons). The first index among ties, as NumPy and PyTorch."""
    return _arg_reduce("argmax", np.argmax, x, dim, keepdim, axis, keepdims)


def argmin(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> np.ndarray:  # fmt: skip
    """The index of the minimum over ``dim`` (flattened when None): a NumPy integer array, not
    recorded. The first index among ties."""
    return _arg_reduce("argmin", np.argmin, x, dim, keepdim, axis, keepdims)


def _arg_reduce(name: str, reduce: Callable[..., Any], x: Any, dim: Any, keepdim: bool,
                axis: Any, keepdims: bool | None) -> np.ndarray:  # fmt: skip
    axis = _one_axis(name, axis, dim)
    if keepdims is not None:
        keepdim = keepdims
    data = np.asarray(raw(x))
    if axis is not None:
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise InvalidInputError(f"{name}: dim must be one int (or None), got {axis!r}")
        (axis,) = _dims_in(name, axis, data.ndim, data.shape)
        if data.ndim == 0:  # (dim 0 or -1 of a 0-d tensor: the tensor, as in PyTorch)
            axis, data, keepdim = 0, data.reshape(1), False
    if (data.size if axis is None else data.shape[axis]) == 0:
        raise TensorIndexError(
            f"{name}: the input of shape {data.shape} has no elements to choose from"
            + ("" if axis is None else f" along dim {axis}")
        )
    return np.asarray(reduce(data, axis=axis, keepdims=bool(keepdim)))


def _argmax_method(self: Tensor, dim: Any = None, keepdim: bool = False, **kw: Any) -> np.ndarray:
    """The index of the maximum: see [`autograd_lite.ops.argmax()`][autograd_lite.ops.argmax]."""
    return argmax(self, dim, keepdim, **kw)


def _argmin_method(self: Tensor, dim: Any = None, keepdim: bool = False, **kw: Any) -> np.ndarray:
    """The index of the minimum: see [`autograd_lite.ops.argmin()`][autograd_lite.ops.argmin]."""
    return argmin(self, dim, keepdim, **kw)


class ValuesIndices:
    """What ``x.max(dim)`` and ``x.min(dim)`` return, as PyTorch's ``torch.return_types``:
    ``values`` (a Tensor) and ``indices`` (a NumPy int array, computed when first read: while
    a replay records, reading it is refused like any read of values), also as a pair
    (``values, indices = x.max(1)``; ``x.max(1)[0]`` is the values)."""

    __slots__ = ("values", "_source", "_axis", "_keepdims", "_reduce", "_indices")

    def __init__(self, values: Tensor, source: Any, axis: int, keepdims: bool,
                 reduce: Callable[..., np.ndarray]) -> None:  # fmt: skip
        self.values, self._source, self._axis = values, source, axis
        self._keepdims, self._reduce = keepdims, reduce
        self._indices: np.ndarray | None = None

    @property
    def indices(self) -> np.ndarray:
        if self._indices is None:
            self._indices = self._reduce(self._source, self._axis, self._keepdims)
        return self._indices

    def __iter__(self) -> Iterator[Any]:
        yield self.values
        yield self.indices

    def __getitem__(self, index: int) -> Any:
        if index in (0, -2):
            return self.values
        if index in (1, -1):
            return self.indices
        raise TensorIndexError(f"(values, indices): index {index} is out of range for 2 items")

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"(values={self.values!r}, indices={self.indices!r})"


def _selecting(name: str, reduce: Callable[..., np.ndarray], forward: Callable[..., Any]
                ) -> Callable[..., Any]:  # fmt: skip
    """The public ``max`` / ``min``: with one int dim (``dim=1``, or ``x.max(1)``), PyTorch's
    ``(values, indices)``; otherwise (no dim, ``axis=``, a tuple of dims) the values only,
    ``g`` shared among ties (PyTorch's ``amax``, NumPy's ``max``)."""
    accepting = _accepting_dim(name)

    def call(x: Any, *args: Any, **params: Any) -> Any:
        dim = params["dim"] if "dim" in params else args[0] if args else None
        other = params.get("other", dim if args and not params else None)
        if isinstance(other, (Tensor, np.ndarray)):  # PyTorch's max(x, other): elementwise
            return (maximum if name == "max" else minimum)(x, other)
        if (
            isinstance(dim, (int, np.integer))
            and not isinstance(dim, bool)
            and "axis" not in params
        ):
            keep = params.get(
                "keepdim", params.get("keepdims", args[1] if len(args) > 1 else False)
            )
            along = REGISTRY[f"{name}_along"].primitive  # (declared below)
            x = x if isinstance(x, Tensor) else Tensor(x)
            (axis,) = _dims_in(name, dim, x.ndim, x.shape)
            if x.ndim == 0:  # (PyTorch: dim 0 or -1 of a 0-d tensor is the tensor)
                x, keep = reshape(x, (1,)), False
            if x.shape[axis] == 0:
                raise TensorIndexError(
                    f"{name}: the input of shape {x.shape} has no elements to choose from "
                    f"along dim {axis}"
                )
            values = along(x, axis=axis, keepdims=bool(keep))
            return ValuesIndices(values, x, axis, bool(keep), reduce)
        return accepting(x, *args, **params)

    call.__name__ = call.__qualname__ = name
    call.takes_self = True  # type: ignore[attr-defined]
    return _with_doc(call, forward)


def _max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Maximum over ``axis``. VJP: ``g`` to the maximal elements, shared equally among ties
    (as PyTorch's ``amax`` and its full reduction ``x.max()``; see the subgradient table of
    the composition guide for ``torch.max(x, dim)``)."""
    return np.max(x, axis=axis, keepdims=keepdims)


def _max_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    data = raw(x)
    top = raw(out)
    if not keepdims and axis is not None:
        kept = _keepdims_shape(data.shape, axis)
        top = top.reshape(kept)
        g = g.reshape(kept)
    winners = data == top
    share = winners / winners.sum(axis=axis, keepdims=True)
    return g * share.astype(data.dtype)


max = defop(  # noqa: A001
    "max",
    _max,
    (_max_vjp,),
    draw=Draw("reduction", ("distinct",)),
    methods=("max", ("argmax", _argmax_method), ("amax", _accepting_dim("max"))),
    numpy=(np.max,),
    public=_selecting("max", argmax, _max),
)


def _min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Minimum over ``axis``. VJP: ``g`` to the minimal elements, shared equally among ties."""
    return np.min(x, axis=axis, keepdims=keepdims)


min = defop(  # noqa: A001
    "min",
    _min,
    (_max_vjp,),  # (the same rule: g to the elements equal to the result)
    draw=Draw("reduction", ("distinct",)),
    methods=("min", ("argmin", _argmin_method), ("amin", _accepting_dim("min"))),
    numpy=(np.min,),
    public=_selecting("min", argmin, _min),
)


# -- PyTorch's x.max(dim) / x.min(dim): the values, with g to the index they come from ---------
def _picked(x: Any, axis: int, reduce: Callable[..., Any]) -> np.ndarray:
    """The index that ``reduce`` (``np.argmax`` / ``np.argmin``) picks along ``axis``, kept."""
    return np.expand_dims(reduce(x, axis=axis), axis)


def _max_along(x: Any, axis: int = 0, keepdims: bool = False) -> Any:
    """The maximum along one ``axis``, PyTorch's ``x.max(dim).values``. VJP: ``g`` to the
    element `argmax` picks (the first among ties), as PyTorch's ``max(dim)`` does."""
    v = np.take_along_axis(x, _picked(x, axis, np.argmax), axis=axis)
    return v if keepdims else np.squeeze(v, axis=axis)


def _min_along(x: Any, axis: int = 0, keepdims: bool = False) -> Any:
    """The minimum along one ``axis``, PyTorch's ``x.min(dim).values``. VJP: ``g`` to the
    element `argmin` picks (the first among ties)."""
    v = np.take_along_axis(x, _picked(x, axis, np.argmin), axis=axis)
    return v if keepdims else np.squeeze(v, axis=axis)


def _along_vjp(reduce: Callable[..., Any]) -> Callable[..., Any]:
    def vjp(g: Any, out: Any, x: Any, axis: int = 0, keepdims: bool = False) -> Any:
        data = raw(x)
        axis %= data.ndim
        positions = np.arange(data.shape[axis]).reshape((-1,) + (1,) * (data.ndim - 1 - axis))
        mask = (positions == _picked(data, axis, reduce)).astype(data.dtype)  # one-hot
        return (g if keepdims else g.reshape(_keepdims_shape(data.shape, axis))) * mask

    return vjp


max_along = defop(
    "max_along", _max_along, (_along_vjp(np.argmax),), draw=Draw("max_along", ("distinct",)),
    public=None,
)  # fmt: skip
min_along = defop(
    "min_along", _min_along, (_along_vjp(np.argmin),), draw=Draw("min_along", ("distinct",)),
    public=None,
)  # fmt: skip


def _logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log Σ eˣ`` over ``axis``, shifted by the maximum (no overflow; all ``-inf`` gives
    ``-inf``). VJP: ``g · e^(x - out)``, i.e. ``g`` times the softmax over ``axis``."""
    top = np.max(x, axis=axis, keepdims=True) if np.size(x) else np.zeros(())
    top = np.where(np.isfinite(top), top, 0.0).astype(np.result_type(x, np.float32))
    with np.errstate(divide="ignore", under="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else out.reshape(np.sum(x, axis=axis).shape)


def _logsumexp_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not keepdims and axis is not None:
        kept = _keepdims_shape(x.shape, axis)
        g, out = g.reshape(kept), out.reshape(kept)
    return g * exp_any(x - out)


logsumexp = defop(
    "logsumexp",
    _logsumexp,
    (_logsumexp_vjp,),
    draw=Draw("reduction"),
    methods=("logsumexp",),
    public=_with_doc(_accepting_dim("logsumexp"), _logsumexp),
)


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each output of a reduction over ``axis`` gathers."""
    kept = _keepdims_shape(shape, axis)
    return int(np.prod(shape, dtype=np.int64) // builtins.max(int(np.prod(kept)), 1))


def _var(x: Any, axis: Any = None, keepdims: bool = False, correction: float = 1) -> Any:
    """Variance over ``axis``: ``Σ (x - x̄)² / (n - correction)``; the default
    ``correction=1`` is PyTorch's (unbiased), NumPy's ``ddof=0`` is ``correction=0``.
    With ``n <= correction`` the result is inf or NaN (as in PyTorch).

    VJP: ``g · 2 (x - x̄) / (n - correction)``.
    """
    with warnings.catch_warnings():  # (n <= correction: NumPy warns, PyTorch returns nan)
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def _spread_factor(x: Any, axis: Any, correction: float) -> float:
    dof = _reduced_count(x.shape, axis) - correction
    return 1.0 / dof if dof > 0 else float("inf")


def _centred(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """``g`` with the reduced axes kept, times ``x - x̄``."""
    if not keepdims and axis is not None:
        g = g.reshape(_keepdims_shape(x.shape, axis))
    return g * (x - x.mean(axis=axis, keepdims=True))


def _var_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False,
             correction: float = 1) -> Any:  # fmt: skip
    factor = 2.0 * _spread_factor(x, axis, correction)
    if isinstance(g, Tensor) or isinstance(x, Tensor):
        return _centred(g, x, axis, keepdims) * factor
    with np.errstate(invalid="ignore"):  # (n <= correction: 0·inf, NaN as in PyTorch)
        return _centred(g, x, axis, keepdims) * factor


def _positional_unbiased(name: str, given: bool | None, value: Any) -> bool:
    if given is not None:
        raise InvalidArgumentError(f"{name}: got unbiased twice (by position and by keyword)")
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(
            f"{name}: the argument after dim is unbiased (True or False, as in PyTorch's "
            f"{name}(dim, unbiased, keepdim)), got {value!r}; pass keepdim= by keyword"
        )
    return bool(value)


def _spread_public(name: str, forward: Callable[..., Any]) -> Callable[..., Tensor]:
    """The public ``var`` / ``std``: ``dim=``/``keepdim=`` and PyTorch's ``unbiased=`` too,
    with PyTorch's positions: ``x.var(dim, unbiased, keepdim)``, ``x.var(unbiased)``."""

    def call(x: Any, *args: Any, unbiased: bool | None = None, **params: Any) -> Tensor:
        _dim_keywords(name, params)
        if args and isinstance(args[0], (bool, np.bool_)):  # PyTorch's x.var(unbiased)
            args, unbiased = args[1:], _positional_unbiased(name, unbiased, args[0])
            args = (None, *args) if args else args
        if len(args) > 1:  # PyTorch's x.var(dim, unbiased, keepdim)
            unbiased = _positional_unbiased(name, unbiased, args[1])
            args = (args[0], *args[2:])
        if args or params.get("axis") is not None:
            args = _checked_axis(name, x, args, params)
        if unbiased is not None:
            if "correction" in params:
                raise InvalidArgumentError(
                    f"{name}: got both unbiased= and correction=; pass only one "
                    f"(unbiased=False is correction=0)"
                )
            params["correction"] = 1 if unbiased else 0
        return REGISTRY[name].primitive(x, *args, **params)

    call.__name__ = call.__qualname__ = name
    call.takes_self = True  # type: ignore[attr-defined]
    return _with_doc(call, forward)


var = defop(
    "var",
    _var,
    (_var_vjp,),
    draw=Draw("reduction", ("distinct",)),
    methods=("var",),
    public=_spread_public("var", _var),
)


def _std(x: Any, axis: Any = None, keepdims: bool = False, correction: float = 1) -> Any:
    """Standard deviation over ``axis``: ``√var(x)`` with PyTorch's default ``correction=1``.

    VJP: ``g · (x - x̄) / ((n - correction) · out)``, and 0 where ``out = 0`` (as PyTorch).
    """
    return np.sqrt(_var(x, axis, keepdims, correction))


def _std_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False,
             correction: float = 1) -> Any:  # fmt: skip
    # PyTorch's rule: var's vjp for g / (2·out), taken as 0 where out = 0 (all values equal).
    spread = raw(out) != 0
    if isinstance(g, Tensor) or isinstance(out, Tensor):
        half = _where_any(spread, g / (2 * out))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            half = _where_any(spread, g / (2 * out))
    return _var_vjp(half, out, x, axis, keepdims, correction)


std = defop(
    "std",
    _std,
    (_std_vjp,),
    draw=Draw("reduction", ("distinct",)),
    methods=("std",),
    public=_spread_public("std", _std),
)


# -- shape ops -------------------------------------------------------------------------------
def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    """The same elements in a new shape. VJP: ``g`` reshaped to the input's shape."""
    return np.reshape(x, shape)


def _by_keyword(name: str, given: tuple, named: dict[str, Any], key: str) -> tuple:
    """``given`` (the arguments by position), or ``(named[key],)`` when it came by keyword
    (PyTorch's ``x.reshape(shape=...)``, ``x.permute(dims=...)``)."""
    if not named:
        return given
    if set(named) != {key} or given:
        raise InvalidInputError(
            f"{name}: takes {key} by position or as {key}=, got "
            f"{len(given)} positional and keyword(s) {sorted(named)}"
        )
    return (named[key],)


def _reshape_method(self: Tensor, *shape: Any, **named: Any) -> Tensor:
    """The same data in a new shape (``t.reshape(2, 3)``, ``t.reshape((2, 3))`` or
    ``t.reshape(shape=(2, 3))``)."""
    shape = _by_keyword("reshape", shape, named, "shape")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return reshape(self, shape)


def _dims_in(name: str, dims: Any, ndim: int, shape: tuple[int, ...] | None = None
             ) -> tuple[int, ...]:  # fmt: skip
    """``dims`` (an int or a sequence of ints) as non-negative axes of an ``ndim``-d array
    (of ``shape``, for the message)."""
    listed = dims if isinstance(dims, (tuple, list)) else (dims,)
    out = []
    for d in listed:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            shown = (
                repr(d)
                if np.ndim(raw(d)) == 0
                else f"a {type(d).__name__} of shape {np.shape(raw(d))}"
            )
            raise InvalidInputError(f"{name}: dims must be ints, got {shown}")
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            owner = f"of shape {shape}" if shape is not None else f"with {ndim} dimension(s)"
            raise TensorIndexError(
                f"{name}: dim (axis) {d} is out of range for a tensor {owner} "
                f"(valid: {-builtins.max(ndim, 1)} to {builtins.max(ndim, 1) - 1})"
            )
        out.append(int(d) % builtins.max(ndim, 1))
    return tuple(out)


def squeeze(x: Any, dim: Any = None, *, axis: Any = None) -> Tensor:
    """``x`` without its axes of length 1 (only those of ``dim``, an int or a tuple, when
    given; an axis of ``dim`` whose length is not 1 is kept, as in PyTorch). A reshape: its
    gradient is the gradient reshaped back."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    dims = _one_axis("squeeze", axis, dim)
    shape = x.shape
    chosen = set(range(len(shape))) if dims is None else set(_dims_in("squeeze", dims, x.ndim))
    return reshape(x, tuple(n for i, n in enumerate(shape) if not (i in chosen and n == 1)))


def unsqueeze(x: Any, dim: int) -> Tensor:
    """``x`` with a new axis of length 1 at position ``dim`` (``-x.ndim - 1 <= dim <= x.ndim``,
    as in PyTorch). A reshape."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    (where,) = _dims_in("unsqueeze", dim, x.ndim + 1)
    shape = x.shape
    return reshape(x, shape[:where] + (1,) + shape[where:])


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``x`` with the axes ``start_dim`` to ``end_dim`` (inclusive) merged into one (PyTorch's
    ``flatten``; a 0-d tensor becomes shape ``(1,)``). A reshape."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 0:
        _dims_in("flatten", (start_dim, end_dim), 0)
        return reshape(x, (1,))
    start, end = _dims_in("flatten", (start_dim, end_dim), x.ndim)
    if start > end:
        raise InvalidArgumentError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}"
        )
    shape = x.shape
    merged = int(np.prod(shape[start : end + 1], dtype=np.int64))
    return reshape(x, shape[:start] + (merged,) + shape[end + 1 :])


def _view_method(self: Tensor, *shape: Any) -> Tensor:
    """The same data in a new shape: PyTorch's ``view``, here the same as ``reshape``."""
    return _reshape_method(self, *shape)


def _flatten_method(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim`` to ``end_dim``: see `autograd_lite.ops.flatten()`."""
    return flatten(self, start_dim, end_dim)


def _squeeze_method(self: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """Drop axes of length 1: see [`autograd_lite.ops.squeeze()`][autograd_lite.ops.squeeze]."""
    return squeeze(self, dim, axis=axis)


def _unsqueeze_method(self: Tensor, dim: int) -> Tensor:
    """Insert an axis of length 1 at ``dim``: see `autograd_lite.ops.unsqueeze()`."""
    return unsqueeze(self, dim)


reshape = defop(
    "reshape",
    _reshape,
    (lambda g, out, x, shape: g.reshape(x.shape),),
    draw=Draw("reshape"),
    methods=(
        ("reshape", _reshape_method),
        ("view", _view_method),
        ("flatten", _flatten_method),
        ("squeeze", _squeeze_method),
        ("unsqueeze", _unsqueeze_method),
    ),
    numpy=(np.reshape,),
)


def _transpose(x: Any, axes: Any = None) -> Any:
    """Permute axes (reverse them by default). VJP: ``g`` with the inverse permutation."""
    # (the method skips np.transpose's Python wrapper: this runs twice per Linear layer)
    return x.transpose(axes) if x.__class__ is np.ndarray else np.transpose(x, axes)


def _transpose_vjp(g: Any, out: Any, x: Any, axes: Any = None) -> Any:
    if axes is None:
        return g.transpose()
    return g.transpose(tuple(np.argsort([a % len(axes) for a in axes])))


def _transpose_method(self: Tensor, *axes: Any, dim0: int | None = None,
                      dim1: int | None = None) -> Tensor:  # fmt: skip
    """Permute the axes: ``x.transpose()`` reverses them, ``x.transpose(axes)`` (a tuple, or
    three or more integers) puts them in that order, as in NumPy; two integers swap those two
    axes, as PyTorch's ``x.transpose(dim0, dim1)`` does (so ``m.transpose(0, 1)`` of a matrix
    is its transpose, where NumPy's ``transpose(0, 1)`` would leave it as it is); PyTorch's
    keywords ``dim0=``, ``dim1=`` too."""
    if dim0 is not None or dim1 is not None:
        axes = (*axes, *(d for d in (dim0, dim1) if d is not None))
        if len(axes) != 2:
            raise InvalidInputError(
                f"transpose: dim0 and dim1 name the two dims to swap; got {axes}"
            )
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        return _swapaxes(self, *axes)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return transpose(self, axes or None)


def _swapaxes(self: Tensor, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    ndim = self.ndim
    if not (-ndim <= axis1 < ndim and -ndim <= axis2 < ndim):
        raise TensorIndexError(  # (an IndexError, as PyTorch's, and a ValueError)
            f"swapaxes: axes {axis1} and {axis2} are out of range for shape {self.shape}"
        )
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(self, tuple(axes))


def permute(x: Any, *dims: Any) -> Tensor:
    """``x`` with its axes in the order ``dims`` (a permutation; ``permute(x, (1, 0))`` or
    ``x.permute(1, 0)``, as in PyTorch). A transpose: its gradient is transposed back."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = _dims_in("permute", dims, x.ndim) if x.ndim else tuple(dims)
    if sorted(axes) != list(range(x.ndim)):
        raise InvalidArgumentError(
            f"permute: dims {tuple(dims)} are not a permutation of the {x.ndim} axes of a "
            f"tensor of shape {x.shape}"
        )
    return transpose(x, axes)


def _permute_method(self: Tensor, *dims: Any, **named: Any) -> Tensor:
    """Reorder the axes: see [`autograd_lite.ops.permute()`][autograd_lite.ops.permute]."""
    return permute(self, *_by_keyword("permute", dims, named, "dims"))


def _t(self: Tensor) -> Tensor:
    """The transpose (all axes reversed)."""
    return transpose(self)


def _t_method(self: Tensor) -> Tensor:
    """PyTorch's ``x.t()``: the transpose of a matrix; a tensor of 0 or 1 dims as it is."""
    if self.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor of at most 2 dims, got shape {self.shape}; use "
            f"x.transpose(dim0, dim1) or x.permute(...)"
        )
    return transpose(self) if self.ndim == 2 else self


def _matrix_transpose(self: Tensor) -> Tensor:
    """PyTorch's ``x.mT``: each matrix of a stack transposed (the last two axes swapped)."""
    if self.ndim < 2:
        raise ShapeError(f"mT: expects a tensor of at least 2 dims, got shape {self.shape}")
    return _swapaxes(self, -2, -1)


def _movedim(self: Tensor, source: Any, destination: Any) -> Tensor:
    """PyTorch's ``x.movedim(source, destination)`` (NumPy's ``moveaxis``): a transpose."""
    sources = _dims_in("movedim", source, self.ndim, self.shape)
    targets = _dims_in("movedim", destination, self.ndim, self.shape)
    if len(sources) != len(targets) or len(set(sources)) != len(sources) or len(
        set(targets)) != len(targets):  # fmt: skip
        raise InvalidArgumentError(
            f"movedim: source {source} and destination {destination} must be distinct dims, "
            f"as many of each"
        )
    rest = iter(d for d in range(self.ndim) if d not in sources)
    placed = dict(zip(targets, sources))
    return transpose(
        self, tuple(placed[i] if i in placed else next(rest) for i in range(self.ndim))
    )


def _transpose_public(x: Any, *dims: Any, axes: Any = None, dim0: int | None = None,
                      dim1: int | None = None) -> Tensor:  # fmt: skip
    """``al.transpose(x)`` reverses the axes, ``al.transpose(x, axes)`` puts them in that order
    (NumPy), ``al.transpose(x, dim0, dim1)`` swaps two of them (PyTorch). VJP: ``g`` with the
    inverse permutation."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if axes is not None:
        dims = (*dims, axes)
    return _transpose_method(x, *dims, dim0=dim0, dim1=dim1)


transpose = defop(
    "transpose",
    _transpose,
    (_transpose_vjp,),
    draw=Draw("transpose"),
    methods=(
        ("transpose", _transpose_method),
        ("swapaxes", _swapaxes),
        ("permute", _permute_method),
        ("T", property(_t)),
        ("t", _t_method),
        ("movedim", _movedim),
        ("mT", property(_matrix_transpose)),
    ),
    numpy=(np.transpose,),
    public=_transpose_public,
)


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast to ``shape`` (a read-only view). VJP: ``g`` summed back to the input's shape."""
    return np.broadcast_to(x, shape)


def _expand_method(self: Tensor, *sizes: Any) -> Tensor:
    """PyTorch's ``x.expand(*sizes)``: ``x`` broadcast to ``sizes`` (``-1`` keeps a dim). A
    `broadcast_to`: its gradient is summed back."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of shape {self.shape}")
    shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return broadcast_to(self, shape=shape)


def _repeat_method(self: Tensor, *repeats: Any) -> Tensor:
    """PyTorch's ``x.repeat(*repeats)``: ``x`` tiled ``repeats[i]`` times along dim ``i``
    (NumPy's ``np.tile``), as a broadcast and a reshape."""
    if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)):
        repeats = tuple(repeats[0])
    if len(repeats) < self.ndim:
        raise ShapeError(
            f"repeat: {len(repeats)} repeats for a tensor of shape {self.shape}; give one per "
            f"dim (or more)"
        )
    shape = (1,) * (len(repeats) - self.ndim) + self.shape
    spread = tuple(n for pair in zip(repeats, shape) for n in pair)
    paired = reshape(self, tuple(n for size in shape for n in (1, size)))
    tiled = broadcast_to(paired, shape=spread)
    return reshape(tiled, tuple(r * n for r, n in zip(repeats, shape)))


broadcast_to = defop(
    "broadcast_to",
    _broadcast_to,
    (lambda g, out, x, shape: sum_to(g, x.shape, "broadcast_to"),),
    draw=Draw("broadcast_to"),
    methods=(("expand", _expand_method), ("repeat", _repeat_method)),
    numpy=(np.broadcast_to,),
)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` for a Tensor ``x``: NumPy's basic and advanced indexing, differentiable."""
    if isinstance(index, tuple):
        index = tuple(_index_part(i) for i in index)
    else:
        index = _index_part(index)
    return _getitem_op(x, index=index)


def _index_part(part: Any) -> Any:
    # A Tensor used as an index holds floats: whole numbers are taken as integer indices.
    if not isinstance(part, Tensor):
        return part
    data = raw(part)  # (an index read out of a recorded Tensor would be frozen: see replay)
    if data.dtype.kind == "f" and np.all(np.mod(data, 1) == 0):
        return data.astype(np.intp)
    return data


def _getitem(x: Any, index: Any) -> Any:
    """NumPy indexing (basic and advanced). VJP: ``g`` added into zeros at the indexed places."""
    return x[index]


def _getitem_vjp(g: Any, out: Any, x: Any, index: Any) -> Any:
    if isinstance(g, Tensor):
        return _scatter(g, index=index, shape=x.shape)
    return _scatter_add(g, index, x.shape)


def _flip_method(self: Tensor, *dims: Any) -> Tensor:
    """PyTorch's ``x.flip(dims)``: the order along each of ``dims`` reversed (an index)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    chosen = set(_dims_in("flip", dims, self.ndim, self.shape))
    return getitem(self, tuple(slice(None, None, -1 if i in chosen else 1)
                               for i in range(self.ndim)))  # fmt: skip


def _split_method(self: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``x.split(size, dim)`` (pieces of ``size``, the last maybe smaller) or
    ``x.split([sizes], dim)``: a tuple of indexed pieces."""
    (axis,) = _dims_in("split", dim, self.ndim, self.shape)
    length = self.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise InvalidArgumentError(
                f"split: size must be positive, got {split_size_or_sections}"
            )
        sizes = [split_size_or_sections] * (length // split_size_or_sections)
        sizes += [length % split_size_or_sections] if length % split_size_or_sections else []
    else:
        sizes = (
            list(split_size_or_sections)
            if isinstance(split_size_or_sections, (list, tuple))
            else []
        )
        if not sizes or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0
                            for n in sizes):  # fmt: skip
            raise InvalidInputError(
                f"split: expects an int size or a list of int sizes, got {split_size_or_sections!r}"
            )
        if builtins.sum(sizes) != length:
            raise ShapeError(
                f"split: sizes {sizes} do not add up to {length}, the length of dim {dim}"
            )
    starts = np.cumsum([0, *sizes]).tolist()
    lead = (slice(None),) * axis
    return tuple(getitem(self, (*lead, slice(a, b))) for a, b in zip(starts, starts[1:]))


def _chunk_method(self: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``x.chunk(chunks, dim)``: at most ``chunks`` pieces of ``ceil(n / chunks)``."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise InvalidArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
    (axis,) = _dims_in("chunk", dim, self.ndim, self.shape)
    return _split_method(self, builtins.max(-(-self.shape[axis] // chunks), 1), axis)


def _unbind_method(self: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``x.unbind(dim)``: the slices along ``dim``, each without it."""
    (axis,) = _dims_in("unbind", dim, self.ndim, self.shape)
    lead = (slice(None),) * axis
    return tuple(getitem(self, (*lead, i)) for i in range(self.shape[axis]))


_getitem_op = defop(
    "getitem",
    _getitem,
    (_getitem_vjp,),
    draw=Draw("getitem"),
    methods=(
        "__getitem__",
        ("flip", _flip_method),
        ("split", _split_method),
        ("chunk", _chunk_method),
        ("unbind", _unbind_method),
    ),
    public=getitem,
)


def _scatter_add(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate).

    VJP: ``g[index]``. This is the vjp of indexing, kept as an op so it can be differentiated.
    """
    out = np.zeros(shape, dtype=np.result_type(g, np.float32))
    np.add.at(out, index, g)
    return out


_scatter = defop(
    "scatter_add",
    _scatter_add,
    (lambda g, out, grad, index, shape: g[index],),
    draw=Draw("scatter_add"),
    public=None,
)


def concatenate(tensors: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join a sequence of tensors along an existing ``axis`` (``np.concatenate``; ``dim=`` as
    in ``torch.cat``; default 0)."""
    axis = _one_axis("concatenate", axis, dim)
    axis = 0 if axis is None else axis
    tensors = list(tensors)
    if tensors and isinstance(axis, (int, np.integer)):  # (out of range: PyTorch's IndexError)
        shape = _shape_of(tensors[0])
        _dims_in("concatenate", axis, len(shape), shape)
    try:  # where each input's slice starts and ends, for the vjp (invalid input: forward says)
        bounds = np.cumsum([0] + [np.shape(t)[axis] for t in tensors]).tolist()
    except (IndexError, TypeError):
        bounds = None
    return _concatenate_op(*tensors, axis=axis, bounds=bounds)


def _concatenate(*arrays: Any, axis: int = 0, bounds: Any = None) -> Any:
    """Join arrays along an existing axis. VJP: the matching slice of ``g`` for each input."""
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(
    index: int, g: Any, out: Any, inputs: tuple, axis: int = 0, bounds: Any = None
) -> Any:
    axis = axis % out.ndim
    if bounds is None:  # called as the bare primitive, without the wrapper's precomputed bounds
        start = builtins.sum(np.shape(x)[axis] for x in inputs[:index])
        bounds = {index: start, index + 1: start + np.shape(inputs[index])[axis]}
    return g[(slice(None),) * axis + (slice(bounds[index], bounds[index + 1]),)]


_concatenate_op = defop(
    "concatenate",
    _concatenate,
    EachInput(_concatenate_vjp),
    draw=Draw("concatenate"),
    numpy=(np.concatenate,),
    public=concatenate,
    apply=lambda *tensors, **params: concatenate(tensors, **params),
)


def stack(tensors: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join a sequence of same-shaped tensors along a new ``axis`` (``np.stack``; ``dim=`` as
    in ``torch.stack``; default 0)."""
    axis = _one_axis("stack", axis, dim)
    axis = 0 if axis is None else axis
    tensors = list(tensors)
    if tensors and isinstance(axis, (int, np.integer)):  # (a new axis: -ndim - 1 to ndim)
        shape = _shape_of(tensors[0])
        _dims_in("stack", axis, len(shape) + 1, shape)
    return _stack_op(*tensors, axis=axis)


def _stack(*arrays: Any, axis: int = 0) -> Any:
    """Join arrays along a new axis. VJP: ``g`` indexed at each input's position on that axis."""
    return np.stack(arrays, axis=axis)


def _stack_vjp(index: int, g: Any, out: Any, inputs: tuple, axis: int = 0) -> Any:
    axis = axis % out.ndim
    return g[(slice(None),) * axis + (index,)]


_stack_op = defop(
    "stack",
    _stack,
    EachInput(_stack_vjp),
    draw=Draw("stack"),
    numpy=(np.stack,),
    public=stack,
    apply=lambda *tensors, **params: stack(tensors, **params),
)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Elementwise choice: ``x`` where ``condition`` is true, ``y`` elsewhere (not differentiable
    in ``condition``). With ``condition`` alone, its nonzero indices (``np.nonzero``: a tuple of
    int arrays, as PyTorch's ``torch.where(condition)`` and NumPy's)."""
    if x is None and y is None:
        return np.nonzero(np.asarray(raw(condition)))
    if x is None or y is None:
        raise InvalidInputError("where: give both x and y, or neither (the nonzero indices)")
    condition = np.asarray(raw(condition), dtype=bool)
    return _where_op(x, y, condition=condition)


def _where(x: Any, y: Any, condition: np.ndarray) -> Any:
    """``x`` where ``condition`` holds, else ``y`` (broadcast). VJP: ``g`` masked each way."""
    return np.where(condition, x, y)


_where_op = defop(
    "where",
    _where,
    (
        lambda g, out, x, y, condition: _where_any(condition, g),
        lambda g, out, x, y, condition: _where_any(~condition, g),
    ),
    draw=Draw("where"),
    methods=(("where", lambda self, condition, other: where(condition, self, other)),),
    numpy=(np.where,),
    public=where,
    apply=lambda x, y, condition: where(condition, x, y),
)


# -- convolution and pooling ---------------------------------------------------------------------
# NCHW throughout, as in PyTorch. A convolution is one matrix product per sample over the im2col
# matrix (built with sliding_window_view: a strided view, then one copy); its vjps are two more
# primitives, each the other's transpose, so that gradients of gradients are convolutions too:
#
#   conv2d(x, w)                  y[n,o] = Σ_c,i,j w[o,c,i,j] x[n,c,s·h+d·i-p, s·w+d·j-p]
#   conv2d_input_grad(g, w)       ∂C/∂x of conv2d: the transposed convolution of g by w
#   conv2d_weight_grad(x, g)      ∂C/∂w of conv2d: the correlation of x with g
#
# The three are bilinear forms of one trilinear ⟨g, conv2d(x, w)⟩, so each one's vjps are the
# other two (with the roles of their arguments swapped). Pooling works the same way:
# max_pool2d's vjp scatters g to each window's first maximum (max_pool2d_backward, whose vjp is
# the gather of the same places), avg_pool2d's spreads g/(kh·kw) over each window
# (avg_pool2d_backward, whose vjp is avg_pool2d).
from numpy.lib.stride_tricks import sliding_window_view as _windows_view  # noqa: E402


def _pair(value: Any, what: str, op: str, low: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as a pair of ints ``>= low``."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair
    ):
        raise InvalidInputError(f"{op}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < low:
        raise ShapeError(f"{op}: {what} must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_nchw(op: str, name: str, shape: tuple[int, ...]) -> None:
    if len(shape) != 4:
        raise ShapeError(
            f"{op}: {name} must be 4-D (N, C, H, W), got shape {shape}"
            + ("; add a batch axis with x[None] for one image" if len(shape) == 3 else "")
        )


def _out_size(op: str, size: tuple[int, ...], kernel: tuple, stride: tuple, padding: tuple,
              dilation: tuple) -> tuple[int, int]:  # fmt: skip
    """The output height and width; a ShapeError naming the shapes if the kernel does not fit."""
    out = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            raise ShapeError(
                f"{op}: the kernel {tuple(kernel)} (dilation {tuple(dilation)}) spans "
                f"{span} but the input is only {tuple(size)} padded by {tuple(padding)}"
            )
        out.append((n + 2 * p - span) // s + 1)
    return out[0], out[1]


def _pad(x: np.ndarray, padding: tuple, fill: float = 0.0) -> np.ndarray:
    """``x`` with ``padding`` rows/columns of ``fill`` on both sides of H and W."""
    ph, pw = padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _offsets(kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple) -> list[tuple]:
    """For each kernel offset (row-major), the (rows, columns) slices of the padded input that
    it reads across all windows at once."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    return [
        (
            slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw),
        )
        for i in range(kh)
        for j in range(kw)
    ]


def _im2col(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple
            ) -> np.ndarray:  # fmt: skip
    """The im2col matrices ``(N, C·KH·KW, OH·OW)`` of ``x``: the windows' strided view
    (``sliding_window_view``), copied once."""
    (dh, dw) = dilation
    span = (dh * (kernel[0] - 1) + 1, dw * (kernel[1] - 1) + 1)
    view = _windows_view(_pad(x, padding), span, axis=(2, 3))
    view = view[:, :, :: stride[0], :: stride[1], ::dh, ::dw]
    n, c, oh, ow, kh, kw = view.shape
    return view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def _col2im(cols: np.ndarray, shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
            dilation: tuple, out_hw: tuple) -> np.ndarray:  # fmt: skip
    """The adjoint of `_im2col()`: each window's column added back where it was read from
    (a loop over the kh·kw kernel offsets, each one strided add of every window at once)."""
    n, c, h, w = shape
    (kh, kw), (ph, pw), (oh, ow) = kernel, padding, out_hw
    cols = cols.reshape(n, c, kh * kw, oh, ow)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for k, (rows, columns) in enumerate(_offsets(kernel, stride, dilation, out_hw)):
        out[:, :, rows, columns] += cols[:, :, k]
    return out[:, :, ph : ph + h, pw : pw + w] if ph or pw else out


def _conv_params(op: str, stride: Any, padding: Any, dilation: Any) -> tuple[tuple, tuple, tuple]:
    return (
        _pair(stride, "stride", op, 1),
        _pair(padding, "padding", op, 0),
        _pair(dilation, "dilation", op, 1),
    )


def _conv2d(
    x: Any, w: Any, b: Any = 0.0, stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> Any:
    """2-D convolution (PyTorch's ``conv2d``, a cross-correlation), NCHW.

    ``x`` is ``(N, C, H, W)``, ``w`` is ``(O, C, KH, KW)``, ``b`` is ``(O,)`` (or ``0.0``: no
    bias); the output is ``(N, O, OH, OW)`` with ``OH = (H + 2p - d(KH-1) - 1) // s + 1``.
    Computed as one matrix product per sample, ``w (O, C·KH·KW) @ im2col(x) (C·KH·KW, OH·OW)``,
    which gives NCHW without a transpose (measured on LeNet's shapes, float32: 1.5-2x faster
    than ``tensordot`` over the windows' view, 5-50x faster than ``einsum``).

    VJPs: ``∂C/∂x = conv2d_input_grad(g, w)`` (the transposed convolution),
    ``∂C/∂w = conv2d_weight_grad(x, g)``, ``∂C/∂b = Σ_{n,h,w} g``.
    """
    x, w = np.asarray(x), np.asarray(w)
    stride, padding, dilation = _conv_params("conv2d", stride, padding, dilation)
    _check_nchw("conv2d", "the input", x.shape)
    if w.ndim != 4:
        raise ShapeError(f"conv2d: the weight must be 4-D (O, C, KH, KW), got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ShapeError(
            f"conv2d: the input {x.shape} has {x.shape[1]} channels but the weight {w.shape} "
            f"expects {w.shape[1]}"
        )
    if np.ndim(b) and np.shape(b) != (w.shape[0],):
        raise ShapeError(
            f"conv2d: the bias must have shape ({w.shape[0]},) for the weight {w.shape}, "
            f"got {np.shape(b)}"
        )
    kernel = w.shape[2:]
    oh, ow = _out_size("conv2d", x.shape[2:], kernel, stride, padding, dilation)
    cols = _im2col(x, kernel, stride, padding, dilation)
    out = np.matmul(w.reshape(w.shape[0], -1), cols).reshape(x.shape[0], w.shape[0], oh, ow)
    if np.ndim(b):
        out += np.reshape(b, (-1, 1, 1)).astype(out.dtype, copy=False)
    return out


def _conv2d_input_grad(g: Any, w: Any, x_shape: tuple = (), stride: Any = 1, padding: Any = 0,
                       dilation: Any = 1) -> Any:  # fmt: skip
    """``∂C/∂x`` of `conv2d()` for the gradient ``g`` of its output: the transposed
    convolution of ``g (N, O, OH, OW)`` by ``w (O, C, KH, KW)``, of shape ``x_shape``.

    Computed as ``wᵀ @ g`` per sample, then col2im. VJPs: ``conv2d(h, w)`` for ``g`` and
    ``conv2d_weight_grad(h, g)`` for ``w``.
    """
    g, w = np.asarray(g), np.asarray(w)
    stride, padding, dilation = _conv_params("conv2d_input_grad", stride, padding, dilation)
    n, o, oh, ow = g.shape
    cols = np.matmul(w.reshape(o, -1).T, g.reshape(n, o, oh * ow))
    return _col2im(cols, tuple(x_shape), w.shape[2:], stride, padding, dilation, (oh, ow))


def _conv2d_weight_grad(x: Any, g: Any, w_shape: tuple = (), stride: Any = 1, padding: Any = 0,
                        dilation: Any = 1) -> Any:  # fmt: skip
    """``∂C/∂w`` of `conv2d()` for its input ``x`` and the gradient ``g`` of its output:
    ``Σ_n g[n] (O, OH·OW) @ im2col(x)[n]ᵀ``, of shape ``w_shape``.

    VJPs: ``conv2d_input_grad(g, h)`` for ``x`` and ``conv2d(x, h)`` for ``g``.
    """
    x, g = np.asarray(x), np.asarray(g)
    stride, padding, dilation = _conv_params("conv2d_weight_grad", stride, padding, dilation)
    cols = _im2col(x, tuple(w_shape[2:]), stride, padding, dilation)
    n, o = g.shape[:2]
    return np.matmul(g.reshape(n, o, -1), cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


def _differentiable_call(op: Primitive, *args: Any, **params: Any) -> Any:
    """``op`` recorded when an argument is a Tensor (create_graph), else its bare forward."""
    if builtins.any(isinstance(a, Tensor) for a in args):
        return op(*args, **params)
    return op.forward(*args, **params)


def _conv2d_vjp_x(g: Any, out: Any, x: Any, w: Any, b: Any = 0.0, stride: Any = 1,
                  padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        conv2d_input_grad, g, w, x_shape=tuple(x.shape), stride=stride, padding=padding,
        dilation=dilation,
    )  # fmt: skip


def _conv2d_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any = 0.0, stride: Any = 1,
                  padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        conv2d_weight_grad, x, g, w_shape=tuple(w.shape), stride=stride, padding=padding,
        dilation=dilation,
    )  # fmt: skip


def _conv2d_vjp_b(g: Any, out: Any, x: Any, w: Any, b: Any = 0.0, **params: Any) -> Any:
    return g.sum(axis=(0, 2, 3))


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> Tensor:  # fmt: skip
    """2-D convolution of ``x (N, C, H, W)`` by ``w (O, C, KH, KW)`` plus ``b (O,)``, NCHW
    (PyTorch's ``torch.nn.functional.conv2d`` without groups).

    ``stride``, ``padding`` (zeros) and ``dilation`` are ints or ``(h, w)`` pairs. Differentiable
    to any order in ``x``, ``w`` and ``b``. Raises [`ShapeError`][autograd_lite.errors.ShapeError]
    naming the shapes when they do not fit.
    """
    params = _conv_params("conv2d", stride, padding, dilation)
    return _conv2d_op(x, w, 0.0 if b is None else b, stride=params[0], padding=params[1],
                      dilation=params[2])  # fmt: skip


_conv2d_op = defop(
    "conv2d",
    _conv2d,
    (_conv2d_vjp_x, _conv2d_vjp_w, _conv2d_vjp_b),
    draw=Draw("conv2d"),
    public=conv2d,
)


def _input_grad_vjp_g(h: Any, out: Any, g: Any, w: Any, x_shape: tuple = (), stride: Any = 1,
                      padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        _conv2d_op, h, w, 0.0, stride=stride, padding=padding, dilation=dilation
    )


def _input_grad_vjp_w(h: Any, out: Any, g: Any, w: Any, x_shape: tuple = (), stride: Any = 1,
                      padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        conv2d_weight_grad, h, g, w_shape=tuple(w.shape), stride=stride, padding=padding,
        dilation=dilation,
    )  # fmt: skip


conv2d_input_grad = defop(
    "conv2d_input_grad",
    _conv2d_input_grad,
    (_input_grad_vjp_g, _input_grad_vjp_w),
    draw=Draw("conv2d_input_grad"),
    public=None,
)


def _weight_grad_vjp_x(h: Any, out: Any, x: Any, g: Any, w_shape: tuple = (), stride: Any = 1,
                       padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        conv2d_input_grad, g, h, x_shape=tuple(x.shape), stride=stride, padding=padding,
        dilation=dilation,
    )  # fmt: skip


def _weight_grad_vjp_g(h: Any, out: Any, x: Any, g: Any, w_shape: tuple = (), stride: Any = 1,
                       padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    return _differentiable_call(
        _conv2d_op, x, h, 0.0, stride=stride, padding=padding, dilation=dilation
    )


conv2d_weight_grad = defop(
    "conv2d_weight_grad",
    _conv2d_weight_grad,
    (_weight_grad_vjp_x, _weight_grad_vjp_g),
    draw=Draw("conv2d_weight_grad"),
    public=None,
)


def _pool_params(op: str, x_shape: tuple, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any = 1) -> tuple[tuple, tuple, tuple, tuple]:  # fmt: skip
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ShapeError(
            f"{op}: padding {padding} must be at most half the kernel {kernel}, as in PyTorch"
        )
    _check_nchw(op, "the input", x_shape)
    return kernel, stride, padding, dilation


def _max_pool2d(x: Any, kernel_size: Any = 2, stride: Any = None, padding: Any = 0,
                dilation: Any = 1) -> Any:  # fmt: skip
    """2-D max pooling, NCHW (PyTorch's ``max_pool2d``; padding counts as -inf; NaN wins).

    VJP: ``g`` to the *first* maximal element of each window in row-major order (one element
    per window, as PyTorch does on the CPU; ties are not shared), summed where windows
    overlap: ``max_pool2d_backward``.
    """
    x = np.asarray(x)
    kernel, stride, padding, dilation = _pool_params(
        "max_pool2d", x.shape, kernel_size, stride, padding, dilation
    )
    out_hw = _out_size("max_pool2d", x.shape[2:], kernel, stride, padding, dilation)
    padded = _pad(x, padding, -np.inf)
    out = None
    for rows, columns in _offsets(kernel, stride, dilation, out_hw):  # (beats a windows' view)
        part = padded[:, :, rows, columns]
        out = part.copy() if out is None else np.maximum(out, part, out=out)
    return out


def max_pool2d_masks(x: np.ndarray, top: np.ndarray, kernel: tuple, stride: tuple,
                     padding: tuple, dilation: tuple) -> np.ndarray:  # fmt: skip
    """``(KH·KW, N, C, OH, OW)`` booleans: for each window, True at the kernel offset of its
    first maximum in row-major order (its first NaN if it holds one)."""
    padded = _pad(x, padding, -np.inf)
    nan = bool(np.isnan(top).any())
    masks = np.empty((kernel[0] * kernel[1], *top.shape), dtype=bool)
    taken = np.zeros(top.shape, dtype=bool)
    for k, (rows, columns) in enumerate(_offsets(kernel, stride, dilation, top.shape[2:])):
        part = padded[:, :, rows, columns]
        hit = np.equal(part, top, out=masks[k])
        if nan:
            hit |= np.isnan(part)
        hit &= ~taken
        taken |= hit
    return masks


def _max_pool2d_backward(g: Any, masks: Any = None, shape: tuple = (), kernel_size: Any = 2,
                         stride: Any = None, padding: Any = 0, dilation: Any = 1
                         ) -> Any:  # fmt: skip
    """The vjp of `max_pool2d()`: zeros of ``shape`` with each window's ``g`` added at its
    first maximum (``masks``, from the forward's input and output).

    VJP: the gather of the same places, ``h.reshape(-1)[index]`` (index: those positions).
    """
    g = np.asarray(g)
    kernel, stride, padding, dilation = _pool_params(
        "max_pool2d_backward", tuple(shape), kernel_size, stride, padding, dilation
    )
    n, c, h, w = shape
    (ph, pw) = padding
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    overlap = any(s < d * (k - 1) + 1 for s, k, d in zip(stride, kernel, dilation))
    for k, (rows, columns) in enumerate(_offsets(kernel, stride, dilation, g.shape[2:])):
        if overlap:
            out[:, :, rows, columns] += np.where(masks[k], g, 0)
        else:  # windows that do not overlap: each place written at most once
            np.copyto(out[:, :, rows, columns], g, where=masks[k])
    return out[:, :, ph : ph + h, pw : pw + w] if ph or pw else out


def max_pool2d_positions(masks: np.ndarray, shape: tuple, kernel: tuple, stride: tuple,
                   padding: tuple, dilation: tuple) -> np.ndarray:  # fmt: skip
    """The flat index into an array of ``shape`` of each window's chosen element."""
    k = masks.argmax(axis=0)
    ki, kj = np.divmod(k, kernel[1])
    n, c, oh, ow = k.shape
    h, w = shape[2:]
    rows = np.arange(oh).reshape(-1, 1) * stride[0] + ki * dilation[0] - padding[0]
    columns = np.arange(ow) * stride[1] + kj * dilation[1] - padding[1]
    return np.arange(n * c).reshape(n, c, 1, 1) * (h * w) + rows * w + columns


def _max_pool2d_backward_vjp(h: Any, out: Any, g: Any, masks: Any = None, shape: tuple = (),
                             kernel_size: Any = 2, stride: Any = None, padding: Any = 0,
                             dilation: Any = 1) -> Any:  # fmt: skip
    kernel, stride, padding, dilation = _pool_params(
        "max_pool2d_backward", tuple(shape), kernel_size, stride, padding, dilation
    )
    index = max_pool2d_positions(masks, tuple(shape), kernel, stride, padding, dilation)
    return h.reshape(-1)[index]


max_pool2d_backward = defop(
    "max_pool2d_backward",
    _max_pool2d_backward,
    (_max_pool2d_backward_vjp,),
    draw=Draw("max_pool2d_backward"),
    public=None,
)


def _max_pool2d_vjp(g: Any, out: Any, x: Any, kernel_size: Any = 2, stride: Any = None,
                    padding: Any = 0, dilation: Any = 1) -> Any:  # fmt: skip
    data = raw(x)
    params = _pool_params("max_pool2d", data.shape, kernel_size, stride, padding, dilation)
    masks = max_pool2d_masks(data, raw(out), *params)
    return _differentiable_call(
        max_pool2d_backward, g, masks=masks, shape=data.shape, kernel_size=params[0],
        stride=params[1], padding=params[2], dilation=params[3],
    )  # fmt: skip


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1) -> Tensor:  # fmt: skip
    """2-D max pooling of ``x (N, C, H, W)`` (PyTorch's ``max_pool2d``, ``ceil_mode=False``).

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the kernel) counts as
    -inf. The gradient goes to the first maximal element of each window in row-major order
    (one element per window, as PyTorch does on the CPU), summed where windows overlap.
    """
    return _max_pool2d_op(x, kernel_size=kernel_size, stride=stride, padding=padding,
                          dilation=dilation)  # fmt: skip


_max_pool2d_op = defop(
    "max_pool2d",
    _max_pool2d,
    (_max_pool2d_vjp,),
    draw=Draw("max_pool2d", ("distinct",)),
    public=max_pool2d,
)


def _avg_pool2d(x: Any, kernel_size: Any = 2, stride: Any = None, padding: Any = 0) -> Any:
    """2-D average pooling, NCHW (PyTorch's ``avg_pool2d`` with ``count_include_pad=True``:
    every window is divided by ``kh·kw``, padding counting as zeros).

    VJP: ``g / (kh·kw)`` spread over each window: ``avg_pool2d_backward``.
    """
    x = np.asarray(x)
    kernel, stride, padding, _ = _pool_params("avg_pool2d", x.shape, kernel_size, stride, padding)
    oh, ow = _out_size("avg_pool2d", x.shape[2:], kernel, stride, padding, (1, 1))
    padded = _pad(x, padding)
    out = None
    for rows, columns in _offsets(kernel, stride, (1, 1), (oh, ow)):  # (beats a windows' mean)
        part = padded[:, :, rows, columns]
        out = part.copy() if out is None else np.add(out, part, out=out)
    return out * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=x.dtype)


def _avg_pool2d_backward(g: Any, shape: tuple = (), kernel_size: Any = 2, stride: Any = None,
                         padding: Any = 0) -> Any:  # fmt: skip
    """The vjp of `avg_pool2d()`: ``g / (kh·kw)`` added over each window, of ``shape``.
    VJP: ``avg_pool2d(h)`` with the same parameters."""
    g = np.asarray(g)
    kernel, stride, padding, _ = _pool_params(
        "avg_pool2d_backward", tuple(shape), kernel_size, stride, padding
    )
    n, c, oh, ow = g.shape
    scaled = g * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=g.dtype)
    cols = np.broadcast_to(scaled[:, :, None, None], (n, c, *kernel, oh, ow))
    return _col2im(cols, tuple(shape), kernel, stride, padding, (1, 1), (oh, ow))


def _avg_pool2d_backward_vjp(h: Any, out: Any, g: Any, shape: tuple = (), kernel_size: Any = 2,
                             stride: Any = None, padding: Any = 0) -> Any:  # fmt: skip
    return _differentiable_call(
        _avg_pool2d_op, h, kernel_size=kernel_size, stride=stride, padding=padding
    )


avg_pool2d_backward = defop(
    "avg_pool2d_backward",
    _avg_pool2d_backward,
    (_avg_pool2d_backward_vjp,),
    draw=Draw("avg_pool2d_backward"),
    public=None,
)


def _avg_pool2d_vjp(g: Any, out: Any, x: Any, kernel_size: Any = 2, stride: Any = None,
                    padding: Any = 0) -> Any:  # fmt: skip
    return _differentiable_call(
        avg_pool2d_backward, g, shape=tuple(x.shape), kernel_size=kernel_size, stride=stride,
        padding=padding,
    )  # fmt: skip


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """2-D average pooling of ``x (N, C, H, W)`` (PyTorch's ``avg_pool2d`` with its defaults
    ``ceil_mode=False, count_include_pad=True``: each window's sum divided by ``kh·kw``)."""
    return _avg_pool2d_op(x, kernel_size=kernel_size, stride=stride, padding=padding)


_avg_pool2d_op = defop(
    "avg_pool2d", _avg_pool2d, (_avg_pool2d_vjp,), draw=Draw("avg_pool2d"), public=avg_pool2d
)


# -- derived from the declarations above ---------------------------------------------------------
#: Every primitive of this module by name (in declaration order): what ``al.<name>`` exports,
#: the API page lists and the random-graph strategies draw by default.
OPS: dict[str, Primitive] = {name: info.primitive for name, info in REGISTRY.items()}

__all__ = [name for name in OPS if REGISTRY[name].public is not None] + [
    "OPS",
    "REGISTRY",
    "Draw",
    "OpInfo",
    "defop",
    "exp_any",
    "log_any",
    "sigmoid_any",
    "sum_to",
    "opaque_gradient",
]

#: Functions that are not primitives of their own (they record ``reshape`` / ``transpose``, or
#: read values without recording), exported as ``al.<name>`` beside the ops.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "flatten": flatten,
    "permute": permute,
    "clip": clip,
    "cat": concatenate,  # (PyTorch's names)
    "concat": concatenate,
    "amax": _with_doc(_accepting_dim("max"), _max),  # (the values only, whatever the dims)
    "amin": _with_doc(_accepting_dim("min"), _min),
    "argmax": argmax,
    "argmin": argmin,
}
__all__ += ["FUNCTIONS", *FUNCTIONS]
