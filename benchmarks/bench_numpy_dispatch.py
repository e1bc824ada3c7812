"""The cost of NumPy's dispatch: ``np.exp(t)`` against ``t.exp()``, ``ndarray @ t`` against
``t.__rmatmul__(a)``, ``np.sum(t, axis=0)`` against ``t.sum(axis=0)`` …, on tiny arrays (where
the bookkeeping is all there is); the ratio of medians (1.0: no overhead).
Run: ``python -m benchmarks.bench_numpy_dispatch [--quick]``.
"""

import numpy as np

import autograd_lite as al
from benchmarks import common


def main(argv: list[str] | None = None) -> int:
    args = common.setup(__doc__, argv, reps=(5, 15), optional=())
    number = 200 if args.quick else 2000
    a, t = np.ones((2, 2)), al.Tensor(np.ones((2, 2)), requires_grad=True)
    calls = {  # NumPy's spelling on a Tensor, and the direct call it dispatches to
        "np.exp(t)": (lambda: np.exp(t), lambda: t.exp()),
        "ndarray * t": (lambda: a * t, lambda: t.__rmul__(a)),
        "ndarray @ t": (lambda: a @ t, lambda: t.__rmatmul__(a)),
        "np.sum(t, axis=0)": (lambda: np.sum(t, axis=0), lambda: t.sum(axis=0)),
        "np.reshape(t, (4,))": (lambda: np.reshape(t, (4,)), lambda: t.reshape((4,))),
        "np.concatenate([t, t])": (lambda: np.concatenate([t, t]), lambda: al.concatenate([t, t])),
    }
    rounds = {f"{name}{kind}": common.block(f, number, number)
              for name, fs in calls.items() for kind, f in zip(("", " direct"), fs)}  # fmt: skip
    title = f"bench_numpy_dispatch: µs per call, rounds of {number}; ratios to the direct call"
    base = lambda name: None if name.endswith(" direct") else f"{name} direct"  # noqa: E731
    stats, _ = common.contest(title, rounds, args.reps, base)
    payload = {"calls_per_round": number, "rounds": args.reps, "results": stats}
    return common.footer("bench_numpy_dispatch", payload, args.notes)


if __name__ == "__main__":
    raise SystemExit(main())
