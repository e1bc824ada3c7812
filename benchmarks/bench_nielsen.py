"""Per-step time of the chapter's network: autograd_lite against hand-written NumPy and others.

One SGD step of ``[784, 30, 10]`` (sigmoid, quadratic cost, η = 3, m = 10) per contender of
`build_contenders`, same start and batches, interleaved rounds of equal duration; weight checks,
the cost of a gather; ``--profile``: cProfile, phases, single-op costs.
"""

import functools
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite.datasets import load_mnist
from autograd_lite.errors import ShapeError
from autograd_lite.nielsen import ManualNetwork, Network
from benchmarks import common
from benchmarks.common import block, clock, since

SIZES, ETA, BATCH, SEED = [784, 30, 10], 3.0, 10, 1
#: Largest |weight difference| from the reference after the timed steps: σ by other (correct)
#: formulas differs in the last bits, amplified slowly (~4e-14 after 1,000 float64 steps).
TOLERANCE = {"float64": 1e-12, "float32": 1e-3}
REFERENCE, NETWORK = "numpy reference", "autograd_lite Network"
REFERENCE_LIBRARY_SIGMOID = "numpy reference, library's σ"
WARMUP_ROUNDS = 4  # the first warms up, the others calibrate the steps per round


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
    """The chapter's network, BP1-BP4 by hand in matrix form (samples as columns): buffers
    allocated once, products written with ``out=``, ``w -= (η/m) ∇w`` in place once BP2 for
    layer l-1 has read the old ``w^l``."""

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
    rows = [(X_rows[idx], Y_rows[idx]) for idx in np.concatenate(epochs).reshape(-1, BATCH)]
    return [(Xr.T, Yr.T, Xr, Yr) for Xr, Yr in rows[:count]], data.source


def start(dtype: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial ``(biases, weights)`` every contender starts from: ``Network``'s."""
    net = Network(SIZES, seed=SEED, dtype=dtype)
    return net.biases, net.weights


@dataclass
class Contender:
    """A step on a batch ``(Xc, Yc, Xr, Yr)``, the parameters in the chapter's shapes, what runs
    untimed before a round (thread settings) and what waits for asynchronous work, timed."""

    name: str
    note: str
    step: Callable[[tuple], Any]
    params: Callable[[], tuple[list[np.ndarray], list[np.ndarray]]]
    before_round: Callable[[], Any] = lambda: None
    finish: Callable[[], Any] = lambda: None

    @classmethod
    def of(cls, name: str, note: str, net: Any, step: Callable[[tuple], Any]) -> "Contender":
        """A contender whose parameters are ``net.biases`` and ``net.weights``."""
        return cls(name, note, step, lambda: (net.biases, net.weights))


def reference(biases: list, weights: list, library_sigmoid: bool = False) -> Contender:
    name, note = REFERENCE, "hand-written BP1-BP4, matrix form, in place"
    if library_sigmoid:
        name = REFERENCE_LIBRARY_SIGMOID
        note = "the same, σ by autograd_lite's formula (overflow silenced by np.errstate)"
    sigmoid = sigmoid_library_inplace if library_sigmoid else sigmoid_inplace
    net = NumpyReference(biases, weights, BATCH, sigmoid)
    return Contender.of(name, note, net, lambda b: net.step(b[0], b[1], ETA))


def network(dtype: Any, replay: bool = True) -> Contender:
    net = Network(SIZES, seed=SEED, dtype=dtype, replay=replay)
    name, note = NETWORK, "Network.update_mini_batch (autodiff; the graph recorded once, replayed)"
    if not replay:
        name, note = f"{NETWORK}, replay=False", "the same, the graph built anew at every step"
    return Contender.of(name, note, net, lambda b: net.update_mini_batch((b[0], b[1]), ETA))


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
    note = "torch autograd, addmm + sigmoid, no_grad in-place update"
    return Contender(name, note, step, params, lambda: torch.set_num_threads(threads))


def jax_jit(jax: Any, biases: list, weights: list) -> Contender:
    """``jax.jit`` of the whole step (grad + update)."""
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

    def params() -> tuple[list, list]:
        jax.block_until_ready(state[0])
        return ([np.asarray(b).reshape(-1, 1) for _, b in state[0]],
                [np.asarray(w) for w, _ in state[0]])  # fmt: skip

    def step(batch: tuple) -> None:
        state[0] = update(state[0], batch[2], batch[3])

    note = "jax.jit of the whole step (grad + update), NumPy batches passed in"
    return Contender("jax jit", note, step, params, finish=lambda: jax.block_until_ready(state[0]))


def build_contenders(dtype: Any, torch: Any, jax: Any) -> list[Contender]:
    """The references, ``Network`` (replayed and not), the minimal tape (a diagnostic),
    ``ManualNetwork`` (matrix and per-sample), PyTorch eager (1, 2 threads), JAX ``jit``."""
    from benchmarks.minimal_tape import MinimalTapeNetwork

    biases, weights = start(dtype)
    tape = MinimalTapeNetwork(biases, weights)
    manual, looped = (ManualNetwork(SIZES, seed=SEED, dtype=dtype) for _ in "ab")
    out = [reference(biases, weights), reference(biases, weights, library_sigmoid=True),
           network(dtype), network(dtype, replay=False),
           Contender.of("minimal tape (diagnostic)", "the floor of a per-op Python autodiff: "
                        "benchmarks/minimal_tape.py", tape, lambda b: tape.step(b[0], b[1], ETA)),
           Contender.of("ManualNetwork matrix", "ManualNetwork.update_mini_batch_matrix", manual,
                        lambda b: manual.update_mini_batch_matrix(b[0], b[1], ETA)),
           Contender.of("ManualNetwork per-sample", "the chapter's loop (update_mini_batch)",
                        looped, lambda b: looped.update_mini_batch(b[:2], ETA))]  # fmt: skip
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
    warms up, the next calibrate the steps that fit in ``target_s`` (rounds of equal step counts
    would bias the medians against slower contenders, preempted more often)."""

    def __init__(self, contender: Contender, batches: list, target_s: float) -> None:
        self.contender, self.batches, self.target_s = contender, batches, target_s
        self.steps, self.calls, self.count = 10, 0, 0
        self.probes: list[float] = []

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
        if 2 <= self.calls <= WARMUP_ROUNDS:
            self.probes.append(timing[0])
            fastest = max(min(self.probes), 1e-7)  # a preempted probe must not shrink rounds
            self.steps = max(1, min(1000, round(self.target_s / fastest)))
        return timing


def lockstep_check(dtype: Any, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``Network`` in lockstep with the reference computing σ by the library's formula over the
    mini-batches ``(X, Y)``: the steps, the first whose weights differ (or None), the largest Δ."""
    ref, net = reference(*start(dtype), library_sigmoid=True), network(dtype)
    first, worst, steps = None, 0.0, 0
    for steps, batch in enumerate(pairs, 1):
        ref.step(batch)
        net.step(batch)
        diff = max_weight_difference(ref, net)
        first = steps if diff and first is None else first
        worst = max(worst, diff)
    return {"steps": steps, "bitwise": first is None, "first_difference_at": first, "max": worst}


def lockstep_line(ls: dict[str, Any]) -> str:
    first = f"first difference at step {ls['first_difference_at']}, max {ls['max']:.1e}"
    return "bitwise identical" if ls["bitwise"] else first


def measure_steps(dtype: Any, round_s: float, reps: int, torch: Any, jax: Any) -> dict[str, Any]:
    """Interleaved per-step timings of every contender for one dtype, plus the weight checks."""
    dtype = np.dtype(dtype)
    batches, source = load_batches(dtype, 800)  # one epoch of the 8,000 digits
    contenders = build_contenders(dtype, torch, jax)
    probes = build_contenders(dtype, torch, jax)  # one step each from the same start
    for probe in probes:
        probe.before_round(), probe.step(batches[0]), probe.finish()
    first_step = {p.name: max_weight_difference(p, probes[0]) for p in probes}
    lockstep = lockstep_check(dtype, (b[:2] for b in batches))
    rounds = {c.name: Rounds(c, batches, round_s) for c in contenders}
    samples = common.interleaved(rounds, reps, warmup=WARMUP_ROUNDS, seed=int(dtype.itemsize))
    ref, results = common.summarize(samples[REFERENCE], 1e6), {}
    for c in contenders:  # against the reference replayed, untimed, over as many steps
        stats, count = common.summarize(samples[c.name], 1e6), rounds[c.name].count
        replay = reference(*start(dtype))
        for i in range(count):
            replay.step(batches[i % len(batches)])
        results[c.name] = {
            "note": c.note, "us_per_step": stats,
            "ratio_to_reference": stats["median"] / ref["median"],
            "cpu_ratio_to_reference": stats["cpu"]["median"] / ref["cpu"]["median"],
            "max_abs_weight_diff_after_timed_steps": max_weight_difference(c, replay),
            "max_abs_weight_diff_after_one_step": first_step[c.name],
            "steps_per_round": rounds[c.name].steps, "steps_run": count,
            "samples_wall_us": [w * 1e6 for w, _ in samples[c.name]],
        }  # fmt: skip
    torch_names = [n for n in results if n.startswith("torch")]
    return {
        "dtype": dtype.name, "data": source, "round_s": round_s, "rounds": reps,
        "steps_run_by_network": rounds[NETWORK].count, "batches": len(batches),
        "tolerance": TOLERANCE[dtype.name], "lockstep_same_sigmoid": lockstep,
        "same_weights_as_reference":
            results[NETWORK]["max_abs_weight_diff_after_timed_steps"] <= TOLERANCE[dtype.name],
        "best_torch": min(torch_names, key=lambda n: results[n]["us_per_step"]["median"],
                          default=None),
        "contenders": results,
    }  # fmt: skip


def report(result: dict[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    """Print one dtype's table and weight checks; return its goals (ratios of medians)."""
    c, dt, ls = result["contenders"], result["dtype"], result["lockstep_same_sigmoid"]
    headers = ["contender", "µs/step", "IQR", "vs numpy", "cpu µs", "cpu vs numpy",
               "max|Δ| 1 step", "max|Δ| end"]  # fmt: skip
    common.show(f"[{dt}] µs per step, median of {result['rounds']} interleaved rounds of "
                f"~{1e3 * result['round_s']:.0f} ms each ({result['data']})", headers, [
        (name, s["median"], f"{s['q1']:.0f}-{s['q3']:.0f}", f"{r['ratio_to_reference']:.2f}x",
         s["cpu"]["median"], f"{r['cpu_ratio_to_reference']:.2f}x",
         f"{r['max_abs_weight_diff_after_one_step']:.1e}",
         f"{r['max_abs_weight_diff_after_timed_steps']:.1e}")
        for name, r in c.items() for s in [r["us_per_step"]]])  # fmt: skip
    verdict = "same" if result["same_weights_as_reference"] else "DIFFERENT"
    print(f"autograd_lite vs reference weights after {result['steps_run_by_network']} steps "
          f"from the same start: {verdict} (tolerance {result['tolerance']:.0e})\nautograd_lite "
          f"vs reference computing σ by the library's formula, {ls['steps']} steps in lockstep: "
          f"{lockstep_line(ls)}", *(f"note: {note}" for note in notes), sep="\n")  # fmt: skip
    them = {f"Network ≤ 1.25x numpy reference ({dt})": (REFERENCE, 1.25),
            f"Network ≤ 0.5x PyTorch eager, best threads ({dt})": (result["best_torch"], 0.5),
            f"Network ≤ 0.8x JAX jit ({dt})": ("jax jit", 0.8)}  # fmt: skip
    return [common.vs(text, c[NETWORK]["us_per_step"], c[other]["us_per_step"], limit)
            for text, (other, limit) in them.items() if other in c]  # fmt: skip


def measure_gather(dtype: Any, reps: int) -> dict[str, Any]:
    """Cost of gathering one mini-batch: rows (contiguous) vs columns (strided) vs a slice."""
    data = load_mnist(dtype=dtype)
    X_rows, Y_rows = data.train.images, data.train.one_hot()
    X_cols, Y_cols = np.ascontiguousarray(X_rows.T), np.ascontiguousarray(Y_rows.T)
    n, rng = X_rows.shape[0], np.random.default_rng(0)
    count = n // BATCH

    def timed(layout: str) -> Callable[[], tuple[float, float]]:
        def round_() -> tuple[float, float]:
            perm = rng.permutation(n)
            begin = clock()
            if layout == "slices":  # one shuffled copy per epoch, then views
                Xp, Yp = X_rows[perm], Y_rows[perm]
                for k in range(count):
                    Xp[k * BATCH : (k + 1) * BATCH]
                    Yp[k * BATCH : (k + 1) * BATCH]
            elif layout == "rows":
                for k in range(count):
                    idx = perm[k * BATCH : (k + 1) * BATCH]
                    X_rows[idx]
                    Y_rows[idx]
            else:
                for k in range(count):
                    idx = perm[k * BATCH : (k + 1) * BATCH]
                    X_cols[:, idx]
                    Y_cols[:, idx]
            return since(begin, count)

        return round_

    names = {"rows X[idx] (contiguous)": "rows", "columns X[:, idx] (strided)": "columns",
             "permute once per epoch, then slice": "slices"}  # fmt: skip
    samples = common.interleaved({k: timed(v) for k, v in names.items()}, reps)
    base = common.median(samples["rows X[idx] (contiguous)"])
    return {k: {"us_per_batch": common.median(v, 1e6), "ratio_to_rows": common.median(v) / base}
            for k, v in samples.items()}  # fmt: skip


def measure_phases(reps: int, steps: int, dtype: Any = np.float64) -> dict[str, float]:
    """Where a step's time goes, without a profiler: ``Network``'s graph eagerly (forward,
    backward) and replayed (what a step runs), the update, and the same in allocating NumPy."""
    batches = [b[:2] for b in load_batches(dtype, steps)[0]]
    net = Network(SIZES, seed=SEED, dtype=dtype)
    biases, weights = [b.copy() for b in net.biases], [w.copy() for w in net.weights]
    leaves = [al.Tensor(p, requires_grad=True) for p in biases + weights]
    replayed = al.value_and_grad(net._cost, argnums=tuple(range(len(leaves))), replay=True)
    params, grads = (
        [p.copy() for p in biases + weights],
        [np.ones_like(p) for p in biases + weights],
    )

    def per_step(body: Callable[..., Any], prepare: Callable[..., tuple] = lambda *b: b) -> Any:
        def round_() -> tuple[float, float]:
            ready = [prepare(X, Y) for X, Y in batches]
            begin = clock()
            for item in ready:
                body(*item)
            return since(begin, steps)

        return round_

    def np_forward(X: np.ndarray, Y: np.ndarray) -> tuple[list[np.ndarray]]:
        acts = [X]
        for w, b in zip(weights, biases):
            acts.append(1.0 / (1.0 + np.exp(-(w @ acts[-1] + b))))
        d = acts[-1] - Y
        0.5 * np.dot(d.ravel(), d.ravel())
        return (acts + [Y],)

    def np_backward(acts: list[np.ndarray]) -> None:
        d = (acts[-2] - acts[-1]) * acts[-2] * (1 - acts[-2])
        for l in range(len(weights) - 1, -1, -1):
            d @ acts[l].T
            d.sum(axis=1, keepdims=True)
            if l:
                d = (weights[l].T @ d) * acts[l] * (1 - acts[l])

    def update(*_: Any) -> None:
        for p, g in zip(params, grads):
            p -= (ETA / BATCH) * g

    step = lambda X, Y: net.update_mini_batch((X, Y), ETA)  # noqa: E731
    samples = common.interleaved({
        "Network.update_mini_batch (whole step)": per_step(step),
        "  the same, cyclic GC disabled (diagnostic)": common.gc_off(per_step(step)),
        "replayed forward + backward (what a step runs)":
            per_step(lambda X, Y: replayed(*biases, *weights, X, Y)),
        "eager forward (recording the graph)": per_step(lambda X, Y: net._cost(*leaves, X, Y)),
        "eager backward (gradients)":
            per_step(lambda C: al.gradients(C, leaves), lambda X, Y: (net._cost(*leaves, X, Y),)),
        "autograd_lite update (4 in-place)": per_step(update),
        "numpy forward (allocating)": per_step(np_forward),
        "numpy backward (allocating)": per_step(np_backward, np_forward),
    }, reps)  # fmt: skip
    return {name: common.median(s, 1e6) for name, s in samples.items()}


def measure_op_costs(reps: int, dtype: Any = np.float64) -> dict[str, float]:
    """The fixed cost of single calls on the step's own shapes: a NumPy call vs an op."""
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((30, 784)).astype(dtype), rng.random((784, BATCH)).astype(dtype)
    b, z = rng.standard_normal((30, 1)).astype(dtype), w @ x
    W, B, Z = (al.Tensor(a, requires_grad=True) for a in (w, b, z))

    def no_grad_sigmoid() -> Any:
        with al.no_grad():
            return al.sigmoid(Z)

    cases = {"np.matmul (30,784)@(784,10)": lambda: w @ x,
             "al.matmul, recorded": lambda: al.matmul(W, x),
             "z + b (30,10)+(30,1)": lambda: z + b, "al.add, recorded": lambda: al.add(Z, B),
             "1/(1+exp(-z)) (30,10)": lambda: 1.0 / (1.0 + np.exp(-z)),
             "al.sigmoid, recorded": lambda: al.sigmoid(Z),
             "al.sigmoid in its own with no_grad()": no_grad_sigmoid}  # fmt: skip
    samples = common.interleaved({k: block(f, 2000, repeat=2000) for k, f in cases.items()}, reps)
    return {name: common.median(s, 1e6) for name, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    options = {"--dtype": {"choices": ["float64", "float32", "both"], "default": "both"},
               "--round-ms": {"type": float, "default": 5.0, "help": "one timed round (5 ms)"},
               "--steps": {"type": int, "help": "steps per phase/profile round"},
               "--profile": "also profile update_mini_batch"}  # fmt: skip
    args = common.setup(__doc__, argv, options, reps=(9, 31), optional=("torch", "jax"))
    print("bench_nielsen: one SGD step of [784, 30, 10], sigmoid, quadratic cost, η=3, m=10")
    results, reps, goals = {}, args.reps, []
    for dt in ["float64", "float32"] if args.dtype == "both" else [args.dtype]:
        results[dt] = measure_steps(dt, args.round_ms / 1e3, reps, args.torch, args.jax)
        goals += report(results[dt], args.notes)
    gather = measure_gather("float64", reps)
    rows = [(k, v["us_per_batch"], f"{v['ratio_to_rows']:.2f}x") for k, v in gather.items()]
    common.show("Gathering one mini-batch of 10 (float64), median µs:",
                ["layout", "µs/batch", "vs rows"], rows)  # fmt: skip
    payload: dict[str, Any] = {"results": results, "gather": gather, "notes": args.notes,
                               "task": "one update_mini_batch step, [784,30,10], sigmoid, "
                                       "quadratic, eta=3, m=10"}  # fmt: skip
    if args.profile:
        count = 400 if args.quick else 2000
        batches = [b[:2] for b in load_batches(np.float64, count)[0]]
        net = Network(SIZES, seed=SEED)
        for batch in batches[:50]:
            net.update_mini_batch(batch, ETA)
        title = "cProfile of Network.update_mini_batch (float64), per step"
        run = lambda: [net.update_mini_batch(b, ETA) for b in batches]  # type: ignore[func-returns-value] # noqa: E731
        payload["profile"] = common.profile(title, run, count)
        phases = measure_phases(reps, args.steps or (25 if args.quick else 40))
        common.show("Phases of a step (float64), median µs, no profiler:",
                    ["phase", "µs/step"], phases.items())  # fmt: skip
        costs = measure_op_costs(reps)
        common.show("Single calls on the step's shapes (float64), median µs:",
                    ["call", "µs"], costs.items())  # fmt: skip
        payload |= {"phases_us": phases, "op_costs_us": costs}
    return common.footer(args.json or "bench_nielsen", payload, goals=goals)


if __name__ == "__main__":
    raise SystemExit(main())
