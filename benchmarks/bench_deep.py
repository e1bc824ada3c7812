"""Deep graphs: chains of 10^4, 10^5 and 10^6 nodes -- time and peak memory; ``--memory``: leaks.

One fresh process per run: chain, ``backward()``, gradient check, RSS before / peak / after; a
graph of that depth dropped without a backward is freed too. ``--memory``: RSS over 10,000
training steps (``--steps N``) and over chains with and without a backward, flat within 5%.
"""

import gc
import importlib
import itertools
import multiprocessing
from statistics import median
from typing import Any

import numpy as np

from benchmarks import common
from benchmarks.common import MUL, chain, clock, rss_bytes, since

GC_OFF = "autograd_lite, GC off"
LIMIT = 0.05  # --memory: flat within 5%


def child(framework: str, n: int) -> dict[str, Any]:
    """One chain of ``n`` nodes in this process (a fresh one: `in_fresh_process`)."""
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
    x0 = leaf()
    out: dict[str, Any] = {"rss_before": rss_bytes(), "peak_reset": common.reset_peak_rss()}
    begin = clock()
    y = chain(x0, n)
    out["fwd_s"], out["fwd_cpu_s"] = since(begin)
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


def in_fresh_process(framework: str, n: int) -> dict[str, Any]:
    """`child` in a process of its own (spawned: the peak RSS is this run's), or its error."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        try:
            return pool.apply_async(child, (framework, n)).get(timeout=600)
        except Exception as e:  # noqa: BLE001 - reported; the other runs go on
            return {"error": f"{type(e).__name__}: {e}"}


def summary(rs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The medians of one framework's runs at one size."""
    med = {k: median(r[k] for r in rs) for k in ("fwd_s", "bwd_s", "fwd_cpu_s", "bwd_cpu_s")}
    peak = median([r["peak"] - r["rss_before"] for r in rs])
    return med | {
        "ok": all(r["grad_ok"] for r in rs), "runs": len(rs), "peak_growth_bytes": peak,
        "total_s": med["fwd_s"] + med["bwd_s"], "peak_bytes_per_node": peak / n,
        "retained_after_bytes": median([r["rss_after"] - r["rss_before"] for r in rs]), "raw": rs,
    }  # fmt: skip


def measure(sizes: list[int], reps: int, frameworks: list[str]) -> dict[str, Any]:
    """The children's runs, frameworks alternating in order, summarized per framework and size."""
    results: dict[str, dict[str, Any]] = {f: {} for f in frameworks}
    errors: list[str] = []
    for n in sizes:
        runs: dict[str, list] = {f: [] for f in frameworks}
        for rep in range(reps):
            for fw in frameworks if rep % 2 == 0 else frameworks[::-1]:
                result = in_fresh_process(fw, n)
                if "error" in result:
                    errors.append(f"{fw} n={n:,}: {result['error']}")
                else:
                    runs[fw].append(result)
        for fw, rs in runs.items():
            results[fw][str(n)] = summary(rs, n) if rs else {"ok": False}
    return {"results": results, "errors": errors}


def report(res: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """Print the table; return the goals."""
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
    big = max(sizes)
    mine, torch = res["autograd_lite"][str(big)], res.get("torch", {}).get(str(big), {})
    ok = "yes" if mine["ok"] else "no"
    goals = [common.goal(f"{big:,}-node chain backward succeeds", ok)] if big >= 10**6 else []
    if mine.get("runs") and torch.get("runs"):
        cpu = (mine["fwd_cpu_s"] + mine["bwd_cpu_s"]) / (torch["fwd_cpu_s"] + torch["bwd_cpu_s"])
        ratio = mine["total_s"] / torch["total_s"]
        goals.append(common.goal(f"{big:,}-node chain total time ≤ 0.5x PyTorch", ratio, 0.5, cpu))
    al = [res["autograd_lite"][str(n)] for n in sizes]
    if len(per_node := [e["peak_bytes_per_node"] for e in al if e.get("runs")]) >= 2:
        text = "peak memory linear in nodes (bytes/node spread across sizes)"
        goals.append(common.goal(text, max(per_node) / min(per_node), 1.5))
    return goals


def memory(steps: int, count: int) -> int:
    """``--memory``: RSS over ``steps`` training steps and ``count`` chains (the leak check)."""
    import autograd_lite as al
    from autograd_lite.nielsen import Network
    from benchmarks.bench_nielsen import ETA, SEED, SIZES, load_batches

    every = 1000 if steps >= 2000 else max(steps // 10, 1)
    print(f"bench_deep --memory: RSS every {every:,} steps over {steps:,} Network."
          f"update_mini_batch steps (after {every:,} warm-up steps); flat within {LIMIT:.0%} "
          "means no leak")  # fmt: skip
    batches = itertools.cycle([b[:2] for b in load_batches(np.float64, 800)[0]])
    net = Network(SIZES, seed=SEED)

    def network() -> None:
        for _ in range(every):
            net.update_mini_batch(next(batches), ETA)

    def chains(backward: bool) -> None:  # of 1,000 nodes, each with a backward or dropped without
        for _ in range(count):
            x = chain(al.Tensor(1.0, requires_grad=True), 1000)
            if backward:
                x.backward()
            del x

    work = {"network": network, "chains with backward": lambda: chains(True),
            "chains dropped without backward": lambda: chains(False)}  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    for name, run_block in work.items():  # once to warm up, then sampling the RSS after each
        run_block()
        gc.collect()
        samples = [rss_bytes()]
        for _ in range(steps // every if name == "network" else 10):
            run_block()
            samples.append(rss_bytes())
        growth, drift = max(samples) / samples[0] - 1, samples[-1] / samples[0] - 1
        results[name] = {"rss_bytes": samples, "max_growth_fraction": growth,
                         "end_drift_fraction": drift,
                         "flat": max(abs(growth), abs(drift)) <= LIMIT}  # fmt: skip
        print(f"{name}: RSS MiB per sample:", " ".join(f"{b / 2**20:.1f}" for b in samples))
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


def main(argv: list[str] | None = None) -> int:
    options = {"--max-nodes": {"type": int, "help": "skip larger chains"},
               "--sizes": {"help": "comma-separated chain lengths"},
               "--gc-diagnostic": "also run autograd_lite with Python's cyclic GC disabled",
               "--memory": "the leak check instead: RSS over many steps and graphs",
               "--steps": {"type": int, "help": "its training steps (default 10000)"}}  # fmt: skip
    # Every size gets the same number of runs: one 15-second run of a 10^6 chain on a shared
    # machine is at the mercy of whatever else runs, and its ratio moved by a quarter.
    args = common.setup(__doc__, argv, options, (1, 3), lambda a: () if a.memory else ("torch",))
    if args.memory:
        return memory(args.steps or (3000 if args.quick else 10_000), 10 if args.quick else 20)
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
