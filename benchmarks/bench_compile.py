"""The PyTorch-style surface (issues 14, 15) against hand-written NumPy and PyTorch eager.

The chapter's network as ``nn.Sequential`` + ``optim.SGD``, ``al.compile``'d and eager (float64,
float32), and a compiled 4-layer highway network; ``--profile``: the compiled step's phases and
cProfile. ``--adam``: ``optim.Adam.step`` (float64, fixed gradients). ``--cnn``: an epoch of the
LeNet of ``examples/mnist_cnn.py`` (float32, 8,000 digits) and ``Conv2d(1, 16, 5)``.
"""

import argparse
import collections
import functools
import math
import runpy
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite import nn, optim
from benchmarks import common
from benchmarks.bench_nielsen import BATCH, ETA, SIZES, load_batches, reference, start
from benchmarks.common import ROOT, block, clock, since

WIDTH, DEPTH, HIGHWAY_BATCH = 64, 4, 32
COMPILED, EAGER, NUMPY = "al.compile(model)", "model (eager)", "NumPy by hand"
TORCH, HIGHWAY = "PyTorch eager (1 thread)", "al.compile(highway)"
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8  # --adam
ADAM: dict[str, Any] = {"lr": LR, "betas": BETAS, "eps": EPS}
BASE = "hand-written NumPy Adam, in place (out=)"
EPOCH, CONV = "LeNet training epoch", "Conv2d(1, 16, 5) fwd+bwd, batch 32"  # --cnn


def sequential(dtype: Any) -> tuple[nn.Sequential, optim.SGD]:
    """The chapter's network as ``nn.Sequential``, and its ``optim.SGD``."""
    linear = [nn.Linear(n, m, seed=k, dtype=dtype) for k, n, m in zip((1, 2), SIZES, SIZES[1:])]
    model = nn.Sequential(linear[0], nn.Sigmoid(), linear[1], nn.Sigmoid())
    return model, optim.SGD(model.parameters(), lr=ETA / BATCH)


def training(dtype: Any, compiled: bool) -> Callable[[tuple], None]:
    """The PyTorch-style step on a batch ``(Xc, Yc, Xr, Yr)``, its model compiled or eager."""
    model, opt = sequential(dtype)
    forward: Any = al.compile(model) if compiled else model

    def step(b: tuple) -> None:
        model.zero_grad()
        al.quadratic_cost(forward(b[2]), b[3]).backward()
        opt.step()

    return step


def loop_contenders(dtype: Any, batches: list, torch: Any) -> dict[str, Any]:
    """Rounds of ``len(batches)`` training steps each, per contender."""
    steps = {COMPILED: training(dtype, True), EAGER: training(dtype, False),
             NUMPY: reference(*start(dtype)).step}  # fmt: skip
    if torch is not None:
        tnn = torch.nn
        tmodel = tnn.Sequential(tnn.Linear(SIZES[0], SIZES[1]), tnn.Sigmoid(),
                                tnn.Linear(SIZES[1], SIZES[2]), tnn.Sigmoid())  # fmt: skip
        tmodel.to(torch.float64 if dtype == np.float64 else torch.float32)
        topt = torch.optim.SGD(tmodel.parameters(), lr=ETA / BATCH)

        def torch_step(b: tuple) -> None:
            topt.zero_grad()
            out = tmodel(torch.from_numpy(b[2]))
            (0.5 * ((out - torch.from_numpy(b[3])) ** 2).sum()).backward()
            topt.step()

        steps[TORCH] = torch_step
    return {name: common.over(step, batches) for name, step in steps.items()}


def phases(dtype: Any, batches: list) -> dict[str, float]:
    """Median µs of each phase of the compiled step, timed in the loop (caches as they are)."""
    (model, opt), clock = sequential(dtype), []
    forward = al.compile(model)
    for b in batches * 3:
        clock.append(time.perf_counter())
        model.zero_grad()
        clock.append(time.perf_counter())
        out = forward(b[2])
        clock.append(time.perf_counter())
        loss = al.quadratic_cost(out, b[3])
        clock.append(time.perf_counter())
        loss.backward()
        clock.append(time.perf_counter())
        opt.step()
        clock.append(time.perf_counter())
    spans = np.diff(np.reshape(clock, (-1, 6)), axis=1) * 1e6
    names = ("zero_grad", "compiled forward", "cost", "backward", "opt.step")
    return dict(zip(names, np.median(spans, axis=0).tolist()))


class Highway(nn.Module):
    """``y = T ⊙ tanh(x W_h + b_h) + (1 - T) ⊙ x`` with the gate ``T = σ(x W_t + b_t)``."""

    def __init__(self, width: int, seed: int, dtype: Any) -> None:
        super().__init__()
        self.h = nn.Linear(width, width, init="normalized", seed=seed, dtype=dtype)
        self.t = nn.Linear(width, width, init="normalized", seed=seed + 100, dtype=dtype)

    def forward(self, x: Any) -> Any:
        gate = al.sigmoid(self.t(x))
        return gate * al.tanh(self.h(x)) + (1.0 - gate) * x


def highway_numpy(params: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The same forward and backward by hand (cost ``Σ y``): the gradient of every parameter."""
    acts = []
    for l in range(DEPTH):
        wh, bh, wt, bt = params[4 * l : 4 * l + 4]
        gate = 1.0 / (1.0 + np.exp(-(x @ wt.T + bt)))
        h = np.tanh(x @ wh.T + bh)
        acts.append((x, gate, h))
        x = gate * h + (1.0 - gate) * x
    g = np.ones_like(x)
    grads: list[np.ndarray] = []
    for x, gate, h in reversed(acts):
        dh = g * gate * (1.0 - h * h)
        dt = g * (h - x) * gate * (1.0 - gate)
        wh, _, wt, _ = params[4 * len(acts) - 4 - len(grads) : 4 * len(acts) - len(grads)]
        grads = [dh.T @ x, dh.sum(0), dt.T @ x, dt.sum(0), *grads]
        g = g * (1.0 - gate) + dh @ wh + dt @ wt
    return grads


def adams() -> tuple[Any, "NumpyAdam", list[np.ndarray], list[np.ndarray]]:
    """``optim.Adam`` and `NumpyAdam` from the same start, the network's parameters (weights
    (n_out, n_in), biases (n_out,)); the start and one fixed gradient each."""
    rng = np.random.default_rng(0)
    shapes = [s for n_in, n_out in zip(SIZES, SIZES[1:]) for s in ((n_out, n_in), (n_out,))]
    start, grads = [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]
    params = [nn.Parameter(w) for w in start]
    for p, g in zip(params, grads):
        p.grad = g
    return optim.Adam(params, **ADAM), NumpyAdam([w.copy() for w in start]), start, grads


class NumpyAdam:
    """Adam written for speed by hand: the moments updated in place, every operation in place
    into one scratch array per parameter (``out=``), PyTorch's order of operations."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params, self.t = params, 0
        self.m, self.v = [np.zeros_like(w) for w in params], [np.zeros_like(w) for w in params]
        self.tmp = [np.empty_like(w) for w in params]

    def step(self, grads: list[np.ndarray]) -> None:
        (b1, b2), self.t = BETAS, self.t + 1
        step_size, bc2_sqrt = LR / (1 - b1**self.t), math.sqrt(1 - b2**self.t)
        for w, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= bc2_sqrt
            tmp += EPS
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            w -= tmp


def adam_check() -> float:
    """The largest relative difference between ``optim.Adam`` and `NumpyAdam` after 20 steps
    from the same start (the same arithmetic)."""
    opt, ref, _, grads = adams()
    for _ in range(20):
        opt.step()
        ref.step(grads)
    params = opt.param_groups[0]["params"]
    return max(float(np.max(np.abs(p.data - w) / np.abs(w))) for p, w in zip(params, ref.params))


def adam(args: argparse.Namespace) -> int:
    """``--adam``: the three steps, rounds of 50 (``--quick``) or 200 steps each."""
    steps, difference = 50 if args.quick else 200, adam_check()
    if difference > 1e-10:
        raise AssertionError(f"optim.Adam and the hand-written Adam differ by {difference:.2e}")
    opt, ref, start, grads = adams()
    runs = {"optim.Adam.step": opt.step, BASE: functools.partial(ref.step, grads)}
    if args.torch is not None:
        tensors = [args.torch.tensor(w, requires_grad=True) for w in start]
        for t, g in zip(tensors, grads):
            t.grad = args.torch.tensor(g)
        runs["torch.optim.Adam (1 thread)"] = args.torch.optim.Adam(tensors, **ADAM).step
    title = f"bench_compile --adam: one step over {SIZES}'s parameters (float64), rounds of {steps}"
    goal = f"optim.Adam.step ≤ 1.25x a hand-written NumPy Adam step ({SIZES}, float64)"
    rounds = {name: common.block(run, steps, steps) for name, run in runs.items()}
    stats, goals = common.contest(title, rounds, args.reps, BASE,
                                  [(goal, "optim.Adam.step", BASE, 1.25)])  # fmt: skip
    payload = {"steps_per_round": steps, "rounds": args.reps, "results": stats,
               "adam_vs_hand_written_difference": difference}  # fmt: skip
    return common.footer("bench_adam", payload, args.notes, goals)


def torch_lenet(torch: Any, state: dict[str, np.ndarray]) -> Any:
    """The same LeNet in PyTorch, holding the weights ``state`` (our state_dict, unchanged)."""
    tnn = torch.nn
    model = tnn.Sequential(collections.OrderedDict(
        conv1=tnn.Conv2d(1, 6, 5, padding=2), relu1=tnn.ReLU(), pool1=tnn.MaxPool2d(2),
        conv2=tnn.Conv2d(6, 16, 5), relu2=tnn.ReLU(), pool2=tnn.MaxPool2d(2), flat=tnn.Flatten(),
        fc1=tnn.Linear(400, 120), relu3=tnn.ReLU(), fc2=tnn.Linear(120, 84), relu4=tnn.ReLU(),
        fc3=tnn.Linear(84, 10)))  # fmt: skip
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model


def fwd_bwd(model: Any, x: Any, n: int, forward: Any = None) -> Callable[[], tuple]:
    """A round of ``n`` times ``model.zero_grad()``, ``(forward or model)(x).sum().backward()``."""
    forward = forward or model

    def run() -> None:
        model.zero_grad()
        forward(x).sum().backward()

    return block(run, n, n)


def cnn_measure(torch: Any, reps: int, limit: int) -> dict[str, Any]:
    """The interleaved rounds of the LeNet's epoch on ``limit`` digits and of the Conv2d."""
    ex = SimpleNamespace(**runpy.run_path(str(ROOT / "examples" / "mnist_cnn.py")))  # its LeNet
    data = al.datasets.load_mnist(dtype=np.float32)
    x, y = ex.standardise(data.train.images[:limit]), data.train.labels[:limit]
    order = np.random.default_rng(0).permutation(len(x))
    lr, momentum, batch = ex.LR, ex.MOMENTUM, ex.BATCH

    def ours() -> tuple[float, float]:
        model = ex.LeNet(0)
        opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        begin = clock()
        ex.train_epoch(model, opt, x, y, order, batch)
        return since(begin)

    conv, images = nn.Conv2d(1, 16, 5, seed=0, dtype=np.float32), x[:32]
    rounds = {f"{EPOCH}: autograd_lite": ours, f"{CONV}: autograd_lite": fwd_bwd(conv, images, 20)}
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs() -> tuple[float, float]:
            model = torch_lenet(torch, ex.LeNet(0).state_dict())
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
            begin = clock()
            for k in range(0, len(order), batch):
                idx = torch.from_numpy(order[k : k + batch])
                loss = torch.nn.functional.cross_entropy(model(tx[idx]), ty[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            return since(begin)

        rounds[f"{EPOCH}: {TORCH}"] = theirs
        their_conv = torch.nn.Conv2d(1, 16, 5)
        rounds[f"{CONV}: {TORCH}"] = fwd_bwd(their_conv, torch.from_numpy(images), 20)
    return {"images": len(x), "steps": -(-len(x) // batch), "reps": reps,
            "results": common.compare(rounds, reps)}  # fmt: skip


def cnn(args: argparse.Namespace) -> int:
    """``--cnn``: the LeNet's epochs and the Conv2d's rounds, interleaved."""
    r = cnn_measure(args.torch, args.reps, 2000 if args.quick else 8000)
    print(f"bench_compile --cnn: {r['images']:,} images, {r['steps']} steps of 32 per epoch, "
          f"float32; medians of {args.reps} interleaved rounds")  # fmt: skip
    for what, unit, scale in ((EPOCH, "s", 1.0), (CONV, "ms", 1e3)):
        stats = {k: v for k, v in r["results"].items() if k.startswith(what)}
        common.ratio_table(f"{what}, ratios to {TORCH}", stats, f"{what}: {TORCH}", unit, scale)
    goals = common.goals_of(r["results"], [
        (f"{what} <= {limit}x {TORCH}", f"{what}: autograd_lite", f"{what}: {TORCH}", limit)
        for what, limit in ((EPOCH, 1.5), (CONV, 2.0))])  # fmt: skip
    return common.footer("bench_cnn", {"result": r}, args.notes, goals)


def main(argv: list[str] | None = None) -> int:
    options = {"--profile": "the compiled step's phases, cProfile",
               "--adam": "optim.Adam's step instead", "--cnn": "the CNN instead"}  # fmt: skip
    reps = lambda a: (9, 21) if a.adam else (2, 5) if a.cnn else (5, 15)  # noqa: E731
    args = common.setup(__doc__, argv, options, reps)
    if args.adam or args.cnn:
        return adam(args) if args.adam else cnn(args)
    steps, goals, payload = 50 if args.quick else 200, [], {}
    for dtype in (np.float64, np.float32):
        label, batches = np.dtype(dtype).name, load_batches(dtype, steps)[0]
        them = [(f"compiled loop ≤ 1.25x NumPy ({label})", COMPILED, NUMPY, 1.25),
                (f"uncompiled loop ≤ 2x NumPy ({label})", EAGER, NUMPY, 2.0),
                (f"compiled loop ≤ 0.4x PyTorch ({label})", COMPILED, TORCH, 0.4)]  # fmt: skip
        title = f"Training loop, {label}, µs per step, rounds of {steps} steps"
        rounds = loop_contenders(dtype, batches, args.torch)
        payload[f"loop_{label}"], met = common.contest(title, rounds, args.reps, NUMPY, them)
        goals += met
        if args.profile:
            payload[f"phases_{label}"] = spent = phases(dtype, batches)
            lines = [*spent.items(), ("sum", sum(spent.values()))]
            common.show(f"The compiled step's phases, {label}, median µs", ["phase", "µs"], lines)
            title, loop = f"cProfile of the compiled loop, {label}", rounds[COMPILED]
            payload[f"profile_{label}"] = common.profile(title, loop, len(batches))
    x = np.random.default_rng(0).standard_normal((HIGHWAY_BATCH, WIDTH))
    model = nn.Sequential(*[Highway(WIDTH, seed=l, dtype=np.float64) for l in range(DEPTH)])
    compiled, params = al.compile(model), [p.data for p in model.parameters()]
    runs = {HIGHWAY: fwd_bwd(model, x, 100, compiled),
            NUMPY: common.block(lambda: highway_numpy(params, x), 100, 100)}  # fmt: skip
    title = f"Highway {DEPTH} x {WIDTH}, batch {HIGHWAY_BATCH}, forward + backward, µs"
    highway = [("compiled highway fwd+bwd ≤ 1.5x NumPy", HIGHWAY, NUMPY, 1.5)]
    payload["highway"], met = common.contest(title, runs, args.reps, NUMPY, highway)
    return common.footer("bench_compile", payload, args.notes, goals + met)


if __name__ == "__main__":
    raise SystemExit(main())
