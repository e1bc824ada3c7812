"""``al.compile``: a PyTorch-style training loop, compiled, against hand-written NumPy.

The chapter's network as ``nn.Sequential`` + ``optim.SGD``, compiled and eager, against
bench_nielsen's hand-written step and PyTorch eager (float64, float32); a 4-layer highway
network's forward + backward, compiled, against the same by hand in NumPy. ``--profile``: where
the compiled step's time goes (its phases timed within the loop, and cProfile).
"""

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite import nn, optim
from benchmarks import common
from benchmarks.bench_nielsen import BATCH, ETA, SIZES, load_batches, reference, start

WIDTH, DEPTH, HIGHWAY_BATCH = 64, 4, 32
COMPILED, EAGER, NUMPY = "al.compile(model)", "model (eager)", "NumPy by hand"
TORCH, HIGHWAY = "PyTorch eager (1 thread)", "al.compile(highway)"


def sequential(dtype: Any) -> nn.Sequential:
    """The chapter's network as ``nn.Sequential``."""
    linear = [nn.Linear(n, m, seed=k, dtype=dtype) for k, n, m in zip((1, 2), SIZES, SIZES[1:])]
    return nn.Sequential(linear[0], nn.Sigmoid(), linear[1], nn.Sigmoid())


def training(dtype: Any, compiled: bool) -> Callable[[tuple], None]:
    """The PyTorch-style step on a batch ``(Xc, Yc, Xr, Yr)``, its model compiled or eager."""
    model = sequential(dtype)
    opt = optim.SGD(model.parameters(), lr=ETA / BATCH)
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
    model = sequential(dtype)
    opt, forward, clock = optim.SGD(model.parameters(), lr=ETA / BATCH), al.compile(model), []
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


def main(argv: list[str] | None = None) -> int:
    args = common.setup(__doc__, argv, {"--profile": "the compiled step's phases, cProfile"},
                        reps=(5, 15))  # fmt: skip
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

    def compiled_step() -> None:
        model.zero_grad()
        compiled(x).sum().backward()

    runs = {HIGHWAY: compiled_step, NUMPY: lambda: highway_numpy(params, x)}
    title = f"Highway {DEPTH} x {WIDTH}, batch {HIGHWAY_BATCH}, forward + backward, µs"
    payload["highway"], met = common.contest(
        title, {k: common.block(v, 100, 100) for k, v in runs.items()}, args.reps, NUMPY,
        [("compiled highway fwd+bwd ≤ 1.5x NumPy", HIGHWAY, NUMPY, 1.5)])  # fmt: skip
    return common.footer("bench_compile", payload, args.notes, goals + met)


if __name__ == "__main__":
    raise SystemExit(main())
