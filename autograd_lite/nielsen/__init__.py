"""Chapter 2 of Nielsen's *Neural Networks and Deep Learning*, twice.

:class:`ManualNetwork` computes its gradients with the four backpropagation equations BP1-BP4
written out in NumPy; :class:`Network` is the same network (same API, same initial parameters,
same shuffling for the same seed) whose gradients come from the autodiff graph.
:func:`compare` checks, layer by layer, that the two agree to round-off and times both.

Importing this package loads NumPy and the autodiff core, nothing else (``tqdm`` is imported only
when a progress bar is asked for).
"""

from __future__ import annotations

from .manual import CrossEntropyCost, ManualNetwork, QuadraticCost
from .network import Network

# Imported last, and by name: binding the function ``compare`` here replaces the submodule of
# the same name that the import system attaches to the package.
from .compare import ComparisonReport, compare  # noqa: E402  isort: skip

__all__ = [
    "Network",
    "ManualNetwork",
    "compare",
    "ComparisonReport",
    "QuadraticCost",
    "CrossEntropyCost",
]
