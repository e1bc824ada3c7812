"""Record a function's graph once, then replay it: ``al.grad(f, replay=True)``.

Building the graph is most of what a small network's step costs in Python: one Tensor per op,
its inputs and saved arrays, a heap of nodes in backward. When ``f`` runs the same ops on
arguments of the same shapes every time -- a training step -- that graph is the same every time
too. A :class:`ReplayedGradient` records it on the first call for each *signature* (the shapes
and dtypes of the array arguments, the values of the others) and turns it into a Python
function: the ops' forwards in creation order, then, newest op first, the vjps of the inputs
that lead to a differentiated argument. Later calls run that function on the new arrays. The
ops, their vjps, the order in which gradients are summed and the undoing of broadcasting are
the engine's, so the results are bitwise those of ``al.grad(f)``; only the Tensors are not
rebuilt. ``ReplayedGradient.sources`` shows the generated code.

What replay asks of ``f`` (as ``jax.jit`` does): every value that depends on an array argument
is computed with autograd_lite ops, and which ops run does not depend on the values (no Python
``if`` on data). Array arguments reach ``f`` as Tensors. The recording guards what ``f`` reads:
values computed from the arguments under ``no_grad`` or by ``detach()`` become stop-gradient
steps, recomputed at every call; reading values out of a Tensor that depends on them
(``.data``, ``repr``, ``al.Tensor(x)``, ``x > 0``, ``if x``, ``item()`` ...) raises
:class:`~autograd_lite.errors.ReplayError` rather than freezing them into the plan, and so does
a hook or ``retain_grad`` in the graph; arrays, lists and Tensors from outside ``f`` are read
through their object at every call; ``f``'s closure cells, the globals its code names and its
defaults are watched, and rebinding one records the plan again. What it cannot see --
``np.random``, a list or object changed in place and read as a Python value, attributes of
``self`` -- the checking mode ``replay="check"`` (or ``check_every=N``) catches: it runs the
eager graph too and raises ``ReplayError`` at the first bitwise difference. The full table is
under "Replay" in the design notes. Under ``detect_anomaly``, inside another ``grad``, or for a
graph of more than ``MAX_STEPS`` ops the function runs eagerly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_lite import functional
from autograd_lite.engine import _own, _validate_user_gradient, sum_to
from autograd_lite.errors import BackwardError, ReplayError
from autograd_lite.function import Context, EachInput
from autograd_lite.modes import STATE
from autograd_lite.tensor import MADE_FROM, Tensor, as_array, guarding_data, next_sequence_number

__all__ = ["ReplayedGradient", "CheckedReplayedGradient"]

#: Plans kept per function; a new signature beyond this evicts the oldest (a last, smaller
#: mini-batch makes a second signature, a stream of ever-new shapes must not grow memory).
MAX_PLANS = 8

#: Graphs with more ops than this run eagerly: their generated code would take longer to
#: compile than the Python overhead it saves (that overhead matters on small graphs).
MAX_STEPS = 5000

#: At most this many closure cells, globals and defaults are watched per plan (see _watch_list).
MAX_WATCHED = 64


_IDENTIFIER_UNSAFE = re.compile(r"\W")


class _Step:
    """One recorded op: where its inputs come from, and which of their vjps backward calls."""

    __slots__ = (
        "op",
        "slots",
        "params",
        "out",
        "edges",
        "shapes",
        "context",
        "params_name",
        "fn",
        "stop",
    )

    def __init__(self, node: Tensor, slots: tuple[int, ...], out: int) -> None:
        self.op = node._op
        self.slots = slots
        self.params = node._params or {}
        self.out = out
        #: Computed under no_grad from the arguments: recomputed each call, never differentiated.
        self.stop = not node.requires_grad
        self.shapes = tuple(np.shape(a) for a in node._arrays), node.data.shape
        #: (input index, input slot) of each input on a path to a differentiated argument.
        self.edges: tuple[tuple[int, int], ...] = ()
        # An al.Function keeps per-call state in its Context: each replay makes a fresh one.
        self.context = isinstance(self.params.get("ctx"), Context)
        self.params_name = ""  # the generated code's name for this step's parameters
        self.fn = ""  # ... and for its forward


class _Plan:
    """One recorded graph as straight-line Python: the forwards, then the vjps in reverse.

    Values live in local variables of a generated function -- ``x3`` for argument 3, ``c7``
    for a constant, ``v9`` for an op's output, ``g9`` for its gradient -- so a replay pays for
    the NumPy calls and little else. ``source`` is that function's code.
    """

    def __init__(
        self,
        root: Tensor,
        inputs: list[Tensor | None],
        wanted: list[int],
        start: int,
        watched: list[tuple[str, Any, str, Any]],
    ) -> None:
        self.watched = watched
        self.start = start
        self.slot_of: dict[int, int] = {id(t): i for i, t in enumerate(inputs) if t is not None}
        self.names = [f"x{i}" for i in range(len(inputs))]
        self.shapes: list[tuple[int, ...]] = [() if t is None else t.shape for t in inputs]
        self.dtypes: list[Any] = [None if t is None else t.dtype for t in inputs]
        self.namespace: dict[str, Any] = {"ndarray": np.ndarray, "sum_to": sum_to}
        self.tensor_constants: list[int] = []  # Tensors made before f ran: read at each replay
        self.converted: list[int] = []  # constants an op converted to floats: again each call
        self.array_constants: list[int] = []  # float arrays f handed to ops: read as they are
        self.arguments = [t.data for t in inputs if t is not None]
        self.steps: list[_Step] = []
        nodes = _recorded_nodes(root, self.slot_of, start)
        if len(nodes) > MAX_STEPS:
            raise _Oversized
        for node in nodes:
            if node._hooks or node._retain:
                raise ReplayError(
                    f"replay: the graph has a hook or retain_grad() on the output of "
                    f"'{node._op.name}' (shape {node.shape}); replay does not rebuild Tensors, "
                    f"so it cannot call hooks. Use replay=False for this function."
                )
            slots = tuple(self._slot(a, x, node._op.name) for a, x in zip(node._args, node._arrays))
            out = self._new_slot("v", node.data.shape, node.data.dtype)
            self.slot_of[id(node)] = out
            self.steps.append(_Step(node, slots, out))
        self.root = self._slot(root, root.data, "the result")
        self.root_is_constant = self.names[self.root].startswith("c")
        self.wanted = wanted
        self.leads_to_root = self._link_backward()
        del self.slot_of, self.arguments  # (the recording's Tensors and arrays may go)
        self.n_args = len(inputs)
        self.arrays_only = all(t is not None for t in inputs)
        self.source = self._generate()
        guard = self._generate_guard() if self.arrays_only else ""
        code = compile(self.source + guard, f"<replay of {len(self.steps)} ops>", "exec")
        exec(code, self.namespace)  # noqa: S102 - our own generated code, see self.source
        self.run: Callable[..., tuple[Any, list[Any]]] = self.namespace["replay"]
        #: ``run`` behind a check that the arguments are ndarrays of the recorded shapes and
        #: dtypes (MISMATCH otherwise): the quick way in for a call like the last one.
        self.run_if_same = self.namespace.get("replay_if_same")

    def _generate_guard(self) -> str:
        n, ns = self.n_args, self.namespace
        ns["MISMATCH"] = MISMATCH
        args = ", ".join(f"x{i}" for i in range(n))
        lines = [f"def replay_if_same({args}):"]
        for i in range(n):
            ns[f"d{i}"] = self.dtypes[i]
            lines.append(
                f"    if x{i}.__class__ is not ndarray or x{i}.shape != {self.shapes[i]} "
                f"or x{i}.dtype is not d{i}: return MISMATCH"
            )
        lines.append(f"    return replay({args})")
        return "\n".join(lines) + "\n"

    def _new_slot(self, prefix: str, shape: tuple[int, ...] = (), dtype: Any = None) -> int:
        self.names.append(f"{prefix}{len(self.names)}")
        self.shapes.append(shape)
        self.dtypes.append(dtype)
        return len(self.names) - 1

    def _slot(self, arg: Any, array: Any, op_name: str) -> int:
        """The slot of an op's input: an argument, an earlier op's output, or a constant."""
        if isinstance(arg, Tensor) and id(arg) in self.slot_of:
            return self.slot_of[id(arg)]
        if isinstance(arg, Tensor):  # made before f ran, or computed from constants only
            slot = self._new_slot("c", arg.data.shape, arg.data.dtype)
            source = MADE_FROM.get(arg)
            if source is not None and arg._seq >= self.start:  # al.Tensor(W) inside f
                self.namespace[f"o{slot}"], self.namespace[f"dtype{slot}"] = source
                self.converted.append(slot)
            else:
                self.namespace[f"t{slot}"] = arg
                self.tensor_constants.append(slot)
            return slot
        if isinstance(array, np.ndarray) and any(
            np.shares_memory(array, a) for a in self.arguments
        ):
            raise ReplayError(
                f"replay: '{op_name}' received the data of an argument as a constant (x.data, "
                f"np.asarray(x) or a view of it) instead of the Tensor, so a replay would reuse "
                f"the first call's values; pass the Tensor to the op, or use replay=False"
            )
        slot = self._new_slot("c", np.shape(array), getattr(array, "dtype", None))
        if arg is not array and not isinstance(arg, (bool, int, float, np.generic)):
            # Converted by the op (an int array, a list): converted again at each call, from
            # the object f passed, so that a change made in place is seen.
            self.namespace[f"o{slot}"], self.namespace[f"dtype{slot}"] = arg, None
            self.converted.append(slot)
        else:
            self.namespace[self.names[slot]] = array
            if isinstance(array, np.ndarray):  # its shape may be changed in place (W.shape = ...)
                self.array_constants.append(slot)
        return slot

    def _generate_watches(self) -> list[str]:
        """One line per watched name: the object f saw at the recording, or an equal immutable
        value, else the recording is stale (see :func:`_watch_list`)."""
        lines = []
        for i, (kind, holder, name, value) in enumerate(self.watched):
            self.namespace[f"watch_in{i}"], self.namespace[f"watched{i}"] = holder, value
            if kind == "cell":
                now = f"watch_in{i}.cell_contents"
            elif kind == "global":
                now = f"watch_in{i}.get({name!r}, MISSING)"
            else:
                now = f"watch_in{i}.{name}"
            lines.append(
                f"    if {now} is not watched{i} and not same({now}, watched{i}): "
                f"raise StaleRecording"
            )
        return lines

    def _link_backward(self) -> bool:
        """Keep, per step, only the inputs whose gradient reaches a differentiated argument."""
        leads = [False] * len(self.names)
        for i in self.wanted:
            leads[i] = True
        for step in self.steps:
            if step.stop:
                continue
            step.edges = tuple((i, slot) for i, slot in enumerate(step.slots) if leads[slot])
            leads[step.out] = bool(step.edges)
        return leads[self.root]

    def _generate(self) -> str:
        names, ns = self.names, self.namespace
        lines = [f"def replay({', '.join(names[: self.n_args])}):"]
        ns["StaleRecording"], ns["same"], ns["MISSING"] = _StaleRecording, _same_value, _MISSING
        lines += self._generate_watches()
        ns["as_array"] = as_array
        reads = [(slot, f"as_array(o{slot}, dtype{slot})") for slot in self.converted]
        reads += [(slot, None) for slot in self.array_constants]  # c{slot} is in the namespace
        # A Tensor's data may be replaced between calls.
        reads += [(slot, f"t{slot}.data") for slot in self.tensor_constants]
        for slot, read in reads:  # each read afresh, and checked for a new shape or dtype
            ns[f"d{slot}"] = self.dtypes[slot]
            if read is not None:
                lines.append(f"    c{slot} = {read}")
            lines.append(
                f"    if c{slot}.shape != {self.shapes[slot]} or c{slot}.dtype != d{slot}: "
                f"raise StaleRecording"
            )
        lines.append("    # forward, in the order the ops were recorded")
        for k, step in enumerate(self.steps):
            op, out = step.op, names[step.out]
            # e.g. matmul_0: the "_k" keeps it apart from the x0, v6, g6 ... of the values
            fn = step.fn = f"{_IDENTIFIER_UNSAFE.sub('_', op.name)}_{k}".lstrip("0123456789")
            ns[fn] = op.forward
            args = ", ".join(names[j] for j in step.slots)
            shapes = " ".join(str(s) for s in step.shapes[0])
            lines.append(f"    # {op.name}: {shapes} -> {step.shapes[1]}")
            if step.context:  # a fresh Context per call, shared by forward and backward
                ns[f"needs{k}"] = tuple(
                    any(e[0] == i for e in step.edges) for i in range(len(step.slots))
                )
                ns[f"p{k}"] = step.params
                lines.append(f"    p{k}_ = {{**p{k}, 'ctx': Context(needs{k})}}")
                ns["Context"] = Context
                params = f"p{k}_"
            elif step.params:
                ns[f"p{k}"] = step.params
                params = f"p{k}"
            else:
                params = ""
            call_args = f"{args}, **{params}" if params else args
            lines.append(f"    {out} = {fn}({call_args})")
            if not op.trusted or not step.shapes[1]:  # (NumPy gives 0-d results as scalars)
                lines.append(f"    if {out}.__class__ is not ndarray: {out} = as_output({out})")
            step.params_name = params
        ns["as_output"] = _as_output
        root = names[self.root]
        lines.append(f"    value = {root}")
        lines.append("    # backward: each op's vjps, newest op first")
        backward, certain = self._generate_backward()
        lines += backward
        # Hand out arrays the caller owns: never a view, never one array for two arguments,
        # zeros for an argument the result does not depend on (as the engine's gradients()).
        ns["own"], ns["zeros_like"] = _own, np.zeros_like
        lines.append("    handed_out = set()")
        lines.append("    return value, [")
        for i in self.wanted:
            owned = f"own(g{i}, handed_out)"
            lines.append(
                f"        {owned},"
                if certain[i]
                else f"        zeros_like(x{i}) if g{i} is None else {owned},"
            )
        lines.append("    ]")
        return "\n".join(lines) + "\n"

    def _generate_backward(self) -> tuple[list[str], list[bool]]:
        """The backward pass as code. Built-in vjps never return None, so where only built-in
        ops lead to a gradient it is certain to exist, and its code needs no test for None;
        a user-defined op's may be None, and then the code tests as the engine does. Returns
        the lines and, per slot, whether its gradient is certain at the end."""
        names, ns = self.names, self.namespace
        ns["fit"] = _fit
        certain = [False] * len(names)  # this gradient is certainly computed by now
        maybe = [False] * len(names)  # ... or may be
        body: list[str] = []
        if self.leads_to_root:
            ns["seed_dtype"] = self.dtypes[self.root]
            seed_shape = self.shapes[self.root]
            ns["np_ones"] = np.ones if seed_shape else (lambda shape, dtype: np.array(1, dtype))
            body.append(f"    g{self.root} = np_ones({seed_shape}, seed_dtype)")
            certain[self.root] = maybe[self.root] = True
        for k in reversed(range(len(self.steps))):
            step = self.steps[k]
            if not step.edges or not maybe[step.out]:
                continue
            op, out = step.op, names[step.out]
            g = f"g{step.out}"
            indent = "    " if certain[step.out] else "        "
            if certain[step.out]:
                body.append(f"    # {op.name}")
            else:
                body.append(f"    if {g} is not None:  # {op.name}")
            inputs = ", ".join(names[j] for j in step.slots)
            params = f", **{step.params_name}" if step.params_name else ""
            for index, slot in step.edges:
                if op.vjps.__class__ is EachInput:
                    ns[f"{step.fn}_vjps"] = op.vjps.fn
                    call = f"{step.fn}_vjps({index}, {g}, {out}, ({inputs},){params})"
                else:
                    ns[f"{step.fn}_vjp{index}"] = op.vjps[index]
                    call = f"{step.fn}_vjp{index}({g}, {out}, {inputs}{params})"
                shape, dtype, target = self.shapes[slot], f"d{slot}", f"g{slot}"
                ns[dtype] = self.dtypes[slot]
                fit = f"gi = fit(gi, {shape}, {dtype}, {op.name!r}, {index})"
                body.append(f"{indent}gi = {call}")
                if op.trusted:
                    body += _unbroadcast_line(indent, shape, step.shapes[1])
                    body.append(f"{indent}if gi.shape != {shape} or gi.dtype is not {dtype}: {fit}")
                    sure = certain[step.out]
                    inner = indent
                else:
                    ns["validate"] = _validate_user_gradient
                    ns[f"name{k}"] = op.name
                    body.append(f"{indent}if gi is not None:")
                    inner = indent + "    "
                    body.append(
                        f"{inner}gi = validate(gi, name{k}, {index}, False, {shape}, {dtype}, "
                        f"{step.shapes[1]})"
                    )
                    body.append(f"{inner}{fit}")
                    sure = False
                if not maybe[slot]:
                    body.append(f"{inner}{target} = gi")
                elif certain[slot] and sure:
                    body.append(f"{inner}{target} = {target} + gi")
                else:
                    body.append(f"{inner}{target} = gi if {target} is None else {target} + gi")
                if sure and not maybe[slot]:
                    certain[slot] = True
                maybe[slot] = True
            body.append(f"{indent}{out} = None  # no earlier op's vjp reads it: free it now")
        unset = [i for i in self.wanted if not certain[i]]
        unset += [i for i, m in enumerate(maybe) if m and not certain[i] and i not in unset]
        head = ["    " + " = ".join(f"g{i}" for i in unset) + " = None"] if unset else []
        return head + body, certain


def _unbroadcast_line(indent: str, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[str]:
    """For an input broadcast along some axes of an output of the same rank (a bias over a
    mini-batch), the sum that undoes it, written out: what ``sum_to`` computes for a gradient
    of the output's shape."""
    if shape == out_shape or len(shape) != len(out_shape):
        return []
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, out_shape)) if n != m)
    if any(shape[i] != 1 for i in axes):
        return []
    return [
        f"{indent}if gi.shape == {out_shape}: gi = gi.sum(axis={axes}, keepdims=True)"
        f"  # broadcast: summed back"
    ]


def _fit(gi: Any, shape: tuple[int, ...], dtype: Any, op_name: str, index: int) -> Any:
    """A gradient summed back to its input's shape (undoing broadcasting) and cast to its
    input's dtype, as the engine does for every gradient."""
    if gi.shape != shape:
        gi = sum_to(gi, shape, op_name, index)
    if gi.dtype != dtype:
        gi = gi.astype(dtype)
    return gi


MISMATCH = object()  # what a plan's guarded entry returns for arguments it was not made for


class _Oversized(Exception):
    """The graph has more than ``MAX_STEPS`` ops: it runs eagerly."""


class _StaleRecording(Exception):
    """The recording no longer describes ``f``: a name it reads (closure cell, global, default)
    is bound to another object, or a Tensor or array it uses but does not take as an argument
    has another shape or dtype. The plan is recorded again."""


_MISSING = object()  # a global deleted since the recording
_VALUE_TYPES = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)


def _same_value(a: Any, b: Any) -> bool:
    """Whether ``a``, rebound in place of ``b``, changes nothing: the same object, or an
    immutable value of the same type and the same bits (``-0.0`` is not ``0.0``)."""
    if a is b:
        return True
    if a.__class__ is not b.__class__ or not isinstance(a, _VALUE_TYPES):
        return False
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)
    if isinstance(a, (tuple, frozenset)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _watch_list(f: Any) -> list[tuple[str, Any, str, Any]]:
    """What ``f`` reads by name and the replay would otherwise freeze: its closure cells, the
    globals its code names (nested functions and comprehensions included), its defaults, and
    those of the plain Python functions it reaches through them (not the library's). Each is
    ``(kind, holder, name, object now)``; a replay checks that the name is still bound to the
    object (or an equal number, string or tuple). At most ``MAX_WATCHED``."""
    watched: list[tuple[str, Any, str, Any]] = []
    seen: set[int] = set()
    seen_names: set[tuple[int, str]] = set()
    todo = [f]
    while todo and len(watched) < MAX_WATCHED:
        fn = todo.pop()
        fn = getattr(fn, "__func__", fn)  # a bound method: its function (not self's attributes)
        if isinstance(fn, functools.partial):
            todo.append(fn.func)
            continue
        code = getattr(fn, "__code__", None)
        if code is None and callable(fn) and not _is_library(type(fn)):
            todo.append(type(fn).__call__)  # an object with a __call__ in Python
            continue
        if code is None or id(fn) in seen or not hasattr(fn, "__globals__"):
            continue
        seen.add(id(fn))
        found = [("attr", fn, n, getattr(fn, n)) for n in ("__defaults__", "__kwdefaults__")]
        found = [entry for entry in found if entry[3] is not None]
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                found.append(("cell", cell, name, cell.cell_contents))
            except ValueError:  # not yet bound
                continue
        space = fn.__globals__
        found += [("global", space, n, space[n]) for n in _global_names(code) if n in space]
        for entry in found:
            value = entry[3]
            if callable(value) and hasattr(value, "__code__") and not _is_library(value):
                todo.append(value)
        for entry in found:
            key = (id(entry[1]), entry[2])
            if key not in seen_names:
                seen_names.add(key)
                watched.append(entry)
    return watched[:MAX_WATCHED]


def _is_library(fn: Any) -> bool:
    """autograd_lite's and NumPy's own functions and classes: their globals are not the user's."""
    module = getattr(fn, "__module__", None) or ""
    return module.split(".")[0] in ("autograd_lite", "numpy", "builtins")


def _global_names(code: Any) -> list[str]:
    """The names ``code`` and the code nested in it may read as globals (attribute names too:
    watching one of those costs a lookup, never a wrong answer). Only those bound now."""
    names: list[str] = []
    stack = [code]
    while stack:
        c = stack.pop()
        names += c.co_names
        stack += [k for k in c.co_consts if hasattr(k, "co_names")]
    return list(dict.fromkeys(names))


def _as_output(out: Any) -> np.ndarray:
    """What ``Primitive.__call__`` makes of a forward's result that is not an ndarray."""
    out = np.asarray(out)
    return out if out.dtype.kind == "f" else out.astype(np.float64)


def _difference(got: np.ndarray, want: np.ndarray) -> str:
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{got.dtype}{list(got.shape)} against {want.dtype}{list(want.shape)}"
    with np.errstate(all="ignore"):
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return f"largest difference {np.max(diff) if diff.size else 0:.3g} over shape {got.shape}"


def _recorded_nodes(root: Tensor, inputs: dict[int, int], start: int) -> list[Tensor]:
    """The recorded tensors that ``root`` depends on and that were made while ``f`` ran (sequence
    number >= ``start``), in creation order. Inputs and older tensors are where it stops."""
    found: dict[int, Tensor] = {}
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in found or id(t) in inputs or t._op is None or t._seq < start:
            continue
        if t._arrays is None:
            raise ReplayError(
                f"replay: the graph through '{t._op.name}' was released by a backward() inside "
                f"the function; a replayed function must not call backward itself"
            )
        found[id(t)] = t
        stack.extend(a for a in t._args if isinstance(a, Tensor))
    return sorted(found.values(), key=lambda t: t._seq)


_VALUE = object()  # in a signature, marks an argument taken by value


def _value_key(value: Any) -> Any:
    """An argument taken by value, as a signature holds it: with its type (``1``, ``1.0``,
    ``True`` and ``np.float64(1)`` are equal in Python, not to NumPy's type promotion) and, for
    floats, its bits (``-0.0 == 0.0``, but ``x * -0.0`` is not ``x * 0.0``)."""
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return value.__class__, repr(value)
    if value.__class__ is tuple:
        return tuple, tuple(_value_key(v) for v in value)
    return value.__class__, value


def _signature(args: tuple, argnums: Sequence[int], kwargs: dict) -> tuple[tuple, list] | None:
    """What must be equal for a plan to be reused -- the shapes and dtypes of the arrays, the
    values of the rest -- and the arrays themselves (None for the other arguments).

    None when an argument is a Tensor of an outer graph: then the call must run eagerly.
    """
    key: list[Any] = []
    arrays: list[Any] = []
    for i, a in enumerate(args):
        if a.__class__ is np.ndarray and a.dtype.kind == "f":
            array = a
        elif isinstance(a, Tensor):
            if a.requires_grad:
                return None
            array = a.data
        elif i in argnums:
            array = as_array(a, what=f"replay: argument {i}")
        elif isinstance(a, np.ndarray):
            raise ReplayError(
                f"replay: argument {i} is an array of dtype {a.dtype}; a replayed function "
                f"follows floating-point arrays only (pass it as floats, or use replay=False)"
            )
        else:
            key.append(_VALUE)
            key.append(_value_key(a))
            arrays.append(None)
            continue
        key.append(array.shape)
        key.append(array.dtype)
        arrays.append(array)
    if kwargs:
        key.append(tuple((k, _value_key(v)) for k, v in sorted(kwargs.items())))
    key_tuple = tuple(key)
    try:
        hash(key_tuple)
    except TypeError:
        raise ReplayError(
            "replay: every argument must be an array (or array-like) or a hashable constant; "
            f"got types {[type(a).__name__ for a in args]} and keywords {sorted(kwargs)}"
        ) from None
    return key_tuple, arrays


class ReplayedGradient:
    """``value_and_grad(f, argnums)`` that records ``f``'s graph once per signature and replays it.

    Made by ``al.value_and_grad(f, argnums, replay=True)`` and ``al.grad(f, argnums,
    replay=True)``; see :mod:`autograd_lite.replay` for what ``f`` must satisfy. Called with the
    same arguments as ``f``, it returns what the eager function would -- ``(value, gradient)``,
    or the gradient alone for ``al.grad`` -- as ndarrays, bitwise equal. The differentiated
    arguments may be anything array-like; of the others, floating-point arrays and Tensors are
    followed, and everything else (keywords included) is a constant of the recording that must
    be hashable: another value makes another recording. ``replay="check"`` and ``check_every``
    make a :class:`CheckedReplayedGradient`.

    Attributes
    ----------
    plans : int
        How many signatures are recorded (at most ``MAX_PLANS`` are kept).
    sources : list of str
        The code that each recorded plan runs.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> f = lambda w, x: al.sigmoid(w @ x).sum()
    >>> df = al.grad(f, replay=True)
    >>> w, x = np.array([[0.5, -1.0]]), np.array([[1.0], [2.0]])
    >>> df(w, x)                      # records the graph, then runs the plan
    array([[0.14914645, 0.2982929 ]])
    >>> df(w, 2 * x)                  # same shapes: replayed
    array([[0.09035332, 0.18070664]])
    """

    def __init__(
        self,
        f: Callable[..., Tensor],
        argnums: int | Sequence[int],
        eager: Callable[..., tuple[Any, Any]],
        gradient_only: bool = False,
    ) -> None:
        self.f = f
        self._gradient_only = gradient_only  # al.grad: return the gradient, not the value
        self.single = isinstance(argnums, int)
        self.argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        self._eager = eager
        self._plans: dict[tuple, _Plan | None] = {}
        self._argnums: dict[int, list[int]] = {}  # the argnums' positions, per argument count
        self._last: _Plan | None = None
        self.__name__ = f"replayed_value_and_grad_{getattr(f, '__name__', 'f')}"

    def _positions(self, n: int) -> list[int]:
        for i in self.argnums:
            if not -n <= i < n:
                raise BackwardError(f"grad: argnums {i} is out of range for {n} argument(s)")
        return [i % n for i in self.argnums]

    @property
    def plans(self) -> int:
        """How many signatures are recorded (a graph too large to replay counts too)."""
        return len(self._plans)

    @property
    def sources(self) -> list[str]:
        """The generated Python of each recorded plan, oldest first: the forward ops in the
        order they were recorded, then every vjp the backward pass calls."""
        return [plan.source for plan in self._plans.values() if plan is not None]

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if STATE.anomaly or STATE.depth:  # checked op by op, or part of an outer graph
            return self._run_eagerly(args, kwargs)
        last = self._last  # the plan of the previous call, when it takes arrays only
        if last is not None and len(args) == last.n_args and not kwargs:
            try:
                found = last.run_if_same(*args)
            except _StaleRecording:
                found = MISMATCH
            if found is not MISMATCH:
                return self._result(last, *found)
        argnums = self._argnums.get(len(args))
        if argnums is None:
            argnums = self._argnums[len(args)] = self._positions(len(args))
        signature = _signature(args, argnums, kwargs)
        if signature is None:  # a Tensor of an outer graph among the arguments
            return self._run_eagerly(args, kwargs)
        key, arrays = signature
        plan = self._plans.get(key, False)
        if plan is False:
            plan = self._new_plan(key, args, arrays, argnums, kwargs)
        if plan is None:
            return self._run_eagerly(args, kwargs)
        try:
            value, grads = plan.run(*arrays)
        except _StaleRecording:
            plan = self._new_plan(key, args, arrays, argnums, kwargs)
            if plan is None:
                return self._run_eagerly(args, kwargs)
            value, grads = plan.run(*arrays)
        self._last = plan if plan.arrays_only and not kwargs else None
        return self._result(plan, value, grads)

    def _result(self, plan: _Plan, value: Any, grads: list) -> Any:
        gradient = grads[0] if self.single else tuple(grads)
        if self._gradient_only:
            return gradient
        if plan.root_is_constant:  # f does not depend on its arguments: never hand out ours
            value = value.copy()
        return value, gradient

    def _new_plan(
        self, key: tuple, args: tuple, arrays: Any, argnums: list[int], kwargs: dict
    ) -> _Plan | None:
        try:
            plan = self._record(args, arrays, argnums, kwargs)
        except _Oversized:
            plan = None
        self._plans.pop(key, None)
        if len(self._plans) >= MAX_PLANS:
            del self._plans[next(iter(self._plans))]
        self._plans[key] = plan
        self._last = None
        return plan

    def _run_eagerly(self, args: tuple, kwargs: dict) -> Any:
        value, gradient = self._eager(*args, **kwargs)
        return gradient if self._gradient_only else (value, gradient)

    def _record(self, args: tuple, arrays: list, argnums: list[int], kwargs: dict) -> _Plan:
        inputs = [None if x is None else Tensor(x, requires_grad=True) for x in arrays]
        # Every array argument requires grad while f runs, so that every op that depends on one
        # is recorded (an op on non-differentiated inputs only would otherwise be a constant).
        traced = [a if t is None else t for a, t in zip(args, inputs)]
        watched = _watch_list(self.f)  # what f reads by name, as it is before f runs
        start = next_sequence_number()
        recording, STATE.recording = STATE.recording, True  # (Tensor refuses value reads)
        try:
            with guarding_data():
                out = functional._evaluate(self.f, traced, kwargs)  # (checks: a scalar)
        finally:
            STATE.recording = recording
        return _Plan(out, inputs, argnums, start, watched)


class CheckedReplayedGradient(ReplayedGradient):
    """A :class:`ReplayedGradient` that also runs the eager graph at calls 1, N+1, 2N+1 ...
    (``check_every`` = N) and raises :class:`~autograd_lite.errors.ReplayError` at the first
    bitwise difference, naming the value or the argument gradient that differs. Made by
    ``al.grad(f, replay="check")`` (N = 1) or ``check_every=N``.

    Attributes
    ----------
    calls : int
        How many calls it has seen.
    """

    def __init__(self, *args: Any, check_every: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check_every = check_every
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        result = super().__call__(*args, **kwargs)
        eager = STATE.anomaly or STATE.depth  # then the result is the eager graph's
        if not eager and (self.calls - 1) % self.check_every == 0:
            self._check(result, self._eager(*args, **kwargs))
        return result

    def _check(self, replayed: Any, eager: tuple[Any, Any]) -> None:
        """Raise ReplayError at the first bitwise difference from the eager graph's results."""
        if self._gradient_only:
            replayed = (None, replayed)
        pairs = [("the value", replayed[0], eager[0])] if replayed[0] is not None else []
        grads = [replayed[1]] if self.single else list(replayed[1])
        eager_grads = [eager[1]] if self.single else list(eager[1])
        pairs += [
            (f"the gradient of argument {n}", g, e)
            for n, g, e in zip(self.argnums, grads, eager_grads)
        ]
        for what, got, want in pairs:
            got, want = np.asarray(got), np.asarray(want)
            if (
                got.dtype != want.dtype
                or got.shape != want.shape
                or got.tobytes() != want.tobytes()
            ):
                raise ReplayError(
                    f"replay check (call {self.calls}): {what} replayed differs from the eager "
                    f"graph's ({_difference(got, want)}). f reads something the recording froze: "
                    f"np.random, a list, dict or object changed in place, an attribute of self "
                    f"(see 'Replay' in docs/design.md); use replay=False for this function"
                )
