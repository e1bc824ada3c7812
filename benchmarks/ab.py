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
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_nielsen import ETA, SEED, SIZES, gather_batches, load_training, reference
from benchmarks.bench_overhead import chain
from benchmarks.common import ROOT, clock, interleaved, median, pin_blas_threads, since

OLD_NAME = "autograd_lite_ab"


def extract(rev: str, into: Path) -> None:
    """Write ``autograd_lite/`` as it was at ``rev`` to ``into/autograd_lite_ab``."""
    archive = subprocess.run(["git", "archive", rev, "autograd_lite"], cwd=ROOT,
                             capture_output=True, check=False)  # fmt: skip
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    package = into / OLD_NAME
    (into / "autograd_lite").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bautograd_lite\b", OLD_NAME, text), encoding="utf-8")


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
        batches = [b[:2] for b in gather_batches(X_rows, Y_rows, args.steps, 10)]
        nets = {v: v.nielsen.Network(SIZES, seed=SEED, dtype=dtype) for v in (old, new)}
        ref = reference(nets[old].biases, nets[old].weights)

        def per_unit(run: Any, units: int) -> Any:
            def round_() -> tuple[float, float]:
                begin = clock()
                run()
                return since(begin, units)

            return round_

        def steps(net: Any) -> Any:
            return per_unit(lambda: [net.update_mini_batch(b, ETA) for b in batches], len(batches))

        def chains(al: Any) -> Any:  # five 200-node chains, forward and backward
            x = al.Tensor(1.0, requires_grad=True)
            return per_unit(lambda: [chain(x, 200).backward() for _ in range(5)], 5 * 200)

        contenders = {
            "numpy reference": per_unit(lambda: [ref.step(b) for b in batches], len(batches)),
            f"Network at {args.rev}": steps(nets[old]),
            "Network now": steps(nets[new]),
            f"chain node at {args.rev}": chains(old),
            "chain node now": chains(new),
        }
        samples = interleaved(contenders, reps=args.rounds, warmup=0)
        base = median(samples["numpy reference"], 1e6)
        print(f"{args.dtype}, median of {args.rounds} interleaved rounds, µs")
        for name, values in samples.items():
            value = median(values, 1e6)
            ratio = f"  {value / base:.3f}x the reference" if name.startswith("Network") else ""
            print(f"  {name:28s} {value:9.2f}{ratio}")
        params = [net.biases + net.weights for net in nets.values()]
        same = all(np.array_equal(a, b) for a, b in zip(*params, strict=True))
        verdict = "bitwise equal" if same else "different"
        print(f"weights of the two networks after every round: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
