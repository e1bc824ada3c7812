"""Self-proof by mutation: gradcheck over ``graphs()`` must catch every planted vjp bug.

For every declared op (``ops.REGISTRY``: the ops, and the costs: quadratic, cross-entropy on
probabilities and on logits) a plausible wrong vjp is planted by replacing the Primitive's
``vjps`` for the duration of one test: a forgotten factor, a wrong sign, the wrong operand, a
transpose forgotten, a broadcast gradient averaged instead of summed, a scatter that assigns
instead of accumulating...
Then ``hypothesis.find`` searches graphs that use the mutated op for one where gradcheck fails,
within hypothesis's default budget of 100 examples, derandomized (so the run is deterministic)
and without shrinking (to keep the file fast). A mutation that survives fails the suite: the
strategies or gradcheck would then be too weak to be trusted.

An op declared without a bug written for it here (a new op, or a test's toy op) gets one derived
from its declaration (:func:`derived_mutation`: its first vjp with the wrong sign), so every
declared op is covered without a list to keep.

Each counterexample is then re-checked with the correct vjps restored: it must pass, so that
the failure is attributed to the planted bug and not to anything else.

Some bugs give gradcheck nothing to see on random graphs: ties under ``max`` never happen among
random floats, and two tensors sharing one ``.grad`` array have the right numbers until someone
writes into one. Each of those (:data:`RULE_MUTATIONS`) is planted while the tests written to
catch it run, and each of those tests must then fail.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample
from hypothesis.internal.conjecture import providers

from autograd_lite import engine, ops
from autograd_lite.errors import InvalidGradientError
from autograd_lite.function import EachInput, Primitive
from autograd_lite.ops import OpInfo, sum_to
from autograd_lite.testing import gradcheck
from autograd_lite.testing.strategies import graphs

try:  # tests/ is not a package: pytest puts it on sys.path
    from mutation_witnesses import WITNESSES
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.mutation_witnesses import WITNESSES

BUDGET = settings(
    max_examples=100,  # hypothesis's default budget
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Mutation:
    """A planted bug: ``vjps`` replaces ``primitive.vjps`` while graphs using ``op`` are drawn."""

    name: str
    primitive: Primitive
    vjps: Any
    op: str
    caught_by: tuple[type[BaseException], ...] = ()  # engine errors that also count as caught


def _keep(primitive: Primitive, index: int) -> Callable[..., Any]:
    """The correct vjp ``index`` of ``primitive`` (bound now, before any patch)."""
    return primitive.vjps[index]


def _replace(primitive: Primitive, index: int, vjp: Callable[..., Any]) -> tuple:
    vjps = list(primitive.vjps)
    vjps[index] = vjp
    return tuple(vjps)


def _averaged_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcasting undone with a mean instead of a sum (right only without broadcasting)."""
    summed = sum_to(g, shape)
    return summed * (summed.size / g.size)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


# The correct vjps, bound before any patch (so the planted bugs can fall back on them).
MATMUL_A, MATMUL_B = ops.matmul.vjps[0], ops.matmul.vjps[1]
SUM = ops.sum.vjps[0]
TRANSPOSE = ops.transpose.vjps[0]
STACK = ops.OPS["stack"].vjps
QUADRATIC = ops.REGISTRY["quadratic_cost"].primitive
CROSS_ENTROPY = ops.REGISTRY["cross_entropy_cost"].primitive
CROSS_ENTROPY_LOGITS = ops.REGISTRY["cross_entropy_cost_logits"].primitive


# -- the bugs -------------------------------------------------------------------------------
def _matmul_a_untransposed(g: Any, out: Any, a: Any, b: Any) -> Any:
    if b.ndim == 2 and b.shape[0] == b.shape[1] and a.ndim >= 2:
        return g @ b  # forgot bᵀ (only shape-correct for square b)
    return MATMUL_A(g, out, a, b)


def _matmul_b_wrong_operand(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and a.shape[0] == a.shape[1] and b.ndim == 2:
        return a @ g  # transposed the wrong operand: a g instead of aᵀ g
    return MATMUL_B(g, out, a, b)


def _matmul_b_batch_mean(g: Any, out: Any, a: Any, b: Any) -> Any:
    grad = MATMUL_B(g, out, a, b)
    if grad.ndim > b.ndim:  # b was broadcast over a batch: averaged instead of summed
        return _averaged_to(grad, b.shape)
    return grad


def _sum_like_mean(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return SUM(g, out, x, axis=axis, keepdims=keepdims) * (out.size / x.size)


def _max_to_all(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return SUM(g, out, x, axis=axis, keepdims=keepdims)  # forgot the mask of the winners


def _transpose_forgotten(g: Any, out: Any, x: Any, axes: Any = None) -> Any:
    if g.shape == x.shape:
        return g  # "same shape, nothing to undo": wrong for square matrices
    return TRANSPOSE(g, out, x, axes=axes)


def _scatter_assigns(g: Any, out: Any, x: Any, index: Any) -> Any:
    grad = np.zeros(x.shape, dtype=g.dtype)
    grad[index] = g  # repeated indices overwrite instead of accumulating
    return grad


def _gather_first(g: Any, out: Any, source: Any, index: Any, shape: Any) -> Any:
    # Ignores the index: the first elements of g, repeated if the index gathers more elements
    # than g has (an index that repeats a position), so the answer is wrong but never misshapen.
    return np.resize(g.reshape(-1), g[index].shape)


def _flat(rest: tuple) -> tuple:
    """The inputs of a variadic vjp, whether passed one by one or as one tuple."""
    return tuple(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest


def _concatenate_from_zero(
    index: int, g: Any, out: Any, *rest: Any, axis: int = 0, **_: Any
) -> Any:
    axis = axis % out.ndim
    stop = np.shape(_flat(rest)[index])[axis]  # forgot the offset of the earlier inputs
    return g[(slice(None),) * axis + (slice(0, stop),)]


def _stack_reversed(index: int, g: Any, out: Any, *rest: Any, **params: Any) -> Any:
    inputs = _flat(rest)
    return STACK[len(inputs) - 1 - index](g, out, *inputs, **params)


def _mul_b_reduced(g: Any, out: Any, a: Any, b: Any) -> Any:
    grad = g * a
    if grad.ndim >= 2:  # "b is a row vector": reduces axis 0 whatever b's shape
        return grad.sum(axis=0, keepdims=True)
    return grad


#: The bugs written for the ops (each with a pinned graph in mutation_witnesses.py).
PLANTED = [
    Mutation(
        "add: broadcast operand averaged",
        ops.add,
        _replace(ops.add, 1, lambda g, out, a, b: _averaged_to(g, np.shape(b))),
        "add",
    ),
    Mutation(
        "sub: second operand sign", ops.sub, _replace(ops.sub, 1, lambda g, out, a, b: g), "sub"
    ),
    Mutation(
        "mul: wrong operand", ops.mul, _replace(ops.mul, 0, lambda g, out, a, b: g * a), "mul"
    ),
    Mutation("mul: forgotten factor", ops.mul, _replace(ops.mul, 1, lambda g, out, a, b: g), "mul"),
    Mutation(
        "mul: reduced over the wrong axis (a wrong shape)",
        ops.mul,
        _replace(ops.mul, 1, _mul_b_reduced),
        "mul",
        (InvalidGradientError,),
    ),
    Mutation(
        "hadamard: wrong operand",
        ops.hadamard,
        _replace(ops.hadamard, 1, lambda g, out, a, b: g * b),
        "hadamard",
    ),
    Mutation(
        "div: second operand sign",
        ops.div,
        _replace(ops.div, 1, lambda g, out, a, b: g * out / b),
        "div",
    ),
    Mutation(
        "div: multiplies instead of dividing",
        ops.div,
        _replace(ops.div, 0, lambda g, out, a, b: g * b),
        "div",
    ),
    Mutation("neg: sign", ops.neg, (lambda g, out, a: g,), "neg"),
    Mutation(
        "pow: exponent without ln(base)",
        ops.pow,
        _replace(ops.pow, 1, lambda g, out, a, b: g * out),
        "pow",
    ),
    Mutation(
        "pow: base exponent off by one",
        ops.pow,
        _replace(ops.pow, 0, lambda g, out, a, b: g * b * np.power(a, b)),
        "pow",
    ),
    Mutation(
        "matmul: b not transposed",
        ops.matmul,
        _replace(ops.matmul, 0, _matmul_a_untransposed),
        "matmul",
    ),
    Mutation(
        "matmul: wrong operand transposed",
        ops.matmul,
        _replace(ops.matmul, 1, _matmul_b_wrong_operand),
        "matmul",
    ),
    Mutation(
        "matmul: batch-broadcast operand averaged",
        ops.matmul,
        _replace(ops.matmul, 1, _matmul_b_batch_mean),
        "matmul",
    ),
    Mutation("exp: input instead of output", ops.exp, (lambda g, out, x: g * x,), "exp"),
    Mutation("log: multiplies by x", ops.log, (lambda g, out, x: g * x,), "log"),
    Mutation("sigmoid: without (1 - s)", ops.sigmoid, (lambda g, out, z: g * out,), "sigmoid"),
    Mutation(
        "sigmoid_prime: 1 - s instead of 1 - 2s",
        ops.sigmoid_prime,
        (lambda g, out, z: g * out * (1 - _sigmoid(z)),),
        "sigmoid_prime",
    ),
    Mutation("tanh: 1 - t instead of 1 - t²", ops.tanh, (lambda g, out, x: g * (1 - out),), "tanh"),
    Mutation("relu: no mask", ops.relu, (lambda g, out, x: g,), "relu"),
    Mutation(
        "softmax: without the subtracted sum",
        ops.softmax,
        (lambda g, out, x, axis=-1: out * g,),
        "softmax",
    ),
    Mutation(
        "softmax: sum over every axis",
        ops.softmax,
        (lambda g, out, x, axis=-1: out * (g - (g * out).sum(keepdims=True)),),
        "softmax",
    ),
    Mutation(
        "log_softmax: log-probabilities instead of probabilities",
        ops.log_softmax,
        (lambda g, out, x, axis=-1: g - out * g.sum(axis=axis, keepdims=True),),
        "log_softmax",
    ),
    Mutation("sum: divided by the count", ops.sum, (_sum_like_mean,), "sum"),
    Mutation(
        "mean: count forgotten",
        ops.mean,
        (
            lambda g, out, x, axis=None, keepdims=False: SUM(
                g, out, x, axis=axis, keepdims=keepdims
            ),
        ),
        "mean",
    ),
    Mutation("max: every element gets the gradient", ops.max, (_max_to_all,), "max"),
    Mutation(
        "reshape: Fortran order",
        ops.reshape,
        (lambda g, out, x, shape: np.reshape(g, x.shape, order="F"),),
        "reshape",
    ),
    Mutation(
        "transpose: forgotten when square", ops.transpose, (_transpose_forgotten,), "transpose"
    ),
    Mutation(
        "broadcast_to: averaged",
        ops.broadcast_to,
        (lambda g, out, x, shape: _averaged_to(g, x.shape),),
        "broadcast_to",
    ),
    Mutation(
        "getitem: repeated indices overwrite",
        ops.OPS["getitem"],
        (_scatter_assigns,),
        "getitem",
    ),
    Mutation(
        "scatter_add: gathers the first elements",
        ops.OPS["scatter_add"],
        (_gather_first,),
        "scatter_add",
    ),
    Mutation(
        "concatenate: offset forgotten",
        ops.OPS["concatenate"],
        EachInput(_concatenate_from_zero),
        "concatenate",
    ),
    Mutation(
        "stack: slices in reverse order", ops.OPS["stack"], EachInput(_stack_reversed), "stack"
    ),
    Mutation(
        "where: masks swapped",
        ops.OPS["where"],
        (_keep(ops.OPS["where"], 1), _keep(ops.OPS["where"], 0)),
        "where",
    ),
    Mutation(
        "quadratic_cost: sign",
        QUADRATIC,
        _replace(QUADRATIC, 0, lambda g, out, a, y, scale=1.0: g * scale * (y - a)),
        "quadratic_cost",
    ),
    Mutation(
        "quadratic_cost: target's sign",
        QUADRATIC,
        _replace(QUADRATIC, 1, lambda g, out, a, y, scale=1.0: g * scale * (a - y)),
        "quadratic_cost",
    ),
    Mutation(
        "cross_entropy_cost: a(1 - a) denominator forgotten",
        CROSS_ENTROPY,
        _replace(CROSS_ENTROPY, 0, lambda g, out, a, y, scale=1.0: g * scale * (a - y)),
        "cross_entropy_cost",
    ),
    Mutation(
        "cross_entropy_cost: target's sign",
        CROSS_ENTROPY,
        _replace(
            CROSS_ENTROPY,
            1,
            lambda g, out, a, y, scale=1.0: g * scale * (np.log(a) - np.log(1 - a)),
        ),
        "cross_entropy_cost",
    ),
    Mutation(
        "cross_entropy_cost(logits): an extra σ'(z)",
        CROSS_ENTROPY_LOGITS,
        _replace(
            CROSS_ENTROPY_LOGITS,
            0,
            lambda g, out, z, y, scale=1.0: (
                g * scale * (_sigmoid(z) - y) * _sigmoid(z) * (1 - _sigmoid(z))
            ),
        ),
        "cross_entropy_cost_logits",
    ),
    Mutation(
        "cross_entropy_cost(logits): target's sign",
        CROSS_ENTROPY_LOGITS,
        _replace(CROSS_ENTROPY_LOGITS, 1, lambda g, out, z, y, scale=1.0: g * scale * z),
        "cross_entropy_cost_logits",
    ),
]


def derived_mutation(info: OpInfo) -> Mutation:
    """The bug every declared op gets from its declaration alone: its first vjp (for input 0)
    returns the gradient with the wrong sign."""
    vjps = info.primitive.vjps

    def negate(result: Any) -> Any:
        return None if result is None else -result

    mutated: Any
    if isinstance(vjps, EachInput):
        each = vjps.fn
        mutated = EachInput(
            lambda i, g, out, inputs, **p: (
                negate(each(i, g, out, inputs, **p)) if i == 0 else each(i, g, out, inputs, **p)
            )
        )
    else:
        first = vjps[0]
        mutated = (lambda g, out, *a, **p: negate(first(g, out, *a, **p)), *vjps[1:])
    return Mutation(f"{info.name}: first vjp's sign (derived)", info.primitive, mutated, info.name)


def derived_mutations(planted: list[Mutation]) -> list[Mutation]:
    """A derived bug for every declared op that has a draw and no planted bug of its own."""
    covered = {m.op for m in planted}
    return [
        derived_mutation(info)
        for name, info in ops.REGISTRY.items()
        if info.draw is not None and name not in covered
    ]


#: Every planted bug: the written ones, and one derived for each declared op without one.
MUTATIONS = PLANTED + derived_mutations(PLANTED)


def _fails(graph: Any, caught_by: tuple) -> bool:
    try:
        return not gradcheck(graph, graph.leaves(), raise_exception=False)
    except caught_by:
        return True


def test_every_op_has_a_mutation() -> None:
    mutated = {m.op for m in MUTATIONS}
    assert set(ops.OPS) <= mutated, f"no planted bug for {sorted(set(ops.OPS) - mutated)}"
    assert {"quadratic_cost", "cross_entropy_cost", "cross_entropy_cost_logits"} <= mutated


@pytest.mark.parametrize("mutation", PLANTED, ids=[m.name for m in PLANTED])
def test_planted_bug_is_caught_on_its_pinned_graph(
    mutation: Mutation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run, whatever hypothesis draws: the bug fails gradcheck on a pinned graph."""
    graph = WITNESSES[mutation.name]
    assert graph.uses(mutation.op), repr(graph)
    with monkeypatch.context() as patch:
        patch.setattr(mutation.primitive, "vjps", mutation.vjps)
        assert _fails(graph, mutation.caught_by), f"{mutation.name!r} survived {graph!r}"
    assert gradcheck(graph, graph.leaves()), repr(graph)


def test_every_planted_bug_has_a_pinned_graph() -> None:
    assert set(WITNESSES) == {m.name for m in PLANTED}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_gradcheck_catches_planted_bug(mutation: Mutation, monkeypatch: pytest.MonkeyPatch) -> None:
    search_for_counterexample(mutation, monkeypatch)


@contextlib.contextmanager
def _without_local_constants(patch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hypothesis mixes into its draws the constants of the source of every local module this
    process has imported, so a derandomized search would move with any change to the repository
    (or with the test modules imported before it). Without them, a search depends only on the
    strategy and the op."""
    patch.setattr(providers, "_get_local_constants", providers.Constants)
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers.CONSTANTS_CACHE.cache.clear()


def search_for_counterexample(mutation: Mutation, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plant ``mutation``, search graphs that use its op for one where gradcheck fails (the
    search fails the test if none is found), and check that graph passes with the correct vjps
    back."""
    strategy = graphs(include=[mutation.op], max_ops=4)
    with monkeypatch.context() as patch, _without_local_constants(patch):
        patch.setattr(mutation.primitive, "vjps", mutation.vjps)
        try:
            graph = find(
                strategy,
                lambda g: _fails(g, mutation.caught_by),
                settings=BUDGET,
            )
        except NoSuchExample:
            pytest.fail(
                f"the planted bug {mutation.name!r} survived {BUDGET.max_examples} graphs using "
                f"{mutation.op}: the strategy or gradcheck is too weak"
            )
    # With the correct vjps back, the same graph passes: the failure was the planted bug's.
    assert gradcheck(graph, graph.leaves()), repr(graph)


# -- planted bugs that only a test of their own can see -----------------------------------------
def _max_whole_gradient_to_every_tie(
    g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False
) -> Any:
    """Every maximal element gets the whole gradient (the docstring says ties share it)."""
    winners = x == np.max(x, axis=axis, keepdims=True)
    return SUM(g, out, x, axis=axis, keepdims=keepdims) * winners


def _own_without_the_check(g: Any, handed_out: set[int]) -> np.ndarray:
    """engine.own without its check: an array already handed to another tensor is not copied."""
    if g.__class__ is not np.ndarray:
        return np.array(g)
    return g.copy() if g.base is not None else g


@dataclass(frozen=True)
class RuleMutation:
    """A planted bug: ``replacement`` for ``target.attribute`` while the tests ``catchers``
    (``"module::function"``) run; every one of them must fail."""

    name: str
    target: Any
    attribute: str
    replacement: Any
    catchers: tuple[str, ...]


RULE_MUTATIONS = [
    RuleMutation(
        "max: every tied element gets the whole gradient",
        ops.max,
        "vjps",
        (_max_whole_gradient_to_every_tie,),
        ("test_engine::test_max_shares_the_gradient_equally_among_tied_maxima",),
    ),
    RuleMutation(
        "engine: ownership check removed (a + b hand both leaves one array)",
        engine,
        "own",
        _own_without_the_check,
        (
            "test_ownership::test_the_leaves_of_an_add_get_arrays_of_their_own",
            "test_ownership::test_no_two_gradients_share_memory_after_backward",
            "test_ownership::test_no_two_returned_gradients_share_memory",
        ),
    ),
]


@pytest.mark.parametrize("mutation", RULE_MUTATIONS, ids=[m.name for m in RULE_MUTATIONS])
def test_rule_tests_catch_planted_bug(
    mutation: RuleMutation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for catcher in mutation.catchers:
        module, name = catcher.split("::")
        test = getattr(importlib.import_module(module), name)  # (tests/ is on sys.path)
        test()  # passes on the code as it is
        with monkeypatch.context() as patch:
            patch.setattr(mutation.target, mutation.attribute, mutation.replacement)
            with pytest.raises(AssertionError):
                test()
