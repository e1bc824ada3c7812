"""Function transformations in the style of HIPS autograd: ``grad``, ``value_and_grad``, ``hvp``.

``al.grad(f)`` returns a function computing the gradient of a scalar ``f`` with respect to its
arguments. Called on arrays it returns arrays; called on Tensors that are themselves being
differentiated (inside another ``grad``) it returns Tensors that stay in the graph, so
``al.grad(al.grad(f))`` gives second derivatives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_lite.engine import gradients
from autograd_lite.errors import BackwardError, InvalidInputError, ShapeError
from autograd_lite.modes import STATE
from autograd_lite.replay import CheckedReplayedGradient, ReplayedGradient, evaluate
from autograd_lite.tensor import Tensor, as_array

__all__ = ["grad", "value_and_grad", "hvp"]


def _check_every(replay: Any, check_every: int | None) -> int:
    """How often a replayed gradient is checked against the eager graph (0: never)."""
    if replay not in (False, True, "check") or replay.__class__ not in (bool, str):
        raise InvalidInputError(f"grad: replay must be False, True or 'check', got {replay!r}")
    if check_every is None:
        return 1 if replay == "check" else 0
    if check_every.__class__ is not int or check_every < 1:
        raise InvalidInputError(
            f"grad: check_every must be a positive int (check every N-th call), got {check_every!r}"
        )
    if not replay:
        raise InvalidInputError("grad: check_every checks a replay; give replay=True too")
    return check_every


def value_and_grad(
    f: Callable[..., Tensor],
    argnums: int | Sequence[int] = 0,
    *,
    replay: bool | str = False,
    check_every: int | None = None,
) -> Callable[..., tuple[Any, Any]]:
    """Like :func:`grad`, but the returned function gives ``(f(*args), gradient)``."""
    return _transform(f, argnums, replay, check_every, gradient_only=False)


def _transform(
    f: Callable[..., Tensor], argnums: Any, replay: Any, check_every: Any, gradient_only: bool
) -> Callable[..., Any]:
    every = _check_every(replay, check_every)
    single = isinstance(argnums, int)
    nums = [argnums] if isinstance(argnums, int) else list(argnums)

    def value_and_gradient(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        # Nested: inside another grad's evaluation, or given Tensors of an outer graph.
        nested = STATE.depth > 0 or any(
            isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values())
        )
        prepared = list(args)
        for n in nums:
            if not -len(args) <= n < len(args):
                raise BackwardError(
                    f"grad: argnums {n} is out of range for {len(args)} argument(s)"
                )
            if not (isinstance(args[n], Tensor) and args[n].requires_grad):  # else: through it
                prepared[n] = Tensor(as_array(args[n], what="grad"), requires_grad=True)
        out = evaluate(f, prepared, kwargs)
        wrt = [prepared[n] for n in nums]
        if not out.requires_grad:  # f does not depend on the arguments
            grads = [np.zeros_like(x.data) for x in wrt]
            grads = [Tensor._constant(g) for g in grads] if nested else grads
        else:
            grads = gradients(out, wrt, create_graph=nested, retain_graph=nested)
        return out if nested else out.data, (grads[0] if single else tuple(grads))

    def gradient(*args: Any, **kwargs: Any) -> Any:
        return value_and_gradient(*args, **kwargs)[1]

    name = getattr(f, "__name__", "f")
    value_and_gradient.__name__, gradient.__name__ = f"value_and_grad_{name}", f"grad_{name}"
    made = (f, argnums, value_and_gradient, gradient_only)
    if every:
        return CheckedReplayedGradient(*made, check_every=every)
    if replay:
        return ReplayedGradient(*made)
    return gradient if gradient_only else value_and_gradient


def grad(
    f: Callable[..., Tensor],
    argnums: int | Sequence[int] = 0,
    *,
    replay: bool | str = False,
    check_every: int | None = None,
) -> Callable[..., Any]:
    """The gradient of a scalar-valued function, as a function.

    ``f`` takes Tensors and returns a one-element Tensor; ``argnums`` says which positional
    arguments to differentiate. The result takes the same arguments and returns the gradient
    (a tuple of them when ``argnums`` is a sequence): ndarrays, or Tensors in the graph when
    called inside another ``grad``.

    ``replay=True`` records ``f``'s graph on the first call for each signature (shapes and
    dtypes of the array arguments, values of the others) and replays it on later calls instead
    of rebuilding it: same ops, same vjps, bitwise the same results, a fraction of the Python
    overhead (:mod:`autograd_lite.replay`). ``f`` must then compute everything that depends on
    its array arguments with autograd_lite ops, and run the same ops whatever the values (no
    Python ``if`` on data), as for ``jax.jit``. What replay guards and what it cannot see is
    listed under "Replay" in the design notes. ``replay="check"`` also runs the eager graph at
    every call (``check_every=N``: at calls 1, N+1, 2N+1 ...) and raises
    :class:`~autograd_lite.errors.ReplayError` at the first bitwise difference, naming the value
    or argument gradient that differs: use it to test a function before ``replay=True``.

    >>> import numpy as np, autograd_lite as al
    >>> df = al.grad(lambda x: (x ** 3).sum())
    >>> df(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> d2f = al.grad(lambda x: df(x).sum())
    >>> d2f(np.array([1.0, 2.0]))
    array([ 6., 12.])
    """
    return _transform(f, argnums, replay, check_every, gradient_only=True)


def hvp(f: Callable[[Tensor], Tensor], x: Any, v: Any) -> np.ndarray:
    """The Hessian of scalar ``f`` (a function of one Tensor) at ``x`` times the vector ``v``
    (of ``x``'s shape), by reverse-over-reverse: ``∇ₓ (∇ₓf(x) · v)``, two backward passes,
    never the full Hessian.

    >>> import numpy as np, autograd_lite as al
    >>> f = lambda x: (x ** 3).sum()          # H = diag(6 x)
    >>> al.hvp(f, np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    point = Tensor(as_array(x, what="hvp"), requires_grad=True)
    direction = as_array(v, what="hvp")
    if direction.shape != point.shape:
        raise ShapeError(
            f"hvp: v has shape {direction.shape} but x has shape {point.shape}; they must match"
        )
    (g,) = gradients(evaluate(f, [point], {}), [point], create_graph=True)
    if not isinstance(g, Tensor) or not g.requires_grad:
        return np.zeros_like(point.data)  # the gradient does not depend on x: H = 0
    (hv,) = gradients((g * direction).sum(), [point])
    return hv
