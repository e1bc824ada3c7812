"""Leak check: resident memory over 10,000 training steps (and over many graphs).

RSS every 1,000 steps after 1,000 warm-up steps, and over chains of 1,000 nodes with and without
a backward: flat within 5%. Run: ``python -m benchmarks.bench_memory [--quick] [--steps N]``.
"""

import gc
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite.nielsen import Network
from benchmarks import common
from benchmarks.bench_nielsen import ETA, SEED, SIZES, load_batches
from benchmarks.common import chain

LIMIT = 0.05  # flat within 5%


def track(run_block: Callable[[], Any], blocks: int) -> dict[str, Any]:
    """Call ``run_block`` once to warm up, then ``blocks`` times, sampling the RSS after each."""
    run_block()
    gc.collect()
    samples = [common.rss_bytes()]
    for _ in range(blocks):
        run_block()
        samples.append(common.rss_bytes())
    base = samples[0]
    growth, drift = (max(samples) - base) / base, (samples[-1] - base) / base
    return {"rss_bytes": samples, "max_growth_fraction": growth, "end_drift_fraction": drift,
            "flat": max(abs(growth), abs(drift)) <= LIMIT}  # fmt: skip


def chains(count: int, backward: bool) -> None:
    """``count`` chains of 1,000 nodes, each with a backward or dropped without one."""
    for _ in range(count):
        x = chain(al.Tensor(1.0, requires_grad=True), 1000)
        if backward:
            x.backward()
        del x


def main(argv: list[str] | None = None) -> int:
    option = {"--steps": {"type": int, "help": "training steps (default 10000)"}}
    args = common.setup(__doc__, argv, option, optional=())
    steps = args.steps or (3000 if args.quick else 10_000)
    every, count = 1000 if steps >= 2000 else max(steps // 10, 1), 10 if args.quick else 20
    print(f"bench_memory: RSS every {every:,} steps over {steps:,} Network.update_mini_batch steps "
          f"(after {every:,} warm-up steps); flat within {LIMIT:.0%} means no leak")  # fmt: skip
    batches = itertools.cycle([b[:2] for b in load_batches(np.float64, 800)[0]])
    net = Network(SIZES, seed=SEED)

    def network() -> None:
        for _ in range(every):
            net.update_mini_batch(next(batches), ETA)

    work = {"network": network, "chains with backward": lambda: chains(count, True),
            "chains dropped without backward": lambda: chains(count, False)}  # fmt: skip
    results = {k: track(b, steps // every if k == "network" else 10) for k, b in work.items()}
    for name, r in results.items():
        print(f"{name}: RSS MiB per sample:", " ".join(f"{b / 2**20:.1f}" for b in r["rss_bytes"]))
    headers = ["workload", "baseline MiB", "max growth", "end drift", f"flat ≤{LIMIT:.0%}"]
    print("\n" + common.table(headers, [
        (name, r["rss_bytes"][0] / 2**20, f"{100 * r['max_growth_fraction']:+.2f}%",
         f"{100 * r['end_drift_fraction']:+.2f}%", "yes" if r["flat"] else "NO")
        for name, r in results.items()]))  # fmt: skip
    r = results["network"]
    growth = 100 * max(abs(r["max_growth_fraction"]), abs(r["end_drift_fraction"]))
    text = f"RSS flat within {LIMIT:.0%} over {steps:,} Network steps"
    goals = [common.goal(text, growth, 100 * LIMIT, unit="%")]
    common.footer("bench_memory", {"steps": steps, "every": every, "results": results}, goals=goals)
    return 0 if all(r["flat"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
