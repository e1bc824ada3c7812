"""One declaration per op: an op declared here, in a test module, is picked up everywhere.

``squareplus`` below is declared once, with ``ops.defop`` (forward, vjp, how graphs draw it, the
Tensor method it backs). Nothing else is written for it, yet the random-graph strategies draw
it, gradcheck over those graphs passes, and the mutation self-test plants a bug in its vjp and
catches it. The registry's own rules (unique names, derived exports) are tested too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import autograd_lite as al
from autograd_lite import ops
from autograd_lite.errors import DuplicateOpError
from autograd_lite.ops import Draw, defop
from autograd_lite.testing import gradcheck, gradgradcheck
from autograd_lite.testing._generators import GENERATORS
from autograd_lite.testing.strategies import OP_NAMES, graphs

try:  # tests/ is not a package: pytest puts it on sys.path
    import test_mutations
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests import test_mutations


# -- the toy op: its one declaration ------------------------------------------------------------
def _squareplus(x: Any) -> Any:
    """Smooth ReLU ``(x + √(x² + 1)) / 2``. VJP: ``g · (1 + x / √(x² + 1)) / 2``."""
    return (x + np.sqrt(x * x + 1)) / 2


squareplus = defop(
    "squareplus",
    _squareplus,
    (lambda g, out, x: g * (1 + x / (x * x + 1) ** 0.5) / 2,),  # (works on arrays and Tensors)
    draw=Draw("elementwise", ("real",)),
    methods=("squareplus",),
)


# -- what is derived from it ----------------------------------------------------------------
def test_the_declaration_is_registered_with_its_metadata() -> None:
    info = ops.REGISTRY["squareplus"]
    assert info.primitive is squareplus
    assert info.public is squareplus
    assert info.methods == ("squareplus",)
    assert "squareplus" in GENERATORS
    # Built-in lists stay what ops.py declares: a test's op is drawn when named, not by default.
    assert "squareplus" not in ops.OPS
    assert "squareplus" not in OP_NAMES


def test_the_op_works_as_a_function_and_as_a_tensor_method() -> None:
    x = al.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.squareplus().sum().backward()
    expected = (1 + x.data / np.sqrt(x.data**2 + 1)) / 2
    np.testing.assert_allclose(x.grad, expected)
    np.testing.assert_allclose(squareplus(x).data, _squareplus(x.data))
    assert gradgradcheck(squareplus, [al.Tensor([0.3, -1.2], requires_grad=True)])


@settings(max_examples=30, deadline=None)
@given(graphs(include=["squareplus"], max_ops=4))
def test_strategies_draw_it_and_gradcheck_passes(graph: Any) -> None:
    assert graph.uses("squareplus")
    assert gradcheck(graph, graph.leaves())


@settings(max_examples=10, deadline=None)
@given(graphs(ops=["squareplus", "mul", "sum"], max_ops=4, dtype=np.float64))
def test_it_can_be_drawn_among_chosen_ops(graph: Any) -> None:
    assert gradcheck(graph, graph.leaves())


def test_the_mutation_self_test_picks_it_up(monkeypatch: pytest.MonkeyPatch) -> None:
    derived = test_mutations.derived_mutations(test_mutations.PLANTED)
    (mutation,) = [m for m in derived if m.op == "squareplus"]
    assert mutation.primitive is squareplus
    # The planted bug is found on random graphs using the op, and the graph passes once fixed.
    test_mutations.search_for_counterexample(mutation, monkeypatch)
    assert squareplus.vjps is not mutation.vjps  # (restored)


# -- the registry's rules ---------------------------------------------------------------------
def test_a_name_is_declared_once() -> None:
    with pytest.raises(DuplicateOpError, match="'squareplus' is already declared"):
        defop("squareplus", _squareplus, (lambda g, out, x: g,))
    with pytest.raises(ValueError):  # (a DuplicateOpError is a ValueError too)
        defop("add", np.add, (lambda g, out, a, b: g, lambda g, out, a, b: g))
    assert ops.REGISTRY["add"].primitive is ops.add


def test_a_tensor_method_is_backed_by_one_op() -> None:
    with pytest.raises(DuplicateOpError, match="Tensor.exp: it exists already"):
        defop("my_exp", np.exp, (lambda g, out, x: g * out,), methods=("exp",))
    assert "my_exp" not in ops.REGISTRY
    assert al.Tensor([0.0], requires_grad=True).exp().op == "exp"


def test_primitive_names_are_unique() -> None:
    names = [info.primitive.name for info in ops.REGISTRY.values()]
    assert len(names) == len(set(names))
    # The logits form of the cross-entropy is an op of its own name.
    z = al.Tensor([0.5, -0.5], requires_grad=True)
    assert al.cross_entropy_cost(z, np.array([1.0, 0.0]), logits=True).op == (
        "cross_entropy_cost_logits"
    )


def test_exports_and_the_op_list_are_derived_from_the_declarations() -> None:
    for name, info in ops.REGISTRY.items():
        if name in ops.OPS and info.public is not None:
            assert name in ops.__all__ and name in al.__all__
            assert getattr(al, name) is info.public
    assert "scatter_add" not in al.__all__  # (declared public=None: the vjp of getitem)
    assert list(ops.OPS)[:3] == ["add", "sub", "mul"]  # declaration order


def test_tensor_operators_are_installed_from_the_declarations() -> None:
    backed = {m: name for name, info in ops.REGISTRY.items() for m in info.methods}
    for method in ("__add__", "__radd__", "__matmul__", "__getitem__", "sum", "reshape", "T"):
        assert method in backed
    x = al.Tensor([[1.0, 2.0]], requires_grad=True)
    assert (2.0 - x).op == "sub" and (x @ x.T).op == "matmul" and x.T.op == "transpose"
    assert x.reshape(2, 1).shape == (2, 1) and x.swapaxes(0, 1).shape == (2, 1)
