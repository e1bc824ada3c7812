"""Per-call overhead: tiny ops and tiny arrays, where the framework's bookkeeping is all there is.

Chains of nodes ``x = x * 1.0001 + 0.0001`` (two ops), scalar or 10-vector: forward and backward
per node, against ``no_grad``, replay, NumPy and PyTorch; NumPy's dispatch on a Tensor
(``np.exp(t)``, ``ndarray @ t`` ...) against the direct call. ``--nodes N``, ``--profile``.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd_lite as al
from benchmarks import common
from benchmarks.common import ADD, MUL, chain, clock, since

VECTOR = 10
TORCH = "torch eager (1 thread)"


def rounds(torch: Any, shape: tuple[int, ...], n: int) -> dict[str, Callable]:
    """The contenders' rounds on one shape: ``{"fwd", "bwd", "total"}``, or some of them, as
    ``(wall, cpu)`` per node; each checks the gradient, ``1.0001 ** n``."""

    def check(grad: Any) -> None:
        if not np.allclose(np.asarray(grad), MUL**n, rtol=1e-9):
            raise AssertionError(f"chain gradient {np.ravel(grad)[:1]} != {MUL**n}")

    def timed(x0: Any, backward: Callable[[Any], Any] | None = None, grad: Any = None) -> dict:
        begin = clock()
        x = chain(x0, n)
        out = {"fwd": since(begin, n)}
        if backward is not None:
            begin = clock()
            backward(x)
            out["bwd"] = since(begin, n)
            out["total"] = (out["fwd"][0] + out["bwd"][0], out["fwd"][1] + out["bwd"][1])
        if grad is not None:
            check(grad())
        return out

    def eager() -> dict:
        x0, seed = al.Tensor(np.ones(shape), requires_grad=True), np.ones(shape) if shape else None
        return timed(x0, lambda x: x.backward(seed), lambda: x0.grad)

    def no_grad() -> dict:
        with al.no_grad():
            return timed(al.Tensor(np.ones(shape), requires_grad=True))

    # recorded at the first (warm-up) round, replayed as generated code after that
    value_and_grad = al.value_and_grad(lambda x: chain(x, n).sum(), replay=True)

    def replayed() -> dict:
        x0, begin = np.ones(shape), clock()
        _, grad = value_and_grad(x0)
        total = since(begin, n)
        check(grad)
        return {"total": total}

    def torch_round() -> dict:
        x0 = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        seed = None if not shape else torch.ones(shape, dtype=torch.float64)
        return timed(x0, lambda x: x.backward(seed), lambda: x0.grad.numpy())

    def numpy() -> dict:  # the hand-written backward: g = g * 1.0001 per node
        def backward(g: np.ndarray) -> None:
            for _ in range(n):
                g = g * MUL

        g0 = np.ones(shape)
        return timed(np.ones(shape), lambda _: backward(g0))

    out = {"autograd_lite": eager,
           "autograd_lite, cyclic GC off (diagnostic)": common.gc_off(eager),
           "autograd_lite no_grad (forward floor)": no_grad,
           "autograd_lite, replay=True (recorded once)": replayed,
           "numpy (no graph)": numpy}  # fmt: skip
    return out | ({TORCH: torch_round} if torch is not None else {})


def dispatch(reps: int, number: int) -> dict[str, Any]:
    """NumPy's spelling on a 2x2 Tensor against the direct call it dispatches to, µs per call."""
    a, t = np.ones((2, 2)), al.Tensor(np.ones((2, 2)), requires_grad=True)
    calls = {"np.exp(t)": (lambda: np.exp(t), lambda: t.exp()),
             "ndarray * t": (lambda: a * t, lambda: t.__rmul__(a)),
             "ndarray @ t": (lambda: a @ t, lambda: t.__rmatmul__(a)),
             "np.sum(t, axis=0)": (lambda: np.sum(t, axis=0), lambda: t.sum(axis=0)),
             "np.reshape(t, (4,))": (lambda: np.reshape(t, (4,)), lambda: t.reshape((4,))),
             "np.concatenate([t, t])":
                 (lambda: np.concatenate([t, t]), lambda: al.concatenate([t, t]))}  # fmt: skip
    rounds = {f"{name}{kind}": common.block(f, number, number)
              for name, fs in calls.items() for kind, f in zip(("", " direct"), fs)}  # fmt: skip
    title = f"NumPy's dispatch: µs per call, rounds of {number}; ratios to the direct call"
    base = lambda name: None if name.endswith(" direct") else f"{name} direct"  # noqa: E731
    return common.contest(title, rounds, reps, base)[0]


def main(argv: list[str] | None = None) -> int:
    options = {"--nodes": {"type": int, "help": "nodes per chain (default 2000)"},
               "--profile": "also cProfile a chain"}  # fmt: skip
    args = common.setup(__doc__, argv, options)
    n = args.nodes or (1000 if args.quick else 2000)
    print("bench_overhead: chains of tiny ops, forward and backward per node")
    results: dict[str, Any] = {}
    goals = []
    for label, shape in (("scalar", ()), (f"vector({VECTOR})", (VECTOR,))):
        results[label] = entries = {}
        for name, values in common.interleaved(rounds(args.torch, shape, n), args.reps).items():
            entries[name] = {p: common.summarize([v[p] for v in values], 1e6) for p in values[0]}
        medians = {name: {k: s["median"] for k, s in e.items()} for name, e in entries.items()}
        torch = medians.get(TORCH, {}).get("total")
        rows = [(name, m.get("fwd"), m.get("bwd"), m.get("total"),
                 entries[name].get("total", {}).get("cpu", {}).get("median"),
                 f"{m['total'] / torch:.2f}x" if torch and "total" in m else "-")
                for name, m in medians.items()]  # fmt: skip
        common.show(f"{label} chain of {n:,} nodes (x = x*{MUL} + {ADD}: 2 ops per node), µs per "
                    f"node, median of {args.reps} interleaved rounds", ["contender", "fwd µs",
                    "bwd µs", "fwd+bwd µs", "cpu fwd+bwd", "vs torch"], rows)  # fmt: skip
        total, text = entries["autograd_lite"]["total"], f"≤ 3 µs per chain node fwd+bwd ({label})"
        goals.append(common.goal(text, total["median"], 3.0, total["cpu"]["median"], unit="µs"))
    payload: dict[str, Any] = {"nodes": n, "rounds": args.reps, "results": results}
    payload["dispatch"] = dispatch(args.reps, 200 if args.quick else 2000)
    if args.profile:
        nodes = 2_000 if args.quick else 10_000
        run = lambda: chain(al.Tensor(1.0, requires_grad=True), nodes).backward()  # noqa: E731
        title = "cProfile of a scalar chain, fwd + bwd, per node"
        payload["profile"] = common.profile(title, run, nodes)
    return common.footer("bench_overhead", payload, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
