"""Hypothesis strategies and tolerances shared by the chapter's two test files."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# At least 30 examples per property (a few ms each), more under the ci/thorough profiles.
FAST = settings(
    max_examples=max(30, settings().max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

COST_NAMES = ["quadratic", "cross-entropy"]


@st.composite
def cases(draw, max_layers: int = 5, max_width: int = 20, max_m: int = 5):
    """(sizes, seed, m, cost): a random architecture, seed, batch size and cost."""
    sizes = draw(st.lists(st.integers(1, max_width), min_size=2, max_size=max_layers))
    seed = draw(st.integers(0, 2**32 - 1))
    m = draw(st.integers(1, max_m))
    cost = draw(st.sampled_from(COST_NAMES))
    return sizes, seed, m, cost


def make_batch(sizes, seed, m, dtype=np.float64):
    """Inputs in [0, 1) and targets in [0, 1] (one-hot-ish), samples as columns."""
    rng = np.random.default_rng([seed, 7])
    X = rng.random((sizes[0], m)).astype(dtype)
    Y = rng.random((sizes[-1], m)).astype(dtype)
    return X, Y


def max_rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = float(np.max(np.abs(b), initial=0.0))
    err = float(np.max(np.abs(a - b), initial=0.0))
    return err / scale if scale > 0 else err


def assert_rel(a, b, rtol):
    assert np.shape(a) == np.shape(b)
    assert max_rel_err(a, b) <= rtol, (max_rel_err(a, b), rtol)
