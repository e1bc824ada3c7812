"""``al.compile``: a PyTorch-style training loop, compiled, against hand-written NumPy.

1. The chapter's network as ``nn.Sequential(Linear(784, 30), Sigmoid(), Linear(30, 10),
   Sigmoid())``, mini-batches of 10 digits (samples as rows), quadratic cost, ``optim.SGD``:
   ``loss = cost(model(x), y); loss.backward(); opt.step()`` with the model compiled and not,
   against the hand-written NumPy step of ``bench_nielsen`` (BP1-BP4 in place) and PyTorch
   eager on one thread (when installed); float64 and float32. Goals: compiled <= 1.25x NumPy,
   <= 0.4x PyTorch; uncompiled <= 2x NumPy.
2. A custom 4-layer highway network (tanh transform, sigmoid gate, width 64, batch 32):
   forward + backward compiled against the same written by hand in NumPy. Goal: <= 1.5x.

Run: ``python -m benchmarks.bench_compile [--quick] [--no-torch]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite import nn, optim
from benchmarks import common
from benchmarks.bench_nielsen import BATCH, ETA, SIZES, NumpyReference, load_batches

WIDTH, DEPTH, HIGHWAY_BATCH = 64, 4, 32


def _sequential(dtype: Any) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1], seed=1, dtype=dtype),
        nn.Sigmoid(),
        nn.Linear(SIZES[1], SIZES[2], seed=2, dtype=dtype),
        nn.Sigmoid(),
    )


def loop_contenders(dtype: Any, batches: list, torch: Any) -> dict[str, Any]:
    """Rounds of ``len(batches)`` training steps each, per contender."""
    steps: dict[str, Any] = {}
    for compiled in (True, False):
        model = _sequential(dtype)
        opt = optim.SGD(model.parameters(), lr=ETA / BATCH)
        forward = al.compile(model) if compiled else model

        def step(b: tuple, forward: Any = forward, opt: Any = opt, model: Any = model) -> None:
            model.zero_grad()
            loss = al.quadratic_cost(forward(b[2]), b[3])
            loss.backward()
            opt.step()

        steps["al.compile(model)" if compiled else "model (eager)"] = step
    ref_model = _sequential(dtype)
    weights = [m.weight.data.copy() for m in ref_model.layers[::2]]
    biases = [m.bias.data.reshape(-1, 1).copy() for m in ref_model.layers[::2]]
    reference = NumpyReference(biases, weights, BATCH)
    steps["NumPy by hand"] = lambda b: reference.step(b[0], b[1], ETA)
    if torch is not None:
        torch.set_num_threads(1)
        tmodel = torch.nn.Sequential(
            torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.Sigmoid(),
            torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.Sigmoid(),
        ).to(torch.float64 if dtype == np.float64 else torch.float32)  # fmt: skip
        topt = torch.optim.SGD(tmodel.parameters(), lr=ETA / BATCH)

        def torch_step(b: tuple) -> None:
            topt.zero_grad()
            out = tmodel(torch.from_numpy(b[2]))
            (0.5 * ((out - torch.from_numpy(b[3])) ** 2).sum()).backward()
            topt.step()

        steps["PyTorch eager (1 thread)"] = torch_step

    def rounds(step: Any) -> Any:
        def round_() -> tuple[float, float]:
            begin = common.clock()
            for b in batches:
                step(b)
            return common.since(begin, len(batches))

        return round_

    return {name: rounds(step) for name, step in steps.items()}


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


def highway_contenders(dtype: Any, x: np.ndarray, reps: int) -> dict[str, Any]:
    model = nn.Sequential(*[Highway(WIDTH, seed=l, dtype=dtype) for l in range(DEPTH)])
    compiled = al.compile(model)
    params = [p.data for p in model.parameters()]

    def compiled_step() -> None:
        model.zero_grad()
        compiled(x).sum().backward()

    return {
        "al.compile(highway)": common.block(compiled_step, reps, reps),
        "NumPy by hand": common.block(lambda: highway_numpy(params, x), reps, reps),
    }


def main() -> int:
    parser = common.base_parser(__doc__)
    args = parser.parse_args()
    common.pin_blas_threads()
    notes: list[str] = []
    torch = common.optional_import("torch", args.no_torch, notes)
    reps = args.reps or (5 if args.quick else 15)
    steps = 50 if args.quick else 200
    payload: dict[str, Any] = {}
    goals = []
    for dtype in (np.float64, np.float32):
        label = np.dtype(dtype).name
        batches = [b for b in load_batches(dtype, steps)[0]]
        samples = common.interleaved(loop_contenders(dtype, batches, torch), reps)
        stats = {name: common.summarize(v, 1e6) for name, v in samples.items()}
        payload[f"loop_{label}"] = stats
        print(f"\nTraining loop, {label}, µs per step (medians of {reps} rounds of {steps} steps)")
        ref = stats["NumPy by hand"]
        rows = [(name, s["median"], s["cpu"]["median"], s["median"] / ref["median"],
                 s["cpu"]["median"] / ref["cpu"]["median"])
                for name, s in stats.items()]  # fmt: skip
        print(common.table(["contender", "wall µs", "cpu µs", "x NumPy", "x NumPy cpu"], rows))

        def ratio(a: str, b: str, stats: dict = stats) -> tuple[float, float]:
            return (stats[a]["median"] / stats[b]["median"],
                    stats[a]["cpu"]["median"] / stats[b]["cpu"]["median"])  # fmt: skip

        wall, cpu = ratio("al.compile(model)", "NumPy by hand")
        goals.append(common.goal(f"compiled loop ≤ 1.25x NumPy ({label})", wall, 1.25, cpu))
        wall, cpu = ratio("model (eager)", "NumPy by hand")
        goals.append(common.goal(f"uncompiled loop ≤ 2x NumPy ({label})", wall, 2.0, cpu))
        if "PyTorch eager (1 thread)" in stats:
            wall, cpu = ratio("al.compile(model)", "PyTorch eager (1 thread)")
            goals.append(common.goal(f"compiled loop ≤ 0.4x PyTorch ({label})", wall, 0.4, cpu))
    x = np.random.default_rng(0).standard_normal((HIGHWAY_BATCH, WIDTH))
    samples = common.interleaved(highway_contenders(np.float64, x, 100), reps)
    stats = {name: common.summarize(v, 1e6) for name, v in samples.items()}
    payload["highway"] = stats
    print(f"\nHighway {DEPTH} x {WIDTH}, batch {HIGHWAY_BATCH}, forward + backward, µs")
    rows = [(n, s["median"], s["cpu"]["median"]) for n, s in stats.items()]
    print(common.table(["contender", "wall µs", "cpu µs"], rows))
    a, b = stats["al.compile(highway)"], stats["NumPy by hand"]
    goals.append(common.goal("compiled highway fwd+bwd ≤ 1.5x NumPy", a["median"] / b["median"],
                             1.5, a["cpu"]["median"] / b["cpu"]["median"]))  # fmt: skip
    common.footer("bench_compile", payload, notes, goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
