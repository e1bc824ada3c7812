r"""Check a whole Module — its parameters and its inputs — with one ``gradcheck`` call.

A custom layer, ``Gate``, computes ``x ⊙ σ(x Wᵀ + b)`` (a gated linear unit) through a custom
primitive for the gating product. The script:

1. checks ``Gate`` inside random small models (``strategies.mlps`` stacked under it; inputs
   drawn by ``strategies.module_inputs``) with ``gradcheck(model, [x])`` and
   ``gradgradcheck``: every parameter, by name, and the input;
2. plants a bug in the primitive's vjp for the gate (the one that feeds ``weight`` and
   ``bias``) and shows the report naming the parameter;
3. differentiates a loss with respect to the parameters as arguments
   (``al.func.functional_call`` + ``al.func.grad``) and compares with ``loss.backward()``.

Run::

    python examples/gradcheck_module.py              # 30 examples per property
    python examples/gradcheck_module.py --examples 100
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import autograd_lite as al
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import autograd_lite as al

from autograd_lite import nn
from autograd_lite.func import functional_call
from autograd_lite.testing import GradcheckError, gradcheck, gradgradcheck
from autograd_lite.testing.strategies import mlps, module_inputs


def gating(gate_factor: float = 1.0) -> Any:
    """``x ⊙ σ(z)`` as one primitive; ``gate_factor`` ≠ 1 plants a bug in the vjp for ``z``."""

    @al.primitive(differentiable=True)
    def gate(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return x / (1.0 + np.exp(-z))

    gate.defvjp(
        lambda g, out, x, z: g * al.sigmoid(z),
        lambda g, out, x, z: g * x * al.sigmoid_prime(z) * gate_factor,
    )
    return gate


class Gate(nn.Module):
    """``x ⊙ σ(x Wᵀ + b)``: a gated linear unit of width ``n``."""

    def __init__(self, n: int, gate: Any, seed: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(n, n, seed=seed)
        self.gate = gate

    def forward(self, x: Any) -> al.Tensor:
        return self.gate(x, self.linear(x))


def check_random_models(examples: int) -> None:
    @settings(max_examples=examples, deadline=None)
    @given(st.data(), mlps(max_layers=2, max_width=4))
    def test_gate_in_random_models(data: Any, body: nn.Sequential) -> None:
        width = body[-2].out_features  # the last Linear's width
        model = nn.Sequential(body, Gate(width, gating(), seed=data.draw(st.integers(0, 99))))
        x = data.draw(module_inputs(model))
        assert gradcheck(model, [x])  # wrt="all": every parameter and x
        assert gradgradcheck(model, [x], fast_mode=True)

    test_gate_in_random_models()
    print("ok: Gate in random models (gradcheck and gradgradcheck, parameters and input)")


def show_planted_bug() -> None:
    # The layers before the bug would get wrong gradients too (they flow through it): put the
    # gate first, so the only parameters it can blame are its own.
    model = nn.Sequential(Gate(3, gating(gate_factor=1.5)), nn.Tanh(), nn.Linear(3, 2, seed=1))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3))
    assert gradcheck(model[1:], [np.tanh(x)])  # the layers after it are right
    try:
        gradcheck(model, [x], wrt="parameters")
    except GradcheckError as error:
        print(f"caught the planted bug in parameter {error.parameter_name!r}:")
        print(str(error))
    else:
        raise SystemExit("the planted bug was not caught")


def compare_with_backward() -> None:
    model = nn.Sequential(nn.Linear(3, 4, seed=2), Gate(4, gating(), seed=3))
    x = np.random.default_rng(1).uniform(-1, 1, (5, 3))
    y = np.random.default_rng(2).uniform(0, 1, (5, 4))
    params = {name: p.data.copy() for name, p in model.named_parameters()}
    grads = al.func.grad(lambda p: al.quadratic_cost(functional_call(model, p, x), y))(params)
    al.quadratic_cost(model(x), y).backward()
    same = all(np.array_equal(grads[n], p.grad) for n, p in model.named_parameters())
    print(f"al.func.grad through functional_call equals loss.backward(), bitwise: {same}")
    if not same:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=30, help="examples per property")
    args = parser.parse_args(argv)
    check_random_models(args.examples)
    show_planted_bug()
    compare_with_backward()


if __name__ == "__main__":
    main()
