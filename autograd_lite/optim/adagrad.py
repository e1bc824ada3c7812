r"""Adagrad (Duchi, Hazan & Singer 2011), PyTorch's update rule.

For each parameter $w$ with gradient $g$ at step $t$ (from 1;
$g \leftarrow -g$ first with ``maximize``):

$$
g \leftarrow g + \lambda w, \qquad
\tilde\eta = \frac{\eta}{1 + (t - 1)\,\delta}, \qquad
s \leftarrow s + g^2, \qquad
w \leftarrow w - \tilde\eta\, \frac{g}{\sqrt{s} + \epsilon}
$$

with $\delta$ = ``lr_decay`` and $s$ starting at ``initial_accumulator_value``. The
state of a parameter is ``step`` and ``sum`` ($s$), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd_lite.optim.optimizer import Optimizer, flag, learning_rate, number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: PyTorch's ``torch.optim.Adagrad``, with its defaults.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The tensors to update, or parameter groups with their own options.
    lr : float, default 1e-2
        The learning rate $\eta$.
    lr_decay : float, default 0
        $\delta \ge 0$: the step size is $\eta / (1 + (t - 1)\delta)$.
    weight_decay : float, default 0
        $\lambda \ge 0$: L2 added to the gradient.
    initial_accumulator_value : float, default 0
        The starting value ($\ge 0$) of the sum of squared gradients.
    eps : float, default 1e-10
        $\epsilon \ge 0$, added to the denominator.
    maximize : bool, default False
        Ascend the objective.

    Notes
    -----
    PyTorch makes every parameter's state in the constructor; here it is made at the
    parameter's first step (a ``state_dict`` taken before any step is empty), with the same
    values.
    """

    hyper = {
        "lr": learning_rate,
        "lr_decay": number(),
        "weight_decay": number(),
        "initial_accumulator_value": number(),
        "eps": number(),
        "maximize": flag,
    }
    state_keys = ("step", "sum")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                    "maximize": maximize}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        decay, maximize = group["weight_decay"], group["maximize"]
        for p, w, tmp, gbuf, grad in self._with_gradients(group):
            state = self.state.get(p)
            if state is None:
                start = group["initial_accumulator_value"]
                state = self.state[p] = {"step": 0, "sum": np.full_like(w, start)}
            step = state["step"] = state["step"] + 1
            if maximize:
                grad = np.negative(grad, out=gbuf)
            if decay:  # g <- g + decay w
                np.multiply(w, decay, out=tmp)
                grad = np.add(grad, tmp, out=gbuf)
            clr = lr / (1.0 + (step - 1) * lr_decay)
            s = state["sum"]
            np.multiply(grad, grad, out=tmp)  # s <- s + g^2
            s += tmp
            np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(grad, tmp, out=tmp)
            tmp *= -clr
            w += tmp
