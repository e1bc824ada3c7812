"""The round-off helpers of tests/tolerances.py hold, and are not vacuous."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

try:  # tests/ is not a package: pytest puts it on sys.path
    from tolerances import assert_within, eps_of, sum_bound
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.tolerances import assert_within, eps_of, sum_bound

TERMS = st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), max_size=60)


@given(TERMS)
def test_every_summation_order_is_within_sum_bound_of_the_exact_sum(terms):
    exact = math.fsum(terms)  # correctly rounded
    bound = sum_bound(sum(abs(t) for t in terms), len(terms))
    x = np.array(terms, dtype=np.float64)
    for computed in (sum(terms), sum(reversed(terms)), float(np.sum(x)), sum(sorted(terms))):
        assert abs(computed - exact) <= bound + abs(exact) * eps_of(x)  # + fsum's own rounding


def test_a_bound_relative_to_the_result_is_wrong_when_terms_cancel():
    """What made a fixed relative 1e-13 fail by chance: cancellation. sum_bound is right."""
    terms = [0.1] * 10 + [-1.0]
    forward, backward = sum(terms), sum(reversed(terms))
    assert forward != backward
    assert abs(forward - backward) > 1e-13 * max(abs(forward), abs(backward))
    assert abs(forward - backward) <= 2 * sum_bound(sum(abs(t) for t in terms), len(terms))


def test_assert_within_names_the_worst_entry():
    assert_within([1.0, 2.0], [1.0, 2.0 + 1e-17], 1e-16)
    with pytest.raises(AssertionError, match=r"at \(1,\) exceeds the round-off bound"):
        assert_within([1.0, 2.0], [1.0, 2.1], [1e-16, 1e-3], "demo")
    with pytest.raises(AssertionError):
        assert_within([np.nan], [1.0], 1.0)  # NaN is never within a bound
    assert eps_of(np.zeros(1, np.float32)) == float(np.finfo(np.float32).eps)
    assert eps_of(np.zeros(1, int)) == float(np.finfo(np.float64).eps)
