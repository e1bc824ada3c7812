"""Factories for tensors, with PyTorch's names: `tensor()`, `zeros()`, `ones()`,
`full()`, `arange()`, `randn()`, `rand()` and the ``*_like`` forms.

Each returns a leaf [`Tensor`][autograd_lite.tensor.Tensor] of float64 unless ``dtype`` says
otherwise (a floating-point dtype: a Tensor holds floats). The random ones take ``seed=`` or a
NumPy ``rng=`` (a `numpy.random.Generator`), never a hidden global state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from autograd_lite.errors import InvalidArgumentError, InvalidInputError, ShapeError
from autograd_lite.tensor import Tensor, as_array, float_dtype

__all__ = [
    "tensor",
    "zeros",
    "ones",
    "full",
    "arange",
    "randn",
    "rand",
    "zeros_like",
    "ones_like",
    "full_like",
    "randn_like",
    "rand_like",
]

#: The largest number of elements a factory allocates (2**31: 16 GiB of float64), so that a
#: typo in a size gives an error rather than a MemoryError.
MAX_ELEMENTS = 2**31


def _dtype(name: str, dtype: DTypeLike | None) -> np.dtype:
    return np.dtype(np.float64) if dtype is None else float_dtype(name, dtype)


def _size(name: str, size: tuple[Any, ...]) -> tuple[int, ...]:
    """``zeros(2, 3)`` or ``zeros((2, 3))`` -> ``(2, 3)``, checked."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise InvalidInputError(f"{name}: sizes must be ints, got {n!r} in {size}")
        if n < 0:
            raise ShapeError(f"{name}: sizes must be >= 0, got {size}")
    shape = tuple(int(n) for n in size)
    if int(np.prod(shape, dtype=object)) > MAX_ELEMENTS:
        raise ShapeError(
            f"{name}: a tensor of shape {shape} has more than {MAX_ELEMENTS} elements; "
            f"check the sizes"
        )
    return shape


def _dims_or_size(name: str, dims: tuple[Any, ...], size: Any) -> tuple[Any, ...]:
    """The sizes given by position (``zeros(2, 3)``) or as PyTorch's ``size=`` keyword."""
    if size is None:
        return dims
    if dims:
        raise InvalidArgumentError(f"{name}: give the sizes by position or as size=, not both")
    return (size,)


def tensor(
    data: ArrayLike | Tensor, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A new leaf tensor holding a *copy* of ``data`` (like ``torch.tensor``).

    Floating-point data keeps its dtype (float32 stays float32) unless ``dtype`` is given;
    integers and booleans become float64. A Tensor given as ``data`` is copied and detached.
    """
    source = data.detach().numpy() if isinstance(data, Tensor) else data
    array = np.array(as_array(source, None if dtype is None else _dtype("tensor", dtype)))
    return Tensor(array, requires_grad=requires_grad)


def zeros(
    *dims: Any,
    size: Any = None,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size("zeros", _dims_or_size("zeros", dims, size))
    return full(shape, 0.0, dtype=dtype, requires_grad=requires_grad)


def ones(
    *dims: Any,
    size: Any = None,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    shape = _size("ones", _dims_or_size("ones", dims, size))
    return full(shape, 1.0, dtype=dtype, requires_grad=requires_grad)


def full(
    size: Sequence[int] | int,
    fill_value: float,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (a real number)."""
    shape = _size("full", (size,) if isinstance(size, (int, np.integer)) else tuple(size))
    if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, np.number)):
        raise InvalidInputError(f"full: fill_value must be a number, got {fill_value!r}")
    if isinstance(fill_value, (complex, np.complexfloating)):
        raise InvalidInputError(f"full: fill_value must be real, got {fill_value!r}")
    return Tensor(
        np.full(shape, fill_value, dtype=_dtype("full", dtype)), requires_grad=requires_grad
    )


def _like(name: str, other: Tensor | ArrayLike, dtype: DTypeLike | None) -> tuple:
    shape = np.shape(other.data if isinstance(other, Tensor) else other)
    if dtype is None and isinstance(other, Tensor):
        dtype = other.dtype
    elif dtype is None:
        kind = np.asarray(other).dtype
        dtype = kind if kind.kind == "f" else None
    return shape, _dtype(name, dtype)


def zeros_like(
    other: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of ``other``'s shape (and dtype, unless ``dtype`` is given)."""
    shape, resolved = _like("zeros_like", other, dtype)
    return Tensor(np.zeros(shape, dtype=resolved), requires_grad=requires_grad)


def ones_like(
    other: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """Ones of ``other``'s shape (and dtype, unless ``dtype`` is given)."""
    shape, resolved = _like("ones_like", other, dtype)
    return Tensor(np.ones(shape, dtype=resolved), requires_grad=requires_grad)


def full_like(
    other: Tensor | ArrayLike,
    fill_value: float,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` in ``other``'s shape (and dtype, unless ``dtype`` is given)."""
    shape, resolved = _like("full_like", other, dtype)
    return full(shape, fill_value, dtype=resolved, requires_grad=requires_grad)


def arange(
    start: float | None = None,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded): ``arange(5)`` is 0..4, as in
    PyTorch and NumPy; ``arange(end=5)`` too."""
    if start is None and end is None:
        raise InvalidArgumentError("arange: give end (arange(5), arange(end=5)) or start, end")
    if end is None:
        start, end = 0, start
    elif start is None:
        start = 0
    for what, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidInputError(f"arange: {what} must be a real number, got {value!r}")
        if not np.isfinite(value):
            raise InvalidArgumentError(f"arange: {what} must be finite, got {value!r}")
    if step == 0:
        raise InvalidArgumentError("arange: step must not be 0")
    assert start is not None  # (for type checkers: set above)
    count = max(0, int(np.ceil((end - start) / step)))
    if count > MAX_ELEMENTS:
        raise ShapeError(f"arange: {count} elements is more than {MAX_ELEMENTS}; check the bounds")
    values = np.arange(start, end, step, dtype=_dtype("arange", dtype))
    return Tensor(values, requires_grad=requires_grad)


def _generator(name: str, rng: np.random.Generator | None, seed: int | None) -> Any:
    if rng is not None and seed is not None:
        raise InvalidArgumentError(f"{name}: pass rng= or seed=, not both")
    if rng is None:
        return np.random.default_rng(seed)
    if not isinstance(rng, np.random.Generator):
        raise InvalidInputError(
            f"{name}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def randn(
    *dims: Any,
    size: Any = None,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples of shape ``size`` from ``rng`` (or a generator seeded by
    ``seed``; fresh entropy when both are None)."""
    shape = _size("randn", _dims_or_size("randn", dims, size))
    resolved = _dtype("randn", dtype)
    native = resolved if resolved == np.float32 else np.dtype(np.float64)
    values = _generator("randn", rng, seed).standard_normal(shape, dtype=native)
    return Tensor(values.astype(resolved, copy=False), requires_grad=requires_grad)


def rand(
    *dims: Any,
    size: Any = None,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` of shape ``size`` from ``rng`` (or a generator seeded by
    ``seed``)."""
    shape = _size("rand", _dims_or_size("rand", dims, size))
    resolved = _dtype("rand", dtype)
    native = resolved if resolved == np.float32 else np.dtype(np.float64)
    values = _generator("rand", rng, seed).random(shape, dtype=native)
    return Tensor(values.astype(resolved, copy=False), requires_grad=requires_grad)


def randn_like(
    other: Tensor | ArrayLike,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Standard normal samples of ``other``'s shape (and dtype, unless ``dtype`` is given)."""
    shape, resolved = _like("randn_like", other, dtype)
    return randn(shape, rng=rng, seed=seed, dtype=resolved, requires_grad=requires_grad)


def rand_like(
    other: Tensor | ArrayLike,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` of ``other``'s shape (and dtype, unless ``dtype`` is
    given)."""
    shape, resolved = _like("rand_like", other, dtype)
    return rand(shape, rng=rng, seed=seed, dtype=resolved, requires_grad=requires_grad)
