"""One epoch of full Fashion-MNIST: autograd_lite against hand-written NumPy (and PyTorch).

bench_nielsen's contenders and ``Network.SGD`` on 50,000 images (``apt-get install
dataset-fashion-mnist``, else skipped), each shuffling and gathering alike; test accuracy after.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite.datasets import load_mnist
from autograd_lite.nielsen import Network
from benchmarks import bench_nielsen as nielsen
from benchmarks import common
from benchmarks.bench_nielsen import BATCH, ETA, NETWORK, REFERENCE, SEED, SIZES
from benchmarks.common import clock, since

DATA = "/usr/share/datasets/fashion-mnist"
SGD = "Network.SGD (library driver)"


def epoch(make: Callable[[], nielsen.Contender], X_rows: np.ndarray, Y_rows: np.ndarray,
          last: dict[str, nielsen.Contender]) -> Callable[[], tuple[float, float]]:  # fmt: skip
    """One timed epoch from fresh parameters (the model kept in ``last``); the k-th call of every
    contender shuffles alike."""
    rng, n = np.random.default_rng(7), X_rows.shape[0]

    def round_() -> tuple[float, float]:
        warm = make()  # a few untimed steps: first-call costs (imports, allocator)
        for k in range(0, 3 * BATCH, BATCH):
            Xr, Yr = X_rows[k : k + BATCH], Y_rows[k : k + BATCH]
            warm.step((Xr.T, Yr.T, Xr, Yr))
        c = make()
        last[c.name] = c
        c.before_round()  # thread settings
        step, begin = c.step, clock()
        perm = rng.permutation(n)
        for k in range(n // BATCH):
            idx = perm[k * BATCH : (k + 1) * BATCH]
            Xr, Yr = X_rows[idx], Y_rows[idx]
            step((Xr.T, Yr.T, Xr, Yr))
        c.finish()
        return since(begin)

    return round_


def sgd_epoch(X_rows: np.ndarray, Y_rows: np.ndarray, last: dict[str, nielsen.Contender]) -> Any:
    """One timed epoch of ``Network.SGD``: the library's own driver and shuffling."""

    def round_() -> tuple[float, float]:
        net = Network(SIZES, seed=SEED, dtype=X_rows.dtype)
        last[SGD] = nielsen.Contender.of(SGD, net, lambda b: None)
        begin = clock()
        net.SGD((X_rows.T, Y_rows.T), 1, BATCH, ETA, verbose=False, monitor_cost=False)
        return since(begin)

    return round_


def measure(data_dir: str, dtype: Any, reps: int, torch: Any) -> dict[str, Any]:
    begin = clock()
    data = load_mnist(data_dir, dtype=dtype)
    load_s = since(begin)[0]
    X_rows, Y_rows = data.train.images, data.train.one_hot()
    start = lambda: nielsen.start(dtype)  # noqa: E731
    makers = [lambda: nielsen.reference(*start()), lambda: nielsen.reference(*start(), True),
              lambda: nielsen.network(dtype)]  # fmt: skip
    if torch is not None:
        makers.append(lambda: nielsen.torch_eager(torch, *start(), threads=1))
    last: dict[str, nielsen.Contender] = {}
    rounds = {make().name: epoch(make, X_rows, Y_rows, last) for make in makers}
    rounds[SGD] = sgd_epoch(X_rows, Y_rows, last)
    stats, accuracy = common.compare(rounds, reps, warmup=0), {}
    for name, contender in last.items():  # the share of test images whose largest output is
        a = data.test.images.T  # the label
        with np.errstate(over="ignore"):
            for b, w in zip(*contender.params()):
                a = 1.0 / (1.0 + np.exp(-(w @ a + b)))
        accuracy[name] = float(np.mean(a.argmax(axis=0) == data.test.labels))
    # η = 3 is chaotic (last-bit differences of two σ formulas grow to O(1) within the epoch):
    # the arithmetic is checked in lockstep with the reference computing σ as the library does.
    perm = np.random.default_rng(7).permutation(X_rows.shape[0])
    pairs = ((X_rows[perm[k : k + BATCH]].T, Y_rows[perm[k : k + BATCH]].T)
             for k in range(0, X_rows.shape[0] - BATCH + 1, BATCH))  # fmt: skip
    diffs = {name: nielsen.max_weight_difference(last[name], last[NETWORK])
             for name in (REFERENCE, nielsen.REFERENCE_LIBRARY_SIGMOID)}  # fmt: skip
    return {"max_abs_weight_diff_vs_network_after_epoch": diffs, "data": data.source,
            "lockstep_same_sigmoid": nielsen.lockstep_check(dtype, pairs), "load_s": load_s,
            "dtype": np.dtype(dtype).name, "train_images": int(X_rows.shape[0]),
            "steps_per_epoch": int(X_rows.shape[0] // BATCH), "epochs_timed": reps,
            "epoch_s": stats, "test_accuracy": accuracy}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options = {"--dtype": {"choices": ["float64", "float32"], "default": "float64"},
               "--data": {"default": DATA, "help": f"Fashion-MNIST folder ({DATA})"}}  # fmt: skip
    args = common.setup(__doc__, argv, options, reps=(1, 3))
    print("bench_fashion: one epoch of Fashion-MNIST, [784, 30, 10], sigmoid, quadratic, η=3, m=10")
    if not Path(args.data).is_dir():
        install = "install it with `apt-get install -y dataset-fashion-mnist`"
        args.notes.append(f"Fashion-MNIST not found in {args.data}: skipped ({install})")
        return common.footer("bench_fashion", {"result": None}, args.notes)
    r = measure(args.data, np.dtype(args.dtype), args.reps, args.torch)
    stats, steps = r["epoch_s"], r["steps_per_epoch"]
    extra = {
        "µs/step": {n: f"{s['median'] / steps * 1e6:.0f}" for n, s in stats.items()},
        "test accuracy": {n: f"{a:.2%}" for n, a in r["test_accuracy"].items()},
    }
    common.ratio_table(f"{r['data']}; {r['dtype']}; {steps:,} steps per epoch; median of "
                       f"{args.reps} interleaved epoch(s) each; loading took {r['load_s']:.1f} s",
                       stats, REFERENCE, "s", extra=extra)  # fmt: skip
    d, ls = r["max_abs_weight_diff_vs_network_after_epoch"], r["lockstep_same_sigmoid"]
    print("Network vs reference after the timed epoch (different σ formulas; η=3 is chaotic): "
          f"max|Δw| {d[REFERENCE]:.1e}; vs the reference with the library's σ: max|Δw| "
          f"{d[nielsen.REFERENCE_LIBRARY_SIGMOID]:.1e}; {ls['steps']:,} steps in lockstep with "
          f"it: {ls['line']}")  # fmt: skip
    goals = common.goals_of(stats, [("one Fashion-MNIST epoch ≤ 1.25x hand-written NumPy",
                                     NETWORK, REFERENCE, 1.25)])  # fmt: skip
    return common.footer("bench_fashion", {"result": r}, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
