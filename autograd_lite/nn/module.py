r"""`Module` (discovery, buffers, modes, ``state_dict``, save/load), `Parameter`,
`Sequential`, and the errors a ``state_dict`` that does not fit raises.

A module finds its `Parameter`\ s and sub-modules by looking through its attributes
(recursively, through lists, tuples and dicts of them), in the order the attributes were
assigned; buffers (running statistics) are registered by name with `Module.register_buffer()`.
``state_dict()`` keys and their order are PyTorch's: for each module, depth first, its own
parameters, then its own buffers, then its children's; `Sequential` names its children
``0``, ``1``, … so a model's state moves to the corresponding ``torch.nn`` model and back.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite.checkpoint import NpzReader, load_checkpoint, save_checkpoint
from autograd_lite.errors import (
    AutogradLiteError,
    CheckpointError,
    InvalidArgumentError,
    InvalidInputError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.tensor import Tensor, as_array

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ModuleArgumentError",
    "ModuleKeyError",
    "positive_int",
    "number_in",
    "StateDictError",
    "StateDictKeyError",
    "StateDictShapeError",
]

#: Stored in every file written by `Module.save()`, under `_FORMAT_KEY`.
CHECKPOINT_FORMAT = "autograd_lite.nn/1"
_FORMAT_KEY = "__format__"


class ModuleArgumentError(InvalidArgumentError):
    """A layer or loss built or called with an argument it cannot use (a width of 0, ``p=2``
    for dropout, an unknown ``reduction`` …); the message names the layer and the value. An
    [`InvalidArgumentError`][autograd_lite.errors.InvalidArgumentError] (a ``ValueError``)."""


def positive_int(owner: str, label: str, n: Any) -> int:
    """``n`` as an int, or a `ModuleArgumentError` naming ``owner`` and ``label``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ModuleArgumentError(f"{owner}: {label} must be a positive int, got {n!r}")
    return int(n)


def number_in(owner: str, label: str, x: Any, low: float, high: float = math.inf) -> float:
    """``x`` as a float in ``[low, high]``, or a `ModuleArgumentError` naming both."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating)) or not low <= x <= high:
        where = f"in [{low}, {high}]" if high < math.inf else f">= {low}"
        raise ModuleArgumentError(f"{owner}: {label} must be a number {where}, got {x!r}")
    return float(x)


def not_in_place(name: str, inplace: bool, instead: str = "") -> None:
    """Refuse PyTorch's ``inplace=True`` (of ``F.relu``, ``nn.ReLU`` ...) with a typed error."""
    if inplace:
        raise ModuleArgumentError(
            f"{name}: inplace=True is not supported: autograd_lite never modifies a Tensor in "
            f"place (the graph keeps the values it saw); write {instead or f'x = F.{name}(x)'}"
        )


class StateDictError(CheckpointError):
    """A state (a mapping of names to arrays, or a file) that does not fit the module."""


class ModuleKeyError(AutogradLiteError, KeyError):
    """A key that a `ModuleDict` does not hold (a KeyError, as in PyTorch)."""


class StateDictKeyError(StateDictError):
    """Missing or unexpected keys under ``strict=True``; ``missing_keys`` and
    ``unexpected_keys`` list them (PyTorch's names)."""

    def __init__(self, message: str, missing_keys: list[str], unexpected_keys: list[str]) -> None:
        super().__init__(message)
        self.missing_keys = missing_keys
        self.unexpected_keys = unexpected_keys


class StateDictShapeError(StateDictError, ShapeError):
    """A key whose array has another shape than the module's; ``key``, ``expected``, ``got``."""

    def __init__(self, key: str, got: tuple[int, ...], expected: tuple[int, ...]) -> None:
        super().__init__(
            f"load_state_dict: '{key}' has shape {got} in the state but {expected} in the model"
        )
        self.key, self.got, self.expected = key, got, expected


class Parameter(Tensor):
    """A leaf Tensor that a `Module` trains: ``requires_grad=True`` by default.

    Parameters
    ----------
    data : array_like
        Initial values. They are *copied*, so that in-place optimizer updates never write into
        an array the caller still holds. Float32 stays float32; other numbers become float64.
    requires_grad : bool, default True
        Set False to freeze the parameter (it is still listed by `Module.parameters()`
        and saved, but gets no gradient).
    name : str, optional
        A label for ``repr`` and graph drawings.
    """

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        array = as_array(data, what="Parameter")
        super().__init__(np.array(array, copy=True), requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


def as_tensor(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor of it (for layers' inputs)."""
    return x if isinstance(x, Tensor) else Tensor(x)


class Module:
    """Base class of layers and models.

    Subclass it, assign parameters and sub-modules as attributes in ``__init__``, and write
    ``forward`` with Tensor operations; calling the module calls ``forward``. Gradients of
    every `Parameter` follow from the graph ``forward`` records.

    Parameters are found through attributes holding a `Parameter`, a `Module`,
    or a list, tuple or dict of these (nested containers too): a module's own parameters
    first, then each sub-module's, depth first, all in attribute-assignment order (dicts in
    insertion order). A parameter reachable twice (a tied weight) is listed once,
    under the first name found. Plain `Tensor` attributes are constants,
    not parameters; NumPy arrays that belong in the ``state_dict`` (running statistics) are
    registered with `register_buffer()`.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn
    >>> class Scale(nn.Module):
    ...     def __init__(self, n):
    ...         super().__init__()
    ...         self.gain = nn.Parameter(np.ones(n))
    ...     def forward(self, x):
    ...         return x * self.gain
    >>> layer = Scale(3)
    >>> layer(np.array([[1.0, 2.0, 3.0]])).sum().backward()
    >>> layer.gain.grad
    array([1., 2., 3.])
    """

    training: bool = True
    _version = 0

    def __init__(self) -> None:
        self.training = True

    # -- the forward pass ------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; subclasses define it with Tensor operations."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- discovery ---------------------------------------------------------------------------
    def _members(self, legacy: bool = False) -> Iterator[tuple[str, Any]]:
        """(name, value) for every attribute that is a Parameter or a Module, flattened.

        ``legacy`` asks for the names of checkpoints written before the names were PyTorch's
        (only [`Sequential`][autograd_lite.nn.module.Sequential] named its children differently).
        """
        for key, value in vars(self).items():
            yield from _flatten(key, value)

    def _walk(
        self, prefix: str = "", legacy: bool = False, ancestors: tuple[int, ...] = ()
    ) -> Iterator[tuple[str, Module]]:
        """Every ``(name, module)`` depth first, this one first, *with* repeats (a module
        reachable twice is visited twice, as PyTorch's ``state_dict`` does); a module that
        contains itself is not entered again."""
        yield prefix, self
        ancestors = (*ancestors, id(self))
        for key, value in self._members(legacy):
            if isinstance(value, Module) and id(value) not in ancestors:
                yield from value._walk(f"{prefix}.{key}" if prefix else key, legacy, ancestors)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first (name ``prefix``), each once, depth first."""
        seen: set[int] = set()
        for name, module in self._walk(prefix):
            if id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct sub-module."""
        for key, value in self._members():
            if isinstance(value, Module):
                yield key, value

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def _own_parameters(self, legacy: bool = False) -> Iterator[tuple[str, Parameter]]:
        for key, value in self._members(legacy):
            if isinstance(value, Parameter):
                yield key, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` pairs, e.g. ``("0.weight", W)``, each once.

        The order is deterministic, depth first: a module's own parameters (in attribute
        assignment order), then each sub-module's in turn.
        """
        seen: set[int] = set()
        for name, module in self.named_modules(prefix):
            for key, p in module._own_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{name}.{key}" if name else key), p

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter, each once, in `named_parameters()` order.

        The list is cached per module (``zero_grad`` runs every step): the cache holds while no
        module's attribute holding a Parameter, a Module or a container was assigned or deleted
        since, and every list, tuple or dict the walk went through holds the same items.
        """
        return list(self._walked_tree()[1])

    def versions(self) -> tuple[int, ...]:
        """A count per module of the tree (`structure()` order) of the attributes bound to
        another object since it was made: a layer, a parameter, the training mode, a
        hyper-parameter such as Dropout's ``p``. `al.compile` keys its recordings on it, so a
        forward that reads what changed is recorded again."""
        return tuple([m._version for m in self._walked_tree()[3]])

    def structure(self) -> tuple[Module, ...]:
        """The modules of this tree in walk order (this one first), from the same cache as
        `parameters()`: a new tuple after any attribute of any module is bound to another
        object. `al.compile` keys its recordings on it, so a layer added, removed or replaced
        (with or without parameters) is recorded again, and reads `versions()` when it is a new
        tuple."""
        return self._walked_tree()[3]

    def _walked_tree(self) -> tuple[int, list[Parameter], list[Any], tuple[Module, ...]]:
        try:
            cached = _PARAMETERS.get(self)
        except TypeError:  # a subclass that defines __eq__ but no __hash__: never cached
            return _walked(self, [], [])
        if cached is not None and cached[0] == _STRUCTURE[0]:
            for container, _, ids in cached[2]:
                if _item_ids(container) != ids:
                    break
            else:
                return cached
        containers: list[Any] = []
        entry = _walked(self, containers, [])
        _PARAMETERS[self] = entry  # (the items are kept alive: no new object can take their id)
        return entry

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get(name, _UNBOUND) is not value:  # (running_mean *= m: the same)
            _STRUCTURE[0] += 1  # the walks cached by parameters() and structure() are stale
            object.__setattr__(self, "_version", self._version + 1)  # see versions()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _STRUCTURE[0] += 1
        object.__setattr__(self, "_version", self._version + 1)
        object.__delattr__(self, name)

    def _values(self, containers: list[Any]) -> list[Any]:
        """The Parameters and Modules of `_members()`, flattened, without their names (the
        walk of `parameters()`); every list, tuple or dict passed is added to
        ``containers``."""
        found: list[Any] = []
        for value in vars(self).values():
            if isinstance(value, _MEMBERS):
                found.append(value)
            elif isinstance(value, _CONTAINERS):
                _flat_values(value, found, containers)
        return found

    def num_parameters(self) -> int:
        """The total number of scalar parameters."""
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Clear the ``.grad`` of every parameter (set it to None)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (False freezes them); returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn(module)`` on every sub-module, then on this one (PyTorch's order, e.g. to
        re-initialise weights); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- buffers -----------------------------------------------------------------------------
    def register_buffer(self, name: str, array: Any, persistent: bool = True) -> None:
        """Keep the NumPy array ``array`` as the attribute ``name``, in the ``state_dict``
        (unless ``persistent=False``) but not among the parameters: running statistics.

        ``array`` may be None (listed nowhere until an array is assigned). Assigning a new
        array to ``self.<name>`` later keeps it a buffer.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ModuleArgumentError(
                f"register_buffer: the name must be an identifier, got {name!r}"
            )
        if name in vars(self) and name not in self._buffer_names():
            raise ModuleArgumentError(f"register_buffer: '{name}' is already an attribute")
        setattr(self, name, None if array is None else np.asarray(array))
        self.__dict__.setdefault("_buffers", {})[name] = bool(persistent)

    def _buffer_names(self) -> dict[str, bool]:
        return vars(self).get("_buffers", {})

    def _own_buffers(self, persistent_only: bool = False) -> Iterator[tuple[str, np.ndarray]]:
        for key, persistent in self._buffer_names().items():
            value = getattr(self, key)
            if value is not None and (persistent or not persistent_only):
                yield key, value

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted_name, array)`` for every buffer, in ``state_dict`` order."""
        for name, module in self.named_modules(prefix):
            for key, value in module._own_buffers():
                yield (f"{name}.{key}" if name else key), value

    def buffers(self) -> list[np.ndarray]:
        """Every buffer's array, in `named_buffers()` order."""
        return [value for _, value in self.named_buffers()]

    # -- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every sub-module; returns self.

        Dropout drops and batch normalisation uses (and updates) the batch's statistics only in
        training mode.
        """
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: dropout passes its input through, batch normalisation uses its
        running statistics."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------------
    def _state_entries(self, legacy: bool = False) -> Iterator[tuple[str, Module, Any]]:
        """``(key, owner, ref)`` of every ``state_dict`` entry, in PyTorch's order: ``ref`` is
        the Parameter, or a buffer's attribute name."""
        for name, module in self._walk(legacy=legacy):
            for key, p in module._own_parameters(legacy):
                yield (f"{name}.{key}" if name else key), module, p
            for key, _ in module._own_buffers(persistent_only=True):
                yield (f"{name}.{key}" if name else key), module, key

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and persistent buffer's array, keyed by its dotted name.

        The keys, their order, shapes and dtypes are those of the corresponding ``torch.nn``
        model: ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``
        loads it. A tied parameter appears under each of its names, as in PyTorch.
        """
        return {key: _array_of(module, ref).copy() for key, module, ref in self._state_entries()}

    def _legacy_names(self) -> dict[str, str]:
        """``{old name: name}`` for the entries whose name changed when Sequential's children
        became ``0``, ``1``, … (they were ``layers.0``, ``layers.1``, …)."""
        new = [key for key, _, _ in self._state_entries()]
        old = [key for key, _, _ in self._state_entries(legacy=True)]
        return {o: n for o, n in zip(old, new, strict=True) if o != n}

    def _checkpoint_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each entry a checkpoint may hold, under its name and its old name."""
        shapes = {key: _array_of(m, ref).shape for key, m, ref in self._state_entries()}
        return shapes | {old: shapes[new] for old, new in self._legacy_names().items()}

    def load_state_dict(self, state: Any, strict: bool = True) -> Module:
        """Copy arrays from ``state`` (a mapping name -> array) into the parameters and
        buffers, in place; returns self.

        ``state`` may come from `state_dict()`, from a ``torch.nn`` model
        (``{k: v.numpy() for k, v in torch_model.state_dict().items()}``), or from a checkpoint
        written before Sequential's children were named like PyTorch's (``layers.0.weight``
        is read as ``0.weight``). Everything is checked before anything is written, so a
        failed load changes nothing.

        Parameters
        ----------
        state : mapping
            Names to arrays (NumPy arrays, or anything ``numpy.asarray`` converts).
        strict : bool, default True
            Require the keys to match exactly. With False, missing and unexpected keys are
            ignored; the shapes of the keys present are still checked.

        Raises
        ------
        StateDictKeyError
            Under ``strict``: naming the missing and the unexpected keys.
        StateDictShapeError
            Naming the key whose shape does not fit, with both shapes.
        autograd_lite.errors.CheckpointError
            ``state`` is not a mapping, or a key holds non-numbers, NaN or inf.
        """
        if not hasattr(state, "keys"):
            raise CheckpointError(
                "load_state_dict: expected a mapping of names to arrays, got "
                f"{type(state).__name__}"
            )
        entries = {key: (module, ref) for key, module, ref in self._state_entries()}
        renamed = {old: new for old, new in self._legacy_names().items() if old in state}
        keys = [renamed.get(k, k) for k in state.keys() if k != _FORMAT_KEY]
        missing = [k for k in entries if k not in keys]
        unexpected = [k for k in keys if k not in entries]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise StateDictKeyError(
                f"load_state_dict: the state does not fit {type(self).__name__}: "
                + "; ".join(parts)
                + f" (the model's keys are {list(entries)})",
                missing,
                unexpected,
            )
        by_key = {renamed.get(k, k): k for k in state.keys()}
        updates = []
        for key, (module, ref) in entries.items():
            if key not in by_key:
                continue
            target = _array_of(module, ref)
            try:
                value = np.asarray(state[by_key[key]])
            except Exception as error:  # noqa: BLE001 - reported with the key
                raise CheckpointError(f"load_state_dict: '{key}': {error}") from None
            if value.shape != target.shape:
                raise StateDictShapeError(key, value.shape, target.shape)
            if value.dtype.kind not in "fiu":
                raise CheckpointError(
                    f"load_state_dict: '{key}' has dtype {value.dtype}, expected numbers"
                )
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise CheckpointError(f"load_state_dict: '{key}' holds NaN or inf")
            updates.append((module, ref, target, value))
        for module, ref, target, value in updates:
            if target.flags.writeable:
                np.copyto(target, value, casting="unsafe")
            elif isinstance(ref, Parameter):
                ref.data = np.array(value, dtype=target.dtype)
            else:
                setattr(module, ref, np.array(value, dtype=target.dtype))
        return self

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the `state_dict()` to an ``.npz`` file exactly at ``path`` (atomically).

        The file holds one array per `state_dict()` key plus a format tag; it needs
        no pickle to read. Returns the path written. See `autograd_lite.checkpoint.write_npz()`
        (mode, symbolic links, temporary files).

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If a parameter holds NaN or inf (nothing is written: train with a smaller ``lr``),
            or ``path`` cannot be written.
        """
        return save_checkpoint(path, CHECKPOINT_FORMAT, self.state_dict(), "lr")

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> Module:
        """Load a state written by `save()` into this module, in place; returns self.

        The file is read by `autograd_lite.checkpoint.NpzReader`: every member's header
        is checked against this module's keys and shapes before any array is read, and
        unexpected members are refused unread (ignored, unread, with ``strict=False``). Files
        written with the old names of Sequential's children (``layers.0.weight``) load too.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If the file is missing, is not a readable ``.npz`` (corrupt, truncated, hostile, or
            needing pickle), or does not fit the module (keys, shapes); the message names the
            file. The module is unchanged when it raises.
        """
        shapes = self._checkpoint_shapes()

        def expected(npz: NpzReader) -> dict[str, tuple[tuple[int, ...], str]]:
            present = {name: shape for name, shape in shapes.items() if name in npz}
            for name, shape in present.items():
                if npz.header(name)[0] != shape:
                    raise StateDictShapeError(name, npz.header(name)[0], shape)
            return {name: (shape, "fiu") for name, shape in present.items()}

        state = load_checkpoint(
            path,
            CHECKPOINT_FORMAT,
            expected,
            allowed=(lambda key: key == _FORMAT_KEY or key in shapes) if strict else None,
        )
        try:
            return self.load_state_dict(state, strict=strict)
        except CheckpointError as error:
            raise _with_path(error, Path(path)) from None

    # -- display ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Shown inside the parentheses of ``repr``; layers override it."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.append(f"  {extra}")
        for key, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({key}): {body}")
        return "\n".join(lines) + "\n)"


def _array_of(module: Module, ref: Any) -> np.ndarray:
    """The array of a state entry: a Parameter's data, or the buffer named ``ref``."""
    return ref.data if isinstance(ref, Parameter) else getattr(module, ref)


def _with_path(error: CheckpointError, path: Path) -> CheckpointError:
    """``error`` (its class and attributes kept) with ``path`` in front of its message."""
    message = str(error)
    if not message.startswith(str(path)):
        error.args = (f"{path}: {message}",)
    return error


def _gather(
    module: Module, found: list[Parameter], seen: set[int], containers: list[Any], modules: list
) -> None:
    """Append the parameters of ``module``'s tree to ``found`` in `Module.named_parameters()`
    order (depth first, this module's own first, each module and parameter once), the containers
    walked through to ``containers`` and the modules to ``modules``."""
    seen.add(id(module))
    modules.append(module)
    children = []
    for value in module._values(containers):
        if isinstance(value, Parameter):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        elif isinstance(value, Module):  # (Sequential.layers may have been given anything)
            children.append(value)
    for child in children:
        if id(child) not in seen:
            _gather(child, found, seen, containers, modules)


_UNBOUND = object()
_MEMBERS = (Parameter, Module)
_CONTAINERS = (list, tuple, dict)
_WATCHED = (Parameter, Module, list, tuple, dict)
#: Bumped whenever a module's attribute holding a Parameter, Module or container changes.
_STRUCTURE = [0]
#: Module -> (_STRUCTURE when walked, its parameters, [(container, its items, their ids)]).
_PARAMETERS: weakref.WeakKeyDictionary[
    Module, tuple[int, list[Parameter], list[Any], tuple[Module, ...]]
] = weakref.WeakKeyDictionary()


def _walked(
    module: Module, containers: list[Any], modules: list[Module]
) -> tuple[int, list[Parameter], list[Any], tuple[Module, ...]]:
    """A cache entry of `Module.parameters()`: the structure count it was made at, the
    parameters, (container, its items, their ids) for each container walked, the modules."""
    found: list[Parameter] = []
    _gather(module, found, set(), containers, modules)
    walked = [(c, _items(c), _item_ids(c)) for c in containers]
    return _STRUCTURE[0], found, walked, tuple(modules)


def _items(container: Any) -> list[Any]:
    return list(container.values() if isinstance(container, dict) else container)


def _item_ids(container: Any) -> list[int]:
    return list(map(id, container.values() if isinstance(container, dict) else container))


def _flat_values(value: Any, found: list[Any], containers: list[Any]) -> None:
    if isinstance(value, _MEMBERS):
        found.append(value)
        return
    containers.append(value)
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, _WATCHED):
            _flat_values(item, found, containers)


def _flatten(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _flatten(f"{name}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{name}.{key}", item)


def _module(owner: str, m: Any, where: str) -> Module:
    if not isinstance(m, Module):
        raise InvalidInputError(
            f"{owner}: {where} is a {type(m).__name__}, not a Module; wrap functions in a "
            f"Module subclass"
        )
    return m


def _position(children: Any, index: Any) -> int:
    """``index`` as a position in ``children.layers``, or a typed error (an IndexError)."""
    n = len(children.layers)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InvalidInputError(f"{type(children).__name__}: index {index!r} is not an int")
    if not -n <= index < n:
        raise TensorIndexError(
            f"{type(children).__name__}: index {index} is out of range for {n} module(s)"
        )
    return int(index)


class _Children(Module):
    """The modules held in ``layers`` (a list or a dict), named by their index or key as in
    PyTorch (``0.weight``, ``encoder.weight``); any other attribute as in `Module`."""

    layers: Any
    _named_layers_before = (
        False  # (Sequential's checkpoints before PyTorch's names: layers.0.weight)
    )

    def _children_items(self) -> Iterator[tuple[Any, Module]]:
        layers = self.layers
        return iter(layers.items()) if isinstance(layers, dict) else enumerate(layers)

    def _members(self, legacy: bool = False) -> Iterator[tuple[str, Any]]:
        for key, layer in self._children_items():
            yield (f"layers.{key}" if legacy and self._named_layers_before else str(key)), layer
        for key, value in vars(self).items():
            if key != "layers":
                yield from _flatten(key, value)

    def _values(self, containers: list[Any]) -> list[Any]:
        found: list[Any] = [layer for _, layer in self._children_items()]
        containers.append(self.layers)
        for key, value in vars(self).items():
            if key != "layers" and isinstance(value, _WATCHED):
                _flat_values(value, found, containers)
        return found

    def __len__(self) -> int:
        return len(self.layers)


class ModuleList(_Children):
    """A list of modules registered as children (PyTorch's ``nn.ModuleList``): their
    parameters are this module's, named ``0.weight``, ``1.weight``, … Index, slice, iterate,
    ``append``, ``extend`` and ``insert`` it like a list; it has no ``forward`` of its own.

    >>> import autograd_lite as al
    >>> from autograd_lite import nn
    >>> blocks = nn.ModuleList([nn.Linear(2, 2, seed=k) for k in range(3)])
    >>> names = [name for name, _ in blocks.named_parameters()]
    >>> len(blocks), names[:3]
    (3, ['0.weight', '0.bias', '1.weight'])
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.layers: list[Module] = []
        self.extend(modules)

    def append(self, module: Module) -> Any:
        """Add a module at the end; returns self."""
        self.layers.append(_module(f"{type(self).__name__}.append", module, "the argument"))
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        """Add each module at the end, in order; returns self."""
        name = type(self).__name__
        if not isinstance(modules, Iterable):
            raise InvalidInputError(f"{name}: expected an iterable of Modules, got {modules!r}")
        self.layers.extend([_module(name, m, f"item {i}") for i, m in enumerate(modules)])
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before ``index``."""
        self.layers.insert(index, _module(f"{type(self).__name__}.insert", module, "the module"))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(self.layers[index])
        return self.layers[_position(self, index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self.layers[_position(self, index)] = _module(type(self).__name__, module, f"item {index}")

    def __delitem__(self, index: int | slice) -> None:
        del self.layers[index if isinstance(index, slice) else _position(self, index)]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInputError(
            f"{type(self).__name__} has no forward: call its modules (for m in self.blocks: "
            f"x = m(x)), or use Sequential"
        )


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The modules live in the list ``layers``; as in PyTorch, they are named ``0``, ``1``, …,
    so parameter names read ``0.weight``. Indexing with an int returns a module; with a slice,
    a new ``Sequential`` sharing them (``model[:-1]`` is the network up to its last
    activation: the logits).
    """

    _named_layers_before = True

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[_position(self, index)]


class ModuleDict(_Children):
    """Modules under string keys, registered as children (PyTorch's ``nn.ModuleDict``): named
    ``key.weight``. Read and write it like a dict (``d["enc"]``, ``keys()``, ``items()``,
    ``update``); it has no ``forward`` of its own."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        self.layers: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def update(self, modules: Any) -> None:
        """Add or replace the modules of a mapping or of ``(key, module)`` pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        if not isinstance(pairs, Iterable):
            raise InvalidInputError(
                f"ModuleDict: expected a mapping or (key, module) pairs, got {modules!r}"
            )
        for key, module in pairs:
            self[key] = module

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise InvalidInputError(
                f"ModuleDict: key {key!r} must be a non-empty string without '.' (it names "
                f"the module's parameters)"
            )
        self.layers[key] = _module("ModuleDict", module, f"the value of {key!r}")

    def __getitem__(self, key: str) -> Module:
        if key not in self.layers:
            raise ModuleKeyError(
                f"ModuleDict has no module {key!r}; its keys are {list(self.layers)}"
            )
        return self.layers[key]

    def __delitem__(self, key: str) -> None:
        del self.layers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.layers

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def keys(self) -> Any:
        """The keys, in insertion order."""
        return self.layers.keys()

    def values(self) -> Any:
        """The modules, in insertion order."""
        return self.layers.values()

    def items(self) -> Any:
        """``(key, module)`` pairs, in insertion order."""
        return self.layers.items()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInputError("ModuleDict has no forward: call its modules by key")
