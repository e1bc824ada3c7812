"""Optimizers and learning-rate schedules with PyTorch's names, update rules and defaults.

``SGD`` (momentum, dampening, Nesterov, weight decay, and the chapter's ``batch_size`` and
``n``), ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``; parameter groups, ``zero_grad``,
``state_dict``/``load_state_dict`` (PyTorch's layout); schedulers in
`autograd_lite.optim.lr_scheduler`. Each step updates ``.data`` in place with NumPy's
ufuncs (``out=``) into buffers made once per parameter.
"""

from autograd_lite.optim import lr_scheduler
from autograd_lite.optim.adagrad import Adagrad
from autograd_lite.optim.adam import Adam, AdamW
from autograd_lite.optim.optimizer import Optimizer, check_learning_rate
from autograd_lite.optim.rmsprop import RMSprop
from autograd_lite.optim.sgd import SGD, l2_groups

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "lr_scheduler",
    "l2_groups",
    "check_learning_rate",
]
