r"""The chapter-2 network with its gradients taken from the autodiff graph.

Same API, initial parameters and shuffling as `ManualNetwork`, but `Network.backprop()` writes no
backpropagation equation: it builds the forward computation of a whole mini-batch as one graph,

$$
z^l = w^l a^{l-1} + b^l, \qquad a^l = \sigma(z^l), \qquad C = \sum_x C_x(a^L),
$$

and asks the engine for $\partial C / \partial w^l$ and $\partial C / \partial b^l$. The engine's
reverse sweep *is* BP1-BP4: the cost's vjp gives $\nabla_a C$ and the sigmoid's multiplies by
$\sigma'(z^L)$ (BP1); ``matmul``'s vjp for its right operand sends $(w^{l+1})^T \delta^{l+1}$ back,
which the sigmoid's vjp multiplies by $\sigma'(z^l)$ (BP2); the ``add`` of the bias passes
$\delta^l$ through and the engine sums it over the broadcast batch axis (BP3); ``matmul``'s vjp for
``w`` is $\delta^l (a^{l-1})^T$ (BP4). `Network.deltas()` reads every $\delta^l$ from the graph
(``retain_grad``).

Every mini-batch of one shape makes the same graph, so training records it once and replays it
(``value_and_grad(..., replay=True)``): the same ops and vjps, run as generated Python that
`Network.replay_source` shows -- the sweep above, written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import costs, ops
from ..functional import value_and_grad
from ..modes import no_grad
from ..tensor import Tensor
from .common import NetworkBase
from .manual import CrossEntropyCost, get_cost

__all__ = ["Network"]


class Network(NetworkBase):
    r"""A sigmoid network trained by SGD, with gradients from reverse-mode autodiff.

    As `ManualNetwork` (``sizes``, ``seed``, ``dtype``,
    ``cost``; the same initial parameters and shuffling; ``biases`` and ``weights`` plain
    arrays, the leaves of the graph while a step runs). The cross-entropy is taken from
    $z^L$ (``logits=True``): stable, and the output error is exactly $a^L - y$.
    With ``replay`` (the default) the graph is recorded at the first mini-batch of each shape
    and replayed after that (`autograd_lite.value_and_grad()`): the same ops and vjps in the
    same order, so the same numbers bitwise, without rebuilding the Tensors; ``False`` builds
    it anew for every mini-batch.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int | None = None,
        dtype: Any = np.float64,
        cost: Any = "quadratic",
        replay: bool = True,
    ) -> None:
        super().__init__(sizes, seed, dtype, get_cost(cost))
        self._logits = self.cost is CrossEntropyCost
        self._n = len(self.biases)
        self._replay = bool(replay)
        # The gradient of C with respect to every bias and weight, from the graph that _cost
        # builds: recorded at the first mini-batch of each shape and replayed after that (see
        # autograd_lite.replay), or with replay=False built every time.
        self._value_and_grad = value_and_grad(
            self._cost, argnums=tuple(range(2 * self._n)), replay=replay
        )

    def _cost(self, *tensors: Any) -> Tensor:
        """``C`` for the mini-batch ``X``, ``Y``: called as ``_cost(*biases, *weights, X, Y)``."""
        n = self._n
        return self._forward(tensors[:n], tensors[n : 2 * n], tensors[-2], tensors[-1])[0]

    def _forward(
        self, bs: Sequence[Any], ws: Sequence[Any], X: Any, Y: Any
    ) -> tuple[Tensor, list[Tensor]]:
        """Build the graph of ``C`` for the columns of ``X``; returns ``C`` and the ``z^l``."""
        zs = []
        a: Any = X  # a^1: the engine needs no gradient for it
        last = len(ws) - 1 if self._logits else len(ws)  # the cross-entropy starts from z^L
        for w, b in zip(ws, bs, strict=True):
            # b (n_l, 1) is broadcast across the m columns of w @ a. In the backward pass the
            # engine sums b's gradient over that batch axis ("unbroadcast"): that sum is exactly
            # update_mini_batch's per-sample sum of nabla_b = delta^l (BP3).
            z = ops.add(ops.matmul(w, a), b)  # z^l = w^l a^{l-1} + b^l
            zs.append(z)
            if len(zs) <= last:
                a = ops.sigmoid(z)  # a^l = sigma(z^l)
        if self._logits:
            # The cross-entropy of a^L = sigma(z^L), computed stably from z^L, whose gradient
            # is exactly dC/dz^L = a^L - y (chapter 3's delta^L, no sigma' factor).
            return costs.cross_entropy_cost(zs[-1], Y, logits=True), zs
        return costs.quadratic_cost(a, Y), zs  # C = sum over the columns of 1/2 ||y - a^L||^2

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

    def _feedforward(self, a: np.ndarray) -> np.ndarray:
        with no_grad():  # no graph
            out: Any = a
            for b, w in zip(self.biases, self.weights, strict=True):
                out = ops.sigmoid(ops.add(ops.matmul(w, out), b))
        return out.data

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        r"""The gradient of $C = \sum_x C_x$ over the columns of ``x``, by autodiff.

        ``x`` of shape ``(sizes[0], m)`` (or one sample ``(sizes[0],)``), ``y`` the desired
        outputs ``(sizes[-1], m)``. Returns $\sum_x \nabla_b C_x$ and
        $\sum_x \nabla_w C_x$, shaped like ``biases`` and ``weights`` (for one column:
        the chapter's per-sample gradient).
        """
        _, grads = self._value_and_grad(*self.biases, *self.weights, *self._columns((x, y)))
        return list(grads[: self._n]), list(grads[self._n :])

    def deltas(self, X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
        r"""The errors $\delta^l = \partial C / \partial z^l$, ``l = 2..L``, from the graph.

        Each $z^l$ is marked with ``retain_grad()``; after ``C.backward()`` its ``grad`` is
        $\delta^l$, of shape ``(sizes[l], m)``; since $C = \sum_x C_x$ and
        $z^l_x$ depends on sample $x$ alone, column ``j`` is sample ``j``'s own error.
        """
        bs = [Tensor(b, requires_grad=True) for b in self.biases]
        ws = [Tensor(w, requires_grad=True) for w in self.weights]
        C, zs = self._forward(bs, ws, *self._columns((X, Y)))
        for z in zs:
            z.retain_grad()
        C.backward()
        return [z.grad for z in zs]

    def _update(self, X: np.ndarray, Y: np.ndarray, eta: float) -> None:
        """One step on the columns of ``X``, ``Y``, through one graph for the whole mini-batch."""
        # [nabla_b..., nabla_w...], summed over the batch
        _, grads = self._value_and_grad(*self.biases, *self.weights, X, Y)
        m = X.shape[1]
        # w <- w - (eta/m) nabla_w and b <- b - (eta/m) nabla_b, in place, exactly as
        # ManualNetwork does (same arithmetic, so the two train in lockstep).
        for p, g in zip(self.biases + self.weights, grads, strict=True):
            g *= eta / m  # (g is ours: scaling it in place saves an allocation per step)
            p -= g
