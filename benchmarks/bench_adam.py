"""Optimizer steps: ``optim.Adam.step`` and ``optim.SGD.step`` against hand-written NumPy steps.

The [784, 30, 10] network's parameters, float64, fixed gradients; ratios against an in-place
hand-written Adam (``optim.Adam``'s arithmetic alone) and ``w -= lr * g``; ``torch.optim`` too.
"""

import functools
import math
from typing import Any

import numpy as np

from autograd_lite import nn, optim
from benchmarks import common

SIZES = (784, 30, 10)
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
ADAM = {"lr": LR, "betas": BETAS, "eps": EPS}
ADAM_BASE = "hand-written NumPy Adam, in place (out=)"
ADAM_TEXTBOOK = "hand-written NumPy Adam, textbook (temporaries)"
SGD_BASE = "hand-written NumPy SGD"


def _start() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The network's parameters (weights (n_out, n_in), biases (n_out,)) and one gradient each."""
    rng = np.random.default_rng(0)
    shapes = [s for n_in, n_out in zip(SIZES, SIZES[1:]) for s in ((n_out, n_in), (n_out,))]
    return [rng.normal(size=s) for s in shapes], [rng.normal(size=s) for s in shapes]


def _optimizer(cls: Any, start: list[np.ndarray], grads: list[np.ndarray], **kw: Any) -> Any:
    """``cls`` over fresh Parameters holding ``start``, their gradients ``grads``."""
    params = [nn.Parameter(w) for w in start]
    for p, g in zip(params, grads):
        p.grad = g
    return cls(params, **kw)


class NumpyAdam:
    """Adam as a NumPy user writes it: the moments updated in place, the step as one line."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params, self.t = params, 0
        self.m, self.v = [np.zeros_like(w) for w in params], [np.zeros_like(w) for w in params]
        self.tmp = [np.empty_like(w) for w in params]

    def step(self, grads: list[np.ndarray]) -> None:
        (b1, b2), self.t = BETAS, self.t + 1
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for w, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            w -= (LR / bc1) * m / (np.sqrt(v / bc2) + EPS)


class NumpyAdamInPlace(NumpyAdam):
    """The same step written for speed: every operation in place into one scratch array per
    parameter (``out=``), PyTorch's order of operations; the floor for ``optim.Adam``."""

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


def numpy_sgd(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
    """Plain SGD as a NumPy user writes it."""
    for w, g in zip(params, grads):
        w -= LR * g


def contenders(torch: Any, steps: int) -> dict[str, Any]:
    """Each contender's round: ``steps`` steps, timed per step."""
    start, grads = _start()
    runs = {f"optim.{name}.step": _optimizer(getattr(optim, name), start, grads, **kw).step
            for name, kw in (("Adam", ADAM), ("SGD", {"lr": LR}))}  # fmt: skip
    for name, cls in ((ADAM_BASE, NumpyAdamInPlace), (ADAM_TEXTBOOK, NumpyAdam)):
        runs[name] = functools.partial(cls([w.copy() for w in start]).step, grads)
    runs[SGD_BASE] = functools.partial(numpy_sgd, [w.copy() for w in start], grads)
    for name, kw in (("Adam", ADAM), ("SGD", {"lr": LR})) if torch is not None else ():
        torch.set_num_threads(1)
        tensors = [torch.tensor(w, requires_grad=True) for w in start]
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g)
        runs[f"torch.optim.{name} (1 thread)"] = getattr(torch.optim, name)(tensors, **kw).step
    return {name: common.block(run, steps, steps) for name, run in runs.items()}


def check() -> float:
    """The largest relative difference between ``optim.Adam`` and the hand-written Adams
    after 20 steps from the same start (the same arithmetic, in different orders)."""
    start, grads = _start()
    opt = _optimizer(optim.Adam, start, grads, **ADAM)
    refs = [NumpyAdam([w.copy() for w in start]), NumpyAdamInPlace([w.copy() for w in start])]
    for _ in range(20):
        opt.step()
        for ref in refs:
            ref.step(grads)
    params = opt.param_groups[0]["params"]
    return max(float(np.max(np.abs(p.data - w) / np.abs(w)))
               for ref in refs for p, w in zip(params, ref.params))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = common.setup(__doc__, argv, {"--profile": "also cProfile optim.Adam.step"})
    steps, difference = 50 if args.quick else 200, check()
    if difference > 1e-10:
        raise AssertionError(f"optim.Adam and the hand-written Adam differ by {difference:.2e}")
    title = f"bench_adam: one step over {list(SIZES)}'s parameters (float64), rounds of {steps}"
    goal = f"optim.Adam.step ≤ 1.25x a hand-written NumPy Adam step ({list(SIZES)}, float64)"
    base = lambda name: ADAM_BASE if "Adam" in name else SGD_BASE  # noqa: E731
    # issue 15's goal is Adam's; SGD's ratio is reported (the table), not a goal
    stats, goals = common.contest(title, contenders(args.torch, steps), args.reps, base,
                                  [(goal, "optim.Adam.step", ADAM_BASE, 1.25)])  # fmt: skip
    payload: dict[str, Any] = {"steps_per_round": steps, "rounds": args.reps, "results": stats,
                               "adam_vs_hand_written_difference": difference}  # fmt: skip
    if args.profile:
        opt = _optimizer(optim.Adam, *_start())
        run = lambda: [opt.step() for _ in range(steps)]  # noqa: E731
        payload["profile"] = common.profile("cProfile of optim.Adam.step", run, steps)
    return common.footer("bench_adam", payload, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
