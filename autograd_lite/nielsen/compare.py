r"""Autodiff against BP1-BP4 by hand: the differences, layer by layer, and the time of a step.

:func:`compare` builds a :class:`~autograd_lite.nielsen.network.Network` (autodiff) and a
:class:`~autograd_lite.nielsen.manual.ManualNetwork` with the same initial parameters, feeds
both one mini-batch, and reports for every layer :math:`l = 2..L` the largest difference in
:math:`\nabla_w C`, :math:`\nabla_b C` and :math:`\delta^l` between

* the autodiff graph (one graph for the whole mini-batch),
* the chapter's per-sample backprop, summed over the samples (and, for :math:`\delta^l`, the
  per-sample :math:`\nabla_b C_x`, which BP3 says *is* :math:`\delta^l_x`), and
* the fully matrix-based manual backprop (one matrix product per layer for all samples),

plus the median wall time of one ``update_mini_batch`` step of each. The differences are
judged against :func:`round_off_bounds`, an error analysis computed from the data (relative to
the magnitudes summed, growing with the widths and the batch), not a fixed constant.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ShapeError
from .common import prepare_training_data, validate_sizes
from .manual import ManualNetwork
from .network import Network

__all__ = ["compare", "ComparisonReport", "LayerDifference", "RoundOffBounds", "round_off_bounds"]

#: Seconds each timed block of steps should last at least (the block's steps are averaged).
_BLOCK_SECONDS = 0.02


@dataclass(frozen=True)
class LayerDifference:
    r"""The largest absolute differences for one quantity of one layer.

    Attributes
    ----------
    layer : int
        The book's layer number, ``2..L`` (the input layer is 1).
    quantity : str
        ``"nabla_w"``, ``"nabla_b"`` or ``"delta"``.
    shape : tuple of int
        Shape of the compared arrays.
    vs_per_sample : float
        :math:`\max |\text{autodiff} - \text{per-sample manual}|`.
    vs_matrix : float
        :math:`\max |\text{autodiff} - \text{matrix manual}|`.
    per_sample_vs_matrix : float
        :math:`\max |\text{per-sample manual} - \text{matrix manual}|`.
    scale : float
        :math:`\max |\text{autodiff}|`, to read the differences against.
    bound : float
        The largest difference round-off can explain for any entry: twice the entrywise
        bound of :func:`round_off_bounds` (each version is within it of the exact value).
    ratio : float
        The worst entry's difference divided by *its own* bound (over the three
        comparisons): at most 1 when every difference is round-off.
    """

    layer: int
    quantity: str
    shape: tuple[int, ...]
    vs_per_sample: float
    vs_matrix: float
    per_sample_vs_matrix: float
    scale: float
    bound: float = math.inf
    ratio: float = 0.0

    @property
    def max_difference(self) -> float:
        """The largest of the three differences."""
        return max(self.vs_per_sample, self.vs_matrix, self.per_sample_vs_matrix)


@dataclass
class ComparisonReport:
    """What :func:`compare` measured; ``str(report)`` is an aligned text table.

    Attributes
    ----------
    sizes : list of int
    mini_batch_size : int
        Columns of the compared mini-batch.
    seed : int
    cost : str
    dtype : str
    rows : list of LayerDifference
        One per layer and quantity (``nabla_w``, ``nabla_b``, ``delta``), in layer order.
    max_difference : float
        The largest difference in ``rows`` (a property, as are ``tolerance``,
        ``round_off_ratio``, ``within_round_off`` and ``autodiff_over_matrix``).
    per_sample_seconds, matrix_seconds, autodiff_seconds : float
        Median wall time of one ``update_mini_batch`` step: the chapter's per-sample loop, the
        matrix-based manual step, and the autodiff step.
    timings : dict of str to list of float
        Every measured per-step time (one per repeat), by version.
    repeats : int
        How many timed blocks each median is taken over.
    """

    sizes: list[int]
    mini_batch_size: int
    seed: int
    cost: str
    dtype: str
    rows: list[LayerDifference]
    per_sample_seconds: float
    matrix_seconds: float
    autodiff_seconds: float
    repeats: int
    timings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def max_difference(self) -> float:
        """The largest difference over every layer and quantity."""
        return max((row.max_difference for row in self.rows), default=0.0)

    @property
    def tolerance(self) -> float:
        """The largest difference round-off can explain anywhere (the rows' largest ``bound``).

        Computed from the data by the error analysis of :func:`round_off_bounds`: it grows with
        the gradients' magnitude, the widths and the batch, not a fixed constant.
        """
        return max((row.bound for row in self.rows), default=0.0)

    @property
    def round_off_ratio(self) -> float:
        """The worst entry's difference over its own round-off bound (1 is the limit)."""
        return max((row.ratio for row in self.rows), default=0.0)

    @property
    def within_round_off(self) -> bool:
        """Whether every entry differs by no more than round-off explains (its own bound)."""
        return self.round_off_ratio <= 1.0

    @property
    def autodiff_over_matrix(self) -> float:
        """Time of an autodiff step divided by that of the matrix-based manual step."""
        return self.autodiff_seconds / self.matrix_seconds

    def difference(self, quantity: str, layer: int) -> LayerDifference:
        """The row for ``quantity`` (``"nabla_w"``, ``"nabla_b"``, ``"delta"``) of ``layer``."""
        for row in self.rows:
            if row.quantity == quantity and row.layer == layer:
                return row
        raise KeyError(f"no row for {quantity!r} of layer {layer}")

    def __str__(self) -> str:
        head = (
            f"Autodiff vs BP1-BP4 by hand: sizes {self.sizes}, mini-batch of "
            f"{self.mini_batch_size}, {self.cost} cost, {self.dtype}, seed {self.seed}"
        )
        names = {"nabla_w": "nabla_w", "nabla_b": "nabla_b", "delta": "delta"}
        table = [
            (
                "layer",
                "quantity",
                "shape",
                "AD-sample",
                "AD-matrix",
                "sample-matrix",
                "max|AD|",
                "bound",
            )
        ]
        for row in self.rows:
            table.append(
                (
                    str(row.layer),
                    names[row.quantity],
                    "x".join(map(str, row.shape)),
                    f"{row.vs_per_sample:.2e}",
                    f"{row.vs_matrix:.2e}",
                    f"{row.per_sample_vs_matrix:.2e}",
                    f"{row.scale:.2e}",
                    f"{row.bound:.2e}",
                )
            )
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines = [head, "", "max |difference| per layer (AD = autodiff graph):"]
        for i, r in enumerate(table):
            cells = [r[0].rjust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])]
            cells += [c.rjust(w) for c, w in zip(r[3:], widths[3:], strict=True)]
            lines.append("  " + "  ".join(cells))
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        worst = self.max_difference
        verdict = "round-off level" if self.within_round_off else "LARGER than round-off"
        lines.append(
            f"largest difference: {worst:.2e}; worst entry at {self.round_off_ratio:.2g} of its "
            f"round-off bound ({verdict}; bound = error analysis of the sums, relative to "
            "the magnitudes summed)"
        )
        lines.append("")
        lines.append(f"time per update_mini_batch step (median of {self.repeats}):")
        steps = [
            ("per-sample manual (the chapter's loop)", self.per_sample_seconds),
            ("matrix manual (one matmul per layer)", self.matrix_seconds),
            ("autodiff (the graph recorded once, replayed)", self.autodiff_seconds),
        ]
        label_w = max(len(label) for label, _ in steps)
        for label, seconds in steps:
            lines.append(
                f"  {label.ljust(label_w)}  {seconds * 1e6:10.1f} µs  "
                f"{seconds / self.matrix_seconds:6.2f} x matrix"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class RoundOffBounds:
    r"""Entrywise bounds on the round-off of BP1-BP4, from :func:`round_off_bounds`.

    Each array bounds :math:`|\text{computed} - \text{exact}|` entry by entry, for any of the
    three ways :func:`compare` computes the quantity; two computations therefore differ by at
    most twice the bound.

    Attributes
    ----------
    nabla_w, nabla_b, delta : list of numpy.ndarray
        One array per layer ``l = 2..L``, shaped like :math:`\nabla_w C`, :math:`\nabla_b C`
        and :math:`\delta^l` (one column per sample).
    z_error : list of float
        :math:`\max E^l`, the largest error bound of an entry of :math:`z^l`, ``l = 2..L``.
    """

    nabla_w: list[np.ndarray]
    nabla_b: list[np.ndarray]
    delta: list[np.ndarray]
    z_error: list[float]


def round_off_bounds(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    cost: str = "quadratic",
) -> RoundOffBounds:
    r"""First-order bounds on the round-off of a sigmoid network's backprop, computed from data.

    The analysis (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 3): with
    :math:`\varepsilon` the dtype's machine epsilon (twice the unit round-off, so every bound
    below carries a factor 2 of margin), a sum of :math:`n` terms computed in any order is off
    by at most :math:`n \varepsilon \sum |x_i|`, and so is each entry of a matrix product with
    inner dimension :math:`n`, relative to :math:`|A|\,|B|`. Errors are followed layer by layer:

    * forward: each entry of :math:`z^l = w^l a^{l-1} + b^l` is off by at most
      :math:`E^l = (n_{l-1} + 1)\varepsilon\,(|w^l|\,|a^{l-1}| + |b^l|) +
      |w^l|\,(|a^{l-1}| \odot \rho^{l-1})`, where :math:`\rho^{l-1}` is the relative error of
      :math:`a^{l-1}` (0 for the exact input); since :math:`d\sigma = \sigma(1-\sigma)\,dz`,
      :math:`\rho^l = (1 - a^l) E^l + 3\varepsilon`;
    * :math:`s = a(1 - a) = \sigma'(z)` is off by :math:`s\,(2E + 4\varepsilon) +
      2\varepsilon a`: :math:`1 - a` is exact (Sterbenz) but :math:`a` near 1 carries an
      *absolute* rounding of :math:`2\varepsilon`, large next to a saturated unit's tiny
      :math:`1 - a`;
    * BP1: :math:`\delta^L = a - y` (cross-entropy) has the magnitude :math:`D^L = a + |y|`
      and the error :math:`s E + 4\varepsilon D^L`; :math:`\delta^L = (a - y)\,s`
      (quadratic) has :math:`D^L = (a + |y|)\,s` and :math:`s^2 E + (2E + 9\varepsilon) D^L +
      2\varepsilon a (a + |y|)`;
    * BP2: with :math:`G = |w^{l+1}|^T D^{l+1}`, :math:`D^l = G \odot s^l` and the error
      :math:`\Delta^l = (|w^{l+1}|^T \Delta^{l+1}) \odot s^l + (2E^l + (n_{l+1} +
      6)\varepsilon) \odot D^l + 2\varepsilon\, a^l \odot G`;
    * BP3 and BP4 sum over the :math:`m` samples: :math:`\nabla_b` is off by at most
      :math:`\sum_x \Delta^l_x + m\varepsilon \sum_x D^l_x`, :math:`\nabla_w` by
      :math:`\Delta^l |A^{l-1}|^T + D^l (|A^{l-1}| \odot \rho^{l-1})^T +
      (m + 1)\varepsilon\, D^l |A^{l-1}|^T`.

    These are worst-case bounds (:math:`n\varepsilon`, where typical round-off grows like
    :math:`\sqrt n\,\varepsilon`): the differences actually seen are a small fraction of them.
    The magnitudes :math:`D` are the gradients of the network with every weight replaced by its
    absolute value and no cancellation allowed, so a bound is small exactly where the gradient
    is computed from small terms, and stays meaningful where large terms cancel (an absolute
    ``1e-12`` is not: it is too loose for tiny gradients and too tight for a large batch).

    Parameters
    ----------
    weights, biases : sequence of numpy.ndarray
        The network's parameters (``biases`` as columns).
    X, Y : numpy.ndarray
        The mini-batch, samples as columns.
    cost : {"quadratic", "cross-entropy"}

    Returns
    -------
    RoundOffBounds
    """
    quadratic = _cost_name(cost) == "quadratic"
    dtype = np.result_type(*weights, X)
    eps = float(np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps)
    signed = np.asarray(X, dtype=np.float64)
    Y = np.abs(np.asarray(Y, dtype=np.float64))
    m = signed.shape[1]
    # Forward: |a^l| (the input's magnitude, then activations), the relative error rho^l of
    # each entry of a^l (0 for the exact input), and the absolute error E^l of each z^l.
    inputs, input_errors, z_errors = [np.abs(signed)], [np.zeros_like(signed)], []
    for w, b in zip(weights, biases, strict=True):
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        signed = 1.0 / (1.0 + np.exp(-np.clip(w @ signed + b, -700.0, 700.0)))
        z_magnitude = np.abs(w) @ inputs[-1] + np.abs(b)
        z_error = (w.shape[1] + 1) * eps * z_magnitude + np.abs(w) @ (inputs[-1] * input_errors[-1])
        inputs.append(signed)
        input_errors.append((1.0 - signed) * z_error + 3 * eps)  # d sigma = sigma (1 - sigma) dz
        z_errors.append(z_error)
    # Backward: the magnitude D^l of delta^l and the bound on its error, entry by entry.
    a, e = inputs[-1], z_errors[-1]
    s = a * (1.0 - a)  # sigma'(z^L)
    if quadratic:
        magnitude = (a + Y) * s
        error = s * s * e + (2 * e + 9 * eps) * magnitude + 2 * eps * a * (a + Y)
    else:
        magnitude = a + Y
        error = s * e + 4 * eps * magnitude
    magnitudes, errors = [magnitude], [error]
    for l in range(len(weights) - 2, -1, -1):  # hidden layers, from the last one down
        w_next = np.abs(np.asarray(weights[l + 1], dtype=np.float64))
        a, e = inputs[l + 1], z_errors[l]
        s = a * (1.0 - a)
        back = w_next.T @ magnitude
        magnitude = back * s
        error = (
            (w_next.T @ error) * s
            + (2 * e + (w_next.shape[0] + 6) * eps) * magnitude
            + 2 * eps * a * back
        )
        magnitudes.append(magnitude)
        errors.append(error)
    magnitudes.reverse()
    errors.reverse()
    nabla_w, nabla_b, delta = [], [], []
    for l, (d, e) in enumerate(zip(magnitudes, errors, strict=True)):
        a, a_error = inputs[l], inputs[l] * input_errors[l]
        delta.append(e)
        nabla_b.append(e.sum(axis=1, keepdims=True) + m * eps * d.sum(axis=1, keepdims=True))
        nabla_w.append(e @ a.T + d @ a_error.T + (m + 1) * eps * (d @ a.T))
    errors = [float(np.max(e, initial=0.0)) for e in z_errors]
    return RoundOffBounds(nabla_w=nabla_w, nabla_b=nabla_b, delta=delta, z_error=errors)


def _cost_name(cost: Any) -> str:
    name = getattr(cost, "name", cost)
    if name not in ("quadratic", "cross-entropy"):
        raise ValueError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")
    return name


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b), initial=0.0))


def _ratio(a: np.ndarray, b: np.ndarray, allowed: np.ndarray) -> float:
    """``max |a - b| / allowed`` over the entries (0 where equal, inf where allowed is 0)."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff > 0, diff / allowed, 0.0)
    return float(np.max(ratio, initial=0.0))


def _time_steps(
    steps: dict[str, Callable[[], Any]], repeats: int, number: int | None
) -> dict[str, list[float]]:
    """Per-step seconds of each callable, ``repeats`` blocks each, interleaved between them.

    Interleaving (a block of A, of B, of C, then again) spreads any slowdown of the machine
    over all versions instead of charging it to one; the median then discards outliers.
    """
    counts = {}
    for name, step in steps.items():
        step()  # warm up (allocations, caches)
        if number is not None:
            counts[name] = number
            continue
        t0 = time.perf_counter()
        step()
        once = max(time.perf_counter() - t0, 1e-7)
        counts[name] = max(1, min(10_000, math.ceil(_BLOCK_SECONDS / once)))
    result: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            n = counts[name]
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            result[name].append((time.perf_counter() - t0) / n)
    return result


def compare(
    sizes: Sequence[int] = (784, 30, 10),
    batch: Any = None,
    seed: int = 0,
    mini_batch_size: int | None = None,
    repeats: int = 7,
    *,
    cost: str = "quadratic",
    dtype: Any = np.float64,
    eta: float = 3.0,
    number: int | None = None,
) -> ComparisonReport:
    r"""Compare the autodiff gradients and errors with BP1-BP4 by hand, and time a step of each.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths.
    batch : optional
        The mini-batch: ``(X, Y)`` with the samples as columns (``Y`` one-hot or int labels) or
        the chapter's list of ``(x, y)`` tuples. Default: ``mini_batch_size`` random inputs
        in :math:`[0, 1)` with random one-hot targets, drawn from ``seed``.
    seed : int
        Seeds the (shared) initial parameters and the default batch.
    mini_batch_size : int, optional
        Columns of the default random batch (10 if not given). With a given ``batch``, the
        number of samples it must hold: a different count raises
        :class:`~autograd_lite.errors.ShapeError` rather than comparing something else
        than was asked for.
    repeats : int
        Timed blocks per version; the reported time is their median.
    cost : {"quadratic", "cross-entropy"}
    dtype : numpy dtype
    eta : float
        Learning rate of the timed steps (it does not change their cost).
    number : int, optional
        Steps per timed block; by default enough for about 20 ms.

    Returns
    -------
    ComparisonReport

    Raises
    ------
    ShapeError
        ``mini_batch_size`` differs from the number of samples of the given ``batch``.
    """
    sizes = validate_sizes(sizes)
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    dtype = np.dtype(dtype)
    if batch is None:
        mini_batch_size = 10 if mini_batch_size is None else mini_batch_size
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be a positive int, got {mini_batch_size}")
        rng = np.random.default_rng([seed, 0xC0FFEE])
        X = rng.random((sizes[0], mini_batch_size))
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], mini_batch_size)]
        batch = (X, Y)
    # Samples as rows of a C-ordered array, viewed as columns: exactly what SGD hands a step.
    X_rows, Y_rows = prepare_training_data(batch, sizes, dtype)
    X, Y = X_rows.T, Y_rows.T
    m = X.shape[1]
    if mini_batch_size is not None and mini_batch_size != m:
        raise ShapeError(
            f"compare: a mini-batch of {mini_batch_size} was asked for, but the data given "
            f"has {m} samples; ask for at most {m}"
        )

    autodiff = Network(sizes, seed=seed, dtype=dtype, cost=cost)
    manual = ManualNetwork(sizes, seed=seed, dtype=dtype, cost=cost)

    ad_b, ad_w = autodiff.backprop(X, Y)
    ad_deltas = autodiff.deltas(X, Y)
    mx_b, mx_w = manual.backprop_matrix(X, Y)
    mx_deltas = manual.deltas(X, Y)
    # The chapter's way: backprop one sample at a time and sum. Its nabla_b for one sample is
    # that sample's delta^l (BP3), which gives the per-sample errors column by column.
    ps_b = [np.zeros_like(b) for b in manual.biases]
    ps_w = [np.zeros_like(w) for w in manual.weights]
    ps_deltas = [np.empty((n, m), dtype=dtype) for n in sizes[1:]]
    for j in range(m):
        nb, nw = manual.backprop(X[:, j : j + 1], Y[:, j : j + 1])
        for layer in range(len(nb)):
            ps_b[layer] += nb[layer]
            ps_w[layer] += nw[layer]
            ps_deltas[layer][:, j : j + 1] = nb[layer]

    bounds = round_off_bounds(manual.weights, manual.biases, X, Y, manual.cost.name)
    rows = []
    for i in range(len(sizes) - 1):
        for quantity, ad, ps, mx, bound in (
            ("nabla_w", ad_w[i], ps_w[i], mx_w[i], bounds.nabla_w[i]),
            ("nabla_b", ad_b[i], ps_b[i], mx_b[i], bounds.nabla_b[i]),
            ("delta", ad_deltas[i], ps_deltas[i], mx_deltas[i], bounds.delta[i]),
        ):
            allowed = 2 * bound  # two computations, each within bound of the exact value
            rows.append(
                LayerDifference(
                    layer=i + 2,
                    quantity=quantity,
                    shape=tuple(ad.shape),
                    vs_per_sample=_max_abs_diff(ad, ps),
                    vs_matrix=_max_abs_diff(ad, mx),
                    per_sample_vs_matrix=_max_abs_diff(ps, mx),
                    scale=float(np.max(np.abs(ad), initial=0.0)),
                    bound=float(np.max(allowed, initial=0.0)),
                    ratio=max(
                        _ratio(ad, ps, allowed), _ratio(ad, mx, allowed), _ratio(ps, mx, allowed)
                    ),
                )
            )

    # Time fresh copies, so the comparison above used the untouched initial parameters.
    per_sample_net = ManualNetwork(sizes, seed=seed, dtype=dtype, cost=cost)
    matrix_net = ManualNetwork(sizes, seed=seed, dtype=dtype, cost=cost)
    autodiff_net = Network(sizes, seed=seed, dtype=dtype, cost=cost)
    pair = (X, Y)
    timings = _time_steps(
        {
            "per-sample": lambda: per_sample_net.update_mini_batch(pair, eta),
            "matrix": lambda: matrix_net.update_mini_batch_matrix(X, Y, eta),
            "autodiff": lambda: autodiff_net.update_mini_batch(pair, eta),
        },
        repeats,
        number,
    )
    return ComparisonReport(
        sizes=sizes,
        mini_batch_size=m,
        seed=seed,
        cost=manual.cost.name,
        dtype=dtype.name,
        rows=rows,
        per_sample_seconds=statistics.median(timings["per-sample"]),
        matrix_seconds=statistics.median(timings["matrix"]),
        autodiff_seconds=statistics.median(timings["autodiff"]),
        repeats=repeats,
        timings=timings,
    )
