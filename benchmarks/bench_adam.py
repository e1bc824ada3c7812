"""Optimizer step: ``optim.Adam.step`` against a hand-written in-place NumPy Adam (and PyTorch's).

The [784, 30, 10] network's parameters, float64, fixed gradients; the hand-written step is
``optim.Adam``'s arithmetic alone, every operation in place; ``torch.optim.Adam`` too.
"""

import functools
import math
from typing import Any

import numpy as np

from autograd_lite import nn, optim
from benchmarks import common

SIZES = (784, 30, 10)
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
ADAM: dict[str, Any] = {"lr": LR, "betas": BETAS, "eps": EPS}
BASE = "hand-written NumPy Adam, in place (out=)"


def _start() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The network's parameters (weights (n_out, n_in), biases (n_out,)) and one gradient each."""
    rng = np.random.default_rng(0)
    shapes = [s for n_in, n_out in zip(SIZES, SIZES[1:]) for s in ((n_out, n_in), (n_out,))]
    return [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]


def _adam(start: list[np.ndarray], grads: list[np.ndarray]) -> Any:
    """``optim.Adam`` over fresh Parameters holding ``start``, their gradients ``grads``."""
    params = [nn.Parameter(w) for w in start]
    for p, g in zip(params, grads):
        p.grad = g
    return optim.Adam(params, **ADAM)


class NumpyAdam:
    """Adam written for speed by hand: the moments updated in place, every operation in place
    into one scratch array per parameter (``out=``), PyTorch's order of operations."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params, self.t = params, 0
        self.m, self.v = [np.zeros_like(w) for w in params], [np.zeros_like(w) for w in params]
        self.tmp = [np.empty_like(w) for w in params]

    def step(self, grads: list[np.ndarray]) -> None:
        (b1, b2), self.t = BETAS, self.t + 1
        step_size, bc2_sqrt = LR / (1 - b1**self.t), math.sqrt(1 - b2**self.t)
        for w, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= bc2_sqrt
            tmp += EPS
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            w -= tmp


def check() -> float:
    """The largest relative difference between ``optim.Adam`` and `NumpyAdam` after 20 steps
    from the same start (the same arithmetic)."""
    start, grads = _start()
    opt, ref = _adam(start, grads), NumpyAdam([w.copy() for w in start])
    for _ in range(20):
        opt.step()
        ref.step(grads)
    params = opt.param_groups[0]["params"]
    return max(float(np.max(np.abs(p.data - w) / np.abs(w))) for p, w in zip(params, ref.params))


def main(argv: list[str] | None = None) -> int:
    args = common.setup(__doc__, argv)
    steps, difference = 50 if args.quick else 200, check()
    if difference > 1e-10:
        raise AssertionError(f"optim.Adam and the hand-written Adam differ by {difference:.2e}")
    start, grads = _start()
    runs = {"optim.Adam.step": _adam(start, grads).step,
            BASE: functools.partial(NumpyAdam([w.copy() for w in start]).step, grads)}  # fmt: skip
    if args.torch is not None:
        tensors = [args.torch.tensor(w, requires_grad=True) for w in start]
        for t, g in zip(tensors, grads):
            t.grad = args.torch.tensor(g)
        runs["torch.optim.Adam (1 thread)"] = args.torch.optim.Adam(tensors, **ADAM).step
    title = f"bench_adam: one step over {list(SIZES)}'s parameters (float64), rounds of {steps}"
    goal = f"optim.Adam.step ≤ 1.25x a hand-written NumPy Adam step ({list(SIZES)}, float64)"
    rounds = {name: common.block(run, steps, steps) for name, run in runs.items()}
    stats, goals = common.contest(title, rounds, args.reps, BASE,
                                  [(goal, "optim.Adam.step", BASE, 1.25)])  # fmt: skip
    payload = {"steps_per_round": steps, "rounds": args.reps, "results": stats,
               "adam_vs_hand_written_difference": difference}  # fmt: skip
    return common.footer("bench_adam", payload, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
