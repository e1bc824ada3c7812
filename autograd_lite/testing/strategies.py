"""Hypothesis strategies for gradient tests: tensors, broadcastable shapes, computation graphs.

* `shapes()` and `tensors()`: Tensors of a given or drawn shape, float64 by default, with
  bounded finite elements (gradient tests want numbers, not NaN or 1e308).
* `mutually_broadcastable_shapes()` and `broadcastable_shapes()`: groups of shapes that
  broadcast together, including groups of different ranks such as ``(3,)`` with ``(2, 3)``.
* `graphs()`: random computation DAGs over every op of ``autograd_lite.ops.OPS`` (and, on
  request, the costs), with valid shapes and domains, fan-out and broadcasting. A drawn
  [`Graph`][autograd_lite.testing.graph.Graph] is evaluated on fresh leaves and prints as an op
  list, so hypothesis shrinks a failure to a small readable program.
* `mlps` and `module_inputs`: small random ``nn.Sequential`` models (Linear layers
  and activations of random widths), and arrays of the shape a module's first layer expects, to
  check a module (its parameters and inputs) with ``gradcheck(module, [x])``.

This module needs hypothesis (a development dependency of autograd_lite).

Examples
--------
>>> from hypothesis import given
>>> from autograd_lite.testing import gradcheck
>>> from autograd_lite.testing.strategies import graphs
>>> @given(graphs(max_ops=4))
... def test_every_graph(graph):
...     assert gradcheck(graph, graph.leaves())
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd_lite import nn
from autograd_lite import ops as _ops
from autograd_lite.errors import (
    InvalidArgumentError,
    InvalidInputError,
)
from autograd_lite.nn import ModuleArgumentError
from autograd_lite.tensor import Tensor
from autograd_lite.testing._builder import Builder
from autograd_lite.testing._generators import GENERATORS
from autograd_lite.testing.graph import COST_OPS, Graph, Step, Var

__all__ = [
    "shapes",
    "tensors",
    "BroadcastShapes",
    "mutually_broadcastable_shapes",
    "broadcastable_shapes",
    "graphs",
    "mlps",
    "module_inputs",
    "Graph",
    "OP_NAMES",
    "COST_OPS",
]

#: Every op ``graphs`` draws by default: the ops of ``autograd_lite.ops`` that declare a ``Draw``
#: (an op declared elsewhere, e.g. by a test, is drawn when named in ``ops`` or ``include``).
OP_NAMES: tuple[str, ...] = tuple(
    name for name, info in _ops.REGISTRY.items() if name in _ops.OPS and info.draw is not None
)

DEFAULT_BOUNDS = (-10.0, 10.0)

Shape = tuple[int, ...]


def _check_dims(min_dims: int, max_dims: int, min_side: int, max_side: int) -> None:
    if not 0 <= min_dims <= max_dims:
        raise InvalidArgumentError(f"need 0 <= min_dims <= max_dims, got {min_dims} and {max_dims}")
    if not 1 <= min_side <= max_side:
        raise InvalidArgumentError(f"need 1 <= min_side <= max_side, got {min_side} and {max_side}")


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[Shape]:
    """Array shapes: ``min_dims..max_dims`` dimensions of ``min_side..max_side`` each.

    Shrinks towards fewer and smaller dimensions.
    """
    _check_dims(min_dims, max_dims, min_side, max_side)
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(
        tuple
    )


def _element_strategy(elements: Any, dtype: np.dtype) -> st.SearchStrategy[float]:
    width: Literal[32, 64] = 32 if dtype == np.float32 else 64
    if elements is None:
        elements = DEFAULT_BOUNDS
    if isinstance(elements, st.SearchStrategy):
        return elements
    if isinstance(elements, (tuple, list)) and len(elements) == 2:
        low, high = (float(e) for e in elements)
        if not low <= high:
            raise InvalidArgumentError(
                f"tensors: elements bounds must satisfy low <= high, got {elements}"
            )
        if width == 32:  # float32 bounds inside [low, high]
            low32, high32 = np.float32(low), np.float32(high)
            low = float(low32 if low32 >= low else np.nextafter(low32, np.float32(np.inf)))
            high = float(high32 if high32 <= high else np.nextafter(high32, np.float32(-np.inf)))
        return st.floats(
            low, high, width=width, allow_nan=False, allow_infinity=False, allow_subnormal=False
        )
    raise InvalidInputError(
        f"tensors: elements must be a hypothesis strategy or (low, high) bounds, got {elements!r}"
    )


def tensors(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | tuple[float, float] | None = None,
    requires_grad: bool | st.SearchStrategy[bool] = False,
    *,
    name: str | None = None,
) -> st.SearchStrategy[Tensor]:
    """Tensors of a fixed or drawn shape with finite, bounded elements.

    Parameters
    ----------
    shape : tuple of int or strategy, optional
        A fixed shape, or a strategy such as `shapes()` (the default: up to 3 dimensions of
        1 to 4).
    dtype : float64 or float32
        The dtype of the data.
    elements : strategy or (low, high), optional
        A strategy for one element, or closed bounds. Default ``(-10, 10)``: no NaN, no
        infinities, no subnormals.
    requires_grad : bool or strategy of bool, default False
        As for `Tensor` (``gradcheck`` checks every float input when no
        input requires grad).
    name : str, optional
        The tensors' ``name`` (it appears in gradcheck messages).

    Examples
    --------
    >>> from hypothesis import given
    >>> from autograd_lite.testing.strategies import tensors
    >>> @given(tensors(shape=(2, 3), elements=(-1, 1), requires_grad=True))
    ... def test_shape(x):
    ...     assert x.shape == (2, 3) and x.requires_grad
    >>> test_shape()
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise InvalidInputError(f"tensors: dtype must be a floating-point dtype, got {dtype}")
    shape_strategy = shapes() if shape is None else shape
    if not isinstance(shape_strategy, st.SearchStrategy):
        shape_strategy = st.just(tuple(int(n) for n in shape_strategy))
    grad_strategy = (
        requires_grad if isinstance(requires_grad, st.SearchStrategy) else st.just(requires_grad)
    )
    element_strategy = _element_strategy(elements, dtype)

    @st.composite
    def draw_tensor(draw: Any) -> Tensor:
        drawn_shape = draw(shape_strategy)
        data = draw(hnp.arrays(dtype, drawn_shape, elements=element_strategy))
        return Tensor(np.asarray(data, dtype=dtype), requires_grad=draw(grad_strategy), name=name)

    return draw_tensor()


class BroadcastShapes(NamedTuple):
    """A group of shapes that broadcast together, and the shape they broadcast to."""

    input_shapes: tuple[Shape, ...]
    result_shape: Shape


def mutually_broadcastable_shapes(
    num_shapes: int = 2,
    *,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 4,
) -> st.SearchStrategy[BroadcastShapes]:
    """Groups of ``num_shapes`` shapes that broadcast together, with their result shape.

    A result shape is drawn first; each input keeps some trailing part of it (so ranks differ,
    as ``(3,)`` with ``(2, 3)``) and may replace any of its dimensions by 1. Shrinks towards
    equal shapes of few, small dimensions. Like ``hypothesis.extra.numpy``'s strategy of the
    same name, it returns ``(input_shapes, result_shape)``.
    """
    _check_dims(min_dims, max_dims, min_side, max_side)
    if num_shapes < 1:
        raise InvalidArgumentError(f"num_shapes must be at least 1, got {num_shapes}")

    @st.composite
    def draw_group(draw: Any) -> BroadcastShapes:
        full = draw(shapes(min_dims, max_dims, min_side, max_side))
        group = []
        for _ in range(num_shapes):
            drop = draw(st.integers(0, len(full) - min_dims))
            kept = full[drop:]
            ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
            group.append(tuple(1 if one else n for one, n in zip(ones, kept)))
        return BroadcastShapes(tuple(group), tuple(np.broadcast_shapes(*group)))

    return draw_group()


def broadcastable_shapes(
    n: int = 2,
    *,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 4,
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Tuples of ``n`` shapes that broadcast together, e.g. ``((3,), (2, 3))``.

    The input shapes of `mutually_broadcastable_shapes()` (use that one to get the result
    shape too). Unlike ``hypothesis.extra.numpy.broadcastable_shapes(shape)``, which draws one
    shape broadcastable to a given one, this draws the whole group.
    """
    return mutually_broadcastable_shapes(
        n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda group: group.input_shapes)


def graphs(
    ops: Sequence[str] | None = None,
    *,
    include: Sequence[str] = (),
    max_ops: int = 6,
    min_ops: int = 1,
    dtype: Any = np.float64,
    max_side: int = 3,
    max_dims: int = 3,
    scalar_output: bool = False,
) -> st.SearchStrategy[Graph]:
    """Random computation DAGs over autograd_lite's ops, valid and differentiable where drawn.

    Each drawn op takes its inputs among the values computed so far (a value may feed several
    ops: fan-out; the latest unused values come first) or from fresh leaves, with broadcasting
    between operands of different shapes. Inputs satisfy the op's domain at the drawn leaf
    values, with a margin: ``log`` and ``pow``'s base positive, divisors and ``relu`` inputs
    away from 0, no near-ties under ``max``, no huge values. Values left unused are folded into
    the output with ``sum`` and ``add``, so every op reaches it.

    Parameters
    ----------
    ops : sequence of str, optional
        The ops to draw from: names of ``autograd_lite.ops.OPS`` (the default: all of them)
        and of `COST_OPS` (``quadratic_cost``, ``cross_entropy_cost``,
        ``cross_entropy_cost_logits``, ``log_likelihood_cost``: opt-in).
    include : sequence of str
        Ops every drawn graph uses at least once (they need not be listed in ``ops``).
    max_ops, min_ops : int
        How many ops are drawn (folding may add a few ``sum``/``add`` steps).
    dtype : float64 or float32
        The dtype of the leaves.
    max_side, max_dims : int
        Bounds on the shapes of fresh leaves (sides ``1..max_side``, up to ``max_dims`` dims).
    scalar_output : bool, default False
        Sum the output to a scalar.

    Returns
    -------
    strategy of Graph
        ``graph.leaves()`` gives fresh leaf Tensors, ``graph(*leaves)`` the output Tensor.
    """
    allowed = tuple(OP_NAMES if ops is None else ops)
    wanted = tuple(dict.fromkeys(include))
    unknown = [name for name in (*allowed, *wanted) if name not in GENERATORS]
    if unknown:
        raise InvalidArgumentError(
            f"graphs: unknown op(s) {unknown}; known: {sorted(GENERATORS)}"
            + (
                ""
                if not set(unknown) & set(_ops.OPS)
                else " (an op of ops.OPS declared without draw=Draw(...))"
            )
        )
    if not allowed and not wanted:
        raise InvalidArgumentError("graphs: no op to draw from")
    if not 1 <= min_ops <= max_ops:
        raise InvalidArgumentError(
            f"graphs: need 1 <= min_ops <= max_ops, got {min_ops} and {max_ops}"
        )
    if len(wanted) > max_ops:
        raise InvalidArgumentError(
            f"graphs: cannot include {len(wanted)} ops in at most {max_ops} ops"
        )
    if np.dtype(dtype) not in (np.float64, np.float32):
        raise InvalidInputError(f"graphs: dtype must be float64 or float32, got {dtype}")
    pool = allowed or wanted

    @st.composite
    def draw_graph(draw: Any) -> Graph:
        names = [draw(st.sampled_from(pool)) for _ in range(draw(st.integers(min_ops, max_ops)))]
        for name in wanted:
            if name not in names:
                free = [i for i, n in enumerate(names) if n not in wanted]
                names[free[draw(st.integers(0, len(free) - 1))]] = name
        builder = Builder(draw, dtype, max_side, max_dims)
        for name in names:
            _emit(builder, name)
        assume(all(name in (s.op for s in builder.steps) for name in wanted))
        assume(any(s.op != "leaf" for s in builder.steps))
        return _finish(builder, scalar_output)

    return draw_graph()


def _emit(builder: Builder, name: str) -> None:
    """Emit one ``name`` op; if its value is out of bounds, retry once on fresh leaves."""
    mark = builder.mark()
    builder.first_pick = True
    if GENERATORS[name](builder) is not None:
        return
    builder.rollback(mark)
    builder.fresh_only = True
    try:
        if GENERATORS[name](builder) is None:
            builder.rollback(mark)
    finally:
        builder.fresh_only = False


def _finish(builder: Builder, scalar_output: bool) -> Graph:
    sinks = builder.sinks()
    out: Any = Var(sinks[0])
    for index in sinks[1:]:
        extra: Any = Var(index)
        if builder.shape(extra) != ():
            extra = builder.emit("sum", (extra,), {"axis": None, "keepdims": False}, check=False)
        out = builder.emit("add", (out, extra), check=False)
    if scalar_output and builder.shape(out) != ():
        out = builder.emit("sum", (out,), {"axis": None, "keepdims": False}, check=False)
    steps: list[Step] = builder.steps
    return Graph(steps, out.index, builder.dtype)


# -- modules --------------------------------------------------------------------------------------
def mlps(
    *,
    min_layers: int = 1,
    max_layers: int = 3,
    max_width: int = 4,
    activations: Sequence[type[nn.Module]] = (nn.Sigmoid, nn.Tanh),
    bias: bool | st.SearchStrategy[bool] = True,
) -> st.SearchStrategy[nn.Sequential]:
    """Small random models: ``nn.Sequential`` of ``Linear`` layers, each followed by an activation.

    Parameters
    ----------
    min_layers, max_layers : int
        How many ``Linear`` layers.
    max_width : int
        Their widths (the input's too) are drawn from ``1..max_width``.
    activations : sequence of Module classes
        Drawn after each layer (called without arguments). The default, ``Sigmoid`` and
        ``Tanh``, is smooth everywhere, so finite differences apply at every drawn point;
        ``nn.ReLU`` has a kink at 0 where a central difference and the subgradient differ.
    bias : bool or strategy of bool
        Whether each layer has a bias.

    Returns
    -------
    strategy of nn.Sequential
        float64 models whose weights come from a drawn seed (so they shrink to seed 0); draw
        their inputs with `module_inputs`.

    Examples
    --------
    >>> from hypothesis import given, settings, strategies as st
    >>> from autograd_lite.testing import gradcheck
    >>> from autograd_lite.testing.strategies import mlps, module_inputs
    >>> @settings(max_examples=10, deadline=None)
    ... @given(st.data(), mlps(max_layers=2))
    ... def test_model(data, model):
    ...     assert gradcheck(model, [data.draw(module_inputs(model))], wrt="all")
    >>> test_model()
    """
    if not 1 <= min_layers <= max_layers:
        raise ModuleArgumentError(
            f"mlps: need 1 <= min_layers <= max_layers, got {min_layers}, {max_layers}"
        )
    if max_width < 1:
        raise ModuleArgumentError(f"mlps: max_width must be at least 1, got {max_width}")
    if not activations:
        raise ModuleArgumentError("mlps: give at least one activation class")
    bias_strategy = bias if isinstance(bias, st.SearchStrategy) else st.just(bool(bias))

    @st.composite
    def draw_mlp(draw: Any) -> nn.Sequential:
        n = draw(st.integers(min_layers, max_layers))
        widths = [draw(st.integers(1, max_width)) for _ in range(n + 1)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths, widths[1:]):
            seed = draw(st.integers(0, 2**32 - 1))
            layers.append(nn.Linear(n_in, n_out, bias=draw(bias_strategy), seed=seed))
            layers.append(draw(st.sampled_from(tuple(activations)))())
        return nn.Sequential(*layers)

    return draw_mlp()


def _input_shape(module: nn.Module, spatial: Shape) -> tuple[Shape, int | None]:
    """The shape of one sample for the first layer that fixes it, and (for an Embedding)
    the number of indices, or an error saying to pass ``shape=``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            return (layer.in_features,), None
        if isinstance(layer, nn.Conv2d):
            return (layer.in_channels, *spatial), None
        if isinstance(layer, nn.LayerNorm):
            return layer.normalized_shape, None
        if isinstance(layer, nn.BatchNorm2d):
            return (layer.num_features, *spatial), None
        if isinstance(layer, nn.BatchNorm1d):
            return (layer.num_features,), None
        if isinstance(layer, nn.Embedding):
            return (), layer.num_embeddings
    raise ModuleArgumentError(
        f"module_inputs: cannot tell which input shape {type(module).__name__} expects (no "
        f"Linear, Conv2d, LayerNorm, BatchNorm or Embedding layer in it); pass shape=, the "
        f"shape of one sample"
    )


def module_inputs(
    module: nn.Module,
    *,
    batch: int | st.SearchStrategy[int] | None = None,
    shape: Shape | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | tuple[float, float] | None = None,
    spatial: Shape = (5, 5),
) -> st.SearchStrategy[np.ndarray]:
    """Input arrays for ``module``: a batch of samples of the shape its first layer expects.

    The sample shape comes from the first layer (depth first) that fixes it: ``Linear``
    ``(in_features,)``, ``Conv2d`` and ``BatchNorm2d`` ``(channels, *spatial)``, ``LayerNorm``
    ``normalized_shape``, ``BatchNorm1d`` ``(num_features,)``; an ``Embedding`` first gets
    integer indices below its ``num_embeddings``. The array has shape ``(batch, *sample)``.

    Parameters
    ----------
    module : autograd_lite.nn.Module
        The module whose inputs to draw.
    batch : int or strategy of int, optional
        The leading (batch) size; default drawn from ``1..4`` (``2..4`` when the module has
        batch normalisation, which needs two samples per channel when training).
    shape : tuple of int, optional
        The shape of one sample, for modules whose first layer does not say it.
    dtype : float64 or float32
        The dtype of float inputs (``gradcheck`` needs float64).
    elements : strategy or (low, high), optional
        As for `tensors`; default ``(-3, 3)``, where sigmoid and tanh are not saturated.
    spatial : tuple of int, default (5, 5)
        The ``(H, W)`` of images for convolutions and ``BatchNorm2d``.

    Returns
    -------
    strategy of ndarray
        Arrays; pass them to ``module`` or, as the inputs to check, to ``gradcheck``.

    Raises
    ------
    autograd_lite.nn.ModuleArgumentError
        ``shape`` is not given and no layer of ``module`` tells the shape.
    """
    if isinstance(batch, st.SearchStrategy):
        batch_strategy = batch
    elif batch is None:
        has_bn = any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in module.modules())
        batch_strategy = st.integers(2 if has_bn else 1, 4)
    else:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ModuleArgumentError(f"module_inputs: batch must be a positive int, got {batch!r}")
        batch_strategy = st.just(batch)
    if shape is not None:
        sample, n_indices = tuple(int(n) for n in shape), None
    else:
        sample, n_indices = _input_shape(module, tuple(spatial))
    if n_indices is not None:
        indices = st.integers(0, n_indices - 1)
        return batch_strategy.flatmap(
            lambda m: hnp.arrays(np.int64, (m, *sample), elements=indices)
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise InvalidInputError(f"module_inputs: dtype must be a floating-point dtype, got {dtype}")
    element_strategy = _element_strategy((-3.0, 3.0) if elements is None else elements, dtype)
    return batch_strategy.flatmap(
        lambda m: hnp.arrays(dtype, (m, *sample), elements=element_strategy)
    )
