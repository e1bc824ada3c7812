"""Parameters as arguments: `functional_call` (``torch.func``'s contract) and a
`grad` / `value_and_grad` that differentiate with respect to a dict of them.

``functional_call(module, params, x)`` runs ``module(x)`` with some of its parameters and
buffers temporarily replaced by the values of ``params`` (a mapping from the dotted names of
``module.named_parameters()`` / ``named_buffers()`` to Tensors or arrays), and puts the
originals back afterwards, even when the forward pass raises. The output's graph then leads to
the Tensors of ``params``, so a loss can be differentiated with respect to them as with any
function of its arguments:

```python
params = {name: p.data for name, p in model.named_parameters()}
grads = al.func.grad(lambda p: cost(al.func.functional_call(model, p, x), y))(params)
```

gives, bitwise, the ``p.grad`` that ``cost(model(x), y).backward()`` leaves (``grads`` is a
dict with the keys of ``params``).

Which attributes are replaced
-----------------------------
Every place in the module tree that holds the *original object* of a named parameter or buffer:
an attribute, or an item of a list, tuple or dict attribute (the places where ``Module`` looks
for parameters). A weight tied between two layers is one object, so giving it under its name
replaces it in both layers (``torch.func``'s ``tie_weights=True``). Containers are never
modified: a list that holds a replaced parameter is swapped for a changed copy while the call
runs. A replaced parameter is the given Tensor itself (an array becomes a constant Tensor), so
during the call ``module.parameters()`` does not list it: it is not a ``Parameter``.

Threads: each call holds a re-entrant lock of every module of the tree while the parameters
are replaced, so two threads calling ``functional_call`` on modules that share layers run one
after the other and never leave another thread's values behind. A plain ``module(x)`` running
in another thread at the same time sees the replaced values, as in PyTorch.

This module sits beside ``nn`` in the layers of the design: it knows a module only by its
``named_parameters()`` (and, when present, ``named_buffers()`` and ``named_modules()``).
"""

from __future__ import annotations

import copy
import difflib
import itertools
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple

import numpy as np

from autograd_lite import functional
from autograd_lite.errors import InvalidInputError, ShapeError
from autograd_lite.tensor import Tensor, as_array

__all__ = ["functional_call", "grad", "value_and_grad"]


def functional_call(
    module: Any,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *args: Any,
    strict: bool = False,
    **kwargs: Any,
) -> Any:
    """Call ``module(*args, **kwargs)`` with parameters and buffers taken from ``params``.

    Parameters
    ----------
    module : autograd_lite.nn.Module
        Anything with ``named_parameters()``; ``named_buffers()`` and ``named_modules()`` are
        used when it has them.
    params : mapping of str to Tensor or array_like, or a sequence of such mappings
        Keys: names from ``module.named_parameters()`` or ``module.named_buffers()``
        (``"0.weight"``); a sequence of mappings is merged (a name may appear in one of them
        only, as in PyTorch). A parameter's value is used as it is when it is a Tensor (its
        graph is kept: this is what makes the result differentiable with respect to it), or
        becomes a constant Tensor; a buffer's value is used as an ndarray (a Tensor's
        ``data``), so in-place updates of running statistics write into the array given, as in
        PyTorch. Each value must have the shape of what it replaces. Names not given keep the
        module's own values.
    *args, **kwargs
        Passed to ``module``. ``torch.func``'s forms are understood too: one tuple is the
        positional arguments (``functional_call(m, p, (x, mask))``); a dict after one argument
        or a tuple is the keywords (``functional_call(m, p, x, {"shift": 1.0})``); ``args=`` and
        ``kwargs=`` by name.
    strict : bool, default False
        Require a value for every parameter and buffer.

    Returns
    -------
    Any
        What ``module(*args, **kwargs)`` returns.

    Raises
    ------
    autograd_lite.errors.InvalidInputError
        ``module`` has no ``named_parameters()``, ``params`` is not a mapping, a key names no
        parameter or buffer (the message lists close names; unlike PyTorch, an unknown key is
        never ignored), a value is not numeric, or ``strict=True`` and names are missing.
    autograd_lite.errors.ShapeError
        A value has another shape than the parameter or buffer it replaces.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn
    >>> layer = nn.Linear(2, 1, seed=0)
    >>> w = al.Tensor([[1.0, 2.0]], requires_grad=True)
    >>> out = al.func.functional_call(layer, {"weight": w, "bias": np.zeros(1)}, np.ones((1, 2)))
    >>> out.sum().backward()
    >>> w.grad, layer.weight.grad
    (array([[1., 1.]]), None)
    """
    if not callable(getattr(module, "named_parameters", None)):
        raise InvalidInputError(
            f"functional_call: expected an autograd_lite.nn.Module (anything with "
            f"named_parameters()), got {type(module).__name__}"
        )
    args, kwargs = _call_form(args, kwargs)
    params = _merged(params)
    owners = _modules(module)
    with _locked(owners):
        with _originals_visible(owners):  # inside another functional_call of these modules
            parameters, buffers = _named(module)
        originals = _checked(module, parameters, buffers, params, strict)
        # What is in the attributes now: the original, or an enclosing call's replacement.
        current = {id(_CURRENT.get(id(o), [o])[-1]): new for o, new in originals}
        swapped = _swap(owners, current)
        for o, new in originals:
            _CURRENT.setdefault(id(o), []).append(new)
        try:
            return module(*args, **kwargs)
        finally:
            for o, _ in originals:
                stack = _CURRENT[id(o)]
                stack.pop()
                if not stack:
                    del _CURRENT[id(o)]
            _restore(swapped)


def _call_form(args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """The module's arguments from ``torch.func.functional_call``'s forms (a tuple of them, a
    dict of keywords after it, ``args=`` and ``kwargs=``) or as given (``m, p, x, y``)."""
    if "tie_weights" in kwargs and kwargs.pop("tie_weights") is not True:
        raise InvalidInputError(
            "functional_call: tie_weights=False is not supported; a tied weight given under "
            "one name replaces it everywhere (PyTorch's default, tie_weights=True)"
        )
    named_args, named_kwargs = kwargs.pop("args", None), kwargs.pop("kwargs", None)
    if named_args is not None:
        if args:
            raise InvalidInputError("functional_call: got positional arguments and args=")
        args = (named_args,)
    if len(args) == 2 and isinstance(args[1], dict):  # torch's (args, kwargs): x or (x, mask)
        first = args[0] if isinstance(args[0], tuple) else (args[0],)
        args, kwargs = first, {**args[1], **kwargs}
    elif len(args) == 1 and isinstance(args[0], tuple):  # (x, mask)
        args = args[0]
    return args, {**(named_kwargs or {}), **kwargs}


# While calls run: the objects that replace each original (by id), innermost last, and the
# attribute writes of each module (by id), in the order they were made. Only the thread holding
# a module's lock reads or writes its entries.
_CURRENT: dict[int, list[Any]] = {}
_SWAPS: dict[int, list[_Swap]] = {}
_SEQUENCE = itertools.count()


def _merged(params: Any) -> Mapping[str, Any]:
    if isinstance(params, Mapping):
        return params
    if isinstance(params, (list, tuple)) and all(isinstance(p, Mapping) for p in params):
        merged: dict[str, Any] = {}
        for part in params:
            twice = [key for key in part if key in merged]
            if twice:
                raise InvalidInputError(
                    f"functional_call: {twice} appear in more than one of the mappings given"
                )
            merged.update(part)
        return merged
    raise InvalidInputError(
        f"functional_call: params must be a mapping of parameter names to Tensors or arrays "
        f"(e.g. dict(module.named_parameters())), or a sequence of them; got "
        f"{type(params).__name__}"
    )


# -- what is replaced by what ---------------------------------------------------------------------
def _modules(module: Any) -> list[Any]:
    """Every module of the tree, each once."""
    named_modules = getattr(module, "named_modules", None)
    return [m for _, m in named_modules()] if callable(named_modules) else [module]


def _named(module: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The module's parameters and buffers by name."""
    named_buffers = getattr(module, "named_buffers", None)
    buffers = dict(named_buffers()) if callable(named_buffers) else {}
    return dict(module.named_parameters()), buffers


def _checked(
    module: Any,
    parameters: dict[str, Any],
    buffers: dict[str, Any],
    params: Mapping[str, Any],
    strict: bool,
) -> list[tuple[Any, Any]]:
    """``(original, new value)`` for every entry of ``params``, validated."""
    known = [*parameters, *buffers]
    unknown = [key for key in params if key not in parameters and key not in buffers]
    if unknown:
        hints = {str(k): difflib.get_close_matches(str(k), known, n=2) for k in unknown if str(k)}
        hint = "; ".join(f"{k!r}: did you mean {m}?" for k, m in hints.items() if m)
        raise InvalidInputError(
            f"functional_call: {type(module).__name__} has no parameter or buffer named "
            f"{unknown}" + (f" ({hint})" if hint else "") + f"; its names are {known}"
        )
    missing = [name for name in known if name not in params]
    if strict and missing:
        raise InvalidInputError(
            f"functional_call: strict=True but params lacks {missing}; give every parameter "
            f"and buffer, or call with strict=False to keep the module's own values for these"
        )
    replacements = []
    for name, value in params.items():
        original = parameters[name] if name in parameters else buffers[name]
        if name in parameters:
            new: Any = value if isinstance(value, Tensor) else Tensor(_numeric(name, value))
        else:
            new = value.data if isinstance(value, Tensor) else np.asarray(value)
        if new.shape != original.shape:
            raise ShapeError(
                f"functional_call: '{name}' has shape {original.shape} in "
                f"{type(module).__name__} but the value given has shape {new.shape}"
            )
        replacements.append((original, new))
    return replacements


def _numeric(name: str, value: Any) -> np.ndarray:
    return as_array(value, what=f"functional_call: the value of '{name}'")


class _Swap(NamedTuple):
    """One attribute write: ``vars(owner)[key]`` was ``old``, is ``new``."""

    order: int
    owner: Any
    key: str
    old: Any
    new: Any


def _swap(owners: list[Any], replacements: dict[int, Any]) -> list[_Swap]:
    """Write the replacements into the modules' attributes; returns what to put back."""
    swapped: list[_Swap] = []
    if not replacements:
        return swapped
    try:
        for owner in owners:
            attributes = vars(owner)
            for key, value in list(attributes.items()):
                new = _substituted(value, replacements)
                if new is not value:
                    entry = _Swap(next(_SEQUENCE), owner, key, value, new)
                    swapped.append(entry)
                    _SWAPS.setdefault(id(owner), []).append(entry)
                    attributes[key] = new
    except BaseException:
        _restore(swapped)
        raise
    return swapped


def _restore(swapped: list[_Swap]) -> None:
    for entry in reversed(swapped):
        vars(entry.owner)[entry.key] = entry.old
        writes = _SWAPS[id(entry.owner)]
        writes.remove(entry)
        if not writes:
            del _SWAPS[id(entry.owner)]


@contextmanager
def _originals_visible(owners: list[Any]) -> Iterator[None]:
    """Undo the enclosing calls' writes into ``owners`` for a moment, so that
    ``named_parameters()`` (which lists only Parameters) sees the originals again."""
    writes = sorted(e for owner in owners for e in _SWAPS.get(id(owner), ()))
    for entry in reversed(writes):
        vars(entry.owner)[entry.key] = entry.old
    try:
        yield
    finally:
        for entry in writes:
            vars(entry.owner)[entry.key] = entry.new


def _substituted(value: Any, replacements: dict[int, Any]) -> Any:
    """``value`` with the replaced objects swapped, through lists, tuples and dicts (a changed
    container is a copy; an unchanged one is ``value`` itself)."""
    if id(value) in replacements:
        return replacements[id(value)]
    if isinstance(value, (list, tuple)):
        items = [_substituted(item, replacements) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value
        if isinstance(value, list):
            changed = copy.copy(value)
            changed[:] = items
            return changed
        make = getattr(value, "_make", None)  # a namedtuple
        return make(items) if callable(make) else type(value)(items)
    if isinstance(value, dict):
        entries = {key: _substituted(item, replacements) for key, item in value.items()}
        if all(entries[key] is item for key, item in value.items()):
            return value
        changed_dict = copy.copy(value)
        changed_dict.update(entries)
        return changed_dict
    return value


# -- locks ----------------------------------------------------------------------------------------
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()
_SHARED_LOCK = threading.RLock()  # for modules that cannot be weakly referenced


def _lock_of(module: Any) -> threading.RLock:
    with _LOCKS_GUARD:
        try:
            lock = _LOCKS.get(module)
            if lock is None:
                lock = _LOCKS[module] = threading.RLock()
            return lock
        except TypeError:
            return _SHARED_LOCK


@contextmanager
def _locked(owners: list[Any]) -> Iterator[None]:
    """Hold the lock of every module, taken in one global order (so no two calls deadlock)."""
    locks = {id(lock): lock for lock in map(_lock_of, owners)}
    with ExitStack() as stack:
        for key in sorted(locks):
            stack.enter_context(locks[key])
        yield


# -- gradients with respect to a dict -------------------------------------------------------------
def value_and_grad(
    f: Callable[..., Tensor], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Any, Any]]:
    """Like `grad`, but the returned function gives ``(f(*args), gradient)``."""

    def value_and_gradient(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _normalised([argnums] if isinstance(argnums, int) else list(argnums), len(args))
        # Each argument is one flat value, or (a differentiated container) its leaves.
        flat: list[Any] = []
        builds = [_flattened(arg, flat) if i in nums else _flattened(arg, flat, leaf=True)
                  for i, arg in enumerate(args)]  # fmt: skip
        spans = [(b[1], b[2]) for b in builds]

        def flat_f(*values: Any, **kw: Any) -> Tensor:
            return f(*(build[0](values) for build in builds), **kw)

        wrt = [k for n in nums for k in range(*spans[n])]
        value, grads = functional.value_and_grad(flat_f, wrt)(*flat, **kwargs)
        by_index: list[Any] = [None] * len(flat)
        for k, g in zip(wrt, grads):
            by_index[k] = g
        shaped = [builds[n][0](by_index) for n in nums]
        return value, (shaped[0] if isinstance(argnums, int) else tuple(shaped))

    value_and_gradient.__name__ = f"value_and_grad_{getattr(f, '__name__', 'f')}"
    return value_and_gradient


def _flattened(value: Any, flat: list[Any], leaf: bool = False) -> tuple[Any, int, int]:
    """Append the leaves of ``value`` (itself, or the values of nested mappings, lists and
    tuples: HIPS autograd's and JAX's containers of parameters) to ``flat``; return a function
    that builds the same structure from a flat list, and where its leaves are."""
    start = len(flat)
    if leaf or not isinstance(value, (Mapping, list, tuple)):
        flat.append(value)
        return (lambda values, k=start: values[k]), start, start + 1
    if isinstance(value, Mapping):
        keys = list(value)
        parts = [_flattened(value[k], flat)[0] for k in keys]
        return (lambda vs: dict(zip(keys, (p(vs) for p in parts)))), start, len(flat)
    parts = [_flattened(v, flat)[0] for v in value]
    if hasattr(value, "_fields"):  # a namedtuple: rebuilt as one, field by field
        return (lambda vs: type(value)(*(p(vs) for p in parts))), start, len(flat)
    kind = type(value) if type(value) in (list, tuple) else list
    return (lambda vs: kind(p(vs) for p in parts)), start, len(flat)


def grad(f: Callable[..., Tensor], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The gradient of a scalar-valued function whose arguments may be containers of arrays.

    `autograd_lite.grad` differentiates with respect to array arguments; this one also
    takes, at a differentiated position, a mapping (such as the ``params`` of
    `functional_call`), a list or a tuple, nested to any depth (HIPS autograd's
    ``[(W1, b1), (W2, b2)]``), and returns the gradient in the same structure, like
    ``torch.func.grad`` and ``jax.grad``. Everything else is as for `autograd_lite.grad`
    (nesting for higher derivatives included): each leaf is differentiated as one argument
    would be.

    Parameters
    ----------
    f : callable
        Returns a one-element Tensor.
    argnums : int or sequence of int, default 0
        Which positional arguments to differentiate with respect to.

    Returns
    -------
    callable
        Same arguments as ``f``; returns the gradient of each differentiated argument (in the
        structure of a container argument), a tuple of them when ``argnums`` is a sequence.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> df = al.func.grad(lambda p: (p["w"] * p["b"]).sum())
    >>> df({"w": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])})
    {'w': array([3., 4.]), 'b': array([1., 2.])}
    >>> al.func.grad(lambda ps: sum((w * b).sum() for w, b in ps))([(np.ones(2), np.full(2, 5.0))])
    [(array([5., 5.]), array([1., 1.]))]
    """
    vg = value_and_grad(f, argnums)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    return gradient


def _normalised(nums: list[Any], n_args: int) -> list[int]:
    out = []
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not -n_args <= n < n_args:
            raise InvalidInputError(
                f"func.grad: argnums {n!r} is not a position among {n_args} argument(s)"
            )
        out.append(int(n) % n_args)
    return out
