"""Backpropagation as a sum over paths (Nielsen, chapter 2, "Backpropagation: the big picture").

A small graph with two inputs, a shared intermediate ``u`` used twice (fan-out), and ``x1`` used
twice. The gradient of ``C`` with respect to an input equals the sum, over every path from that
input to ``C``, of the product of the local derivatives along the path; the engine's reverse
sweep computes the same number while visiting each edge once. This script prints the paths,
checks the sum against ``backward()``, and draws the graph::

    python examples/big_picture.py                          # docs/img/big_picture.svg
    python examples/big_picture.py --out big_picture.dot    # the DOT text (no Graphviz needed)

``docs/backprop.md`` (section 2.9) runs the same code; ``tests/test_docs.py`` checks that the
two draw the same graph.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import autograd_lite as al
from autograd_lite import viz

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "big_picture.svg"


def build_graph() -> tuple[al.Tensor, al.Tensor, al.Tensor]:
    """C = σ(x1·x2)·x1 + tanh(x1·x2), with every node named; returns (C, x1, x2)."""
    x1 = al.Tensor(0.5, requires_grad=True, name="x1")
    x2 = al.Tensor(-1.5, requires_grad=True, name="x2")
    u = x1 * x2  # shared: feeds p and q
    p = al.sigmoid(u)
    q = al.tanh(u)
    r = p * x1  # x1 is used a second time
    C = r + q
    for tensor, name in ((u, "u"), (p, "p"), (q, "q"), (r, "r"), (C, "C")):
        tensor.name = name
    return C, x1, x2


def local_derivatives(node: al.Tensor):
    """Yield (input, ∂node/∂input) for each input of a one-element node that requires grad.

    Each is the op's own vjp evaluated with the upstream gradient 1: for scalars the
    vector-Jacobian product with 1 *is* the partial derivative.
    """
    op = node._op
    for i, arg in enumerate(node._args):
        if isinstance(arg, al.Tensor) and arg.requires_grad:
            vjp = op.vjps[i]
            yield arg, float(vjp(1.0, node.data, *node._arrays, **(node._params or {})))


def paths(node: al.Tensor, leaf: al.Tensor) -> list[tuple[list[str], float]]:
    """Every path from ``leaf`` up to ``node``: (the names along it, the product of derivatives)."""
    if node is leaf:
        return [([leaf.name], 1.0)]
    if node._op is None:
        return []
    found = []
    for arg, derivative in local_derivatives(node):
        for names, product in paths(arg, leaf):
            found.append((names + [node.name], product * derivative))
    return found


def render(dot_text: str, out: Path) -> Path:
    """Write ``dot_text`` to ``out``: as text for ``.dot``, else rendered by Graphviz ``dot``.

    Without Graphviz, writes the DOT text next to ``out`` (suffix ``.dot``) and says so.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = out.suffix.lstrip(".")
    if fmt == "dot" or shutil.which("dot") is None:
        if fmt != "dot":
            out = out.with_suffix(".dot")
            print("Graphviz `dot` not found: writing the DOT text instead", file=sys.stderr)
        out.write_text(dot_text + "\n", encoding="utf-8")
        return out
    subprocess.run(["dot", f"-T{fmt}", "-o", str(out)], input=dot_text, text=True, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="a .svg, .png or .dot file")
    args = parser.parse_args(argv)

    C, x1, x2 = build_graph()
    dot_text = viz.to_dot(C, name="big_picture", show_values=True)
    sums = {}
    for leaf in (x1, x2):
        found = paths(C, leaf)
        sums[leaf.name] = sum(product for _, product in found)
        print(f"∂C/∂{leaf.name}: {len(found)} paths")
        for names, product in found:
            print(f"  {' → '.join(names):<24} {product:+.6f}")
        print(f"  {'sum':<24} {sums[leaf.name]:+.6f}")
    C.backward()
    for leaf in (x1, x2):
        print(f"backward(): ∂C/∂{leaf.name} = {float(leaf.grad):+.6f}")
        if abs(float(leaf.grad) - sums[leaf.name]) > 1e-12:
            print(f"MISMATCH for {leaf.name}", file=sys.stderr)
            return 1
    written = render(dot_text, args.out)
    print(f"Wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
