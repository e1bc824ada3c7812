"""Before and after: the working tree's autograd_lite against an earlier commit, in one process.

``python -m benchmarks.ab REV [--dtype float32] [--rounds 21]`` extracts ``autograd_lite/`` at
``REV`` (``git archive``) into a temporary folder as a package named ``autograd_lite_ab``, imports
it beside the working tree's ``autograd_lite``, and times both in interleaved rounds, in a
shuffled order, with the hand-written NumPy reference of :mod:`benchmarks.bench_nielsen`:

* one ``Network.update_mini_batch`` step of the chapter's network on the embedded digits;
* one node of the scalar chain ``x = x*1.0001 + 0.0001`` (200-node chains, forward + backward).

Running both versions in the same process, round after round, is what makes a change of a few
percent visible on a noisy machine: a slow moment hits both alike. The weights of the two
networks are compared at the end (a change that should not alter the arithmetic must leave them
bitwise equal).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_nielsen import ETA, SEED, SIZES, NumpyReference, gather_batches, load_training
from benchmarks.common import median, pin_blas_threads

ROOT = Path(__file__).resolve().parent.parent
OLD_NAME = "autograd_lite_ab"


def extract(rev: str, into: Path) -> None:
    """Write ``autograd_lite/`` as it was at ``rev`` to ``into/autograd_lite_ab``."""
    archive = subprocess.run(
        ["git", "archive", rev, "autograd_lite"], cwd=ROOT, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    package = into / OLD_NAME
    (into / "autograd_lite").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bautograd_lite\b", OLD_NAME, text), encoding="utf-8")


def _chain(al: Any, nodes: int = 200) -> Any:
    x = al.Tensor(1.0, requires_grad=True)

    def run() -> None:
        h = x
        for _ in range(nodes):
            h = h * 1.0001 + 0.0001
        h.backward()

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__)
    parser.add_argument("rev", help="the commit to compare with (anything git understands)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    parser.add_argument("--steps", type=int, default=200, help="network steps per round")
    args = parser.parse_args(argv)
    pin_blas_threads()
    dtype = np.dtype(args.dtype).type

    with tempfile.TemporaryDirectory() as tmp:
        extract(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        import autograd_lite_ab as old

        import autograd_lite as new

        X_rows, Y_rows, _ = load_training(dtype)
        batches = gather_batches(X_rows, Y_rows, args.steps, 10)
        net_old = old.nielsen.Network(SIZES, seed=SEED, dtype=dtype)
        net_new = new.nielsen.Network(SIZES, seed=SEED, dtype=dtype)
        reference = NumpyReference(net_old.biases, net_old.weights, 10)
        chain_old, chain_new = _chain(old), _chain(new)
        steps = len(batches)
        chain_nodes = 5 * 200
        # name -> (one round, the number of units it times: steps, or chain nodes)
        contenders = {
            "numpy reference": (lambda: [reference.step(b[0], b[1], ETA) for b in batches], steps),
            f"Network at {args.rev}": (
                lambda: [net_old.update_mini_batch((b[0], b[1]), ETA) for b in batches],
                steps,
            ),
            "Network now": (
                lambda: [net_new.update_mini_batch((b[0], b[1]), ETA) for b in batches],
                steps,
            ),
            f"chain node at {args.rev}": (lambda: [chain_old() for _ in range(5)], chain_nodes),
            "chain node now": (lambda: [chain_new() for _ in range(5)], chain_nodes),
        }
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        gc.freeze()
        order = list(contenders)
        shuffle = random.Random(0).shuffle
        for _ in range(args.rounds):
            shuffle(order)
            for name in order:
                gc.collect()
                round_, units = contenders[name]
                start = time.perf_counter()
                round_()
                samples[name].append((time.perf_counter() - start) / units * 1e6)

        ref = median(samples["numpy reference"])
        print(f"{args.dtype}, median of {args.rounds} interleaved rounds, µs")
        for name in contenders:
            value = median(samples[name])
            ratio = f"  {value / ref:.3f}x the reference" if name.startswith("Network") else ""
            print(f"  {name:28s} {value:9.2f}{ratio}")
        same = all(
            np.array_equal(a, b)
            for a, b in zip(
                net_old.biases + net_old.weights, net_new.biases + net_new.weights, strict=True
            )
        )
        verdict = "bitwise equal" if same else "different"
        print(f"weights of the two networks after every round: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
