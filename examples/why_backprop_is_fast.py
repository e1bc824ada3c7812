"""In what sense is backpropagation fast?  Measured, for networks of growing size.

Chapter 2 of Nielsen's *Neural Networks and Deep Learning* argues that estimating the gradient
by finite differences, ∂C/∂wⱼ ≈ (C(w + ε eⱼ) − C(w)) / ε, costs one extra forward pass *per
parameter*, while backpropagation gets every partial derivative from one forward and one
backward pass, and the backward pass costs about as much as a forward one. This script times
both for sigmoid networks ``[784, h, 10]`` with ``h`` doubling, on one mini-batch of 10 random
inputs (columns, as in the chapter):

(a) one forward pass, recording the graph (what backprop needs);
(b) one backward pass, ``al.gradients(C, parameters)``;
(c) the gradient by forward differences: one forward pass without recording per parameter,
    plus one for C(w). Every perturbed pass is timed; the total is the median time of one pass
    times (number of parameters + 1). Up to ``--fd-budget`` parameters every one is perturbed;
    above, a random sample of that many is, and the total is extrapolated (said so in the
    table and the plot).

(a) and (b) are the median of 30 runs. Medians, because on a shared machine a long loop
collects other processes' interruptions that a short one escapes.

It prints a table, checks the finite-difference estimates against the backprop gradient, and
draws ``docs/img/backprop_vs_finite_differences.png``::

    python examples/why_backprop_is_fast.py              # the plot in docs/backprop.md
    python examples/why_backprop_is_fast.py --quick --out /tmp/fast.png   # a few seconds
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared machine, BLAS threads that spin while another process holds a core
# make single timings jump tenfold. Forward, backward and finite differences all pay the same.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import autograd_lite as al  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "backprop_vs_finite_differences.png"
FULL_HIDDEN = (2, 4, 8, 16, 32, 64, 128, 256)
QUICK_HIDDEN = (2, 4, 8)
EPS = 1e-6  # forward-difference step; float64 cost of order 1, so ~1e-5 relative accuracy


def cost(weights: list, biases: list, X: np.ndarray, Y: np.ndarray) -> al.Tensor:
    """C = Σₓ ½‖y − aᴸ‖² for the columns of X, with aˡ = σ(wˡ aˡ⁻¹ + bˡ)."""
    a = X
    for w, b in zip(weights, biases):
        a = al.sigmoid(w @ a + b)
    return al.quadratic_cost(a, Y)


def median_time(fn, repeats: int) -> float:
    """The median wall time of ``fn()`` over ``repeats`` calls (robust to a busy machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(sizes: list[int], batch: int, fd_budget: int, repeats: int, seed: int) -> dict:
    """Time (a) forward, (b) backward, (c) finite differences for one network."""
    rng = np.random.default_rng(seed)
    weights = [
        al.Tensor(rng.standard_normal((n, k)), requires_grad=True) for k, n in zip(sizes, sizes[1:])
    ]
    biases = [al.Tensor(rng.standard_normal((n, 1)), requires_grad=True) for n in sizes[1:]]
    params = weights + biases
    X = rng.random((sizes[0], batch))
    Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], batch)]
    n_params = sum(p.size for p in params)

    forward = median_time(lambda: cost(weights, biases, X, Y), repeats)

    backward_times = []
    for _ in range(repeats):
        C = cost(weights, biases, X, Y)
        start = time.perf_counter()
        grads = al.gradients(C, params)
        backward_times.append(time.perf_counter() - start)
    backward = statistics.median(backward_times)

    # Finite differences: perturb one parameter at a time, in place, and re-evaluate C.
    offsets = np.cumsum([0] + [p.size for p in params])
    k = min(n_params, fd_budget)
    chosen = rng.choice(n_params, size=k, replace=False) if k < n_params else range(n_params)
    worst = 0.0
    fd_times = []
    with al.no_grad():
        c0 = cost(weights, biases, X, Y).item()
        for j in chosen:
            which = int(np.searchsorted(offsets, j, side="right")) - 1
            array = params[which].data
            index = np.unravel_index(j - offsets[which], array.shape)
            old = array[index]
            array[index] = old + EPS
            start = time.perf_counter()
            c = cost(weights, biases, X, Y).item()
            fd_times.append(time.perf_counter() - start)
            array[index] = old
            worst = max(worst, abs((c - c0) / EPS - grads[which][index]))
    # The median of the timed forward passes, as for (a) and (b), times the n + 1 passes needed.
    per_forward = statistics.median(fd_times)
    scale = max(float(np.abs(g).max()) for g in grads)
    return {
        "hidden": sizes[1],
        "sizes": sizes,
        "params": n_params,
        "forward": forward,
        "backward": backward,
        "fd": per_forward * (n_params + 1),
        "fd_forward": per_forward,
        "fd_sampled": k,
        "extrapolated": k < n_params,
        "fd_error": worst / scale,
    }


def plot(rows: list[dict], out: Path, batch: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([r["params"] for r in rows], dtype=float)
    fwd = np.array([r["forward"] for r in rows])
    bwd = np.array([r["backward"] for r in rows])
    fd = np.array([r["fd"] for r in rows])
    extra = np.array([r["extrapolated"] for r in rows])

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    left.loglog(n, fd, "-", color="tab:red", label="gradient by finite differences")
    left.loglog(n[~extra], fd[~extra], "o", color="tab:red", label="  (measured in full)")
    left.loglog(
        n[extra],
        fd[extra],
        "o",
        mfc="white",
        color="tab:red",
        label="  (sample of weights, extrapolated)",
    )
    left.loglog(n, bwd, "s-", color="tab:blue", label="one backward pass (backprop)")
    left.loglog(n, fwd, "^-", color="tab:green", label="one forward pass (recording)")
    left.loglog(n, fd[0] * n / n[0], ":", color="gray", label="∝ number of parameters")
    left.set_xlabel("number of parameters (weights and biases)")
    left.set_ylabel("seconds")
    left.set_title(
        f"[784, h, 10], mini-batch of {batch}; h = {rows[0]['hidden']}…{rows[-1]['hidden']}"
    )
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, loc="upper left")

    right.semilogx(n, fd / bwd, "o-", color="tab:red", label="finite differences / backward")
    right.semilogx(n, bwd / fwd, "s-", color="tab:blue", label="backward / forward")
    right.set_yscale("log")
    right.set_ylim(0.3, 20 * float(max(fd / bwd)))  # room for the labels
    right.set_xlabel("number of parameters (weights and biases)")
    right.set_ylabel("ratio of times")
    right.set_title("backward ≈ a small constant × forward")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8, loc="upper left")
    for y in (fd[-1] / bwd[-1], bwd[-1] / fwd[-1]):
        label = f"{y:,.0f}×" if y >= 100 else f"{y:.2f}×"
        right.annotate(
            label, (n[-1], y), xytext=(-4, 9), textcoords="offset points", ha="right", fontsize=9
        )

    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out, dpi=110)
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the PNG (default {DEFAULT_OUT.relative_to(ROOT)})",
    )
    parser.add_argument("--batch", type=int, default=10, help="mini-batch size (default 10)")
    parser.add_argument(
        "--fd-budget",
        type=int,
        default=None,
        metavar="K",
        help="finite differences for at most K parameters per network, the rest "
        "extrapolated (default 20000; 200 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    hidden = QUICK_HIDDEN if args.quick else FULL_HIDDEN
    budget = args.fd_budget or (200 if args.quick else 20_000)
    repeats = 5 if args.quick else 30
    rows = []
    print(
        f"{'sizes':>16} {'params':>8} {'forward':>10} {'backward':>10} {'bwd/fwd':>8} "
        f"{'fin. diff.':>11} {'FD/bwd':>9}  FD check"
    )
    for h in hidden:
        r = measure([784, h, 10], args.batch, budget, repeats, args.seed)
        rows.append(r)
        how = f"{r['fd_sampled']} sampled, extrapolated" if r["extrapolated"] else "all measured"
        print(
            f"{str(r['sizes']):>16} {r['params']:>8,} {1e3 * r['forward']:>8.3f}ms "
            f"{1e3 * r['backward']:>8.3f}ms {r['backward'] / r['forward']:>8.2f} "
            f"{r['fd']:>10.3f}s {r['fd'] / r['backward']:>9,.0f}  "
            f"max|FD-bp|/max|bp| {r['fd_error']:.1e} ({how})",
            flush=True,
        )
    last = rows[-1]
    print(
        f"At {last['params']:,} parameters: backward/forward = "
        f"{last['backward'] / last['forward']:.2f}, finite differences/backward = "
        f"{last['fd'] / last['backward']:,.0f}"
    )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return 0
    plot(rows, args.out, args.batch)
    print(f"Drew {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
