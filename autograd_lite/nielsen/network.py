r"""The chapter-2 network with its gradients taken from the autodiff graph.

Same API, same initial parameters and same shuffling as
:class:`~autograd_lite.nielsen.manual.ManualNetwork` -- but :meth:`Network.backprop` writes no
backpropagation equation. It builds the forward computation of a whole mini-batch as one graph,

.. math:: z^l = w^l a^{l-1} + b^l, \qquad a^l = \sigma(z^l), \qquad C = \sum_x C_x(a^L),

and asks the engine for :math:`\partial C / \partial w^l` and :math:`\partial C / \partial b^l`.
The engine's reverse sweep *is* BP1-BP4: the cost's vector-Jacobian product gives
:math:`\nabla_a C` and the sigmoid's multiplies by :math:`\sigma'(z^L)` (BP1); ``matmul``'s
vjp for its right operand sends :math:`(w^{l+1})^T \delta^{l+1}` back, which the sigmoid's vjp
multiplies by :math:`\sigma'(z^l)` (BP2); the ``add`` of the bias passes :math:`\delta^l` through
and the engine sums it over the broadcast batch axis (BP3); ``matmul``'s vjp for ``w`` is
:math:`\delta^l (a^{l-1})^T` (BP4). :meth:`Network.deltas` reads every :math:`\delta^l`
straight from the graph (``retain_grad`` on each :math:`z^l`), and the tests check all of it
against the hand-written version to round-off.

Every mini-batch of one shape makes the same graph, so training records it once and replays it
(``al.value_and_grad(..., replay=True)``): the same ops and vjps, run as generated Python that
:attr:`Network.replay_source` shows -- the sweep above, written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import autograd_lite as al

from .common import NetworkBase, split_mini_batch
from .manual import CrossEntropyCost, get_cost

__all__ = ["Network"]


class Network(NetworkBase):
    r"""A sigmoid network trained by SGD, with gradients from reverse-mode autodiff.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    seed : int or None
        Seeds the initial :math:`\mathcal N(0,1)` parameters and the shuffling in :meth:`SGD`
        exactly as :class:`~autograd_lite.nielsen.manual.ManualNetwork` does.
    dtype : numpy dtype
        ``np.float64`` (default) or ``np.float32``; kept throughout, graph included.
    cost : {"quadratic", "cross-entropy"}
        The cost. The cross-entropy is taken from :math:`z^L` (``logits=True``), which is
        stable and makes the output error exactly :math:`a^L - y`.
    replay : bool, default True
        Record the graph at the first mini-batch of each shape and replay it at the next ones
        (:func:`autograd_lite.grad` with ``replay=True``): the same ops and vjps in the same
        order, so the same numbers bitwise, without rebuilding the Tensors at every step.
        ``False`` builds the graph anew for every mini-batch.

    Attributes
    ----------
    sizes, num_layers, cost, dtype, seed
        As given (``cost`` as its class).
    biases, weights : list of numpy.ndarray
        As in the book: plain arrays, the leaves of the graph while a step runs. Training
        updates the arrays in place; assigning new lists is fine too.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        dtype: Any = np.float64,
        cost: Any = "quadratic",
        replay: bool = True,
    ) -> None:
        self._init_common(sizes, seed, dtype)
        self.cost = get_cost(cost)
        self._logits = self.cost is CrossEntropyCost
        self._n = len(self.biases)
        self._replay = bool(replay)
        # The gradient of C with respect to every bias and weight, from the graph that _cost
        # builds. With replay (the default) the graph is recorded at the first mini-batch of
        # each shape and replayed after that: the same ops and vjps, without rebuilding the
        # Tensors at every step (see autograd_lite.replay). replay=False builds it every time.
        self._value_and_grad = al.value_and_grad(
            self._cost, argnums=tuple(range(2 * self._n)), replay=replay
        )

    # -- the graph -----------------------------------------------------------------------------

    def _cost(self, *tensors: Any) -> al.Tensor:
        """``C`` for the mini-batch ``X``, ``Y``: called as ``_cost(*biases, *weights, X, Y)``."""
        n = self._n
        C, _ = self._forward(tensors[:n], tensors[n : 2 * n], tensors[-2], tensors[-1])
        return C

    def _forward(
        self, bs: Sequence[Any], ws: Sequence[Any], X: Any, Y: Any
    ) -> tuple[al.Tensor, list[al.Tensor]]:
        """Build the graph of ``C`` for the columns of ``X``; returns ``C`` and the ``z^l``."""
        zs = []
        a: Any = X  # a^1: the engine needs no gradient for it
        last = len(ws) - 1 if self._logits else len(ws)  # the cross-entropy starts from z^L
        for w, b in zip(ws, bs, strict=True):
            # b (n_l, 1) is broadcast across the m columns of w @ a. In the backward pass the
            # engine sums b's gradient over that batch axis ("unbroadcast"): that sum is exactly
            # update_mini_batch's per-sample sum of nabla_b = delta^l (BP3).
            z = al.add(al.matmul(w, a), b)  # z^l = w^l a^{l-1} + b^l
            zs.append(z)
            if len(zs) <= last:
                a = al.sigmoid(z)  # a^l = sigma(z^l)
        if self._logits:
            # The cross-entropy of a^L = sigma(z^L), computed stably from z^L, whose gradient
            # is exactly dC/dz^L = a^L - y (chapter 3's delta^L, no sigma' factor).
            C = al.cross_entropy_cost(zs[-1], Y, logits=True)
        else:
            C = al.quadratic_cost(a, Y)  # C = sum over the columns of 1/2 ||y - a^L||^2
        return C, zs

    @property
    def replay(self) -> bool:
        """Whether steps replay the recorded graph (fixed at construction)."""
        return self._replay

    @property
    def replay_source(self) -> str | None:
        """The Python that a replayed step runs, generated from the recorded graph: the
        forward ops, then every vjp the backward pass calls -- BP1-BP4, derived. None before
        the first step, and with ``replay=False``."""
        sources = getattr(self._value_and_grad, "sources", None)
        return sources[-1] if sources else None

    def _inputs(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X)
        Y = np.asarray(Y)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)
        if Y.dtype != self.dtype:
            Y = Y.astype(self.dtype)
        return X, Y

    # -- the chapter's API ---------------------------------------------------------------------

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        r"""The output :math:`a^L` for ``a`` (one column or a matrix of columns); no graph."""
        a = np.asarray(a, dtype=self.dtype)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        with al.no_grad():
            out: Any = a
            for b, w in zip(self.biases, self.weights, strict=True):
                out = al.sigmoid(al.add(al.matmul(w, out), b))
        return out.data

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The gradient of :math:`C = \sum_x C_x` over the columns of ``x``, by autodiff.

        Parameters
        ----------
        x : numpy.ndarray, shape ``(sizes[0], 1)`` or ``(sizes[0], m)``
        y : numpy.ndarray, shape ``(sizes[-1], 1)`` or ``(sizes[-1], m)``

        Returns
        -------
        nabla_b, nabla_w : list of numpy.ndarray
            :math:`\sum_x \nabla_b C_x` and :math:`\sum_x \nabla_w C_x`, shaped like
            ``biases`` and ``weights`` (for one column: the chapter's per-sample gradient).
        """
        X, Y = self._inputs(x, y)
        _, grads = self._value_and_grad(*self.biases, *self.weights, X, Y)
        return list(grads[: self._n]), list(grads[self._n :])

    def deltas(self, X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
        r"""The errors :math:`\delta^l = \partial C / \partial z^l`, ``l = 2..L``, from the graph.

        Each :math:`z^l` is marked with ``retain_grad()``; after ``C.backward()`` its ``grad`` is
        :math:`\delta^l`. Returns arrays of shape ``(sizes[l], m)``; since
        :math:`C = \sum_x C_x` and :math:`z^l_x` depends on sample :math:`x` alone, column
        ``j`` is sample ``j``'s own error.
        """
        X, Y = self._inputs(X, Y)
        bs = [al.Tensor(b, requires_grad=True) for b in self.biases]
        ws = [al.Tensor(w, requires_grad=True) for w in self.weights]
        C, zs = self._forward(bs, ws, X, Y)
        for z in zs:
            z.retain_grad()
        C.backward()
        return [z.grad for z in zs]

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:
        r"""One gradient-descent step from a whole mini-batch, through one graph.

        .. math:: w \to w - \frac{\eta}{m}\sum_x \nabla_w C_x, \qquad
                  b \to b - \frac{\eta}{m}\sum_x \nabla_b C_x

        Parameters
        ----------
        mini_batch
            ``(X, Y)`` with the ``m`` samples as columns, or the chapter's list of ``(x, y)``
            column-vector tuples (stacked into one matrix first: there is no loop over samples).
        eta : float
            The learning rate.
        """
        X, Y = split_mini_batch(mini_batch, self.dtype)
        if X.dtype != self.dtype or Y.dtype != self.dtype:
            X, Y = self._inputs(X, Y)
        # [nabla_b..., nabla_w...], summed over the batch
        _, grads = self._value_and_grad(*self.biases, *self.weights, X, Y)
        m = X.shape[1]
        # w <- w - (eta/m) nabla_w and b <- b - (eta/m) nabla_b, in place, exactly as
        # ManualNetwork does (same arithmetic, so the two train in lockstep).
        for p, g in zip(self.biases + self.weights, grads, strict=True):
            g *= eta / m  # (g is ours: scaling it in place saves an allocation per step)
            p -= g
