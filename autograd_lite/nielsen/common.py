"""Code shared by the hand-written and the autodiff chapter-2 networks.

Both `ManualNetwork` (backpropagation written out as the
four equations BP1-BP4) and [`Network`][autograd_lite.nielsen.network.Network] (gradients from the
autodiff graph) draw their initial parameters, shuffle their training data, split it into
mini-batches, evaluate and save themselves with the code here. Two networks built with the
same ``sizes`` and ``seed`` therefore start from the same weights and see the same mini-batches
in the same order: any difference between them is a difference in how the gradient was computed.

Conventions are the chapter's: column vectors, a layer computes $z = w a + b$ with ``w`` of
shape ``(n_out, n_in)`` and ``b`` of shape ``(n_out, 1)``, and a mini-batch is a matrix whose
*columns* are the samples. Data in either of the chapter's two shapes is converted once, where
it enters ([`as_columns()`][autograd_lite.nielsen.common.as_columns]).
"""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..checkpoint import FORMAT_KEY, NpzReader, load_checkpoint, save_checkpoint
from ..datasets import one_hot
from ..errors import AutogradLiteError, CheckpointError, ShapeError, TrainingError
from ..optim import check_learning_rate

__all__ = ["validate_sizes", "initial_parameters", "make_shuffle_rng", "as_columns"]
__all__ += ["NetworkBase", "CHECKPOINT_FORMAT"]

#: Columns processed at once when a whole data set is fed forward (evaluation, training cost).
EVAL_CHUNK = 10_000

#: Format tag written into every checkpoint (see `autograd_lite.checkpoint.save_checkpoint()`).
CHECKPOINT_FORMAT = "autograd_lite.nielsen/1"


def _is_int(n: Any) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def validate_sizes(sizes: Iterable[Any]) -> list[int]:
    """``sizes`` (neurons per layer, input first, e.g. ``[784, 30, 10]``) as a list of ints; a
    ``ShapeError`` if there are fewer than two layers or a size is not a positive integer."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise ShapeError(
            f"sizes must be a list of layer widths such as [784, 30, 10], got {sizes!r}"
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ShapeError(
            f"sizes needs at least 2 layers (input and output), got {len(sizes)}: {sizes!r}"
        )
    for i, n in enumerate(sizes):
        if not _is_int(n) or n < 1:
            raise ShapeError(f"sizes[{i}] must be a positive int, got {n!r} in {sizes!r}")
    return [int(n) for n in sizes]


def initial_parameters(
    sizes: Sequence[int], seed: int | None = None, dtype: Any = np.float64
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""The chapter's initial biases and weights, all $\mathcal N(0, 1)$: drawn by
    ``np.random.RandomState(seed).randn`` in the book's order (every bias ``(sizes[l], 1)``,
    then every weight ``(sizes[l], sizes[l-1])``), Nielsen's ``network.py`` values after
    ``np.random.seed(seed)``, cast to ``dtype``."""
    sizes = validate_sizes(sizes)
    rng = np.random.RandomState(seed)  # the legacy generator: network.py's np.random.randn
    biases = [rng.randn(y, 1).astype(dtype, copy=False) for y in sizes[1:]]
    weights = [rng.randn(y, x).astype(dtype, copy=False) for x, y in zip(sizes, sizes[1:])]
    return biases, weights


def make_shuffle_rng(seed: int | None) -> np.random.Generator:
    """The generator that shuffles the training data each epoch: seeded from ``seed``, but a
    different stream from the one that drew the initial parameters."""
    return np.random.default_rng(None if seed is None else [int(seed), 0x5EED])


def as_columns(
    data: Any, sizes: Sequence[int], dtype: Any, labels: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The chapter's data, in either of its two shapes, as ``(X, Y)`` with one sample per column.

    ``data`` is the book's list of ``(x, y)`` tuples (``x`` of shape ``(sizes[0], 1)``, ``y`` a
    column of desired outputs or an int label) or a pair of arrays ``(X, Y)``: ``X`` of shape
    ``(sizes[0], m)`` (or one sample, ``(sizes[0],)``), ``Y`` of shape ``(sizes[-1], m)`` or
    ``m`` int labels. Returns ``X`` and ``Y`` of ``dtype``, ``(sizes[0], m)`` and
    ``(sizes[-1], m)`` (labels one-hot encoded), or with ``labels`` ``Y`` as ``(m,)`` int labels.
    Two 2-D arrays of ``dtype`` are returned as they are (their shapes are checked by the ops);
    the list form is stacked as rows (``X.T`` C-contiguous). Every entry point converts here.

    Raises
    ------
    ShapeError
        If a shape does not fit ``sizes`` (labels out of range: a ``DatasetError``).
    """
    n_in, n_out = sizes[0], sizes[-1]
    if data.__class__ is tuple and len(data) == 2 and not labels:  # the hot path: a step's
        X, Y = data  # batch, already two 2-D arrays of dtype, is passed on as it is
        if (
            getattr(X, "dtype", None) is dtype is getattr(Y, "dtype", None)
            and X.ndim == Y.ndim == 2
        ):
            return X, Y
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        X, Y = np.asarray(data[0], dtype=dtype), np.asarray(data[1])
        if X.ndim == 1:  # one sample: its label, or its column of desired outputs
            X, Y = X.reshape(-1, 1), Y.reshape(-1, 1) if Y.ndim else Y.reshape(1)
    else:
        samples = list(data)
        try:
            X = np.array([np.reshape(x, n_in) for x, _ in samples], dtype=dtype)
            ys = [y for _, y in samples]
            if all(np.ndim(y) == 0 for y in ys):
                Y = np.array(ys, dtype=np.intp)
            else:
                Y = np.array([np.reshape(y, n_out) for y in ys], dtype=dtype).T
        except ValueError as exc:
            raise ShapeError(
                f"every x must hold {n_in} values and every y {n_out} values or one label: {exc}"
            ) from None
        X = X.reshape(-1, n_in).T
    if X.ndim != 2 or X.shape[0] != n_in:
        raise ShapeError(f"X must have shape ({n_in}, n), one sample per column, got {X.shape}")
    m = X.shape[1]
    if Y.ndim == 1 and (Y.dtype.kind in "iu" or (m != 1 and Y.shape[0] == m)):
        Y = Y if labels else one_hot(Y, n_out, dtype).T
    elif labels:
        Y = Y.argmax(axis=0) if Y.ndim == 2 else Y.reshape(-1)
    else:
        Y = np.asarray(Y if Y.ndim == 2 else Y.reshape(-1, 1), dtype=dtype)
    if Y.shape != ((m,) if labels else (n_out, m)):
        raise ShapeError(f"Y must have shape ({n_out}, {m}) or ({m},) for X {X.shape}: {Y.shape}")
    return X, Y


_CHECKPOINT_KEY = re.compile(r"__format__|format|sizes|cost|eta|[wb]\d+")
_Net = TypeVar("_Net", bound="NetworkBase")


def _allowed(key: str) -> bool:
    return _CHECKPOINT_KEY.fullmatch(key) is not None


def _checkpoint_layout(npz: NpzReader) -> dict[str, tuple[tuple[int, ...], str]]:
    """What a checkpoint of the ``sizes`` it stores must hold (for ``load_checkpoint``)."""
    if "sizes" not in npz or "cost" not in npz:
        raise CheckpointError("not an autograd_lite checkpoint: 'sizes' or 'cost' entry missing")
    shape, dtype = npz.header("sizes")
    if len(shape) != 1 or dtype.kind not in "iu":
        raise CheckpointError(f"'sizes' must be a 1-D integer array, got {dtype} {shape}")
    try:
        sizes = validate_sizes(npz.array("sizes").tolist())
    except ShapeError as exc:
        raise CheckpointError(f"invalid 'sizes': {exc}") from None
    layout = {"sizes": ((len(sizes),), "iu"), "cost": ((), "U")}
    layout |= {"eta": ((), "f")} if "eta" in npz else {}
    layout |= {f"w{i}": ((y, x), "f") for i, (x, y) in enumerate(zip(sizes, sizes[1:]))}
    layout |= {f"b{i}": ((y, 1), "f") for i, y in enumerate(sizes[1:])}
    params = [key for key in npz.keys if key[0] in "wb"]
    if any(key not in layout for key in params):
        raise CheckpointError(f"holds {len(params)} parameter arrays, sizes {sizes} need "
                              f"{2 * len(sizes) - 2}")  # fmt: skip
    return layout


class NetworkBase:
    """Evaluation, cost, the SGD driver and checkpoints, shared by both chapter-2 networks.

    Subclasses pass ``cost`` as a class (with ``name``, ``fn`` and ``derivative``) to
    ``__init__``, and define ``_feedforward`` (on columns of the right
    dtype) and ``_update`` (one step on a mini-batch ``X``, ``Y`` of columns).
    """

    sizes: list[int]
    num_layers: int
    biases: list[np.ndarray]
    weights: list[np.ndarray]
    dtype: np.dtype
    seed: int | None
    cost: Any
    #: The learning rate of the last `SGD()`, or read from a checkpoint; saved with it.
    eta: float | None = None

    def __init__(self, sizes: Iterable[int], seed: int | None, dtype: Any, cost: Any) -> None:
        self.cost = cost
        self.sizes = validate_sizes(sizes)
        self.num_layers = len(self.sizes)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TrainingError(f"dtype must be a floating dtype such as np.float64, got {dtype}")
        if seed is not None and not _is_int(seed):
            raise TrainingError(f"seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.biases, self.weights = initial_parameters(self.sizes, self.seed, self.dtype)
        self._shuffle_rng = make_shuffle_rng(self.seed)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(sizes={self.sizes}, seed={self.seed}, "
            f"dtype=np.{self.dtype.name}, cost={self.cost.name!r})"
        )

    def _feedforward(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _sgd_update(self) -> Callable[[np.ndarray, np.ndarray, float], Any]:
        return self._update

    def _columns(self, data: Any, labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
        return as_columns(data, self.sizes, self.dtype, labels)

    def feedforward(self, a: Any) -> np.ndarray:
        r"""The output $a^L$ for ``a``: one column ``(sizes[0], 1)`` (or ``(sizes[0],)``)
        or a matrix of columns; $a \to \sigma(w a + b)$ layer by layer."""
        a = np.asarray(a, dtype=self.dtype)
        return self._feedforward(a.reshape(-1, 1) if a.ndim == 1 else a)

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:
        r"""One gradient-descent step, $w \to w - \frac{\eta}{m}\sum_x \nabla_w C_x$ (and
        ``b``), from a list of ``(x, y)`` tuples or ``(X, Y)`` columns (see `as_columns()`)."""
        self._update(*as_columns(mini_batch, self.sizes, self.dtype), eta)

    def evaluate(self, test_data: Any) -> int:
        r"""Number of test inputs whose output $\arg\max_j a^L_j$ is the label;
        ``test_data`` is the chapter's list of ``(x, label)`` tuples or ``(X, labels)``."""
        X, labels = self._columns(test_data, labels=True)
        correct = 0
        for start in range(0, X.shape[1], EVAL_CHUNK):
            out = self._feedforward(X[:, start : start + EVAL_CHUNK])
            correct += int(np.count_nonzero(out.argmax(0) == labels[start : start + EVAL_CHUNK]))
        return correct

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""The vector $\partial C_x / \partial a^L$ ($a^L - y$ for the quadratic)."""
        return self.cost.derivative(output_activations, y)

    def total_cost(self, X: Any, Y: Any = None) -> float:
        r"""Average cost $C = \frac1n \sum_x C_x$ over a data set: ``(X, Y)`` as two
        arguments or one pair (``Y`` desired outputs or int labels), or the chapter's list."""
        Xc, Yc = self._columns((X, Y) if Y is not None else X)
        n = Xc.shape[1]
        total = 0.0
        for start in range(0, n, EVAL_CHUNK):
            a = self._feedforward(Xc[:, start : start + EVAL_CHUNK])
            total += float(self.cost.fn(a, Yc[:, start : start + EVAL_CHUNK]))
        return total / n if n else 0.0

    def SGD(  # noqa: N802 - the book's name
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        test_data: Any = None,
        *,
        verbose: bool = True,
        progress: bool = False,
        callback: Callable[[int, dict[str, Any]], Any] | None = None,
        monitor_cost: bool = True,
        **extra: Any,
    ) -> list[dict[str, Any]]:
        r"""Train with mini-batch stochastic gradient descent.

        Each epoch shuffles ``training_data`` (either of the chapter's shapes, see
        `as_columns()`; converted once, to rows, so that a mini-batch is one gather), cuts
        it into consecutive mini-batches of ``mini_batch_size`` samples (the last may be
        shorter) and applies to each

        $$
        w \to w - \frac{\eta}{m} \sum_x \nabla_w C_x, \qquad
        b \to b - \frac{\eta}{m} \sum_x \nabla_b C_x,
        $$

        then, with ``test_data`` (``(x, label)`` tuples or ``(X, labels)``), evaluates.
        ``verbose`` prints ``Epoch j: correct / total (acc%) seconds`` after each epoch as the
        book does (``Epoch j complete`` without test data); ``progress`` shows a ``tqdm`` bar;
        ``callback(epoch, stats)`` is called after each epoch; ``monitor_cost`` records the
        average training cost. ``eta`` is saved as `eta`. ``extra``: ``matrix=`` for
        [`ManualNetwork`][autograd_lite.nielsen.manual.ManualNetwork].

        Returns one dict per epoch: ``epoch``, ``correct``, ``total``, ``accuracy`` (``None``
        without test data), ``cost`` (``None`` unless monitored) and ``seconds`` (training,
        evaluation excluded).

        Raises
        ------
        TrainingError
            Before any weight changes: a bad ``eta``, ``epochs`` or ``mini_batch_size``, no
            training data, or NaN/inf in the data.
        """
        if not _is_int(epochs) or epochs < 0:
            raise TrainingError(f"SGD: epochs must be a non-negative int, got {epochs!r}")
        if not _is_int(mini_batch_size) or mini_batch_size < 1:
            raise TrainingError(
                f"SGD: mini_batch_size must be a positive int, got {mini_batch_size!r}"
            )
        eta = check_learning_rate(eta, "eta (the learning rate η)")
        update = self._sgd_update(**extra)
        X, Y = self._columns(training_data)
        # Samples as C-contiguous rows: a mini-batch is one gather, viewed as columns.
        X_rows, Y_rows = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
        if X_rows.shape[0] == 0:
            raise TrainingError("SGD: the training data is empty")
        test = None if test_data is None else self._columns(test_data, labels=True)
        for name, arr in (("training inputs", X_rows), ("training targets", Y_rows),
                          ("test inputs", None if test is None else test[0])):  # fmt: skip
            if arr is not None and not np.isfinite(arr).all():
                raise TrainingError(
                    f"SGD: the {name} hold {arr.size - np.count_nonzero(np.isfinite(arr))} NaN or "
                    "inf values; clean or drop those samples first"
                )
        self.eta = eta  # saved with the parameters
        n = X_rows.shape[0]
        history: list[dict[str, Any]] = []
        for j in range(epochs):
            t0 = time.perf_counter()
            perm = self._shuffle_rng.permutation(n)
            starts: Iterable[int] = range(0, n, mini_batch_size)
            if progress:  # tqdm is imported only when a progress bar is asked for
                bar = importlib.import_module("tqdm.auto").tqdm
                starts = bar(starts, desc=f"Epoch {j}", unit="batch", leave=False)
            for k in starts:
                idx = perm[k : k + mini_batch_size]
                update(X_rows[idx].T, Y_rows[idx].T, eta)  # (n_in, m) and (n_out, m) views
            if progress:
                starts.close()  # type: ignore[attr-defined]
            stats: dict[str, Any] = {"epoch": j, "correct": None, "total": None, "accuracy": None,
                                     "cost": None, "seconds": time.perf_counter() - t0}  # fmt: skip
            if test is not None:
                correct, total = self.evaluate(test), int(test[1].shape[0])
                stats.update(
                    correct=correct, total=total, accuracy=correct / total if total else 0.0
                )
            if monitor_cost:
                stats["cost"] = self.total_cost(X_rows.T, Y_rows.T)
            history.append(stats)
            if verbose and test is not None:
                print(f"Epoch {j}: {correct} / {total} ({100.0 * stats['accuracy']:.1f}%) "
                      f"{stats['seconds']:.1f}s")  # fmt: skip
            elif verbose:
                print(f"Epoch {j} complete {stats['seconds']:.1f}s")
            if callback is not None:
                callback(j, stats)
        return history

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save ``sizes``, ``cost``, ``weights``, ``biases`` and ``eta`` (that of the last
        `SGD()`, if any) to ``.npz`` exactly at ``path``, atomically
        (`autograd_lite.checkpoint.save_checkpoint()`); returns the path.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If a parameter holds NaN or inf (nothing is written: train with a smaller η), or
            ``path`` cannot be written (missing or read-only folder, a folder at ``path``).
        """
        arrays: dict[str, Any] = {"sizes": np.asarray(self.sizes, dtype=np.int64),
                                  "cost": np.array(self.cost.name)}  # fmt: skip
        arrays |= {} if self.eta is None else {"eta": np.array(float(self.eta))}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays |= {f"w{i}": w, f"b{i}": b}
        return save_checkpoint(path, CHECKPOINT_FORMAT, arrays, "η")

    @classmethod
    def load(
        cls: type[_Net], path: str | os.PathLike[str], *, seed: int | None = None, **kwargs: Any
    ) -> _Net:
        """Build a network from a file written by `save()` (by either class), with its
        dtype, cost and learning rate (``eta``); ``seed`` seeds only later shuffling.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            One line naming the file: missing, not a safe ``.npz`` (corrupt, truncated, hostile),
            or entries, shapes, dtypes or values (NaN, inf) that do not fit its ``sizes`` (every
            header is checked against them before any parameter is read).
        """
        a = load_checkpoint(path, CHECKPOINT_FORMAT, _checkpoint_layout, allowed=_allowed,
                            tag_keys=(FORMAT_KEY, "format"), tag_required=False)  # fmt: skip
        sizes = [int(n) for n in a["sizes"]]
        weights = [a[f"w{i}"] for i in range(len(sizes) - 1)]
        biases = [a[f"b{i}"] for i in range(len(sizes) - 1)]
        eta = float(a["eta"]) if "eta" in a else None
        try:
            if len({p.dtype for p in weights + biases}) > 1:
                raise CheckpointError(
                    f"parameters mix dtypes {sorted({str(p.dtype) for p in weights + biases})}"
                )
            if eta is not None and not eta > 0:
                raise CheckpointError(f"'eta' must be a positive finite number, got {eta}")
            net = cls(sizes, seed=seed, dtype=weights[0].dtype, cost=str(a["cost"]), **kwargs)
        except AutogradLiteError as exc:
            raise CheckpointError(f"{Path(path)}: {exc}") from None
        net.weights, net.biases, net.eta = weights, biases, eta
        return net
