"""autograd_lite: a small, fast, honest reverse-mode autodiff framework on NumPy.

Tensors record the ops applied to them; one reverse traversal computes every gradient: the
general form of the backpropagation that chapter 2 of Nielsen's *Neural Networks and Deep
Learning* derives by hand (BP1–BP4), which `autograd_lite.nielsen` carries beside it.
"""

from typing import Any

from autograd_lite import datasets, errors, func, nielsen, nn, optim, testing, viz
from autograd_lite import ops as _ops
from autograd_lite.compile import compile
from autograd_lite.costs import cross_entropy_cost, log_likelihood_cost, quadratic_cost
from autograd_lite.engine import gradients
from autograd_lite.factories import (
    arange,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from autograd_lite.function import Context, Function, primitive
from autograd_lite.functional import grad, hvp, value_and_grad
from autograd_lite.modes import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from autograd_lite.tensor import Tensor

__version__ = "0.1.0"

#: Every op of autograd_lite.ops, by its declaration: al.add, al.exp, al.getitem ...
_OP_EXPORTS = {name: _ops.REGISTRY[name].public for name in _ops.__all__ if name in _ops.OPS}
#: ... and the functions beside them that record other ops or read values: al.squeeze ...
_OP_EXPORTS.update(_ops.FUNCTIONS)
globals().update(_OP_EXPORTS)


def __getattr__(name: str) -> Any:
    # Only reached for a name the module lacks (so type checkers accept the ops set above).
    raise AttributeError(f"module 'autograd_lite' has no attribute {name!r}")


__all__ = [
    "Tensor",
    "tensor",
    "zeros",
    "ones",
    "full",
    "arange",
    "randn",
    "rand",
    "zeros_like",
    "ones_like",
    "full_like",
    "randn_like",
    "rand_like",
    "Context",
    "Function",
    "primitive",
    *_OP_EXPORTS,
    "quadratic_cost",
    "cross_entropy_cost",
    "log_likelihood_cost",
    "grad",
    "value_and_grad",
    "hvp",
    "compile",
    "gradients",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "detect_anomaly",
    "errors",
    "func",
    "nn",
    "optim",
    "nielsen",
    "datasets",
    "testing",
    "viz",
]
