r"""The backprop explorer: one self-contained HTML page that steps the reverse pass.

`explore()` writes the page for any graph (a custom layer included); `explore_network()`
writes it for the chapter's network, with the errors $\delta^l$ and the gradients of the
hand-derived BP1-BP4 ([`ManualNetwork`][autograd_lite.nielsen.ManualNetwork]) beside the graph's.

Every number on the page comes from Python: the steps are recorded while the engine itself runs
the backward pass (`autograd_lite.engine.gradients()`). A hook on every tensor sees the
complete gradient the moment the engine takes that node off its queue -- so the order of the steps
is the engine's order (the graph's topological order, reversed) and each gradient shown is the
engine's. At that moment the node's vjps are applied to it (the op's own functions, as the engine
calls them) to show what the node sends to each input, before and after the engine's unbroadcast
(`autograd_lite.engine.sum_to()`). The page's JavaScript only displays: it computes nothing.

The numbers are embedded as JSON, each float written as ``repr`` writes it, so that a test reading
the page gets the arrays back bitwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite.engine import gradients, sum_to
from autograd_lite.errors import InvalidInputError
from autograd_lite.tensor import Tensor

__all__ = [
    "FORMULAS",
    "chapter_example",
    "write_page",
    "explore",
    "explore_data",
    "explore_network",
    "network_data",
    "render_html",
    "formula",
]

#: The vjp each op applies, one formula per input (``g`` is the gradient arriving at the op's
#: output). An op not listed here is shown as "vjp of <name>".
FORMULAS: dict[str, tuple[str, ...]] = {
    "add": ("g", "g"),
    "sub": ("g", "−g"),
    "mul": ("g ⊙ b", "g ⊙ a"),
    "hadamard": ("g ⊙ b", "g ⊙ a"),
    "div": ("g ⊘ b", "−g ⊙ a ⊘ b²"),
    "neg": ("−g",),
    "pow": ("g ⊙ p·a^(p−1)", "g ⊙ a^p ⊙ ln a"),
    "matmul": ("g Bᵀ", "Aᵀ g"),
    "exp": ("g ⊙ exp(x)",),
    "log": ("g ⊘ x",),
    "sigmoid": ("g ⊙ σ′(z),  σ′(z) = σ(z)(1 − σ(z))",),
    "sigmoid_prime": ("g ⊙ σ″(z)",),
    "tanh": ("g ⊙ (1 − tanh²x)",),
    "relu": ("g ⊙ [x > 0]",),
    "softmax": ("s ⊙ (g − Σ g ⊙ s),  s = softmax(x)",),
    "log_softmax": ("g − softmax(x) Σ g",),
    "sum": ("g broadcast back to x's shape",),
    "mean": ("g / n broadcast back to x's shape",),
    "max": ("g routed to the largest entries",),
    "reshape": ("g reshaped to x's shape",),
    "transpose": ("g transposed back",),
    "broadcast_to": ("g summed over the broadcast axes",),
    "getitem": ("g scattered into zeros of x's shape",),
    "scatter_add": ("g[index]",),
    "concatenate": ("the slice of g that came from this input",),
    "stack": ("the slice of g that came from this input",),
    "where": ("g where the condition holds, 0 elsewhere", "g where it does not, 0 elsewhere"),
    "quadratic_cost": ("g (a − y)", "g (y − a)"),
    "cross_entropy_cost": ("g (a − y) ⊘ (a (1 − a))  [from logits z: g (σ(z) − y)]", "…"),
}


def formula(op_name: str, index: int) -> str:
    """The vjp formula that ``op_name`` applies for input ``index`` (from `FORMULAS`)."""
    known = FORMULAS.get(op_name)
    if known is None:
        return f"vjp of {op_name}"
    return known[index] if index < len(known) else known[-1]


# -- the trace: the graph, the forward values, and each step of the engine's backward pass ------


class _Arrays:
    """The page's arrays, each stored once (``id`` -> index), as shape + flat list of floats."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._index: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps each array alive, so that ids are not reused

    def add(self, array: Any) -> int:
        array = np.asarray(array)
        key = id(array)
        if key in self._index:
            return self._index[key]
        self._keep.append(array)
        values = np.asarray(array, dtype=np.float64).ravel().tolist()
        self.items.append({"shape": list(array.shape), "values": values})
        self._index[key] = len(self.items) - 1
        return self._index[key]


def _graph_nodes(output: Tensor) -> list[Any]:
    """Every tensor and constant that ``output`` was computed from, in data-flow order (a
    tensor after its inputs: creation order), each with its inputs."""
    seen: dict[int, Any] = {}
    stack: list[Any] = [output]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        if isinstance(t, Tensor) and t.op is not None:
            args = t._args
            if args is None:
                raise InvalidInputError(
                    "explore: the graph was released by an earlier backward(); build it again "
                    "(or call backward(retain_graph=True))"
                )
            stack.extend(args)
    tensors = [t for t in seen.values() if isinstance(t, Tensor)]
    tensors.sort(key=lambda t: t._seq)
    return tensors


def _label_map(labels: Any) -> dict[int, str]:
    """``{id(tensor): name}`` from ``{tensor: name}`` or ``(name, tensor)`` pairs."""
    if not labels:
        return {}
    if isinstance(labels, dict):
        return {id(t): str(name) for t, name in labels.items()}
    return {id(t): str(name) for name, t in labels}


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(n) for n in shape) or "scalar"


def explore_data(
    output: Tensor,
    *,
    grad: Any = None,
    labels: Any = None,
    notes: dict[tuple[Tensor, int], str] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """The explorer's data for the graph of ``output``: what `explore()` embeds in the page.

    Parameters
    ----------
    output : Tensor
        The result whose backward pass to record; its graph must still be there.
    grad : array_like, optional
        The gradient to seed at ``output``; default 1 for a one-element output, ones otherwise.
    labels : dict or iterable of pairs, optional
        A display name for some tensors: ``{tensor: name}``, or ``(name, tensor)`` pairs such as
        a module's ``named_parameters()`` (default: the tensor's ``name``, else its op).
    notes : dict, optional
        ``(tensor, input index) -> text`` shown at the step that processes that tensor
        (index -1: about the step as a whole).
    title : str, optional

    Returns
    -------
    dict
        ``nodes`` (data-flow order: op, inputs, shape, value), ``steps`` (the engine's order:
        the gradient arriving and its parts, the formula and the gradient sent to each input,
        before and after unbroadcasting), ``arrays`` (each ``{"shape", "values"}``), and more.
        The output's graph is kept (the backward pass runs with ``retain_graph=True``); no
        ``.grad`` is changed.
    """
    if not isinstance(output, Tensor):
        raise InvalidInputError(f"explore: expected a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise InvalidInputError(
            "explore: the output does not require grad, so it has no graph; create its inputs "
            "with requires_grad=True"
        )
    labels = _label_map(labels)
    notes = notes or {}
    tensors = _graph_nodes(output)
    arrays = _Arrays()
    ids = {id(t): i for i, t in enumerate(tensors)}
    nodes: list[dict[str, Any]] = []
    for i, t in enumerate(tensors):
        inputs: list[Any] = []
        if t.op is not None:
            for arg in t._args or ():
                if isinstance(arg, Tensor):
                    inputs.append(ids[id(arg)])
                else:  # a constant (a number or an array) given to the op
                    inputs.append({"value": arrays.add(arg), "shape": list(np.shape(arg))})
        kind = "op" if t.op is not None else ("param" if t.requires_grad else "constant")
        nodes.append(
            {
                "id": i,
                "label": labels.get(id(t))
                or t.name
                or t.op
                or ("leaf" if t.requires_grad else "input"),
                "op": t.op,
                "kind": kind,
                "shape": list(t.shape),
                "shape_text": _shape_text(t.shape),
                "inputs": inputs,
                "value": arrays.add(t.data),
                "formulas": (
                    [formula(t.op, k) for k in range(len(inputs))] if t.op is not None else []
                ),
            }
        )

    # The backward pass, run by the engine. A hook on every tensor that requires grad is called
    # when the engine takes the node off its queue (leaves: at the end), with the complete
    # gradient: we record it and, for an op, apply its vjps to see what it sends to each input.
    steps: list[dict[str, Any]] = []
    parts: dict[int, list[dict[str, Any]]] = {}  # node -> the contributions it received so far
    leaf_totals: list[tuple[int, Any]] = []
    handles = []

    def on_gradient(t: Tensor) -> Any:
        def hook(g: Any) -> None:
            g = np.array(g)  # our own copy (the engine's is read-only, and may be reused)
            node = ids[id(t)]
            if t.op is None:
                leaf_totals.append((node, g))
                return
            steps.append(_step(t, node, g, ids, arrays, parts, notes))

        return hook

    for t in tensors:
        if t.requires_grad:
            handles.append(t.register_hook(on_gradient(t)))
    leaves = [t for t in tensors if t.op is None and t.requires_grad]
    try:
        if grad is None and output.size != 1:
            grad = np.ones(output.shape, dtype=output.dtype)
        totals = gradients(output, leaves or [output], grad_outputs=grad, retain_graph=True)
    finally:
        for handle in handles:
            handle.remove()

    # The leaves' gradients: the sum of the parts they received (fan-out), as the engine gives.
    finals = {id(t): g for t, g in zip(leaves, totals)}
    if leaf_totals:
        items = []
        for node, g in leaf_totals:
            received = parts.get(node, [])
            items.append(
                {
                    "node": node,
                    "arriving": arrays.add(finals.get(id(tensors[node]), g)),
                    "parts": received,
                }
            )
        steps.append({"kind": "leaves", "items": items})
    for step_index, step in enumerate(steps, start=1):
        step["index"] = step_index
    sender_step = {s["node"]: s["index"] for s in steps if s["kind"] == "node"}
    for received in parts.values():
        for part in received:
            part["step"] = sender_step[part["from"]]

    # When each node's gradient is complete (the step that processes it; for a leaf, the step
    # that sent its last part): the page reveals the gradient from then on.
    ready: dict[int, int] = {}
    for step in steps:
        if step["kind"] == "node":
            ready[step["node"]] = step["index"]
    for node, received in parts.items():
        if tensors[node].op is None and received:
            ready[node] = received[-1]["step"]
    for entry in nodes:
        entry["grad_step"] = ready.get(entry["id"])
        entry["grad"] = None
    for step in steps:
        if step["kind"] == "node":
            nodes[step["node"]]["grad"] = step["arriving"]
        else:
            for item in step["items"]:
                nodes[item["node"]]["grad"] = item["arriving"]

    return {
        "format": 1,
        "title": title or f"Backward pass of a {output.op} ({_shape_text(output.shape)})",
        "output": ids[id(output)],
        "nodes": nodes,
        "steps": steps,
        "arrays": arrays.items,
        "chapter": None,
    }


def _step(
    t: Tensor,
    node: int,
    g: np.ndarray,
    ids: dict[int, int],
    arrays: _Arrays,
    parts: dict[int, list[dict[str, Any]]],
    notes: dict[tuple[Tensor, int], str],
) -> dict[str, Any]:
    """One step of the engine's pass: ``t`` with its complete gradient ``g``; apply its vjps."""
    op: Any = t._op
    saved: Any = t._arrays
    params: dict[str, Any] = t._params or {}
    g_in = g.view()
    g_in.flags.writeable = False
    sends = []
    for index, arg in enumerate(t._args or ()):
        if not (isinstance(arg, Tensor) and arg.requires_grad):
            continue
        raw = op.vjps[index](g_in, t.data, *saved, **params)
        if raw is None:
            continue
        if isinstance(raw, Tensor):
            raw = raw.data
        raw = np.asarray(raw, dtype=arg.dtype)
        sent = raw if raw.shape == arg.shape else sum_to(raw, arg.shape, op.name, index)
        target = ids[id(arg)]
        send = {
            "to": target,
            "index": index,
            "formula": formula(op.name, index),
            "grad": arrays.add(sent),
            "raw": None,
            "note": notes.get((t, index)),
        }
        if sent is not raw:  # the engine's unbroadcast: summed back to the input's shape
            send["raw"] = arrays.add(raw)
            send["unbroadcast"] = _unbroadcast_text(raw.shape, arg.shape)
        sends.append(send)
        parts.setdefault(target, []).append(
            {"from": ids[id(t)], "grad": send["grad"], "step": None}
        )
    received = parts.get(node, [])
    return {
        "kind": "node",
        "node": node,
        "op": op.name,
        "arriving": arrays.add(g),
        "parts": received,
        "sends": sends,
        "note": notes.get((t, -1)),
    }


def _unbroadcast_text(raw: Sequence[int], shape: Sequence[int]) -> str:
    """How ``sum_to`` takes a gradient of shape ``raw`` back to ``shape``, in words."""
    lead = len(raw) - len(shape)
    axes = list(range(lead)) + [
        lead + i for i, n in enumerate(shape) if n == 1 and raw[lead + i] != 1
    ]
    which = ", ".join(str(a) for a in axes)
    return (
        f"summed over axis {which} ({_shape_text(raw)} → {_shape_text(shape)}): the input was "
        f"broadcast there in the forward pass"
    )


# -- the page ----------------------------------------------------------------------------------


def _json(data: Any) -> str:
    """``data`` as a JavaScript literal: JSON with floats as ``repr`` writes them (NaN and
    infinities as the JavaScript names), safe inside ``<script>``."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(data: dict[str, Any]) -> str:
    """The self-contained page (HTML with its CSS and JavaScript inline) for ``data``."""
    template = resources.files("autograd_lite.viz").joinpath("explorer.html").read_text("utf-8")
    title = (
        str(data.get("title", "Backprop explorer"))
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
    return template.replace("__TITLE__", title).replace("/*__DATA__*/null", _json(data))


def write_page(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the page for ``data`` (from `explore_data()`, `network_data()` or
    `chapter_example()`) to ``path``; returns the path."""
    path = Path(path)
    path.write_text(render_html(data), encoding="utf-8")
    return path


def explore(
    output: Tensor,
    path: str | os.PathLike[str] = "explorer.html",
    *,
    grad: Any = None,
    title: str | None = None,
    labels: Any = None,
) -> Path:
    """Write the backprop explorer for the graph that computed ``output`` to ``path``.

    One HTML file with everything inline (no network; it opens from disk): the graph (ops as
    nodes with their shapes, edges in data-flow order), the forward values, and the backward
    pass step by step (buttons, ←/→ keys, a slider) -- at each step the node the engine
    processes, the gradient arriving (and its parts, where a tensor fans out), the vjp applied
    and the gradient sent to each input (before and after an unbroadcast sum).

    Parameters
    ----------
    output : Tensor
        Any result built with autograd_lite ops, custom primitives and ``al.Function`` included.
        Its graph must still be there (not released by a ``backward()``); it is kept, and no
        ``.grad`` changes.
    path : str or os.PathLike
        Where to write the page.
    grad : array_like, optional
        The gradient seeded at ``output`` (default: 1, or ones for a non-scalar output).
    title : str, optional
        The page's title.
    labels : dict or iterable of pairs, optional
        Display names for some tensors: ``{tensor: name}``, or ``(name, tensor)`` pairs such as
        ``model.named_parameters()`` (default: their ``name``, else their op).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import autograd_lite as al, tempfile, os
    >>> x = al.Tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> y = (al.exp(x) * x).sum()
    >>> page = al.viz.explore(y, os.path.join(tempfile.mkdtemp(), "x.html"))
    >>> page.read_text().startswith("<!DOCTYPE html>")
    True
    """
    data = explore_data(output, grad=grad, labels=labels, title=title)
    return write_page(data, path)


# -- the chapter's network -----------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sup(n: int) -> str:
    return str(n).translate(_SUPERSCRIPTS)


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) if np.size(a) else 0.0


def network_data(
    network: Any,
    X: Any,
    Y: Any,
    *,
    title: str | None = None,
    image: Any = None,
    label: int | None = None,
) -> dict[str, Any]:
    r"""The explorer's data for the chapter's network on the mini-batch ``X``, ``Y``.

    The graph is the one [`Network`][autograd_lite.nielsen.Network] builds: per layer
    $z^l = w^l a^{l-1} + b^l$ (``matmul`` then ``add``, the bias broadcast over the
    batch), $a^l = \sigma(z^l)$, then the cost. Beside it, a
    [`ManualNetwork`][autograd_lite.nielsen.ManualNetwork] with the same parameters gives
    $\delta^l$ by BP1 (output layer) and BP2 (going back), and the gradients by BP3 and
    BP4, with the largest difference from the graph's.

    Parameters
    ----------
    network : Network or ManualNetwork
        Its ``sizes``, ``weights``, ``biases``, ``cost`` and ``dtype`` are used (not changed).
    X, Y : array_like
        The mini-batch, one sample per column: ``(sizes[0], m)`` and ``(sizes[-1], m)``.
    image : array_like, optional
        A picture of the input (e.g. the 28×28 digit), shown beside the graph.
    label : int, optional
        The input's class, shown with the network's answer.
    """
    from autograd_lite import costs, ops
    from autograd_lite.nielsen import CrossEntropyCost, ManualNetwork

    dtype = np.dtype(network.dtype)
    X = np.asarray(X, dtype=dtype)
    Y = np.asarray(Y, dtype=dtype)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    sizes = list(network.sizes)
    if X.shape[0] != sizes[0] or Y.shape[0] != sizes[-1] or X.shape[1] != Y.shape[1]:
        raise InvalidInputError(
            f"explore: X {X.shape} and Y {Y.shape} do not fit sizes {sizes} (one sample per "
            f"column: X ({sizes[0]}, m), Y ({sizes[-1]}, m))"
        )
    manual = ManualNetwork(sizes, seed=0, dtype=dtype, cost=network.cost)
    manual.weights = [np.array(w, dtype=dtype) for w in network.weights]
    manual.biases = [np.array(b, dtype=dtype) for b in network.biases]
    logits = manual.cost is CrossEntropyCost
    L = len(sizes)

    # The graph, as Network._forward builds it, each tensor named as in the chapter.
    labels: dict[Tensor, str] = {}
    notes: dict[tuple[Tensor, int], str] = {}
    x = Tensor(X, name="x")
    y = Tensor(Y, name="y")
    labels[x], labels[y] = "x = a¹" if L > 1 else "x", "y"
    ws = [Tensor(w, requires_grad=True) for w in manual.weights]
    bs = [Tensor(b, requires_grad=True) for b in manual.biases]
    a: Any = x
    zs: list[Tensor] = []
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        l = i + 2
        labels[w], labels[b] = f"w{_sup(l)}", f"b{_sup(l)}"
        product = ops.matmul(w, a)
        labels[product] = f"w{_sup(l)}a{_sup(l - 1)}"
        z = ops.add(product, b)
        labels[z] = f"z{_sup(l)}"
        zs.append(z)
        notes[(product, 0)] = (
            f"BP4: ∂C/∂w{_sup(l)} = δ{_sup(l)} (a{_sup(l - 1)})ᵀ — summed over the batch by the "
            f"matrix product"
        )
        if l > 2:
            notes[(product, 1)] = (
                f"BP2, first half: (w{_sup(l)})ᵀ δ{_sup(l)}, sent back to a{_sup(l - 1)}"
            )
        notes[(z, -1)] = f"The gradient arriving at z{_sup(l)} is δ{_sup(l)} = ∂C/∂z{_sup(l)}"
        notes[(z, 1)] = (
            f"BP3: ∂C/∂b{_sup(l)} = δ{_sup(l)}, one column per sample: the engine's unbroadcast "
            f"sums them over the batch"
        )
        if l < L or not logits:
            a = ops.sigmoid(z)
            labels[a] = f"a{_sup(l)}"
            notes[(a, 0)] = (
                f"BP1: δ{_sup(L)} = ∇ₐC ⊙ σ′(z{_sup(L)})"
                if l == L
                else f"BP2, second half: δ{_sup(l)} = ((w{_sup(l + 1)})ᵀ δ{_sup(l + 1)}) ⊙ "
                f"σ′(z{_sup(l)})"
            )
    if logits:
        C = costs.cross_entropy_cost(zs[-1], y, logits=True)
        notes[(C, 0)] = f"BP1 for the cross-entropy: δ{_sup(L)} = a{_sup(L)} − y (no σ′ factor)"
    else:
        C = costs.quadratic_cost(a, y)
        notes[(C, 0)] = f"∇ₐC = a{_sup(L)} − y, the first factor of BP1"
    labels[C] = "C"
    sizes_text = ", ".join(map(str, sizes))
    data = explore_data(
        C,
        labels=labels,
        notes=notes,
        title=title
        or f"Backpropagation in the network [{sizes_text}], one mini-batch of {X.shape[1]}",
    )

    # Beside it: BP1-BP4 written out, on the same parameters and mini-batch.
    deltas = manual.deltas(X, Y)
    nabla_b, nabla_w = manual.backprop_matrix(X, Y)
    arrays = _Arrays()
    arrays.items = data["arrays"]
    ids = {node["label"]: node["id"] for node in data["nodes"]}
    grads = {node["id"]: node["grad"] for node in data["nodes"]}
    values = data["arrays"]

    def graph_array(node_id: int) -> np.ndarray:
        item = values[grads[node_id]]
        return np.array(item["values"], dtype=np.float64).reshape(item["shape"])

    layers = []
    for i in range(L - 1):
        l = i + 2
        z_id, w_id, b_id = ids[f"z{_sup(l)}"], ids[f"w{_sup(l)}"], ids[f"b{_sup(l)}"]
        rows = {
            "delta": (z_id, deltas[i], "BP1" if l == L else "BP2"),
            "nabla_b": (b_id, nabla_b[i], "BP3"),
            "nabla_w": (w_id, nabla_w[i], "BP4"),
        }
        layer: dict[str, Any] = {"l": l, "z": z_id, "w": w_id, "b": b_id}
        for key, (node_id, manual_value, rule) in rows.items():
            layer[key] = {
                "node": node_id,
                "graph": grads[node_id],
                "manual": arrays.add(manual_value),
                "rule": rule,
                "max_diff": _max_abs_diff(graph_array(node_id), manual_value),
                "step": data["nodes"][node_id]["grad_step"],
            }
        layers.append(layer)
    out = manual.feedforward(X)
    chapter: dict[str, Any] = {
        "sizes": sizes,
        "cost": manual.cost.name,
        "batch": int(X.shape[1]),
        "layers": layers,
        "max_difference": max(
            layer[key]["max_diff"] for layer in layers for key in ("delta", "nabla_b", "nabla_w")
        ),
        "output": arrays.add(out),
        "image": None if image is None else arrays.add(np.asarray(image, dtype=np.float64)),
        "label": None if label is None else int(label),
        "prediction": [int(k) for k in np.argmax(out, axis=0)],
    }
    data["chapter"] = chapter
    return data


def explore_network(
    network: Any,
    X: Any,
    Y: Any,
    path: str | os.PathLike[str] = "explorer.html",
    *,
    title: str | None = None,
    image: Any = None,
    label: int | None = None,
) -> Path:
    """Write the explorer for the chapter's network on the mini-batch ``X``, ``Y`` to ``path``:
    the page of `explore()`, plus beside each $z^l$ the $\\delta^l$ of the
    graph and of BP1/BP2, and at each weight and bias the BP3/BP4 values, with the largest
    difference. See [`network_data()`][autograd_lite.viz.explore.network_data] for the arguments."""
    data = network_data(network, X, Y, title=title, image=image, label=label)
    return write_page(data, path)


def chapter_example(
    sizes: Sequence[int] | None = None,
    *,
    load: str | os.PathLike[str] | None = None,
    digit: int | None = None,
    seed: int = 0,
    batch: int = 4,
    epochs: int = 3,
) -> dict[str, Any]:
    """The data of ``autograd-lite explore``: the chapter's network on one mini-batch.

    Parameters
    ----------
    sizes : sequence of int, optional
        The layers; default ``[2, 3, 2]`` (``[784, 30, 10]`` with ``digit``), or the loaded
        model's.
    load : path, optional
        A model saved by ``autograd-lite train --save`` (or ``Network.save``).
    digit : int, optional
        Explore one embedded MNIST test digit (index ``digit``, its picture shown) through a
        network of ``[784, ..., 10]``: the loaded one, or one trained here for ``epochs``
        epochs on the embedded training digits (η = 3, mini-batches of 10, ``seed``).
    seed : int
        The initial parameters (as ``Network(sizes, seed=seed)``) and the random mini-batch.
    batch : int
        The mini-batch size when no ``digit`` is given: random inputs in [0, 1) and one-hot
        targets for a small network, the first ``batch`` embedded training digits for one of
        ``[784, ..., 10]``.
    """
    from autograd_lite.datasets import load_mnist
    from autograd_lite.nielsen import Network

    if load is not None:
        network = Network.load(load, seed=seed)
        if sizes is not None and list(sizes) != list(network.sizes):
            raise InvalidInputError(
                f"--sizes {list(sizes)} does not match the loaded model's sizes {network.sizes}"
            )
    else:
        default = [784, 30, 10] if digit is not None else [2, 3, 2]
        network = Network(list(sizes) if sizes is not None else default, seed=seed)
    sizes = list(network.sizes)
    mnist_shaped = sizes[0] == 784 and sizes[-1] == 10
    if digit is not None:
        if not mnist_shaped:
            raise InvalidInputError(f"--digit needs a network of sizes [784, ..., 10], not {sizes}")
        data = load_mnist(dtype=network.dtype)
        if not 0 <= digit < len(data.test):
            raise InvalidInputError(
                f"--digit {digit}: there are {len(data.test)} embedded test digits "
                f"(0 to {len(data.test) - 1})"
            )
        trained = ""
        if load is None:
            train = data.train
            network.SGD((train.images.T, train.labels), epochs, 10, 3.0, verbose=False)
            trained = f", trained {epochs} epochs on {len(train)} digits"
        X = data.test.images[digit].reshape(-1, 1)
        label = int(data.test.labels[digit])
        Y = np.zeros((10, 1), dtype=network.dtype)
        Y[label, 0] = 1
        title = (
            f"Backpropagation of one MNIST digit (test image {digit}, a {label}) through "
            f"[{', '.join(map(str, sizes))}]{trained}"
        )
        return network_data(network, X, Y, title=title, image=X.reshape(28, 28), label=label)
    if mnist_shaped:
        train = load_mnist(dtype=network.dtype).train
        X = train.images[:batch].T
        Y = train.one_hot()[:batch].T
    else:
        rng = np.random.default_rng(seed)
        X = rng.random((sizes[0], batch)).astype(network.dtype)
        Y = np.zeros((sizes[-1], batch), dtype=network.dtype)
        Y[rng.integers(0, sizes[-1], batch), np.arange(batch)] = 1
    return network_data(network, X, Y)
