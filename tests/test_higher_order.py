"""Gradients of gradients: analytic second derivatives, Hessians against finite differences,
third derivatives, the gradient of a gradient norm, and user-defined ops under create_graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as al
from autograd_lite import errors

try:  # tests/ is not a package: pytest puts it on sys.path
    from reference import assert_close, numeric_grad, numeric_hessian
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.reference import assert_close, numeric_grad, numeric_hessian

FAST = settings(max_examples=25, deadline=None)


def leaf(value):
    return al.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def vectors(lo=-2.0, hi=2.0, max_side=4):
    return hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=max_side),
        elements=st.floats(lo, hi, allow_nan=False, allow_subnormal=False),
    )


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


# name: (f on Tensors, f', f'', domain)
ELEMENTWISE = {
    "tanh": (lambda t: t.tanh(), lambda v: 1 - np.tanh(v) ** 2,
             lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2), (-2.0, 2.0)),
    "sigmoid": (lambda t: t.sigmoid(), lambda v: _sig(v) * (1 - _sig(v)),
                lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v)), (-4.0, 4.0)),
    "exp": (lambda t: t.exp(), np.exp, np.exp, (-2.0, 2.0)),
    "log": (lambda t: t.log(), lambda v: 1 / v, lambda v: -1 / v**2, (0.2, 3.0)),
    "sigmoid_prime": (al.sigmoid_prime, lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v)),
                      lambda v: _sig(v) * (1 - _sig(v)) * (1 - 6 * _sig(v) + 6 * _sig(v) ** 2),
                      (-3.0, 3.0)),
    "cube": (lambda t: t**3, lambda v: 3 * v**2, lambda v: 6 * v, (-2.0, 2.0)),
    "recip": (lambda t: 1.0 / t, lambda v: -1 / v**2, lambda v: 2 / v**3, (0.5, 2.0)),
    "softplus": (lambda t: (1.0 + t.exp()).log(), _sig, lambda v: _sig(v) * (1 - _sig(v)),
                 (-3.0, 3.0)),
}  # fmt: skip


@FAST
@given(st.sampled_from(sorted(ELEMENTWISE)), st.data())
def test_second_derivative_via_grad_of_grad(name, data):
    f, d1, d2, (lo, hi) = ELEMENTWISE[name]
    x = data.draw(vectors(lo, hi))
    df = al.grad(lambda t: f(t).sum())
    d2f = al.grad(lambda t: df(t).sum())
    assert_close(df(x), d1(x), rtol=1e-9, atol=1e-12, what=f"{name}'")
    assert_close(d2f(x), d2(x), rtol=1e-8, atol=1e-11, what=f"{name}''")


@FAST
@given(st.sampled_from(sorted(ELEMENTWISE)), st.data())
def test_second_derivative_via_backward_create_graph(name, data):
    f, d1, d2, (lo, hi) = ELEMENTWISE[name]
    x0 = data.draw(vectors(lo, hi))
    x = leaf(x0)
    f(x).sum().backward(create_graph=True)
    first = x.grad
    assert isinstance(first, al.Tensor) and first.requires_grad
    assert_close(first.data, d1(x0), rtol=1e-9, atol=1e-12, what=f"{name}'")
    x.zero_grad()
    first.sum().backward()
    assert isinstance(x.grad, np.ndarray)
    assert_close(x.grad, d2(x0), rtol=1e-8, atol=1e-11, what=f"{name}''")


@FAST
@given(st.sampled_from(sorted(ELEMENTWISE)), st.data())
def test_hvp_matches_finite_differences_of_the_gradient(name, data):
    f, _, d2, (lo, hi) = ELEMENTWISE[name]
    x = data.draw(vectors(lo, hi))
    v = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1, 1)))
    scalar = lambda t: f(t).sum()  # noqa: E731
    hv = al.hvp(scalar, x, v)
    grad_f = al.grad(scalar)
    expected = numeric_grad(lambda z: np.sum(grad_f(z) * v), x, eps=1e-5)
    assert_close(hv, expected, rtol=1e-4, atol=1e-6, what=f"hvp {name}")
    assert_close(hv, d2(x) * v, rtol=1e-8, atol=1e-11, what=f"hvp {name} analytic")


def test_derivatives_of_a_0d_cubic_written_as_products():
    # 0-d fan-out (3 uses of x) once lost contributions at every order (fixed in 5d5a3ae)
    cube = lambda t: t * t * t  # noqa: E731
    x0 = np.array(2.0)
    assert_close(al.grad(cube)(x0), 12.0)
    assert_close(al.hvp(cube, x0, np.array(1.0)), 12.0)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_second_derivative_at_a_0d_point(name):
    f, d1, d2, (lo, hi) = ELEMENTWISE[name]
    x0 = np.array((lo + hi) / 2 + 0.1)
    assert_close(al.grad(lambda t: f(t))(x0), d1(x0), rtol=1e-9, what=f"{name}'")
    assert_close(al.grad(al.grad(lambda t: f(t)))(x0), d2(x0), rtol=1e-8, what=f"{name}''")


def test_matmul_chain_second_derivatives_analytic():
    # f(x) = sum(tanh(A x)) ; H = A^T diag(-2 tanh(Ax)(1 - tanh^2(Ax))) A
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 3))
    b = rng.normal(size=(2, 4))
    x0 = rng.normal(size=3)

    def f(x):
        return (b @ (a @ x).tanh()).sum()

    u = a @ x0
    s = b.sum(axis=0)  # d f / d tanh(u)
    expected_grad = a.T @ (s * (1 - np.tanh(u) ** 2))
    expected_hessian = a.T @ np.diag(s * -2 * np.tanh(u) * (1 - np.tanh(u) ** 2)) @ a
    assert_close(al.grad(f)(x0), expected_grad, rtol=1e-10)
    hessian = np.stack([al.hvp(f, x0, e) for e in np.eye(3)], axis=1)
    assert_close(hessian, expected_hessian, rtol=1e-9, atol=1e-12)
    rows = np.stack([al.grad(lambda x, i=i: al.grad(f)(x)[i])(x0) for i in range(3)])
    assert_close(rows, expected_hessian, rtol=1e-9, atol=1e-12)


def test_bilinear_form_hessian_is_the_symmetrised_matrix():
    m = np.arange(9.0).reshape(3, 3) - 4
    f = lambda x: x @ (al.Tensor(m) @ x)  # noqa: E731
    x0 = np.array([0.3, -1.0, 2.0])
    hessian = np.stack([al.hvp(f, x0, e) for e in np.eye(3)], axis=1)
    assert_close(hessian, m + m.T, rtol=1e-12, atol=1e-12)


def _mlp(rng):
    w1 = rng.normal(size=(4, 3)) * 0.8
    b1 = rng.normal(size=(4, 1)) * 0.5
    w2 = rng.normal(size=(2, 4)) * 0.8
    b2 = rng.normal(size=(2, 1)) * 0.5
    xs = rng.normal(size=(3, 5))  # five samples as columns, as in the chapter
    ys = rng.uniform(size=(2, 5))

    def loss(theta):  # theta: the flattened first-layer weights and a scalar temperature
        w = theta[:12].reshape(4, 3)
        h = (w @ al.Tensor(xs) + b1).tanh()
        a = (al.Tensor(w2) @ h * theta[12] + b2).sigmoid()
        return al.quadratic_cost(a, ys) + 0.01 * (theta * theta).sum()

    theta0 = np.concatenate([w1.ravel(), [1.3]])
    return loss, theta0


def test_hessian_of_a_small_mlp_matches_finite_differences():
    loss, theta0 = _mlp(np.random.default_rng(7))
    n = theta0.size
    grad_f = al.grad(loss)
    expected = numeric_hessian(grad_f, theta0, eps=1e-5)
    hessian = np.stack([al.hvp(loss, theta0, e) for e in np.eye(n)], axis=1)
    assert_close(hessian, expected, rtol=1e-4, atol=1e-6, what="MLP Hessian")
    assert_close(hessian, hessian.T, rtol=1e-9, atol=1e-11, what="symmetry")
    # the same Hessian by reverse-over-reverse through backward(create_graph=True)
    theta = leaf(theta0)
    loss(theta).backward(create_graph=True)
    g = theta.grad
    theta.zero_grad()
    row = al.gradients(g[5], [theta])[0]
    assert_close(row, hessian[5], rtol=1e-9, atol=1e-11, what="row 5")


def test_third_and_higher_derivatives_of_a_polynomial():
    # p(x) = x^4 - 2 x^3 + x  : p''' = 24 x - 12, p'''' = 24, p''''' = 0
    p = lambda t: (t**4 - 2 * t**3 + t).sum()  # noqa: E731
    d1 = al.grad(p)
    d2 = al.grad(lambda t: d1(t).sum())
    d3 = al.grad(lambda t: d2(t).sum())
    d4 = al.grad(lambda t: d3(t).sum())
    d5 = al.grad(lambda t: d4(t).sum())
    x = np.array([-1.5, 0.25, 0.5, 2.0])
    assert_close(d1(x), 4 * x**3 - 6 * x**2 + 1, rtol=1e-12)
    assert_close(d2(x), 12 * x**2 - 12 * x, rtol=1e-12, atol=1e-12)
    assert_close(d3(x), 24 * x - 12, rtol=1e-12)
    assert_close(d4(x), np.full(4, 24.0), rtol=1e-12)
    assert_close(d5(x), np.zeros(4), atol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", ["d/dx x**0", "d3/dx3 x**2", "d4/dx4 x**3"])
def test_derivatives_of_powers_at_zero(case):
    power, order = {"d/dx x**0": (0.0, 1), "d3/dx3 x**2": (2, 3), "d4/dx4 x**3": (3, 4)}[case]
    f = lambda t: (t**power).sum()  # noqa: E731
    for _ in range(order):
        f = (lambda g: lambda t: al.grad(g)(t).sum())(f)
    # f is now the sum of the order-th derivative; its value at 0 is what we check
    x = leaf(np.zeros(2))
    value = f(x)
    np.testing.assert_array_equal(value.data, 0.0)


def test_third_derivative_through_backward_create_graph():
    x = leaf([0.5, -1.0])
    (x**5).sum().backward(create_graph=True)
    g1 = x.grad
    x.zero_grad()
    (g2,) = al.gradients(g1.sum(), [x], create_graph=True)
    (g3,) = al.gradients(g2.sum(), [x])
    assert_close(g3, 60 * np.array([0.5, -1.0]) ** 2, rtol=1e-12)


def test_gradient_of_a_gradient_norm():
    # f(x) = sum(x^3): grad = 3 x^2, |grad|^2 = 9 sum x^4, its gradient is 36 x^3
    f = lambda t: (t**3).sum()  # noqa: E731
    df = al.grad(f)
    norm2 = lambda t: (df(t) * df(t)).sum()  # noqa: E731
    x = np.array([0.5, -1.0, 2.0])
    assert_close(al.grad(norm2)(x), 36 * x**3, rtol=1e-12)


def test_gradient_of_a_gradient_norm_of_the_mlp_matches_finite_differences():
    loss, theta0 = _mlp(np.random.default_rng(3))
    grad_f = al.grad(loss)

    def penalty(theta):
        g = grad_f(theta)
        return (g * g).sum()

    got = al.grad(penalty)(theta0)
    expected = numeric_grad(lambda th: float(np.sum(grad_f(th) ** 2)), theta0, eps=1e-5)
    assert_close(got, expected, rtol=1e-4, atol=1e-6, what="grad of grad-norm")


@FAST
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.data(),
)
def test_second_derivatives_through_broadcasting(shapes, data):
    sa, sb = shapes.input_shapes
    a0 = data.draw(hnp.arrays(np.float64, sa, elements=st.floats(0.5, 1.5)))
    b0 = data.draw(hnp.arrays(np.float64, sb, elements=st.floats(0.5, 1.5)))

    def f(a, b):
        return ((a * b + a) ** 2 / b).sum()

    def f_np(a, b):
        return np.sum((a * b + a) ** 2 / b)

    grad_a = al.grad(f, argnums=0)  # first order only: arrays in, arrays out
    a, b = leaf(a0), leaf(b0)
    (ga,) = al.gradients(f(a, b), [a], create_graph=True)
    assert ga.shape == sa
    assert_close(ga.data, numeric_grad(lambda v: f_np(v, b0), a0), rtol=1e-5, what="first")
    mixed_b, mixed_a = al.gradients(ga.sum(), [b, a])
    assert mixed_b.shape == sb and mixed_a.shape == sa
    expected_b = numeric_grad(lambda v: float(np.sum(grad_a(a0, v))), b0, eps=1e-6)
    expected_a = numeric_grad(lambda v: float(np.sum(grad_a(v, b0))), a0, eps=1e-6)
    assert_close(mixed_b, expected_b, rtol=1e-4, atol=1e-6, what="d2f/dadb")
    assert_close(mixed_a, expected_a, rtol=1e-4, atol=1e-6, what="d2f/da2")


@pytest.mark.parametrize("how", ["other_argument", "closure"])
def test_mixed_partials_by_nesting_grad(how):
    a0, b0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    f = lambda a, b: (a * a * b).sum()  # noqa: E731  d2f/da db = 2a
    if how == "other_argument":
        got = al.grad(lambda a, b: al.grad(f, argnums=0)(a, b).sum(), argnums=1)(a0, b0)
    else:
        got = al.grad(lambda b: al.grad(lambda a: f(a, b))(a0).sum())(b0)
    assert_close(got, 2 * a0, rtol=1e-12)


SHAPE_OPS = {
    "softmax": lambda t: (t.softmax(axis=-1) * np.arange(1.0, 4.0)).sum(),
    "log_softmax": lambda t: (t.log_softmax(axis=0) ** 2).sum(),
    "max": lambda t: (t.max(axis=1) ** 3).sum(),
    "mean": lambda t: (t.mean(axis=0) ** 3).sum(),
    "getitem": lambda t: (t[[0, 0, 1], :] ** 3).sum(),
    "concatenate": lambda t: (al.concatenate([t, t * t], axis=1) ** 2).sum(),
    "stack": lambda t: (al.stack([t, t.tanh()]) ** 3).sum(),
    "transpose": lambda t: ((t.T @ t) ** 2).sum(),
    "reshape": lambda t: (t.reshape(-1) ** 3 * np.arange(6.0)).sum(),
    "where": lambda t: al.where(t.data > 0, t**3, t**2).sum(),
    "relu": lambda t: (t.relu() ** 3).sum(),
    "broadcast_to": lambda t: (al.broadcast_to(t, (4, 2, 3)) ** 3).sum(),
    "log_likelihood": lambda t: al.log_likelihood_cost(t, np.array([2, 0])),
    "cross_entropy": lambda t: al.cross_entropy_cost(t.sigmoid(), np.full((2, 3), 0.3)),
    "cross_entropy_logits": lambda t: al.cross_entropy_cost(t, np.full((2, 3), 0.3), logits=True),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_hessian_vector_products_through_every_op(name):
    f = SHAPE_OPS[name]
    rng = np.random.default_rng(len(name))
    x = rng.uniform(-1.5, 1.5, size=(2, 3))
    v = rng.normal(size=(2, 3))
    grad_f = al.grad(f)
    expected = numeric_grad(lambda z: float(np.sum(grad_f(z) * v)), x, eps=1e-6)
    assert_close(al.hvp(f, x, v), expected, rtol=1e-4, atol=1e-6, what=name)


# -- user-defined ops under create_graph -------------------------------------------------------
def _numpy_cube():
    @al.primitive
    def cube(x):
        return x**3

    cube.defvjp(lambda g, out, x: 3 * np.square(x) * g)
    return cube


class NumpySquare(al.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.square(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * np.multiply(x, grad)


def test_numpy_vjp_first_order_still_works_under_create_graph():
    x = leaf([1.0, 2.0])
    y = _numpy_cube()(x).sum() + NumpySquare.apply(x).sum()
    (g,) = al.gradients(y, [x], create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2 + 2 * x.data)


@pytest.mark.parametrize("kind", ["primitive", "Function"])
@pytest.mark.parametrize("how", ["grad_of_grad", "backward_create_graph", "hvp"])
def test_second_derivative_of_a_numpy_vjp_raises_higher_order_error(kind, how):
    op = _numpy_cube() if kind == "primitive" else NumpySquare.apply
    f = lambda t: (op(t) * 2.0).sum() + (t * t).sum()  # noqa: E731
    x0 = np.array([1.0, 2.0])
    with pytest.raises(errors.HigherOrderError) as info:
        if how == "grad_of_grad":
            al.grad(lambda t: al.grad(f)(t).sum())(x0)
        elif how == "hvp":
            al.hvp(f, x0, np.ones(2))
        else:
            x = leaf(x0)
            f(x).backward(create_graph=True)
            g = x.grad
            x.zero_grad()
            g.sum().backward()
    assert isinstance(info.value, errors.BackwardError)
    assert ("cube" if kind == "primitive" else "NumpySquare") in str(info.value)


def test_differentiable_primitive_gives_correct_second_derivatives():
    @al.primitive(differentiable=True)
    def cube(x):
        return x**3

    cube.defvjp(lambda g, out, x: 3 * x * x * g)
    x0 = np.array([0.5, -2.0])
    d2 = al.grad(lambda t: al.grad(lambda u: cube(u).sum())(t).sum())(x0)
    assert_close(d2, 6 * x0, rtol=1e-12)
    assert_close(al.hvp(lambda t: (cube(t) * t).sum(), x0, np.ones(2)), 12 * x0**2, rtol=1e-12)


def test_differentiable_function_gives_correct_second_derivatives():
    class Cube(al.Function):
        differentiable = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    class ExpOut(al.Function):  # saves its output, not its input
        differentiable = True

        @staticmethod
        def forward(ctx, x):
            out = np.exp(x)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return out * grad

    x0 = np.array([0.5, -1.0])
    assert_close(al.hvp(lambda t: Cube.apply(t).sum(), x0, np.ones(2)), 6 * x0, rtol=1e-12)
    assert_close(
        al.hvp(lambda t: (ExpOut.apply(t) * t).sum(), x0, np.ones(2)),
        np.exp(x0) * (x0 + 2),
        rtol=1e-12,
    )
    third = al.grad(
        lambda t: al.grad(lambda u: al.grad(lambda w: Cube.apply(w).sum())(u).sum())(t).sum()
    )(x0)
    assert_close(third, np.full(2, 6.0), rtol=1e-12)


def test_differentiable_function_saving_a_non_input_refuses_second_derivatives():
    class SavesDerived(al.Function):
        differentiable = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x * 2)  # neither an input nor the output
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (two_x,) = ctx.saved_tensors
            return two_x * grad

    x = leaf([1.0, 2.0])
    SavesDerived.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])  # first order is fine
    with pytest.raises(errors.HigherOrderError, match="saved_tensors"):
        al.hvp(lambda t: SavesDerived.apply(t).sum(), np.array([1.0, 2.0]), np.ones(2))


def test_linear_function_has_zero_second_derivative():
    f = lambda t: (t * 3.0 + 1.0).sum()  # noqa: E731
    x0 = np.array([1.0, 2.0])
    np.testing.assert_array_equal(al.grad(lambda t: al.grad(f)(t).sum())(x0), [0.0, 0.0])
    np.testing.assert_array_equal(al.hvp(f, x0, np.ones(2)), [0.0, 0.0])


def test_create_graph_does_not_leak_into_grad_enabled_state():
    x = leaf([1.0])
    y = (x * x * x).sum()
    with al.no_grad():
        (g,) = al.gradients(y, [x], create_graph=True)
        assert not al.is_grad_enabled()
    assert g.requires_grad
    (h,) = al.gradients(g.sum(), [x])
    np.testing.assert_allclose(h, [6.0])
