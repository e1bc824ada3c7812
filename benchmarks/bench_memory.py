"""Leak check: resident memory over 10,000 training steps (and over many graphs).

``Network.update_mini_batch`` builds and frees a graph every step; if anything (a cache, a hook
list, a reference cycle the collector cannot see, an array kept by a released node) survived a
step, the process would grow step after step. The RSS (psutil) is sampled every 1,000 steps,
after a warm-up of 1,000 steps that settles NumPy's and the allocator's pools. Flat within 5%
means no leak. The same is done for scalar chains of 1,000 nodes, built and backpropagated over
and over, and for chains dropped without a backward.

Run: ``python -m benchmarks.bench_memory [--quick] [--steps N]``.
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.bench_nielsen import BATCH, ETA, SEED, SIZES, gather_batches, load_training
from benchmarks.common import base_parser, footer, goal, pin_blas_threads, rss_bytes, table

LIMIT = 0.05  # flat within 5%


def track(run_block: Callable[[], None], blocks: int) -> dict[str, Any]:
    """Call ``run_block`` once to warm up, then ``blocks`` times, sampling the RSS after each."""
    run_block()
    gc.collect()
    samples = [rss_bytes()]
    for _ in range(blocks):
        run_block()
        samples.append(rss_bytes())
    base = samples[0]
    growth, drift = (max(samples) - base) / base, (samples[-1] - base) / base
    return {"rss_bytes": samples, "baseline_bytes": base, "max_growth_fraction": growth,
            "end_drift_fraction": drift, "flat": max(abs(growth), abs(drift)) <= LIMIT,
            "gc_objects_end": len(gc.get_objects())}  # fmt: skip


def network_block(steps: int) -> Callable[[], None]:
    """``steps`` training steps per call, cycling over one epoch of mini-batches."""
    from autograd_lite.nielsen import Network

    X_rows, Y_rows, _ = load_training(np.float64)
    batches = itertools.cycle([b[:2] for b in gather_batches(X_rows, Y_rows, 800, BATCH)])
    net = Network(SIZES, seed=SEED)

    def block() -> None:
        for _ in range(steps):
            net.update_mini_batch(next(batches), ETA)

    return block


def chain_block(chains: int, nodes: int, backward: bool) -> Callable[[], None]:
    import autograd_lite as al

    def block() -> None:
        for _ in range(chains):
            x = al.Tensor(1.0, requires_grad=True)
            for _ in range(nodes):
                x = x * 1.0001 + 0.0001
            if backward:
                x.backward()
            del x

    return block


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 10000)")
    args = parser.parse_args(argv)
    pin_blas_threads()
    steps = args.steps or (3000 if args.quick else 10_000)
    every = 1000 if steps >= 2000 else max(steps // 10, 1)
    print(
        f"bench_memory: RSS every {every:,} steps over {steps:,} Network.update_mini_batch steps "
        f"(after {every:,} warm-up steps); flat within {LIMIT:.0%} means no leak"
    )
    chains = 10 if args.quick else 20
    results = {
        "network": track(network_block(every), steps // every),
        "chains with backward": track(chain_block(chains, 1000, True), 10),
        "chains dropped without backward": track(chain_block(chains, 1000, False), 10),
    }
    rows = []
    for name, r in results.items():
        print(
            f"{name}: RSS MiB per sample: " + " ".join(f"{b / 2**20:.1f}" for b in r["rss_bytes"])
        )
        rows.append((name, f"{r['baseline_bytes'] / 2**20:.1f}",
                     f"{100 * r['max_growth_fraction']:+.2f}%",
                     f"{100 * r['end_drift_fraction']:+.2f}%", "yes" if r["flat"] else "NO"))  # fmt: skip
    print()
    print(
        table(["workload", "baseline MiB", "max growth", "end drift", f"flat ≤{LIMIT:.0%}"], rows)
    )
    net = results["network"]
    growth = max(abs(net["max_growth_fraction"]), abs(net["end_drift_fraction"]))
    goals = [goal(f"RSS flat within {LIMIT:.0%} over {steps:,} Network steps", 100 * growth,
                  100 * LIMIT, unit="%")]  # fmt: skip
    payload = {"task": f"RSS over {steps} Network steps, sampled every {every}", "steps": steps,
               "every": every, "results": results}  # fmt: skip
    footer(args.json or "bench_memory", payload, goals=goals)
    return 0 if all(r["flat"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
