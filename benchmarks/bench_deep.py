"""Deep graphs: chains of 10^4, 10^5 and 10^6 nodes -- time and peak memory.

Each node is one link ``x = x * 1.0001 + 0.0001`` on a scalar (two recorded ops, as in
:mod:`benchmarks.bench_overhead`). For every size and framework a *fresh process* builds the
chain (forward), runs ``backward()`` and reports the times and its resident memory: the RSS
before the chain, the peak RSS (``VmHWM``, reset just before the chain) and the RSS after the
backward, so peaks of different sizes never mix. Peak memory should grow linearly with the
number of nodes: the table gives bytes per node. The child checks the gradient
(``1.0001 ** n``) and, for autograd_lite, also that a graph of that depth can be dropped
*without* a backward (freeing a million-deep chain of objects must not overflow the C stack).

Run: ``python -m benchmarks.bench_deep [--quick] [--max-nodes N] [--sizes 10000,100000]``.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    base_parser,
    clock,
    goal,
    median,
    optional_import,
    peak_rss_bytes,
    pin_blas_threads,
    print_goals,
    print_notes_and_environment,
    reset_peak_rss,
    rss_bytes,
    run_child,
    save_results,
    since,
    summarize,
    table,
)

MUL = 1.0001
ADD = 0.0001
GC_OFF = "autograd_lite, GC off"


# ---------------------------------------------------------------------------------------------
# The child: one framework, one size, one process
# ---------------------------------------------------------------------------------------------


def _build(x0: Any, n: int) -> Any:
    x = x0
    for _ in range(n):
        x = x * MUL + ADD
    return x


class CollectorLog:
    """A ``gc.callbacks`` entry: how many collections of each generation ran, and how long."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.count[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._started


def _measure_chain(make_leaf: Callable[[], Any], n: int, drop_test: bool) -> dict[str, Any]:
    """Time and memory of one n-node chain built from ``make_leaf()``, forward then backward.

    With ``drop_test``, also time freeing a graph of the same depth dropped without backward.
    """
    _build(make_leaf(), 100).backward()  # warm the code paths
    gc.collect()
    out: dict[str, Any] = {}
    x0 = make_leaf()
    out["rss_before"] = rss_bytes()
    out["peak_reset"] = reset_peak_rss()
    collections = CollectorLog()
    gc.callbacks.append(collections)
    start = clock()
    y = _build(x0, n)
    out["fwd_s"], out["fwd_cpu_s"] = since(start)
    gc.callbacks.remove(collections)
    out["gc_fwd_count"], out["gc_fwd_s"] = collections.count, collections.seconds
    out["rss_after_fwd"] = rss_bytes()
    start = clock()
    y.backward()
    out["bwd_s"], out["bwd_cpu_s"] = since(start)
    out["peak"] = peak_rss_bytes()
    out["grad"] = float(np.asarray(x0.grad))
    del y
    gc.collect()
    out["rss_after"] = rss_bytes()
    if drop_test:
        # A graph of the same depth dropped without backward: freed by reference counting alone.
        z = _build(make_leaf(), n)
        start = clock()
        del z
        gc.collect()
        out["drop_without_backward_s"] = since(start)[0]
    return out


def _chain_al(n: int) -> dict[str, Any]:
    import autograd_lite as al

    return _measure_chain(lambda: al.Tensor(1.0, requires_grad=True), n, drop_test=True)


def _chain_torch(n: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    leaf = lambda: torch.tensor(1.0, dtype=torch.float64, requires_grad=True)  # noqa: E731
    return _measure_chain(leaf, n, drop_test=False)


def child(framework: str, n: int) -> dict[str, Any]:
    """Measure one chain in this process (called by the parent through ``--child``)."""
    pin_blas_threads()
    if framework == "torch":
        out = _chain_torch(n)
    else:
        if framework == GC_OFF:
            gc.disable()  # diagnostic: what Python's cyclic garbage collector costs
        out = _chain_al(n)
    expected = MUL**n
    out["grad_ok"] = bool(np.isclose(out["grad"], expected, rtol=1e-6))
    out["framework"] = framework
    out["nodes"] = n
    return out


# ---------------------------------------------------------------------------------------------
# The parent
# ---------------------------------------------------------------------------------------------


def measure(
    sizes: list[int],
    reps_for: dict[int, int],
    frameworks: list[str],
    timeout: float,
    max_nodes_for: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run the children, interleaving frameworks; collect medians per (framework, size)."""
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {
        f: {n: [] for n in sizes} for f in frameworks
    }
    limits = max_nodes_for or {}
    errors: list[str] = []
    for n in sizes:
        for rep in range(reps_for[n]):
            order = frameworks if rep % 2 == 0 else list(reversed(frameworks))
            for fw in order:
                if n > limits.get(fw, n):
                    continue
                result = run_child(
                    "benchmarks.bench_deep", ["--child", fw, str(n)], timeout=timeout
                )
                if "error" in result:
                    errors.append(f"{fw} n={n:,}: {result['error']}")
                    continue
                runs[fw][n].append(result)
    summary: dict[str, Any] = {}
    for fw in frameworks:
        summary[fw] = {}
        for n in sizes:
            rs = runs[fw][n]
            if not rs:
                skipped = n > limits.get(fw, n)
                summary[fw][str(n)] = {"ok": False, "skipped": skipped}
                continue
            fwd = summarize([r["fwd_s"] for r in rs])["median"]
            bwd = summarize([r["bwd_s"] for r in rs])["median"]
            peak_growth = summarize([r["peak"] - r["rss_before"] for r in rs])["median"]
            entry = {
                "ok": all(r["grad_ok"] for r in rs),
                "runs": len(rs),
                "fwd_s": fwd,
                "bwd_s": bwd,
                "total_s": fwd + bwd,
                "fwd_us_per_node": fwd / n * 1e6,
                "bwd_us_per_node": bwd / n * 1e6,
                "fwd_cpu_s": summarize([r["fwd_cpu_s"] for r in rs])["median"],
                "bwd_cpu_s": summarize([r["bwd_cpu_s"] for r in rs])["median"],
                "rss_before": rs[0]["rss_before"],
                "peak_growth_bytes": peak_growth,
                "peak_bytes_per_node": peak_growth / n,
                "retained_after_bytes": summarize([r["rss_after"] - r["rss_before"] for r in rs])[
                    "median"
                ],
                "peak_reset": all(r["peak_reset"] for r in rs),
                "raw": rs,
            }
            if "gc_fwd_s" in rs[0]:  # the collector during the forward, per generation
                for key in ("gc_fwd_count", "gc_fwd_s"):
                    entry[key] = [median([r[key][g] for r in rs]) for g in range(3)]
            if "drop_without_backward_s" in rs[0]:
                entry["drop_without_backward_s"] = rs[0]["drop_without_backward_s"]
            summary[fw][str(n)] = entry
    return {"results": summary, "errors": errors}


def print_results(result: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    res = result["results"]
    rows = []
    for n in sizes:
        torch_total = res.get("torch", {}).get(str(n), {}).get("total_s")
        for fw in res:
            e = res[fw].get(str(n), {})
            if not e.get("runs"):
                why = "skipped" if e.get("skipped") else "FAILED"
                rows.append((f"{n:,}", fw, None, None, None, None, None, None, None, why))
                continue
            ratio = f"{e['total_s'] / torch_total:.2f}x" if torch_total and fw != "torch" else "-"
            rows.append(
                (
                    f"{n:,}",
                    fw,
                    e["fwd_s"],
                    e["bwd_s"],
                    e["total_s"],
                    ratio,
                    f"{e['peak_growth_bytes'] / 2**20:.1f}",
                    f"{e['peak_bytes_per_node']:.0f}",
                    f"{e['retained_after_bytes'] / 2**20:.1f}",
                    "yes" if e["ok"] else "NO",
                )
            )
    print(
        table(
            [
                "nodes",
                "framework",
                "fwd s",
                "bwd s",
                "total s",
                "vs torch",
                "peak MiB",
                "peak B/node",
                "kept MiB",
                "grad ok",
            ],
            [tuple(_seconds(c) for c in row) for row in rows],
            align="llrrrrrrrl",
        )
    )
    for n in sizes:
        e = res.get("autograd_lite", {}).get(str(n), {})
        if e.get("gc_fwd_s"):
            count, seconds = e["gc_fwd_count"], e["gc_fwd_s"]
            print(
                f"cyclic GC during the autograd_lite forward at {n:,} nodes: "
                f"{count[2]:.0f} full collection(s), {seconds[2]:.3g} s; "
                f"{count[0] + count[1]:.0f} young ones, {seconds[0] + seconds[1]:.3g} s "
                f"(of a {e['fwd_s']:.3g} s forward)"
            )
    goal_rows = []
    big = max(sizes)
    al = res.get("autograd_lite", {}).get(str(big), {})
    torch = res.get("torch", {}).get(str(big), {})
    if big >= 1_000_000:
        goal_rows.append(
            goal(f"{big:,}-node chain backward succeeds", "yes" if al.get("ok") else "no")
        )
    if al.get("runs") and torch.get("runs"):
        ratio = al["total_s"] / torch["total_s"]
        cpu = (al["fwd_cpu_s"] + al["bwd_cpu_s"]) / (torch["fwd_cpu_s"] + torch["bwd_cpu_s"])
        goal_rows.append(goal(f"{big:,}-node chain total time ≤ 0.5x PyTorch", ratio, 0.5, cpu))
    per_node = [
        res["autograd_lite"][str(n)]["peak_bytes_per_node"]
        for n in sizes
        if res.get("autograd_lite", {}).get(str(n), {}).get("runs")
    ]
    if len(per_node) >= 2:
        spread = max(per_node) / min(per_node)
        goal_rows.append(
            goal("peak memory linear in nodes (bytes/node spread across sizes)", spread, 1.5)
        )
    return goal_rows


def _seconds(cell: Any) -> Any:
    if isinstance(cell, float):
        return f"{cell:.3f}" if cell < 10 else f"{cell:.1f}"
    return cell


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--max-nodes", type=int, default=None, help="skip larger chains")
    parser.add_argument(
        "--torch-max-nodes", type=int, default=None, help="largest chain run with PyTorch"
    )
    parser.add_argument("--sizes", default=None, help="comma-separated chain lengths")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per child process")
    parser.add_argument(
        "--gc-diagnostic",
        action="store_true",
        help="also run autograd_lite with Python's cyclic GC disabled (shows what GC costs)",
    )
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "N"), help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    pin_blas_threads()
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [10_000, 100_000, 1_000_000]
    max_nodes = args.max_nodes or (100_000 if args.quick else None)
    if max_nodes:
        sizes = [n for n in sizes if n <= max_nodes]
    frameworks = ["autograd_lite"]
    notes: list[str] = []
    if not args.no_torch:
        torch, why = optional_import("torch")
        if torch is None:
            notes.append(f"PyTorch skipped: {why}")
        else:
            frameworks.append("torch")
            del torch
    else:
        notes.append("PyTorch skipped (--no-torch)")
    if args.gc_diagnostic:
        frameworks.insert(1, GC_OFF)
    reps = args.reps or (1 if args.quick else 3)
    # Every size gets the same number of runs: one 15-second run of a 10^6 chain on a shared
    # machine is at the mercy of whatever else runs, and its ratio moved by a quarter.
    reps_for = {n: reps for n in sizes}
    print(
        "bench_deep: scalar chains x = x*1.0001 + 0.0001 (2 ops per node), one fresh process "
        "per run; median of " + ", ".join(f"{r} run(s) at {n:,}" for n, r in reps_for.items())
    )
    limits = {"torch": args.torch_max_nodes} if args.torch_max_nodes else {}
    result = measure(sizes, reps_for, frameworks, args.timeout, limits)
    goal_rows = print_results(result, sizes)
    for err in result["errors"]:
        print("error:", err)
    env = print_notes_and_environment(notes)
    print_goals(goal_rows, "medians")
    payload = {
        "task": "scalar chain x = x*1.0001 + 0.0001, fwd + bwd, peak RSS per fresh process",
        "sizes": sizes,
        "frameworks": frameworks,
        **result,
        "goals": goal_rows,
        "notes": notes,
    }
    save_results(args.json or "bench_deep", payload, env)
    return 0 if not result["errors"] else 1


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
