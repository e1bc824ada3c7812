r"""User-defined primitives: an op with its own vector-Jacobian product, checked numerically.

Two ops, in the two forms autograd_lite offers:

* ``softplus(x) = ln(1 + eˣ)`` with ``@al.primitive``: a NumPy forward, and a vjp
  ``g ⊙ σ(x)`` written with Tensor ops and declared ``differentiable=True``, so second
  derivatives work too (softplus″ = σ(1 − σ));
* a fused sigmoid-linear layer ``σ(x Wᵀ + b)`` as an ``al.Function`` subclass, whose backward
  is chapter 2's equations: δ = g ⊙ σ′(z) (BP1/BP2), ∂/∂x = δ W, ∂/∂W = δᵀ x (BP4),
  ∂/∂b = Σ_rows δ (BP3).

A gradient check compares each vjp with central differences; then a deliberately wrong vjp
(``g ⊙ softplus(x)`` instead of ``g ⊙ σ(x)``, a plausible slip) is shown to fail it. Run::

    python examples/custom_primitive.py
    python examples/custom_primitive.py --quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import autograd_lite as al
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import autograd_lite as al

from autograd_lite.testing import GradcheckError, gradcheck


# -- softplus: the decorator form ----------------------------------------------------------------
@al.primitive(differentiable=True)
def softplus(x):
    """``ln(1 + eˣ)``, computed as ``logaddexp(0, x)``: no overflow for large x."""
    return np.logaddexp(0.0, x)


# The vjp: ∂C/∂x = g ⊙ softplus′(x) = g ⊙ σ(x). Written with al.sigmoid, it runs on arrays in a
# plain backward and is recorded on Tensors under create_graph=True (second derivatives).
softplus.defvjp(lambda g, out, x: g * al.sigmoid(x))


@al.primitive(name="softplus_wrong")
def softplus_wrong(x):
    return np.logaddexp(0.0, x)


softplus_wrong.defvjp(lambda g, out, x: g * out)  # wrong: softplus(x) is not its derivative


# -- a fused sigmoid-linear layer: the class form ------------------------------------------------
class SigmoidLinear(al.Function):
    """``σ(x Wᵀ + b)`` in one op, samples as rows."""

    differentiable = True  # backward uses only Tensor-friendly operations on saved inputs/outputs

    @staticmethod
    def forward(ctx, x, w, b):
        out = 1.0 / (1.0 + np.exp(-(x @ w.T + b)))
        ctx.save_for_backward(x, w, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, out = ctx.saved_tensors
        delta = grad * out * (1 - out)  # δ = g ⊙ σ′(z)
        return delta @ w, delta.T @ x, delta.sum(axis=0)


def main(argv: list[str] | None = None) -> dict[str, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    args = parser.parse_args(argv)
    n = 4 if args.quick else 8
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)) * 3
    w, b = rng.normal(size=(3, 5)), rng.normal(size=3)
    results = {}

    # 1. Each vjp against central differences, alone and composed with built-in ops.
    results["softplus"] = gradcheck(softplus, [x])
    results["softplus composed"] = gradcheck(lambda x, w: al.tanh(softplus(x @ w.T)) * 2, [x, w])
    results["SigmoidLinear"] = gradcheck(SigmoidLinear.apply, [x, w, b])
    for name, ok in results.items():
        print(f"gradcheck {name}: {'passed' if ok else 'FAILED'}")

    # 2. Second derivatives through the differentiable vjp: softplus″ = σ(1 − σ).
    v = np.ones(n)
    hv = al.hvp(lambda t: softplus(t).sum(), x[:, 0], v)
    s = 1 / (1 + np.exp(-x[:, 0]))
    error = float(np.abs(hv - s * (1 - s)).max())
    print(f"Hessian-vector product of sum(softplus): max error vs σ(1 − σ) = {error:.1e}")
    results["second derivative"] = error < 1e-12

    # 3. The wrong vjp: gradcheck must catch it.
    try:
        gradcheck(softplus_wrong, [x])
    except GradcheckError as failure:
        caught = True
        print("wrong vjp caught by gradcheck:")
        print("    " + str(failure).replace("\n", "\n    "))
    else:
        caught = False
        print("wrong vjp NOT caught")
    results["wrong vjp caught"] = caught
    print("all checks passed" if all(results.values()) else "SOME CHECKS FAILED")
    return results


if __name__ == "__main__":
    main()
