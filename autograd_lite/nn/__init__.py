r"""Layers as objects: `Module`, `Parameter`, `Sequential`, layers, losses.

A `Module` is a callable whose ``forward`` is written with Tensor operations; its
gradients come from the engine, so a custom layer is only its forward pass. The names,
signatures, default initialisations and ``state_dict`` layouts are PyTorch's (see the
"Layers and optimizers" page for what differs): samples are *rows*, and `Linear` computes

$$
y = x W^\top + b, \qquad W \in \mathbb R^{n_{out} \times n_{in}},
\; b \in \mathbb R^{n_{out}},
$$

so the ``W`` here is exactly the chapter's $w^l$ (also ``(n_out, n_in)``), applied to a
mini-batch whose rows (not columns) are the samples; the chapter's ``b`` of shape ``(n, 1)``
is ``b.reshape(-1, 1)``.

The package is split by kind: [`module`][autograd_lite.nn.module] (Module, Parameter,
Sequential, state_dict), [`init`][autograd_lite.nn.init], [`layers`][autograd_lite.nn.layers],
[`normalization`][autograd_lite.nn.normalization], [`activations`][autograd_lite.nn.activations],
[`losses`][autograd_lite.nn.losses]; everything public is re-exported here, and
[`functional`][autograd_lite.nn.functional] gives the layers' computations PyTorch's
``torch.nn.functional`` names.

Examples
--------
>>> import numpy as np, autograd_lite as al
>>> from autograd_lite import nn
>>> model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.Sigmoid(), nn.Linear(3, 2, seed=1))
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
>>> model(np.ones((5, 4))).shape
(5, 2)
"""

from autograd_lite.nn import functional
from autograd_lite.nn.activations import (
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from autograd_lite.nn.conv import AvgPool2d, Conv2d, MaxPool2d
from autograd_lite.nn.init import init_weights
from autograd_lite.nn.layers import Dropout, Embedding, Flatten, Identity, Linear
from autograd_lite.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    NLLLoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from autograd_lite.nn.module import (
    CHECKPOINT_FORMAT,
    Module,
    ModuleArgumentError,
    ModuleDict,
    ModuleKeyError,
    ModuleList,
    Parameter,
    Sequential,
    StateDictError,
    StateDictKeyError,
    StateDictShapeError,
)
from autograd_lite.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "functional",
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Linear",
    "Identity",
    "Flatten",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "SiLU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "MSELoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "mse_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "init_weights",
    "CHECKPOINT_FORMAT",
    "ModuleArgumentError",
    "ModuleKeyError",
    "StateDictError",
    "StateDictKeyError",
    "StateDictShapeError",
]
