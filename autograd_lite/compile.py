"""``al.compile(fn_or_module)``: the recorded graph of a forward as ONE fused op.

The first call for each input signature (the shapes, dtypes and ``requires_grad`` of the Tensor
and array arguments, the values of the others, and a module's parameters) records ``fn`` with
`autograd_lite.replay.record()`, under replay's guards. Every call then runs one node: its
forward is the plan's generated forward code, its vjp the plan's generated backward (the design
of AOTAutograd). The result is an ordinary Tensor, so a compiled module drops into the usual
loop unchanged (``loss = cost(model(x), y); loss.backward(); opt.step()``): the parameters are
arguments of the fused node, read at every call (an optimizer's in-place updates are seen), and
their gradients are bitwise those of the eager graph, for the node runs the same vjps in the
same order through the engine's rules. What replay records again (a watched name rebound, a
constant of another shape) is recorded again here; what it refuses (a value read out of the
graph, a hook) makes the call run eagerly, the reason kept in ``fallback_reason``
(``fullgraph=True`` raises it instead). Under ``detect_anomaly`` or inside ``al.grad`` the
function runs eagerly. A module's attribute rebound (the training mode, Dropout's ``p``) makes
it record again; Tensors from outside ``fn`` that require grad (a closure over a model) are
inputs of the fused node, so they get their gradients as eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_lite import replay
from autograd_lite.errors import AutogradLiteError, ReplayError
from autograd_lite.function import EachInput, Primitive
from autograd_lite.modes import CURRENT, DEFAULT, STATE
from autograd_lite.tensor import Tensor

__all__ = ["compile", "Compiled"]


class _Call:
    """One call of the fused node: its plan, and what it keeps for its backward (the one
    parameter of the node: a single keyword costs the engine less than four, every call)."""

    __slots__ = ("plan", "where", "spots", "saved", "grads", "grads_for")

    def __init__(self, plan: replay.Plan, where: dict, spots: Any) -> None:
        self.plan, self.where, self.spots = plan, where, spots
        self.saved: tuple = ()
        self.grads: list[Any] = []
        self.grads_for: Any = None


def _fused_forward(*arrays: Any, call: _Call) -> Any:
    if call.spots is not None:  # arguments taken by value are constants of the plan
        xs: list[Any] = [None] * call.plan.n_args
        for spot, array in zip(call.spots, arrays):
            xs[spot] = array
        arrays = tuple(xs)
    value, call.saved = call.plan.forward(*arrays)
    return value


def _fused_vjp(index: int, g: Any, out: Any, inputs: tuple, call: _Call) -> Any:
    if call.grads_for is not g:  # the whole recorded backward, once per upstream gradient
        call.grads, call.grads_for = call.plan.backward(g, call.saved), g
    return call.grads[call.where[index]]


FUSED = Primitive("compiled", _fused_forward, EachInput(_fused_vjp), differentiable=False)


def _key(value: Any) -> Any:
    """How an argument enters the signature."""
    if isinstance(value, Tensor):
        return Tensor, value.shape, value.dtype, value.requires_grad
    if value.__class__ is np.ndarray and value.dtype.kind == "f":
        return np.ndarray, value.shape, value.dtype
    return replay.value_key(value)


class Compiled:
    """A function or module compiled by `compile()`; call it as the original.

    Attributes
    ----------
    fallback_reason : str or None
        Why the last call ran eagerly (None when it ran the fused node).
    plans : int
        How many signatures are recorded.
    source : str
        The generated code of the last plan run.
    """

    def __init__(self, fn: Callable[..., Any], fullgraph: bool = False) -> None:
        self.fn, self.fullgraph = fn, fullgraph
        #: Whose parameters, tree and versions are read: the module, or the module whose bound
        #: method ``fn`` is (``al.compile(model.forward)``).
        self.owner = getattr(fn, "__self__", fn) if hasattr(fn, "__func__") else fn
        self.fallback_reason: str | None = None
        #: Per signature: (plan, {fused input: gradient position}, the arguments' positions
        #: among the plan's when some are taken by value, {outside Tensor that requires grad:
        #: its shape and dtype}), or why it runs eagerly.
        self._plans: dict[tuple, tuple[replay.Plan, dict, Any, dict] | str] = {}
        self._last: replay.Plan | None = None
        #: The tree (``structure()``) and its parameters when last walked: an ``nn.Module``
        #: returns a new tuple after any attribute of a module is rebound, so the same tuple
        #: means the same parameters and attributes (the parameters' ``requires_grad``,
        #: shapes and dtypes are read every call).
        self._tree: Any = None
        self._all_parameters: list[Any] = []
        #: Why it runs eagerly for good: its forward binds module attributes.
        self._binds = ""
        #: Its ``versions()`` (the training mode, hyper-parameters ...), read with the tree.
        self._tree_versions: Any = None

    @property
    def plans(self) -> int:
        return len(self._plans)

    @property
    def source(self) -> str:
        return "" if self._last is None else self._last.split_source

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        modes = CURRENT.get(DEFAULT)
        if modes.anomaly or modes.depth or modes.recording:
            return self._eager("detect_anomaly, al.grad or a recording is running", args, kwargs)
        if self._binds:
            return self._eager(self._binds, args, kwargs)
        structure = self._structure()
        if structure is None or structure is not self._tree:  # the tree changed: walk it again
            self._tree, self._all_parameters = structure, self._parameters()
            self._tree_versions = self._versions()
        params = [p for p in self._all_parameters if p.requires_grad]
        # (built with list comprehensions and hashed once, by the lookup: this runs every step)
        key = (
            tuple([_key(a) for a in args]),
            tuple([(k, _key(v)) for k, v in sorted(kwargs.items())]) if kwargs else (),
            tuple([(id(p), p.data.shape, p.data.dtype) for p in params]),
            structure,
            self._tree_versions,
        )
        try:
            entry = self._plans.get(key)
        except TypeError:
            return self._eager("an argument is neither an array nor hashable", args, kwargs)
        for _ in range(2):  # a stale recording is recorded once more
            if entry is None:
                entry = self._record(key, args, kwargs, params)
            if isinstance(entry, str):
                return self._eager(entry, args, kwargs)
            plan, where, spots, lifted = entry
            if lifted and any(  # an outside Tensor changed: record again
                t.requires_grad is not True or (t.data.shape, t.data.dtype) != signature
                for t, signature in lifted.items()
            ):
                entry = None
                continue
            inputs = (*args, *params, *lifted)
            inputs = inputs if spots is None else tuple([inputs[i] for i in spots])
            try:
                out = FUSED(*inputs, call=_Call(plan, where, spots))
            except replay.StaleRecording:
                entry = None
                continue
            self._last, self.fallback_reason = plan, None
            return out
        return self._eager("the recording went stale twice in a row", args, kwargs)

    def _parameters(self) -> list[Any]:
        """A module's parameters now: ``parameters()`` (an ``nn.Module`` caches the list and
        walks its tree again only after a change, so a parameter rebound, added or removed
        anywhere is seen), else ``named_parameters()``, else none."""
        fn = self.owner
        walk = getattr(fn, "parameters", None)
        if callable(walk):
            return list(walk())
        named = getattr(fn, "named_parameters", None)
        return [p for _, p in named()] if callable(named) else []

    def _structure(self) -> Any:
        """A module's tree (``structure()`` of an ``nn.Module``: a new tuple after any layer is
        added, removed or replaced, with or without parameters, or a parameter rebound), else
        None."""
        return self._ask("structure")

    def _versions(self) -> Any:
        """A module's ``versions()``: what changes when an attribute its forward may read (the
        training mode, a hyper-parameter) is bound to another value; else None."""
        return self._ask("versions")

    def _ask(self, name: str) -> Any:
        method = getattr(self.owner, name, None)
        return method() if callable(method) else None

    def _record(self, key: tuple, args: tuple, kwargs: dict, params: list) -> Any:
        entry = self._recorded(args, kwargs, params, [])
        if self._tree is not None and self._versions() != self._tree_versions:
            # (every call would be recorded again: it runs eagerly from now on)
            entry = self._binds = (
                "the forward binds attributes of its modules (e.g. self.last = out), so every "
                "call would be another recording"
            )
        if not isinstance(entry, str):  # Tensors from outside fn that require grad (a closure
            # over a model, a bound method's self): inputs of the fused node too, as eagerly
            reads = [t for _, how, t, _ in entry[0].reads if how == "tensor" and t.requires_grad]
            lifted = [t for t in reads if all(t is not p for p in params)]
            if lifted:
                entry = self._recorded(args, kwargs, params, lifted)
        if len(self._plans) >= replay.MAX_PLANS:
            del self._plans[next(iter(self._plans))]
        self._plans[key] = entry
        return entry

    def _recorded(self, args: tuple, kwargs: dict, params: list, lifted: list) -> Any:
        """A recording of fn as (plan, {fused input: gradient position}, the inputs' positions
        among the plan's when some arguments are taken by value, ``lifted``), or why not."""
        n = len(args)
        inputs: list[Tensor | None] = [
            Tensor(a.data if isinstance(a, Tensor) else a, requires_grad=True)
            if _key(a)[0] in (Tensor, np.ndarray)
            else None
            for a in args
        ]
        traced = [*inputs, *params, *lifted]
        wanted = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        wanted += range(n, len(traced))
        fn = self.fn

        def run(*xs: Any, **kw: Any) -> Any:
            return fn(*xs[:n], **kw)

        # The recording runs fn once more than the caller asked: what it draws from the
        # modules' generators (Dropout's rng) is drawn again by the call that follows, so the
        # masks are the eager ones, bitwise.
        generators = [v for m in self._tree or () for v in vars(m).values()
                      if isinstance(v, np.random.Generator)]  # fmt: skip
        states = [g.bit_generator.state for g in generators]
        try:
            plan = replay.record(run, (*args, *params, *lifted), wanted, kwargs, traced, False)
        except (AutogradLiteError, replay.OversizedGraph) as error:
            if self.fullgraph:
                raise
            return f"{type(error).__name__}: {error}"
        finally:
            for g, state in zip(generators, states):
                g.bit_generator.state = state
        spots = [i for i, t in enumerate(traced) if t is not None]
        where = {k: plan.wanted.index(i) for k, i in enumerate(spots) if i in plan.wanted}
        signatures = {t: (t.data.shape, t.data.dtype) for t in lifted}
        return plan, where, None if len(spots) == plan.n_args else spots, signatures

    def _eager(self, reason: str, args: tuple, kwargs: dict) -> Any:
        if self.fullgraph and not (STATE.anomaly or STATE.depth or STATE.recording):
            raise ReplayError(f"compile(fullgraph=True): {reason}")
        self.fallback_reason = reason
        return self.fn(*args, **kwargs)


def compile(fn_or_module: Callable[..., Any], fullgraph: bool = False) -> Compiled:  # noqa: A001
    """Compile a function of Tensors, or a module, into one fused op per input signature.

    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn
    >>> model = al.compile(nn.Sequential(nn.Linear(3, 2, seed=0), nn.Sigmoid()))
    >>> loss = al.quadratic_cost(model(np.ones((4, 3))), np.zeros((4, 2)))
    >>> loss.backward()
    >>> model.fallback_reason is None, model.fn.layers[0].weight.grad.shape
    (True, (2, 3))
    """
    return Compiled(fn_or_module, fullgraph)
