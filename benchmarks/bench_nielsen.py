"""Per-step time of the chapter's network: autograd_lite against hand-written NumPy and others.

One SGD step of ``[784, 30, 10]`` (sigmoid, quadratic cost, η = 3, m = 10) per contender, same
start and batches, rounds of equal duration; weight checks; ``--profile``. ``--fashion``: one
epoch of Fashion-MNIST per contender and ``Network.SGD`` instead, and the test accuracy after.
"""

import argparse
import functools
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite.datasets import load_mnist
from autograd_lite.errors import ShapeError
from autograd_lite.nielsen import ManualNetwork, Network
from benchmarks import common
from benchmarks.common import clock, since

SIZES, ETA, BATCH, SEED = [784, 30, 10], 3.0, 10, 1
#: Largest |weight difference| from the reference after the timed steps: σ by other (correct)
#: formulas differs in the last bits, amplified slowly (~4e-14 after 1,000 float64 steps).
TOLERANCE = {"float64": 1e-12, "float32": 1e-3}
REFERENCE, NETWORK = "numpy reference", "autograd_lite Network"
REFERENCE_LIBRARY_SIGMOID = "numpy reference, library's σ"
WARMUP_ROUNDS, ROUND_S = 4, 0.005  # the first warms up, the others calibrate rounds of 5 ms
FASHION, SGD = "/usr/share/datasets/fashion-mnist", "Network.SGD (library driver)"


def sigmoid_inplace(z: np.ndarray, exp: Callable = np.exp) -> np.ndarray:
    """σ(z) = 1 / (1 + e^-z) in place (e^-z may overflow to inf: then σ = 1/inf = 0, exact)."""
    np.negative(z, out=z)
    exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


#: σ as autograd_lite computes it (overflow silenced by ``np.errstate`` as a decorator): the
#: reference reproduces the library's weights bitwise with it; its time is the errstate's cost.
sigmoid_library_inplace = functools.partial(sigmoid_inplace, exp=np.errstate(over="ignore")(np.exp))


class NumpyReference:
    """BP1-BP4 by hand in matrix form (samples as columns): buffers allocated once, products
    written with ``out=``, ``w -= (η/m) ∇w`` in place once BP2 for l-1 has read the old ``w^l``."""

    def __init__(self, biases: list, weights: list, m: int, sigmoid: Callable = sigmoid_inplace):
        self.sigmoid, self.m = sigmoid, m
        self.biases, self.weights = [np.array(b) for b in biases], [np.array(w) for w in weights]
        self.acts, self.deltas, self.tmps = ([np.empty((w.shape[0], m), w.dtype)
                                              for w in self.weights] for _ in range(3))  # fmt: skip
        self.nabla_w, self.nabla_b = ([np.empty_like(p) for p in ps]
                                      for ps in (self.weights, self.biases))  # fmt: skip

    def step(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        """One SGD step on the columns of ``X`` (n_in, m) and ``Y`` (n_out, m)."""
        if X.shape[1] != self.m:
            raise ShapeError(f"NumpyReference was built for mini-batches of {self.m}")
        rate, weights, biases, acts = eta / self.m, self.weights, self.biases, self.acts
        with np.errstate(over="ignore"):
            a = X
            for w, b, out in zip(weights, biases, acts):
                np.matmul(w, a, out=out)
                out += b
                a = self.sigmoid(out)
        last = len(weights) - 1
        aL, d, t = acts[last], self.deltas[last], self.tmps[last]  # BP1
        np.subtract(aL, Y, out=d)
        d *= aL
        np.subtract(1.0, aL, out=t)
        d *= t
        for l in range(last, -1, -1):
            a_prev, nw, nb = X if l == 0 else acts[l - 1], self.nabla_w[l], self.nabla_b[l]
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
            d = d_prev if l > 0 else d


def load_batches(dtype: Any, count: int) -> tuple[list[tuple], str]:
    """``count`` shuffled mini-batches ``(Xc, Yc, Xr, Yr)`` of the embedded training digits,
    epoch after epoch, and their source: ``Xr`` a contiguous row block, ``Xc = Xr.T``."""
    data, rng = load_mnist(dtype=dtype), np.random.default_rng(0)
    X_rows, Y_rows = data.train.images, data.train.one_hot()
    usable = X_rows.shape[0] // BATCH * BATCH
    epochs = [rng.permutation(X_rows.shape[0])[:usable] for _ in range(-(-count * BATCH // usable))]
    blocks = np.concatenate(epochs).reshape(-1, BATCH)[:count]
    return [batch(X_rows, Y_rows, idx) for idx in blocks], data.source


def batch(X_rows: np.ndarray, Y_rows: np.ndarray, idx: Any) -> tuple:
    """The mini-batch ``(Xc, Yc, Xr, Yr)`` of the rows ``idx``: ``Xr`` rows, ``Xc = Xr.T``."""
    Xr, Yr = X_rows[idx], Y_rows[idx]
    return Xr.T, Yr.T, Xr, Yr


def start(dtype: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial ``(biases, weights)`` every contender starts from: ``Network``'s."""
    net = Network(SIZES, seed=SEED, dtype=dtype)
    return net.biases, net.weights


@dataclass
class Contender:
    """A step on a batch ``(Xc, Yc, Xr, Yr)``, the parameters in the chapter's shapes, what runs
    untimed before a round (threads) and what waits for asynchronous work (timed)."""

    name: str
    step: Callable[[tuple], Any]
    params: Callable[[], tuple[list[np.ndarray], list[np.ndarray]]]
    before_round: Callable[[], Any] = lambda: None
    finish: Callable[[], Any] = lambda: None

    @classmethod
    def of(cls, name: str, net: Any, step: Callable[[tuple], Any]) -> "Contender":
        """A contender whose parameters are ``net.biases`` and ``net.weights``."""
        return cls(name, step, lambda: (net.biases, net.weights))


def reference(biases: list, weights: list, library_sigmoid: bool = False) -> Contender:
    """The hand-written step; with ``library_sigmoid``, σ computed by autograd_lite's formula."""
    sigmoid = sigmoid_library_inplace if library_sigmoid else sigmoid_inplace
    net = NumpyReference(biases, weights, BATCH, sigmoid)
    name = REFERENCE_LIBRARY_SIGMOID if library_sigmoid else REFERENCE
    return Contender.of(name, net, lambda b: net.step(b[0], b[1], ETA))


def network(dtype: Any, replay: bool = True) -> Contender:
    """``Network.update_mini_batch``: the graph recorded once and replayed, or built anew."""
    net = Network(SIZES, seed=SEED, dtype=dtype, replay=replay)
    name = NETWORK if replay else f"{NETWORK}, replay=False"
    return Contender.of(name, net, lambda b: net.update_mini_batch((b[0], b[1]), ETA))


def torch_eager(torch: Any, biases: list, weights: list, threads: int) -> Contender:
    """The step in PyTorch autograd (addmm + sigmoid, ``no_grad`` in-place update)."""
    layers = [(torch.tensor(np.array(w), requires_grad=True),
               torch.tensor(np.array(b).reshape(-1), requires_grad=True))
              for w, b in zip(weights, biases)]  # fmt: skip
    flat = [p for layer in layers for p in layer]

    def step(batch: tuple) -> None:
        a, y = torch.from_numpy(batch[2]), torch.from_numpy(batch[3])
        for w, b in layers:
            a = torch.sigmoid(torch.addmm(b, a, w.t()))
        d = a - y
        (0.5 * (d * d).sum()).backward()
        with torch.no_grad():
            for p in flat:
                p.sub_(p.grad, alpha=ETA / BATCH)
                p.grad = None

    params = lambda: ([b.detach().numpy().reshape(-1, 1) for _, b in layers],  # noqa: E731
                      [w.detach().numpy() for w, _ in layers])  # fmt: skip
    name = f"torch eager ({threads} thread{'s' if threads > 1 else ''})"
    return Contender(name, step, params, lambda: torch.set_num_threads(threads))


def jax_jit(jax: Any, biases: list, weights: list) -> Contender:
    """``jax.jit`` of the whole step (grad + update), NumPy batches passed in."""
    jnp = importlib.import_module("jax.numpy")

    def loss(params: Any, x: Any, y: Any) -> Any:
        for w, b in params:
            x = jax.nn.sigmoid(x @ w.T + b)
        return 0.5 * jnp.sum((x - y) * (x - y))

    def update(params: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - ETA / BATCH * g, params, grads)

    update = jax.jit(update, donate_argnums=0)
    state = [[(jnp.asarray(np.array(w)), jnp.asarray(np.array(b).reshape(-1)))
              for w, b in zip(weights, biases)]]  # fmt: skip

    params = lambda: ([np.asarray(b).reshape(-1, 1) for _, b in state[0]],  # noqa: E731
                      [np.asarray(w) for w, _ in state[0]])  # fmt: skip

    def step(batch: tuple) -> None:
        state[0] = update(state[0], batch[2], batch[3])

    return Contender("jax jit", step, params, finish=lambda: jax.block_until_ready(state[0]))


def build_contenders(dtype: Any, torch: Any, jax: Any) -> list[Contender]:
    """Every contender of the step, from the same start."""
    from benchmarks.minimal_tape import MinimalTapeNetwork

    biases, weights = start(dtype)
    tape = MinimalTapeNetwork(biases, weights)
    manual, looped = (ManualNetwork(SIZES, seed=SEED, dtype=dtype) for _ in "ab")
    out = [reference(biases, weights), reference(biases, weights, library_sigmoid=True),
           network(dtype), network(dtype, replay=False),
           Contender.of("minimal tape (diagnostic)", tape, lambda b: tape.step(b[0], b[1], ETA)),
           Contender.of("ManualNetwork matrix", manual,
                        lambda b: manual.update_mini_batch_matrix(b[0], b[1], ETA)),
           Contender.of("ManualNetwork per-sample", looped,
                        lambda b: looped.update_mini_batch(b[:2], ETA))]  # fmt: skip
    out += [torch_eager(torch, biases, weights, t) for t in (1, 2)] if torch else []
    if jax is not None:
        jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64
        out.append(jax_jit(jax, biases, weights))
    return out


def max_weight_difference(a: Contender, b: Contender) -> float:
    """The largest |difference| between the parameters of two contenders."""
    pairs = zip([*a.params()[0], *a.params()[1]], [*b.params()[0], *b.params()[1]])
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - y))) for x, y in pairs)


class Rounds:
    """One contender's rounds: consecutive steps over the batches, timed as one block; the first
    warms up, the next calibrate the steps that fit in ``ROUND_S`` (rounds of equal step counts
    would bias the medians against slower contenders, preempted more often)."""

    def __init__(self, contender: Contender, batches: list) -> None:
        self.contender, self.batches = contender, batches
        self.steps, self.calls, self.count, self.fastest = 10, 0, 0, float("inf")

    def __call__(self) -> tuple[float, float]:
        c, n, steps = self.contender, len(self.batches), self.steps
        c.before_round()
        chunk = [self.batches[(self.count + i) % n] for i in range(steps)]
        self.count += steps
        step, begin = c.step, clock()
        for batch in chunk:
            step(batch)
        c.finish()
        timing = since(begin, steps)
        self.calls += 1
        if 2 <= self.calls <= WARMUP_ROUNDS:  # a preempted probe must not shrink rounds
            self.fastest = min(self.fastest, max(timing[0], 1e-7))
            self.steps = max(1, min(1000, round(ROUND_S / self.fastest)))
        return timing


def lockstep_check(dtype: Any, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``Network`` in lockstep with the reference computing σ as the library does, over ``pairs``
    ``(X, Y)``: the steps, the first whose weights differ (or None), the largest Δ."""
    ref, net = reference(*start(dtype), library_sigmoid=True), network(dtype)
    first, worst, steps = None, 0.0, 0
    for steps, batch in enumerate(pairs, 1):
        ref.step(batch)
        net.step(batch)
        diff = max_weight_difference(ref, net)
        first = steps if diff and first is None else first
        worst = max(worst, diff)
    line = f"first difference at step {first}, max {worst:.1e}" if first else "bitwise identical"
    return {"steps": steps, "bitwise": first is None, "first_difference_at": first, "max": worst,
            "line": line}  # fmt: skip


def measure_steps(dtype: Any, reps: int, torch: Any, jax: Any) -> tuple[dict, list[dict]]:
    """Every contender's interleaved per-step timings for one dtype and the weight checks,
    printed; the results and the goals."""
    dtype, (batches, source) = np.dtype(dtype), load_batches(dtype, 800)  # the 8,000 digits
    contenders = build_contenders(dtype, torch, jax)
    rounds = {c.name: Rounds(c, batches) for c in contenders}
    samples = common.interleaved(rounds, reps, warmup=WARMUP_ROUNDS, seed=int(dtype.itemsize))
    stats, diffs = {name: common.summarize(s, 1e6) for name, s in samples.items()}, {}
    for c in contenders:  # against the reference replayed, untimed, over as many steps
        replay = reference(*start(dtype))
        for i in range(rounds[c.name].count):
            replay.step(batches[i % len(batches)])
        diffs[c.name] = max_weight_difference(c, replay)
    ends = {"max|Δ| end": {name: f"{d:.1e}" for name, d in diffs.items()}}
    common.ratio_table(f"[{dtype.name}] µs per step, median of {reps} interleaved rounds of "
                       f"~{1e3 * ROUND_S:.0f} ms each, ratios to the {REFERENCE} ({source})",
                       stats, REFERENCE, extra=ends)  # fmt: skip
    ls, tolerance = lockstep_check(dtype, (b[:2] for b in batches)), TOLERANCE[dtype.name]
    print(f"autograd_lite vs reference weights after {rounds[NETWORK].count} steps from the same "
          f"start: {'same' if diffs[NETWORK] <= tolerance else 'DIFFERENT'} (tolerance "
          f"{tolerance:.0e})\nautograd_lite vs reference computing σ by the library's formula, "
          f"{ls['steps']} steps in lockstep: {ls['line']}")  # fmt: skip
    torch_name = min((n for n in stats if n.startswith("torch")),
                     key=lambda n: stats[n]["median"], default=None)  # fmt: skip
    goals = common.goals_of(stats, [
        (f"Network ≤ 1.25x numpy reference ({dtype})", NETWORK, REFERENCE, 1.25),
        (f"Network ≤ 0.5x PyTorch eager, best threads ({dtype})", NETWORK, torch_name, 0.5),
        (f"Network ≤ 0.8x JAX jit ({dtype})", NETWORK, "jax jit", 0.8)])  # fmt: skip
    return {"data": source, "us_per_step": stats, "max_abs_weight_diff_after_timed_steps": diffs,
            "steps_run": {name: r.count for name, r in rounds.items()}, "tolerance": tolerance,
            "lockstep_same_sigmoid": ls}, goals  # fmt: skip


def epoch(make: Callable[[], Contender], X_rows: np.ndarray, Y_rows: np.ndarray,
          last: dict[str, Contender]) -> Callable[[], tuple[float, float]]:  # fmt: skip
    """One timed epoch from fresh parameters (the model kept in ``last``); the k-th call of every
    contender shuffles alike."""
    rng, n = np.random.default_rng(7), X_rows.shape[0]

    def round_() -> tuple[float, float]:
        warm = make()  # a few untimed steps: first-call costs (imports, allocator)
        for k in range(0, 3 * BATCH, BATCH):
            warm.step(batch(X_rows, Y_rows, slice(k, k + BATCH)))
        c = make()
        last[c.name] = c
        c.before_round()  # thread settings
        step, begin = c.step, clock()
        perm = rng.permutation(n)
        for k in range(n // BATCH):
            step(batch(X_rows, Y_rows, perm[k * BATCH : (k + 1) * BATCH]))
        c.finish()
        return since(begin)

    return round_


def fashion(args: argparse.Namespace) -> int:
    """``--fashion``: interleaved epochs per contender, the test accuracy, the weight checks
    (``apt-get install dataset-fashion-mnist``, else skipped)."""
    print("bench_nielsen --fashion: one epoch of Fashion-MNIST, [784, 30, 10], sigmoid, "
          "quadratic, η=3, m=10")  # fmt: skip
    if not Path(args.data).is_dir():
        install = "install it with `apt-get install -y dataset-fashion-mnist`"
        args.notes.append(f"Fashion-MNIST not found in {args.data}: skipped ({install})")
        return common.footer("bench_fashion", {"result": None}, args.notes)
    dtype, begin = np.dtype("float64" if args.dtype == "both" else args.dtype), clock()
    data = load_mnist(args.data, dtype=dtype)
    load_s = since(begin)[0]
    X_rows, Y_rows = data.train.images, data.train.one_hot()
    n, steps = X_rows.shape[0], X_rows.shape[0] // BATCH
    makers = [lambda: reference(*start(dtype)), lambda: reference(*start(dtype), True),
              lambda: network(dtype)]  # fmt: skip
    if args.torch is not None:
        makers.append(lambda: torch_eager(args.torch, *start(dtype), threads=1))
    last: dict[str, Contender] = {}
    rounds = {make().name: epoch(make, X_rows, Y_rows, last) for make in makers}

    def sgd_epoch() -> tuple[float, float]:  # the library's own driver and shuffling
        net = Network(SIZES, seed=SEED, dtype=dtype)
        last[SGD] = Contender.of(SGD, net, lambda b: None)
        begin = clock()
        net.SGD((X_rows.T, Y_rows.T), 1, BATCH, ETA, verbose=False, monitor_cost=False)
        return since(begin)

    rounds[SGD] = sgd_epoch
    stats, accuracy = common.compare(rounds, args.reps, warmup=0), {}
    for name, contender in last.items():  # the share of test images whose largest output is
        a = data.test.images.T  # the label
        with np.errstate(over="ignore"):
            for b, w in zip(*contender.params()):
                a = 1.0 / (1.0 + np.exp(-(w @ a + b)))
        accuracy[name] = float(np.mean(a.argmax(axis=0) == data.test.labels))
    extra = {"µs/step": {k: f"{s['median'] / steps * 1e6:.0f}" for k, s in stats.items()},
             "test accuracy": {k: f"{a:.2%}" for k, a in accuracy.items()}}  # fmt: skip
    common.ratio_table(f"{data.source}; {dtype.name}; {steps:,} steps per epoch; median of "
                       f"{args.reps} interleaved epoch(s) each; loading took {load_s:.1f} s",
                       stats, REFERENCE, "s", extra=extra)  # fmt: skip
    # η = 3 is chaotic (last-bit differences of two σ formulas grow to O(1) within the epoch):
    # the arithmetic is checked in lockstep with the reference computing σ as the library does.
    perm = np.random.default_rng(7).permutation(n)
    ls = lockstep_check(dtype, (batch(X_rows, Y_rows, perm[k : k + BATCH])[:2]
                                for k in range(0, n - BATCH + 1, BATCH)))  # fmt: skip
    d = {name: max_weight_difference(last[name], last[NETWORK])
         for name in (REFERENCE, REFERENCE_LIBRARY_SIGMOID)}  # fmt: skip
    print("Network vs reference after the timed epoch (different σ formulas; η=3 is chaotic): "
          f"max|Δw| {d[REFERENCE]:.1e}; vs the reference with the library's σ: max|Δw| "
          f"{d[REFERENCE_LIBRARY_SIGMOID]:.1e}; {ls['steps']:,} steps in lockstep with "
          f"it: {ls['line']}")  # fmt: skip
    goals = common.goals_of(stats, [("one Fashion-MNIST epoch ≤ 1.25x hand-written NumPy",
                                     NETWORK, REFERENCE, 1.25)])  # fmt: skip
    result = {"max_abs_weight_diff_vs_network_after_epoch": d, "data": data.source,
              "lockstep_same_sigmoid": ls, "load_s": load_s, "dtype": dtype.name,
              "train_images": n, "steps_per_epoch": steps, "epochs_timed": args.reps,
              "epoch_s": stats, "test_accuracy": accuracy}  # fmt: skip
    return common.footer("bench_fashion", {"result": result}, args.notes, goals)


def main(argv: list[str] | None = None) -> int:
    options = {"--dtype": {"choices": ["float64", "float32", "both"], "default": "both"},
               "--profile": "also profile update_mini_batch",
               "--fashion": "one epoch of Fashion-MNIST instead (float64 unless --dtype)",
               "--data": {"default": FASHION, "help": f"its folder ({FASHION})"}}  # fmt: skip
    reps = lambda a: (1, 3) if a.fashion else (9, 31)  # noqa: E731
    optional = lambda a: ("torch",) if a.fashion else ("torch", "jax")  # noqa: E731
    args = common.setup(__doc__, argv, options, reps, optional)
    if args.fashion:
        return fashion(args)
    print("bench_nielsen: one SGD step of [784, 30, 10], sigmoid, quadratic cost, η=3, m=10")
    results, goals = {}, []
    for dt in ["float64", "float32"] if args.dtype == "both" else [args.dtype]:
        results[dt], met = measure_steps(dt, args.reps, args.torch, args.jax)
        goals += met
    payload: dict[str, Any] = {"results": results, "notes": args.notes}
    if args.profile:
        count = 400 if args.quick else 2000
        batches = [b[:2] for b in load_batches(np.float64, count)[0]]
        net = Network(SIZES, seed=SEED)
        for batch in batches[:50]:
            net.update_mini_batch(batch, ETA)
        title = "cProfile of Network.update_mini_batch (float64), per step"
        run = lambda: [net.update_mini_batch(b, ETA) for b in batches]  # type: ignore[func-returns-value] # noqa: E731
        payload["profile"] = common.profile(title, run, count)
    return common.footer("bench_nielsen", payload, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
