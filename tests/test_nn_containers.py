"""``nn.ModuleList`` and ``nn.ModuleDict``: children as PyTorch names them, seen by every walk
(parameters, state_dict, compile) after any change."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import errors, nn


class Stack(nn.Module):
    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [nn.Linear(n, m, seed=k) for k, (n, m) in enumerate(zip(widths, widths[1:]))]
        )
        self.heads = nn.ModuleDict({"a": nn.Linear(widths[-1], 1, seed=7)})

    def forward(self, x):
        for block in self.blocks:
            x = al.tanh(block(x))
        return self.heads["a"](x)


@settings(max_examples=20, deadline=None)
@given(widths=st.lists(st.integers(1, 4), min_size=2, max_size=4))
def test_children_are_named_by_index_and_key_and_load_back(widths: list[int]) -> None:
    model = Stack(widths)
    names = [name for name, _ in model.named_parameters()]
    expected = [f"blocks.{i}.{p}" for i in range(len(widths) - 1) for p in ("weight", "bias")]
    assert names == [*expected, "heads.a.weight", "heads.a.bias"]
    assert len(model.parameters()) == len(names) and len(model.blocks) == len(widths) - 1
    other = Stack(widths)
    for p in other.parameters():
        p.data = p.data + 1.0
    other.load_state_dict(model.state_dict())
    x = np.ones((2, widths[0]))
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_changes_to_a_list_or_dict_are_seen_by_parameters_and_compile() -> None:
    model, x = Stack([2, 3]), np.ones((4, 2))
    compiled = al.compile(model)
    compiled(x)
    model.blocks.append(nn.Linear(3, 3, seed=5))
    assert len(model.parameters()) == 6
    np.testing.assert_array_equal(compiled(x).data, model(x).data)
    model.blocks[0] = nn.Linear(2, 3, seed=9)
    np.testing.assert_array_equal(compiled(x).data, model(x).data)
    model.heads["a"] = nn.Linear(3, 1, seed=11)
    np.testing.assert_array_equal(compiled(x).data, model(x).data)
    del model.blocks[1]
    assert len(model.parameters()) == 4 and compiled.fallback_reason is None
    np.testing.assert_array_equal(compiled(x).data, model(x).data)


def test_list_and_dict_behave_as_their_python_types() -> None:
    a, b, c = (nn.Linear(1, 1, seed=k) for k in range(3))
    blocks = nn.ModuleList([a]).extend([b])
    blocks.insert(0, c)
    assert list(blocks) == [c, a, b] and blocks[-1] is b
    assert isinstance(blocks[1:], nn.ModuleList) and list(blocks[1:]) == [a, b]
    heads = nn.ModuleDict([("x", a)])
    heads.update({"y": b})
    assert list(heads) == ["x", "y"] and "y" in heads and list(heads.values()) == [a, b]
    del heads["x"]
    assert list(heads.items()) == [("y", b)]
    seq = nn.Sequential(a, b)
    assert isinstance(seq[:1], nn.Sequential) and seq(np.ones((1, 1))).shape == (1, 1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: nn.ModuleList([nn.ReLU(), abs]), "item 1 is a builtin_function_or_method"),
        (lambda: nn.ModuleList().append(3), "not a Module"),
        (lambda: nn.ModuleDict({"a.b": nn.ReLU()}), "without '.'"),
        (lambda: nn.ModuleDict({"a": 1}), "not a Module"),
        (lambda: nn.ModuleList([nn.ReLU()])(np.ones(2)), "has no forward"),
        (lambda: nn.ModuleDict({"a": nn.ReLU()})(np.ones(2)), "has no forward"),
    ],
)
def test_bad_items_and_calls_raise_typed_errors(call, match: str) -> None:
    with pytest.raises(errors.InvalidInputError, match=match):
        call()


def test_dim_and_numel_are_ndim_and_size() -> None:
    x = al.Tensor(np.zeros((2, 3, 4)))
    assert x.dim() == x.ndim == 3 and x.numel() == x.size == 24


def test_matches_pytorch_names() -> None:
    torch = pytest.importorskip("torch")

    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(2, 3), torch.nn.Linear(3, 3)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(3, 1)})

    assert list(Stack([2, 3, 3]).state_dict()) == list(Theirs().state_dict())


def test_docstring_examples_run() -> None:
    import doctest
    import sys

    result = doctest.testmod(sys.modules["autograd_lite.nn.module"])
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: nn.ModuleList(5), errors.InvalidInputError),
        (lambda: nn.ModuleDict(5), errors.InvalidInputError),
        (lambda: nn.ModuleList([nn.ReLU()])[3], IndexError),
        (lambda: nn.Sequential(nn.ReLU())[-2], errors.TensorIndexError),
        (lambda: nn.ModuleList([nn.ReLU()])["a"], errors.InvalidInputError),
        (lambda: nn.ModuleDict({"a": nn.ReLU()})["b"], KeyError),
        (lambda: nn.ModuleDict({"a": nn.ReLU()})["b"], nn.ModuleKeyError),
    ],
)
def test_bad_indices_and_arguments_raise_typed_errors(call, error) -> None:
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, errors.AutogradLiteError)
