r"""Autodiff against BP1-BP4 by hand: the differences, layer by layer, and the time of a step.

:func:`compare` builds a :class:`~autograd_lite.nielsen.network.Network` (autodiff) and a
:class:`~autograd_lite.nielsen.manual.ManualNetwork` with the same initial parameters, feeds
both one mini-batch, and reports for every layer :math:`l = 2..L` the largest difference in
:math:`\nabla_w C`, :math:`\nabla_b C` and :math:`\delta^l` between

* the autodiff graph (one graph for the whole mini-batch),
* the chapter's per-sample backprop, summed over the samples (and, for :math:`\delta^l`, the
  per-sample :math:`\nabla_b C_x`, which BP3 says *is* :math:`\delta^l_x`), and
* the fully matrix-based manual backprop (one matrix product per layer for all samples),

plus the median wall time of one ``update_mini_batch`` step of each. In float64 the
differences are round-off, around ``1e-16`` times the gradients' size.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import prepare_training_data, validate_sizes
from .manual import ManualNetwork
from .network import Network

__all__ = ["compare", "ComparisonReport", "LayerDifference"]

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
    """

    layer: int
    quantity: str
    shape: tuple[int, ...]
    vs_per_sample: float
    vs_matrix: float
    per_sample_vs_matrix: float
    scale: float

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
        ``within_round_off`` and ``autodiff_over_matrix``).
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
        """What counts as round-off here: ``1e-12`` in float64, scaled by epsilon otherwise."""
        eps = float(np.finfo(np.dtype(self.dtype)).eps)
        return 1e-12 * eps / float(np.finfo(np.float64).eps)

    @property
    def within_round_off(self) -> bool:
        """Whether every difference is below :attr:`tolerance`."""
        return self.max_difference < self.tolerance

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
            ("layer", "quantity", "shape", "AD-sample", "AD-matrix", "sample-matrix", "max|AD|")
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
        lines.append(f"largest difference: {worst:.2e} ({verdict}: < {self.tolerance:.0e})")
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
        :math:`E_l`, the bound on the error of every entry of :math:`z^l`, ``l = 2..L``.
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

    * forward: :math:`z^l = w^l a^{l-1} + b^l` is off by at most
      :math:`E_l = \max\,[((n_{l-1} + 4)\varepsilon + E_{l-1})\,(|w^l|\,a^{l-1} + |b^l|)]`
      (the input is exact, :math:`E_1 = 0`), and since :math:`d\sigma/\sigma = (1-\sigma)\,dz`,
      :math:`a^l = \sigma(z^l)` is off by a relative :math:`E_l + 3\varepsilon`;
      :math:`1 - a^l` by an *absolute* :math:`E_l + 4\varepsilon` (saturated units, where
      :math:`1 - a` is tiny, are what make this bound, not the relative one, hold);
    * BP1: :math:`\delta^L` is off by :math:`r_L\,D^L` with the magnitude
      :math:`D^L = |a^L| + |y|` and :math:`r_L = E_L + 4\varepsilon` (cross-entropy,
      :math:`a - y`), or :math:`D^L = (|a^L| + |y|)\,a^L` and :math:`r_L = 3E_L + 13\varepsilon`
      (quadratic, :math:`(a - y)\,a(1 - a)`);
    * BP2: :math:`D^l = (|w^{l+1}|^T D^{l+1}) \odot a^l` and
      :math:`r_l = r_{l+1} + (n_{l+1} + 10)\varepsilon + 2E_l`;
    * BP3 and BP4 sum over the :math:`m` samples: :math:`\nabla_b` is off by at most
      :math:`(r_l + m\varepsilon) \sum_x D^l_x`, :math:`\nabla_w` by
      :math:`(r_l + E_{l-1} + (m + 4)\varepsilon) \sum_x D^l_x (a^{l-1}_x)^T`.

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
    X = np.abs(np.asarray(X, dtype=np.float64))
    Y = np.abs(np.asarray(Y, dtype=np.float64))
    m = X.shape[1]
    activations, errors = [X], [0.0]  # a^l (>= 0), and E_l
    for w, b in zip(weights, biases, strict=True):
        w, b = np.abs(np.asarray(w, dtype=np.float64)), np.abs(np.asarray(b, dtype=np.float64))
        z_magnitude = w @ np.abs(activations[-1]) + b
        z = np.asarray(weights[len(activations) - 1], dtype=np.float64) @ activations[-1]
        z = z + np.asarray(biases[len(activations) - 1], dtype=np.float64)
        activations.append(1.0 / (1.0 + np.exp(-np.clip(z, -700.0, 700.0))))
        forward = ((w.shape[1] + 4) * eps + errors[-1]) * z_magnitude
        errors.append(float(np.max(forward, initial=0.0)))
    a_out, e_out = activations[-1], errors[-1]
    if quadratic:
        magnitude, relative = (a_out + Y) * a_out, 3 * e_out + 13 * eps
    else:
        magnitude, relative = a_out + Y, e_out + 4 * eps
    n_layers = len(weights)
    magnitudes, relatives = [magnitude], [relative]
    for l in range(n_layers - 2, -1, -1):  # hidden layers, from the last one down
        w_next = np.abs(np.asarray(weights[l + 1], dtype=np.float64))
        magnitude = (w_next.T @ magnitude) * activations[l + 1]
        relative = relative + (w_next.shape[0] + 10) * eps + 2 * errors[l + 1]
        magnitudes.append(magnitude)
        relatives.append(relative)
    magnitudes.reverse()
    relatives.reverse()
    nabla_w, nabla_b, delta = [], [], []
    for l, (d, r) in enumerate(zip(magnitudes, relatives, strict=True)):
        delta.append(r * d)
        nabla_b.append((r + m * eps) * d.sum(axis=1, keepdims=True))
        nabla_w.append((r + errors[l] + (m + 4) * eps) * (d @ activations[l].T))
    return RoundOffBounds(nabla_w=nabla_w, nabla_b=nabla_b, delta=delta, z_error=errors[1:])


def _cost_name(cost: Any) -> str:
    name = getattr(cost, "name", cost)
    if name not in ("quadratic", "cross-entropy"):
        raise ValueError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")
    return name


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b), initial=0.0))


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
    mini_batch_size: int = 10,
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
    mini_batch_size : int
        Columns of the default random batch (a given ``batch`` is used whole).
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
    """
    sizes = validate_sizes(sizes)
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    dtype = np.dtype(dtype)
    if batch is None:
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

    rows = []
    for i in range(len(sizes) - 1):
        for quantity, ad, ps, mx in (
            ("nabla_w", ad_w[i], ps_w[i], mx_w[i]),
            ("nabla_b", ad_b[i], ps_b[i], mx_b[i]),
            ("delta", ad_deltas[i], ps_deltas[i], mx_deltas[i]),
        ):
            rows.append(
                LayerDifference(
                    layer=i + 2,
                    quantity=quantity,
                    shape=tuple(ad.shape),
                    vs_per_sample=_max_abs_diff(ad, ps),
                    vs_matrix=_max_abs_diff(ad, mx),
                    per_sample_vs_matrix=_max_abs_diff(ps, mx),
                    scale=float(np.max(np.abs(ad), initial=0.0)),
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
