"""Each optimizer and scheduler against PyTorch's (skipped where torch is not installed): 50
steps from the same float64 parameters and gradients end within 1e-12 relative; the schedulers
give PyTorch's lr sequences; a PyTorch optimizer's state_dict loads here and continues alike."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_lite import nn, optim
from autograd_lite.optim import lr_scheduler

torch = pytest.importorskip("torch")

SHAPES = [(30, 78), (30,), (10, 30), (10,)]
STEPS = 50
TOL = 1e-12

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-3, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)),
    ("Adam", dict()),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, momentum=0.9, weight_decay=1e-2)),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=1e-2, initial_accumulator_value=0.1,
                     eps=1e-8)),
    ("Adagrad", dict(maximize=True)),
]  # fmt: skip


def _within(ours, theirs, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    error = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300))
    assert error <= TOL, f"{what}: max relative difference {error:.2e}"


def _both(name, options, seed=0):
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=s) for s in SHAPES]
    ours = [nn.Parameter(w) for w in start]
    theirs = [torch.tensor(w, requires_grad=True) for w in start]
    return rng, ours, theirs, getattr(optim, name)(ours, **options), \
        getattr(torch.optim, name)(theirs, **options)  # fmt: skip


def _step_both(rng, ours, theirs, opt, ref):
    for p, q in zip(ours, theirs):
        g = rng.normal(size=p.shape)
        p.grad, q.grad = g, torch.tensor(g)
    opt.step()
    ref.step()


@pytest.mark.parametrize(("name", "options"), CASES)
def test_fifty_steps_match_pytorch(name, options):
    rng, ours, theirs, opt, ref = _both(name, options)
    for _ in range(STEPS):
        _step_both(rng, ours, theirs, opt, ref)
    for i, (p, q) in enumerate(zip(ours, theirs)):
        _within(p.data, q.detach().numpy(), f"{name} {options} parameter {i}")
        for key, value in ref.state[q].items():
            if key != "step" and value is not None:
                _within(opt.state[p][key], value.numpy(), f"{name} state {key} of {i}")


@pytest.mark.parametrize(("name", "options"), CASES[2::3])
def test_a_pytorch_state_dict_loads_and_training_continues_alike(name, options):
    rng, ours, theirs, opt, ref = _both(name, options, seed=1)
    for _ in range(5):
        _step_both(rng, ours, theirs, opt, ref)
    saved = ref.state_dict()
    state = {i: {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
             for i, s in saved["state"].items()}  # fmt: skip
    fresh = getattr(optim, name)(ours, lr=0.5)
    fresh.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    for _ in range(10):
        _step_both(rng, ours, theirs, fresh, ref)
    for p, q in zip(ours, theirs):
        _within(p.data, q.detach().numpy(), f"{name} after loading PyTorch's state")


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=1e-3)),
]


@pytest.mark.parametrize(("name", "options"), SCHEDULERS)
def test_schedulers_give_pytorchs_lr_sequence(name, options):
    ours_opt = optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": lr} for lr in (0.1, 0.3)])
    theirs_opt = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": lr}
                                  for lr in (0.1, 0.3)])  # fmt: skip
    ours = getattr(lr_scheduler, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options)
    for epoch in range(40):
        ours_opt.step()
        theirs_opt.step()
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-13,
                                   atol=1e-15, err_msg=f"{name} epoch {epoch}")  # fmt: skip
        ours.step()
        theirs.step()


def test_reduce_on_plateau_gives_pytorchs_lr_sequence():
    ours_opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    options = dict(factor=0.5, patience=2, cooldown=1, threshold=1e-2, min_lr=1e-3)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **options)
    metrics = np.random.default_rng(0).permutation(np.repeat(np.linspace(1.0, 0.5, 10), 4))
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == theirs.get_last_lr()


@pytest.mark.parametrize(("name", "options"), SCHEDULERS)
def test_schedulers_built_to_resume_at_an_epoch_give_pytorchs_lrs(name, options):
    """``last_epoch=k`` with groups that hold ``initial_lr`` (as a loaded optimizer's do)."""
    ours_opt = optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": 0.07, "initial_lr": 0.2}])
    theirs_opt = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": 0.07,
                                   "initial_lr": 0.2}])  # fmt: skip
    ours = getattr(lr_scheduler, name)(ours_opt, **options, last_epoch=4)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options, last_epoch=4)
    for epoch in range(20):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-13,
                                   atol=1e-15, err_msg=f"{name} epoch {epoch}")  # fmt: skip
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
