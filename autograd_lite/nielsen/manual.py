r"""Backpropagation by hand: the four equations of chapter 2, in NumPy.

This is the network of chapter 2 of Michael Nielsen's *Neural Networks and Deep Learning*,
written so that every line of the gradient computation can be traced to one of the four
fundamental equations of backpropagation. With :math:`\odot` the elementwise (Hadamard)
product, :math:`\sigma` the sigmoid and :math:`L` the output layer:

.. math::

    \text{(BP1)}\quad \delta^L &= \nabla_a C \odot \sigma'(z^L) \\
    \text{(BP2)}\quad \delta^l &= \big((w^{l+1})^T \delta^{l+1}\big) \odot \sigma'(z^l) \\
    \text{(BP3)}\quad \frac{\partial C}{\partial b^l_j} &= \delta^l_j \\
    \text{(BP4)}\quad \frac{\partial C}{\partial w^l_{jk}} &= a^{l-1}_k \delta^l_j
    \qquad\text{i.e.}\qquad \nabla_{w^l} C = \delta^l (a^{l-1})^T

where :math:`z^l = w^l a^{l-1} + b^l`, :math:`a^l = \sigma(z^l)` and
:math:`\delta^l = \partial C / \partial z^l` is the *error* of layer :math:`l`.

Vectors are columns. ``weights[i]`` is :math:`w^{i+2}` of shape ``(sizes[i+1], sizes[i])`` and
``biases[i]`` is :math:`b^{i+2}` of shape ``(sizes[i+1], 1)`` (the book numbers the input layer
1, so the first layer with parameters is layer 2). A mini-batch is a matrix whose columns are
the samples.

The same network trained through the autodiff graph is
:class:`autograd_lite.nielsen.network.Network`; :func:`autograd_lite.nielsen.compare.compare`
shows the two agree to round-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import NetworkBase, is_array_pair, run_sgd

__all__ = [
    "sigmoid",
    "sigmoid_prime",
    "QuadraticCost",
    "CrossEntropyCost",
    "COSTS",
    "get_cost",
    "ManualNetwork",
]


# ---------------------------------------------------------------------------------------------
# The sigmoid
# ---------------------------------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""The sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`, elementwise, without overflow.

    Written as :math:`1/(1+e^{-|z|})` for :math:`z \ge 0` and :math:`e^{-|z|}/(1+e^{-|z|})` for
    :math:`z < 0`: the exponential is never of a positive number, so ``z = -1000`` gives ``0.0``
    and ``z = 1000`` gives ``1.0`` with no overflow warning. The dtype of ``z`` is kept.
    """
    e = np.exp(-np.abs(z))  # e^{-|z|}, in (0, 1]
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    r"""Derivative of the sigmoid, :math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z))`."""
    s = sigmoid(z)
    return s * (1.0 - s)


# ---------------------------------------------------------------------------------------------
# Costs (as in the book's network2.py)
# ---------------------------------------------------------------------------------------------


class QuadraticCost:
    r"""The quadratic cost :math:`C_x = \tfrac12 \|y - a^L\|^2`.

    Applied to matrices whose columns are samples, :meth:`fn` returns the sum over the samples,
    :math:`\sum_x C_x`.
    """

    name = "quadratic"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        r""":math:`\sum_x \tfrac12 \|y(x) - a^L(x)\|^2` (one sample if ``a`` is one column)."""
        d = a - y
        return 0.5 * float(np.vdot(d, d))

    @staticmethod
    def derivative(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r""":math:`\nabla_a C_x = a^L - y`."""
        return a - y

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""Output error, BP1: :math:`\delta^L = (a^L - y) \odot \sigma'(z^L)`.

        ``a`` is :math:`\sigma(z)`, so :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))` is
        computed as :math:`a(1 - a)` instead of evaluating the sigmoid again.
        """
        return (a - y) * (a * (1.0 - a))


class CrossEntropyCost:
    r"""The cross-entropy cost :math:`C_x = -\sum_j [y_j \ln a^L_j + (1 - y_j)\ln(1 - a^L_j)]`.

    Summed over the columns of a matrix. With sigmoid output neurons its BP1 needs no
    :math:`\sigma'` factor: :math:`\delta^L = a^L - y`, so learning does not slow down when an
    output neuron saturates.
    """

    name = "cross-entropy"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        r""":math:`-\sum [y \ln a + (1-y)\ln(1-a)]`; a term :math:`0 \cdot \ln 0` counts as 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = -y * np.log(a) - (1.0 - y) * np.log1p(-a)
        return float(np.sum(np.nan_to_num(terms, nan=0.0, posinf=np.inf)))

    @staticmethod
    def derivative(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r""":math:`\nabla_a C_x = (a^L - y) / (a^L (1 - a^L))`."""
        return (a - y) / (a * (1.0 - a))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""Output error, BP1 simplified: :math:`\delta^L = a^L - y`.

        In :math:`\delta^L = \nabla_a C \odot \sigma'(z^L)`, the denominator :math:`a(1-a)` of
        :math:`\nabla_a C` cancels :math:`\sigma'(z) = a(1-a)`.
        """
        return a - y


#: Cost classes by the names the networks accept.
COSTS: dict[str, type[QuadraticCost] | type[CrossEntropyCost]] = {
    "quadratic": QuadraticCost,
    "cross-entropy": CrossEntropyCost,
}


def get_cost(cost: Any) -> Any:
    """The cost class for ``"quadratic"`` or ``"cross-entropy"`` (a cost class passes through)."""
    if isinstance(cost, str):
        key = cost.lower().replace("_", "-")
        if key == "crossentropy":
            key = "cross-entropy"
        if key in COSTS:
            return COSTS[key]
    elif cost in COSTS.values():
        return cost
    raise ValueError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")


def _columns(a: Any, dtype: np.dtype) -> np.ndarray:
    """``a`` as a 2-D array of ``dtype`` (a 1-D vector becomes one column)."""
    a = np.asarray(a, dtype=dtype)
    return a.reshape(-1, 1) if a.ndim == 1 else a


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------


class ManualNetwork(NetworkBase):
    r"""A sigmoid network trained by SGD with backpropagation written out as BP1-BP4.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    seed : int or None
        Seeds the initial :math:`\mathcal N(0,1)` parameters and the shuffling in :meth:`SGD`.
        A :class:`~autograd_lite.nielsen.network.Network` with the same seed starts from the
        same parameters and shuffles the same way.
    dtype : numpy dtype
        ``np.float64`` (default) or ``np.float32``; kept throughout.
    cost : {"quadratic", "cross-entropy"}
        The cost function, see :class:`QuadraticCost` and :class:`CrossEntropyCost`.
    matrix : bool
        If true, :meth:`SGD` uses the fully matrix-based :meth:`update_mini_batch_matrix`
        instead of the chapter's loop over the samples of each mini-batch.

    Attributes
    ----------
    sizes, num_layers, cost, dtype, seed, matrix
        As given (``cost`` as its class).
    biases, weights : list of numpy.ndarray
        ``biases[i]`` and ``weights[i]`` belong to layer ``i + 2``. Training updates the arrays
        in place; assigning new lists is fine too.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        dtype: Any = np.float64,
        cost: Any = "quadratic",
        matrix: bool = False,
    ) -> None:
        self._init_common(sizes, seed, dtype)
        self.cost = get_cost(cost)
        self.matrix = bool(matrix)

    # -- feedforward ---------------------------------------------------------------------------

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        r"""The output :math:`a^L` for input ``a``: apply :math:`a \to \sigma(w a + b)` per layer.

        ``a`` is one column ``(sizes[0], 1)`` or a matrix ``(sizes[0], m)`` of columns.
        """
        a = _columns(a, self.dtype)
        for b, w in zip(self.biases, self.weights, strict=True):
            a = sigmoid(w @ a + b)
        return a

    # -- SGD -----------------------------------------------------------------------------------

    def SGD(  # noqa: N802 - the book's name
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        test_data: Any = None,
        *,
        matrix: bool | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        r"""Train with mini-batch stochastic gradient descent.

        As :meth:`autograd_lite.nielsen.common.NetworkBase.SGD` (same arguments and options:
        ``verbose``, ``progress``, ``callback``, ``monitor_cost``); ``matrix`` (default: the
        constructor's flag) selects :meth:`update_mini_batch_matrix` over the chapter's
        per-sample :meth:`update_mini_batch`. Both apply the same update,
        :math:`w \to w - \frac{\eta}{m}\sum_x \nabla_w C_x`.
        """
        use_matrix = self.matrix if matrix is None else bool(matrix)
        update = self._matrix_update if use_matrix else self.update_mini_batch
        return run_sgd(
            self,
            update,
            self._shuffle_rng,
            training_data,
            epochs,
            mini_batch_size,
            eta,
            test_data,
            **options,
        )

    def _matrix_update(self, mini_batch: tuple[np.ndarray, np.ndarray], eta: float) -> None:
        self.update_mini_batch_matrix(mini_batch[0], mini_batch[1], eta)

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:
        r"""One gradient-descent step from a mini-batch, one sample at a time (the chapter's way).

        .. math:: w \to w - \frac{\eta}{m}\sum_x \nabla_w C_x, \qquad
                  b \to b - \frac{\eta}{m}\sum_x \nabla_b C_x

        Parameters
        ----------
        mini_batch
            A list of ``(x, y)`` column-vector tuples, or ``(X, Y)`` with the samples as
            columns.
        eta : float
            The learning rate.
        """
        if is_array_pair(mini_batch):
            X, Y = mini_batch
            samples: Any = ((X[:, j : j + 1], Y[:, j : j + 1]) for j in range(X.shape[1]))
            m = X.shape[1]
        else:
            samples = list(mini_batch)
            m = len(samples)
        nabla_b = [np.zeros(b.shape, dtype=self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=self.dtype) for w in self.weights]
        for x, y in samples:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b, strict=True)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w, strict=True)]
        self._step(nabla_b, nabla_w, eta / m)

    def update_mini_batch_matrix(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        r"""The same step as :meth:`update_mini_batch`, with the whole mini-batch at once.

        ``X`` ``(sizes[0], m)`` and ``Y`` ``(sizes[-1], m)`` hold the samples as columns;
        :meth:`backprop_matrix` returns :math:`\sum_x \nabla C_x` with one matrix product per
        layer instead of a Python loop over the samples.
        """
        nabla_b, nabla_w = self.backprop_matrix(X, Y)
        self._step(nabla_b, nabla_w, eta / X.shape[1])

    def _step(self, nabla_b: list[np.ndarray], nabla_w: list[np.ndarray], rate: float) -> None:
        r"""Gradient descent, in place: :math:`w \to w - \frac{\eta}{m} \nabla_w`, same for b."""
        for w, nw in zip(self.weights, nabla_w, strict=True):
            nw *= rate  # the nabla arrays are this step's own: scaled in place, no allocation
            w -= nw
        for b, nb in zip(self.biases, nabla_b, strict=True):
            nb *= rate
            b -= nb

    # -- backpropagation -----------------------------------------------------------------------

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The gradient :math:`(\nabla_b C_x, \nabla_w C_x)` for one training sample.

        Parameters
        ----------
        x : numpy.ndarray, shape ``(sizes[0], 1)``
        y : numpy.ndarray, shape ``(sizes[-1], 1)``
            The desired output.

        Returns
        -------
        nabla_b, nabla_w : list of numpy.ndarray
            Layer by layer, shaped like ``biases`` and ``weights``. (Given several columns, the
            sums over them, as :meth:`backprop_matrix`.)
        """
        x = _columns(x, self.dtype)
        y = _columns(y, self.dtype)
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

    def _forward(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Feedforward a matrix of columns, keeping ``zs`` (z^2..z^L) and ``activations``."""
        activations = [X]
        zs = []
        for b, w in zip(self.biases, self.weights, strict=True):
            # b (n_l, 1) broadcasts across the m columns: the same bias for every sample.
            z = w @ activations[-1] + b  # Z^l = w^l A^{l-1} + b^l, one matmul for all samples
            zs.append(z)
            activations.append(sigmoid(z))
        return zs, activations

    def _errors(
        self, zs: list[np.ndarray], activations: list[np.ndarray], Y: np.ndarray
    ) -> list[np.ndarray]:
        """BP1 and BP2 with the samples as columns: ``[delta^2, ..., delta^L]``."""
        deltas = [self.cost.delta(zs[-1], activations[-1], Y)]  # BP1, one column per sample
        for l in range(2, self.num_layers):
            a = activations[-l]
            # BP2, all samples at once; sigma'(z^l) = a^l (1 - a^l) reuses the stored activation.
            deltas.append((self.weights[-l + 1].T @ deltas[-1]) * (a * (1.0 - a)))
        deltas.reverse()
        return deltas

    def backprop_matrix(
        self, X: np.ndarray, Y: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The summed gradient :math:`\sum_x (\nabla_b C_x, \nabla_w C_x)` of a mini-batch.

        The chapter's exercise: the samples are the columns of ``X`` ``(sizes[0], m)`` and ``Y``
        ``(sizes[-1], m)``; each equation acts on all of them at once. BP3 becomes a sum of
        :math:`\delta^l` over the columns, and BP4's matrix product
        :math:`\delta^l (A^{l-1})^T` sums :math:`\delta^l_x (a^{l-1}_x)^T` over the samples by
        itself.

        Returns
        -------
        nabla_b, nabla_w : list of numpy.ndarray
            Shaped like ``biases`` and ``weights``.
        """
        X = _columns(X, self.dtype)
        Y = _columns(Y, self.dtype)
        zs, activations = self._forward(X)
        deltas = self._errors(zs, activations, Y)
        nabla_b = [d.sum(axis=1, keepdims=True) for d in deltas]  # BP3, summed over samples
        nabla_w = [d @ a.T for d, a in zip(deltas, activations[:-1], strict=True)]  # BP4
        return nabla_b, nabla_w

    def deltas(self, X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
        r"""The error :math:`\delta^l = \partial C / \partial z^l` of every layer ``l = 2..L``.

        Parameters
        ----------
        X : numpy.ndarray, shape ``(sizes[0], m)``
        Y : numpy.ndarray, shape ``(sizes[-1], m)``

        Returns
        -------
        list of numpy.ndarray
            ``[delta^2, ..., delta^L]``, each of shape ``(sizes[l], m)``: column ``j`` is the
            error for sample ``j`` alone (:math:`\partial C_{x_j} / \partial z^l`).
        """
        X = _columns(X, self.dtype)
        Y = _columns(Y, self.dtype)
        zs, activations = self._forward(X)
        return self._errors(zs, activations, Y)
