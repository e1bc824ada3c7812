"""Before and after: the working tree's autograd_lite against an earlier commit, in one process.

``python -m benchmarks.ab REV``: ``autograd_lite/`` at ``REV``, renamed ``autograd_lite_ab``, and
the working tree's time a ``Network`` step, a chain node and bench_compile's ``al.compile`` loop
(where ``REV`` has it) in interleaved rounds with the NumPy reference; the two networks' (and
compiled models') weights must stay bitwise equal when the arithmetic did not change.
"""

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_nielsen import BATCH, ETA, SEED, SIZES, load_batches, reference
from benchmarks.common import ROOT, block, chain, interleaved, median, pin_blas_threads

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
        old, new = importlib.import_module(OLD_NAME), importlib.import_module("autograd_lite")

        batches = [b[:2] for b in load_batches(dtype, args.steps)[0]]
        nets = {v: v.nielsen.Network(SIZES, seed=SEED, dtype=dtype) for v in (old, new)}
        ref = reference(nets[old].biases, nets[old].weights)

        x_old, x_new = (v.Tensor(1.0, requires_grad=True) for v in (old, new))
        steps = lambda net: lambda: [net.update_mini_batch(b, ETA) for b in batches]  # noqa: E731
        chains = lambda x: lambda: [chain(x, 200).backward() for _ in range(5)]  # noqa: E731
        contenders = {  # one round: the steps over the batches, or five 200-node chains
            "numpy reference": block(lambda: [ref.step(b) for b in batches], len(batches)),
            f"Network at {args.rev}": block(steps(nets[old]), len(batches)),
            "Network now": block(steps(nets[new]), len(batches)),
            f"chain node at {args.rev}": block(chains(x_old), 5 * 200),
            "chain node now": block(chains(x_new), 5 * 200)}  # fmt: skip
        models = {}  # bench_compile's loop: nn.Sequential, al.compile, SGD (where REV has them)
        for v, label in ((old, f"at {args.rev}"), (new, "now")) if hasattr(old, "compile") else ():
            layers = [v.nn.Linear(n, m, seed=k, dtype=dtype) for k, n, m in
                      zip((1, 2), SIZES, SIZES[1:])]  # fmt: skip
            model = models[v] = v.nn.Sequential(
                layers[0], v.nn.Sigmoid(), layers[1], v.nn.Sigmoid()
            )
            opt, fn = v.optim.SGD(model.parameters(), lr=ETA / BATCH), v.compile(model)
            loop = lambda m=model, o=opt, f=fn, v=v: [  # noqa: E731
                (m.zero_grad(), v.quadratic_cost(f(X.T), Y.T).backward(), o.step())
                for X, Y in batches]  # fmt: skip
            contenders[f"compiled loop {label}"] = block(loop, len(batches))
        samples = interleaved(contenders, reps=args.rounds, warmup=0)
        base = median(samples["numpy reference"], 1e6)
        print(f"{args.dtype}, median of {args.rounds} interleaved rounds, µs")
        for name, values in samples.items():
            value = median(values, 1e6)
            ratio = f"  {value / base:.3f}x the reference" if "chain" not in name else ""
            print(f"  {name:28s} {value:9.2f}{ratio}")
        params = [net.biases + net.weights for net in nets.values()]
        same = all(np.array_equal(a, b) for a, b in zip(*params, strict=True))
        verdict = "bitwise equal" if same else "different"
        print(f"weights of the two networks after every round: {verdict}")
        if models:
            pairs = zip(*(m.parameters() for m in models.values()), strict=True)
            same = all(np.array_equal(a.data, b.data) for a, b in pairs)
            print(f"and of the two compiled models: {'bitwise equal' if same else 'different'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
