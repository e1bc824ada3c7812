"""The cost of NumPy's dispatch: ``np.exp(t)`` against ``t.exp()``, ``ndarray @ t`` against
``t.__rmatmul__(a)``, ``np.sum(t, axis=0)`` against ``t.sum(axis=0)`` …, on tiny arrays (where
the bookkeeping is all there is). Each pair is timed interleaved, in one process; the ratio of
medians is printed (1.0: no overhead).

Run: ``python -m benchmarks.bench_numpy_dispatch [--quick]``.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd_lite as al


def pairs(a: np.ndarray, t: Any) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Name -> (NumPy's spelling on a Tensor, the direct call it dispatches to)."""
    return {
        "np.exp(t)": (lambda: np.exp(t), lambda: t.exp()),
        "ndarray * t": (lambda: a * t, lambda: t.__rmul__(a)),
        "ndarray @ t": (lambda: a @ t, lambda: t.__rmatmul__(a)),
        "np.sum(t, axis=0)": (lambda: np.sum(t, axis=0), lambda: t.sum(axis=0)),
        "np.reshape(t, (4,))": (lambda: np.reshape(t, (4,)), lambda: t.reshape((4,))),
        "np.concatenate([t, t])": (
            lambda: np.concatenate([t, t]),
            lambda: al.concatenate([t, t]),
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    number, repeat = (200, 5) if quick else (2000, 15)
    a = np.ones((2, 2))
    t = al.Tensor(np.ones((2, 2)), requires_grad=True)
    ratios = {}
    for name, (numpy_form, direct) in pairs(a, t).items():
        dispatched, plain = [], []
        for _ in range(repeat):  # interleaved: both see the same machine load
            dispatched.append(timeit.timeit(numpy_form, number=number) / number)
            plain.append(timeit.timeit(direct, number=number) / number)
        ratios[name] = float(np.median(dispatched) / np.median(plain))
        print(
            f"{name:24s} {np.median(dispatched) * 1e6:7.2f} µs vs {np.median(plain) * 1e6:7.2f} µs"
            f" direct: ratio {ratios[name]:.2f}"
        )
    return ratios


if __name__ == "__main__":
    main()
