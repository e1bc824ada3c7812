r"""Hessian-vector products of a small network's loss, checked against finite differences.

For a loss :math:`C(\theta)` of the flat parameter vector :math:`\theta`, ``al.hvp(C, θ, v)``
returns :math:`H v = \nabla_\theta (\nabla_\theta C \cdot v)` by two reverse passes (the first
recorded with ``create_graph=True``), never forming the Hessian. Here:

1. ``al.hvp`` on the loss of a [784, h, 10] tanh network on a few digits, against the central
   difference of gradients :math:`(\nabla C(\theta + \varepsilon v) - \nabla C(\theta -
   \varepsilon v)) / 2\varepsilon`;
2. the same product from an ``al.nn`` model, by ``backward(create_graph=True)`` on its
   parameters;
3. power iteration with Hessian-vector products: the eigenvalue of :math:`H` largest in
   magnitude; when it is the largest positive one, :math:`\lambda_{max}`, it bounds the stable
   learning rate of gradient descent, :math:`\eta < 2 / \lambda_{max}`.

Run::

    python examples/hessian_vector_product.py
    python examples/hessian_vector_product.py --quick
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
from autograd_lite import nn
from autograd_lite.datasets import load_mnist


def make_loss(model: nn.Sequential, x: np.ndarray, labels: np.ndarray):
    """The model's mean log-likelihood loss as a function of one flat parameter vector."""
    shapes = [p.shape for p in model.parameters()]
    sizes = [int(np.prod(s)) for s in shapes]

    def loss(theta: al.Tensor) -> al.Tensor:
        pieces, start = [], 0
        for shape, size in zip(shapes, sizes):
            pieces.append(theta[start : start + size].reshape(shape))
            start += size
        w1, b1, w2, b2 = pieces
        z = al.tanh(x @ w1.T + b1) @ w2.T + b2  # the same computation as model(x)
        return al.log_likelihood_cost(z, labels, reduction="mean")

    return loss


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def module_hvp(model: nn.Sequential, x, labels, v: np.ndarray) -> np.ndarray:
    """H v through the module: gradients with create_graph, then backward of ⟨∇C, v⟩."""
    params = model.parameters()
    cost = al.log_likelihood_cost(model(x), labels, reduction="mean")
    grads = al.gradients(cost, params, create_graph=True)
    start, dot = 0, 0.0
    for g, p in zip(grads, params):
        dot = dot + (g * v[start : start + p.data.size].reshape(p.shape)).sum()
        start += p.data.size
    model.zero_grad()
    dot.backward()
    return flat(p.grad for p in params)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=30, help="power-iteration steps")
    parser.add_argument("--quick", action="store_true", help="20 digits, h = 8, 5 iterations")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.hidden, args.iterations = 20, 8, 5

    data = load_mnist()
    x, labels = data.train.images[: args.samples], data.train.labels[: args.samples]
    model = nn.Sequential(
        nn.Linear(784, args.hidden, init="normalized", seed=0),
        nn.Tanh(),
        nn.Linear(args.hidden, 10, init="normalized", seed=1),
    )
    theta = flat(p.data for p in model.parameters())
    loss = make_loss(model, x, labels)
    print(f"{len(x)} digits, [784, {args.hidden}, 10] tanh network, {theta.size} parameters")

    rng = np.random.default_rng(0)
    v = rng.standard_normal(theta.size)
    v /= np.linalg.norm(v)
    hv = al.hvp(loss, theta, v)
    eps = 1e-5
    grad = al.grad(loss)
    fd = (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)
    fd_error = float(np.linalg.norm(hv - fd) / np.linalg.norm(fd))
    print(f"|Hv| = {np.linalg.norm(hv):.6f}, vᵀHv = {v @ hv:.6f}")
    print(f"al.hvp vs finite differences of gradients: relative error {fd_error:.2e}")

    via_module = module_hvp(model, x, labels, v)
    module_error = float(np.linalg.norm(via_module - hv) / np.linalg.norm(hv))
    print(f"nn module with create_graph vs al.hvp: relative error {module_error:.2e}")

    u = rng.standard_normal(theta.size)
    eigenvalue = 0.0
    for _ in range(args.iterations):
        u /= np.linalg.norm(u)
        hu = al.hvp(loss, theta, u)
        eigenvalue = float(u @ hu)  # Rayleigh quotient
        u = hu
    line = f"power iteration ({args.iterations} steps): λ of largest |λ| ≈ {eigenvalue:.4f}"
    if eigenvalue > 0:
        line += f"; gradient descent here is stable for η < 2/λ ≈ {2 / eigenvalue:.3f}"
    print(line)
    return {"fd_error": fd_error, "module_error": module_error, "eigenvalue": eigenvalue}


if __name__ == "__main__":
    main()
