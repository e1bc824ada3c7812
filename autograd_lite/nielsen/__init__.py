"""Chapter 2 of Nielsen's *Neural Networks and Deep Learning*, twice.

`ManualNetwork` computes its gradients with the four backpropagation equations BP1-BP4
written out in NumPy; `Network` is the same network (same API, initial parameters and
shuffling for the same seed) whose gradients come from the autodiff graph. `compare()`
checks, layer by layer, that the two agree to round-off and times both.
"""

from __future__ import annotations

from .manual import CrossEntropyCost, ManualNetwork, QuadraticCost
from .network import Network

# Last: binding the function ``compare`` replaces the submodule of the same name on the package.
from .compare import ComparisonReport, compare  # noqa: E402  isort: skip

__all__ = ["Network", "ManualNetwork", "compare", "ComparisonReport", "QuadraticCost"]
__all__ += ["CrossEntropyCost"]
