"""The floor of a define-by-run autodiff in CPython: a diagnostic, not a contender to beat.

One object per op, a heap-ordered backward calling one Python vjp per input, nothing else; the
library's σ and vjp kernels, so its weights stay bitwise equal to ``Network``'s.
"""

import itertools
from heapq import heappop, heappush
from typing import Any

import numpy as np

from autograd_lite.costs import _quadratic_vjp_a
from autograd_lite.ops import _sigmoid_vjp, _stable_sigmoid

_next = itertools.count().__next__


class Node:
    """An op's output: its value, the vjps of its inputs, the inputs, their arrays, its order."""

    __slots__ = ("data", "vjps", "inputs", "arrays", "seq")

    def __init__(self, data: np.ndarray, vjps: tuple = (), inputs: tuple = (), arrays: tuple = ()):
        self.data, self.vjps, self.inputs, self.arrays = data, vjps, inputs, arrays
        self.seq = _next()


# The numerical kernels are the library's own (the same σ and the same vjp products, so the
# arithmetic is identical by construction); only the recording and the traversal are minimal.
_MATMUL = (lambda g, out, a, b: g @ b.T, lambda g, out, a, b: a.T @ g)
_ADD = (lambda g, out, a, b: g, lambda g, out, a, b: g)
_SIGMOID, _QUADRATIC = (_sigmoid_vjp,), (_quadratic_vjp_a, None)


def matmul(w: Node, a: Any) -> Node:
    x = a.data if a.__class__ is Node else a
    return Node(w.data @ x, _MATMUL, (w, a), (w.data, x))


def add(a: Node, b: Node) -> Node:
    return Node(a.data + b.data, _ADD, (a, b), (a.data, b.data))


def sigmoid(z: Node) -> Node:
    return Node(_stable_sigmoid(z.data), _SIGMOID, (z,), (z.data,))


def quadratic_cost(a: Node, y: np.ndarray) -> Node:
    d = a.data - y
    return Node(np.asarray(0.5 * np.vdot(d, d)), _QUADRATIC, (a, y), (a.data, y))


def gradients(root: Node, leaves: list[Node]) -> list[np.ndarray]:
    """One reverse pass: the gradient of ``root`` for each leaf (no fan-out into leaves)."""
    pending, heap, found = {root: np.array(1, root.data.dtype)}, [(-root.seq, root)], {}
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        for index, arg in enumerate(node.inputs):
            if arg.__class__ is not Node:
                continue
            gi = node.vjps[index](g, node.data, *node.arrays)
            if gi.shape != arg.data.shape:  # the bias, broadcast over the mini-batch
                gi = gi.sum(axis=1, keepdims=True)
            if not arg.vjps:
                found[arg] = gi
            elif arg in pending:
                pending[arg] = pending[arg] + gi
            else:
                pending[arg] = gi
                heappush(heap, (-arg.seq, arg))
    return [found[x] for x in leaves]


class MinimalTapeNetwork:
    """The chapter's step through the minimal tape above (parameters updated in place)."""

    def __init__(self, biases: list[np.ndarray], weights: list[np.ndarray]) -> None:
        self.biases, self.weights = [np.array(b) for b in biases], [np.array(w) for w in weights]

    def step(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        bs, ws = [Node(b) for b in self.biases], [Node(w) for w in self.weights]
        a: Any = X
        for w, b in zip(ws, bs):
            a = sigmoid(add(matmul(w, a), b))
        grads, rate = gradients(quadratic_cost(a, Y), bs + ws), eta / X.shape[1]
        for p, g in zip(self.biases + self.weights, grads):
            g *= rate
            p -= g
