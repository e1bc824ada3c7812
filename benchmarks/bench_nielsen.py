"""Per-step time of the chapter's network: autograd_lite against hand-written NumPy and others.

The task is one SGD step of Nielsen's chapter-2 network -- sizes ``[784, 30, 10]``, sigmoid
neurons, quadratic cost, learning rate 3.0, mini-batches of 10 -- on the real digits embedded in
the package (``load_mnist()``: 8,000 training images). Contenders:

* ``numpy reference``: backpropagation written by hand *here*, in matrix form -- one matmul per
  layer forward and two per layer backward (BP1-BP4 on the whole mini-batch), preallocated
  buffers, every update in place. It is meant to be the fastest honest NumPy one can write for
  this network, and every other number is given as a ratio to it.
* ``numpy reference, library's σ``: the same, computing σ exactly as autograd_lite does
  (``1/(1+e^-z)`` with the overflow warning silenced by ``np.errstate``): what that costs.
* ``autograd_lite Network``: ``Network.update_mini_batch`` (gradients by the autodiff graph,
  recorded at the first step and replayed after that: ``al.grad(f, replay=True)``).
* ``autograd_lite Network, replay=False``: the same with the graph built anew at every step
  (Tensors, heap-ordered backward): the eager cost.
* ``minimal tape (diagnostic)``: the least a define-by-run autodiff in Python can do for this
  step (``benchmarks/minimal_tape.py``: one object per op, one Python vjp call per input, no
  validation or features). Not a contender: it separates the cost of the design from the cost
  of autograd_lite's features.
* ``ManualNetwork matrix`` and ``ManualNetwork per-sample``: the chapter's hand-derived network,
  ``update_mini_batch_matrix`` and the book's loop over samples (``update_mini_batch``).
* ``torch eager (1 thread)`` / ``(2 threads)``: the same step in PyTorch autograd, when
  importable; the best of the two is the PyTorch figure.
* ``jax jit``: the whole step (gradient and update) under ``jax.jit``, when importable.

Every contender starts from the same initial parameters and sees the same mini-batches in the
same order: the batches are gathered once, before timing, as contiguous row blocks
``X_rows[idx]`` (the chapter's column view is ``X_rows[idx].T``, free), so no contender pays
for a gather the others do not. The gather itself is measured separately (rows vs columns).
Rounds last about the same time for every contender (see :class:`Rounds`).

The comparison is honest only if everyone computed the same thing, so after the timed rounds
each contender's weights are compared with the reference replayed from the same start over the
same batches (float64: within 1e-12), and ``Network`` is run in lockstep with the reference
computing σ by the library's formula, where the weights must stay bitwise equal.

Run: ``python -m benchmarks.bench_nielsen [--quick] [--dtype float64|float32|both]
[--profile]``.
"""

from __future__ import annotations

import cProfile
import gc
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from benchmarks.common import (
    base_parser,
    clock,
    freeze_heap,
    goal,
    interleaved,
    median,
    optional_import,
    pin_blas_threads,
    print_goals,
    print_notes_and_environment,
    print_profile,
    profile_rows,
    save_results,
    since,
    summarize_timings,
    table,
)

SIZES = [784, 30, 10]
ETA = 3.0
BATCH = 10
SEED = 1

#: Maximum |weight difference| from the NumPy reference after the timed steps, per dtype. The
#: contenders compute the sigmoid by different (all correct) formulas, so they differ in the
#: last bits from the first step on and training amplifies that slowly: ~4e-14 after 1,000
#: float64 steps. The float32 figure is the same drift at float32's precision.
TOLERANCE = {"float64": 1e-12, "float32": 1e-3}

REFERENCE = "numpy reference"
WARMUP_ROUNDS = 4  # the first warms up, the others calibrate the steps per round
REFERENCE_LIBRARY_SIGMOID = "numpy reference, library's σ"


# ---------------------------------------------------------------------------------------------
# The hand-written reference
# ---------------------------------------------------------------------------------------------


def sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^-z) in place (e^-z may overflow to inf: then σ = 1/inf = 0, exact)."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def sigmoid_library_inplace(z: np.ndarray) -> np.ndarray:
    """σ(z) in place by the formula autograd_lite's ``sigmoid`` uses: 1 / (1 + e^-z), with the
    overflow of e^-z (z < -709) silenced by ``np.errstate`` (as a decorator, as the library
    does) rather than warned about.

    Used for the lockstep check: with it, the reference must reproduce the library's weights
    *bitwise*, step after step, because everything else is the same arithmetic. Its time shows
    what the ``errstate`` costs.
    """
    np.negative(z, out=z)
    _exp_quietly(z)
    z += 1.0
    return np.reciprocal(z, out=z)


@np.errstate(over="ignore")  # as autograd_lite silences it: np.errstate as a decorator
def _exp_quietly(z: np.ndarray) -> np.ndarray:
    return np.exp(z, out=z)


class NumpyReference:
    """The chapter's network with backpropagation written by hand in matrix form.

    The mini-batch is a matrix ``X`` (n_in, m) whose columns are the samples. Forward, one
    matmul per layer: ``a^l = σ(w^l a^(l-1) + b^l)``. Backward, for the quadratic cost:

    * BP1 ``δ^L = (a^L - y) ⊙ a^L ⊙ (1 - a^L)`` (σ'(z) = σ(z)(1 - σ(z)), so z is never kept);
    * BP2 ``δ^l = ((w^(l+1))^T δ^(l+1)) ⊙ a^l ⊙ (1 - a^l)``;
    * BP3 ``∇b^l = Σ_columns δ^l``;  BP4 ``∇w^l = δ^l (a^(l-1))^T`` (the product sums over the
      mini-batch).

    All buffers are allocated once; products are written with ``out=``; the update
    ``w -= (η/m) ∇w`` is done in place right after layer l's ``∇w`` is known (BP2 for layer l-1
    has already read the old ``w^l``).
    """

    def __init__(
        self,
        biases: list[np.ndarray],
        weights: list[np.ndarray],
        m: int,
        sigmoid: Callable[[np.ndarray], np.ndarray] = sigmoid_inplace,
    ) -> None:
        self.sigmoid = sigmoid
        self.biases = [np.array(b) for b in biases]
        self.weights = [np.array(w) for w in weights]
        dtype = self.weights[0].dtype
        self.m = m
        outs = [w.shape[0] for w in self.weights]
        self.acts = [np.empty((n, m), dtype) for n in outs]  # a^2 .. a^L
        self.deltas = [np.empty((n, m), dtype) for n in outs]
        self.tmps = [np.empty((n, m), dtype) for n in outs]
        self.nabla_w = [np.empty_like(w) for w in self.weights]
        self.nabla_b = [np.empty_like(b) for b in self.biases]

    def step(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        """One SGD step on the columns of ``X`` (n_in, m) and ``Y`` (n_out, m)."""
        if X.shape[1] != self.m:
            raise ValueError(f"NumpyReference was built for mini-batches of {self.m}")
        rate = eta / self.m
        weights, biases, acts, sigmoid = self.weights, self.biases, self.acts, self.sigmoid
        with np.errstate(over="ignore"):
            a = X
            for w, b, out in zip(weights, biases, acts):
                np.matmul(w, a, out=out)
                out += b
                a = sigmoid(out)
        last = len(weights) - 1
        # BP1: delta^L = (a^L - y) * a^L * (1 - a^L)
        aL, d, t = acts[last], self.deltas[last], self.tmps[last]
        np.subtract(aL, Y, out=d)
        d *= aL
        np.subtract(1.0, aL, out=t)
        d *= t
        for l in range(last, -1, -1):
            a_prev = X if l == 0 else acts[l - 1]
            nw, nb = self.nabla_w[l], self.nabla_b[l]
            np.matmul(d, a_prev.T, out=nw)  # BP4
            np.sum(d, axis=1, keepdims=True, out=nb)  # BP3
            if l > 0:  # BP2, with the old w^l, before it is updated
                d_prev, t = self.deltas[l - 1], self.tmps[l - 1]
                np.matmul(weights[l].T, d, out=d_prev)
                d_prev *= a_prev
                np.subtract(1.0, a_prev, out=t)
                d_prev *= t
            nw *= rate
            weights[l] -= nw
            nb *= rate
            biases[l] -= nb
            if l > 0:
                d = d_prev


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def load_training(dtype: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """The embedded training digits as rows: ``X_rows`` (n, 784) and one-hot ``Y_rows``."""
    from autograd_lite.datasets import load_mnist

    data = load_mnist(dtype=dtype)
    return data.train.images, data.train.one_hot(), data.source


def gather_batches(
    X_rows: np.ndarray, Y_rows: np.ndarray, count: int, m: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``count`` shuffled mini-batches, each ``(Xc, Yc, Xr, Yr)``.

    ``Xr = X_rows[idx]`` is a C-contiguous (m, n_in) block; ``Xc = Xr.T`` is the same memory
    viewed with the samples as columns (the chapter's layout), so both layouts cost one gather.
    """
    rng = np.random.default_rng(seed)
    n = X_rows.shape[0]
    batches = []
    perm = rng.permutation(n)
    pos = 0
    for _ in range(count):
        if pos + m > n:
            perm, pos = rng.permutation(n), 0
        idx = perm[pos : pos + m]
        pos += m
        Xr, Yr = X_rows[idx], Y_rows[idx]
        batches.append((Xr.T, Yr.T, Xr, Yr))
    return batches


# ---------------------------------------------------------------------------------------------
# Contenders: each holds its own parameters and offers step(batch) and params()
# ---------------------------------------------------------------------------------------------


class Contender:
    name = ""
    note = ""

    def step(self, batch: tuple) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Wait for outstanding work (asynchronous dispatch); called before the clock stops."""

    def before_round(self) -> None:
        """Untimed setup before each round (thread settings)."""

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Current ``(biases, weights)`` in the chapter's shapes, as NumPy arrays."""
        raise NotImplementedError


class Reference(Contender):
    name = REFERENCE
    note = "hand-written BP1-BP4, matrix form, in place"

    def __init__(self, biases: list, weights: list, m: int, library_sigmoid: bool = False) -> None:
        if library_sigmoid:
            self.name = REFERENCE_LIBRARY_SIGMOID
            self.note = "the same, σ by autograd_lite's formula (overflow silenced by np.errstate)"
            self.net = NumpyReference(biases, weights, m, sigmoid=sigmoid_library_inplace)
        else:
            self.net = NumpyReference(biases, weights, m)

    def step(self, batch: tuple) -> None:
        self.net.step(batch[0], batch[1], ETA)

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.net.biases, self.net.weights


class AutogradLite(Contender):
    name = "autograd_lite Network"
    note = "Network.update_mini_batch (autodiff; the graph recorded once, then replayed)"

    def __init__(self, dtype: Any, replay: bool = True) -> None:
        from autograd_lite.nielsen import Network

        if not replay:
            self.name = "autograd_lite Network, replay=False"
            self.note = "the same, the graph built anew at every step"
        self.net = Network(SIZES, seed=SEED, dtype=dtype, replay=replay)

    def step(self, batch: tuple) -> None:
        self.net.update_mini_batch((batch[0], batch[1]), ETA)

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.net.biases, self.net.weights


class MinimalTape(Contender):
    name = "minimal tape (diagnostic)"
    note = "the floor of a per-op Python autodiff: benchmarks/minimal_tape.py"

    def __init__(self, biases: list, weights: list) -> None:
        from benchmarks.minimal_tape import MinimalTapeNetwork

        self.net = MinimalTapeNetwork(biases, weights)

    def step(self, batch: tuple) -> None:
        self.net.step(batch[0], batch[1], ETA)

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.net.biases, self.net.weights


class ManualMatrix(Contender):
    name = "ManualNetwork matrix"
    note = "ManualNetwork.update_mini_batch_matrix"

    def __init__(self, dtype: Any) -> None:
        from autograd_lite.nielsen import ManualNetwork

        self.net = ManualNetwork(SIZES, seed=SEED, dtype=dtype)

    def step(self, batch: tuple) -> None:
        self.net.update_mini_batch_matrix(batch[0], batch[1], ETA)

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.net.biases, self.net.weights


class ManualPerSample(ManualMatrix):
    name = "ManualNetwork per-sample"
    note = "the chapter's loop over samples (update_mini_batch)"

    def step(self, batch: tuple) -> None:
        self.net.update_mini_batch((batch[0], batch[1]), ETA)


class Torch(Contender):
    note = "torch autograd, addmm + sigmoid, no_grad in-place update"

    def __init__(self, torch: Any, biases: list, weights: list, threads: int) -> None:
        self.torch = torch
        self.threads = threads
        self.name = f"torch eager ({threads} thread{'s' if threads > 1 else ''})"
        self.layers = [
            (
                torch.tensor(np.array(w), requires_grad=True),
                torch.tensor(np.array(b).reshape(-1), requires_grad=True),
            )
            for w, b in zip(weights, biases)
        ]
        self.flat = [p for layer in self.layers for p in layer]
        self.rate = ETA / BATCH

    def before_round(self) -> None:
        self.torch.set_num_threads(self.threads)

    def step(self, batch: tuple) -> None:
        torch = self.torch
        a = torch.from_numpy(batch[2])
        y = torch.from_numpy(batch[3])
        for w, b in self.layers:
            a = torch.sigmoid(torch.addmm(b, a, w.t()))
        d = a - y
        cost = 0.5 * (d * d).sum()
        cost.backward()
        with torch.no_grad():
            for p in self.flat:
                p.sub_(p.grad, alpha=self.rate)
                p.grad = None

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        biases = [b.detach().numpy().reshape(-1, 1) for _, b in self.layers]
        weights = [w.detach().numpy() for w, _ in self.layers]
        return biases, weights


class Jax(Contender):
    name = "jax jit"
    note = "jax.jit of the whole step (grad + update), NumPy batches passed in"

    def __init__(self, jax: Any, biases: list, weights: list) -> None:
        import jax.numpy as jnp

        self.jax = jax
        rate = ETA / BATCH

        def loss(params: Any, x: Any, y: Any) -> Any:
            a = x
            for w, b in params:
                a = jax.nn.sigmoid(a @ w.T + b)
            d = a - y
            return 0.5 * jnp.sum(d * d)

        def step(params: Any, x: Any, y: Any) -> Any:
            grads = jax.grad(loss)(params, x, y)
            return jax.tree_util.tree_map(lambda p, g: p - rate * g, params, grads)

        self._step = jax.jit(step, donate_argnums=0)
        self.state = [
            (jnp.asarray(np.array(w)), jnp.asarray(np.array(b).reshape(-1)))
            for w, b in zip(weights, biases)
        ]

    def step(self, batch: tuple) -> None:
        self.state = self._step(self.state, batch[2], batch[3])

    def finish(self) -> None:
        self.jax.block_until_ready(self.state)

    def params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        self.finish()
        biases = [np.asarray(b).reshape(-1, 1) for _, b in self.state]
        weights = [np.asarray(w) for w, _ in self.state]
        return biases, weights


class Rounds:
    """The rounds of one contender: consecutive steps over the batches, timed as one block.

    The first calls are warm-up rounds (the first pays for JIT compilation and first-call
    costs); the later warm-up rounds calibrate, from the fastest of them: every recorded round
    runs as many steps as fit in ``target_s`` seconds. Rounds of equal *duration* matter
    on a shared machine: a round longer than the scheduler's time slice is likely to be
    preempted and a short one is not, so rounds of equal step counts would bias the medians
    against the slower contenders. ``count`` is the number of steps run so far (over the same
    batch sequence for every contender), for the weight check.
    """

    def __init__(
        self, contender: Contender, batches: list, target_s: float, probe_steps: int = 10
    ) -> None:
        self.contender = contender
        self.batches = batches
        self.target_s = target_s
        self.steps = probe_steps
        self.calls = 0
        self.count = 0
        self.probes: list[float] = []

    def __call__(self) -> Any:
        contender = self.contender
        contender.before_round()
        n = len(self.batches)
        steps = self.steps
        chunk = [self.batches[(self.count + i) % n] for i in range(steps)]
        self.count += steps
        step = contender.step
        start = clock()
        for batch in chunk:
            step(batch)
        contender.finish()
        timing = since(start, steps)
        self.calls += 1
        if 2 <= self.calls <= WARMUP_ROUNDS:
            self.probes.append(timing[0])
            fastest = max(min(self.probes), 1e-7)  # a preempted probe must not shrink rounds
            self.steps = max(1, min(1000, round(self.target_s / fastest)))
        return timing


def max_weight_difference(a: Contender, b: Contender) -> float:
    """The largest |difference| between the parameters of two contenders."""
    (ba, wa), (bb, wb) = a.params(), b.params()
    return max(
        float(np.max(np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))))
        for x, y in zip([*ba, *wa], [*bb, *wb])
    )


# ---------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------


def _build_contenders(
    dtype: Any, use_torch: bool, use_jax: bool, notes: list[str]
) -> list[Contender]:
    from autograd_lite.nielsen.common import initial_parameters

    biases, weights = initial_parameters(SIZES, SEED, dtype)
    contenders: list[Contender] = [
        Reference(biases, weights, BATCH),
        Reference(biases, weights, BATCH, library_sigmoid=True),
        AutogradLite(dtype),
        AutogradLite(dtype, replay=False),
        MinimalTape(biases, weights),
        ManualMatrix(dtype),
        ManualPerSample(dtype),
    ]
    if use_torch:
        torch, why = optional_import("torch")
        if torch is None:
            notes.append(f"PyTorch skipped: {why}")
        else:
            contenders += [Torch(torch, biases, weights, t) for t in (1, 2)]
    else:
        notes.append("PyTorch skipped (--no-torch)")
    if use_jax:
        jax, why = optional_import("jax")
        if jax is None:
            notes.append(f"JAX skipped: {why}")
        else:
            jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64
            contenders.append(Jax(jax, biases, weights))
    else:
        notes.append("JAX skipped (--no-jax)")
    return contenders


def lockstep_check(dtype: Any, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``Network`` against the reference computing σ by the library's own formula, in lockstep.

    Same start, same mini-batches ``(X, Y)`` (samples as columns): if the autodiff graph
    performs exactly the reference's arithmetic (BP1-BP4, the bias sum, the update), the
    weights stay bitwise equal. Returns the number of steps, the step of the first difference
    (None if none) and the largest difference seen.
    """
    from autograd_lite.nielsen import Network
    from autograd_lite.nielsen.common import initial_parameters

    biases, weights = initial_parameters(SIZES, SEED, dtype)
    ref = NumpyReference(biases, weights, BATCH, sigmoid=sigmoid_library_inplace)
    net = Network(SIZES, seed=SEED, dtype=dtype)
    first = None
    worst = 0.0
    steps = 0
    for k, (Xc, Yc) in enumerate(pairs):
        steps += 1
        ref.step(Xc, Yc, ETA)
        net.update_mini_batch((Xc, Yc), ETA)
        diff = max(
            float(np.max(np.abs(p - q)))
            for p, q in zip(ref.biases + ref.weights, net.biases + net.weights)
        )
        if diff and first is None:
            first = k + 1
        worst = max(worst, diff)
    return {"steps": steps, "bitwise": first is None, "first_difference_at": first, "max": worst}


def measure_steps(
    dtype: Any, round_s: float, reps: int, use_torch: bool, use_jax: bool, n_batches: int
) -> dict[str, Any]:
    """Interleaved per-step timings of every contender for one dtype, plus the weight check."""
    dtype = np.dtype(dtype)
    X_rows, Y_rows, source = load_training(dtype)
    batches = gather_batches(X_rows, Y_rows, n_batches, BATCH)
    notes: list[str] = []
    contenders = _build_contenders(dtype, use_torch, use_jax, notes)
    # Lockstep check from the same start: one step each on the same batch, before any timing.
    first_step = {}
    probes = _build_contenders(dtype, use_torch, use_jax, [])
    for probe in probes:
        probe.before_round()
        probe.step(batches[0])
        probe.finish()
    for probe in probes[1:]:
        first_step[probe.name] = max_weight_difference(probe, probes[0])
    del probes

    lockstep = lockstep_check(dtype, ((b[0], b[1]) for b in batches))
    rounds = {c.name: Rounds(c, batches, round_s) for c in contenders}
    samples = interleaved(rounds, reps=reps, warmup=WARMUP_ROUNDS, seed=int(dtype.itemsize))
    # Each contender ran its own number of steps over the same batch sequence; compare it with
    # the reference replayed, untimed, from the same start for exactly that many steps.
    from autograd_lite.nielsen.common import initial_parameters

    biases, weights = initial_parameters(SIZES, SEED, dtype)
    replays: dict[int, Contender] = {}

    def reference_after(count: int) -> Contender:
        if count not in replays:
            replay = Reference(biases, weights, BATCH)
            for i in range(count):
                replay.step(batches[i % len(batches)])
            replays[count] = replay
        return replays[count]

    ref_stats = summarize_timings(samples[REFERENCE], 1e6)
    results = {}
    for c in contenders:
        stats = summarize_timings(samples[c.name], 1e6)
        count = rounds[c.name].count
        diff = max_weight_difference(c, reference_after(count))
        results[c.name] = {
            "note": c.note,
            "us_per_step": stats,
            "ratio_to_reference": stats["median"] / ref_stats["median"],
            "cpu_ratio_to_reference": stats["cpu"]["median"] / ref_stats["cpu"]["median"],
            "max_abs_weight_diff_after_timed_steps": diff,
            "max_abs_weight_diff_after_one_step": first_step.get(c.name, 0.0),
            "steps_per_round": rounds[c.name].steps,
            "steps_run": count,
            "samples_wall_us": [w * 1e6 for w, _ in samples[c.name]],
        }
    tol = TOLERANCE[dtype.name]
    same = results["autograd_lite Network"]["max_abs_weight_diff_after_timed_steps"] <= tol
    torch_names = [n for n in results if n.startswith("torch")]
    best_torch = min(torch_names, key=lambda n: results[n]["us_per_step"]["median"], default=None)
    return {
        "dtype": dtype.name,
        "data": source,
        "round_s": round_s,
        "rounds": reps,
        "steps_run_by_network": rounds["autograd_lite Network"].count,
        "batches": len(batches),
        "tolerance": tol,
        "same_weights_as_reference": bool(same),
        "lockstep_same_sigmoid": lockstep,
        "best_torch": best_torch,
        "contenders": results,
        "notes": notes,
    }


def measure_gather(dtype: Any, reps: int) -> dict[str, Any]:
    """Cost of gathering one mini-batch: rows (contiguous) vs columns (strided) vs a slice."""
    dtype = np.dtype(dtype)
    X_rows, Y_rows, _ = load_training(dtype)
    X_cols = np.ascontiguousarray(X_rows.T)
    Y_cols = np.ascontiguousarray(Y_rows.T)
    n = X_rows.shape[0]
    count = n // BATCH
    rng = np.random.default_rng(0)

    def rows() -> Any:
        perm = rng.permutation(n)
        start = clock()
        for k in range(count):
            idx = perm[k * BATCH : (k + 1) * BATCH]
            X_rows[idx]
            Y_rows[idx]
        return since(start, count)

    def columns() -> Any:
        perm = rng.permutation(n)
        start = clock()
        for k in range(count):
            idx = perm[k * BATCH : (k + 1) * BATCH]
            X_cols[:, idx]
            Y_cols[:, idx]
        return since(start, count)

    def permute_then_slice() -> Any:
        perm = rng.permutation(n)
        start = clock()
        Xp, Yp = X_rows[perm], Y_rows[perm]  # one shuffled copy per epoch ...
        for k in range(count):  # ... then every mini-batch is a view
            Xp[k * BATCH : (k + 1) * BATCH]
            Yp[k * BATCH : (k + 1) * BATCH]
        return since(start, count)

    samples = interleaved(
        {"rows X[idx] (contiguous)": rows, "columns X[:, idx] (strided)": columns,
         "permute once per epoch, then slice": permute_then_slice},
        reps=reps,
    )  # fmt: skip
    base = median(samples["rows X[idx] (contiguous)"])
    return {
        name: {"us_per_batch": median(s, 1e6), "ratio_to_rows": median(s) / base}
        for name, s in samples.items()
    }


# ---------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------


def profile_network(steps: int, dtype: Any = np.float64, top: int = 25) -> dict[str, Any]:
    """cProfile of ``Network.update_mini_batch``: the functions that dominate, in µs per step.

    cProfile adds a fixed cost to every Python call, so its absolute numbers are inflated for
    code made of many small calls; the ranking and the *share* are what to read. The untimed
    per-step time without the profiler is reported beside it for scale.
    """
    from autograd_lite.nielsen import Network

    X_rows, Y_rows, _ = load_training(dtype)
    batches = gather_batches(X_rows, Y_rows, steps, BATCH)
    net = Network(SIZES, seed=SEED, dtype=dtype)
    for batch in batches[:50]:
        net.update_mini_batch((batch[0], batch[1]), ETA)
    start = time.perf_counter()
    for batch in batches:
        net.update_mini_batch((batch[0], batch[1]), ETA)
    plain = (time.perf_counter() - start) / steps
    freeze_heap()
    profiler = cProfile.Profile()
    profiler.enable()
    for batch in batches:
        net.update_mini_batch((batch[0], batch[1]), ETA)
    profiler.disable()
    return profile_rows(profiler, steps, plain, top)


def measure_phases(reps: int, steps: int, dtype: Any = np.float64) -> dict[str, Any]:
    """Where a step's time goes, measured without a profiler.

    The Network's graph is rebuilt with the public ops (``matmul``, ``add``, ``sigmoid``,
    ``quadratic_cost``) exactly as ``Network`` builds it, and timed in phases: eagerly, the
    forward (recording the graph) and the backward (``gradients``); replayed, forward and
    backward together (``value_and_grad(..., replay=True)``, what ``Network`` runs); and the
    in-place update. The same forward and backward in plain NumPy (the reference's arithmetic,
    allocating as plain ``a = w @ x + b`` code would) give the floor each phase can approach.
    """
    import autograd_lite as al

    X_rows, Y_rows, _ = load_training(dtype)
    batches = gather_batches(X_rows, Y_rows, steps, BATCH)
    from autograd_lite.nielsen.common import initial_parameters

    biases, weights = initial_parameters(SIZES, SEED, dtype)
    b_leaves = [al.Tensor(b, requires_grad=True) for b in biases]
    w_leaves = [al.Tensor(w, requires_grad=True) for w in weights]
    leaves = b_leaves + w_leaves

    def cost(*arrays: Any) -> Any:
        """``C`` as ``Network`` builds it, called as ``cost(*biases, *weights, X, Y)``."""
        n = len(arrays) // 2 - 1
        a: Any = arrays[-2]
        for w, b in zip(arrays[n : 2 * n], arrays[:n]):
            a = al.sigmoid(al.add(al.matmul(w, a), b))
        return al.quadratic_cost(a, arrays[-1])

    def forward(X: np.ndarray, Y: np.ndarray) -> Any:
        return cost(*leaves, X, Y)

    graphs: list = []

    def al_forward() -> Any:
        graphs.clear()
        start = clock()
        for Xc, Yc, _, _ in batches:
            graphs.append(forward(Xc, Yc))
        return since(start, steps)

    def al_backward() -> Any:
        built = [forward(Xc, Yc) for Xc, Yc, _, _ in batches]
        start = clock()
        for C in built:
            al.gradients(C, leaves)
        return since(start, steps)

    replayed = al.value_and_grad(cost, argnums=tuple(range(len(leaves))), replay=True)

    def al_replayed() -> Any:
        start = clock()
        for Xc, Yc, _, _ in batches:
            replayed(*biases, *weights, Xc, Yc)
        return since(start, steps)

    def al_update() -> Any:
        grads = [np.ones_like(p) for p in biases + weights]
        params = [p.copy() for p in biases + weights]
        start = clock()
        for _ in range(steps):
            for p, g in zip(params, grads):
                p -= (ETA / BATCH) * g
        return since(start, steps)

    def np_forward() -> Any:
        start = clock()
        for Xc, Yc, _, _ in batches:
            a = Xc
            for w, b in zip(weights, biases):
                a = 1.0 / (1.0 + np.exp(-(w @ a + b)))
            d = a - Yc
            0.5 * np.dot(d.ravel(), d.ravel())
        return since(start, steps)

    def np_backward() -> Any:
        acts_list = []
        for Xc, _, _, _ in batches:
            acts = [Xc]
            for w, b in zip(weights, biases):
                acts.append(1.0 / (1.0 + np.exp(-(w @ acts[-1] + b))))
            acts_list.append(acts)
        start = clock()
        for (_, Yc, _, _), acts in zip(batches, acts_list):
            d = (acts[-1] - Yc) * acts[-1] * (1 - acts[-1])
            for l in range(len(weights) - 1, -1, -1):
                d @ acts[l].T
                d.sum(axis=1, keepdims=True)
                if l:
                    d = (weights[l].T @ d) * acts[l] * (1 - acts[l])
        return since(start, steps)

    from autograd_lite.nielsen import Network

    net = Network(SIZES, seed=SEED, dtype=dtype)

    def whole_step(gc_off: bool) -> Callable[[], Any]:
        def round_() -> Any:
            if gc_off:
                gc.disable()
            try:
                start = clock()
                for Xc, Yc, _, _ in batches:
                    net.update_mini_batch((Xc, Yc), ETA)
                return since(start, steps)
            finally:
                gc.enable()

        return round_

    samples = interleaved(
        {
            "Network.update_mini_batch (whole step)": whole_step(False),
            "  the same, cyclic GC disabled (diagnostic)": whole_step(True),
            "replayed forward + backward (what a step runs)": al_replayed,
            "eager forward (recording the graph)": al_forward,
            "eager backward (gradients)": al_backward,
            "autograd_lite update (4 in-place)": al_update,
            "numpy forward (allocating)": np_forward,
            "numpy backward (allocating)": np_backward,
        },
        reps=reps,
    )
    return {name: median(s, 1e6) for name, s in samples.items()}


def measure_op_costs(reps: int, dtype: Any = np.float64) -> dict[str, Any]:
    """The fixed cost of single calls on the step's own shapes: a NumPy call vs an op."""
    import autograd_lite as al

    rng = np.random.default_rng(0)
    w = rng.standard_normal((30, 784)).astype(dtype)
    x = rng.random((784, BATCH)).astype(dtype)
    b = rng.standard_normal((30, 1)).astype(dtype)
    z = w @ x
    W = al.Tensor(w, requires_grad=True)
    B = al.Tensor(b, requires_grad=True)
    Z = al.Tensor(z, requires_grad=True)
    n = 2000

    def bench(fn: Callable[[], Any]) -> Callable[[], Any]:
        def round_() -> Any:
            start = clock()
            for _ in range(n):
                fn()
            return since(start, n)

        return round_

    cases = {
        "np.matmul (30,784)@(784,10)": bench(lambda: w @ x),
        "al.matmul, recorded": bench(lambda: al.matmul(W, x)),
        "z + b (30,10)+(30,1)": bench(lambda: z + b),
        "al.add, recorded": bench(lambda: al.add(Z, B)),
        "1/(1+exp(-z)) (30,10)": bench(lambda: 1.0 / (1.0 + np.exp(-z))),
        "al.sigmoid, recorded": bench(lambda: al.sigmoid(Z)),
        "al.sigmoid in its own with no_grad()": bench(lambda: _no_grad_sigmoid(al, Z)),
    }
    samples = interleaved(cases, reps=reps)
    return {name: median(s, 1e6) for name, s in samples.items()}


def _no_grad_sigmoid(al: Any, Z: Any) -> Any:
    with al.no_grad():
        return al.sigmoid(Z)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def print_steps(result: dict[str, Any]) -> None:
    print(
        f"\n[{result['dtype']}] µs per step, median of {result['rounds']} interleaved rounds of "
        f"~{1e3 * result['round_s']:.0f} ms each ({result['data']})"
    )
    rows = []
    for name, r in result["contenders"].items():
        s = r["us_per_step"]
        rows.append(
            (
                name,
                s["median"],
                f"{s['q1']:.0f}-{s['q3']:.0f}",
                f"{r['ratio_to_reference']:.2f}x",
                s["cpu"]["median"],
                f"{r['cpu_ratio_to_reference']:.2f}x",
                f"{r['max_abs_weight_diff_after_one_step']:.1e}",
                f"{r['max_abs_weight_diff_after_timed_steps']:.1e}",
            )
        )
    print(
        table(
            [
                "contender",
                "µs/step",
                "IQR",
                "vs numpy",
                "cpu µs",
                "cpu vs numpy",
                "max|Δ| 1 step",
                "max|Δ| end",
            ],
            rows,
        )
    )
    verdict = "same" if result["same_weights_as_reference"] else "DIFFERENT"
    print(
        f"autograd_lite vs reference weights after {result['steps_run_by_network']} steps "
        f"from the same start: {verdict} (tolerance {result['tolerance']:.0e})"
    )
    ls = result["lockstep_same_sigmoid"]
    print(
        f"autograd_lite vs reference computing σ by the library's formula, {ls['steps']} steps "
        "in lockstep: "
        + (
            "bitwise identical"
            if ls["bitwise"]
            else f"first difference at step {ls['first_difference_at']}, max {ls['max']:.1e}"
        )
    )
    for note in result["notes"]:
        print("note:", note)


def goals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals for this benchmark: ratios of medians, wall and CPU time."""
    c = result["contenders"]
    dt = result["dtype"]
    me = c["autograd_lite Network"]["us_per_step"]

    def entry(text: str, other: dict[str, Any], limit: float) -> dict[str, Any]:
        cpu = me["cpu"]["median"] / other["cpu"]["median"]
        return goal(text, me["median"] / other["median"], limit, cpu)

    out = [entry(f"Network ≤ 1.25x numpy reference ({dt})", c[REFERENCE]["us_per_step"], 1.25)]
    if result["best_torch"]:
        torch = c[result["best_torch"]]["us_per_step"]
        out.append(entry(f"Network ≤ 0.5x PyTorch eager, best threads ({dt})", torch, 0.5))
    if "jax jit" in c:
        out.append(entry(f"Network ≤ 0.8x JAX jit ({dt})", c["jax jit"]["us_per_step"], 0.8))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument(
        "--round-ms", type=float, default=5.0, help="duration of one timed round (default 5 ms)"
    )
    parser.add_argument("--steps", type=int, default=None, help="steps per phase/profile round")
    parser.add_argument("--profile", action="store_true", help="also profile update_mini_batch")
    args = parser.parse_args(argv)
    pin_blas_threads()
    reps = args.reps or (9 if args.quick else 31)
    round_s = args.round_ms / 1e3
    steps = args.steps or (25 if args.quick else 40)
    n_batches = 800  # one epoch of the 8,000 embedded training digits
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]

    print("bench_nielsen: one SGD step of [784, 30, 10], sigmoid, quadratic cost, η=3, m=10")
    results = {}
    for dt in dtypes:
        results[dt] = measure_steps(
            dt, round_s, reps, not args.no_torch, not args.no_jax, n_batches
        )
        print_steps(results[dt])
    env = print_notes_and_environment()  # after the steps: torch / jax versions are known

    gather = measure_gather("float64", reps)
    print("\nGathering one mini-batch of 10 (float64), median µs:")
    print(
        table(
            ["layout", "µs/batch", "vs rows"],
            [(k, v["us_per_batch"], f"{v['ratio_to_rows']:.2f}x") for k, v in gather.items()],
        )
    )

    all_goals = [g for dt in dtypes for g in goals(results[dt])]
    print_goals(all_goals)

    payload: dict[str, Any] = {
        "task": "one update_mini_batch step, [784,30,10], sigmoid, quadratic, eta=3, m=10",
        "results": results,
        "gather": gather,
        "goals": all_goals,
    }
    if args.profile:
        prof = profile_network(steps=400 if args.quick else 2000)
        print_profile("cProfile of Network.update_mini_batch (float64), per step", prof)
        phases = measure_phases(reps, steps)
        print("\nPhases of a step (float64), median µs, no profiler:")
        print(table(["phase", "µs/step"], list(phases.items())))
        ops = measure_op_costs(reps)
        print("\nSingle calls on the step's shapes (float64), median µs:")
        print(table(["call", "µs"], list(ops.items())))
        payload["profile"] = prof
        payload["phases_us"] = phases
        payload["op_costs_us"] = ops
    save_results(args.json or "bench_nielsen", payload, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
