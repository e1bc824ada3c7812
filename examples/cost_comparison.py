"""Quadratic cost + standard init vs cross-entropy + normalized init (Nielsen, chapter 3).

Two [784, 30, 10] sigmoid networks, built from ``al.nn`` and trained with ``al.optim.SGD`` on the
same mini-batches (size 10) of the embedded digits:

* chapter 1's setup: quadratic cost, weights and biases N(0, 1), eta = 3.0;
* chapter 3's setup: cross-entropy cost, weights N(0, 1/n_in) and biases N(0, 1), eta = 0.5.

Both accuracies are printed after every epoch. Run::

    python examples/cost_comparison.py              # 10 epochs, 8,000 train / 2,000 test
    python examples/cost_comparison.py --epochs 3
    python examples/cost_comparison.py --quick      # a few seconds: 500 / 300 samples, 2 epochs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import autograd_lite as al
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import autograd_lite as al
from autograd_lite import nn, optim
from autograd_lite.datasets import load_mnist

SETUPS = {
    # name: (cost, init, eta)
    "quadratic+standard": ("quadratic", "standard", 3.0),
    "cross-entropy+normalized": ("cross-entropy", "normalized", 0.5),
}


def build(sizes: list[int], init: str, seed: int) -> nn.Sequential:
    """A sigmoid network: Linear, Sigmoid, Linear, Sigmoid, ... drawn from one generator."""
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, init=init, rng=rng), nn.Sigmoid()]
    return nn.Sequential(*layers)


def batch_cost(model: nn.Sequential, cost: str, x: np.ndarray, y: np.ndarray) -> al.Tensor:
    """The mini-batch cost, summed over its samples (the chapter's convention)."""
    if cost == "quadratic":
        return al.quadratic_cost(model(x), y)
    # Cross-entropy from z^L (the model without its last sigmoid): stable, and δᴸ = a − y.
    return al.cross_entropy_cost(model[:-1](x), y, logits=True)


def accuracy(model: nn.Sequential, images: np.ndarray, labels: np.ndarray) -> float:
    with al.no_grad():
        out = model(images).data
    return float(np.mean(out.argmax(axis=1) == labels))


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--train", type=int, default=None, help="training samples (8000)")
    parser.add_argument("--test", type=int, default=None, help="test samples (2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="500 / 300 samples, 2 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train, args.test = 2, args.train or 500, args.test or 300

    data = load_mnist()
    x_train, labels_train = data.train.images[: args.train], data.train.labels[: args.train]
    x_test, labels_test = data.test.images[: args.test], data.test.labels[: args.test]
    y_train = np.eye(10)[labels_train]
    n, m = len(x_train), args.batch_size
    print(f"{n} training / {len(x_test)} test digits, mini-batch {m}, {args.epochs} epoch(s)")

    runs = {}
    for name, (cost, init, eta) in SETUPS.items():
        model = build([784, 30, 10], init, args.seed)
        runs[name] = (model, cost, optim.SGD(model.parameters(), lr=eta))
        print(f"  {name}: eta = {eta}")

    history: dict[str, list[float]] = {name: [] for name in SETUPS}
    shuffle = np.random.default_rng(args.seed + 1)
    for epoch in range(args.epochs):
        order = shuffle.permutation(n)  # the same mini-batches for both networks
        start = time.perf_counter()
        for k in range(0, n, m):
            idx = order[k : k + m]
            for model, cost, opt in runs.values():
                opt.zero_grad()
                batch_cost(model, cost, x_train[idx], y_train[idx]).backward()
                opt.step(batch_size=len(idx))  # w <- w - (eta/m) sum_x grad C_x
        seconds = time.perf_counter() - start
        parts = []
        for name, (model, _, _) in runs.items():
            acc = accuracy(model, x_test, labels_test)
            history[name].append(acc)
            parts.append(f"{name} {100 * acc:.2f}%")
        print(f"Epoch {epoch}: " + " | ".join(parts) + f"  ({seconds:.1f}s)")

    if args.epochs:
        final = ", ".join(f"{name} {100 * acc[-1]:.2f}%" for name, acc in history.items())
        print(f"Final test accuracy: {final}")
    return history


if __name__ == "__main__":
    main()
