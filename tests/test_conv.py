"""Convolution and pooling: conv2d, max_pool2d, avg_pool2d and their layers.

Each primitive is checked on hypothesis-drawn shapes, strides, paddings and dilations against a
direct NumPy loop over every output pixel written out here, by gradcheck and gradgradcheck
(its vjps are primitives too), against PyTorch when it is installed, and for its errors. The
CNN example is run for one short epoch and must learn.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import nn, ops
from autograd_lite.errors import InvalidInputError, ShapeError
from autograd_lite.nn import ModuleArgumentError
from autograd_lite.testing import gradcheck, gradgradcheck

ROOT = Path(__file__).resolve().parent.parent
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")


# -- the references: one output pixel at a time --------------------------------------------------
def conv2d_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple,
                 padding: tuple, dilation: tuple) -> np.ndarray:  # fmt: skip
    """``y[n, o, i, j] = b[o] + Σ_{c,p,q} w[o, c, p, q] · xpad[n, c, i·sh + p·dh, j·sw + q·dw]``,
    ``xpad`` being ``x`` with zeros around."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph : ph + h, pw : pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for b_ in range(n):
        for f in range(o):
            for i in range(oh):
                for j in range(ow):
                    total = 0.0 if b is None else b[f]
                    for ch in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                total += (
                                    w[f, ch, p, q] * xp[b_, ch, i * sh + p * dh, j * sw + q * dw]
                                )
                    y[b_, f, i, j] = total
    return y


def pool_loops(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, kind: str,
               dilation: tuple = (1, 1)) -> np.ndarray:  # fmt: skip
    """Each window's max (padding -inf) or mean (padding 0, divided by kh·kw)."""
    n, c, h, wd = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, wd + 2 * pw), fill)
    xp[:, :, ph : ph + h, pw : pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    window = [xp[b, ch, i * sh + p * dh, j * sw + q * dw]
                              for p in range(kh) for q in range(kw)]  # fmt: skip
                    y[b, ch, i, j] = max(window) if kind == "max" else sum(window) / (kh * kw)
    return y


# -- drawn configurations ------------------------------------------------------------------------
pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def conv_cases(draw: Any, max_side: int = 7) -> dict[str, Any]:
    """A convolution whose output is not empty: x, w, b and the parameters."""
    kernel, stride, dilation = draw(pairs), draw(pairs), draw(pairs)
    padding = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    sizes = []
    for k, p, d in zip(kernel, padding, dilation):
        low = max(1, d * (k - 1) + 1 - 2 * p)
        sizes.append(draw(st.integers(low, max(low, max_side))))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, c, *sizes)),
        "w": rng.standard_normal((o, c, *kernel)),
        "b": rng.standard_normal(o) if draw(st.booleans()) else None,
        "stride": stride, "padding": padding, "dilation": dilation,
    }  # fmt: skip


@st.composite
def pool_cases(draw: Any, dilated: bool = True) -> dict[str, Any]:
    """A pooling whose output is not empty; padding at most half the kernel, as PyTorch asks."""
    kernel = draw(pairs)
    stride = draw(st.one_of(st.none(), pairs))
    dilation = draw(pairs) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = [draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7))
             for k, p, d in zip(kernel, padding, dilation)]  # fmt: skip
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    # Distinct values (a permutation) so that max has no ties and finite differences are clean.
    size = n * c * sizes[0] * sizes[1]
    perm = np.random.default_rng(draw(st.integers(0, 2**16))).permutation(size)
    x = (perm - size / 2).reshape(n, c, *sizes) * 0.1
    # A dilated window can fall entirely on the padding (its max is -inf): left out here.
    stride_ = stride or kernel
    assume(np.isfinite(pool_loops(x[:1, :1], kernel, stride_, padding, "max", dilation)).all())
    return {"x": x, "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}


def _conv(case: dict[str, Any]) -> Any:
    return lambda x, w, *b: ops.conv2d(x, w, b[0] if b else None, case["stride"],
                                       case["padding"], case["dilation"])  # fmt: skip


def _conv_inputs(case: dict[str, Any]) -> list[al.Tensor]:
    inputs = [al.Tensor(case["x"], requires_grad=True), al.Tensor(case["w"], requires_grad=True)]
    if case["b"] is not None:
        inputs.append(al.Tensor(case["b"], requires_grad=True))
    return inputs


# -- forward against the loops -------------------------------------------------------------------
@given(conv_cases())
def test_conv2d_matches_the_direct_loops(case: dict[str, Any]) -> None:
    y = ops.conv2d(case["x"], case["w"], case["b"], case["stride"], case["padding"],
                   case["dilation"])  # fmt: skip
    expected = conv2d_loops(case["x"], case["w"], case["b"], case["stride"], case["padding"],
                            case["dilation"])  # fmt: skip
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


@given(pool_cases())
def test_max_pool2d_matches_the_direct_loops(case: dict[str, Any]) -> None:
    stride = case["stride"] or case["kernel"]
    y = ops.max_pool2d(case["x"], case["kernel"], case["stride"], case["padding"], case["dilation"])
    expected = pool_loops(case["x"], case["kernel"], stride, case["padding"], "max",
                          case["dilation"])  # fmt: skip
    np.testing.assert_array_equal(y.data, expected)


@given(pool_cases(dilated=False))
def test_avg_pool2d_matches_the_direct_loops(case: dict[str, Any]) -> None:
    stride = case["stride"] or case["kernel"]
    y = ops.avg_pool2d(case["x"], case["kernel"], case["stride"], case["padding"])
    expected = pool_loops(case["x"], case["kernel"], stride, case["padding"], "avg")
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-14)


# -- gradients and gradients of gradients --------------------------------------------------------
@given(conv_cases(max_side=5))
def test_conv2d_gradcheck_and_gradgradcheck(case: dict[str, Any]) -> None:
    inputs = _conv_inputs(case)
    assert gradcheck(_conv(case), inputs, fast_mode=True)
    assert gradgradcheck(_conv(case), inputs, fast_mode=True)


@given(pool_cases())
def test_max_pool2d_gradcheck_and_gradgradcheck(case: dict[str, Any]) -> None:
    x = al.Tensor(case["x"], requires_grad=True)

    def f(t: al.Tensor) -> al.Tensor:
        y = ops.max_pool2d(t, case["kernel"], case["stride"], case["padding"], case["dilation"])
        return y * y  # (max-pooling is piecewise linear: its own second derivative is 0)

    assert gradcheck(f, [x])
    assert gradgradcheck(f, [x])


@given(pool_cases(dilated=False))
def test_avg_pool2d_gradcheck_and_gradgradcheck(case: dict[str, Any]) -> None:
    x = al.Tensor(case["x"], requires_grad=True)

    def f(t: al.Tensor) -> al.Tensor:
        y = ops.avg_pool2d(t, case["kernel"], case["stride"], case["padding"])
        return y * y

    assert gradcheck(f, [x])
    assert gradgradcheck(f, [x])


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, 0, 1), ((2, 1), (1, 2), (1, 2)), (3, 2, 2)]
)
def test_conv2d_full_jacobians_to_second_order(stride: Any, padding: Any, dilation: Any) -> None:
    rng = np.random.default_rng(1)
    case = {"x": rng.standard_normal((2, 2, 6, 5)), "w": rng.standard_normal((3, 2, 2, 3)),
            "b": rng.standard_normal(3), "stride": stride, "padding": padding,
            "dilation": dilation}  # fmt: skip
    assert gradcheck(_conv(case), _conv_inputs(case))
    assert gradgradcheck(_conv(case), _conv_inputs(case))


def test_the_vjp_primitives_are_differentiable_to_third_order() -> None:
    """The input and weight gradients are themselves primitives whose vjps are convolutions:
    gradients of gradients of gradients stay exact (a cubic in the weights)."""
    rng = np.random.default_rng(2)
    x = al.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = al.Tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)

    def inner(x: al.Tensor, w: al.Tensor) -> al.Tensor:
        (gx,) = al.gradients((ops.conv2d(x, w, padding=1) ** 2).sum(), [x], create_graph=True)
        return gx

    assert gradcheck(inner, [x, w])
    assert gradgradcheck(inner, [x, w], fast_mode=True)
    for op in (ops.conv2d_input_grad, ops.conv2d_weight_grad, ops.max_pool2d_backward,
               ops.avg_pool2d_backward):  # fmt: skip
        assert op.differentiable


def test_a_small_cnn_passes_gradgradcheck() -> None:
    rng = np.random.default_rng(3)
    x = al.Tensor(rng.standard_normal((2, 1, 6, 6)), requires_grad=True)
    w1 = al.Tensor(rng.standard_normal((2, 1, 3, 3)), requires_grad=True)
    w2 = al.Tensor(rng.standard_normal((1, 2, 2, 2)), requires_grad=True)

    def cnn(x: al.Tensor, w1: al.Tensor, w2: al.Tensor) -> al.Tensor:
        h = ops.max_pool2d(al.tanh(ops.conv2d(x, w1, padding=1)), 2)
        return ops.avg_pool2d(al.tanh(ops.conv2d(h, w2)), 2, 1)

    assert gradcheck(cnn, [x, w1, w2])
    assert gradgradcheck(cnn, [x, w1, w2], fast_mode=True)


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum() -> None:
    """PyTorch's CPU convention: one element per window, the first in row-major order."""
    x = al.Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    ops.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0
    np.testing.assert_array_equal(x.grad[0, 0], expected)
    x = al.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)  # overlapping windows add up
    ops.max_pool2d(x, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(4)
    x = al.Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1, seed=0, dtype=np.float32)
    y = nn.AvgPool2d(2)(nn.MaxPool2d(2, 1)(conv(x)))
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == np.float32


def test_replay_gives_the_eager_gradients() -> None:
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((2, 1, 3, 3))

    def loss(w: Any) -> al.Tensor:
        return (ops.max_pool2d(al.relu(ops.conv2d(x, w, stride=1, padding=1)), 2) ** 2).sum()

    replayed = al.grad(loss, replay=True)
    for scale in (1.0, -0.5):  # the second call runs the replay
        np.testing.assert_allclose(replayed(w * scale), al.grad(loss)(w * scale), rtol=1e-12)


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: ops.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3, 3))), ShapeError,
         ["conv2d", "4-D", "(3, 5, 5)", "x[None]"]),
        (lambda: ops.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 3, 3, 3))), ShapeError,
         ["conv2d", "(1, 2, 5, 5)", "2 channels", "(2, 3, 3, 3)"]),
        (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3))), ShapeError,
         ["conv2d", "weight", "(2, 3, 3)"]),
        (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), np.ones(3)),
         ShapeError, ["conv2d", "bias", "(2,)", "(3,)"]),
        (lambda: ops.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), ShapeError,
         ["conv2d", "kernel (3, 3)", "(2, 2)"]),
        (lambda: ops.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), ShapeError,
         ["conv2d", "stride", ">= 1"]),
        (lambda: ops.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=1.5),
         InvalidInputError, ["conv2d", "padding", "pair of ints"]),
        (lambda: ops.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ShapeError,
         ["max_pool2d", "at most half"]),
        (lambda: ops.max_pool2d(np.ones((4, 4)), 2), ShapeError, ["max_pool2d", "(4, 4)"]),
        (lambda: ops.avg_pool2d(np.ones((1, 1, 2, 2)), 3), ShapeError,
         ["avg_pool2d", "kernel (3, 3)", "(2, 2)"]),
        (lambda: nn.Conv2d(0, 2, 3), ModuleArgumentError, ["Conv2d", "in_channels"]),
        (lambda: nn.Conv2d(1, 2, (3, 3, 3)), ModuleArgumentError, ["Conv2d", "kernel_size"]),
        (lambda: nn.MaxPool2d(2, stride=0), ModuleArgumentError, ["MaxPool2d", "stride"]),
        (lambda: nn.Conv2d(2, 2, 3, seed=0)(np.ones((1, 3, 5, 5))), ShapeError,
         ["conv2d", "3 channels"]),
    ],
)  # fmt: skip
def test_bad_shapes_and_parameters_are_typed_errors_naming_the_op(
    call: Any, error: type, words: list[str]
) -> None:
    with pytest.raises(error) as raised:
        call()
    for word in words:
        assert word in str(raised.value)


# -- the layers ----------------------------------------------------------------------------------
def test_conv2d_layer_has_pytorchs_layout_and_initialisation() -> None:
    conv = nn.Conv2d(4, 8, (3, 5), seed=0)
    assert [(k, v.shape) for k, v in conv.state_dict().items()] == [
        ("weight", (8, 4, 3, 5)), ("bias", (8,))
    ]  # fmt: skip
    bound = 1 / math.sqrt(4 * 3 * 5)  # kaiming_uniform_(a=√5) = U(±1/√fan_in); bias alike
    for p in (conv.weight.data, conv.bias.data):
        assert np.abs(p).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.15 * bound  # uniform's std
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    a, b = nn.Conv2d(1, 2, 3, seed=7), nn.Conv2d(1, 2, 3, seed=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_pooling_layers() -> None:
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, ops.max_pool2d(x, 2).data)
    np.testing.assert_array_equal(nn.AvgPool2d(2, 1, 1)(x).data, ops.avg_pool2d(x, 2, 1, 1).data)
    assert nn.MaxPool2d(2).parameters() == [] and nn.AvgPool2d(3).parameters() == []
    assert "kernel_size=(2, 2)" in repr(nn.MaxPool2d(2))


# -- against PyTorch -----------------------------------------------------------------------------
def _torch(value: Any) -> Any:
    import torch

    return None if value is None else torch.tensor(value, dtype=torch.float64, requires_grad=True)


@needs_torch
@given(conv_cases())
def test_conv2d_matches_pytorch_to_second_order(case: dict[str, Any]) -> None:
    import torch

    inputs = _conv_inputs(case)
    y = _conv(case)(*inputs)
    tx, tw, tb = _torch(case["x"]), _torch(case["w"]), _torch(case["b"])
    ty = torch.nn.functional.conv2d(tx, tw, tb, case["stride"], case["padding"], case["dilation"])
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(0).standard_normal(y.shape)
    ours = al.gradients(y, inputs, grad_outputs=v, create_graph=True)
    theirs = torch.autograd.grad(ty, [t for t in (tx, tw, tb) if t is not None],
                                 torch.tensor(v), create_graph=True)  # fmt: skip
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.data, other.detach().numpy(), rtol=1e-10, atol=1e-12)
    # second order: the gradient of Σ (∂/∂x)² with respect to w (and x)
    (gw_ours,) = al.gradients((ours[0] ** 2).sum(), [inputs[1]])
    (gw_theirs,) = torch.autograd.grad((theirs[0] ** 2).sum(), [tw])
    np.testing.assert_allclose(gw_ours, gw_theirs.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
@given(pool_cases(), st.sampled_from(["max", "avg"]))
def test_pooling_matches_pytorch(case: dict[str, Any], kind: str) -> None:
    import torch

    F = torch.nn.functional
    x, tx = al.Tensor(case["x"], requires_grad=True), _torch(case["x"])
    args = (case["kernel"], case["stride"], case["padding"])
    if kind == "max":
        y = ops.max_pool2d(x, *args, case["dilation"])
        ty = F.max_pool2d(tx, *args, case["dilation"])
    else:
        y, ty = ops.avg_pool2d(x, *args), F.avg_pool2d(tx, *args)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    v = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(v)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@needs_torch
def test_ties_match_pytorch() -> None:
    import torch

    x = np.round(np.random.default_rng(6).standard_normal((2, 3, 7, 7)))  # many ties
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        ours, theirs = al.Tensor(x, requires_grad=True), _torch(x)
        ops.max_pool2d(ours, **kwargs).sum().backward()
        torch.nn.functional.max_pool2d(theirs, **kwargs).sum().backward()
        np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@needs_torch
def test_state_dict_loads_into_torch_and_back() -> None:
    import torch

    ours = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), seed=0)
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2)).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((2, 3, 9, 8))
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-12, atol=1e-12)
    back = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), seed=1)
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(back(x).data, ours(x).data)
    torch.manual_seed(0)  # torch's own initialisation draws from the same interval
    bound = 1 / math.sqrt(3 * 3 * 2)
    fresh = torch.nn.Conv2d(3, 5, (3, 2))
    assert fresh.weight.abs().max().item() <= bound and fresh.bias.abs().max().item() <= bound


# -- the example ---------------------------------------------------------------------------------
def test_the_cnn_example_learns_in_one_short_epoch(capsys: Any) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import mnist_cnn
    finally:
        sys.path.remove(str(ROOT / "examples"))
    history = mnist_cnn.train(epochs=1, limit=1000, progress=False, lr=0.05)
    assert history[0]["total"] == 2000
    assert history[0]["accuracy"] > 0.3  # chance is 0.1 (seed 0: 49.6% after 32 steps)
    assert "Epoch 0: " in capsys.readouterr().out
    state = mnist_cnn.LeNet(0).state_dict()
    assert [(k, v.shape) for k, v in state.items()][:2] == [
        ("conv1.weight", (6, 1, 5, 5)), ("conv1.bias", (6,))
    ]  # fmt: skip


def test_the_cnn_benchmark_runs_without_pytorch() -> None:
    pytest.importorskip("psutil")
    from benchmarks.bench_compile import CONV, EPOCH, cnn_measure

    result = cnn_measure(None, reps=1, limit=64)
    assert result["steps"] == 2
    assert sorted(result["results"]) == [f"{CONV}: autograd_lite", f"{EPOCH}: autograd_lite"]
