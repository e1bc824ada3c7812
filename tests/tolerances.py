"""Round-off tolerances computed from the data, with the error analysis that justifies them.

A test that compares two floating-point computations of the same exact quantity may only ask
that they agree to within what rounding can explain. The standard bounds (Higham, *Accuracy
and Stability of Numerical Algorithms*, 2nd ed., ch. 3) used here, with ``eps`` the dtype's
machine epsilon (twice the unit round-off ``u``, so each bound already has a factor 2 of margin):

* a sum of ``n`` terms, in any order or blocking: ``|fl(sum) - sum| <= n * eps * sum(|x_i|)``;
  two orders of the same sum therefore differ by at most ``2 * n * eps * sum(|x_i|)``;
* each entry of a matrix product ``A @ B`` with inner dimension ``n`` (BLAS or not, FMA or not):
  ``|fl(AB) - AB| <= n * eps * (|A| @ |B|)``;
* a product or quotient of ``k`` rounded factors: relative error ``k * eps``.

The bound is *relative to the magnitudes summed*, not to the result: where large terms cancel,
the result is small but its error is not, and a tolerance relative to the result (or a fixed
constant such as ``1e-13``) then fails by chance on some draws. For Nielsen's networks the
layer-by-layer analysis is :func:`autograd_lite.nielsen.compare.round_off_bounds`.
"""

from __future__ import annotations

import numpy as np


def eps_of(*arrays) -> float:
    """Machine epsilon of the arrays' common floating dtype (float64 for integers)."""
    dtype = np.result_type(*arrays)
    return float(np.finfo(dtype if np.issubdtype(dtype, np.inexact) else np.float64).eps)


def sum_bound(abs_sum, n: int, eps: float = float(np.finfo(np.float64).eps)):
    """Bound on ``|fl(sum) - sum|`` of ``n`` terms whose absolute values sum to ``abs_sum``."""
    return max(n, 1) * eps * np.asarray(abs_sum, dtype=np.float64)


def assert_within(got, want, bound, what: str = "") -> None:
    """Assert ``|got - want| <= bound`` entry by entry (``bound`` broadcasts); say where not.

    ``bound`` is the whole allowed difference: for two computations each within ``b`` of the
    exact value, pass ``2 * b``.
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    diff = np.abs(got - want)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), diff.shape)
    bad = ~(diff <= bound)
    if np.any(bad):
        i = tuple(
            int(k)
            for k in np.unravel_index(np.argmax(np.where(bad, diff - bound, -np.inf)), diff.shape)
        )
        raise AssertionError(
            f"{what}: |got - want| = {diff[i]:.3e} at {i} exceeds the round-off bound "
            f"{bound[i]:.3e} ({int(bad.sum())} of {diff.size} entries)"
        )


def backprop_bounds(net, X, Y):
    """:func:`round_off_bounds` for a network object (manual or autodiff) and a batch."""
    from autograd_lite.nielsen.compare import round_off_bounds

    return round_off_bounds(net.weights, net.biases, X, Y, net.cost.name)


def cost_bound(net, X, Y) -> float:
    """Bound on the round-off of ``net.cost.fn(feedforward(X), Y)`` (the summed cost).

    ``a = sigma(z^L)`` is off by a relative ``r = E_L + 3 eps`` (``E_L`` from
    :func:`backprop_bounds`). Quadratic: ``d = a - y`` is off by ``(r + eps)(a + |y|)``, so
    ``sum d^2 / 2`` by ``sum |d| (r + eps)(a + |y|)`` plus its own summation,
    ``(N + 2) eps sum d^2 / 2``. Cross-entropy: ``ln a`` is off by ``r + eps |ln a|`` and
    ``ln(1 - a)`` by ``a r / (1 - a) + eps |ln(1 - a)|`` (unbounded as ``a -> 1``: the cost of a
    saturated unit is ill-conditioned), plus the summation of the ``N`` terms.
    """
    eps = eps_of(*net.weights)
    r = backprop_bounds(net, X, Y).z_error[-1] + 3 * eps
    a = np.asarray(net.feedforward(X), dtype=np.float64)
    y = np.asarray(Y, dtype=np.float64)
    n = a.size
    if net.cost.name == "quadratic":
        d = np.abs(a - y)
        return float(np.sum(d * (r + eps) * (a + np.abs(y))) + (n + 2) * eps * np.sum(d * d) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a, log_1ma = np.abs(np.log(a)), np.abs(np.log1p(-a))
        terms = np.abs(y) * (r + 2 * eps * log_a) + np.abs(1 - y) * (
            a * r / (1 - a) + 2 * eps * log_1ma
        )
        total = np.abs(y) * log_a + np.abs(1 - y) * log_1ma
    return float(np.nansum(terms) + (n + 2) * eps * np.nansum(total))


def sync_parameters(source, *targets) -> None:
    """Give every target network copies of ``source``'s weights and biases."""
    for target in targets:
        target.weights = [w.copy() for w in source.weights]
        target.biases = [b.copy() for b in source.biases]


def step_bounds(bounds, before, after, eta: float, m: int, dtype=np.float64) -> list[np.ndarray]:
    """Bounds on one SGD step ``p - (eta / m) * nabla`` from the same parameters ``before``.

    ``before`` and ``after`` list the weights then the biases (before and after one of the
    steps); ``bounds`` is :func:`backprop_bounds` at ``before``. The step scales the gradient's
    error by ``eta / m`` and adds three roundings (``eta / m``, the product, the difference),
    each within ``eps`` of ``|p| + |(eta / m) nabla|``, the latter being ``|after - before|`` to
    first order. Returns, per parameter, the bound on ``|computed step - exact step|``.
    """
    eps = float(np.finfo(dtype).eps)
    scale = eta / m
    out = []
    for p, q, bound in zip(before, after, bounds.nabla_w + bounds.nabla_b, strict=True):
        out.append(scale * bound * (1 + eps) + 3 * eps * (np.abs(p) + np.abs(q - p)))
    return out
