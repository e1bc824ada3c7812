r"""Layers as objects: :class:`Module`, :class:`Parameter`, :class:`Linear`, :class:`Sequential`.

A :class:`Module` is a callable whose ``forward`` is written with Tensor operations; its
gradients come from the engine, so a custom layer is only its forward pass. A module finds its
:class:`Parameter`\ s by looking through its attributes (recursively, through sub-modules and
through lists, tuples and dicts of them), in the order the attributes were assigned.

The layout is PyTorch's, not the chapter's: samples are *rows*, and :class:`Linear` computes

.. math:: y = x W^\top + b, \qquad W \in \mathbb R^{n_{out} \times n_{in}},
          \; b \in \mathbb R^{n_{out}},

so the ``W`` here is exactly the chapter's :math:`w^l` (also ``(n_out, n_in)``), applied to a
mini-batch whose rows (not columns) are the samples; the chapter's ``b`` of shape ``(n, 1)``
is ``b.reshape(-1, 1)``.

Examples
--------
>>> import numpy as np, autograd_lite as al
>>> from autograd_lite import nn
>>> model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.Sigmoid(), nn.Linear(3, 2, seed=1))
>>> [name for name, _ in model.named_parameters()]
['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']
>>> model(np.ones((5, 4))).shape
(5, 2)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite import ops
from autograd_lite.checkpoint import NpzReader, refuse_non_finite, write_npz
from autograd_lite.errors import CheckpointError, ShapeError
from autograd_lite.tensor import Tensor, as_array

__all__ = [
    "Parameter",
    "Module",
    "Linear",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Softmax",
    "LogSoftmax",
    "init_weights",
]

#: Stored in every file written by :meth:`Module.save`, under :data:`_FORMAT_KEY`.
CHECKPOINT_FORMAT = "autograd_lite.nn/1"
_FORMAT_KEY = "__format__"


class Parameter(Tensor):
    """A leaf Tensor that a :class:`Module` trains: ``requires_grad=True`` by default.

    Parameters
    ----------
    data : array_like
        Initial values. They are *copied*, so that in-place optimizer updates never write into
        an array the caller still holds. Float32 stays float32; other numbers become float64.
    requires_grad : bool, default True
        Set False to freeze the parameter (it is still listed by :meth:`Module.parameters`
        and saved, but gets no gradient).
    name : str, optional
        A label for ``repr`` and graph drawings.
    """

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        array = as_array(data, what="Parameter")
        super().__init__(np.array(array, copy=True), requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Module:
    """Base class of layers and models.

    Subclass it, assign parameters and sub-modules as attributes in ``__init__``, and write
    ``forward`` with Tensor operations; calling the module calls ``forward``. Gradients of
    every :class:`Parameter` follow from the graph ``forward`` records.

    Parameters are found through attributes holding a :class:`Parameter`, a :class:`Module`,
    or a list, tuple or dict of these (nested containers too): a module's own parameters
    first, then each sub-module's, depth first, all in attribute-assignment order (dicts in
    insertion order). A parameter reachable twice (a tied weight) is listed once,
    under the first name found. Plain :class:`~autograd_lite.Tensor` attributes are constants,
    not parameters.

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

    def __init__(self) -> None:
        self.training = True

    # -- the forward pass ------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation; subclasses define it with Tensor operations."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- discovery ---------------------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) for every attribute that is a Parameter or a Module, flattened."""
        for key, value in vars(self).items():
            yield from _flatten(key, value)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first (name ``""``), each once, depth first."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{key}" if name else key, value)
                for key, value in module._members()
                if isinstance(value, Module)
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, value in self._members():
            if isinstance(value, Module):
                yield value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` pairs, e.g. ``("layers.0.weight", W)``, each once.

        The order is deterministic, depth first: a module's own parameters (in attribute
        assignment order), then each sub-module's in turn.
        """
        seen: set[int] = set()
        visited: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in visited:
                continue
            visited.add(id(module))
            children = []
            for key, value in module._members():
                full = f"{name}.{key}" if name else key
                if isinstance(value, Module):
                    children.append((full, value))
                    continue
                if id(value) not in seen:
                    seen.add(id(value))
                    yield full, value
            stack.extend(reversed(children))

    def parameters(self) -> list[Parameter]:
        """Every trainable parameter, each once, in :meth:`named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """The total number of scalar parameters."""
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Clear the ``.grad`` of every parameter (set it to None)."""
        for p in self.parameters():
            p.grad = None

    # -- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every sub-module; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: for layers that behave differently at evaluation (none built in)."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's array, keyed by its dotted name (insertion-ordered)."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Any, strict: bool = True) -> Module:
        """Copy arrays from ``state`` (a mapping name -> array) into the parameters, in place.

        Everything is checked before anything is written, so a failed load changes nothing.

        Parameters
        ----------
        state : mapping
            As returned by :meth:`state_dict` (or read from a ``.npz`` file).
        strict : bool, default True
            Require the keys to match exactly. With False, missing and unexpected keys are
            ignored; the shapes of the keys present are still checked.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            Naming the missing or unexpected keys, or the key whose shape (or dtype, or finite
            values) does not fit, with both shapes.
        """
        params = dict(self.named_parameters())
        if not hasattr(state, "keys"):
            raise CheckpointError(
                "load_state_dict: expected a mapping of names to arrays, got "
                f"{type(state).__name__}"
            )
        keys = [k for k in state.keys() if k != _FORMAT_KEY]
        missing = [k for k in params if k not in state]
        unexpected = [k for k in keys if k not in params]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise CheckpointError(
                f"load_state_dict: the state does not fit {type(self).__name__}: "
                + "; ".join(parts)
                + f" (the model's keys are {list(params)})"
            )
        updates = []
        for name, p in params.items():
            if name not in state:
                continue
            try:
                value = np.asarray(state[name])
            except Exception as error:  # noqa: BLE001 - reported with the key
                raise CheckpointError(f"load_state_dict: '{name}': {error}") from None
            if value.shape != p.data.shape:
                raise CheckpointError(
                    f"load_state_dict: '{name}' has shape {value.shape} in the state but "
                    f"{p.data.shape} in the model"
                )
            if value.dtype.kind not in "fiu":
                raise CheckpointError(
                    f"load_state_dict: '{name}' has dtype {value.dtype}, expected numbers"
                )
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise CheckpointError(f"load_state_dict: '{name}' holds NaN or inf")
            updates.append((p, value))
        for p, value in updates:
            if p.data.flags.writeable:
                np.copyto(p.data, value, casting="unsafe")
            else:
                p.data = np.array(value, dtype=p.data.dtype)
        return self

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the parameters to an ``.npz`` file exactly at ``path`` (atomically).

        The file holds one array per :meth:`named_parameters` name plus a format tag; it needs
        no pickle to read. Returns the path written. See :func:`autograd_lite.checkpoint.write_npz`
        (mode, symbolic links, temporary files).

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If a parameter holds NaN or inf (nothing is written: train with a smaller ``lr``),
            or ``path`` cannot be written.
        """
        arrays = {_FORMAT_KEY: np.array(CHECKPOINT_FORMAT), **self.state_dict()}
        refuse_non_finite(path, arrays, "lr")
        return write_npz(path, arrays)

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> Module:
        """Load parameters written by :meth:`save` into this module, in place; returns self.

        The file is read by :class:`autograd_lite.checkpoint.NpzReader`: every member's header
        is checked against this module's keys and shapes before any array is read, and
        unexpected members are refused unread (ignored, unread, with ``strict=False``).

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If the file is missing, is not a readable ``.npz`` (corrupt, truncated, hostile, or
            needing pickle), or does not fit the module (keys, shapes); the message names the
            file. The module is unchanged when it raises.
        """
        path = Path(path)
        params = dict(self.named_parameters())
        allowed = None if not strict else (lambda key: key == _FORMAT_KEY or key in params)
        try:
            with NpzReader(path, allowed) as npz:
                tag = npz.header(_FORMAT_KEY) if _FORMAT_KEY in npz else None
                if tag is None or tag[0] != () or tag[1].kind != "U" or tag[1].itemsize > 400:
                    raise CheckpointError(
                        f"not an autograd_lite.nn checkpoint (no '{_FORMAT_KEY}' = "
                        f"{CHECKPOINT_FORMAT!r} entry)"
                    )
                present = [name for name in params if name in npz]
                for name in present:  # every header checked before any array is read
                    shape, dtype = npz.header(name)
                    if shape != params[name].data.shape:
                        raise CheckpointError(
                            f"load_state_dict: '{name}' has shape {shape} in the state but "
                            f"{params[name].data.shape} in the model"
                        )
                    if dtype.kind not in "fiu":
                        raise CheckpointError(
                            f"load_state_dict: '{name}' has dtype {dtype}, expected numbers"
                        )
                if str(npz.array(_FORMAT_KEY)) != CHECKPOINT_FORMAT:
                    raise CheckpointError(
                        f"not an autograd_lite.nn checkpoint (no '{_FORMAT_KEY}' = "
                        f"{CHECKPOINT_FORMAT!r} entry)"
                    )
                state = {_FORMAT_KEY: CHECKPOINT_FORMAT}
                state.update({name: npz.array(name) for name in present})
            return self.load_state_dict(state, strict=strict)
        except CheckpointError as error:
            message = str(error)
            raise CheckpointError(
                message if message.startswith(str(path)) else f"{path}: {message}"
            ) from None

    # -- display ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Shown inside the parentheses of ``repr``; layers override it."""
        return ""

    def _repr_children(self) -> list[tuple[str, Module]]:
        return [(k, v) for k, v in self._members() if isinstance(v, Module)]

    def __repr__(self) -> str:
        children = self._repr_children()
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


def _flatten(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _flatten(f"{name}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{name}.{key}", item)


# -- initialisation -------------------------------------------------------------------------------
_INITS = ("standard", "normalized")


def _make_rng(seed: Any, rng: Any) -> np.random.Generator:
    if seed is not None and rng is not None:
        raise ValueError("pass either seed= or rng=, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)


def init_weights(
    n_in: int, n_out: int, init: str = "standard", rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw a layer's weights ``(n_out, n_in)`` and biases ``(n_out,)``.

    ``"standard"`` is chapter 1's :math:`w, b \sim \mathcal N(0, 1)`. ``"normalized"`` is
    chapter 3's :math:`w \sim \mathcal N(0, 1/n_{in})`, :math:`b \sim \mathcal N(0, 1)`: it
    keeps :math:`z = \sum_j w_j x_j + b` of order 1, so sigmoid neurons do not start
    saturated. The weights are drawn first, then the biases.
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}")
    rng = np.random.default_rng() if rng is None else rng
    weight = rng.standard_normal((n_out, n_in))
    if init == "normalized":
        weight /= np.sqrt(n_in)
    bias = rng.standard_normal(n_out)
    return weight, bias


# -- layers ---------------------------------------------------------------------------------------
class Linear(Module):
    r"""A fully connected layer, :math:`y = x W^\top + b`, samples as rows.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    init : {"standard", "normalized"}, default "standard"
        ``"standard"``: :math:`W_{jk}, b_j \sim \mathcal N(0, 1)` (chapters 1-2).
        ``"normalized"``: :math:`W_{jk} \sim \mathcal N(0, 1/n_{in})`, :math:`b_j \sim
        \mathcal N(0, 1)` (chapter 3).
    bias : bool, default True
        Add the bias :math:`b`.
    seed : int, optional
        Seed of the generator that draws the initial values.
    rng : numpy.random.Generator, optional
        Draw from this generator instead (share one across layers); not with ``seed``.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    weight : Parameter, shape ``(n_out, n_in)``
        The chapter's :math:`w^l`.
    bias : Parameter, shape ``(n_out,)``, or None
        The chapter's :math:`b^l` as a row (its ``(n_out, 1)`` column is ``bias.reshape(-1, 1)``).

    Notes
    -----
    For a mini-batch :math:`X` of shape ``(m, n_in)`` the gradients are
    :math:`\partial C/\partial W = \Delta^\top X` and
    :math:`\partial C/\partial b = \sum_x \delta_x` with :math:`\Delta = \partial C/\partial Y`
    of shape ``(m, n_out)``: BP4 and BP3 summed over the mini-batch, transposed to rows.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str = "standard",
        bias: bool = True,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        for label, n in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {label} must be a positive int, got {n!r}")
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.init = init
        weight, b = init_weights(self.n_in, self.n_out, init, _make_rng(seed, rng))
        self.weight = Parameter(weight.astype(dtype, copy=False))
        self.bias = Parameter(b.astype(dtype, copy=False)) if bias else None

    def forward(self, x: Any) -> Tensor:
        """``x @ W.T + b`` for ``x`` of shape ``(m, n_in)`` (or ``(n_in,)``)."""
        x = _as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.n_in:
            raise ShapeError(
                f"Linear({self.n_in}, {self.n_out}): expected inputs with {self.n_in} features "
                f"in the last axis (shape (m, {self.n_in})), got shape {x.shape}"
            )
        y = ops.matmul(x, ops.transpose(self.weight))
        return y if self.bias is None else ops.add(y, self.bias)

    def extra_repr(self) -> str:
        extra = "" if self.bias is not None else ", bias=False"
        return f"{self.n_in}, {self.n_out}, init={self.init!r}{extra}"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The modules live in the list ``layers``, so parameter names read ``layers.0.weight``.
    Indexing with an int returns a module; with a slice, a new ``Sequential`` sharing them
    (``model[:-1]`` is the network up to its last activation: the logits).
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential: item {i} is a {type(m).__name__}, not a Module; wrap "
                    f"functions in a Module subclass"
                )
        self.layers: list[Module] = list(modules)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, module: Module) -> Sequential:
        """Add a module at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        self.layers.append(module)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def _repr_children(self) -> list[tuple[str, Module]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


class Sigmoid(Module):
    r""":math:`\sigma(z) = 1/(1 + e^{-z})`, elementwise; :math:`\sigma' = \sigma(1 - \sigma)`."""

    def forward(self, z: Any) -> Tensor:
        return ops.sigmoid(z)


class Tanh(Module):
    r""":math:`\tanh z`, elementwise; derivative :math:`1 - \tanh^2 z`."""

    def forward(self, z: Any) -> Tensor:
        return ops.tanh(z)


class ReLU(Module):
    r""":math:`\max(z, 0)`, elementwise; derivative 1 for :math:`z > 0`, else 0 (also at 0)."""

    def forward(self, z: Any) -> Tensor:
        return ops.relu(z)


class Softmax(Module):
    r"""Softmax along ``axis``: :math:`a_j = e^{z_j} / \sum_k e^{z_k}` (chapter 3).

    Its Jacobian is :math:`\partial a_j/\partial z_k = a_j(\delta_{jk} - a_k)`. To train with
    the log-likelihood cost, give the *logits* to :func:`~autograd_lite.log_likelihood_cost`
    (stable) rather than this layer's output.
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, z: Any) -> Tensor:
        return ops.softmax(z, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    r""":math:`\ln \mathrm{softmax}(z)_j = z_j - \ln \sum_k e^{z_k}` along ``axis``, stably."""

    def forward(self, z: Any) -> Tensor:
        return ops.log_softmax(z, axis=self.axis)


from autograd_lite.nn.conv import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402 (needs Module)

__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d"]
