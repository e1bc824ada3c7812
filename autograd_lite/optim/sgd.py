r"""Stochastic gradient descent: PyTorch's ``SGD``, written so that it is Nielsen's rule exactly.

The costs of `autograd_lite.costs` *sum* over the mini-batch by default, so after
``cost.backward()`` a parameter's ``.grad`` is $\sum_x \nabla C_x$. Nielsen's step divides
that sum by the mini-batch size $m$; here $m$ is passed to `SGD.step()` (or fixed
once with ``SGD(..., batch_size=m)``), and ``lr`` is the chapter's $\eta$:

$$
w \to w - \frac{\eta}{m} \sum_x \nabla C_x \qquad \text{(chapter 1, eq. 20)}
$$

With a cost built with ``reduction="mean"`` the gradient is already the average: call
``step()`` without ``batch_size``. With ``weight_decay`` $\lambda$ and the training-set
size ``n``, the step is network2's L2-regularized rule (chapter 3, eq. 93):

$$
w \to \left(1 - \frac{\eta\lambda}{n}\right) w - \frac{\eta}{m} \sum_x \nabla C_x
$$

Nielsen decays the weights but not the biases: give them separate *parameter groups*
(``SGD([{"params": weights, "weight_decay": lmbda}, {"params": biases}], lr=eta, n=n)``), or let
[`l2_groups()`][autograd_lite.optim.sgd.l2_groups] split a module's parameters that way.

With ``momentum`` $\mu$ the step is PyTorch's: each parameter keeps a buffer $b$,

$$
g = \nabla C + \frac{\lambda}{n} w, \qquad b \to \mu b + (1 - \tau) g, \qquad
w \to w - \eta b
$$

($b = g$ at the first step; $\tau$ is ``dampening``; with ``nesterov=True`` the
step uses $g + \mu b$ instead of $b$). While $\eta$ is constant and
$\tau = 0$ this is the chapter's velocity rule $v \to \mu v - \eta \nabla C$,
$w \to w + v$ with $v = -\eta b$ ([`SGD.velocity`][autograd_lite.optim.sgd.SGD.velocity]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd_lite.errors import TrainingError
from autograd_lite.optim.optimizer import (
    Optimizer,
    count,
    flag,
    learning_rate,
    number,
)
from autograd_lite.tensor import Tensor

__all__ = ["SGD", "l2_groups"]


def l2_groups(module: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Parameter groups that decay a module's weights but not its biases, as network2 does.

    Weights are the parameters with two or more dimensions (``Linear.weight``); the rest (the
    biases, and any other vector or scalar) get ``weight_decay=0``. Empty groups are left out.

    Examples
    --------
    >>> from autograd_lite import nn, optim
    >>> net = nn.Sequential(nn.Linear(784, 30), nn.Sigmoid(), nn.Linear(30, 10), nn.Sigmoid())
    >>> opt = optim.SGD(optim.l2_groups(net, 5.0), lr=0.5, n=50_000)
    >>> [len(group["params"]) for group in opt.param_groups]
    [2, 2]
    """
    weights: list[Any] = []
    others: list[Any] = []
    for p in module.parameters():
        (weights if p.ndim >= 2 else others).append(p)
    groups = [
        {"params": weights, "weight_decay": weight_decay},
        {"params": others, "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


class SGD(Optimizer):
    r"""Mini-batch stochastic gradient descent: PyTorch's ``torch.optim.SGD`` (momentum,
    dampening, Nesterov, weight decay, maximize), plus the chapter's ``batch_size`` and ``n``.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The leaf tensors to update (e.g. ``model.parameters()``; frozen ones, with
        ``requires_grad=False``, never get a gradient and are left alone), or
        parameter groups: dicts with a ``"params"`` list and any of ``"lr"``, ``"momentum"``,
        ``"dampening"``, ``"weight_decay"``, ``"nesterov"``, ``"maximize"``, ``"n"``
        overriding the defaults below for that group.
    lr : float, default 1e-3
        The learning rate $\eta$, a positive finite number (else ``TrainingError``).
    momentum : float, default 0
        The momentum coefficient $\mu$ in [0, 1] (1 - $\mu$ is the "friction").
    dampening : float, default 0
        $\tau$ in [0, 1]: the buffer adds $(1 - \tau) g$.
    weight_decay : float, default 0
        The L2 regularization parameter $\lambda$ (the chapter's ``lmbda``).
    nesterov : bool, default False
        Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
    maximize : bool, default False
        Ascend the objective instead of descending it.
    batch_size : int, optional
        The mini-batch size $m$ to divide a summed gradient by, when every step uses
        the same one; ``step(batch_size=m)`` overrides it. None: the gradient is used as it is
        (a ``reduction="mean"`` cost, or $m = 1$).
    n : int, optional
        The training-set size $n$ in network2's shrink factor
        $1 - \eta\lambda/n$. None means 1: then ``weight_decay`` is the per-step
        coefficient, as in PyTorch ($w \to w - \eta(\lambda w + \nabla C)$).

    Attributes
    ----------
    param_groups : list of dict
        Each with ``params`` and its hyper-parameters; change ``lr`` here (or with a
        scheduler) to schedule the learning rate.
    state : dict
        Parameter -> ``{"momentum_buffer": b}`` (made at its first step with momentum).

    Examples
    --------
    Nielsen's ``update_mini_batch`` on a model ``net`` with a summed cost:

    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn, optim
    >>> net = nn.Sequential(nn.Linear(2, 1, seed=0), nn.Sigmoid())
    >>> opt = optim.SGD(net.parameters(), lr=3.0)
    >>> X, Y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [0.0]])
    >>> opt.zero_grad()
    >>> al.quadratic_cost(net(X), Y).backward()
    >>> opt.step(batch_size=len(X))          # w <- w - (eta/m) sum_x grad C_x
    """

    hyper = {
        "lr": learning_rate,
        "momentum": number(0.0, 1.0),
        "dampening": number(0.0, 1.0),
        "weight_decay": number(),
        "nesterov": flag,
        "maximize": flag,
        "n": count,
    }
    state_keys = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        batch_size: int | None = None,
        n: int | None = None,
    ) -> None:
        self.batch_size = count("SGD", "batch_size", batch_size)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "n": n}  # fmt: skip
        super().__init__(params, defaults)

    def _check_options(self, group: dict[str, Any], where: str) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise TrainingError(
                f"SGD: nesterov=True{where} needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def step(self, closure: Callable[[], Any] | None = None, batch_size: int | None = None) -> Any:
        r"""Update every parameter that has a gradient, in place.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (run before the update).
        batch_size : int, optional
            $m$: ``.grad`` holds $\sum_x \nabla C_x$ over this many samples (a
            cost with the default ``reduction="sum"``) and is divided by it. Defaults to the
            ``batch_size`` given to the constructor; with neither, ``.grad`` is used as it is.

        Notes
        -----
        Parameters whose ``.grad`` is None (unused in the last backward) are skipped: no
        decay, no momentum. The arithmetic without momentum is network2's, term by term:
        ``w *= 1 - lr * weight_decay / n`` then ``w -= (lr / m) * grad``.
        """
        if batch_size is not None:
            self._m = float(count("SGD", "batch_size", batch_size))  # type: ignore[arg-type]
        else:
            self._m = float(self.batch_size or 1)
        return super().step(closure)

    def _update(self, group: dict[str, Any]) -> None:
        m, lr, mu = self._m, group["lr"], group["momentum"]
        decay = group["weight_decay"] / (group["n"] or 1)
        maximize = group["maximize"]
        scale, shrink = (-lr / m if maximize else lr / m), 1.0 - lr * decay
        for p, w, tmp, gbuf, grad in self._with_gradients(group):
            if mu == 0.0:  # the chapter's rule: w <- (1 - lr decay) w - (lr / m) grad
                if decay:
                    w *= shrink
                np.multiply(grad, scale, out=tmp)
                w -= tmp
                continue
            if m != 1.0 or maximize:  # g = +-grad / m
                grad = np.divide(grad, -m if maximize else m, out=gbuf)
            if decay:  # g = grad + decay w
                np.multiply(w, decay, out=tmp)
                grad = np.add(grad, tmp, out=gbuf)
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {}
            buf = state.get("momentum_buffer")
            if buf is None:  # b = g at the first step
                buf = state["momentum_buffer"] = np.array(grad, dtype=w.dtype, copy=True)
            else:  # b <- mu b + (1 - dampening) g
                buf *= mu
                if group["dampening"]:
                    np.multiply(grad, 1.0 - group["dampening"], out=tmp)
                    buf += tmp
                else:
                    buf += grad
            if group["nesterov"]:  # g + mu b
                np.multiply(buf, mu, out=tmp)
                np.add(grad, tmp, out=tmp)
                tmp *= lr
            else:
                np.multiply(buf, lr, out=tmp)
            w -= tmp

    @property
    def velocity(self) -> dict[Tensor, np.ndarray]:
        r"""The chapter's velocity $v = -\eta b$ of each parameter with a momentum
        buffer (equal to Nielsen's $v \to \mu v - \eta\nabla C$ while $\eta$ is
        constant and there is no dampening)."""
        return {
            p: -group["lr"] * self.state[p]["momentum_buffer"]
            for group in self.param_groups
            for p in group["params"]
            if "momentum_buffer" in self.state.get(p, {})
        }
