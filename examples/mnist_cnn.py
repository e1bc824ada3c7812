"""A LeNet-style CNN on the 10,000 embedded MNIST digits: 8,000 to train, 2,000 to test.

    conv 5x5 (1 -> 6, padding 2) - ReLU - max-pool 2 - conv 5x5 (6 -> 16) - ReLU - max-pool 2
    - flatten (400) - linear 120 - ReLU - linear 84 - ReLU - linear 10 (logits)

trained with mini-batch SGD with momentum on the mean log-likelihood (softmax cross-entropy),
in float32, with PyTorch's default initialisation. The pixels are standardised (MNIST's mean and
standard deviation); each epoch sees every training image shifted by up to 2 pixels each way
(a fresh random shift per image and epoch: 8,000 images are few); the learning rate drops
tenfold every 8 epochs (``optim.lr_scheduler.StepLR``). Each epoch prints the CLI's line
(``Epoch j: correct / total (acc%) seconds``) after a tqdm progress bar.

Run: ``python examples/mnist_cnn.py`` (12 epochs, seed 0; ``--help`` for the options).
The state_dict's keys and shapes are those of the same ``torch.nn`` module (``conv1.weight``
``(6, 1, 5, 5)`` ... ``fc3.bias`` ``(10,)``).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from typing import Any

import numpy as np

import autograd_lite as al
from autograd_lite import nn, optim

EPOCHS, BATCH, LR, MOMENTUM, DECAY_AT = 12, 32, 0.02, 0.9, 8
MEAN, STD, SHIFT = 0.1307, 0.3081, 2  # MNIST's pixel statistics; the largest shift in pixels


def standardise(images: np.ndarray) -> np.ndarray:
    """``(N, 784)`` pixels in [0, 1] as ``(N, 1, 28, 28)`` images of mean ~0 and std ~1."""
    return ((images - MEAN) / STD).astype(np.float32).reshape(-1, 1, 28, 28)


def shifted(images: np.ndarray, rng: np.random.Generator, pixels: int = SHIFT) -> np.ndarray:
    """Each image moved by a random whole number of pixels in [-pixels, pixels] on each axis,
    the background filling in (one vectorised copy per possible shift)."""
    side = 2 * pixels + 1
    padded = np.pad(images, ((0, 0), (0, 0), (pixels,) * 2, (pixels,) * 2),
                    constant_values=(0.0 - MEAN) / STD)  # fmt: skip
    moves = rng.integers(0, side, len(images)) * side + rng.integers(0, side, len(images))
    out = np.empty_like(images)
    for move in range(side * side):
        dy, dx = divmod(move, side)
        chosen = moves == move
        out[chosen] = padded[chosen, :, dy : dy + 28, dx : dx + 28]
    return out


class LeNet(nn.Module):
    """LeNet-5 with ReLU and max-pooling, on ``(N, 1, 28, 28)`` images; returns logits."""

    def __init__(self, seed: int = 0, dtype: Any = np.float32) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2, rng=rng, dtype=dtype)
        self.conv2 = nn.Conv2d(6, 16, 5, rng=rng, dtype=dtype)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120, rng=rng, dtype=dtype)
        self.fc2 = nn.Linear(120, 84, rng=rng, dtype=dtype)
        self.fc3 = nn.Linear(84, 10, rng=rng, dtype=dtype)

    def forward(self, x: Any) -> al.Tensor:
        x = self.pool(al.relu(self.conv1(x)))
        x = self.pool(al.relu(self.conv2(x)))
        x = self.flatten(x)  # (N, 400)
        x = al.relu(self.fc1(x))
        x = al.relu(self.fc2(x))
        return self.fc3(x)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> int:
    """The number of test images whose largest logit is the label."""
    correct = 0
    with al.no_grad():
        for k in range(0, len(images), batch):
            logits = model(images[k : k + batch]).data
            correct += int((logits.argmax(axis=1) == labels[k : k + batch]).sum())
    return correct


def train_epoch(model: nn.Module, optimizer: Any, images: np.ndarray, labels: np.ndarray,
                order: np.ndarray, batch: int = BATCH, progress: Any = None) -> None:  # fmt: skip
    """One epoch of mini-batch SGD over ``images[order]``; ``progress`` wraps the batch starts
    (a tqdm bar) if given."""
    starts: Any = range(0, len(order), batch)
    for k in starts if progress is None else progress(starts):
        idx = order[k : k + batch]
        loss = al.log_likelihood_cost(model(images[idx]), labels[idx], reduction="mean")
        model.zero_grad()
        loss.backward()
        optimizer.step()


def train(
    epochs: int = EPOCHS,
    seed: int = 0,
    batch: int = BATCH,
    lr: float = LR,
    momentum: float = MOMENTUM,
    limit: int | None = None,
    progress: bool = True,
    verbose: bool = True,
    decay_at: int = DECAY_AT,
    shift: bool = True,
) -> list[dict[str, Any]]:
    """Train a fresh :class:`LeNet` (seed ``seed``) and return one dict per epoch
    (``epoch``, ``correct``, ``total``, ``accuracy``, ``seconds``: the epoch's training time,
    the shifting of the images included, the evaluation not)."""
    data = al.datasets.load_mnist(dtype=np.float32)
    x_train, y_train = standardise(data.train.images[:limit]), data.train.labels[:limit]
    x_test, y_test = standardise(data.test.images), data.test.labels
    model = LeNet(seed)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=decay_at, gamma=0.1)
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        started = time.perf_counter()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = partial(tqdm, desc=f"Epoch {epoch}", unit="batch", leave=False)
        images = shifted(x_train, rng) if shift else x_train
        train_epoch(model, optimizer, images, y_train, rng.permutation(len(x_train)), batch, bar)
        scheduler.step()
        seconds = time.perf_counter() - started
        correct = evaluate(model, x_test, y_test)
        stats = {"epoch": epoch, "correct": correct, "total": len(y_test),
                 "accuracy": correct / len(y_test), "seconds": seconds}  # fmt: skip
        history.append(stats)
        if verbose:
            print(f"Epoch {epoch}: {correct} / {len(y_test)} ({100 * stats['accuracy']:.1f}%) "
                  f"{seconds:.1f}s", flush=True)  # fmt: skip
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default: {EPOCHS}")
    parser.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"default: {BATCH}")
    parser.add_argument("--lr", type=float, default=LR, help=f"default: {LR}")
    parser.add_argument("--momentum", type=float, default=MOMENTUM, help=f"default: {MOMENTUM}")
    parser.add_argument("--decay-at", type=int, default=DECAY_AT, help="lr x0.1 every N epochs")
    parser.add_argument("--no-shift", action="store_true", help="train on the images unmoved")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    finals = []
    for seed in args.seed:
        shifts = "unshifted" if args.no_shift else f"shifts up to {SHIFT} px"
        print(f"LeNet, seed {seed}: {args.epochs} epochs, mini-batch {args.batch}, lr {args.lr} "
              f"(x0.1 every {args.decay_at} epochs), momentum {args.momentum}, {shifts}, "
              "float32")  # fmt: skip
        history = train(args.epochs, seed, args.batch, args.lr, args.momentum, args.limit,
                        not args.no_progress, True, args.decay_at, not args.no_shift)  # fmt: skip
        if history:
            finals.append(history[-1]["accuracy"])
    if len(finals) > 1:
        print("Final test accuracies: " + ", ".join(f"{100 * a:.2f}%" for a in finals)
              + f"; median {100 * float(np.median(finals)):.2f}%")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
