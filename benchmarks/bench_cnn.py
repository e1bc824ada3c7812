"""The CNN of ``examples/mnist_cnn.py``: one training epoch, and one Conv2d, against PyTorch.

The LeNet's epoch (float32, batch 32, SGD with momentum, 8,000 digits; same weights and shuffle)
and ``Conv2d(1, 16, 5)`` forward + backward on 32 images, against PyTorch eager (1 thread).
"""

import collections
import runpy
from types import SimpleNamespace
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite import nn, optim
from benchmarks import common
from benchmarks.common import ROOT, block, clock, since

EPOCH, CONV = "LeNet training epoch", "Conv2d(1, 16, 5) fwd+bwd, batch 32"
TORCH = "PyTorch eager (1 thread)"


def torch_lenet(torch: Any, state: dict[str, np.ndarray]) -> Any:
    """The same LeNet in PyTorch, holding the weights ``state`` (our state_dict, unchanged)."""
    tnn = torch.nn
    model = tnn.Sequential(collections.OrderedDict(
        conv1=tnn.Conv2d(1, 6, 5, padding=2), relu1=tnn.ReLU(), pool1=tnn.MaxPool2d(2),
        conv2=tnn.Conv2d(6, 16, 5), relu2=tnn.ReLU(), pool2=tnn.MaxPool2d(2), flat=tnn.Flatten(),
        fc1=tnn.Linear(400, 120), relu3=tnn.ReLU(), fc2=tnn.Linear(120, 84), relu4=tnn.ReLU(),
        fc3=tnn.Linear(84, 10)))  # fmt: skip
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model


def conv_round(conv: Any, images: Any) -> Any:
    """A round of 20 forward + backward passes of ``conv`` on ``images`` (either framework)."""

    def run() -> None:
        conv.zero_grad()
        conv(images).sum().backward()

    return block(run, 20, 20)


def measure(torch: Any, reps: int, limit: int) -> dict[str, Any]:
    ex = SimpleNamespace(**runpy.run_path(str(ROOT / "examples" / "mnist_cnn.py")))  # its LeNet
    data = al.datasets.load_mnist(dtype=np.float32)
    x, y = ex.standardise(data.train.images[:limit]), data.train.labels[:limit]
    order = np.random.default_rng(0).permutation(len(x))
    lr, momentum, batch = ex.LR, ex.MOMENTUM, ex.BATCH

    def ours() -> tuple[float, float]:
        model = ex.LeNet(0)
        opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        begin = clock()
        ex.train_epoch(model, opt, x, y, order, batch)
        return since(begin)

    conv, images = nn.Conv2d(1, 16, 5, seed=0, dtype=np.float32), x[:32]
    rounds = {f"{EPOCH}: autograd_lite": ours, f"{CONV}: autograd_lite": conv_round(conv, images)}
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs() -> tuple[float, float]:
            model = torch_lenet(torch, ex.LeNet(0).state_dict())
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
            begin = clock()
            for k in range(0, len(order), batch):
                idx = torch.from_numpy(order[k : k + batch])
                loss = torch.nn.functional.cross_entropy(model(tx[idx]), ty[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            return since(begin)

        rounds[f"{EPOCH}: {TORCH}"] = theirs
        rounds[f"{CONV}: {TORCH}"] = conv_round(torch.nn.Conv2d(1, 16, 5), torch.from_numpy(images))
    return {"images": len(x), "steps": -(-len(x) // batch), "reps": reps,
            "results": common.compare(rounds, reps)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = common.setup(__doc__, argv, reps=(2, 5))
    r = measure(args.torch, args.reps, 2000 if args.quick else 8000)
    print(f"bench_cnn: {r['images']:,} images, {r['steps']} steps of 32 per epoch, float32; "
          f"medians of {args.reps} interleaved rounds")  # fmt: skip
    for what, unit, scale in ((EPOCH, "s", 1.0), (CONV, "ms", 1e3)):
        stats = {k: v for k, v in r["results"].items() if k.startswith(what)}
        common.ratio_table(f"{what}, ratios to {TORCH}", stats, f"{what}: {TORCH}", unit, scale)
    goals = common.goals_of(r["results"], [
        (f"{what} <= {limit}x {TORCH}", f"{what}: autograd_lite", f"{what}: {TORCH}", limit)
        for what, limit in ((EPOCH, 1.5), (CONV, 2.0))])  # fmt: skip
    return common.footer("bench_cnn", {"result": r}, args.notes, goals)


if __name__ == "__main__":
    raise SystemExit(main())
