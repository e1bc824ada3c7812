"""Code shared by the hand-written and the autodiff chapter-2 networks.

Both :class:`~autograd_lite.nielsen.manual.ManualNetwork` (backpropagation written out as the
four equations BP1-BP4) and :class:`~autograd_lite.nielsen.network.Network` (gradients from the
autodiff graph) draw their initial parameters, shuffle their training data, split it into
mini-batches, evaluate and save themselves with the functions here. Two networks built with the
same ``sizes`` and ``seed`` therefore start from the same weights and see the same mini-batches
in the same order: they train in lockstep, and any difference between them is a difference in
how the gradient was computed.

Conventions are the chapter's: column vectors, a layer computes :math:`z = w a + b` with ``w`` of
shape ``(n_out, n_in)`` and ``b`` of shape ``(n_out, 1)``, and a mini-batch is a matrix whose
*columns* are the samples.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from ..checkpoint import NpzReader, refuse_non_finite, write_npz
from ..errors import CheckpointError, TrainingError
from ..optim import check_learning_rate

__all__ = [
    "validate_sizes",
    "initial_parameters",
    "make_shuffle_rng",
    "prepare_training_data",
    "prepare_test_data",
    "split_mini_batch",
    "count_correct",
    "check_eta",
    "run_sgd",
    "save_checkpoint",
    "load_checkpoint",
    "NetworkBase",
]

#: Columns processed at once when a whole data set is fed forward (evaluation, training cost).
EVAL_CHUNK = 10_000

#: Version tag written into every checkpoint.
CHECKPOINT_FORMAT = "autograd_lite.nielsen/1"


# ---------------------------------------------------------------------------------------------
# Architecture and initial parameters
# ---------------------------------------------------------------------------------------------


def validate_sizes(sizes: Iterable[Any]) -> list[int]:
    """Check a layer-size list and return it as a list of Python ints.

    Parameters
    ----------
    sizes : iterable of int
        Neurons per layer, input layer first, e.g. ``[784, 30, 10]``.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        If there are fewer than two layers or a size is not a positive integer.
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise ValueError(
            f"sizes must be a list of layer widths such as [784, 30, 10], got {sizes!r}"
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"sizes needs at least 2 layers (input and output), got {len(sizes)}: {sizes!r}"
        )
    out = []
    for i, n in enumerate(sizes):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"sizes[{i}] must be a positive int, got {n!r} in {sizes!r}")
        out.append(int(n))
    return out


def initial_parameters(
    sizes: Sequence[int], seed: int | None = None, dtype: Any = np.float64
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Draw the chapter's initial biases and weights, all :math:`\mathcal N(0, 1)`.

    The draws come from ``np.random.RandomState(seed).randn`` in the book's order -- first
    every bias vector ``b^l`` of shape ``(sizes[l], 1)`` for ``l = 1 .. L-1``, then every
    weight matrix ``w^l`` of shape ``(sizes[l], sizes[l-1])`` in the same layer order. So any
    two networks built with the same ``sizes`` and ``seed`` start from identical values, and
    those are exactly the values of Nielsen's ``network.py`` run after ``np.random.seed(seed)``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, validated with :func:`validate_sizes`.
    seed : int or None
        Seed of the generator; ``None`` draws fresh entropy.
    dtype : numpy dtype
        Floating dtype of the returned arrays (values are drawn in float64, then cast).

    Returns
    -------
    biases, weights : list of numpy.ndarray
    """
    sizes = validate_sizes(sizes)
    rng = np.random.RandomState(seed)  # the legacy generator: network.py's np.random.randn
    biases = [rng.randn(y, 1).astype(dtype, copy=False) for y in sizes[1:]]
    weights = [
        rng.randn(y, x).astype(dtype, copy=False)
        for x, y in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    return biases, weights


def make_shuffle_rng(seed: int | None) -> np.random.Generator:
    """The generator that shuffles the training data each epoch.

    It is seeded from the network's ``seed`` but is a different stream from the one that drew
    the initial parameters, so two networks with the same seed shuffle identically.
    """
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), 0x5EED])


def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating dtype such as np.float64, got {dt}")
    return dt


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _one_hot(labels: np.ndarray, n_out: int, dtype: Any) -> np.ndarray:
    """Rows ``e_label`` of length ``n_out``: shape ``(n, n_out)``."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_out):
        raise ValueError(f"labels must lie in 0..{n_out - 1}, got values outside that range")
    out = np.zeros((labels.size, n_out), dtype=dtype)
    out[np.arange(labels.size), labels.astype(np.intp, copy=False)] = 1
    return out


def is_array_pair(data: Any) -> bool:
    """``(X, Y)`` arrays rather than the chapter's list of ``(x, y)`` tuples."""
    return (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], np.ndarray)
        and data[0].ndim == 2
    )


def prepare_training_data(
    training_data: Any, sizes: Sequence[int], dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Convert training data, once, to two C-ordered arrays with one sample per row.

    Parameters
    ----------
    training_data
        Either the chapter's format, a list of ``(x, y)`` tuples with ``x`` of shape
        ``(sizes[0], 1)`` and ``y`` of shape ``(sizes[-1], 1)`` (or an int label), or a pair of
        arrays ``(X, Y)`` with the samples as columns: ``X`` of shape ``(sizes[0], n)`` and
        ``Y`` of shape ``(sizes[-1], n)`` (or a length-``n`` vector of int labels).
    sizes : sequence of int
    dtype : numpy dtype

    Returns
    -------
    X_rows, Y_rows : numpy.ndarray
        Shapes ``(n, sizes[0])`` and ``(n, sizes[-1])``, C-contiguous. A mini-batch is then
        ``X_rows[idx].T``: one contiguous gather, viewed with the samples as columns.
    """
    n_in, n_out = sizes[0], sizes[-1]
    if is_array_pair(training_data):
        X, Y = training_data
        Y = np.asarray(Y)
        if X.shape[0] != n_in:
            raise ValueError(f"training X must have shape ({n_in}, n), got {X.shape}")
        n = X.shape[1]
        # X.T of a Fortran-ordered (n_in, n) array is already C-contiguous: no copy then.
        X_rows = np.ascontiguousarray(X.T, dtype=dtype)
        if Y.ndim == 1:
            Y_rows = _one_hot(Y, n_out, dtype)
        else:
            Y_rows = np.ascontiguousarray(Y.T, dtype=dtype)
        if Y_rows.shape != (n, n_out):
            raise ValueError(
                f"training Y must have shape ({n_out}, {n}) or ({n},), got {np.shape(Y)}"
            )
        return X_rows, Y_rows

    data = list(training_data)
    if not data:
        raise ValueError("training_data is empty")
    try:
        X_rows = np.array([np.reshape(x, n_in) for x, _ in data], dtype=dtype)
    except ValueError as exc:
        raise ValueError(
            f"every training x must hold {n_in} values (shape ({n_in}, 1)): {exc}"
        ) from None
    ys = [y for _, y in data]
    if all(np.ndim(y) == 0 for y in ys):
        Y_rows = _one_hot(np.array(ys), n_out, dtype)
    else:
        try:
            Y_rows = np.array([np.reshape(y, n_out) for y in ys], dtype=dtype)
        except ValueError as exc:
            raise ValueError(
                f"every training y must hold {n_out} values (shape ({n_out}, 1)): {exc}"
            ) from None
    return X_rows, Y_rows


def prepare_test_data(
    test_data: Any, sizes: Sequence[int], dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Convert test data to ``(X, labels)``: inputs as columns and integer labels.

    Parameters
    ----------
    test_data
        The chapter's list of ``(x, label)`` tuples (``label`` an int, or a one-hot column), or
        ``(X, labels)`` with ``X`` of shape ``(sizes[0], n)`` and ``labels`` of shape ``(n,)``
        (or one-hot, ``(sizes[-1], n)``).

    Returns
    -------
    X : numpy.ndarray, shape ``(sizes[0], n)``
    labels : numpy.ndarray of int, shape ``(n,)``
    """
    n_in = sizes[0]
    if is_array_pair(test_data):
        X, labels = test_data
        X = np.asarray(X, dtype=dtype)
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=0)
    else:
        data = list(test_data)
        if not data:
            return np.zeros((n_in, 0), dtype=dtype), np.zeros(0, dtype=np.intp)
        try:
            X = np.array([np.reshape(x, n_in) for x, _ in data], dtype=dtype).T
        except ValueError as exc:
            raise ValueError(f"every test x must hold {n_in} values: {exc}") from None
        labels = np.array([int(y) if np.ndim(y) == 0 else int(np.argmax(y)) for _, y in data])
    if X.ndim != 2 or X.shape[0] != n_in or labels.shape != (X.shape[1],):
        raise ValueError(
            f"test data must be X of shape ({n_in}, n) with n labels, "
            f"got X {X.shape} and labels {labels.shape}"
        )
    return X, labels


def split_mini_batch(mini_batch: Any, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A mini-batch as two matrices ``(X, Y)`` whose columns are the samples.

    Accepts the chapter's list of ``(x, y)`` column-vector tuples or an ``(X, Y)`` pair (which
    is returned unchanged, so this costs nothing on the hot path).
    """
    if isinstance(mini_batch, tuple) and len(mini_batch) == 2 and hasattr(mini_batch[0], "ndim"):
        return mini_batch
    batch = list(mini_batch)
    if not batch:
        raise ValueError("mini_batch is empty")
    X = np.concatenate([np.reshape(x, (-1, 1)) for x, _ in batch], axis=1)
    Y = np.concatenate([np.reshape(y, (-1, 1)) for _, y in batch], axis=1)
    if dtype is not None:
        X = X.astype(dtype, copy=False)
        Y = Y.astype(dtype, copy=False)
    return X, Y


def count_correct(
    feedforward: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    labels: np.ndarray,
    chunk: int = EVAL_CHUNK,
) -> int:
    r"""Number of columns of ``X`` whose output's argmax equals the label.

    The chapter's ``evaluate``, :math:`\sum_x [\arg\max_j a^L_j(x) = y(x)]`, vectorised: the
    samples go through the network ``chunk`` columns at a time.
    """
    correct = 0
    for start in range(0, X.shape[1], chunk):
        out = feedforward(X[:, start : start + chunk])
        correct += int(np.count_nonzero(out.argmax(axis=0) == labels[start : start + chunk]))
    return correct


# ---------------------------------------------------------------------------------------------
# Stochastic gradient descent
# ---------------------------------------------------------------------------------------------


def check_eta(eta: Any) -> float:
    """``eta`` as a float, if it is a finite positive real number (see
    :func:`autograd_lite.optim.check_learning_rate`, which raises ``TrainingError`` or
    ``InvalidInputError``)."""
    return check_learning_rate(eta, "eta (the learning rate η)")


class _Trainable(Protocol):
    sizes: list[int]
    dtype: np.dtype
    eta: float | None

    def feedforward(self, a: np.ndarray) -> np.ndarray: ...

    def total_cost(self, X: Any, Y: Any = None) -> float: ...


def run_sgd(
    network: _Trainable,
    update: Callable[[tuple[np.ndarray, np.ndarray], float], Any],
    rng: np.random.Generator,
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
) -> list[dict[str, Any]]:
    """Mini-batch stochastic gradient descent, the driver both networks share.

    Each epoch shuffles the training samples with ``rng``, cuts them into consecutive
    mini-batches of ``mini_batch_size`` columns (the last one may be shorter) and calls
    ``update((X, Y), eta)`` on each; then it evaluates on ``test_data`` if given and reports.

    Parameters
    ----------
    network
        Supplies ``sizes``, ``dtype``, ``feedforward`` and ``total_cost``.
    update : callable
        ``update((X, Y), eta)``, e.g. the network's ``update_mini_batch``.
    rng : numpy.random.Generator
        The shuffling generator (see :func:`make_shuffle_rng`).
    training_data, test_data
        See :func:`prepare_training_data` and :func:`prepare_test_data`; converted once here.
    epochs, mini_batch_size : int
    eta : float
        Learning rate :math:`\\eta`.
    verbose : bool
        Print ``Epoch j: correct / total (acc%) seconds`` after each epoch, as the book does.
    progress : bool
        Show a ``tqdm`` progress bar over each epoch's mini-batches.
    callback : callable, optional
        Called as ``callback(epoch, stats)`` after each epoch with that epoch's dict.
    monitor_cost : bool
        Compute the average cost on the whole training set after each epoch (one vectorised
        forward pass, a small fraction of an epoch); ``False`` records ``None``.

    Returns
    -------
    list of dict
        One per epoch with keys ``epoch``, ``correct``, ``total``, ``accuracy`` (``None``
        without test data), ``cost`` (``None`` unless monitored) and ``seconds`` (wall time of
        the epoch's training, evaluation excluded).
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if not isinstance(mini_batch_size, (int, np.integer)) or mini_batch_size < 1:
        raise ValueError(f"mini_batch_size must be a positive int, got {mini_batch_size!r}")
    eta = check_eta(eta)
    sizes, dtype = network.sizes, network.dtype
    X_rows, Y_rows = prepare_training_data(training_data, sizes, dtype)
    test = None if test_data is None else prepare_test_data(test_data, sizes, dtype)
    for name, arr in (("training inputs", X_rows), ("training targets", Y_rows)):
        if not np.isfinite(arr).all():
            raise TrainingError(
                f"SGD: the {name} hold {arr.size - np.count_nonzero(np.isfinite(arr))} NaN or "
                "inf values; clean or drop those samples before training"
            )
    if test is not None and not np.isfinite(test[0]).all():
        raise TrainingError("SGD: the test inputs hold NaN or inf values; clean them first")
    network.eta = eta  # saved with the parameters
    n = X_rows.shape[0]
    starts = range(0, n, mini_batch_size)
    history: list[dict[str, Any]] = []
    for j in range(epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(n)
        batches: Iterable[int] = starts
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(starts, desc=f"Epoch {j}", unit="batch", leave=False)
            batches = bar
        for k in batches:
            idx = perm[k : k + mini_batch_size]
            # One gather of contiguous rows, viewed as columns: (n_in, m) and (n_out, m).
            update((X_rows[idx].T, Y_rows[idx].T), eta)
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - t0
        stats: dict[str, Any] = {
            "epoch": j,
            "correct": None,
            "total": None,
            "accuracy": None,
            "cost": None,
            "seconds": seconds,
        }
        if test is not None:
            correct = count_correct(network.feedforward, *test)
            total = int(test[1].shape[0])
            stats.update(correct=correct, total=total, accuracy=correct / total if total else 0.0)
        if monitor_cost:
            stats["cost"] = network.total_cost(X_rows.T, Y_rows.T)
        history.append(stats)
        if verbose:
            if test is not None:
                print(
                    f"Epoch {j}: {stats['correct']} / {stats['total']} "
                    f"({100.0 * stats['accuracy']:.1f}%) {seconds:.1f}s"
                )
            else:
                print(f"Epoch {j} complete {seconds:.1f}s")
        if callback is not None:
            callback(j, stats)
    return history


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike[str],
    sizes: Sequence[int],
    cost: str,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    eta: float | None = None,
) -> Path:
    """Write ``sizes``, ``cost``, ``weights``, ``biases`` (and ``eta``) to ``.npz`` at ``path``.

    The file is written exactly at ``path`` (no ``.npz`` suffix is added) and atomically, by
    :func:`autograd_lite.checkpoint.write_npz`. Nothing in it needs pickle to load. ``eta``,
    the learning rate last trained with, is stored when given; the dtype is the parameters'.

    Raises
    ------
    CheckpointError
        If a parameter holds NaN or inf (nothing is written), or ``path`` cannot be written.
    """
    arrays: dict[str, np.ndarray] = {
        "format": np.array(CHECKPOINT_FORMAT),
        "sizes": np.asarray(sizes, dtype=np.int64),
        "cost": np.array(str(cost)),
    }
    if eta is not None:
        arrays["eta"] = np.array(float(eta))
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        arrays[f"w{i}"] = np.asarray(w)
        arrays[f"b{i}"] = np.asarray(b)
    refuse_non_finite(path, arrays, "η")
    return write_npz(path, arrays)


_CHECKPOINT_KEY = re.compile(r"format|sizes|cost|eta|[wb]\d+")


def load_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[list[int], str, list[np.ndarray], list[np.ndarray]]:
    """Read and check a file written by :func:`save_checkpoint`.

    Every member's header is checked against ``sizes`` before any parameter is read (see
    :class:`autograd_lite.checkpoint.NpzReader`). The stored ``eta``, if any, is read by
    :func:`load_checkpoint_eta`.

    Returns
    -------
    sizes, cost, weights, biases

    Raises
    ------
    CheckpointError
        With a one-line message naming the file, if it is missing, not a valid ``.npz`` (corrupt,
        truncated or hostile), lacks an entry or holds an unexpected one, or its shapes, dtypes
        or values (non-finite) do not fit its ``sizes``.
    """
    sizes, cost, weights, biases, _ = _read_checkpoint(path)
    return sizes, cost, weights, biases


def _read_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[list[int], str, list[np.ndarray], list[np.ndarray], float | None]:
    path = Path(path)

    def fail(why: str) -> CheckpointError:
        return CheckpointError(f"{path}: {why}")

    with NpzReader(path, allowed=_CHECKPOINT_KEY.fullmatch) as npz:
        if "sizes" not in npz or "cost" not in npz:
            raise fail("not an autograd_lite checkpoint: 'sizes' or 'cost' entry missing")
        shape, dtype = npz.header("sizes")
        if len(shape) != 1 or dtype.kind not in "iu":
            raise fail(f"'sizes' must be a 1-D integer array, got {dtype} {shape}")
        try:
            sizes = validate_sizes(npz.array("sizes").tolist())
        except ValueError as exc:
            raise fail(f"invalid 'sizes': {exc}") from None
        if npz.header("cost")[0] != () or npz.header("cost")[1].kind != "U":
            raise fail("'cost' must be a string")
        if "eta" in npz and (npz.header("eta")[0] != () or npz.header("eta")[1].kind != "f"):
            raise fail("'eta' must be one floating-point number")
        layers = list(enumerate(zip(sizes[:-1], sizes[1:], strict=True)))
        expected = [(f"w{i}", (y, x)) for i, (x, y) in layers]
        expected += [(f"b{i}", (y, 1)) for i, (x, y) in layers]
        dtypes = set()
        for key, shape in expected:  # every header checked before any parameter is read
            if key not in npz:
                raise fail(f"entry '{key}' missing for sizes {sizes}")
            have, dtype = npz.header(key)
            if have != shape:
                raise fail(f"'{key}' has shape {have}, expected {shape} for sizes {sizes}")
            if dtype.kind != "f":
                raise fail(f"'{key}' has dtype {dtype}, expected a floating dtype")
            dtypes.add(dtype)
        n_params = sum(1 for key in npz.keys if key[0] in "wb")
        if n_params != 2 * (len(sizes) - 1):
            raise fail(
                f"holds {n_params} parameter arrays, sizes {sizes} need {2 * (len(sizes) - 1)}"
            )
        if len(dtypes) > 1:
            raise fail(f"parameters mix dtypes {sorted(map(str, dtypes))}")
        cost = str(npz.array("cost"))
        eta = float(npz.array("eta")) if "eta" in npz else None
        if eta is not None and not (math.isfinite(eta) and eta > 0):
            raise fail(f"'eta' must be a positive finite number, got {eta}")
        params = {}
        for key, _ in expected:
            arr = npz.array(key)
            if not np.all(np.isfinite(arr)):
                raise fail(f"'{key}' holds non-finite values (NaN or inf)")
            params[key] = arr
    weights = [params[f"w{i}"] for i, _ in layers]
    biases = [params[f"b{i}"] for i, _ in layers]
    return sizes, cost, weights, biases, eta


# ---------------------------------------------------------------------------------------------
# What both networks share
# ---------------------------------------------------------------------------------------------


_Net = TypeVar("_Net", bound="NetworkBase")


class NetworkBase:
    """Evaluation, cost, SGD driver and checkpoints shared by both chapter-2 networks.

    Subclasses set ``sizes``, ``num_layers``, ``biases``, ``weights``, ``dtype``, ``seed``,
    ``cost`` (a cost class with ``name``, ``fn`` and ``derivative``) and ``_shuffle_rng`` in
    ``__init__``, and define ``feedforward`` and ``update_mini_batch``.
    """

    sizes: list[int]
    num_layers: int
    biases: list[np.ndarray]
    weights: list[np.ndarray]
    dtype: np.dtype
    seed: int | None
    cost: Any
    _shuffle_rng: np.random.Generator
    #: The learning rate of the last :meth:`SGD`, or read from a checkpoint; saved with it.
    eta: float | None = None

    def _init_common(self, sizes: Iterable[int], seed: int | None, dtype: Any) -> None:
        self.sizes = validate_sizes(sizes)
        self.num_layers = len(self.sizes)
        self.dtype = _check_dtype(dtype)
        if seed is not None and (
            isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))
        ):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.biases, self.weights = initial_parameters(self.sizes, self.seed, self.dtype)
        self._shuffle_rng = make_shuffle_rng(self.seed)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(sizes={self.sizes}, seed={self.seed}, "
            f"dtype=np.{self.dtype.name}, cost={self.cost.name!r})"
        )

    def feedforward(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- the chapter's API --------------------------------------------------------------------

    def evaluate(self, test_data: Any) -> int:
        r"""Number of test inputs for which the network outputs the correct result.

        The output is the index of the most activated final neuron, :math:`\arg\max_j a^L_j`.
        ``test_data`` is the chapter's list of ``(x, label)`` tuples or ``(X, labels)``.
        """
        X, labels = prepare_test_data(test_data, self.sizes, self.dtype)
        return count_correct(self.feedforward, X, labels)

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""The vector of partial derivatives :math:`\partial C_x / \partial a^L`.

        For the quadratic cost :math:`C_x = \tfrac12\|y - a^L\|^2` this is :math:`a^L - y`.
        """
        return self.cost.derivative(output_activations, y)

    def total_cost(self, X: Any, Y: Any = None) -> float:
        r"""Average cost :math:`C = \frac1n \sum_x C_x` over a data set.

        Accepts ``(X, Y)`` as two arguments or one pair, with the samples as columns (``Y``
        one-hot or int labels), or the chapter's list of ``(x, y)`` tuples.
        """
        data = (X, Y) if Y is not None else X
        if is_array_pair(data) and np.ndim(data[1]) == 2 and data[0].dtype == self.dtype:
            Xc, Yc = data
        else:
            X_rows, Y_rows = prepare_training_data(data, self.sizes, self.dtype)
            Xc, Yc = X_rows.T, Y_rows.T
        n = Xc.shape[1]
        if n == 0:
            return 0.0
        total = 0.0
        for start in range(0, n, EVAL_CHUNK):
            a = self.feedforward(Xc[:, start : start + EVAL_CHUNK])
            total += float(self.cost.fn(a, Yc[:, start : start + EVAL_CHUNK]))
        return total / n

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
    ) -> list[dict[str, Any]]:
        r"""Train with mini-batch stochastic gradient descent.

        Each epoch shuffles ``training_data``, splits it into mini-batches of
        ``mini_batch_size`` samples and applies :meth:`update_mini_batch`,

        .. math:: w \to w - \frac{\eta}{m} \sum_x \nabla_w C_x, \qquad
                  b \to b - \frac{\eta}{m} \sum_x \nabla_b C_x,

        then, if ``test_data`` is given, prints ``Epoch j: correct / total (acc%) seconds``.

        Parameters
        ----------
        training_data
            List of ``(x, y)`` tuples (``x`` of shape ``(sizes[0], 1)``, ``y`` one-hot of shape
            ``(sizes[-1], 1)``) or ``(X, Y)`` arrays with the samples as columns.
        epochs, mini_batch_size : int
        eta : float
            The learning rate.
        test_data : optional
            List of ``(x, label)`` tuples or ``(X, labels)`` arrays.
        verbose, progress, callback, monitor_cost
            See :func:`autograd_lite.nielsen.common.run_sgd`.

        Returns
        -------
        list of dict
            Per-epoch statistics: ``epoch, correct, total, accuracy, cost, seconds``.
        """
        return run_sgd(
            self,
            self.update_mini_batch,
            self._shuffle_rng,
            training_data,
            epochs,
            mini_batch_size,
            eta,
            test_data,
            verbose=verbose,
            progress=progress,
            callback=callback,
            monitor_cost=monitor_cost,
        )

    # -- checkpoints --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save ``sizes``, ``cost``, ``weights``, ``biases`` and ``eta`` to ``.npz`` at ``path``.

        ``eta`` is the learning rate of the last :meth:`SGD` (left out if there was none); the
        dtype is the parameters'. Returns the path written. Load it back with :meth:`load`.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If a parameter holds NaN or inf (nothing is written: train with a smaller η), or
            ``path`` cannot be written (missing or read-only folder, a folder at ``path``).
        """
        return save_checkpoint(
            path, self.sizes, self.cost.name, self.weights, self.biases, eta=self.eta
        )

    @classmethod
    def load(
        cls: type[_Net], path: str | os.PathLike[str], *, seed: int | None = None, **kwargs: Any
    ) -> _Net:
        """Build a network from a file written by :meth:`save`.

        The stored dtype and cost are kept, and the stored learning rate becomes ``eta``
        (``None`` for files saved before it was stored). ``seed`` seeds only the shuffling of
        later training.

        Raises
        ------
        autograd_lite.errors.CheckpointError
            If the file is missing, corrupt, truncated or inconsistent.
        """
        sizes, cost, weights, biases, eta = _read_checkpoint(path)
        try:
            net = cls(sizes, seed=seed, dtype=weights[0].dtype, cost=cost, **kwargs)
        except ValueError as exc:
            raise CheckpointError(f"{Path(path)}: {exc}") from None
        net.weights = [np.array(w) for w in weights]
        net.biases = [np.array(b) for b in biases]
        net.eta = eta
        return net
