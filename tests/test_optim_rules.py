"""Each optimizer against its update rule written out here in plain NumPy (PyTorch's
pseudo-code, one line per formula, with fresh arrays), as hypothesis properties over the
hyper-parameters, the shapes and the gradient sequence. No PyTorch needed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from autograd_lite import nn, optim

SHAPES = st.lists(array_shapes(min_dims=0, max_dims=3, max_side=5), min_size=1, max_size=3)
STEPS = st.integers(1, 12)
SEEDS = st.integers(0, 2**32 - 1)
unit = st.floats(0.0, 0.999)


def _close(ours, reference, tol=1e-10):
    """Within ``tol`` of the reference, relative to the largest entry of the reference (the
    two do the same arithmetic in different orders, so they differ by roundings)."""
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    assert np.max(np.abs(ours - reference), initial=0.0) <= tol * scale, (ours, reference)


def _run(make, shapes, steps, seed, batch_size=None, skip_every=None):
    """Run ``make(params)`` for ``steps`` steps with normal gradients; yield the gradients
    each step used (None for a skipped parameter) so the test replays them."""
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(rng.normal(size=shape)) for shape in shapes]
    start = [p.data.copy() for p in params]
    opt = make(params)
    history = []
    for t in range(steps):
        grads = [rng.normal(size=shape) for shape in shapes]
        if skip_every and t % skip_every == 1:
            grads[0] = None
        for p, g in zip(params, grads):
            p.grad = None if g is None else g.copy()
        if batch_size is None:
            opt.step()
        else:
            opt.step(batch_size=batch_size)
        history.append(grads)
    return start, history, [p.data for p in params], opt


# -- the rules, written out -------------------------------------------------------------------
def sgd_reference(w, grads, lr, momentum, dampening, weight_decay, nesterov, maximize, m, n):
    """torch.optim.SGD's pseudo-code, with the chapter's g/m and weight_decay/n."""
    b = None
    for grad in grads:
        if grad is None:
            continue
        g = (-grad if maximize else grad) / m + (weight_decay / n) * w
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
    return w


def adam_reference(w, grads, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    beta1, beta2 = betas
    m, v, v_max, t = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), 0
    for grad in grads:
        if grad is None:
            continue
        t += 1
        g = -grad if maximize else grad
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v_hat) + eps)
    return w


def rmsprop_reference(w, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    s, mean, b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for grad in grads:
        if grad is None:
            continue
        g = (-grad if maximize else grad) + weight_decay * w
        s = alpha * s + (1 - alpha) * g**2
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            d = np.sqrt(s - mean**2) + eps
        else:
            d = np.sqrt(s) + eps
        if momentum > 0:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
    return w


def adagrad_reference(w, grads, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                      maximize):  # fmt: skip
    s, t = np.full_like(w, initial_accumulator_value), 0
    for grad in grads:
        if grad is None:
            continue
        t += 1
        g = (-grad if maximize else grad) + weight_decay * w
        s = s + g**2
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return w


def _check(start, history, ended, reference, tol=1e-10):
    for i, (w0, w) in enumerate(zip(start, ended)):
        _close(w, reference(w0, [grads[i] for grads in history]), tol)


# -- the properties ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(shapes=SHAPES, steps=STEPS, seed=SEEDS, lr=st.floats(1e-4, 1.0), momentum=unit,
       dampening=st.sampled_from([0.0, 0.1, 0.5]), weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
       nesterov=st.booleans(), maximize=st.booleans(), m=st.sampled_from([None, 1, 7]),
       n=st.sampled_from([None, 50]))  # fmt: skip
def test_sgd_is_its_rule(shapes, steps, seed, lr, momentum, dampening, weight_decay, nesterov,
                         maximize, m, n):  # fmt: skip
    nesterov = nesterov and momentum > 0 and dampening == 0
    options = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                   nesterov=nesterov, maximize=maximize)  # fmt: skip
    make = lambda ps: optim.SGD(ps, **options, n=n)  # noqa: E731
    start, history, ended, _ = _run(make, shapes, steps, seed, batch_size=m, skip_every=3)
    _check(start, history, ended, lambda w, g: sgd_reference(w, g, **options, m=m or 1, n=n or 1))


@settings(max_examples=60, deadline=None)
@given(shapes=SHAPES, steps=STEPS, seed=SEEDS, lr=st.floats(1e-4, 0.5),
       betas=st.tuples(unit, unit), eps=st.sampled_from([1e-8, 1e-3, 0.1]),
       weight_decay=st.sampled_from([0.0, 1e-2, 0.5]), amsgrad=st.booleans(),
       maximize=st.booleans(), decoupled=st.booleans())  # fmt: skip
def test_adam_and_adamw_are_their_rule(shapes, steps, seed, lr, betas, eps, weight_decay, amsgrad,
                                       maximize, decoupled):  # fmt: skip
    options = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                   maximize=maximize)  # fmt: skip
    cls = optim.AdamW if decoupled else optim.Adam
    start, history, ended, opt = _run(lambda ps: cls(ps, **options), shapes, steps, seed,
                                      skip_every=4)  # fmt: skip
    _check(start, history, ended,
           lambda w, g: adam_reference(w, g, **options, decoupled=decoupled))  # fmt: skip
    assert opt.param_groups[0]["decoupled_weight_decay"] is decoupled


@settings(max_examples=60, deadline=None)
@given(shapes=SHAPES, steps=STEPS, seed=SEEDS, lr=st.floats(1e-4, 0.1),
       alpha=st.floats(0.5, 0.999), eps=st.sampled_from([1e-8, 1e-4, 0.1]),
       weight_decay=st.sampled_from([0.0, 1e-2]), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       centered=st.booleans(), maximize=st.booleans())  # fmt: skip
def test_rmsprop_is_its_rule(shapes, steps, seed, lr, alpha, eps, weight_decay, momentum,
                             centered, maximize):  # fmt: skip
    options = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                   centered=centered, maximize=maximize)  # fmt: skip
    start, history, ended, _ = _run(lambda ps: optim.RMSprop(ps, **options), shapes, steps, seed,
                                    skip_every=5)  # fmt: skip
    # centered: sqrt(s - mean^2) cancels, so the two orders of rounding differ more
    _check(start, history, ended, lambda w, g: rmsprop_reference(w, g, **options),
           tol=1e-8 if centered else 1e-10)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(shapes=SHAPES, steps=STEPS, seed=SEEDS, lr=st.floats(1e-4, 1.0),
       lr_decay=st.sampled_from([0.0, 0.01, 0.5]), weight_decay=st.sampled_from([0.0, 1e-2]),
       initial_accumulator_value=st.sampled_from([0.0, 0.1, 1.0]),
       eps=st.sampled_from([1e-10, 1e-6]), maximize=st.booleans())  # fmt: skip
def test_adagrad_is_its_rule(shapes, steps, seed, lr, lr_decay, weight_decay,
                             initial_accumulator_value, eps, maximize):  # fmt: skip
    options = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                   initial_accumulator_value=initial_accumulator_value,
                   maximize=maximize)  # fmt: skip
    start, history, ended, _ = _run(lambda ps: optim.Adagrad(ps, **options), shapes, steps, seed,
                                    skip_every=2)  # fmt: skip
    _check(start, history, ended, lambda w, g: adagrad_reference(w, g, **options))


# -- defaults ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (optim.SGD, dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                         nesterov=False, maximize=False)),
        (optim.Adam, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                          amsgrad=False, maximize=False, decoupled_weight_decay=False)),
        (optim.AdamW, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                           amsgrad=False, maximize=False, decoupled_weight_decay=True)),
        (optim.RMSprop, dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                             centered=False, maximize=False)),
        (optim.Adagrad, dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10, maximize=False)),
    ],
)  # fmt: skip
def test_defaults_are_pytorchs(cls, expected):
    group = cls([nn.Parameter(np.ones(2))]).param_groups[0]
    assert {k: group[k] for k in expected} == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda ps: optim.Adam(ps, amsgrad=True, weight_decay=0.1, maximize=True),
        lambda ps: optim.AdamW(ps),
        lambda ps: optim.RMSprop(ps, momentum=0.5, centered=True, weight_decay=0.1),
        lambda ps: optim.Adagrad(ps, weight_decay=0.1, lr_decay=0.1),
    ],
)
def test_updates_are_in_place_and_keep_the_dtype(make, dtype):
    p = nn.Parameter(np.linspace(-1.0, 1.0, 6).reshape(2, 3).astype(dtype))
    array = p.data
    opt = make([p])
    for _ in range(3):
        p.grad = np.full((2, 3), 0.5, dtype)
        opt.step()
    assert p.data is array and p.dtype == dtype
    assert all(v.dtype == dtype for v in opt.state[p].values() if isinstance(v, np.ndarray))
    assert math.isfinite(float(np.sum(p.data)))


def test_the_benchmarks_hand_written_adams_are_adam():
    """``python -m benchmarks.bench_compile --adam`` times optim.Adam against hand-written steps
    that compute the same thing (its own check, run here)."""
    from benchmarks.bench_compile import adam_check

    assert adam_check() <= 1e-10
