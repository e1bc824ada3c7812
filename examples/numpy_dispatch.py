r"""Plain NumPy that records: HIPS-autograd-style code (``import numpy as np`` inside ``f``) under
``al.grad``.

The loss below is written with NumPy's own functions only: ``np.tanh``, ``np.matmul``,
``np.max``, ``np.exp``, ``np.log``, ``np.sum``, ``np.mean`` … Called on arrays it is plain NumPy;
called on Tensors, NumPy hands each call to autograd_lite, which records it as the matching op,
so ``al.grad(loss)`` differentiates it unchanged. The example

1. checks the gradient against central differences (``al.testing.gradcheck``),
2. trains the two-layer tanh network by gradient descent on a toy problem,
3. shows what is refused, with the error's one line: a NumPy function without a derivative rule
   (``np.sin``), ``out=``, ``np.asarray`` of a tensor that requires grad,
4. gives ``np.sin`` a derivative rule with ``al.primitive``, and differentiates it.

Run::

    python examples/numpy_dispatch.py
    python examples/numpy_dispatch.py --quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

try:
    import autograd_lite as al
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import autograd_lite as al

from autograd_lite.errors import AutogradLiteError
from autograd_lite.testing import gradcheck


def predict(params: dict[str, Any], x: np.ndarray) -> Any:
    """Logits of a tanh network, samples as rows: NumPy only, as in HIPS autograd."""
    hidden = np.tanh(np.matmul(x, params["w1"]) + params["b1"])
    return np.matmul(hidden, params["w2"]) + params["b2"]


def loss(w1: Any, b1: Any, w2: Any, b2: Any, x: np.ndarray, labels: np.ndarray) -> Any:
    """Mean cross-entropy of softmax(logits), computed stably with a max shift."""
    logits = predict({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, x)
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def loss_of(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> Any:
    w1, b1, w2, b2 = params
    return loss(w1, b1, w2, b2, x, labels)


@al.primitive
def sin(x: np.ndarray) -> np.ndarray:
    """``np.sin`` with a derivative rule: the forward runs on arrays."""
    return np.sin(x)


sin.defvjp(lambda g, out, x: g * np.cos(x))  # ∂C/∂x = g ⊙ cos x (a plain backward: arrays)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and steps")
    args = parser.parse_args(argv)
    n, steps = (40, 150) if args.quick else (200, 600)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(np.intp)  # XOR-like: needs the hidden layer
    params = [rng.normal(size=(2, 8)), np.zeros(8), rng.normal(size=(8, 2)) * 0.5, np.zeros(2)]
    results: dict[str, Any] = {}

    # 1. The gradient of plain-NumPy code against central differences.
    leaves = [al.Tensor(p, requires_grad=True) for p in params]
    results["gradcheck"] = gradcheck(lambda w1, b1, w2, b2: loss(w1, b1, w2, b2, x, labels), leaves)
    print(f"gradcheck of the NumPy-written loss: {'passed' if results['gradcheck'] else 'FAILED'}")

    # 2. Gradient descent with al.grad, the loss unchanged; on arrays it is still plain NumPy.
    grad = al.grad(loss, argnums=(0, 1, 2, 3))
    first = loss_of(params, x, labels)
    for _ in range(steps):
        grads = grad(*[al.Tensor(p) for p in params], x, labels)
        params = [p - 0.5 * g for p, g in zip(params, grads)]
    last = loss_of(params, x, labels)
    accuracy = float(np.mean(np.argmax(predict(dict(zip(("w1", "b1", "w2", "b2"), params)), x), 1)
                             == labels))  # fmt: skip
    print(f"loss (plain NumPy, {type(last).__name__}): {first:.3f} -> {last:.3f} after {steps} "
          f"steps; training accuracy {accuracy:.0%}")  # fmt: skip
    results["loss_before"], results["loss_after"], results["accuracy"] = first, last, accuracy

    # 3. What is refused, each with one line saying what to do.
    t = al.Tensor([0.5, 1.0], requires_grad=True)
    refused = {
        "np.sin(t)": lambda: np.sin(t),
        "np.exp(t, out=a)": lambda: np.exp(t, out=np.zeros(2)),
        "np.asarray(t)": lambda: np.asarray(t),
    }
    for what, call in refused.items():
        try:
            call()
        except AutogradLiteError as error:
            print(f"{what} -> {type(error).__name__}: {error}")
            results[what] = type(error).__name__

    # 4. The fix for np.sin: a primitive with its vjp.
    out = sin(t).sum()
    out.backward()
    results["sin_grad_error"] = float(np.abs(t.grad - np.cos(t.detach().numpy())).max())
    print(f"al.primitive sin: |grad - cos t| = {results['sin_grad_error']:.1e}")
    return results


if __name__ == "__main__":
    main()
