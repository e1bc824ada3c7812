"""optim.lr_scheduler: StepLR, ExponentialLR, CosineAnnealingLR against their closed forms,
ReduceLROnPlateau against its rule, PyTorch's call order, state_dict. (PyTorch's own
sequences: tests/test_optim_torch.py.)"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import nn, optim
from autograd_lite.errors import AutogradLiteError, InvalidInputError, TrainingError
from autograd_lite.optim import lr_scheduler


def _optimizer(lrs=(0.1,)):
    return optim.SGD([{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=1.0)


def _sequence(opt, sched, epochs):
    out = []
    for _ in range(epochs):
        opt.step()
        out.append(sched.get_last_lr())
        sched.step()
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(lrs=st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3), step_size=st.integers(1, 7),
       gamma=st.floats(0.05, 1.0))  # fmt: skip
def test_step_lr_is_its_closed_form(lrs, step_size, gamma):
    opt = _optimizer(lrs)
    got = _sequence(opt, lr_scheduler.StepLR(opt, step_size, gamma), 30)
    t = np.arange(30)[:, None]
    np.testing.assert_allclose(got, np.array(lrs) * gamma ** (t // step_size), rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(lrs=st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3), gamma=st.floats(0.5, 1.0))
def test_exponential_lr_is_its_closed_form(lrs, gamma):
    opt = _optimizer(lrs)
    got = _sequence(opt, lr_scheduler.ExponentialLR(opt, gamma), 30)
    np.testing.assert_allclose(got, np.array(lrs) * gamma ** np.arange(30)[:, None], rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(lrs=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3), t_max=st.integers(1, 12),
       eta_min=st.sampled_from([0.0, 1e-4]))  # fmt: skip
def test_cosine_annealing_is_its_closed_form_over_several_cycles(lrs, t_max, eta_min):
    opt = _optimizer(lrs)
    epochs = 3 * t_max + 2
    got = _sequence(opt, lr_scheduler.CosineAnnealingLR(opt, t_max, eta_min), epochs)
    t = np.arange(epochs)[:, None]
    want = eta_min + (np.array(lrs) - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(lrs))


def test_reduce_on_plateau_waits_patience_epochs_then_cools_down():
    opt = _optimizer((1.0, 0.5))
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1,
                                           min_lr=[0.2, 0.0])  # fmt: skip
    metrics = [10, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8]
    lrs = []
    for metric in metrics:
        sched.step(metric)
        lrs.append(sched.get_last_lr())
    # bad epochs after 9: 1, 2, 3 (> patience: halve), cooldown 1 epoch, then 1, 2, 3 ...
    assert [lr[0] for lr in lrs] == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert lrs[-1][1] == 0.125
    sched.step(1.0)
    for _ in range(10):
        sched.step(5.0)
    assert sched.get_last_lr()[0] == 0.2  # min_lr of group 0


@pytest.mark.parametrize(
    ("mode", "threshold_mode", "best", "metric", "better"),
    [("min", "rel", 1.0, 0.9999, False), ("min", "rel", 1.0, 0.9998, True),
     ("min", "abs", 1.0, 0.99995, False), ("max", "rel", 1.0, 1.0002, True),
     ("max", "abs", 1.0, 1.00005, False)],
)  # fmt: skip
def test_reduce_on_plateau_thresholds(mode, threshold_mode, best, metric, better):
    sched = lr_scheduler.ReduceLROnPlateau(_optimizer(), mode=mode, threshold_mode=threshold_mode)
    assert sched.is_better(metric, best) is better


def test_the_first_lr_is_the_initial_one_and_initial_lr_is_recorded():
    opt = _optimizer((0.3,))
    sched = lr_scheduler.StepLR(opt, 1, 0.5)
    assert opt.param_groups[0]["initial_lr"] == 0.3 and sched.get_last_lr() == [0.3]
    assert sched.last_epoch == 0


def test_stepping_the_scheduler_before_the_optimizer_warns():
    opt = _optimizer()
    sched = lr_scheduler.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt, sched = _optimizer(), None
    sched = lr_scheduler.ExponentialLR(opt, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


@pytest.mark.parametrize(
    "make",
    [lambda o: lr_scheduler.StepLR(o, 3, 0.5), lambda o: lr_scheduler.ExponentialLR(o, 0.9),
     lambda o: lr_scheduler.CosineAnnealingLR(o, 7, 0.01)],
)  # fmt: skip
def test_schedulers_resume_from_their_state_dict(make):
    opt = _optimizer((0.2, 0.1))
    whole = _sequence(opt, make(opt), 12)
    opt1 = _optimizer((0.2, 0.1))
    sched1 = make(opt1)
    first = _sequence(opt1, sched1, 5)
    saved_opt, saved_sched = opt1.state_dict(), sched1.state_dict()
    opt2 = _optimizer((0.9, 0.9))
    opt2.load_state_dict(saved_opt)  # brings initial_lr and the current lr
    sched2 = make(opt2)
    sched2.load_state_dict(saved_sched)
    second = _sequence(opt2, sched2, 7)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_reduce_on_plateau_resumes_from_its_state_dict():
    opt = _optimizer()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for metric in (3, 2, 2):
        sched.step(metric)
    other = lr_scheduler.ReduceLROnPlateau(_optimizer(), patience=1)
    other.load_state_dict(sched.state_dict())
    assert other.best == 2 and other.num_bad_epochs == 1 and other.last_epoch == 3


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: lr_scheduler.StepLR(o, 0), TrainingError, "StepLR: step_size .* 0"),
        (lambda o: lr_scheduler.StepLR(o, 2, gamma=-1), TrainingError, "StepLR: gamma"),
        (lambda o: lr_scheduler.ExponentialLR(o, math.nan), TrainingError, "ExponentialLR"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, 2.5), TrainingError, "T_max"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, 5, eta_min=-1), TrainingError, "eta_min"),
        (lambda o: lr_scheduler.StepLR(o, 2, last_epoch=3), TrainingError, "initial_lr"),
        (lambda o: lr_scheduler.StepLR("sgd", 2), InvalidInputError, "optimizer"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), TrainingError, "factor"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), TrainingError, "mode"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), TrainingError, "patience"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0, 0]), TrainingError, "min_lr"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o).step("x"), InvalidInputError, "metric"),
    ],
)  # fmt: skip
def test_bad_scheduler_arguments_raise_typed_errors(make, error, match):
    with pytest.raises(error, match=match) as info:
        make(_optimizer())
    assert isinstance(info.value, AutogradLiteError)
