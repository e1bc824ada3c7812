"""Per-node overhead: chains of tiny ops, where the framework's bookkeeping is all there is.

A chain of ``n`` *nodes* is ``n`` repetitions of ``x = x * 1.0001 + 0.0001`` -- one node is one
such link, two recorded ops (a ``mul`` and an ``add``). On a scalar (a 0-d array) and on a small
vector (10 elements) the arithmetic is negligible, so the time per node is the cost of recording
two ops (forward) and of running their vector-Jacobian products (backward). Forward and backward
are timed separately, interleaved with the same chain under ``no_grad`` (the forward floor
without recording), the chain replayed (``al.value_and_grad(chain, replay=True)``), plain NumPy
on the same arrays, and PyTorch when importable (one thread: the ops are far too small for two).

Run: ``python -m benchmarks.bench_overhead [--quick] [--nodes N] [--profile]``.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    base_parser,
    clock,
    footer,
    goal,
    interleaved,
    optional_import,
    pin_blas_threads,
    print_profile,
    profile,
    since,
    summarize,
    table,
)

MUL = 1.0001
ADD = 0.0001
VECTOR = 10
TORCH = "torch eager (1 thread)"


def chain(x: Any, n: int) -> Any:
    for _ in range(n):
        x = x * MUL + ADD
    return x


def _check(grad: Any, n: int) -> None:
    if not np.allclose(np.asarray(grad), MUL**n, rtol=1e-9):
        raise AssertionError(f"chain gradient {np.ravel(grad)[:1]} != {MUL**n}")


def _timed(x0: Any, n: int, backward: Callable[[Any], Any] | None) -> dict[str, Any]:
    """Forward (and, given ``backward``, backward) of an ``n``-node chain from ``x0``, per node."""
    begin = clock()
    x = chain(x0, n)
    out = {"fwd": since(begin, n)}
    if backward is not None:
        begin = clock()
        backward(x)
        out["bwd"] = since(begin, n)
    return out


def rounds(al: Any, torch: Any, shape: tuple[int, ...], n: int) -> dict[str, Callable]:
    """The contenders' rounds on one shape: each returns ``{"fwd", "bwd"}`` or ``{"fwd+bwd"}``."""
    seed = None if not shape else np.ones(shape)

    def eager(gc_off: bool = False) -> Callable:
        def round_() -> dict[str, Any]:
            x0 = al.Tensor(np.ones(shape), requires_grad=True)
            if gc_off:
                gc.disable()
            try:
                out = _timed(x0, n, lambda x: x.backward(seed))
            finally:
                gc.enable()
            _check(x0.grad, n)
            return out

        return round_

    def no_grad() -> dict[str, Any]:
        x0 = al.Tensor(np.ones(shape), requires_grad=True)
        with al.no_grad():
            return _timed(x0, n, None)

    # recorded at the first (warm-up) round, replayed as generated code after that
    value_and_grad = al.value_and_grad(lambda x: chain(x, n).sum(), replay=True)

    def replayed() -> dict[str, Any]:
        x0 = np.ones(shape)
        begin = clock()
        _, grad = value_and_grad(x0)
        total = since(begin, n)
        _check(grad, n)
        return {"fwd+bwd": total}

    def numpy() -> dict[str, Any]:
        g0 = np.ones(shape)  # the hand-written backward: g = g * 1.0001 per node
        return _timed(np.ones(shape), n, lambda _: _chain_grad(g0, n))

    out = {
        "autograd_lite": eager(),
        "autograd_lite, cyclic GC off (diagnostic)": eager(gc_off=True),
        "autograd_lite no_grad (forward floor)": no_grad,
        "autograd_lite, replay=True (recorded once)": replayed,
        "numpy (no graph)": numpy,
    }
    if torch is not None:

        def torch_round() -> dict[str, Any]:
            torch.set_num_threads(1)
            x0 = torch.ones(shape, dtype=torch.float64, requires_grad=True)
            tseed = None if not shape else torch.ones(shape, dtype=torch.float64)
            out = _timed(x0, n, lambda x: x.backward(tseed))
            _check(x0.grad.numpy(), n)
            return out

        out[TORCH] = torch_round
    return out


def _chain_grad(g: np.ndarray, n: int) -> None:
    for _ in range(n):
        g = g * MUL


def measure(n: int, reps: int, torch: Any) -> dict[str, Any]:
    import autograd_lite as al

    results: dict[str, Any] = {}
    for label, shape in (("scalar", ()), (f"vector({VECTOR})", (VECTOR,))):
        samples = interleaved(rounds(al, torch, shape, n), reps=reps, warmup=1)
        results[label] = {}
        for name, values in samples.items():
            entry = {p: summarize([v[p] for v in values], 1e6) for p in values[0] if p != "fwd+bwd"}
            if "bwd" in values[0]:
                total = [tuple(f + b for f, b in zip(v["fwd"], v["bwd"])) for v in values]
                entry["total"] = summarize(total, 1e6)
            elif "fwd+bwd" in values[0]:
                entry["total"] = summarize([v["fwd+bwd"] for v in values], 1e6)
            results[label][name] = entry
    return results


def print_results(results: dict[str, Any], n: int, reps: int) -> None:
    headers = ["contender", "fwd µs", "bwd µs", "fwd+bwd µs", "cpu fwd+bwd", "per op µs",
               "vs torch"]  # fmt: skip
    for label, rows in results.items():
        print(
            f"\n{label} chain of {n:,} nodes (x = x*{MUL} + {ADD}: 2 ops per node), "
            f"µs per node, median of {reps} interleaved rounds"
        )
        torch_total = rows.get(TORCH, {}).get("total", {}).get("median")
        out = []
        for name, e in rows.items():
            fwd, bwd, total = (e.get(k, {}).get("median") for k in ("fwd", "bwd", "total"))
            vs_torch = f"{total / torch_total:.2f}x" if total and torch_total else "-"
            cpu = e.get("total", {}).get("cpu", {}).get("median")
            out.append((name, fwd, bwd, total, cpu, total / 2 if total else None, vs_torch))
        print(table(headers, out))


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__)
    parser.add_argument("--nodes", type=int, default=None, help="nodes per chain (default 2000)")
    parser.add_argument("--profile", action="store_true", help="also cProfile a chain")
    args = parser.parse_args(argv)
    pin_blas_threads()
    n = args.nodes or (1000 if args.quick else 2000)
    reps = args.reps or (9 if args.quick else 21)
    notes: list[str] = []
    torch = optional_import("torch", args.no_torch, notes)
    print("bench_overhead: chains of tiny ops, forward and backward per node")
    results = measure(n, reps, torch)
    print_results(results, n, reps)
    payload: dict[str, Any] = {
        "task": f"chain x = x*{MUL} + {ADD}, {n} nodes (2 ops each), fwd and bwd per node",
        "nodes": n,
        "rounds": reps,
        "results": results,
        "notes": notes,
    }
    if args.profile:
        import autograd_lite as al

        nodes = 2_000 if args.quick else 10_000

        def run() -> None:
            chain(al.Tensor(1.0, requires_grad=True), nodes).backward()

        run()  # warm
        payload["profile"] = profile(run, nodes, top=20)
        print_profile("cProfile of a scalar chain, fwd + bwd, per node", payload["profile"])
    goal_rows = [
        goal(f"≤ 3 µs per chain node fwd+bwd ({label})", r["autograd_lite"]["total"]["median"],
             3.0, r["autograd_lite"]["total"]["cpu"]["median"], unit="µs")
        for label, r in results.items()
    ]  # fmt: skip
    footer(args.json or "bench_overhead", payload, notes, goal_rows, what="medians")
    return 0


if __name__ == "__main__":
    sys.exit(main())
