"""Check analytic gradients against central finite differences.

`gradcheck()` compares the Jacobian that reverse mode computes (through
`autograd_lite.engine.gradients()`, which never touches ``.grad``) with the one that central
differences ``(f(x + ε) − f(x − ε)) / 2ε`` estimate, element by element, for every output
element and every input element. `gradgradcheck()` does the same for the gradient itself,
so it checks second derivatives (``create_graph=True``).

Which inputs are checked
------------------------
``inputs`` is one Tensor or array, or a sequence of Tensors, arrays and other values; ``f`` is
called as ``f(*inputs)``. If any input is a Tensor with ``requires_grad=True``, exactly those
inputs are checked and everything else is passed through as a constant. Otherwise every
floating-point input (Tensor or ndarray) is checked. Checked inputs must be float64.

A Module
--------
``gradcheck(module, [x], wrt="all")`` checks the module's trainable parameters (by their dotted
names: a failure says ``parameter '0.weight'``) and its inputs (by the rule above) in one call;
``wrt="parameters"`` or ``wrt="inputs"`` checks one kind only. The module is called through
`autograd_lite.func.functional_call` with private copies of its parameters and buffers.

Checked inputs are never mutated: ``f`` receives private float64 leaf copies (carrying the
original ``name``), the perturbations are applied to those copies and undone even when ``f``
raises, and the callers' tensors, arrays and ``.grad`` are left exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd_lite.engine import gradients
from autograd_lite.errors import (
    InvalidArgumentError,
    InvalidInputError,
    ShapeError,
    TensorIndexError,
)
from autograd_lite.func import functional_call
from autograd_lite.modes import enable_grad
from autograd_lite.nn import Module
from autograd_lite.tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree.

    Attributes
    ----------
    input_index : int or None
        Position of the offending input in ``inputs`` (None when it is a module's parameter).
    input_name : str or None
        Its ``name``, when it is a named Tensor, or the parameter's dotted name.
    parameter_name : str or None
        The dotted name of the offending parameter (``"0.weight"``) when a Module is checked
        and one of its parameters fails; None when an input fails.
    output_index : int
        Which output of ``f`` (0 unless ``f`` returns a tuple of Tensors).
    output_element, input_element : tuple of int
        The worst Jacobian entry: ``d out[output_element] / d input[input_element]``
        (both empty in fast mode, where a random projection is compared instead).
    analytic, numeric : float
        The two values of that entry.
    tolerance : float
        ``atol + rtol * |numeric|`` at that entry.
    """

    def __init__(
        self,
        message: str,
        *,
        input_index: int | None,
        input_name: str | None,
        output_index: int,
        output_element: tuple[int, ...],
        input_element: tuple[int, ...],
        analytic: float,
        numeric: float,
        tolerance: float,
        parameter_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.input_index = input_index
        self.parameter_name = parameter_name
        self.input_name = input_name
        self.output_index = output_index
        self.output_element = output_element
        self.input_element = input_element
        self.analytic = analytic
        self.numeric = numeric
        self.tolerance = tolerance


# -- preparing the inputs -----------------------------------------------------------------------
@dataclass
class _Prepared:
    args: list[Any]  # what f is called with: private leaves at the checked positions
    checked: list[int]  # positions of the checked inputs
    leaves: list[Tensor]  # the private leaves, in the order of ``checked``
    names: list[str | None]
    labels: list[str]  # "input 1 ('x')" or "parameter '0.weight'", in the order of ``checked``
    n_parameters: int = 0  # a Module's parameters come first in ``args``


def _as_list(inputs: Any) -> list[Any]:
    if isinstance(inputs, (Tensor, np.ndarray)):
        return [inputs]
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    raise InvalidInputError(
        f"gradcheck: inputs must be a Tensor, an ndarray or a sequence of them, "
        f"got {type(inputs).__name__}"
    )


def _checked_inputs(values: list[Any]) -> list[int]:
    """The rule: the Tensors that require grad; if none, every floating-point one."""
    wanted = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
    if wanted:
        return wanted
    return [
        i
        for i, v in enumerate(values)
        if isinstance(v, (Tensor, np.ndarray)) and np.asarray(v).dtype.kind == "f"
    ]


def _prepare(inputs: Any, where: str) -> _Prepared:
    values = _as_list(inputs)
    wanted = _checked_inputs(values)
    if not wanted:
        raise InvalidInputError(
            f"{where}: nothing to check: no input is a Tensor with requires_grad=True and no "
            f"input is a floating-point Tensor or ndarray"
        )
    return _private_leaves(values, wanted, [None] * len(values), where)


def _private_leaves(
    values: list[Any], wanted: list[int], parameter_names: list[str | None], where: str
) -> _Prepared:
    """Replace ``values[i]`` for ``i`` in ``wanted`` by private float64 leaf copies."""
    n_parameters = sum(name is not None for name in parameter_names)
    args = list(values)
    leaves, names, labels = [], [], []
    for i in wanted:
        value = values[i]
        data = value.data if isinstance(value, Tensor) else np.asarray(value)
        name = value.name if isinstance(value, Tensor) else None
        parameter = parameter_names[i]
        if parameter is not None:
            name, label = parameter, f"parameter {parameter!r}"
        else:
            label = f"input {i - n_parameters}" + (f" ({name!r})" if name else "")
        if data.dtype != np.float64:
            raise InvalidInputError(
                f"{where}: {label} has dtype {data.dtype}; finite differences need float64 "
                f"(a step of eps=1e-6 is below float32 resolution). "
                + (
                    "Build the module in float64 (e.g. nn.Linear(..., dtype=np.float64))"
                    if parameter is not None
                    else "Convert it, e.g. Tensor(x.data.astype(np.float64), requires_grad=True)"
                )
            )
        private = np.array(data, dtype=np.float64, order="C", copy=True)  # perturbed via ravel
        leaf = Tensor(private, requires_grad=True, name=name)
        args[i] = leaf
        leaves.append(leaf)
        names.append(name)
        labels.append(label)
    return _Prepared(args, wanted, leaves, names, labels, n_parameters)


_WRT = ("all", "parameters", "inputs")


def _target(
    f: Any, inputs: Any, wrt: str | None, where: str
) -> tuple[Callable[..., Any], _Prepared]:
    """The function to check and its prepared arguments: ``f`` itself, or for a Module a
    function of its trainable parameters (first) and its inputs, run by ``functional_call``."""
    if not isinstance(f, Module):
        if wrt not in (None, "inputs"):
            raise InvalidInputError(
                f"{where}: wrt={wrt!r} applies to an autograd_lite.nn.Module; a function's "
                f"checked inputs are chosen by requires_grad (see the docstring)"
            )
        return f, _prepare(inputs, where)
    wrt = "all" if wrt is None else wrt
    if wrt not in _WRT:
        raise InvalidInputError(f"{where}: wrt must be one of {_WRT}, got {wrt!r}")
    values = [] if inputs is None else _as_list(inputs)
    trainable = [(name, p) for name, p in f.named_parameters() if p.requires_grad]
    k = len(trainable)
    wanted = list(range(k)) if wrt != "inputs" else []
    if wrt != "parameters":
        wanted += [k + i for i in _checked_inputs(values)]
    if not wanted:
        raise InvalidInputError(
            f"{where}: nothing to check in {type(f).__name__} with wrt={wrt!r}: "
            + ("it has no parameter with requires_grad=True" if wrt == "parameters" else "")
            + ("no input is a floating-point Tensor or ndarray" if wrt == "inputs" else "")
            + ("no trainable parameter and no floating-point input" if wrt == "all" else "")
        )
    names = [name for name, _ in trainable]
    prep = _private_leaves(
        [p for _, p in trainable] + values, wanted, [*names, *[None] * len(values)], where
    )
    # Copies of the buffers: running statistics updated in training mode update these.
    buffers = {name: np.array(b, copy=True) for name, b in f.named_buffers()}
    module = f

    def call(*args: Any) -> Any:
        return functional_call(module, {**dict(zip(names, args[:k])), **buffers}, *args[k:])

    return call, prep


def _outputs(result: Any, where: str) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)) and result and all(isinstance(r, Tensor) for r in result):
        return list(result)
    raise InvalidInputError(
        f"{where}: f must return a Tensor or a tuple of Tensors, got {type(result).__name__}"
    )


def _flat_values(outs: list[Tensor]) -> np.ndarray:
    """Every output element as one new float64 vector (a copy: outputs may view the inputs)."""
    return np.concatenate([np.array(o.data, dtype=np.float64).ravel() for o in outs])


# -- the two Jacobians --------------------------------------------------------------------------
def _evaluate(f: Callable[..., Any], prep: _Prepared, shapes: list, where: str) -> np.ndarray:
    outs = _outputs(f(*prep.args), where)
    got = [o.shape for o in outs]
    if got != shapes:
        raise ShapeError(
            f"{where}: f returned outputs of shapes {got} at a perturbed point but {shapes} at "
            f"the original point; the output shapes must not depend on the input values"
        )
    return _flat_values(outs)


def _numeric_jacobians(
    f: Callable[..., Any], prep: _Prepared, shapes: list, eps: float, where: str
) -> list[np.ndarray]:
    """One (n_outputs, n_input_i) matrix per checked input, by central differences."""
    n_out = sum(int(np.prod(s)) for s in shapes)
    jacobians = []
    for leaf in prep.leaves:
        flat = leaf.data.reshape(-1)  # a view: the leaf's private copy is C-contiguous
        jac = np.empty((n_out, flat.size))
        for k in range(flat.size):
            original = flat[k]
            try:
                flat[k] = original + eps
                plus = _evaluate(f, prep, shapes, where)
                flat[k] = original - eps
                minus = _evaluate(f, prep, shapes, where)
            finally:
                flat[k] = original
            jac[:, k] = (plus - minus) / (2 * eps)
        jacobians.append(jac)
    return jacobians


def _analytic_jacobians(outs: list[Tensor], prep: _Prepared) -> list[np.ndarray]:
    """One (n_outputs, n_input_i) matrix per checked input, one backward pass per output."""
    n_out = sum(o.data.size for o in outs)
    jacobians = [np.zeros((n_out, leaf.data.size)) for leaf in prep.leaves]
    row = 0
    for out in outs:
        if not out.requires_grad:  # does not depend on any checked input
            row += out.data.size
            continue
        seed = np.zeros(out.shape, dtype=out.dtype)
        flat_seed = seed.reshape(-1)
        for j in range(out.data.size):
            flat_seed[j] = 1.0
            grads = gradients(out, prep.leaves, grad_outputs=seed, retain_graph=True)
            for jac, g, leaf in zip(jacobians, grads, prep.leaves):
                g = np.asarray(g.data if isinstance(g, Tensor) else g)
                if g.shape != leaf.shape:
                    raise ShapeError(
                        f"gradcheck: the gradient for an input of shape {leaf.shape} has "
                        f"shape {g.shape}"
                    )
                jac[row + j] = g.reshape(-1)
            flat_seed[j] = 0.0  # only now: a gradient may share memory with the seed
        row += out.data.size
    return jacobians


# -- comparing and reporting --------------------------------------------------------------------
def _located(index: int, shapes: list) -> tuple[int, tuple[int, ...]]:
    """Output number and element index of row ``index`` of the stacked outputs."""
    for number, shape in enumerate(shapes):
        size = int(np.prod(shape))
        if index < size:
            return number, tuple(int(i) for i in np.unravel_index(index, shape))
        index -= size
    raise TensorIndexError(f"gradcheck: entry {index} is past the last input")


def _at(index: tuple[int, ...]) -> str:
    return "" if not index else "[" + ", ".join(str(i) for i in index) + "]"


def _label(prep: _Prepared, position: int) -> str:
    return prep.labels[position]


def _culprit(prep: _Prepared, position: int) -> dict[str, Any]:
    """The GradcheckError attributes that name the checked value at ``position``."""
    index = prep.checked[position] - prep.n_parameters
    is_parameter = index < 0
    return {
        "input_index": None if is_parameter else index,
        "input_name": prep.names[position],
        "parameter_name": prep.names[position] if is_parameter else None,
    }


def _compare(
    analytic: list[np.ndarray],
    numeric: list[np.ndarray],
    prep: _Prepared,
    shapes: list,
    atol: float,
    rtol: float,
    eps: float,
    what: str,
) -> GradcheckError | None:
    for position, (a, n) in enumerate(zip(analytic, numeric)):
        diff = np.abs(a - n)
        tol = atol + rtol * np.abs(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.isfinite(diff), diff / tol, np.inf)
        bad = ~(diff <= tol)
        if not bad.any():
            continue
        row, col = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        out_number, out_element = _located(int(row), shapes)
        leaf = prep.leaves[position]
        in_element = tuple(int(i) for i in np.unravel_index(int(col), leaf.shape))
        av, nv, tv = float(a[row, col]), float(n[row, col]), float(tol[row, col])
        if what == "gradgradcheck":  # the outputs are the first gradients, one per input
            output_label = f"the gradient for {_label(prep, out_number)}"
        else:
            output_label = f"output {out_number}" if len(shapes) > 1 else "the output"
        message = (
            f"{what}: the analytic and numeric Jacobians of {output_label} "
            f"(shape {shapes[out_number]}) with respect to {_label(prep, position)} "
            f"(shape {leaf.shape}) disagree.\n"
            f"  worst entry: d out{_at(out_element)} / d in{_at(in_element)}\n"
            f"  analytic:  {av!r}\n"
            f"  numeric:   {nv!r}\n"
            f"  |difference| = {abs(av - nv):.6g} > tolerance atol + rtol*|numeric| = "
            f"{atol:g} + {rtol:g}*{abs(nv):.6g} = {tv:.6g}\n"
            f"  {int(bad.sum())} of {bad.size} entries disagree (eps={eps:g})."
        )
        return GradcheckError(
            message,
            **_culprit(prep, position),
            output_index=out_number,
            output_element=out_element,
            input_element=in_element,
            analytic=av,
            numeric=nv,
            tolerance=tv,
        )
    return None


def _fast_check(
    f: Callable[..., Any],
    outs: list[Tensor],
    prep: _Prepared,
    shapes: list,
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    what: str,
) -> GradcheckError | None:
    """Compare uᵀ J v for random u (outputs) and v (one per input): one backward, 2k forwards."""
    rng = np.random.default_rng(seed)
    us = [rng.standard_normal(o.shape) for o in outs]
    u_flat = np.concatenate([u.ravel() for u in us]) if us else np.zeros(0)
    live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    if live:
        vjps = gradients(
            [o for o, _ in live],
            prep.leaves,
            grad_outputs=[u.astype(o.dtype) for o, u in live],
            retain_graph=True,
        )
    else:
        vjps = [np.zeros(leaf.shape) for leaf in prep.leaves]
    for position, (leaf, vjp) in enumerate(zip(prep.leaves, vjps)):
        v = rng.standard_normal(leaf.shape)
        analytic = float(np.sum(np.asarray(vjp.data if isinstance(vjp, Tensor) else vjp) * v))
        original = leaf.data.copy()
        try:
            leaf.data[...] = original + eps * v
            plus = _evaluate(f, prep, shapes, what)
            leaf.data[...] = original - eps * v
            minus = _evaluate(f, prep, shapes, what)
        finally:
            leaf.data[...] = original
        numeric = float(u_flat @ ((plus - minus) / (2 * eps)))
        tol = atol + rtol * abs(numeric)
        if not abs(analytic - numeric) <= tol:
            return GradcheckError(
                f"{what} (fast mode): the random projection uᵀJv of the Jacobian with respect "
                f"to {_label(prep, position)} (shape {leaf.shape}) disagrees.\n"
                f"  analytic:  {analytic!r}\n"
                f"  numeric:   {numeric!r}\n"
                f"  |difference| = {abs(analytic - numeric):.6g} > tolerance {tol:.6g}\n"
                f"  (the full check agreed element by element: the disagreement is small and "
                f"spread out; eps={eps:g}, atol={atol:g}, rtol={rtol:g})",
                **_culprit(prep, position),
                output_index=0,
                output_element=(),
                input_element=(),
                analytic=analytic,
                numeric=numeric,
                tolerance=tol,
            )
    return None


def _check(
    f: Callable[..., Any],
    prep: _Prepared,
    eps: float,
    atol: float,
    rtol: float,
    fast_mode: bool,
    seed: int,
    what: str,
) -> GradcheckError | None:
    _check_tolerances(eps, atol, rtol, what)
    with enable_grad():
        outs = _outputs(f(*prep.args), what)
        shapes = [o.shape for o in outs]
        if fast_mode:
            failure = _fast_check(f, outs, prep, shapes, eps, atol, rtol, seed, what)
            if failure is None:
                return None
        analytic = _analytic_jacobians(outs, prep)
        numeric = _numeric_jacobians(f, prep, shapes, eps, what)
        located = _compare(analytic, numeric, prep, shapes, atol, rtol, eps, what)
        return located if located is not None or not fast_mode else failure


def _check_tolerances(eps: float, atol: float, rtol: float, what: str) -> None:
    if not (eps > 0 and atol >= 0 and rtol >= 0):
        raise InvalidArgumentError(
            f"{what}: need eps > 0, atol >= 0 and rtol >= 0; got {eps}, {atol}, {rtol}"
        )


def _finish(failure: GradcheckError | None, raise_exception: bool) -> bool:
    if failure is None:
        return True
    if raise_exception:
        raise failure
    return False


# -- the public checks --------------------------------------------------------------------------
def gradcheck(
    f: Callable[..., Any] | Module,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    fast_mode: bool = False,
    seed: int = 0,
    wrt: str | None = None,
) -> bool:
    """Check the gradients of ``f`` at ``inputs`` against central finite differences.

    Parameters
    ----------
    f : callable or autograd_lite.nn.Module
        ``f(*inputs)`` returns a Tensor of any shape (or a tuple of Tensors). Every output
        element's gradient is checked. A Module is checked with respect to its parameters
        and/or its inputs, as ``wrt`` says.
    inputs : Tensor, ndarray or sequence
        The point. Checked: the Tensors with ``requires_grad=True``; if there are none, every
        floating-point Tensor or ndarray. Other values are passed to ``f`` unchanged. Checked
        inputs must be float64 and are never mutated (``f`` sees private copies).
    eps : float, default 1e-6
        The finite-difference step.
    atol, rtol : float
        An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    raise_exception : bool, default True
        Raise `GradcheckError` on a mismatch; with False, return False instead.
    fast_mode : bool, default False
        Compare one random projection ``uᵀ J v`` per input (one backward pass and two
        evaluations of ``f`` per input) instead of the whole Jacobian (one backward pass per
        output element, two evaluations per input element). On a mismatch the full check runs
        to name the worst element.
    seed : int, default 0
        Seeds the random projections of ``fast_mode``.
    wrt : {"all", "parameters", "inputs"}, optional
        Only for a Module (default ``"all"``): check its trainable parameters (those with
        ``requires_grad=True``, by name), its inputs (chosen by the rule above), or both in one
        call. The module runs through `autograd_lite.func.functional_call` on private
        copies of its parameters and buffers, so neither they nor their ``.grad`` change.
        Check a module with dropout in ``eval()`` mode (its masks are drawn at every call).

    Returns
    -------
    bool
        True when every entry agrees (False on a mismatch with ``raise_exception=False``).

    Raises
    ------
    GradcheckError
        An ``AssertionError`` naming the input (index and name) or the parameter (its dotted
        name, e.g. ``parameter '0.weight'``), the worst entry, both values and the tolerance.
    autograd_lite.errors.InvalidInputError
        A checked input is not float64, or nothing can be checked, or ``f`` does not return
        Tensors.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite.testing import gradcheck
    >>> x = al.Tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
    >>> gradcheck(lambda t: al.tanh(t) * t, [x])
    True
    >>> gradcheck(al.nn.Sequential(al.nn.Linear(3, 2, seed=0), al.nn.Tanh()), [x])
    True
    """
    fn, prep = _target(f, inputs, wrt, "gradcheck")
    failure = _check(fn, prep, eps, atol, rtol, fast_mode, seed, "gradcheck")
    return _finish(failure, raise_exception)


def gradgradcheck(
    f: Callable[..., Any] | Module,
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    fast_mode: bool = False,
    seed: int = 0,
    wrt: str | None = None,
) -> bool:
    """Check the second derivatives of ``f``: the gradient of its gradient.

    With ``v`` a fixed upstream vector (``grad_outputs``, random by default), the first
    gradient ``g(x) = ∇ₓ ⟨f(x), v⟩`` is computed with ``create_graph=True``; its Jacobian (the
    Hessian of ``⟨f, v⟩``) is then checked as `gradcheck()` does: by backpropagating
    through the recorded backward pass, against central differences of ``g``.

    Parameters
    ----------
    f, inputs, eps, atol, rtol, raise_exception, fast_mode, seed, wrt
        As for `gradcheck` (the same rule picks the checked inputs; a Module is checked
        with respect to its parameters and inputs, as ``wrt`` says).
    grad_outputs : array_like or sequence, optional
        ``v``: one array per output of ``f``, of its shape. Default: standard normal draws
        from ``seed``.

    Returns
    -------
    bool
        True when every second derivative agrees.

    Raises
    ------
    GradcheckError
        On a mismatch; ``output k`` in the message is the gradient with respect to the k-th
        checked input.
    autograd_lite.errors.HigherOrderError
        ``f`` uses an op whose vjp cannot be differentiated.

    Examples
    --------
    >>> import numpy as np, autograd_lite as al
    >>> from autograd_lite.testing import gradgradcheck
    >>> x = al.Tensor([0.3, -1.2], requires_grad=True)
    >>> gradgradcheck(lambda t: al.sigmoid(t) * al.exp(t), [x])
    True
    """
    f, prep = _target(f, inputs, wrt, "gradgradcheck")
    with enable_grad():
        outs = _outputs(f(*prep.args), "gradgradcheck")
    vs = _upstream(grad_outputs, outs, seed)
    checked = list(prep.checked)

    def first_gradient(*args: Any) -> tuple[Tensor, ...]:
        with enable_grad():
            current = _outputs(f(*args), "gradgradcheck")
            wrt = [args[i] for i in checked]
            live = [(o, v) for o, v in zip(current, vs) if o.requires_grad]
            if not live:
                return tuple(Tensor._constant(np.zeros(w.shape)) for w in wrt)
            grads = gradients(
                [o for o, _ in live],
                wrt,
                grad_outputs=[v.astype(o.dtype) for o, v in live],
                create_graph=True,
            )
        return tuple(g if isinstance(g, Tensor) else Tensor._constant(np.asarray(g)) for g in grads)

    failure = _check(first_gradient, prep, eps, atol, rtol, fast_mode, seed, "gradgradcheck")
    return _finish(failure, raise_exception)


def _upstream(grad_outputs: Any, outs: list[Tensor], seed: int) -> list[np.ndarray]:
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        return [rng.standard_normal(o.shape) for o in outs]
    if isinstance(grad_outputs, (list, tuple)) and all(
        isinstance(g, (np.ndarray, Tensor)) for g in grad_outputs
    ):
        given = list(grad_outputs)
    else:
        given = [grad_outputs]
    vs = [np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64) for g in given]
    if len(vs) != len(outs) or any(v.shape != o.shape for v, o in zip(vs, outs)):
        raise ShapeError(
            f"gradgradcheck: grad_outputs must give one array per output, of shapes "
            f"{[o.shape for o in outs]}; got {[v.shape for v in vs]}"
        )
    return vs
