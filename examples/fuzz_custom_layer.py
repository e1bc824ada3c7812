r"""Fuzz a custom layer's gradients with hypothesis and ``autograd_lite.testing``.

Three custom layers, in the three forms a user writes them:

* ``softplus``, an ``@al.primitive`` with a NumPy forward and a hand-written vjp;
* ``ScaledTanh``, an ``al.Function`` subclass with two inputs that broadcast against each other;
* ``dense_tanh``, a composite function built from autograd_lite ops (a layer of a network).

Each is checked by a hypothesis property: for random shapes (broadcasting included) and random
values, ``gradcheck`` compares the vjp with central finite differences, and ``gradgradcheck``
checks second derivatives where the layer supports them. Then a layer with a planted bug (a
vjp that forgets the broadcast operand must be summed, i.e. that averages it) is run through
the same property: hypothesis finds a counterexample and shrinks it. Run::

    python examples/fuzz_custom_layer.py            # 50 examples per property
    python examples/fuzz_custom_layer.py --examples 200
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import autograd_lite as al
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import autograd_lite as al

from autograd_lite.testing import GradcheckError, gradcheck, gradgradcheck
from autograd_lite.testing.strategies import broadcastable_shapes, shapes, tensors


# -- three custom layers ------------------------------------------------------------------------
@al.primitive
def softplus(x: np.ndarray) -> np.ndarray:
    """``ln(1 + eˣ)`` without overflow."""
    return np.logaddexp(0.0, x)


softplus.defvjp(lambda g, out, x: g / (1.0 + np.exp(-x)))  # g ⊙ σ(x)


class ScaledTanh(al.Function):
    """``a ⊙ tanh(x)``, with ``a`` broadcast against ``x`` (e.g. one scale per column)."""

    differentiable = True  # backward uses only operators: second derivatives work

    @staticmethod
    def forward(ctx: al.Context, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        out = a * np.tanh(x)
        ctx.save_for_backward(x, a)
        return out

    @staticmethod
    def backward(ctx: al.Context, g: np.ndarray) -> tuple:
        x, a = ctx.saved_tensors
        t = x.tanh() if isinstance(x, al.Tensor) else np.tanh(x)
        # Gradients of the broadcast shape are fine: the engine sums them back to each input.
        return g * a * (1 - t * t), g * t


def dense_tanh(x: al.Tensor, w: al.Tensor, b: al.Tensor) -> al.Tensor:
    """A fully connected layer, samples as rows: ``tanh(x Wᵀ + b)``."""
    return al.tanh(x @ w.T + b)


# -- and one with a bug --------------------------------------------------------------------------
class ScaledTanhBuggy(ScaledTanh):
    """Averages the scale's gradient over the broadcast rows instead of summing it."""

    differentiable = False

    @staticmethod
    def backward(ctx: al.Context, g: np.ndarray) -> tuple:
        x, a = ctx.saved_tensors
        t = np.tanh(x)
        ga = g * t
        rows = ga.size // max(np.size(a), 1)
        return g * a * (1 - t * t), ga / rows  # wrong: a broadcast input's gradient is summed


# -- the properties ------------------------------------------------------------------------------
@given(tensors(shape=shapes(max_dims=3), requires_grad=True))
def test_softplus(x: al.Tensor) -> None:
    assert gradcheck(softplus, [x])


@given(shapes=broadcastable_shapes(2), data=st.data())
def test_scaled_tanh(shapes: tuple, data: st.DataObject) -> None:
    x = data.draw(tensors(shape=shapes[0], elements=(-3, 3), requires_grad=True), label="x")
    a = data.draw(tensors(shape=shapes[1], elements=(-3, 3), requires_grad=True), label="a")
    assert gradcheck(ScaledTanh.apply, [x, a])
    assert gradgradcheck(ScaledTanh.apply, [x, a])


@given(
    n=st.integers(1, 4),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 4),
    data=st.data(),
)
def test_dense_tanh(n: int, n_in: int, n_out: int, data: st.DataObject) -> None:
    def draw(shape: tuple, label: str) -> al.Tensor:
        return data.draw(tensors(shape=shape, elements=(-2, 2), requires_grad=True), label=label)

    x, w, b = draw((n, n_in), "x"), draw((n_out, n_in), "w"), draw((n_out,), "b")
    assert gradcheck(dense_tanh, [x, w, b])
    assert gradgradcheck(dense_tanh, [x, w, b], fast_mode=True)


@given(shapes=broadcastable_shapes(2), data=st.data())
def test_scaled_tanh_buggy(shapes: tuple, data: st.DataObject) -> None:
    x = data.draw(tensors(shape=shapes[0], elements=(-3, 3), requires_grad=True, name="x"))
    a = data.draw(tensors(shape=shapes[1], elements=(-3, 3), requires_grad=True, name="a"))
    assert gradcheck(ScaledTanhBuggy.apply, [x, a])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per property")
    args = parser.parse_args(argv)
    budget = settings(max_examples=args.examples, deadline=None, derandomize=True, database=None)

    for test in (test_softplus, test_scaled_tanh, test_dense_tanh):
        budget(test)()
        print(f"ok: {test.__name__} ({args.examples} examples)")

    try:
        budget(test_scaled_tanh_buggy)()
    except GradcheckError as error:
        print("caught the planted bug in ScaledTanhBuggy:")
        print(error)
        notes = "\n".join(getattr(error, "__notes__", []))
        print(notes.split("Explanation:")[0].rstrip())  # hypothesis's shrunk example
        return 0
    print("the planted bug was NOT caught")
    return 1


if __name__ == "__main__":
    sys.exit(main())
