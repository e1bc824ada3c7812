r"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), PyTorch's update rules.

For each parameter $w$ with gradient $g$ at step $t$ (from 1):

$$\begin{aligned}
g &\leftarrow g + \lambda w \quad \text{(Adam's L2 weight decay; AdamW instead:
} w \leftarrow (1 - \eta\lambda) w \text{)} \\
m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
\hat v &= \max(\hat v_{\text{prev}}, v) \text{ with amsgrad, else } v \\
w &\leftarrow w - \frac{\eta}{1 - \beta_1^t}\,
\frac{m}{\sqrt{\hat v} / \sqrt{1 - \beta_2^t} + \epsilon}
\end{aligned}$$

($g \leftarrow -g$ first with ``maximize``). The state of a parameter is ``step``,
``exp_avg`` ($m$), ``exp_avg_sq`` ($v$) and, with ``amsgrad``, ``max_exp_avg_sq``,
as in PyTorch's ``state_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_lite.optim.optimizer import (
    Optimizer,
    betas,
    flag,
    learning_rate,
    number,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: PyTorch's ``torch.optim.Adam``, with its defaults.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The tensors to update, or parameter groups with their own options.
    lr : float, default 1e-3
        The learning rate $\eta$.
    betas : (float, float), default (0.9, 0.999)
        $\beta_1, \beta_2$, each in [0, 1): the decay of the moment estimates.
    eps : float, default 1e-8
        $\epsilon \ge 0$, added to the denominator.
    weight_decay : float, default 0
        $\lambda \ge 0$: L2 added to the gradient (decoupled with
        ``decoupled_weight_decay=True``, which is [`AdamW`][autograd_lite.optim.adam.AdamW]).
    amsgrad : bool, default False
        Divide by the largest $v$ so far (Reddi et al. 2018).
    maximize : bool, default False
        Ascend the objective.
    decoupled_weight_decay : bool, default False
        Decay the weights directly, $w \leftarrow (1 - \eta\lambda) w$ (AdamW).

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite import nn, optim
    >>> model = nn.Linear(3, 1, seed=0)
    >>> opt = optim.Adam(model.parameters(), lr=1e-2)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     al.quadratic_cost(model(np.ones((4, 3))), np.zeros((4, 1))).backward()
    ...     opt.step()
    >>> opt.state[model.weight]["step"]
    3
    """

    hyper = {
        "lr": learning_rate,
        "betas": betas,
        "eps": number(),
        "weight_decay": number(),
        "amsgrad": flag,
        "maximize": flag,
        "decoupled_weight_decay": flag,
    }
    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, w, tmp, gbuf, grad in self._with_gradients(group):
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(w),
                                         "exp_avg_sq": np.zeros_like(w)}  # fmt: skip
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(w)
            step = state["step"] = state["step"] + 1
            if maximize:
                grad = np.negative(grad, out=gbuf)
            if decay:
                if decoupled:  # AdamW: w <- (1 - lr decay) w
                    w *= 1.0 - lr * decay
                else:  # g <- g + decay w
                    np.multiply(w, decay, out=tmp)
                    grad = np.add(grad, tmp, out=gbuf)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            np.subtract(grad, m, out=tmp)  # m <- m + (1 - beta1)(g - m)
            tmp *= 1.0 - beta1
            m += tmp
            v *= beta2  # v <- beta2 v + (1 - beta2) g^2
            np.multiply(grad, grad, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            step_size = lr / (1.0 - beta1**step)
            np.sqrt(v, out=tmp)  # denominator: sqrt(v) / sqrt(1 - beta2^t) + eps
            tmp /= math.sqrt(1.0 - beta2**step)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= -step_size
            w += tmp


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, PyTorch's ``torch.optim.AdamW`` (its
    default ``weight_decay`` is 1e-2): $w \leftarrow (1 - \eta\lambda) w$ before Adam's
    step, instead of adding $\lambda w$ to the gradient. Parameters as `Adam`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)  # fmt: skip
