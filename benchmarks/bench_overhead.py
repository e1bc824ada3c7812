"""Per-node overhead: chains of tiny ops, where the framework's bookkeeping is all there is.

A chain of ``n`` *nodes* is ``n`` repetitions of ``x = x * 1.0001 + 0.0001`` -- one node is one
such link, two recorded ops (a ``mul`` and an ``add``). On a scalar (a 0-d array) and on a small
vector (10 elements) the arithmetic is negligible, so the time per node is the cost of recording
two ops (forward) and of running their vector-Jacobian products (backward). Forward and backward
are timed separately, interleaved with the same chain under ``no_grad`` (the forward floor
without recording), plain NumPy on the same arrays, and PyTorch when importable (one thread: the
ops are far too small for a second).

Run: ``python -m benchmarks.bench_overhead [--quick] [--nodes N] [--profile]``.
"""

from __future__ import annotations

import cProfile
import gc
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    base_parser,
    clock,
    freeze_heap,
    goal,
    interleaved,
    optional_import,
    pin_blas_threads,
    print_goals,
    print_notes_and_environment,
    print_profile,
    profile_rows,
    save_results,
    since,
    summarize_timings,
    table,
)

MUL = 1.0001
ADD = 0.0001
VECTOR = 10


def _al_round(
    al: Any, shape: tuple[int, ...], n: int, gc_off: bool = False
) -> Callable[[], dict[str, Any]]:
    def round_() -> dict[str, Any]:
        x0 = al.Tensor(np.ones(shape), requires_grad=True)
        if gc_off:
            gc.disable()
        try:
            start = clock()
            x = x0
            for _ in range(n):
                x = x * MUL + ADD
            fwd = since(start, n)
            seed = None if not shape else np.ones(shape)
            start = clock()
            x.backward(seed)
            bwd = since(start, n)
        finally:
            gc.enable()
        _check(np.asarray(x0.grad), n)
        return {"fwd": fwd, "bwd": bwd}

    return round_


def _al_replay_round(al: Any, shape: tuple[int, ...], n: int) -> Callable[[], dict[str, Any]]:
    """The same chain through ``al.value_and_grad(chain, replay=True)``: recorded at the first
    (warm-up) round, replayed as generated code after that. Forward and backward run in one
    call, so only their sum is timed."""

    def chain(x: Any) -> Any:
        for _ in range(n):
            x = x * MUL + ADD
        return x.sum()

    value_and_grad = al.value_and_grad(chain, replay=True)

    def round_() -> dict[str, Any]:
        x0 = np.ones(shape)
        start = clock()
        _, grad = value_and_grad(x0)
        total = since(start, n)
        _check(np.asarray(grad), n)
        return {"fwd+bwd": total}

    return round_


def _al_no_grad_round(al: Any, shape: tuple[int, ...], n: int) -> Callable[[], dict[str, Any]]:
    def round_() -> dict[str, Any]:
        x0 = al.Tensor(np.ones(shape), requires_grad=True)
        with al.no_grad():
            start = clock()
            x = x0
            for _ in range(n):
                x = x * MUL + ADD
            fwd = since(start, n)
        return {"fwd": fwd}

    return round_


def _numpy_round(shape: tuple[int, ...], n: int) -> Callable[[], dict[str, Any]]:
    def round_() -> dict[str, Any]:
        x = np.ones(shape)
        start = clock()
        for _ in range(n):
            x = x * MUL + ADD
        fwd = since(start, n)
        # The hand-written backward of the chain: g = g * 1.0001 per node, on the same arrays.
        g = np.ones(shape)
        start = clock()
        for _ in range(n):
            g = g * MUL
        bwd = since(start, n)
        return {"fwd": fwd, "bwd": bwd}

    return round_


def _torch_round(torch: Any, shape: tuple[int, ...], n: int) -> Callable[[], dict[str, Any]]:
    def round_() -> dict[str, Any]:
        torch.set_num_threads(1)
        x0 = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        start = clock()
        x = x0
        for _ in range(n):
            x = x * MUL + ADD
        fwd = since(start, n)
        seed = None if not shape else torch.ones(shape, dtype=torch.float64)
        start = clock()
        x.backward(seed)
        bwd = since(start, n)
        _check(x0.grad.numpy(), n)
        return {"fwd": fwd, "bwd": bwd}

    return round_


def _check(grad: np.ndarray, n: int) -> None:
    expected = MUL**n
    if not np.allclose(grad, expected, rtol=1e-9):
        raise AssertionError(f"chain gradient {grad.ravel()[:1]} != {expected}")


def measure(n: int, reps: int, use_torch: bool, notes: list[str]) -> dict[str, Any]:
    import autograd_lite as al

    torch = None
    if use_torch:
        torch, why = optional_import("torch")
        if torch is None:
            notes.append(f"PyTorch skipped: {why}")
    else:
        notes.append("PyTorch skipped (--no-torch)")
    results: dict[str, Any] = {}
    for label, shape in (("scalar", ()), (f"vector({VECTOR})", (VECTOR,))):
        rounds = {
            "autograd_lite": _al_round(al, shape, n),
            "autograd_lite, cyclic GC off (diagnostic)": _al_round(al, shape, n, gc_off=True),
            "autograd_lite no_grad (forward floor)": _al_no_grad_round(al, shape, n),
            "autograd_lite, replay=True (recorded once)": _al_replay_round(al, shape, n),
            "numpy (no graph)": _numpy_round(shape, n),
        }
        if torch is not None:
            rounds["torch eager (1 thread)"] = _torch_round(torch, shape, n)
        samples = interleaved(rounds, reps=reps, warmup=1)
        table_rows = {}
        for name, values in samples.items():
            entry: dict[str, Any] = {}
            for part in ("fwd", "bwd"):
                if part in values[0]:
                    entry[part] = summarize_timings([v[part] for v in values], 1e6)
            if "bwd" in entry:
                total = [(v["fwd"][0] + v["bwd"][0], v["fwd"][1] + v["bwd"][1]) for v in values]
                entry["total"] = summarize_timings(total, 1e6)
            elif "fwd+bwd" in values[0]:
                entry["total"] = summarize_timings([v["fwd+bwd"] for v in values], 1e6)
            table_rows[name] = entry
        results[label] = table_rows
    return results


def print_results(results: dict[str, Any], n: int, reps: int) -> None:
    for label, rows in results.items():
        print(
            f"\n{label} chain of {n:,} nodes (x = x*{MUL} + {ADD}: 2 ops per node), "
            f"µs per node, median of {reps} interleaved rounds"
        )
        torch_total = rows.get("torch eager (1 thread)", {}).get("total", {}).get("median")
        out = []
        for name, entry in rows.items():
            fwd = entry.get("fwd", {}).get("median")
            bwd = entry.get("bwd", {}).get("median")
            total = entry.get("total", {}).get("median")
            vs_torch = f"{total / torch_total:.2f}x" if total and torch_total else "-"
            cpu_total = entry.get("total", {}).get("cpu", {}).get("median")
            out.append((name, fwd, bwd, total, cpu_total, total / 2 if total else None, vs_torch))
        print(
            table(
                [
                    "contender",
                    "fwd µs",
                    "bwd µs",
                    "fwd+bwd µs",
                    "cpu fwd+bwd",
                    "per op µs",
                    "vs torch",
                ],
                out,
            )
        )


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for label, rows in results.items():
        total = rows["autograd_lite"]["total"]
        out.append(
            goal(
                f"≤ 3 µs per chain node fwd+bwd ({label})",
                total["median"],
                3.0,
                total["cpu"]["median"],
                unit="µs",
            )
        )
    return out


def profile_chain(n: int, top: int = 20) -> dict[str, Any]:
    """cProfile of building a scalar chain of ``n`` nodes and running its backward."""
    import autograd_lite as al

    def run() -> None:
        x0 = al.Tensor(1.0, requires_grad=True)
        x = x0
        for _ in range(n):
            x = x * MUL + ADD
        x.backward()

    run()  # warm
    freeze_heap()
    start = clock()
    run()
    plain = since(start, n)[0]
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return profile_rows(profiler, n, plain, top)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=None, help="nodes per chain (default 2000)")
    parser.add_argument("--profile", action="store_true", help="also cProfile a chain")
    args = parser.parse_args(argv)
    pin_blas_threads()
    n = args.nodes or (1000 if args.quick else 2000)
    reps = args.reps or (9 if args.quick else 21)
    notes: list[str] = []
    print("bench_overhead: chains of tiny ops, forward and backward per node")
    results = measure(n, reps, not args.no_torch, notes)
    print_results(results, n, reps)
    env = print_notes_and_environment(notes)
    goal_rows = goals(results)
    print_goals(goal_rows, "medians")
    payload: dict[str, Any] = {
        "task": f"chain x = x*{MUL} + {ADD}, {n} nodes (2 ops each), fwd and bwd per node",
        "nodes": n,
        "rounds": reps,
        "results": results,
        "goals": goal_rows,
        "notes": notes,
    }
    if args.profile:
        prof = profile_chain(10_000 if not args.quick else 2_000)
        print_profile("cProfile of a scalar chain, fwd + bwd, per node", prof)
        payload["profile"] = prof
    save_results(args.json or "bench_overhead", payload, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
