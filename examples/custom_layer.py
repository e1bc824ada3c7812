r"""A custom layer: a highway layer written as an ``al.nn.Module``, trained on the digits.

A highway layer (Srivastava, Greff & Schmidhuber, 2015) lets each unit choose between a new
value and the value it was given, through a learned gate:

.. math:: h = \tanh(x W_h^\top + b_h), \quad t = \sigma(x W_t^\top + b_t), \quad
          y = t \odot h + (1 - t) \odot x.

Its ``forward`` is those three lines in Tensor operations; no derivative is written anywhere.
The gradients come from the graph, and a gradient check confirms them. The model trains through
``al.compile(model)``: its graph is recorded once per input shape and then runs as one fused
node, whose gradients are bitwise those of the eager graph (checked below); ``--eager`` trains
without it. Run::

    python examples/custom_layer.py            # 3 epochs on the 8,000 embedded training digits
    python examples/custom_layer.py --quick    # a few seconds: 600 / 300 digits, 2 epochs
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


class Highway(nn.Module):
    r"""``y = t ⊙ tanh(x W_hᵀ + b_h) + (1 − t) ⊙ x`` with the gate ``t = σ(x W_tᵀ + b_t)``.

    Parameters
    ----------
    n : int
        Width (input and output).
    gate_bias : float, default -1.0
        Initial :math:`b_t`: negative, so the layer starts close to the identity (carry).
    rng : numpy.random.Generator, optional
    """

    def __init__(self, n: int, gate_bias: float = -1.0, rng: np.random.Generator | None = None):
        super().__init__()
        self.transform = nn.Linear(n, n, init="normalized", rng=rng)
        self.gate = nn.Linear(n, n, init="normalized", rng=rng)
        self.gate.bias.data[:] = gate_bias

    def forward(self, x):
        h = al.tanh(self.transform(x))
        t = al.sigmoid(self.gate(x))
        return t * h + (1 - t) * x

    def extra_repr(self) -> str:
        return f"width={self.transform.in_features}"


def build(seed: int, hidden: int = 30, depth: int = 2) -> nn.Sequential:
    """784 -> hidden (tanh) -> ``depth`` highway layers -> 10 logits (softmax in the cost)."""
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = [nn.Linear(784, hidden, init="normalized", rng=rng), nn.Tanh()]
    layers += [Highway(hidden, rng=rng) for _ in range(depth)]
    layers.append(nn.Linear(hidden, 10, init="normalized", rng=rng))
    return nn.Sequential(*layers)


def check_gradients(seed: int = 0) -> float:
    """Largest |autodiff − central difference| over a small highway layer's parameters."""
    rng = np.random.default_rng(seed)
    layer = Highway(4, rng=rng)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer.zero_grad()
    al.quadratic_cost(layer(x), y).backward()
    worst = 0.0
    eps = 1e-6
    for p in layer.parameters():
        for i in np.ndindex(p.shape):
            old = p.data[i]
            p.data[i] = old + eps
            up = al.quadratic_cost(layer(x), y).item()
            p.data[i] = old - eps
            down = al.quadratic_cost(layer(x), y).item()
            p.data[i] = old
            worst = max(worst, abs(p.grad[i] - (up - down) / (2 * eps)))
    return worst


def check_compiled(seed: int = 0) -> bool:
    """Whether ``al.compile(model)`` gives the eager graph's loss and gradients bitwise."""
    model = build(seed, hidden=8)
    x = np.random.default_rng(seed).normal(size=(5, 784))
    labels = np.arange(5)
    results = []
    for run in (model, al.compile(model, fullgraph=True)):
        model.zero_grad()
        loss = al.log_likelihood_cost(run(x), labels)
        loss.backward()
        results.append([loss.data.copy()] + [p.grad.copy() for p in model.parameters()])
    return all(np.array_equal(a, b) for a, b in zip(*results, strict=True))


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    with al.no_grad():
        return float(np.mean(model(images).data.argmax(axis=1) == labels))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--train", type=int, default=None)
    parser.add_argument("--test", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="600 / 300 digits, 2 epochs")
    parser.add_argument("--eager", action="store_true", help="train without al.compile")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train, args.test = 2, args.train or 600, args.test or 300

    print(f"Gradient check of Highway(4): max |autodiff - numeric| = {check_gradients():.2e}")
    print(f"al.compile gives the eager loss and gradients bitwise: {check_compiled()}")

    data = load_mnist()
    x_train, labels = data.train.images[: args.train], data.train.labels[: args.train]
    x_test, labels_test = data.test.images[: args.test], data.test.labels[: args.test]
    model = build(args.seed)
    print(model)
    print(f"{model.num_parameters()} parameters; {len(x_train)} training digits")

    run = model if args.eager else al.compile(model)  # one fused node per input shape
    opt = optim.SGD(model.parameters(), lr=args.eta)
    rng = np.random.default_rng(args.seed + 1)
    n, m = len(x_train), args.batch_size
    acc = accuracy(model, x_test, labels_test)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        order = rng.permutation(n)
        for k in range(0, n, m):
            idx = order[k : k + m]
            opt.zero_grad()
            al.log_likelihood_cost(run(x_train[idx]), labels[idx]).backward()  # softmax + LL
            opt.step(batch_size=len(idx))
        acc = accuracy(model, x_test, labels_test)
        print(f"Epoch {epoch}: test accuracy {100 * acc:.2f}% ({time.perf_counter() - start:.1f}s)")
    print(f"Final test accuracy: {100 * acc:.2f}%")
    return acc


if __name__ == "__main__":
    main()
