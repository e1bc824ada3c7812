"""Pictures of a computation graph: Graphviz DOT text, and the backprop explorer.

``explore(tensor, path)`` writes one self-contained HTML page that steps the backward pass of
the graph, node by node, as the engine runs it (`autograd_lite.viz.explore`);
``explore_network(network, X, Y, path)`` does the same for the chapter's network, with BP1-BP4
beside the graph (the ``autograd-lite explore`` command).

``to_dot(tensor)`` walks the graph that produced ``tensor`` (iteratively, like the engine) and
writes one box per tensor (its name or shape) and one ellipse per op. Render it with Graphviz
(``dot -Tpng graph.dot -o graph.png``), or paste the text into any DOT viewer.
"""

from __future__ import annotations

from typing import Any

from autograd_lite.errors import InvalidInputError
from autograd_lite.tensor import Tensor
from autograd_lite.viz.explore import explore, explore_data, explore_network, network_data

__all__ = ["to_dot", "explore", "explore_network", "explore_data", "network_data"]


def _label(tensor: Tensor, show_values: bool) -> str:
    shape = "×".join(str(n) for n in tensor.shape) or "scalar"
    text = f"{tensor.name}\\n{shape}" if tensor.name else shape
    if tensor.grad is not None and hasattr(tensor.grad, "shape"):
        text += "\\n(grad)"
    if show_values and tensor.data.size <= 4:
        text += "\\n" + ", ".join(f"{v:.4g}" for v in tensor.data.ravel())
    return text


def to_dot(tensor: Tensor, *, name: str = "autograd", show_values: bool = False) -> str:
    """The graph that computed ``tensor``, in Graphviz DOT.

    Parameters
    ----------
    tensor : Tensor
        The output whose history to draw (its graph must not have been released by a
        ``backward()`` without ``retain_graph=True``).
    name : str
        The DOT graph's name (quoted, so any text is valid).
    show_values : bool
        Print the values of tensors with at most four elements.

    Returns
    -------
    str
        DOT text: tensors are boxes (leaves that require grad are filled), ops are ellipses.

    Examples
    --------
    >>> import autograd_lite as al
    >>> x = al.Tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> print(al.viz.to_dot((x * x).sum()).splitlines()[0])
    digraph "autograd" {
    """
    if not isinstance(tensor, Tensor):
        raise InvalidInputError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    ids: dict[int, str] = {}
    lines = [f'digraph "{name}" {{', "  rankdir=LR;", '  node [fontname="Helvetica"];']

    def node_id(t: Any) -> str:
        key = id(t)
        if key not in ids:
            ids[key] = f"t{len(ids)}"
        return ids[key]

    stack = [tensor]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        tid = node_id(t)
        style = ', style=filled, fillcolor="#dbe9f6"' if t.is_leaf and t.requires_grad else ""
        lines.append(f'  {tid} [shape=box, label="{_label(t, show_values)}"{style}];')
        if t._op is None or t._args is None:
            continue
        op_id = f"{tid}_op"
        lines.append(f'  {op_id} [shape=ellipse, label="{t._op.name}"];')
        lines.append(f"  {op_id} -> {tid};")
        for arg in t._args:
            if isinstance(arg, Tensor):
                lines.append(f"  {node_id(arg)} -> {op_id};")
                stack.append(arg)
            else:
                const_id = f"c{len(ids)}_{len(lines)}"
                shape = getattr(arg, "shape", ())
                label = "×".join(str(n) for n in shape) if shape else f"{float(arg):.4g}"
                lines.append(f'  {const_id} [shape=plaintext, label="{label}"];')
                lines.append(f"  {const_id} -> {op_id};")
    lines.append("}")
    return "\n".join(lines)
