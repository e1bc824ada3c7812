r"""Backpropagation by hand: the four equations of chapter 2, in NumPy.

The network of chapter 2 of Nielsen's *Neural Networks and Deep Learning*, every line of whose
gradient computation traces to one of the four equations of backpropagation ($\odot$ the
elementwise product, $\sigma$ the sigmoid, $L$ the output layer):

$$\begin{aligned}
\text{(BP1)}\quad \delta^L &= \nabla_a C \odot \sigma'(z^L) \\
\text{(BP2)}\quad \delta^l &= \big((w^{l+1})^T \delta^{l+1}\big) \odot \sigma'(z^l) \\
\text{(BP3)}\quad \frac{\partial C}{\partial b^l_j} &= \delta^l_j \\
\text{(BP4)}\quad \frac{\partial C}{\partial w^l_{jk}} &= a^{l-1}_k \delta^l_j
\qquad\text{i.e.}\qquad \nabla_{w^l} C = \delta^l (a^{l-1})^T
\end{aligned}$$

where $z^l = w^l a^{l-1} + b^l$, $a^l = \sigma(z^l)$ and $\delta^l = \partial C / \partial z^l$ is
the *error* of layer $l$.

Vectors are columns. ``weights[i]`` is $w^{i+2}$, ``(sizes[i+1], sizes[i])``, and
``biases[i]`` is $b^{i+2}$, ``(sizes[i+1], 1)`` (the book numbers the input layer 1). The
same network trained through the autodiff graph is `Network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import TrainingError
from .common import NetworkBase

__all__ = ["sigmoid", "sigmoid_prime", "QuadraticCost", "CrossEntropyCost", "COSTS", "get_cost"]
__all__ += ["ManualNetwork"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""The sigmoid $\sigma(z) = 1 / (1 + e^{-z})$, elementwise, without overflow: as
    $1/(1+e^{-|z|})$ for $z \ge 0$ and $e^{-|z|}/(1+e^{-|z|})$ for $z < 0$
    (``z = -1000`` gives ``0.0``, no warning). The dtype of ``z`` is kept."""
    e = np.exp(-np.abs(z))  # e^{-|z|}, in (0, 1]
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    r"""Derivative of the sigmoid, $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$."""
    s = sigmoid(z)
    return s * (1.0 - s)


class QuadraticCost:
    r"""The quadratic cost $C_x = \tfrac12 \|y - a^L\|^2$ (as in the book's network2.py).

    On matrices whose columns are samples, `fn()` is the sum $\sum_x C_x$."""

    name = "quadratic"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        r"""$\sum_x \tfrac12 \|y(x) - a^L(x)\|^2$ (one sample if ``a`` is one column)."""
        d = a - y
        return 0.5 * float(np.vdot(d, d))

    @staticmethod
    def derivative(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""$\nabla_a C_x = a^L - y$."""
        return a - y

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""Output error, BP1: $\delta^L = (a^L - y) \odot \sigma'(z^L)$, with
        $\sigma'(z) = a(1 - a)$ from the activation ``a`` (no second sigmoid)."""
        return (a - y) * (a * (1.0 - a))


class CrossEntropyCost:
    r"""The cross-entropy cost $C_x = -\sum_j [y_j \ln a^L_j + (1 - y_j)\ln(1 - a^L_j)]$.

    Summed over the columns of a matrix. With sigmoid outputs BP1 has no $\sigma'$
    factor, $\delta^L = a^L - y$: learning does not slow down when an output saturates."""

    name = "cross-entropy"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        r"""$-\sum [y \ln a + (1-y)\ln(1-a)]$; a term $0 \cdot \ln 0$ counts as 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = -y * np.log(a) - (1.0 - y) * np.log1p(-a)
        return float(np.sum(np.nan_to_num(terms, nan=0.0, posinf=np.inf)))

    @staticmethod
    def derivative(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""$\nabla_a C_x = (a^L - y) / (a^L (1 - a^L))$."""
        return (a - y) / (a * (1.0 - a))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""Output error, BP1 simplified: $\delta^L = a^L - y$ (the denominator
        $a(1-a)$ of $\nabla_a C$ cancels $\sigma'(z) = a(1-a)$)."""
        return a - y


#: Cost classes by the names the networks accept.
COSTS: dict[str, Any] = {"quadratic": QuadraticCost, "cross-entropy": CrossEntropyCost}


def get_cost(cost: Any) -> Any:
    """The cost class for ``"quadratic"`` or ``"cross-entropy"`` (a cost class passes through);
    a ``TrainingError`` for any other cost."""
    if isinstance(cost, str):
        key = cost.lower().replace("_", "-")
        cost = COSTS.get("cross-entropy" if key == "crossentropy" else key, cost)
    if cost in COSTS.values():
        return cost
    raise TrainingError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")


class ManualNetwork(NetworkBase):
    r"""A sigmoid network trained by SGD with backpropagation written out as BP1-BP4.

    ``sizes``: neurons per layer, input first, e.g. ``[784, 30, 10]``. ``seed`` seeds the
    initial $\mathcal N(0,1)$ parameters and the shuffling in `SGD()` (a
    [`Network`][autograd_lite.nielsen.network.Network] with the same seed starts from the same
    parameters and shuffles the same way). ``dtype``: ``np.float64`` or ``np.float32``, kept
    throughout. ``cost``: ``"quadratic"`` or ``"cross-entropy"`` (kept as its class). With
    ``matrix``, `SGD()` uses `update_mini_batch_matrix()` instead of the chapter's loop
    over the samples (``SGD(..., matrix=)`` chooses per call). ``biases[i]`` and
    ``weights[i]`` belong to layer ``i + 2``; training updates them in place.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        dtype: Any = np.float64,
        cost: Any = "quadratic",
        matrix: bool = False,
    ) -> None:
        super().__init__(sizes, seed, dtype, get_cost(cost))
        self.matrix = bool(matrix)

    def _feedforward(self, a: np.ndarray) -> np.ndarray:
        for b, w in zip(self.biases, self.weights, strict=True):
            a = sigmoid(w @ a + b)
        return a

    def _sgd_update(self, matrix: bool | None = None) -> Any:
        """`SGD()`'s step: ``matrix`` (default: the constructor's flag) selects
        `update_mini_batch_matrix()` over the chapter's per-sample loop (the same update)."""
        return self._update_matrix if (self.matrix if matrix is None else matrix) else self._update

    def _update(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        """The chapter's step: `backprop()` one sample (column) at a time, summed."""
        nabla_b = [np.zeros(b.shape, dtype=self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=self.dtype) for w in self.weights]
        for j in range(X.shape[1]):
            delta_nabla_b, delta_nabla_w = self.backprop(X[:, j : j + 1], Y[:, j : j + 1])
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
        self._step(nabla_b, nabla_w, eta / X.shape[1])

    def update_mini_batch_matrix(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        r"""The same step as `update_mini_batch()`, with the whole mini-batch at once.

        ``X`` ``(sizes[0], m)`` and ``Y`` ``(sizes[-1], m)`` hold the samples as columns;
        `backprop_matrix()` sums $\nabla C_x$ with one matrix product per layer.
        """
        self._update_matrix(*self._columns((X, Y)), eta)

    def _update_matrix(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        self._step(*self.backprop_matrix(X, Y), eta / X.shape[1])

    def _step(self, nabla_b: list[np.ndarray], nabla_w: list[np.ndarray], rate: float) -> None:
        r"""Gradient descent, in place: $w \to w - \frac{\eta}{m} \nabla_w$, same for b."""
        for p, g in zip(self.weights + self.biases, nabla_w + nabla_b, strict=True):
            g *= rate  # the nabla arrays are this step's own: scaled in place, no allocation
            p -= g

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The gradient $(\nabla_b C_x, \nabla_w C_x)$ for one training sample.

        ``x`` of shape ``(sizes[0], 1)`` (or ``(sizes[0],)``), ``y`` the desired output
        ``(sizes[-1], 1)``. Returns ``nabla_b, nabla_w``, layer by layer, shaped like
        ``biases`` and ``weights``. (Given several columns, the sums over them, as
        `backprop_matrix()`.)
        """
        x, y = self._columns((x, y))
        if x.shape[1] != 1:
            return self.backprop_matrix(x, y)
        # Filled in below, from the last layer back to the first.
        nabla_b: list[np.ndarray] = [np.empty(0)] * len(self.biases)
        nabla_w: list[np.ndarray] = [np.empty(0)] * len(self.weights)
        # 1. Feedforward, keeping every z^l and a^l.
        activation = x
        activations = [x]  # a^1, a^2, ..., a^L
        zs = []  # z^2, ..., z^L
        for b, w in zip(self.biases, self.weights, strict=True):
            z = w @ activation + b  # z^l = w^l a^{l-1} + b^l
            zs.append(z)
            activation = sigmoid(z)  # a^l = sigma(z^l)
            activations.append(activation)
        # 2. Output error.  BP1: delta^L = grad_a C (.) sigma'(z^L)
        delta = self.cost.delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta  # BP3: dC/db^L = delta^L
        nabla_w[-1] = delta @ activations[-2].T  # BP4: dC/dw^L = delta^L (a^{L-1})^T
        # 3. Backpropagate the error.  l counts layers from the end: l = 2 is the last hidden.
        for l in range(2, self.num_layers):
            sp = sigmoid_prime(zs[-l])
            # BP2: delta^l = ((w^{l+1})^T delta^{l+1}) (.) sigma'(z^l)
            delta = (self.weights[-l + 1].T @ delta) * sp
            nabla_b[-l] = delta  # BP3
            nabla_w[-l] = delta @ activations[-l - 1].T  # BP4
        return nabla_b, nabla_w

    def _errors(self, X: np.ndarray, Y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Feedforward the columns of ``X``, then BP1 and BP2 for all of them at once: the
        activations ``[a^1, ..., a^L]`` and errors ``[delta^2, ..., delta^L]``."""
        activations, zs = [X], []
        for b, w in zip(self.biases, self.weights, strict=True):
            # b (n_l, 1) broadcasts across the m columns: the same bias for every sample.
            zs.append(w @ activations[-1] + b)  # Z^l = w^l A^{l-1} + b^l, one matmul for all
            activations.append(sigmoid(zs[-1]))
        deltas = [self.cost.delta(zs[-1], activations[-1], Y)]  # BP1, one column per sample
        for l in range(2, self.num_layers):
            a = activations[-l]
            # BP2, all samples at once; sigma'(z^l) = a^l (1 - a^l) reuses the stored activation.
            deltas.append((self.weights[-l + 1].T @ deltas[-1]) * (a * (1.0 - a)))
        return activations, deltas[::-1]

    def backprop_matrix(
        self, X: np.ndarray, Y: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The summed gradient $\sum_x (\nabla_b C_x, \nabla_w C_x)$ of a mini-batch.

        The chapter's exercise: the samples are the columns of ``X`` ``(sizes[0], m)`` and ``Y``
        ``(sizes[-1], m)``, and each equation acts on all of them at once. BP3 becomes a sum of
        $\delta^l$ over the columns; BP4's product $\delta^l (A^{l-1})^T$ sums
        $\delta^l_x (a^{l-1}_x)^T$ over the samples by itself. Returns ``nabla_b,
        nabla_w``, shaped like ``biases`` and ``weights``.
        """
        activations, deltas = self._errors(*self._columns((X, Y)))
        nabla_b = [d.sum(axis=1, keepdims=True) for d in deltas]  # BP3, summed over samples
        nabla_w = [d @ a.T for d, a in zip(deltas, activations[:-1], strict=True)]  # BP4
        return nabla_b, nabla_w

    def deltas(self, X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
        r"""The error $\delta^l = \partial C / \partial z^l$ of every layer ``l = 2..L``.

        ``X`` ``(sizes[0], m)``, ``Y`` ``(sizes[-1], m)``. Returns ``[delta^2, ..., delta^L]``,
        each ``(sizes[l], m)``: column ``j`` is the error for sample ``j`` alone.
        """
        return self._errors(*self._columns((X, Y)))[1]
