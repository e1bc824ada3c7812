"""autograd_lite: a small, fast, honest reverse-mode autodiff framework on NumPy.

Tensors record the ops applied to them; one reverse traversal computes every gradient: the
general form of the backpropagation that chapter 2 of Nielsen's *Neural Networks and Deep
Learning* derives by hand (BP1–BP4), which :mod:`autograd_lite.nielsen` carries beside it.
"""

from autograd_lite import datasets, errors, func, nielsen, nn, optim, testing, viz
from autograd_lite.costs import cross_entropy_cost, log_likelihood_cost, quadratic_cost
from autograd_lite.engine import gradients
from autograd_lite.function import Context, Function, primitive
from autograd_lite.functional import grad, hvp, value_and_grad
from autograd_lite.modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from autograd_lite.ops import (
    add,
    broadcast_to,
    concatenate,
    div,
    exp,
    getitem,
    hadamard,
    log,
    log_softmax,
    matmul,
    max,
    mean,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sigmoid_prime,
    softmax,
    stack,
    sub,
    sum,
    tanh,
    transpose,
    where,
)
from autograd_lite.tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "Context",
    "Function",
    "primitive",
    "add",
    "sub",
    "mul",
    "hadamard",
    "div",
    "neg",
    "pow",
    "matmul",
    "exp",
    "log",
    "sigmoid",
    "sigmoid_prime",
    "tanh",
    "relu",
    "softmax",
    "log_softmax",
    "sum",
    "mean",
    "max",
    "reshape",
    "transpose",
    "broadcast_to",
    "getitem",
    "concatenate",
    "stack",
    "where",
    "quadratic_cost",
    "cross_entropy_cost",
    "log_likelihood_cost",
    "grad",
    "value_and_grad",
    "hvp",
    "gradients",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
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
