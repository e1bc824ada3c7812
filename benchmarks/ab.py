"""Before and after: the working tree's autograd_lite against an earlier commit, in one process.

``python -m benchmarks.ab REV``: ``autograd_lite/`` at ``REV``, renamed ``autograd_lite_ab``, and
the working tree's time a ``Network`` step and a chain node in interleaved rounds with the NumPy
reference; the two networks' weights must stay bitwise equal when the arithmetic did not change.
"""

import importlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import common
from benchmarks.bench_nielsen import ETA, SEED, SIZES, load_batches, reference, start
from benchmarks.common import ROOT, chain

OLD_NAME = "autograd_lite_ab"


def extract(rev: str, into: Path) -> None:
    """Write ``autograd_lite/`` as it was at ``rev`` to ``into/autograd_lite_ab``."""
    command = ["git", "archive", rev, "autograd_lite"]
    archive = subprocess.run(command, cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    (into / "autograd_lite").rename(into / OLD_NAME)
    for path in (into / OLD_NAME).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bautograd_lite\b", OLD_NAME, text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    options = {"rev": {"help": "the commit to compare with (anything git understands)"},
               "--dtype": {"choices": ["float64", "float32"], "default": "float64"},
               "--steps": {"type": int, "default": 200, "help": "steps per round"}}  # fmt: skip
    args = common.setup(__doc__, argv, options, reps=(5, 21), optional=())
    dtype = np.dtype(args.dtype).type
    with tempfile.TemporaryDirectory() as tmp:
        extract(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        versions = {f"at {args.rev}": importlib.import_module(OLD_NAME),
                    "now": importlib.import_module("autograd_lite")}  # fmt: skip
        batches = load_batches(dtype, args.steps)[0]
        nets = {k: v.nielsen.Network(SIZES, seed=SEED, dtype=dtype) for k, v in versions.items()}
        ref = reference(*start(dtype))
        rounds = {"numpy reference": common.over(ref.step, batches)}
        for label, v in versions.items():
            net, x = nets[label], v.Tensor(1.0, requires_grad=True)
            update = lambda b, net=net: net.update_mini_batch(b[:2], ETA)  # noqa: E731
            chains = lambda x=x: [chain(x, 200).backward() for _ in range(5)]  # noqa: E731
            rounds[f"Network {label}"] = common.over(update, batches)
            rounds[f"chain node {label}"] = common.block(chains, 5 * 200)
        stats = common.compare(rounds, args.reps, 1e6, warmup=0)
        base = lambda name: None if "chain" in name else "numpy reference"  # noqa: E731
        common.ratio_table(f"{args.dtype}, median of {args.reps} interleaved rounds", stats, base)
        old, new = ([*n.biases, *n.weights] for n in nets.values())
        same = all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
        print(
            f"weights of the two networks after every round: {'bitwise' if same else 'NOT'} equal"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
