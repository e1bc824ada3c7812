"""The benchmarks' own instruments compute what they claim to (timing itself is never tested)."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_lite.nielsen import Network
from benchmarks.minimal_tape import MinimalTapeNetwork


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minimal_tape_matches_network_bitwise(dtype) -> None:
    """The floor diagnostic does the library's arithmetic, so its weights stay bitwise equal."""
    rng = np.random.default_rng(0)
    net = Network([12, 5, 3], seed=3, dtype=dtype)
    tape = MinimalTapeNetwork(net.biases, net.weights)
    for _ in range(20):
        X = rng.random((12, 4)).astype(dtype)
        Y = rng.random((3, 4)).astype(dtype)
        net.update_mini_batch((X, Y), 3.0)
        tape.step(X, Y, 3.0)
    for ours, floor in zip(net.biases + net.weights, tape.biases + tape.weights, strict=True):
        assert floor.dtype == ours.dtype
        np.testing.assert_array_equal(floor, ours)
