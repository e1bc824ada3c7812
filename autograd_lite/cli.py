"""The ``autograd-lite`` command (also ``python -m autograd_lite``).

``autograd-lite train``   trains the chapter's network through the autodiff graph, on the
                          embedded MNIST digits by default (or ``--data DIR``).
``autograd-lite compare`` prints, layer by layer, how far the autodiff gradients and errors δˡ
                          are from the hand-derived BP1–BP4, and the time of a step of each.
``autograd-lite explore`` writes the backprop explorer: one self-contained HTML page that steps
                          the backward pass of the network node by node, beside BP1–BP4.

Every user error (a missing folder, bad sizes, a non-positive η, a corrupt model file) ends in a
one-line message and a non-zero exit status, never a traceback.

Saving never loses the training:

- ``--save PATH`` is checked before anything else (the folder exists and accepts a file, PATH is
  not a folder): a doomed save fails at once, exit status 2.
- Ctrl-C (SIGINT) or SIGTERM during training saves the model as it is then to the sibling
  ``<stem>.interrupted<suffix>`` of PATH (``model.npz`` -> ``model.interrupted.npz``; PATH
  itself, perhaps a good earlier model, is left alone), says so in one line on stderr, and exits
  with 130 (SIGINT) or 143 (SIGTERM). Without ``--save`` nothing is saved.
- A saved model records its sizes, cost, η and dtype. ``--load`` trains on with all of them:
  an ``--eta`` given overrides the stored η; a ``--cost`` or ``--float32`` that differs from
  the model's is ignored, with a one-line note saying so; a different ``--sizes`` is an error.
  Models saved before η was stored train with ``--eta`` (default 3.0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autograd_lite.errors import AutogradLiteError

__all__ = ["main", "build_parser"]

PROG = "autograd-lite"


class UsageError(Exception):
    """A user error: reported in one line, exit status 2."""


class _Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that training stops as on Ctrl-C."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated


DEFAULT_ETA = 3.0


def _int_at_least(minimum: int) -> Any:
    """An argparse type: a whole number no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``autograd-lite`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Nielsen's chapter-2 network, trained by reverse-mode autodiff, beside the "
        "hand-derived backpropagation equations BP1-BP4.",
    )
    from autograd_lite import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train the network (embedded MNIST digits by default)",
        description="Train Nielsen's network with mini-batch SGD, gradients by autodiff.",
    )
    train.add_argument(
        "--sizes",
        type=_positive_int,
        nargs="+",
        default=None,
        metavar="N",
        help="layer sizes (default: 784 30 10)",
    )
    train.add_argument("--epochs", type=_non_negative_int, default=10, help="default: 10")
    train.add_argument(
        "--batch", type=_positive_int, default=10, help="mini-batch size m (default: 10)"
    )
    train.add_argument(
        "--eta",
        type=_positive_float,
        default=None,
        help=f"learning rate η (default: {DEFAULT_ETA}, or the --load model's)",
    )
    train.add_argument(
        "--cost",
        choices=("quadratic", "cross-entropy"),
        default=None,
        help="cost function (default: quadratic, or the --load model's)",
    )
    train.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder with the four MNIST-format IDX files (e.g. "
        "/usr/share/datasets/fashion-mnist); default: the embedded 10,000 digits",
    )
    train.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on the first N training samples only",
    )
    train.add_argument("--seed", type=int, default=0, help="initial weights and shuffling (0)")
    train.add_argument(
        "--float32", action="store_true", help="compute in float32 (a --load model keeps its own)"
    )
    train.add_argument(
        "--save",
        type=Path,
        default=None,
        metavar="MODEL.npz",
        help="save the trained model (.npz); on Ctrl-C or SIGTERM, save the model so far to "
        "MODEL.interrupted.npz",
    )
    train.add_argument(
        "--load",
        type=Path,
        default=None,
        metavar="MODEL.npz",
        help="start from a saved model, with its sizes, cost, dtype and η",
    )
    train.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="CURVE.png",
        help="draw accuracy and cost per epoch (needs matplotlib)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    compare = commands.add_parser(
        "compare",
        help="autodiff vs the hand-derived BP1-BP4: differences and timings",
        description="For one mini-batch of the embedded digits, print max |autodiff - manual| "
        "for every nabla_w, nabla_b and delta^l, and the time per step of each version.",
    )
    compare.add_argument(
        "--sizes",
        type=_positive_int,
        nargs="+",
        default=[784, 30, 10],
        metavar="N",
        help="layer sizes (default: 784 30 10)",
    )
    compare.add_argument(
        "--batch", type=_positive_int, default=10, help="mini-batch size (default: 10)"
    )
    compare.add_argument("--seed", type=int, default=0, help="initial weights (0)")
    compare.set_defaults(run=_compare)

    explore = commands.add_parser(
        "explore",
        help="write the backprop explorer (one HTML page): step the backward pass beside BP1-BP4",
        description="Write one self-contained HTML page (no network needed; open it from disk) "
        "that shows the network's graph and forward values and steps its backward pass one "
        "node at a time, with the errors delta^l and gradients of BP1-BP4 beside the graph's.",
    )
    explore.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("explorer.html"),
        metavar="FILE",
        help="the page to write (default: explorer.html)",
    )
    explore.add_argument(
        "--sizes",
        type=_sizes,
        nargs="+",
        default=None,
        metavar="N",
        help="layer sizes, e.g. 2,3,2 or 2 3 2 (default: 2 3 2; 784 30 10 with --digit)",
    )
    explore.add_argument(
        "--load", type=Path, default=None, metavar="MODEL.npz", help="a saved model to explore"
    )
    explore.add_argument(
        "--digit",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="one embedded MNIST test digit (index N) through a trained 784-30-10 network "
        "(trained here for a few seconds unless --load is given), with its picture",
    )
    explore.add_argument(
        "--batch", type=_positive_int, default=4, help="mini-batch size without --digit (4)"
    )
    explore.add_argument("--seed", type=int, default=0, help="initial weights and data (0)")
    explore.set_defaults(run=_explore)
    return parser


def _sizes(text: str) -> list[int]:
    """An argparse type for ``--sizes``: ``2,3,2`` (or one number of ``2 3 2``)."""
    return [_positive_int(part) for part in text.split(",") if part.strip()] or [
        _positive_int(text)
    ]


# -- train ------------------------------------------------------------------------------------
def _load_data(args: argparse.Namespace, dtype: Any) -> Any:
    from autograd_lite.datasets import load_mnist

    if args.data is not None and not args.data.is_dir():
        raise UsageError(f"--data {args.data}: no such folder")
    return load_mnist(args.data, dtype=dtype)


def _make_network(args: argparse.Namespace) -> Any:
    from autograd_lite.nielsen import Network

    if args.load is not None:
        network = Network.load(args.load, seed=args.seed)
        if args.sizes is not None and list(args.sizes) != list(network.sizes):
            raise UsageError(
                f"--sizes {' '.join(map(str, args.sizes))} does not match the loaded model's "
                f"sizes {' '.join(map(str, network.sizes))}"
            )
        if args.cost is not None and args.cost != network.cost.name:
            _note(f"--cost {args.cost} ignored: the loaded model uses the {network.cost.name} cost")
        if args.float32 and network.dtype != np.float32:
            _note(f"--float32 ignored: the loaded model computes in {network.dtype}")
        return network
    sizes = args.sizes or [784, 30, 10]
    dtype = np.float32 if args.float32 else np.float64
    return Network(sizes, seed=args.seed, dtype=dtype, cost=args.cost or "quadratic")


def _note(message: str) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


def _interrupted_path(path: Path) -> Path:
    """Where an interrupted training saves: ``model.npz`` -> ``model.interrupted.npz``."""
    return path.with_name(f"{path.stem}.interrupted{path.suffix}")


def _train(args: argparse.Namespace) -> int:
    if args.plot is not None:
        _require_matplotlib()
    if args.save is not None:
        from autograd_lite.checkpoint import check_save_path

        try:
            check_save_path(args.save)
            check_save_path(_interrupted_path(args.save))
        except AutogradLiteError as error:
            raise UsageError(f"--save {error}") from None
    network = _make_network(args)
    data = _load_data(args, network.dtype)
    n_features = data.train.images.shape[1]
    if network.sizes[0] != n_features or network.sizes[-1] != 10:
        raise UsageError(
            f"--sizes must start with {n_features} (pixels) and end with 10 (classes), got "
            f"{' '.join(map(str, network.sizes))}"
        )
    eta = args.eta if args.eta is not None else (network.eta or DEFAULT_ETA)
    train = data.train
    limit = len(train) if args.limit is None else min(args.limit, len(train))
    training = (train.images[:limit].T, train.labels[:limit])
    test = (data.test.images.T, data.test.labels)
    print(
        f"Training {network.sizes} with {network.cost.name} cost, η = {eta:g}, "
        f"mini-batch {args.batch}, {args.epochs} epochs, {limit} training / {len(data.test)} test "
        f"samples ({data.source}), {network.dtype}"
    )
    started = time.perf_counter()
    history: list[dict[str, Any]] = []
    try:
        network.SGD(
            training,
            args.epochs,
            args.batch,
            eta,
            test_data=test,
            progress=not args.no_progress,
            callback=lambda epoch, stats: history.append(stats),
        )
        elapsed = time.perf_counter() - started
        if args.save is not None:  # (an interrupt here saves to the .interrupted sibling)
            path = network.save(args.save)
    except (KeyboardInterrupt, _Terminated) as stop:
        return _stop_training(args, network, len(history), stop)
    if history:
        best = max(history, key=lambda h: h["accuracy"])
        last = history[-1]
        steps = len(history) * -(-limit // args.batch)
        step_us = 1e6 * sum(h["seconds"] for h in history) / steps
        print(
            f"Done: {last['correct']} / {last['total']} ({100 * last['accuracy']:.1f}%) after "
            f"{len(history)} epochs; best {100 * best['accuracy']:.1f}% at epoch "
            f"{best['epoch']}; {elapsed:.1f} s in all, {step_us:.0f} µs per mini-batch step"
        )
    else:
        correct = network.evaluate(test)
        print(f"No training (0 epochs): {correct} / {len(data.test)} correct")
    if args.save is not None:
        print(f"Saved the model to {path}")
    if args.plot is not None and history:
        _plot(history, args.plot)
        print(f"Drew the learning curves in {args.plot}")
    return 0


def _stop_training(args: argparse.Namespace, network: Any, epochs: int, stop: BaseException) -> int:
    """Ctrl-C or SIGTERM during training: save the model so far (with --save), say so in one
    line, and return 130 or 143."""
    what, status = ("terminated", 143) if isinstance(stop, _Terminated) else ("interrupted", 130)
    message = f"{what} after {epochs} complete epochs"
    if args.save is not None:
        path = _interrupted_path(args.save)
        try:
            network.save(path)
            message += f"; saved the model so far to {path}"
        except AutogradLiteError as error:
            message += f"; the model was not saved: {error}"
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'autograd_lite[plot]'") from None


def _plot(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [100 * h["accuracy"] for h in history], marker="o")
    left.set_xlabel("epoch")
    left.set_ylabel("test accuracy (%)")
    left.grid(alpha=0.3)
    costs = [h["cost"] for h in history]
    if all(c is not None for c in costs):
        right.plot(epochs, costs, marker="o", color="tab:red")
    right.set_xlabel("epoch")
    right.set_ylabel("training cost (per sample)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


# -- compare ----------------------------------------------------------------------------------
def _compare(args: argparse.Namespace) -> int:
    from autograd_lite.datasets import load_mnist
    from autograd_lite.nielsen import compare

    sizes = list(args.sizes)
    batch = None
    if sizes[0] == 784 and sizes[-1] == 10:
        train = load_mnist().train
        rows = slice(0, args.batch)
        batch = (train.images[rows].T, train.one_hot()[rows].T)
    report = compare(sizes, batch=batch, seed=args.seed, mini_batch_size=args.batch)
    print(report)
    return 0


# -- explore ----------------------------------------------------------------------------------
def _explore(args: argparse.Namespace) -> int:
    from autograd_lite.viz.explore import chapter_example, write_page

    sizes = None if args.sizes is None else [n for group in args.sizes for n in group]
    if sizes is not None and len(sizes) < 2:
        raise UsageError("--sizes needs at least two layers, e.g. 2,3,2")
    if args.load is not None and not args.load.is_file():
        raise UsageError(f"--load {args.load}: no such file")
    if args.output.is_dir():
        raise UsageError(f"-o {args.output}: is a folder; give a file name, e.g. explorer.html")
    data = chapter_example(
        sizes, load=args.load, digit=args.digit, seed=args.seed, batch=args.batch
    )
    path = write_page(data, args.output)
    chapter = data["chapter"]
    print(
        f"Wrote {path} ({path.stat().st_size // 1024} KiB): {len(data['nodes'])} nodes, "
        f"{len(data['steps'])} backward steps; the largest difference between the graph and "
        f"BP1-BP4 is {chapter['max_difference']:.2e}. Open it in a browser."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return args.run(args)
    except _Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except (AutogradLiteError, ValueError, OSError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
