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


def epoch(name: str, make: Callable, X_rows: np.ndarray, Y_rows: np.ndarray,
          last: dict[str, nielsen.Contender]) -> Callable[[], tuple[float, float]]:  # fmt: skip
    """One timed epoch from fresh parameters (the model kept in ``last``); the k-th call of every
    contender shuffles alike. ``Network.SGD`` runs the library's own driver and shuffling."""
    rng, n = np.random.default_rng(7), X_rows.shape[0]

    def round_() -> tuple[float, float]:
        if name == SGD:
            net = Network(SIZES, seed=SEED, dtype=X_rows.dtype)
            last[SGD] = nielsen.Contender(
                SGD, "", lambda b: None, lambda: (net.biases, net.weights)
            )
            begin = clock()
            net.SGD((X_rows.T, Y_rows.T), 1, BATCH, ETA, verbose=False, monitor_cost=False)
            return since(begin)
        warm = make()  # a few untimed steps: first-call costs (imports, allocator)
        for k in range(3):
            Xr, Yr = X_rows[k * BATCH : (k + 1) * BATCH], Y_rows[k * BATCH : (k + 1) * BATCH]
            warm.step((Xr.T, Yr.T, Xr, Yr))
        c = last[name] = make()
        c.before_round()  # thread settings
        step = c.step
        begin = clock()
        perm = rng.permutation(n)
        for k in range(n // BATCH):
            idx = perm[k * BATCH : (k + 1) * BATCH]
            Xr, Yr = X_rows[idx], Y_rows[idx]
            step((Xr.T, Yr.T, Xr, Yr))
        c.finish()
        return since(begin)

    return round_


def measure(data_dir: str, dtype: Any, reps: int, torch: Any) -> dict[str, Any]:
    begin = clock()
    data = load_mnist(data_dir, dtype=dtype)
    load_s = since(begin)[0]
    X_rows, Y_rows = data.train.images, data.train.one_hot()
    start = lambda: nielsen.start(dtype)  # noqa: E731
    makers = {REFERENCE: lambda: nielsen.reference(*start()),
              nielsen.REFERENCE_LIBRARY_SIGMOID: lambda: nielsen.reference(*start(), True),
              NETWORK: lambda: nielsen.network(dtype)}  # fmt: skip
    if torch is not None:
        makers["torch eager (1 thread)"] = lambda: nielsen.torch_eager(torch, *start(), threads=1)
    last: dict[str, nielsen.Contender] = {}
    rounds = {name: epoch(name, make, X_rows, Y_rows, last) for name, make in makers.items()}
    rounds[SGD] = epoch(SGD, lambda: None, X_rows, Y_rows, last)
    samples, results = common.interleaved(rounds, reps, 0), {}
    for name, values in samples.items():
        stats = common.summarize(values)
        wall, cpu = common.ratio(stats, common.summarize(samples[REFERENCE]))
        a = data.test.images.T
        with np.errstate(
            over="ignore"
        ):  # the share of test images whose largest output is the label
            for b, w in zip(*last[name].params()):
                a = 1.0 / (1.0 + np.exp(-(w @ a + b)))
        accuracy = float(np.mean(a.argmax(axis=0) == data.test.labels))
        results[name] = {"epoch_s": stats, "ratio_to_reference": wall,
                         "cpu_ratio_to_reference": cpu, "test_accuracy": accuracy}  # fmt: skip
    # At eta = 3 the training is chaotic: the last-bit differences of two σ formulas grow to O(1)
    # within the epoch. So the arithmetic is checked in lockstep, over a whole epoch, with the
    # reference computing σ by the library's formula: bitwise equal.
    perm = np.random.default_rng(7).permutation(X_rows.shape[0])
    pairs = ((X_rows[perm[k : k + BATCH]].T, Y_rows[perm[k : k + BATCH]].T)
             for k in range(0, X_rows.shape[0] - BATCH + 1, BATCH))  # fmt: skip
    diff = nielsen.max_weight_difference
    return {
        "max_abs_weight_diff_network_vs_reference_after_epoch":
            diff(last[REFERENCE], last[NETWORK]),
        "max_abs_weight_diff_network_vs_reference_library_sigmoid_after_epoch":
            diff(last[nielsen.REFERENCE_LIBRARY_SIGMOID], last[NETWORK]),
        "lockstep_same_sigmoid": nielsen.lockstep_check(dtype, pairs),
        "data": data.source, "load_s": load_s, "dtype": np.dtype(dtype).name,
        "train_images": int(X_rows.shape[0]), "steps_per_epoch": int(X_rows.shape[0] // BATCH),
        "epochs_timed": reps, "results": results,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options = {"--dtype": {"choices": ["float64", "float32"], "default": "float64"},
               "--data": {"default": DATA, "help": f"Fashion-MNIST folder ({DATA})"}}  # fmt: skip
    args = common.setup(__doc__, argv, options, reps=(1, 3))
    reps, notes, out = args.reps, args.notes, args.json or "bench_fashion"
    print("bench_fashion: one epoch of Fashion-MNIST, [784, 30, 10], sigmoid, quadratic, η=3, m=10")
    if not Path(args.data).is_dir():
        notes.append(f"Fashion-MNIST not found in {args.data}: skipped "
                     "(install it with `apt-get install -y dataset-fashion-mnist`)")  # fmt: skip
        return common.footer(out, {"result": None, "notes": notes}, notes)
    r = measure(args.data, np.dtype(args.dtype), reps, args.torch)
    print(f"{r['data']}; {r['dtype']}; {r['steps_per_epoch']:,} steps per epoch; median of {reps} "
          f"interleaved epoch(s) each; loading took {r['load_s']:.1f} s")  # fmt: skip
    headers = ["contender", "epoch s", "cpu s", "vs numpy", "cpu vs numpy", "µs/step",
               "test accuracy"]  # fmt: skip
    print(common.table(headers, [
        (name, f"{e['epoch_s']['median']:.2f}", f"{e['epoch_s']['cpu']['median']:.2f}",
         f"{e['ratio_to_reference']:.2f}x", f"{e['cpu_ratio_to_reference']:.2f}x",
         f"{e['epoch_s']['median'] / r['steps_per_epoch'] * 1e6:.0f}",
         f"{100 * e['test_accuracy']:.2f}%") for name, e in r["results"].items()]))  # fmt: skip
    ls = r["lockstep_same_sigmoid"]
    print("Network vs reference after the timed epoch (different σ formulas; η=3 is chaotic): "
          f"max|Δw| {r['max_abs_weight_diff_network_vs_reference_after_epoch']:.1e}; vs the "
          "reference with the library's σ: max|Δw| "
          f"{r['max_abs_weight_diff_network_vs_reference_library_sigmoid_after_epoch']:.1e}"
          f"; {ls['steps']:,} steps in lockstep with it: {nielsen.lockstep_line(ls)}")  # fmt: skip
    me = r["results"][NETWORK]
    goals = [common.goal("one Fashion-MNIST epoch ≤ 1.25x hand-written NumPy",
                         me["ratio_to_reference"], 1.25, me["cpu_ratio_to_reference"])]  # fmt: skip
    return common.footer(out, {"result": r, "notes": notes}, notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
