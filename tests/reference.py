"""An independent, naive reference for the engine tests: central differences and a tiny
expression language evaluated twice (with autograd_lite and with plain NumPy).

Nothing here imports autograd_lite's own testing helpers: the point is to check the engine
against something that shares no code with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "numeric_grad",
    "numeric_jacobian",
    "numeric_hessian",
    "assert_close",
    "Program",
    "UNARY",
    "BINARY",
]


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function of one float64 array."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = float(f(x.copy()))
        x[index] = old - eps
        down = float(f(x.copy()))
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


def numeric_jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference Jacobian: shape ``f(x).shape + x.shape``."""
    x = np.array(x, dtype=np.float64)
    out_shape = np.shape(f(x.copy()))
    jac = np.zeros(out_shape + x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = np.asarray(f(x.copy()), dtype=np.float64)
        x[index] = old - eps
        down = np.asarray(f(x.copy()), dtype=np.float64)
        x[index] = old
        jac[(Ellipsis,) + index] = (up - down) / (2 * eps)
    return jac


def numeric_hessian(
    grad_f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """The Hessian as the central-difference Jacobian of an (exact) gradient function."""
    return numeric_jacobian(grad_f, x, eps)


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6, what: str = "") -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


# -- a tiny expression language ---------------------------------------------------------------
# Each op has a NumPy meaning written here, independently of autograd_lite.ops, and the name
# of the Tensor expression that should compute the same thing.
UNARY: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda t: t.tanh()),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda t: t.sigmoid()),
    "exp_small": (lambda a: np.exp(0.3 * a), lambda t: (t * 0.3).exp()),
    "square": (lambda a: a * a, lambda t: t * t),
    "neg": (lambda a: -a, lambda t: -t),
    "softplus_log": (lambda a: np.log(1.0 + a * a), lambda t: (1.0 + t * t).log()),
    "scale": (lambda a: 1.7 * a - 0.2, lambda t: 1.7 * t - 0.2),
    "recip": (lambda a: 1.0 / (1.5 + a * a), lambda t: 1.0 / (1.5 + t * t)),
}

BINARY: dict[str, tuple[Callable, Callable]] = {
    "add": (np.add, lambda s, t: s + t),
    "sub": (np.subtract, lambda s, t: s - t),
    "mul": (np.multiply, lambda s, t: s * t),
    "rsub": (lambda a, b: b - a, lambda s, t: t - s),
    "div_safe": (lambda a, b: a / (2.0 + b * b), lambda s, t: s / (2.0 + t * t)),
}


class Program:
    """A straight-line program over a pool of values, all of one shape.

    ``steps`` is a list of ``("u", name, i)`` or ``("b", name, i, j)``: each appends a new value
    computed from earlier ones (indices into the pool, which starts with the inputs). Reuse of
    an index is fan-out; two steps reading one value and a later step joining them is a diamond.
    The output is ``sum(weights_k * value_k)`` over every value, so every node matters.
    """

    def __init__(self, n_inputs: int, steps: Sequence[tuple], seed: int = 0) -> None:
        self.n_inputs = n_inputs
        self.steps = list(steps)
        self.seed = seed

    def _weights(self, count: int, shape: tuple[int, ...]) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        return [rng.uniform(-1.0, 1.0, size=shape) for _ in range(count)]

    def _run(self, inputs: Sequence, unary_index: int, binary_index: int, total: Callable):
        pool = list(inputs)
        for step in self.steps:
            if step[0] == "u":
                _, name, i = step
                pool.append(UNARY[name][unary_index](pool[i]))
            else:
                _, name, i, j = step
                pool.append(BINARY[name][binary_index](pool[i], pool[j]))
        return total(pool)

    def numpy(self, *arrays: np.ndarray) -> float:
        shape = np.shape(arrays[0])
        weights = self._weights(self.n_inputs + len(self.steps), shape)
        return self._run(
            arrays, 0, 0, lambda pool: float(sum(np.sum(w * v) for w, v in zip(weights, pool)))
        )

    def tensor(self, *tensors):
        shape = tensors[0].shape
        weights = self._weights(self.n_inputs + len(self.steps), shape)

        def total(pool):
            out = None
            for w, v in zip(weights, pool):
                term = (v * w).sum()
                out = term if out is None else out + term
            return out

        return self._run(tensors, 1, 1, total)
