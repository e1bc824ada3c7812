"""Modes belong to their thread (issue 12, section 2).

``no_grad``, ``enable_grad``, ``detect_anomaly``, the replay-recording flag and the nesting depth
of ``al.grad`` are per thread, as PyTorch's grad mode is. Each scenario forces its interleaving
with events (one thread holds a mode open while the other works), never with sleeps, so the
test is deterministic; every wait has a timeout so that a bug fails the test instead of hanging
it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import errors
from autograd_lite.modes import is_anomaly_enabled

WAIT = 30.0  # seconds: only reached when a thread is stuck, i.e. on a bug


class Worker(threading.Thread):
    """A thread that keeps its target's exception (or result) for the joining test."""

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None
        self.result: Any = None

    def run(self) -> None:
        try:
            self.result = self._target_fn()
        except BaseException as error:  # handed to the main thread by finish()
            self.error = error

    def finish(self) -> Any:
        self.join(WAIT)
        assert not self.is_alive(), "the thread is stuck"
        if self.error is not None:
            raise self.error
        return self.result


def start(target: Callable[[], Any]) -> Worker:
    worker = Worker(target)
    worker.start()
    return worker


def wait(event: threading.Event) -> None:
    assert event.wait(WAIT), "the other thread never got there"


def records() -> bool:
    """Whether an op on a tensor that requires grad is recorded in this thread now."""
    return (al.Tensor([1.0], requires_grad=True) * 2.0).requires_grad


@pytest.fixture(autouse=True)
def frequent_switches() -> Iterator[None]:
    """Switch threads every few microseconds, so that free-running loops really interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def test_a_new_thread_starts_with_the_default_modes() -> None:
    with al.no_grad(), al.detect_anomaly():
        seen = start(lambda: (al.is_grad_enabled(), is_anomaly_enabled(), records())).finish()
    assert seen == (True, False, True)


def test_backward_works_while_another_thread_evaluates_under_no_grad() -> None:
    net = al.nielsen.Network([3, 4, 2], seed=0)
    inside, done = threading.Event(), threading.Event()
    a = np.ones((3, 1))

    def evaluate() -> int:
        calls = 0
        with al.no_grad():  # held open while the main thread trains
            inside.set()
            while not done.is_set():
                net.feedforward(a)  # (itself a no_grad block, entered and left at every call)
                calls += 1
        return calls

    worker = start(evaluate)
    wait(inside)
    try:
        for _ in range(200):
            x = al.Tensor(np.arange(3.0), requires_grad=True)
            (x * x).sum().backward()  # raised BackwardError ("does not require grad") before
            np.testing.assert_array_equal(x.grad, 2 * np.arange(3.0))
    finally:
        done.set()
    assert worker.finish() > 0
    assert records()


def test_no_grad_blocks_that_exit_out_of_order_leave_every_thread_recording() -> None:
    # The same decorated function in both threads: one no_grad instance, entered twice at once.
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()

    @al.no_grad()
    def hold(entered: threading.Event, leave_after: threading.Event) -> bool:
        entered.set()
        wait(leave_after)
        return records()

    def thread_a() -> tuple[bool, bool]:
        inside = hold(a_inside, b_inside)  # A enters first, leaves while B is still inside
        a_left.set()
        return inside, records()

    def thread_b() -> tuple[bool, bool]:
        wait(a_inside)
        inside = hold(b_inside, a_left)  # B leaves last
        return inside, records()

    a, b = start(thread_a), start(thread_b)
    assert a.finish() == (False, True)  # off inside its block, on after it
    assert b.finish() == (False, True)
    assert records() and al.is_grad_enabled()


def test_blocks_that_exit_out_of_order_in_one_thread_restore_their_own_mode() -> None:
    outer, inner = al.no_grad(), al.detect_anomaly()
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # (as generators holding a block open can do)
    assert al.is_grad_enabled() and is_anomaly_enabled()
    inner.__exit__(None, None, None)
    assert al.is_grad_enabled() and not is_anomaly_enabled()


def test_enable_grad_in_one_thread_does_not_reach_another_no_grad_block() -> None:
    inside, enabled, checked = threading.Event(), threading.Event(), threading.Event()

    def thread() -> bool:
        with al.no_grad():
            inside.set()
            wait(enabled)  # the main thread is inside enable_grad now
            try:
                return records()
            finally:
                checked.set()

    worker = start(thread)
    wait(inside)
    with al.no_grad(), al.enable_grad():
        enabled.set()
        wait(checked)
        assert records()
    assert worker.finish() is False


def test_detect_anomaly_in_one_thread_does_not_raise_in_another() -> None:
    inside, done = threading.Event(), threading.Event()

    def debug() -> None:
        with al.detect_anomaly():
            inside.set()
            wait(done)
            with pytest.raises(errors.AnomalyError, match="log"):
                al.log(al.Tensor([0.0], requires_grad=True))

    worker = start(debug)
    wait(inside)
    try:
        assert not is_anomaly_enabled()
        y = al.log(al.Tensor([0.0, 1.0], requires_grad=True))  # -inf, silently, in this thread
        y.sum().backward()
        assert y.data[0] == -np.inf
    finally:
        done.set()
    worker.finish()


def test_a_replay_recording_in_one_thread_does_not_refuse_value_reads_in_another() -> None:
    recording, done = threading.Event(), threading.Event()

    def f(x: al.Tensor) -> al.Tensor:
        if al.modes.STATE.recording:  # hold the recording open while the main thread works
            recording.set()
            wait(done)
        return (x * x).sum()

    df = al.grad(f, replay=True)
    worker = start(lambda: [df(np.arange(3.0)) for _ in range(3)])
    wait(recording)
    try:
        y = al.Tensor([1.0, -1.0], requires_grad=True)
        np.testing.assert_array_equal(y > 0, [True, False])  # ReplayError before
        assert float((y * 2).sum()) == 0.0
    finally:
        done.set()
    for g in worker.finish():
        np.testing.assert_array_equal(g, 2 * np.arange(3.0))


def test_grad_inside_another_threads_grad_returns_an_array() -> None:
    evaluating, done = threading.Event(), threading.Event()

    def slow(x: al.Tensor) -> al.Tensor:
        evaluating.set()
        wait(done)
        return (x**3).sum()

    worker = start(lambda: al.grad(slow)(np.array([1.0, 2.0])))
    wait(evaluating)
    try:
        inner = al.grad(lambda x: (x * x).sum())(np.array([3.0]))
        value, g = al.value_and_grad(lambda x: (x * x).sum())(np.array([3.0]))
    finally:
        done.set()
    assert type(inner) is np.ndarray and type(g) is np.ndarray  # not Tensors of an outer graph
    assert type(value) is not al.Tensor
    np.testing.assert_array_equal(inner, [6.0])
    np.testing.assert_array_equal(worker.finish(), [3.0, 12.0])


def _training(seed: int, steps: int) -> list[np.ndarray]:
    """``steps`` of SGD of a small Network on data of its own; evaluation under no_grad, and
    every tenth step under detect_anomaly, so the modes change all the time."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((4, 8)), rng.random((3, 8))
    net = al.nielsen.Network([4, 5, 3], seed=seed, replay=seed % 2 == 0)
    for step in range(steps):
        if step % 10 == 0:
            with al.detect_anomaly():
                net.update_mini_batch((X, Y), 0.5)
        else:
            net.update_mini_batch((X, Y), 0.5)
        net.feedforward(X)
    return net.biases + net.weights


def test_four_threads_training_at_once_each_match_the_same_run_alone() -> None:
    steps = 500
    alone = [_training(seed, steps) for seed in range(4)]
    barrier = threading.Barrier(4, timeout=WAIT)

    def train(seed: int) -> list[np.ndarray]:
        barrier.wait()
        return _training(seed, steps)

    workers = [start(lambda seed=seed: train(seed)) for seed in range(4)]
    together = [w.finish() for w in workers]
    for seed, (a, b) in enumerate(zip(alone, together)):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q, err_msg=f"thread {seed}")


def test_a_no_grad_block_held_across_an_await_does_not_reach_another_task() -> None:
    async def main() -> tuple[bool, bool]:
        inside, checked = asyncio.Event(), asyncio.Event()

        async def evaluate() -> bool:
            with al.no_grad():
                inside.set()
                await checked.wait()  # the other task runs while this block is open
                return records()

        async def train() -> bool:
            await inside.wait()
            try:
                return records()
            finally:
                checked.set()

        return tuple(await asyncio.gather(evaluate(), train()))

    assert asyncio.run(main()) == (False, True)
    assert records()
