"""Deep graphs: chains of 10^4, 10^5 and 10^6 nodes -- time and peak memory.

One fresh process per run: chain, ``backward()``, gradient check, RSS before / peak / after; a
graph of that depth dropped without a backward is freed too. ``--max-nodes N``, ``--sizes ...``.
"""

import argparse
import gc
import importlib
import json
import time
from statistics import median
from typing import Any

import numpy as np

from benchmarks import common
from benchmarks.common import MUL, chain, clock, rss_bytes, since

GC_OFF = "autograd_lite, GC off"


class CollectorLog:
    """A ``gc.callbacks`` entry: how many collections of each generation ran, and how long."""

    def __init__(self) -> None:
        self.count, self.seconds, self._started = [0, 0, 0], [0.0, 0.0, 0.0], 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.seconds[info["generation"]] += time.perf_counter() - self._started


def child(framework: str, n: int) -> dict[str, Any]:
    """One chain of ``n`` nodes in this process (run by the parent with ``--child``)."""
    if framework == "torch":
        torch = importlib.import_module("torch")
        torch.set_num_threads(1)
        leaf = lambda: torch.tensor(1.0, dtype=torch.float64, requires_grad=True)  # noqa: E731
    else:
        import autograd_lite as al

        if framework == GC_OFF:
            gc.disable()  # diagnostic: what Python's cyclic garbage collector costs
        leaf = lambda: al.Tensor(1.0, requires_grad=True)  # noqa: E731
    chain(leaf(), 100).backward()  # warm the code paths
    gc.collect()
    x0, log = leaf(), CollectorLog()
    out: dict[str, Any] = {"rss_before": rss_bytes(), "peak_reset": common.reset_peak_rss()}
    gc.callbacks.append(log)
    begin = clock()
    y = chain(x0, n)
    out["fwd_s"], out["fwd_cpu_s"] = since(begin)
    gc.callbacks.remove(log)
    out["gc_fwd_count"], out["gc_fwd_s"] = log.count, log.seconds
    begin = clock()
    y.backward()
    out["bwd_s"], out["bwd_cpu_s"] = since(begin)
    out["peak"], grad = common.peak_rss_bytes(), float(np.asarray(x0.grad))
    out["grad_ok"] = bool(np.isclose(grad, MUL**n, rtol=1e-6))
    del y
    gc.collect()
    out["rss_after"] = rss_bytes()
    if framework != "torch":  # dropped without backward: freed by reference counting alone
        z = chain(leaf(), n)
        begin = clock()
        del z
        gc.collect()
        out["drop_without_backward_s"] = since(begin)[0]
    return out


def summary(rs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The medians of one framework's runs at one size."""
    col = {k: [r[k] for r in rs] for k in rs[0]}
    med = {k: median(col[k]) for k in ("fwd_s", "bwd_s", "fwd_cpu_s", "bwd_cpu_s")}
    peak = median([r["peak"] - r["rss_before"] for r in rs])
    return med | {
        "ok": all(col["grad_ok"]), "runs": len(rs), "total_s": med["fwd_s"] + med["bwd_s"],
        "peak_growth_bytes": peak, "peak_bytes_per_node": peak / n,
        "retained_after_bytes": median([r["rss_after"] - r["rss_before"] for r in rs]),
        "gc_fwd_count": [median(g) for g in zip(*col["gc_fwd_count"])],
        "gc_fwd_s": [median(g) for g in zip(*col["gc_fwd_s"])], "raw": rs,
    }  # fmt: skip


def measure(sizes: list[int], reps: int, frameworks: list[str]) -> dict[str, Any]:
    """The children's runs, frameworks alternating in order, summarized per framework and size."""
    results: dict[str, dict[str, Any]] = {f: {} for f in frameworks}
    errors: list[str] = []
    for n in sizes:
        runs: dict[str, list] = {f: [] for f in frameworks}
        for rep in range(reps):
            for fw in frameworks if rep % 2 == 0 else frameworks[::-1]:
                result = common.run_child("benchmarks.bench_deep", ["--child", fw, str(n)], 600)
                if "error" in result:
                    errors.append(f"{fw} n={n:,}: {result['error']}")
                else:
                    runs[fw].append(result)
        for fw, rs in runs.items():
            results[fw][str(n)] = summary(rs, n) if rs else {"ok": False}
    return {"results": results, "errors": errors}


def report(res: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """Print the table and the collector lines; return the goals."""
    rows = []
    for n in sizes:
        torch = res.get("torch", {}).get(str(n), {}).get("total_s")
        for fw, e in ((fw, res[fw][str(n)]) for fw in res):
            if not e.get("runs"):
                rows.append((f"{n:,}", fw, *[None] * 7, "FAILED"))
                continue
            ratio = f"{e['total_s'] / torch:.2f}x" if torch and fw != "torch" else "-"
            secs = (f"{e[k]:.{3 if e[k] < 10 else 1}f}" for k in ("fwd_s", "bwd_s", "total_s"))
            mib = (f"{e[k] / 2**20:.1f}" for k in ("peak_growth_bytes", "retained_after_bytes"))
            rows.append((f"{n:,}", fw, *secs, ratio, next(mib), f"{e['peak_bytes_per_node']:.0f}",
                         next(mib), "yes" if e["ok"] else "NO"))  # fmt: skip
    headers = ["nodes", "framework", "fwd s", "bwd s", "total s", "vs torch", "peak MiB",
               "peak B/node", "kept MiB", "grad ok"]  # fmt: skip
    print(common.table(headers, rows, align="llrrrrrrrl"))
    al = {n: e for n, e in ((n, res["autograd_lite"][str(n)]) for n in sizes) if e.get("runs")}
    for n, e in al.items():
        count, seconds = e["gc_fwd_count"], e["gc_fwd_s"]
        print(f"cyclic GC during the autograd_lite forward at {n:,} nodes: {count[2]:.0f} full "
              f"collection(s), {seconds[2]:.3g} s; {count[0] + count[1]:.0f} young ones, "
              f"{seconds[0] + seconds[1]:.3g} s (of a {e['fwd_s']:.3g} s forward)")  # fmt: skip
    big = max(sizes)
    mine, torch = res["autograd_lite"][str(big)], res.get("torch", {}).get(str(big), {})
    ok, goals = "yes" if mine["ok"] else "no", []
    if big >= 1_000_000:
        goals.append(common.goal(f"{big:,}-node chain backward succeeds", ok))
    if mine.get("runs") and torch.get("runs"):
        cpu = (mine["fwd_cpu_s"] + mine["bwd_cpu_s"]) / (torch["fwd_cpu_s"] + torch["bwd_cpu_s"])
        ratio = mine["total_s"] / torch["total_s"]
        goals.append(common.goal(f"{big:,}-node chain total time ≤ 0.5x PyTorch", ratio, 0.5, cpu))
    if len(per_node := [e["peak_bytes_per_node"] for e in al.values()]) >= 2:
        text = "peak memory linear in nodes (bytes/node spread across sizes)"
        goals.append(common.goal(text, max(per_node) / min(per_node), 1.5))
    return goals


def main(argv: list[str] | None = None) -> int:
    options = {"--max-nodes": {"type": int, "help": "skip larger chains"},
               "--sizes": {"help": "comma-separated chain lengths"},
               "--gc-diagnostic": "also run autograd_lite with Python's cyclic GC disabled",
               "--child": {"nargs": 2, "help": argparse.SUPPRESS}}  # fmt: skip
    # Every size gets the same number of runs: one 15-second run of a 10^6 chain on a shared
    # machine is at the mercy of whatever else runs, and its ratio moved by a quarter.
    args = common.setup(__doc__, argv, options, reps=(1, 3), optional=("torch",))
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [10**4, 10**5, 10**6]
    max_nodes = args.max_nodes or (100_000 if args.quick else None)
    sizes = [n for n in sizes if not max_nodes or n <= max_nodes]
    frameworks = ["autograd_lite"] + [GC_OFF] * args.gc_diagnostic + ["torch"] * bool(args.torch)
    runs = ", ".join(f"{args.reps} run(s) at {n:,}" for n in sizes)
    print("bench_deep: scalar chains x = x*1.0001 + 0.0001 (2 ops per node), one fresh process "
          f"per run; median of {runs}")  # fmt: skip
    result = measure(sizes, args.reps, frameworks)
    goals = report(result["results"], sizes)
    for err in result["errors"]:
        print("error:", err)
    payload = {"sizes": sizes, "frameworks": frameworks, **result}
    common.footer("bench_deep", payload, args.notes, goals)
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
