"""Reverse-mode traversal: the general form of backpropagation.

``backward`` walks the graph from the output to the leaves, newest node first (iteratively, so
depth is unlimited); a node's gradient is complete once every consumer has contributed, and its
op turns it into gradients for its inputs (vector-Jacobian products). Leaves receive ``.grad``
only after the whole pass has succeeded: a failing hook or vjp leaves every ``.grad`` as it was.
User code gets read-only gradients (``g *= 2`` raises InvalidGradientError: the array may be
another tensor's too), what it returns is copied, and every ``.grad`` is an array of its own.
These rules are functions that replay shares: `call_vjp`, `fit`, `accumulate`, `own`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from autograd_lite.errors import (
    BackwardError,
    GraphReleasedError,
    InvalidGradientError,
    NonScalarBackwardError,
)
from autograd_lite.function import EachInput
from autograd_lite.modes import CURRENT, DEFAULT, enable_grad
from autograd_lite.modes import check_finite as _check_finite
from autograd_lite.ops import opaque_gradient, sum_to
from autograd_lite.tensor import Tensor, as_array

__all__ = [
    "backward", "gradients", "sum_to", "call_vjp", "fit", "accumulate", "own", "read_only",
]  # fmt: skip


def _seed_gradient(root: Tensor, grad: Any, create_graph: bool) -> Any:
    if grad is None:
        if root.data.size != 1:
            raise NonScalarBackwardError(
                f"backward: the gradient can be implied only for a one-element output; this "
                f"output has shape {root.shape}. Pass grad= (an array of that shape), or reduce "
                f"the output first, e.g. y.sum().backward()"
            )
        data = root.data
        # (np.array of a number is several times cheaper than np.ones for the usual 0-d root)
        seed: Any = np.array(1, data.dtype) if not data.ndim else np.ones(data.shape, data.dtype)
    else:  # a Tensor under create_graph, else a private copy
        seed = grad if isinstance(grad, Tensor) and create_graph else np.array(
            as_array(grad, what="backward"), dtype=root.dtype)  # fmt: skip
        if seed.shape != root.shape:
            raise InvalidGradientError(
                f"backward: grad has shape {seed.shape} but the output has shape {root.shape}; "
                f"they must match"
            )
    return Tensor._constant(seed) if create_graph and not isinstance(seed, Tensor) else seed


def _run(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None,
) -> tuple[dict[Tensor, Any], list[tuple[Tensor, Any]]]:
    """The total gradient of each leaf (or target), and of each non-leaf that retains its own.
    Nodes come off the heap newest first (``_seq``): a tensor is made after its inputs, so every
    consumer has contributed by then. No topological sort, no recursion."""
    pending: dict[Tensor, Any] = {}  # non-leaf nodes: gradient so far
    owned: set[Tensor] = set()  # pending sums we allocated ourselves may be added to in place
    leaves: dict[Tensor, Any] = {}  # leaves: gradient so far
    heap: list[tuple[int, Tensor]] = []
    anomaly = CURRENT.get(DEFAULT).anomaly
    for root, seed in zip(roots, seeds):
        if anomaly:  # a non-finite gradient given for an output is reported, not propagated
            _check_finite(
                seed, f"backward (the gradient given for an output of shape {root.shape})"
            )
        if root._op is not None and root not in pending:
            heappush(heap, (-root._seq, root))
        sums = leaves if root._op is None else pending
        sums[root] = accumulate(sums.get(root), seed)
    wanted = None if targets is None else set(targets)
    results: dict[Tensor, Any] = {}
    retained: list[tuple[Tensor, Any]] = []
    plain_pass = not (create_graph or anomaly)
    visited: list[Tensor] = []
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        saved = node._arrays
        if saved is None:
            raise GraphReleasedError(
                f"backward through the graph a second time: the arrays saved by "
                f"'{node._op.name}' (output shape {node.shape}) were released after the first "
                f"backward. Pass retain_graph=True to the first backward() if you need to "
                f"backpropagate through the same graph again."
            )
        visited.append(node)
        if node._hooks:
            g = _apply_hooks(node, g, create_graph, anomaly)
        if wanted is None:
            if node._retain:
                retained.append((node, g))
        elif node in wanted:
            results[node] = g
        op = node._op
        params = node._params
        count = len(saved)  # the op's inputs, from the slots that Tensor._args describes
        if count == 2:
            args = (node._in0, node._in1)
        else:
            args = (node._in0,) if count == 1 else (node._in0, node._in1, *(node._more or ()))
        careful = not (plain_pass and op.trusted)
        graph_mode = careful and create_graph and op.differentiable
        out: Any
        if graph_mode:  # under create_graph the vjps get Tensors, and record what they compute
            inputs, out, g_in = args, node, g
        else:
            inputs, out, g_in = saved, node.data, (g.data if create_graph else g)
            if not op.trusted:  # a user's vjp may not write into g: it may be another tensor's
                g_in = read_only(g_in)
        index = -1
        for arg in args:
            index += 1
            if not (isinstance(arg, Tensor) and arg.requires_grad):
                continue
            gi = call_vjp(op, index, g_in, out, inputs, params)
            if gi is None:
                continue
            data = arg.data
            if careful or gi.shape != data.shape or gi.dtype is not data.dtype:
                gi = fit(gi, op, index, data.shape, data.dtype, node.data.shape, graph_mode)
                if create_graph and not graph_mode:  # computed in NumPy: not differentiable
                    gi = opaque_gradient(gi, (g, *(node._args or ())), op.name)
                if anomaly:
                    _check_finite(gi, f"{op.name} (backward, gradient for input {index})")
            if arg._op is None:  # a leaf: no vjp to run, only a sum to keep
                current = leaves.get(arg)
                leaves[arg] = gi if current is None else accumulate(current, gi)
                continue
            current = pending.get(arg)
            if current is None:
                pending[arg] = gi
                heappush(heap, (-arg._seq, arg))
            else:
                pending[arg] = accumulate(current, gi, not create_graph and arg in owned)
                owned.add(arg)

    for leaf, g in leaves.items():
        if leaf._hooks:
            g = _apply_hooks(leaf, g, create_graph, anomaly)
        if wanted is None or leaf in wanted:
            results[leaf] = g

    # Only a pass that succeeded releases the graph: after a failing hook or vjp, the graph and
    # every .grad are as they were, so the user can fix the cause and call backward again.
    if not retain_graph:
        for node in visited:
            node._in0 = node._in1 = node._more = node._arrays = node._params = None
    return results, retained


def call_vjp(op: Any, index: int, g: Any, out: Any, inputs: Sequence[Any], params: Any) -> Any:
    """The one way a vjp is called (by the engine, replay's interpreter and its generated code):
    ``vjps[index](g, out, *inputs, **params)``, or ``vjps.fn(index, g, out, inputs, **params)``
    for a variadic op. A vjp that writes into its read-only ``g`` gets InvalidGradientError."""
    try:
        if op.vjps.__class__ is EachInput:
            return op.vjps.fn(index, g, out, inputs, **(params or {}))
        if params:  # (an empty **params still costs a dictionary: most ops have none)
            return op.vjps[index](g, out, *inputs, **params)
        return op.vjps[index](g, out, *inputs)
    except ValueError as error:  # (a try costs nothing until it catches)
        raise _wrote_read_only(error, f"{op.name}: its vjp for input {index}") from None


def fit(
    gi: Any, op: Any, index: int, shape: tuple, dtype: Any, out_shape: tuple, graph: bool = False
) -> Any:
    """The one rule for the gradient ``gi`` that a vjp of ``op`` returned for its input ``index``
    (of ``shape`` and ``dtype``; ``graph``: a Tensor under ``create_graph``). A user's vjp is
    checked (its type, a shape that is the input's or, for a broadcast input, the output's) and
    its array copied; broadcasting is undone (:func:`sum_to`); an array gets the input's dtype."""
    if not op.trusted:
        where = f"{op.name}: its vjp for input {index}"
        if graph and isinstance(gi, (int, float)):
            gi = Tensor._constant(np.asarray(gi, dtype=dtype))
        elif graph and not isinstance(gi, Tensor):
            raise InvalidGradientError(
                f"{where} returned {type(gi).__name__} under create_graph=True, not a Tensor; a "
                f"differentiable vjp must use Tensor operations"
            )
        elif not graph:
            try:
                gi = as_array(gi.data if isinstance(gi, Tensor) else gi, what=where)
            except Exception as error:
                raise InvalidGradientError(str(error)) from None
        if gi.shape not in (shape, out_shape):
            raise InvalidGradientError(
                f"{where} returned a gradient of shape {gi.shape}; expected the input's shape "
                f"{shape} (or the output's shape {out_shape} when the input was broadcast)"
            )
    if gi.shape != shape:
        gi = sum_to(gi, shape, op.name, index)
    if graph:
        return gi
    if not op.trusted:  # a user's array, which it may keep and change: copy it
        return np.array(gi, dtype=dtype)
    return gi if gi.dtype == dtype else gi.astype(dtype)  # a float32 input, a float32 gradient


def accumulate(total: Any, gi: Any, in_place: bool = False) -> Any:
    """The fan-out rule: the contributions to one gradient are summed in the order they come.
    The first is kept as it is (it may be another tensor's too: ``add`` hands ``g`` to both
    inputs), so it is never written to; ``in_place`` says ``total`` is a sum we made."""
    if total is None:
        return gi
    if in_place and total.ndim:  # (a 0-d sum is a NumPy scalar: no in-place add)
        total += gi
        return total
    return total + gi


def read_only(g: Any) -> np.ndarray:
    """A read-only view of ``g`` (a NumPy scalar becomes a 0-d array): what user code gets."""
    view = g.view() if g.__class__ is np.ndarray else np.array(g)
    view.flags.writeable = False
    return view


def _wrote_read_only(error: ValueError, who: str) -> Exception:
    """The error for user code that wrote into the read-only gradient it was given."""
    if "read-only" not in str(error):
        return error
    return InvalidGradientError(
        f"{who} tried to change its gradient argument in place ({error}). That array may be "
        f"another tensor's gradient too, so it is read-only: compute a new one and return it "
        f"(return g * 2, not g *= 2)"
    )


def _apply_hooks(node: Tensor, g: Any, create_graph: bool, anomaly: bool) -> Any:
    """Run ``node``'s hooks in order, each on the gradient the previous one left."""
    for hook in list(node._hooks or ()):
        name = f"hook {getattr(hook, '__name__', hook)!r} on a tensor of shape {node.shape}"
        try:
            replaced = hook(g if create_graph else read_only(g))
        except ValueError as error:
            raise _wrote_read_only(error, name) from None
        if replaced is None:
            continue
        if create_graph and not isinstance(replaced, Tensor):
            replaced = Tensor._constant(as_array(replaced, what="hook"))
        elif not create_graph:
            replaced = replaced.data if isinstance(replaced, Tensor) else replaced
            dtype = getattr(replaced, "dtype", None)
            if dtype is not None and dtype.kind not in "iuf":
                raise InvalidGradientError(
                    f"{name} returned a gradient of dtype {dtype}; return real numbers (they "
                    f"are cast to the tensor's dtype {node.dtype})"
                )
            if dtype is not None:  # a copy of our own, in the tensor's dtype
                replaced = np.array(replaced, dtype=node.data.dtype)
        if not hasattr(replaced, "shape") or replaced.shape != g.shape:
            raise InvalidGradientError(
                f"{name} returned {type(replaced).__name__} of shape "
                f"{getattr(replaced, 'shape', '?')}; a hook must return None or a gradient of "
                f"shape {g.shape}"
            )
        if anomaly:
            _check_finite(replaced, name)
        g = replaced
    return g


def backward(
    root: Tensor, grad: Any = None, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Backpropagate from ``root`` and accumulate into the ``.grad`` of every leaf (see
    :meth:`autograd_lite.Tensor.backward`)."""
    if not isinstance(root, Tensor):
        raise BackwardError(f"backward: expected a Tensor, got {type(root).__name__}")
    if not root.requires_grad:
        raise BackwardError(
            "backward: this tensor does not require grad and has no graph; create the inputs "
            "with requires_grad=True (and do not compute it under no_grad())"
        )
    seed = _seed_gradient(root, grad, create_graph)
    with enable_grad() if create_graph else contextlib.nullcontext():
        results, retained = _run([root], [seed], retain_graph or create_graph, create_graph, None)
    _commit([*results.items(), *retained], create_graph)


def own(g: Any, handed_out: set[int]) -> np.ndarray:
    """``g`` as an array the caller may keep and modify: a NumPy scalar becomes an array, and a
    view (a broadcast, a reshape, a slice) or an array already handed to another tensor
    (``a + b`` gives both the same upstream gradient) is copied."""
    if g.__class__ is not np.ndarray:
        g = np.array(g)
    elif g.base is not None or id(g) in handed_out:  # (a read-only broadcast is a view too)
        g = g.copy()
    handed_out.add(id(g))
    return g


def _commit(pairs: Any, create_graph: bool) -> None:
    """Add each gradient into its tensor's ``.grad`` (never aliasing another's)."""
    handed_out: set[int] = set()
    for tensor, g in pairs:
        if tensor.grad is not None:
            total = tensor.grad + g
            tensor.grad = total if create_graph else np.asarray(total)
        else:
            tensor.grad = g if create_graph else own(g, handed_out)


def gradients(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = True,
) -> list[Any]:
    """The gradients of ``outputs`` (one-element, unless ``grad_outputs`` gives the upstream
    gradient of each) with respect to ``inputs`` (leaves or intermediate tensors), without
    touching any ``.grad``: one per input, ndarrays, or differentiable Tensors under
    ``create_graph=True`` (``retain_graph`` defaults to it). An input the outputs do not depend
    on gets zeros (BackwardError with ``allow_unused=False``)."""
    outs: list[Tensor] = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    elif isinstance(outputs, Tensor):
        grad_outputs = [grad_outputs]
    elif len(grad_outputs) != len(outs):
        raise BackwardError(
            f"gradients: {len(grad_outputs)} grad_outputs for {len(outs)} outputs; give one "
            f"per output (None for a one-element output)"
        )
    if not all(isinstance(out, Tensor) and out.requires_grad for out in outs):
        raise BackwardError(
            "gradients: an output does not require grad; none of the inputs it was computed "
            "from has requires_grad=True"
        )
    for x in ins:
        if not isinstance(x, Tensor):
            raise BackwardError(f"gradients: inputs must be Tensors, got {type(x).__name__}")
    retain_graph = create_graph if retain_graph is None else retain_graph
    seeds = [_seed_gradient(o, g, create_graph) for o, g in zip(outs, grad_outputs)]
    with enable_grad() if create_graph else contextlib.nullcontext():
        results, _ = _run(outs, seeds, retain_graph, create_graph, ins)
    grads = [results.get(x) for x in ins]
    handed_out: set[int] = set()
    for i, g in enumerate(grads):
        if g is None:
            if not allow_unused:
                raise BackwardError(
                    f"gradients: an input of shape {ins[i].shape} was not used to compute the "
                    f"outputs"
                )
            g = np.zeros_like(ins[i].data)
            grads[i] = Tensor._constant(g) if create_graph else g
        elif not create_graph:
            grads[i] = own(g, handed_out)
    return grads
