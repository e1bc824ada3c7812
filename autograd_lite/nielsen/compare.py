r"""Autodiff against BP1-BP4 by hand: the differences, layer by layer, and the time of a step.

`compare()` builds a `Network` (autodiff) and a
`ManualNetwork` with the same initial parameters, feeds
both one mini-batch, and reports for every layer $l = 2..L$ the largest difference in
$\nabla_w C$, $\nabla_b C$ and $\delta^l$ between the autodiff graph (one for
the whole mini-batch), the chapter's per-sample backprop summed over the samples (its
per-sample $\nabla_b C_x$ *is* $\delta^l_x$, BP3) and the matrix-based manual
backprop, plus the median wall time of one ``update_mini_batch`` step of each. The differences are
judged against `round_off_bounds()`, an error analysis computed from the data (relative to
the magnitudes summed, growing with the widths and the batch), not a fixed constant.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np

from ..errors import ShapeError, TrainingError
from .common import as_columns, validate_sizes
from .manual import ManualNetwork, get_cost
from .network import Network

__all__ = ["compare", "ComparisonReport", "LayerDifference", "RoundOffBounds", "round_off_bounds"]

_BLOCK_SECONDS = 0.02  # the least a timed block of steps lasts (its steps are averaged)


@dataclass(frozen=True)
class LayerDifference:
    r"""The largest absolute differences for one quantity of one layer.

    ``layer`` is the book's number, ``2..L``; ``quantity`` is ``"nabla_w"``, ``"nabla_b"`` or
    ``"delta"``; ``shape`` that of the compared arrays. ``vs_per_sample``, ``vs_matrix`` and
    ``per_sample_vs_matrix`` are $\max|\text{autodiff} - \text{per-sample manual}|$,
    $\max|\text{autodiff} - \text{matrix manual}|$ and between the two manual ones;
    ``scale`` is $\max|\text{autodiff}|$. ``bound`` is the largest difference round-off
    can explain for any entry (twice `round_off_bounds()`' entrywise bound: each version is
    within it of the exact value), and ``ratio`` the worst entry's difference over *its own*
    bound, over the three comparisons: at most 1 when every difference is round-off.
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
    """What `compare()` measured; ``str(report)`` is an aligned text table.

    ``rows`` holds one `LayerDifference` per layer and quantity, in layer order;
    ``per_sample_seconds``, ``matrix_seconds`` and ``autodiff_seconds`` are the median wall
    times of one ``update_mini_batch`` step (the chapter's per-sample loop, the matrix-based
    manual step, the autodiff step) over ``repeats`` timed blocks, whose every per-step time
    is in ``timings``.
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
        """The largest difference round-off can explain anywhere (the rows' largest ``bound``,
        from the error analysis of `round_off_bounds()`, not a fixed constant)."""
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
        table: list[tuple[str, ...]] = [("layer", "quantity", "shape", "AD-sample", "AD-matrix",
                                         "sample-matrix", "max|AD|", "bound")]  # fmt: skip
        for d in self.rows:
            numbers = (d.vs_per_sample, d.vs_matrix, d.per_sample_vs_matrix, d.scale, d.bound)
            shape = "x".join(map(str, d.shape))
            table.append((str(d.layer), d.quantity, shape, *(f"{v:.2e}" for v in numbers)))
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines = [f"Autodiff vs BP1-BP4 by hand: sizes {self.sizes}, mini-batch of "
                 f"{self.mini_batch_size}, {self.cost} cost, {self.dtype}, seed {self.seed}",
                 "", "max |difference| per layer (AD = autodiff graph):"]  # fmt: skip
        for i, r in enumerate(table):
            cells = [r[0].rjust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2])]
            lines.append("  " + "  ".join(cells + [c.rjust(w) for c, w in zip(r[3:], widths[3:])]))
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        verdict = "round-off level" if self.within_round_off else "LARGER than round-off"
        lines += [f"largest difference: {self.max_difference:.2e}; worst entry at "
                  f"{self.round_off_ratio:.2g} of its round-off bound ({verdict}; bound = error "
                  "analysis of the sums, relative to the magnitudes summed)", "",
                  f"time per update_mini_batch step (median of {self.repeats}):"]  # fmt: skip
        steps = {"per-sample manual (the chapter's loop)": self.per_sample_seconds,
                 "matrix manual (one matmul per layer)": self.matrix_seconds,
                 "autodiff (the graph recorded once, replayed)": self.autodiff_seconds}  # fmt: skip
        for label, seconds in steps.items():
            lines.append(f"  {label.ljust(44)}  {seconds * 1e6:10.1f} µs  "
                         f"{seconds / self.matrix_seconds:6.2f} x matrix")  # fmt: skip
        return "\n".join(lines)


@dataclass(frozen=True)
class RoundOffBounds:
    r"""Entrywise bounds on the round-off of BP1-BP4, from `round_off_bounds()`.

    Each array bounds $|\text{computed} - \text{exact}|$ entry by entry, for any of the
    three ways `compare()` computes the quantity (two computations differ by at most twice
    it): ``nabla_w``, ``nabla_b`` and ``delta`` (one column per sample) hold one array per layer
    ``l = 2..L``; ``z_error`` the largest error bound $\max E^l$ of an entry of
    $z^l$.
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
    $\varepsilon$ the dtype's machine epsilon (twice the unit round-off, so every bound
    below carries a factor 2 of margin), a sum of $n$ terms computed in any order is off
    by at most $n \varepsilon \sum |x_i|$, and so is each entry of a matrix product with
    inner dimension $n$, relative to $|A|\,|B|$. Errors are followed layer by layer:

    * forward: each entry of $z^l = w^l a^{l-1} + b^l$ is off by at most
      $E^l = (n_{l-1} + 1)\varepsilon\,(|w^l|\,|a^{l-1}| + |b^l|) +
      |w^l|\,(|a^{l-1}| \odot \rho^{l-1})$, where $\rho^{l-1}$ is the relative error of
      $a^{l-1}$ (0 for the exact input); since $d\sigma = \sigma(1-\sigma)\,dz$,
      $\rho^l = (1 - a^l) E^l + 3\varepsilon$;
    * $s = a(1 - a) = \sigma'(z)$ is off by $s\,(2E + 4\varepsilon) +
      2\varepsilon a$: $1 - a$ is exact (Sterbenz) but $a$ near 1 carries an
      *absolute* rounding of $2\varepsilon$, large next to a saturated unit's tiny
      $1 - a$;
    * BP1: $\delta^L = a - y$ (cross-entropy) has the magnitude $D^L = a + |y|$
      and the error $s E + 4\varepsilon D^L$; $\delta^L = (a - y)\,s$
      (quadratic) has $D^L = (a + |y|)\,s$ and $s^2 E + (2E + 9\varepsilon) D^L +
      2\varepsilon a (a + |y|)$;
    * BP2: with $G = |w^{l+1}|^T D^{l+1}$, $D^l = G \odot s^l$ and the error
      $\Delta^l = (|w^{l+1}|^T \Delta^{l+1}) \odot s^l + (2E^l + (n_{l+1} +
      6)\varepsilon) \odot D^l + 2\varepsilon\, a^l \odot G$;
    * BP3 and BP4 sum over the $m$ samples: $\nabla_b$ is off by at most
      $\sum_x \Delta^l_x + m\varepsilon \sum_x D^l_x$, $\nabla_w$ by
      $\Delta^l |A^{l-1}|^T + D^l (|A^{l-1}| \odot \rho^{l-1})^T +
      (m + 1)\varepsilon\, D^l |A^{l-1}|^T$.

    These are worst-case bounds ($n\varepsilon$, where typical round-off grows like
    $\sqrt n\,\varepsilon$). The magnitudes $D$ are the gradients of the network with
    every weight replaced by its absolute value, so a bound is small exactly where the gradient
    is computed from small terms, and stays meaningful where large terms cancel (an absolute
    ``1e-12`` is too loose for tiny gradients and too tight for a large batch). ``weights`` and
    ``biases`` (columns) are the network's, ``X`` and ``Y`` the mini-batch (samples as columns).
    """
    quadratic = get_cost(cost).name == "quadratic"
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
        error = (w_next.T @ error) * s + (2 * e + (w_next.shape[0] + 6) * eps) * magnitude
        error += 2 * eps * a * back
        magnitudes.insert(0, magnitude)
        errors.insert(0, error)
    pairs = [(d, e, inputs[l], inputs[l] * input_errors[l])
             for l, (d, e) in enumerate(zip(magnitudes, errors, strict=True))]  # fmt: skip
    return RoundOffBounds(
        [e @ a.T + d @ ae.T + (m + 1) * eps * (d @ a.T) for d, e, a, ae in pairs],
        [e.sum(1, keepdims=True) + m * eps * d.sum(1, keepdims=True) for d, e, *_ in pairs],
        errors, [float(np.max(e, initial=0.0)) for e in z_errors])  # fmt: skip


def _ratio(a: np.ndarray, b: np.ndarray, allowed: np.ndarray) -> float:
    """``max |a - b| / allowed`` over the entries (0 where equal, inf where allowed is 0)."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff > 0, diff / allowed, 0.0)
    return float(np.max(ratio, initial=0.0))


def _time_steps(
    steps: dict[str, Callable[[], Any]], repeats: int, number: int | None
) -> dict[str, list[float]]:
    """Per-step seconds of each callable, ``repeats`` blocks each, interleaved between them
    (a slowdown of the machine is spread over all versions; the median discards outliers)."""
    counts = {}
    for name, step in steps.items():
        step()  # warm up (allocations, caches)
        t0 = time.perf_counter()
        step()
        once = max(time.perf_counter() - t0, 1e-7)
        counts[name] = number or max(1, min(10_000, math.ceil(_BLOCK_SECONDS / once)))
    result: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(counts[name]):
                step()
            result[name].append((time.perf_counter() - t0) / counts[name])
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

    ``batch`` is the mini-batch in either of the chapter's shapes (see
    [`as_columns()`][autograd_lite.nielsen.common.as_columns]); by default ``mini_batch_size`` (10)
    random inputs in $[0, 1)$ with random one-hot targets drawn from ``seed``, which also
    seeds the shared initial parameters. With a given ``batch``, ``mini_batch_size`` is the
    number of samples it must hold. Each version is timed in ``repeats`` blocks of ``number``
    steps (by default enough for about 20 ms) at the learning rate ``eta``; the reported time of
    a step is the median.

    Raises
    ------
    ShapeError
        ``mini_batch_size`` differs from the number of samples of the given ``batch``.
    TrainingError
        ``repeats`` or ``mini_batch_size`` below 1.
    """
    sizes = validate_sizes(sizes)
    if repeats < 1:
        raise TrainingError(f"repeats must be at least 1, got {repeats}")
    if mini_batch_size is not None and mini_batch_size < 1:
        raise TrainingError(f"mini_batch_size must be a positive int, got {mini_batch_size}")
    dtype = np.dtype(dtype)
    if batch is None:
        rng = np.random.default_rng([seed, 0xC0FFEE])
        m = mini_batch_size or 10
        batch = (rng.random((sizes[0], m)), rng.integers(0, sizes[-1], m))
    # Samples as rows of a C-ordered array, viewed as columns: exactly what SGD hands a step.
    X, Y = (np.ascontiguousarray(a.T).T for a in as_columns(batch, sizes, dtype))
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
    per_sample = [manual.backprop(X[:, j : j + 1], Y[:, j : j + 1]) for j in range(m)]
    ps_b = [reduce(np.add, [nb[i] for nb, _ in per_sample]) for i in range(len(sizes) - 1)]
    ps_w = [reduce(np.add, [nw[i] for _, nw in per_sample]) for i in range(len(sizes) - 1)]
    ps_deltas = [np.hstack([nb[i] for nb, _ in per_sample]) for i in range(len(sizes) - 1)]
    bounds = round_off_bounds(manual.weights, manual.biases, X, Y, manual.cost.name)
    rows = []
    for i in range(len(sizes) - 1):
        for quantity, ad, ps, mx, bound in (
            ("nabla_w", ad_w[i], ps_w[i], mx_w[i], bounds.nabla_w[i]),
            ("nabla_b", ad_b[i], ps_b[i], mx_b[i], bounds.nabla_b[i]),
            ("delta", ad_deltas[i], ps_deltas[i], mx_deltas[i], bounds.delta[i]),
        ):
            allowed = 2 * bound  # two computations, each within bound of the exact value
            ratio = max(_ratio(p, q, allowed) for p, q in ((ad, ps), (ad, mx), (ps, mx)))
            diffs = (ad - ps, ad - mx, ps - mx, ad, allowed)
            ps_ad, mx_ad, mx_ps, scale, most = (
                float(np.max(np.abs(a), initial=0.0)) for a in diffs
            )
            rows.append(LayerDifference(i + 2, quantity, tuple(ad.shape), ps_ad, mx_ad, mx_ps,
                                        scale, most, ratio))  # fmt: skip
    # Time fresh copies, so the comparison above used the untouched initial parameters.
    per_sample_net = ManualNetwork(sizes, seed=seed, dtype=dtype, cost=cost)
    matrix_net = ManualNetwork(sizes, seed=seed, dtype=dtype, cost=cost)
    autodiff_net = Network(sizes, seed=seed, dtype=dtype, cost=cost)
    timings = _time_steps({"per-sample": lambda: per_sample_net.update_mini_batch((X, Y), eta),
                           "matrix": lambda: matrix_net.update_mini_batch_matrix(X, Y, eta),
                           "autodiff": lambda: autodiff_net.update_mini_batch((X, Y), eta)},
                          repeats, number)  # fmt: skip
    med = {k: statistics.median(v) for k, v in timings.items()}
    return ComparisonReport(sizes, m, seed, manual.cost.name, dtype.name, rows, med["per-sample"],
                            med["matrix"], med["autodiff"], repeats, timings)  # fmt: skip
