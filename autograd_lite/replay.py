"""Record a function's graph once as a `Plan`, then replay it: ``al.grad(f, replay=True)``.

Building the graph is most of a small step's cost in Python, and a training step builds the same
graph every time. `record()` runs ``f`` once and keeps its graph as a `Plan`, a
printable IR (one line per op, like a jaxpr or a torch.fx graph). `Plan.interpret()` runs it
step by step: the reference. `Plan.run()` runs it as generated Python (``Plan.source``, in
`linecache`: tracebacks show its lines). Both apply the engine's rules (``call_vjp``,
``fit``, ``accumulate``, ``own``), so results are bitwise the eager graph's. A
`ReplayedGradient` keeps a plan per *signature* (shapes and dtypes of the array
arguments, values of the others). What ``f`` must satisfy (as for ``jax.jit``: ops on the
arguments are autograd_lite ops, none chosen by the values), what the recording guards, records
again or refuses (`ReplayError`), and what only ``replay="check"``
catches is under "Replay" in the design notes.
"""

from __future__ import annotations

import functools
import itertools
import linecache
import re
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_lite.engine import accumulate, call_vjp, fit, own, read_only
from autograd_lite.errors import BackwardError, ReplayError
from autograd_lite.function import Context, as_output
from autograd_lite.modes import STATE, enable_grad
from autograd_lite.tensor import MADE_FROM, Tensor, as_array, guarding_data, next_sequence_number

__all__ = [
    "Plan", "Step", "record", "evaluate", "value_key", "StaleRecording", "OversizedGraph",
    "ReplayedGradient", "CheckedReplayedGradient",
]  # fmt: skip

#: Plans kept per function; a new signature beyond this evicts the oldest (a last, smaller
#: mini-batch makes a second signature, a stream of ever-new shapes must not grow memory).
MAX_PLANS = 8
#: Graphs with more ops than this run eagerly (generating their code costs more than it saves).
MAX_STEPS = 5000
#: At most this many closure cells, globals and defaults are watched per plan (see _watch_list).
MAX_WATCHED = 64
_FILES = itertools.count()  # numbers the generated files for linecache
#: linecache names of plans that are gone, dropped at the next generation: not by the finalizer,
#: which the collector may run while linecache.checkcache iterates over the cache's keys.
_GONE: list[str] = []
_UNSAFE = re.compile(r"\W")


def evaluate(f: Callable, args: Sequence[Any], kwargs: dict, scalar: bool = True) -> Tensor:
    """``f(*args, **kwargs)`` with gradients recorded, checked to return a Tensor (of one
    element if ``scalar``). ``STATE.depth`` counts the grad evaluations running in this thread:
    an inner grad keeps its result in the graph, for an outer one may differentiate through it."""
    STATE.depth += 1
    try:
        with enable_grad():
            out = f(*args, **kwargs)
    finally:
        STATE.depth -= 1
    if not isinstance(out, Tensor):
        raise BackwardError(
            f"grad: the function returned {type(out).__name__}, not a Tensor; build its result "
            f"with autograd_lite ops"
        )
    if scalar and out.data.size != 1:
        raise BackwardError(
            f"grad: the function must return a scalar, it returned shape {out.shape}; "
            f"reduce it (e.g. .sum()) or use Tensor.backward(grad=...)"
        )
    return out


class Step:
    """One recorded op: ``out = op(*slots, **params)``, and the inputs its backward serves."""

    __slots__ = ("op", "slots", "params", "out", "edges", "shapes", "stop", "context", "name")

    def __init__(self, node: Tensor, slots: tuple[int, ...], out: int, k: int) -> None:
        self.op, self.slots, self.out = node._op, slots, out
        self.params: dict[str, Any] = node._params or {}
        self.stop = not node.requires_grad  # under no_grad: recomputed, never differentiated
        self.shapes = tuple(np.shape(a) for a in node._arrays or ()), node.data.shape
        #: (input index, input slot) of each input on a path to a differentiated argument.
        self.edges: tuple[tuple[int, int], ...] = ()
        self.context = isinstance(self.params.get("ctx"), Context)  # an al.Function's
        # e.g. matmul_0: the "_k" keeps it apart from the x0, v6, g6 ... of the values
        self.name = f"{_UNSAFE.sub('_', self.op.name)}_{k}".lstrip("0123456789")

    def fresh_params(self) -> dict[str, Any]:
        """The parameters of one call: an ``al.Function`` gets a new Context at each call."""
        if not self.context:
            return self.params
        needs = tuple(any(e[0] == i for e in self.edges) for i in range(len(self.slots)))
        return {**self.params, "ctx": Context(needs)}


class Plan:
    """One recorded graph, the IR that `interpret()` and the generated code execute: slots
    ``x3`` (argument 3), ``c7`` (a constant), ``v9`` (an op's output; ``g9`` its gradient), and
    one `Step` per op. ``run(*args)`` gives the value and the gradients; ``forward`` the
    value and what ``backward(g, saved)`` needs; ``run_if_same`` is ``run`` for ndarrays of the
    recorded shapes and dtypes (else ``MISMATCH``)."""

    def __init__(
        self, root: Tensor, inputs: Sequence[Tensor | None], wanted: Sequence[int], start: int,
        watched: list[tuple[str, Any, str, Any]],
    ) -> None:  # fmt: skip
        self.watched, self.n_args, self.wanted = watched, len(inputs), list(wanted)
        self.names = [f"x{i}" for i in range(len(inputs))]
        self.shapes: list[tuple[int, ...]] = [() if t is None else t.shape for t in inputs]
        self.dtypes: list[Any] = [None if t is None else t.dtype for t in inputs]
        #: Constants read at each call: (slot, "tensor" | "array" | "converted", object, dtype).
        self.reads: list[tuple[int, str, Any, Any]] = []
        self.values: dict[int, Any] = {}  # the other constants: numbers
        self.steps: list[Step] = []
        self._slot_of = {id(t): i for i, t in enumerate(inputs) if t is not None}
        self._arguments = [t.data for t in inputs if t is not None]
        nodes = _recorded_nodes(root, self._slot_of, start)
        if len(nodes) > MAX_STEPS:
            raise OversizedGraph
        for node in nodes:
            if node._hooks or node._retain:
                raise ReplayError(
                    f"replay: the graph has a hook or retain_grad() on the output of "
                    f"'{node._op.name}' (shape {node.shape}); replay does not rebuild Tensors, "
                    f"so it cannot call hooks. Use replay=False for this function."
                )
            name = node._op.name
            slots = tuple(
                self._slot(a, x, name, start) for a, x in zip(node._args or (), node._arrays or ())
            )
            self._slot_of[id(node)] = out = self._new_slot("v", node.data.shape, node.data.dtype)
            self.steps.append(Step(node, slots, out, len(self.steps)))
        self.root = self._slot(root, root.data, "the result", start)
        self.root_is_constant = self.names[self.root][0] == "c"
        del self._slot_of, self._arguments  # (the recording's Tensors and arrays may go)
        leads = [i in self.wanted for i in range(len(self.names))]  # reaches a wanted gradient
        for step in self.steps:
            if not step.stop:
                step.edges = tuple((i, s) for i, s in enumerate(step.slots) if leads[s])
                leads[step.out] = bool(step.edges)
        self.leads_to_root = leads[self.root]
        self.arrays_only = all(t is not None for t in inputs)
        self.source = self.split_source = ""
        ns = _generate(self)
        self.run: Callable[..., tuple[Any, list[Any]]] = ns["replay"]
        self.run_if_same: Callable[..., Any] | None = ns.get("replay_if_same")
        self.forward: Callable[..., tuple[Any, tuple]] = ns["forward"]
        self.backward: Callable[..., list[Any]] = ns["backward"]

    def _new_slot(self, prefix: str, shape: tuple[int, ...] = (), dtype: Any = None) -> int:
        self.names.append(f"{prefix}{len(self.names)}")
        self.shapes.append(shape)
        self.dtypes.append(dtype)
        return len(self.names) - 1

    def _slot(self, arg: Any, array: Any, op_name: str, start: int) -> int:
        """The slot of an op's input: an argument, an earlier op's output, or a constant."""
        if isinstance(arg, Tensor) and id(arg) in self._slot_of:
            return self._slot_of[id(arg)]
        if isinstance(arg, Tensor):  # made before f ran, or computed from constants only
            slot = self._new_slot("c", arg.data.shape, arg.data.dtype)
            made_from = MADE_FROM.get(arg)
            if made_from is not None and arg._seq >= start:  # al.Tensor(W) inside f: made again
                self.reads.append((slot, "converted", *made_from))
            else:  # a Tensor's data may be replaced between calls
                self.reads.append((slot, "tensor", arg, None))
            return slot
        if isinstance(array, np.ndarray) and any(
            np.shares_memory(array, a) for a in self._arguments
        ):
            raise ReplayError(
                f"replay: '{op_name}' received the data of an argument as a constant (x.data, "
                f"np.asarray(x) or a view of it) instead of the Tensor, so a replay would reuse "
                f"the first call's values; pass the Tensor to the op, or use replay=False"
            )
        slot = self._new_slot("c", np.shape(array), getattr(array, "dtype", None))
        if arg is not array and not isinstance(arg, (bool, int, float, np.generic)):
            # Converted by the op (an int array, a list): again at each call, from the object
            self.reads.append((slot, "converted", arg, None))
        elif isinstance(array, np.ndarray):  # read as it is (its shape may change in place)
            self.reads.append((slot, "array", array, None))
        else:
            self.values[slot] = array
        return slot

    def __repr__(self) -> str:
        def typed(slot: int) -> str:
            shape = ",".join(str(n) for n in self.shapes[slot])
            kind = "?" if self.dtypes[slot] is None else np.dtype(self.dtypes[slot]).str[1:]
            return f"{self.names[slot]}: {kind}[{shape}]"

        def param(v: Any) -> str:
            return getattr(v, "__name__", type(v).__name__) if callable(v) else repr(v)[:40]

        args = [typed(i) if self.dtypes[i] is not None else f"x{i}" for i in range(self.n_args)]
        lines = [f"plan({', '.join(args)}):"]
        lines += [f"  {typed(s)} = {how} {type(o).__name__}" for s, how, o, _ in self.reads]
        lines += [f"  {self.names[s]} = {v!r}" for s, v in self.values.items()]
        for step in self.steps:
            ins = [self.names[s] for s in step.slots]
            ins += [f"{k}={param(v)}" for k, v in step.params.items() if k != "ctx"]
            stop = "  # stop-gradient" if step.stop else ""
            lines.append(f"  {typed(step.out)} = {step.op.name}({', '.join(ins)}){stop}")
        wrt = ", ".join(self.names[i] for i in self.wanted)
        return "\n".join([*lines, f"  return {self.names[self.root]}, grad wrt ({wrt})"])

    def check(self) -> list[Any]:
        """The constants' arrays, read afresh (in ``reads`` order); StaleRecording if one now
        has another shape or dtype, or if a watched name was rebound."""
        for kind, holder, name, value in self.watched:
            now = holder.cell_contents if kind == "cell" else getattr(holder, name, _MISSING) \
                if kind == "attr" else (holder.structure(), holder.versions()) if kind == "tree" \
                else holder.get(name, _MISSING)  # fmt: skip
            if now is not value and not _same_value(now, value):
                raise StaleRecording
        arrays = []
        for slot, how, obj, dtype in self.reads:
            array = obj.data if how == "tensor" else as_array(obj, dtype) if how[0] == "c" else obj
            if array.shape != self.shapes[slot] or array.dtype != self.dtypes[slot]:
                raise StaleRecording
            arrays.append(array)
        return arrays

    def interpret(self, *args: Any, seed: Any = None) -> tuple[Any, list[Any]]:
        """Run the plan step by step (the reference for `run()`): the value, and the
        gradient of each wanted argument (seeded with ones, or ``seed``)."""
        env: list[Any] = [*args, *[None] * (len(self.names) - self.n_args)]
        constants = [*zip([slot for slot, *_ in self.reads], self.check()), *self.values.items()]
        for slot, value in constants:
            env[slot] = value
        params = [step.fresh_params() for step in self.steps]
        for step, p in zip(self.steps, params):
            out = step.op.forward(*[env[s] for s in step.slots], **p)
            env[step.out] = out if out.__class__ is np.ndarray else as_output(out)
        value = env[self.root]
        grads: list[Any] = [None] * len(env)
        if self.leads_to_root:
            grads[self.root] = np.ones(value.shape, value.dtype) if seed is None else seed
        for step, p in zip(reversed(self.steps), reversed(params)):
            g = grads[step.out]
            if g is None or not step.edges:
                continue
            g = g if step.op.trusted else read_only(g)
            inputs = tuple(env[s] for s in step.slots)
            for i, slot in step.edges:
                gi = call_vjp(step.op, i, g, env[step.out], inputs, p)
                if gi is not None:
                    gi = fit(gi, step.op, i, self.shapes[slot], self.dtypes[slot], step.shapes[1])
                    grads[slot] = accumulate(grads[slot], gi)
        handed_out: set[int] = set()
        return value, [
            np.zeros_like(args[i]) if grads[i] is None else own(grads[i], handed_out)
            for i in self.wanted
        ]


def _generate(plan: Plan) -> dict[str, Any]:
    """The plan as Python (`Plan.interpret()`'s loops unrolled, the values in locals):
    written, compiled and registered; sets ``plan.source`` (``run``'s code) and
    ``plan.split_source`` (``forward`` and ``backward``'s)."""
    ns: dict[str, Any] = {
        "ndarray": np.ndarray, "fit": fit, "accumulate": accumulate, "own": own,
        "call_vjp": call_vjp, "read_only": read_only, "zeros_like": np.zeros_like,
        "as_output": as_output, "MISMATCH": MISMATCH, "plan": weakref.proxy(plan),
        "seed_dtype": plan.dtypes[plan.root],
        "ones": np.ones if plan.shapes[plan.root] else lambda _, dtype: np.array(1, dtype),
    }  # fmt: skip
    names = plan.names
    args, root = ", ".join(names[: plan.n_args]), names[plan.root]
    reads = "".join(f"c{slot}, " for slot, *_ in plan.reads)
    head = [f"    {reads}= plan.check()"] if reads else ["    plan.check()"] * bool(plan.watched)
    ns.update((names[slot], value) for slot, value in plan.values.items())
    forward, backward = _forward_code(plan, ns), _backward_code(plan, ns)
    saved = {names[s] for step in plan.steps if step.edges for s in (*step.slots, step.out)}
    saved |= {f"p{k}_" for k, step in enumerate(plan.steps) if step.context and step.edges}
    saved_tuple = "(" + "".join(f"{name}, " for name in sorted(saved)) + ")"
    returned = ", ".join(
        f"zeros_like(x{i}) if g{i} is None else own(g{i}, handed_out)" for i in plan.wanted
    )
    seed = f"ones({plan.shapes[plan.root]}, seed_dtype)" if plan.leads_to_root else "None"
    lines = [f"def replay({args}):", *head, *forward, f"    value = {root}"]
    lines += ["    # backward: each op's vjps, newest op first", f"    g{plan.root} = {seed}"]
    lines += [*backward, "    handed_out = set()", f"    return value, [{returned}]"]
    shown = len(lines)
    lines += [f"def forward({args}):", *head, *forward, f"    return {root}, {saved_tuple}"]
    lines += [f"def backward(g{plan.root}, saved):", f"    {saved_tuple} = saved", *backward]
    lines.append(f"    return [{', '.join(f'g{i}' for i in plan.wanted)}]")
    split = len(lines)
    if plan.arrays_only:
        lines.append(f"def replay_if_same({args}):")
        for i in range(plan.n_args):
            ns[f"d{i}"] = plan.dtypes[i]
            lines.append(
                f"    if x{i}.__class__ is not ndarray or x{i}.shape != {plan.shapes[i]} "
                f"or x{i}.dtype is not d{i}: return MISMATCH"
            )
        lines.append(f"    return replay({args})")
    source = "".join(line + "\n" for line in lines)
    filename = f"<replay-{next(_FILES)}: {len(plan.steps)} ops>"
    while _GONE:
        linecache.cache.pop(_GONE.pop(), None)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    weakref.finalize(plan, _GONE.append, filename)
    exec(compile(source, filename, "exec"), ns)  # noqa: S102 - our own code, see .source
    plan.source, plan.split_source = ("".join(f"{line}\n" for line in part) for part in
                                      (lines[:shown], lines[shown:split]))  # fmt: skip
    return ns


def _forward_code(plan: Plan, ns: dict[str, Any]) -> list[str]:
    names = plan.names
    lines = ["    # forward, in the order the ops were recorded"]
    for k, step in enumerate(plan.steps):
        ns[step.name], out = step.op.forward, names[step.out]
        shapes = " ".join(str(s) for s in step.shapes[0])
        lines.append(f"    # {step.op.name}: {shapes} -> {step.shapes[1]}")
        args = [names[j] for j in step.slots]
        if step.context:  # a fresh Context per call, shared by forward and backward
            ns[f"step{k}"] = step
            lines.append(f"    p{k}_ = step{k}.fresh_params()")
            args.append(f"**p{k}_")
        elif step.params:
            ns[f"p{k}"] = step.params
            args.append(f"**p{k}")
        lines.append(f"    {out} = {step.name}({', '.join(args)})")
        if not step.op.trusted or not step.shapes[1]:  # (NumPy gives 0-d results as scalars)
            lines.append(f"    if {out}.__class__ is not ndarray: {out} = as_output({out})")
    return lines


def _backward_code(plan: Plan, ns: dict[str, Any]) -> list[str]:
    names = plan.names
    reached = [i == plan.root and plan.leads_to_root for i in range(len(names))]
    body: list[str] = []
    sep = "\n        "  # (a new line in the body of an "if g is not None:")
    for k in reversed(range(len(plan.steps))):
        step = plan.steps[k]
        if not step.edges or not reached[step.out]:
            continue
        op, out, g = step.op, names[step.out], f"g{step.out}"
        params = f"p{k}_" if step.context else f"p{k}" if step.params else ""
        ins, ns[f"op{k}"] = ", ".join(names[j] for j in step.slots), op
        body.append(f"    if {g} is not None:  # {op.name}")
        if not op.trusted:  # the engine's call_vjp: a read-only g, errors explained
            body.append(f"        g_ = read_only({g})")
        for i, slot in step.edges:
            shape, dtype, target = plan.shapes[slot], f"d{slot}", f"g{slot}"
            ns[dtype] = plan.dtypes[slot]
            fitted = f"gi = fit(gi, op{k}, {i}, {shape}, {dtype}, {step.shapes[1]})"
            summed = f"{target} = {f'accumulate({target}, gi)' if reached[slot] else 'gi'}"
            if op.trusted:  # a built-in vjp (never None), called as call_vjp calls it
                ns[f"{step.name}_vjp{i}"], kw = op.vjps[i], f", **{params}" if params else ""
                call = f"{step.name}_vjp{i}({g}, {out}, {ins}{kw})"
                then = f"if gi.shape != {shape} or gi.dtype is not {dtype}: {fitted}{sep}{summed}"
            else:
                call = f"call_vjp(op{k}, {i}, g_, {out}, ({ins},), {params or '{}'})"
                then = f"if gi is not None:{sep}    {fitted}{sep}    {summed}"
            body += [f"        gi = {call}", f"        {then}"]
            reached[slot] = True
        body.append(f"        {out} = None  # no earlier op's vjp reads it: free it now")
    unset = [
        f"g{i} = " for i, r in enumerate(reached) if (r or i in plan.wanted) and i != plan.root
    ]
    return ["    " + "".join(unset) + "None"] * bool(unset) + body


def record(
    f: Callable[..., Tensor], args: Sequence[Any], argnums: int | Sequence[int] = 0,
    kwargs: dict | None = None, inputs: Sequence[Tensor | None] | None = None, scalar: bool = True,
) -> Plan:  # fmt: skip
    """Run ``f(*args, **kwargs)`` once and return its graph as a `Plan` that computes
    the gradients of the arguments ``argnums`` (of a one-element result if ``scalar``).
    ``inputs``: the Tensors that stand for the arguments while ``f`` runs (None for those taken
    as they are); by default the array arguments and ``argnums``, requiring grad, so that
    every op that depends on one is recorded. What it would freeze raises ReplayError. (An
    example: the API page of this module.)"""
    nums = [argnums] if isinstance(argnums, int) else list(argnums)
    if inputs is None:
        followed = [i in nums or isinstance(a, (np.ndarray, Tensor)) for i, a in enumerate(args)]
        inputs = [Tensor(as_array(a), True) if y else None for a, y in zip(args, followed)]
    traced = [a if t is None else t for a, t in zip(args, inputs)]
    watched = _watch_list(f)  # what f reads by name, as it is before f runs
    start = next_sequence_number()
    recording, STATE.recording = STATE.recording, True  # (Tensor refuses value reads)
    try:
        with guarding_data():
            out = evaluate(f, traced, kwargs or {}, scalar)
    finally:
        STATE.recording = recording
    return Plan(out, inputs, [n % len(args) for n in nums], start, watched)


MISMATCH = object()  # what a plan's guarded entry returns for arguments it was not made for
_MISSING = object()  # a global deleted since the recording
_VALUE = object()  # in a signature, marks an argument taken by value
_VALUE_TYPES = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)


class OversizedGraph(Exception):
    """The graph has more than ``MAX_STEPS`` ops: it runs eagerly."""


class StaleRecording(Exception):
    """The recording no longer describes ``f`` (a watched name rebound): record it again."""


def _same_value(a: Any, b: Any) -> bool:
    """Whether ``a``, rebound in place of ``b``, changes nothing: the same object, or an
    immutable value of the same type and the same bits (``-0.0`` is not ``0.0``)."""
    if a is b or a.__class__ is not b.__class__ or not isinstance(a, _VALUE_TYPES):
        return a is b
    if isinstance(a, (tuple, frozenset)):
        return len(a) == len(b) and all(map(_same_value, a, b))
    return bool(value_key(a) == value_key(b))


def _watch_list(f: Any) -> list[tuple[str, Any, str, Any]]:
    """What ``f`` reads by name and a replay would otherwise freeze: its closure cells, the
    globals its code names (nested code included; attribute names too: watching one costs a
    lookup, never a wrong answer), its defaults, and those of the plain Python functions it
    reaches through them (not the library's); and the tree of each ``nn.Module`` among them or
    bound as ``self``. Each is ``(kind, holder, name, object now)``."""
    watched: dict[tuple[int, str], tuple[str, Any, str, Any]] = {}
    seen: set[int] = set()
    todo = [f]
    while todo and len(watched) < MAX_WATCHED:
        fn = todo.pop()
        method, fn = fn, getattr(fn, "__func__", fn)  # a bound method: its function, and self
        if isinstance(fn, functools.partial):
            todo.append(fn.func)
            continue
        code = getattr(fn, "__code__", None)
        if code is None and callable(fn) and not _is_library(type(fn)):
            todo.append(type(fn).__call__)  # an object with a __call__ in Python
        if code is None or id(fn) in seen or not hasattr(fn, "__globals__"):
            continue
        seen.add(id(fn))
        holders = ((fn, "__defaults__"), (fn, "__kwdefaults__"), (method, "__self__"))
        found: list[Any] = [("attr", h, n, getattr(h, n, None)) for h, n in holders]
        found = [entry for entry in found if entry[3] is not None]
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                found.append(("cell", cell, name, cell.cell_contents))
            except ValueError:  # not yet bound
                continue
        space, codes, names = fn.__globals__, [code], []
        while codes:  # the names that code and the code nested in it may read as globals
            names += codes[-1].co_names
            codes += [k for k in codes.pop().co_consts if hasattr(k, "co_names")]
        found += [("global", space, n, space[n]) for n in dict.fromkeys(names) if n in space]
        for entry in found:
            value = entry[3]
            if hasattr(value, "versions") and not isinstance(value, type):  # an nn.Module (self
                tree = (value.structure(), value.versions())  # too): layers, parameters rebound
                watched.setdefault((id(value), "tree"), ("tree", value, "", tree))
            if callable(value) and hasattr(value, "__code__") and not _is_library(value):
                todo.append(value)
            if entry[2] != "__self__":  # (self: its tree only, when it is a module)
                watched.setdefault((id(entry[1]), entry[2]), entry)
    return list(watched.values())[:MAX_WATCHED]


def _is_library(fn: Any) -> bool:
    """autograd_lite's and NumPy's own functions and classes: their globals are not the user's."""
    module = getattr(fn, "__module__", None) or ""
    return module.split(".")[0] in ("autograd_lite", "numpy", "builtins")


def _recorded_nodes(root: Tensor, inputs: dict[int, int], start: int) -> list[Tensor]:
    """The tensors behind ``root`` made while ``f`` ran (``_seq >= start``), oldest first."""
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
        stack.extend(a for a in t._args or () if isinstance(a, Tensor))
    return sorted(found.values(), key=lambda t: t._seq)


def value_key(value: Any) -> Any:
    """An argument taken by value, as a signature holds it: with its type (``1``, ``1.0``,
    ``True`` and ``np.float64(1)`` are equal in Python, not to NumPy's type promotion) and, for
    floats, its bits (``-0.0 == 0.0``, but ``x * -0.0`` is not ``x * 0.0``)."""
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return value.__class__, repr(value)
    if value.__class__ is tuple:
        return tuple, tuple(value_key(v) for v in value)
    return value.__class__, value


def _signature(args: tuple, argnums: Sequence[int], kwargs: dict) -> tuple[tuple, list] | None:
    """What must be equal for a plan to be reused -- the shapes and dtypes of the arrays, the
    values of the rest -- and the arrays (None for the other arguments). None when an argument
    is a Tensor of an outer graph: then the call runs eagerly."""
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
            key += [_VALUE, value_key(a)]
            arrays.append(None)
            continue
        key += [array.shape, array.dtype]
        arrays.append(array)
    if kwargs:
        key.append(tuple((k, value_key(v)) for k, v in sorted(kwargs.items())))
    try:
        hash(tuple(key))
    except TypeError:
        raise ReplayError(
            "replay: every argument must be an array (or array-like) or a hashable constant; "
            f"got types {[type(a).__name__ for a in args]} and keywords {sorted(kwargs)}"
        ) from None
    return tuple(key), arrays


class ReplayedGradient:
    """``value_and_grad(f, argnums)`` that records ``f``'s graph once per signature and replays it.

    Made by ``al.value_and_grad(f, argnums, replay=True)`` and ``al.grad(..., replay=True)``
    (see `autograd_lite.replay`). It returns what the eager function would, bitwise. The
    differentiated arguments may be anything array-like; of the others, floating-point arrays
    and Tensors are followed, and the rest (keywords too) are hashable constants of the
    recording: another value makes another recording. ``plans`` counts the recorded signatures
    (at most ``MAX_PLANS``), ``sources`` shows their code.

    >>> import numpy as np, autograd_lite as al
    >>> df = al.grad(lambda w, x: al.sigmoid(w @ x).sum(), replay=True)
    >>> w, x = np.array([[0.5, -1.0]]), np.array([[1.0], [2.0]])
    >>> df(w, x)                      # records the graph, then runs the plan
    array([[0.14914645, 0.2982929 ]])
    >>> df(w, 2 * x)                  # same shapes: replayed
    array([[0.09035332, 0.18070664]])
    """

    def __init__(
        self,
        f: Callable,
        argnums: int | Sequence[int],
        eager: Callable,
        gradient_only: bool = False,
    ) -> None:
        self.f, self._eager, self._gradient_only = f, eager, gradient_only
        self.single = isinstance(argnums, int)
        self.argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        self._plans: dict[tuple, Plan | None] = {}
        self._argnums: dict[int, list[int]] = {}  # the argnums' positions, per argument count
        self._last: Plan | None = None  # the plan of the previous call, when it took arrays only
        self.__name__ = f"replayed_value_and_grad_{getattr(f, '__name__', 'f')}"

    plans = property(lambda self: len(self._plans), doc="How many signatures are recorded.")

    @property
    def sources(self) -> list[str]:
        """The generated Python of each recorded plan, oldest first."""
        return [plan.source for plan in self._plans.values() if plan is not None]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if STATE.anomaly or STATE.depth:  # checked op by op, or part of an outer graph
            return self._run_eagerly(args, kwargs)
        last = self._last
        if last is not None and last.run_if_same and len(args) == last.n_args and not kwargs:
            try:
                found = last.run_if_same(*args)
            except StaleRecording:
                found = MISMATCH
            if found is not MISMATCH:
                return self._result(last, *found)
        n = len(args)
        if n not in self._argnums:
            if not all(-n <= i < n for i in self.argnums):  # the eager function's error
                return self._run_eagerly(args, kwargs)
            self._argnums[n] = [i % n for i in self.argnums]
        signature = _signature(args, self._argnums[n], kwargs)
        if signature is None:  # a Tensor of an outer graph among the arguments
            return self._run_eagerly(args, kwargs)
        key, arrays = signature
        plan = self._plans[key] if key in self._plans else self._new_plan(key, args, arrays, kwargs)
        try:
            found = plan.run(*arrays) if plan else None
        except StaleRecording:
            plan = self._new_plan(key, args, arrays, kwargs)
            found = plan.run(*arrays) if plan else None
        if plan is None or found is None:
            return self._run_eagerly(args, kwargs)
        self._last = plan if plan.arrays_only and not kwargs else None
        return self._result(plan, *found)

    def _result(self, plan: Plan, value: Any, grads: list) -> Any:
        gradient = grads[0] if self.single else tuple(grads)
        if self._gradient_only:
            return gradient
        return (value.copy() if plan.root_is_constant else value), gradient  # (never ours)

    def _new_plan(self, key: tuple, args: tuple, arrays: list, kwargs: dict) -> Plan | None:
        inputs = [None if x is None else Tensor(x, requires_grad=True) for x in arrays]
        try:
            plan: Plan | None = record(self.f, args, self._argnums[len(args)], kwargs, inputs)
        except OversizedGraph:
            plan = None
        self._plans.pop(key, None)
        if len(self._plans) >= MAX_PLANS:
            del self._plans[next(iter(self._plans))]
        self._plans[key], self._last = plan, None
        return plan

    def _run_eagerly(self, args: tuple, kwargs: dict) -> Any:
        value, gradient = self._eager(*args, **kwargs)
        return gradient if self._gradient_only else (value, gradient)


class CheckedReplayedGradient(ReplayedGradient):
    """A `ReplayedGradient` that also runs the eager graph at calls 1, N+1, 2N+1 ...
    (``check_every`` = N) and raises [`ReplayError`][autograd_lite.errors.ReplayError] at the first
    bitwise difference, naming the value or the argument gradient that differs. Made by
    ``al.grad(f, replay="check")`` (N = 1) or ``check_every=N``; ``calls`` counts the calls.
    """

    def __init__(self, *args: Any, check_every: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check_every, self.calls = check_every, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        result = super().__call__(*args, **kwargs)
        if not (STATE.anomaly or STATE.depth) and (self.calls - 1) % self.check_every == 0:
            self._check(result, self._eager(*args, **kwargs))
        return result

    def _check(self, replayed: Any, eager: tuple[Any, Any]) -> None:
        value, grads = (None, replayed) if self._gradient_only else replayed
        pairs = [("the value", value, eager[0])] if value is not None else []
        grads, wants = ([grads], [eager[1]]) if self.single else (grads, eager[1])
        pairs += zip((f"the gradient of argument {n}" for n in self.argnums), grads, wants)
        for what, got, want in pairs:
            got, want = np.asarray(got), np.asarray(want)
            how = f"{got.dtype}{list(got.shape)} against {want.dtype}{list(want.shape)}"
            if got.dtype == want.dtype and got.shape == want.shape:
                if got.tobytes() == want.tobytes():
                    continue
                with np.errstate(all="ignore"):
                    diff = np.abs(got.astype(np.float64) - want.astype(np.float64)).max(initial=0)
                how = f"largest difference {diff:.3g} over shape {got.shape}"
            raise ReplayError(
                f"replay check (call {self.calls}): {what} replayed differs from the eager "
                f"graph's ({how}). f reads something the recording froze: np.random, a list, "
                f"dict or object changed in place, an attribute of self (see 'Replay' in "
                f"docs/design.md); use replay=False for this function"
            )
