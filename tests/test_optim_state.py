"""Parameter groups, zero_grad, state_dict/load_state_dict (training resumes bitwise), and the
typed errors for bad hyper-parameters, for every optimizer."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import nn, optim
from autograd_lite.errors import (
    AutogradLiteError,
    CheckpointError,
    InvalidGradientError,
    InvalidInputError,
    TrainingError,
)

MAKERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-3),
    "SGD nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "SGD plain": lambda ps: optim.SGD(ps, lr=0.1),
    "Adam": lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-2),
    "Adam amsgrad": lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True, maximize=True),
    "AdamW": lambda ps: optim.AdamW(ps, lr=1e-2),
    "RMSprop": lambda ps: optim.RMSprop(ps, momentum=0.9, centered=True, weight_decay=1e-3),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr_decay=0.01, initial_accumulator_value=0.1),
}


def _model(seed=0):
    return nn.Sequential(nn.Linear(4, 5, seed=seed), nn.Tanh(), nn.Linear(5, 2, seed=seed + 1))


def _train(model, opt, batches, sched=None):
    for x, y in batches:
        opt.zero_grad()
        al.quadratic_cost(model(x), y, reduction="mean").backward()
        opt.step()
        if sched is not None:
            sched.step()


def _batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(6, 4)), rng.normal(size=(6, 2))) for _ in range(n)]


@pytest.mark.parametrize("name", list(MAKERS))
def test_training_resumes_bitwise_from_a_state_dict(name):
    batches = _batches(12)
    whole = _model()
    opt = MAKERS[name](whole.parameters())
    _train(whole, opt, batches)

    first = _model()
    opt1 = MAKERS[name](first.parameters())
    _train(first, opt1, batches[:7])
    saved_model, saved_opt = first.state_dict(), opt1.state_dict()
    _train(first, opt1, batches[7:9])  # later steps do not change what was saved
    resumed = _model(seed=5)  # other values: everything comes from the saves
    resumed.load_state_dict(saved_model)
    opt2 = MAKERS[name](resumed.parameters())
    opt2.load_state_dict(saved_opt)
    _train(resumed, opt2, batches[7:])
    for p, q in zip(whole.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_has_pytorchs_layout():
    model = _model()
    groups = [{"params": [model[0].weight, model[0].bias], "lr": 0.5},
              {"params": [model[2].weight, model[2].bias]}]  # fmt: skip
    opt = optim.Adam(groups, lr=0.1, amsgrad=True)
    _train(model, opt, _batches(2))
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.5, 0.1]
    assert sd["param_groups"][1]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert set(sd["state"][2]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][2]["step"] == 2
    assert sd["state"][2]["exp_avg"].shape == (2, 5)
    sd["state"][2]["exp_avg"][...] = 7.0  # a copy
    assert not np.any(opt.state[model[2].weight]["exp_avg"] == 7.0)
    copy.deepcopy(sd)  # plain data


def test_loaded_state_is_copied_and_cast_to_the_parameters_dtype():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    buffer = np.arange(3.0)
    opt.load_state_dict({"state": {0: {"momentum_buffer": buffer}},
                         "param_groups": [{**opt.state_dict()["param_groups"][0]}]})  # fmt: skip
    loaded = opt.state[p]["momentum_buffer"]
    assert loaded.dtype == np.float32 and loaded is not buffer
    # PyTorch's layout, its tensors as arrays and numbers: extra implementation keys dropped
    torch_like = {"state": {0: {"step": np.array(3.0), "exp_avg": np.zeros(3),
                                "exp_avg_sq": np.ones(3)}},
                  "param_groups": [{"lr": 0.01, "betas": (0.9, 0.99), "eps": 1e-8,
                                    "weight_decay": 0, "amsgrad": False, "maximize": False,
                                    "foreach": None, "capturable": False,
                                    "differentiable": False, "fused": None,
                                    "decoupled_weight_decay": False, "params": [0]}]}  # fmt: skip
    adam = optim.Adam([p])
    adam.load_state_dict(torch_like)
    assert adam.state[p]["step"] == 3 and adam.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "group"),
        (lambda sd: sd["param_groups"][0]["params"].pop(), "parameter"),
        (lambda sd: sd["state"].update({9: {}}), "no group"),
        (lambda sd: sd["state"][0].update(exp_avg=np.zeros(7)), "shape"),
        (lambda sd: sd["state"][0].update(velocity=np.zeros(3)), "velocity"),
        (lambda sd: sd["state"][0].update(step=2.5), "step"),
        (lambda sd: sd["param_groups"][0].update(lr=-1.0), "lr"),
        (lambda sd: sd["param_groups"][0].update(betas=(1.0, 0.9)), "betas"),
        (lambda sd: sd.pop("state"), "state"),
    ],
)
def test_a_state_dict_that_does_not_fit_is_refused_and_nothing_changes(change, match):
    p = nn.Parameter(np.ones(3))
    opt = optim.Adam([p])
    p.grad = np.ones(3)
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    sd = opt.state_dict()
    change(sd)
    with pytest.raises(CheckpointError, match=match):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_parameter_groups_have_their_own_options_and_add_param_group():
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.5]
    opt.add_param_group({"params": c, "lr": 0.01})
    assert opt.param_groups[2]["lr"] == 0.01 and opt.param_groups[2]["params"] == [c]
    for p in (a, b, c):
        p.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal([a.data, b.data, c.data], [[0.0, 0.0], [0.9, 0.9],
                                                             [0.99, 0.99]])  # fmt: skip
    with pytest.raises(TrainingError, match="more than once"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TrainingError, match="lr of parameter group 3"):
        opt.add_param_group({"params": [nn.Parameter(1.0)], "lr": 0.0})
    assert len(opt.param_groups) == 3


def test_zero_grad_sets_to_none_or_fills_zeros():
    model = _model()
    opt = optim.Adam(model.parameters())
    _train(model, opt, _batches(1))
    grads = [p.grad for p in model.parameters()]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is g and not np.any(g) for p, g in zip(model.parameters(), grads))
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_closure_is_called_with_gradients_enabled_and_its_loss_returned():
    model, (x, y) = _model(), _batches(1)[0]
    opt = optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = al.quadratic_cost(model(x), y)
        loss.backward()
        return loss

    with al.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, al.Tensor) and model[0].weight.grad is not None


def test_a_batch_size_passed_as_the_closure_is_refused():
    opt = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(InvalidInputError, match=r"step\(batch_size=m\)"):
        opt.step(10)


def test_a_gradient_of_the_wrong_shape_is_refused():
    p = nn.Parameter(np.ones(3))
    p.grad = np.ones(1)  # would broadcast silently
    with pytest.raises(InvalidGradientError, match=r"Adam.step: .*\(3,\).*\(1,\)"):
        optim.Adam([p]).step()


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_parameter_whose_data_is_replaced_is_updated_in_its_new_array(name):
    """A step's scratch arrays follow ``p.data`` (rebound by a module's load_state_dict, or by
    hand) and the group's list of parameters."""
    p, q = nn.Parameter(np.ones(3)), nn.Parameter(np.ones((2, 2)))
    opt = MAKERS[name]([p])
    p.grad = np.full(3, 0.5)
    opt.step()
    new = np.zeros(3)
    p.data = new
    opt.step()
    assert p.data is new and np.all(new != 0)
    opt.param_groups[0]["params"].append(q)
    q.grad = np.ones((2, 2))
    opt.step()
    assert np.all(q.data != 1)
    r = nn.Parameter(np.ones(4))
    r.grad = np.ones(4)
    opt.param_groups[0]["params"][0] = r  # replaced in place: same list, same length
    before = p.data.copy()
    opt.step()
    assert np.all(r.data != 1)
    np.testing.assert_array_equal(p.data, before)


def test_read_only_parameter_arrays_are_updated_as_copies():
    p = nn.Parameter(np.ones(3))
    p.data.flags.writeable = False
    p.grad = np.ones(3)
    optim.Adam([p], lr=0.5).step()
    np.testing.assert_allclose(p.data, 0.5)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: optim.Adam([p], lr=-1e-3), TrainingError, "Adam: lr .* -0.001"),
        (lambda p: optim.Adam([p], lr=math.nan), TrainingError, "Adam: lr"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), TrainingError, r"Adam: betas\[1\].*1.0"),
        (lambda p: optim.Adam([p], betas=(-0.1, 0.9)), TrainingError, r"betas\[0\]"),
        (lambda p: optim.Adam([p], betas=0.9), InvalidInputError, "betas must be a pair"),
        (lambda p: optim.Adam([p], betas=(0.9,)), TrainingError, "betas must be a pair"),
        (lambda p: optim.Adam([p], eps=-1e-8), TrainingError, "Adam: eps .* -1e-08"),
        (lambda p: optim.Adam([p], amsgrad="yes"), InvalidInputError, "amsgrad"),
        (lambda p: optim.AdamW([p], weight_decay=-0.1), TrainingError, "AdamW: weight_decay"),
        (lambda p: optim.RMSprop([p], alpha=1.5), TrainingError, "RMSprop: alpha .* 1.5"),
        (lambda p: optim.RMSprop([p], momentum=-1), TrainingError, "RMSprop: momentum"),
        (lambda p: optim.RMSprop([p], eps=math.inf), TrainingError, "RMSprop: eps"),
        (lambda p: optim.Adagrad([p], lr_decay=-1), TrainingError, "Adagrad: lr_decay"),
        (lambda p: optim.Adagrad([p], initial_accumulator_value=-1), TrainingError,
         "initial_accumulator_value"),
        (lambda p: optim.Adagrad([p], eps=None), InvalidInputError, "Adagrad: eps"),
        (lambda p: optim.SGD([p], momentum=0.0, nesterov=True), TrainingError, "nesterov"),
        (lambda p: optim.SGD([p], momentum=0.9, dampening=0.1, nesterov=True), TrainingError,
         "dampening"),
        (lambda p: optim.SGD([p], dampening=2.0), TrainingError, "dampening"),
        (lambda p: optim.Adam([{"params": [p], "betas": (0.9, 2)}]), TrainingError,
         r"Adam: betas of parameter group 0\[1\]"),
        (lambda p: optim.Adam([{"params": [p], "momentum": 0.9}]), TrainingError, "unknown"),
        (lambda p: optim.Adam([]), TrainingError, "empty"),
    ],
)  # fmt: skip
def test_bad_hyper_parameters_raise_typed_errors_naming_the_optimizer_and_value(make, error, match):
    with pytest.raises(error, match=match) as info:
        make(nn.Parameter([1.0, 2.0]))
    assert isinstance(info.value, AutogradLiteError)


def test_hyper_parameters_are_not_checked_again_at_each_step():
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p])
    opt.param_groups[0]["lr"] = 0.0  # as a scheduler may set it: taken as it is
    p.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(p.data, 1.0)


def test_repr_lists_each_group():
    opt = optim.Adam([nn.Parameter(np.ones(2))], lr=0.01)
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.01" in text
