"""Testing tools for gradients: for autograd_lite's own tests and for users' custom layers.

* `gradcheck()` / `gradgradcheck()`: analytic first and second derivatives against
  central finite differences, of a function or of an ``nn.Module`` (its parameters, by name,
  and its inputs: ``wrt="all"``); `GradcheckError` on a mismatch.
* `autograd_lite.testing.strategies`: hypothesis strategies (``tensors``, broadcastable
  shapes, random computation ``graphs``, small random models ``mlps`` and their
  ``module_inputs``). Hypothesis is a development dependency: it is imported
  only when ``strategies`` is first used, so ``import autograd_lite`` never needs it.
* `autograd_lite.testing.profiles`: the ``dev`` and ``ci`` hypothesis profiles.
"""

from __future__ import annotations

import importlib
from typing import Any

from autograd_lite.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies", "profiles"]

_LAZY = ("strategies", "profiles")


def __getattr__(name: str) -> Any:
    # ``al.testing.strategies`` imports hypothesis on first use only (PEP 562).
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
