r"""RMSprop (Hinton's lecture 6e; centered as in Graves 2013), PyTorch's update rule.

For each parameter $w$ with gradient $g$ ($g \leftarrow -g$ first with
``maximize``):

$$\begin{aligned}
g &\leftarrow g + \lambda w, \qquad
s \leftarrow \alpha s + (1 - \alpha) g^2 \\
\bar g &\leftarrow \alpha \bar g + (1 - \alpha) g, \quad
d = \sqrt{s - \bar g^2} + \epsilon \ \text{(centered)}, \quad
\text{else } d = \sqrt{s} + \epsilon \\
b &\leftarrow \mu b + g / d, \quad w \leftarrow w - \eta b \ \text{(momentum } \mu > 0
\text{)}, \quad \text{else } w \leftarrow w - \eta\, g / d
\end{aligned}$$

The state of a parameter is ``step``, ``square_avg`` ($s$), with momentum
``momentum_buffer`` ($b$), centered ``grad_avg`` ($\bar g$), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_lite.optim.optimizer import Optimizer, flag, learning_rate, number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: PyTorch's ``torch.optim.RMSprop``, with its defaults.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The tensors to update, or parameter groups with their own options.
    lr : float, default 1e-2
        The learning rate $\eta$.
    alpha : float, default 0.99
        $\alpha$ in [0, 1]: the decay of the squared-gradient average.
    eps : float, default 1e-8
        $\epsilon \ge 0$, added to the denominator.
    weight_decay : float, default 0
        $\lambda \ge 0$: L2 added to the gradient.
    momentum : float, default 0
        $\mu$ in [0, 1].
    centered : bool, default False
        Normalise by the estimated variance of the gradient instead of its second moment.
    maximize : bool, default False
        Ascend the objective.
    """

    hyper = {
        "lr": learning_rate,
        "alpha": number(0.0, 1.0),
        "eps": number(),
        "weight_decay": number(),
        "momentum": number(0.0, 1.0),
        "centered": flag,
        "maximize": flag,
    }
    state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        mu, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p, w, tmp, gbuf, grad in self._with_gradients(group):
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "square_avg": np.zeros_like(w)}
            if mu > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(w)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = np.zeros_like(w)
            state["step"] += 1
            if maximize:
                grad = np.negative(grad, out=gbuf)
            if decay:  # g <- g + decay w
                np.multiply(w, decay, out=tmp)
                grad = np.add(grad, tmp, out=gbuf)
            s = state["square_avg"]
            s *= alpha  # s <- alpha s + (1 - alpha) g^2
            np.multiply(grad, grad, out=tmp)
            tmp *= 1.0 - alpha
            s += tmp
            if centered:
                mean = state["grad_avg"]
                np.subtract(grad, mean, out=tmp)  # mean <- mean + (1 - alpha)(g - mean)
                tmp *= 1.0 - alpha
                mean += tmp
                np.multiply(mean, mean, out=tmp)
                np.subtract(s, tmp, out=tmp)
                np.sqrt(tmp, out=tmp)
            else:
                np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(grad, tmp, out=tmp)
            if mu > 0:
                buf = state["momentum_buffer"]
                buf *= mu
                buf += tmp
                np.multiply(buf, lr, out=tmp)
                w -= tmp
            else:
                tmp *= -lr
                w += tmp
