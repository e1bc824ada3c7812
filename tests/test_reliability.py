"""docs/reliability.md stays true: every test it cites exists, and long training does not leak.

The page is a table of attacks and faults, each with the test that shows what happens; a row
citing a test that was renamed or removed would be a claim nobody checks, so the citations are
resolved here against the test files. The leak checks count the interpreter's allocated blocks
and the collector's tracked objects around 20,000 training steps: anything a step kept (a cached
plan per call, a hook list, a graph node) would grow them by at least one per step.
"""

from __future__ import annotations

import ast
import gc
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite.nielsen import Network

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reliability.md"
CITATION = re.compile(r"`(?P<file>tests/[\w/]+\.py)::(?P<name>[\w.]+)`")


@cache
def _defined_names(path: Path) -> frozenset[str]:
    """``test_x`` and ``TestClass.test_x`` for every test function defined in ``path``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return frozenset(names)


def _citations() -> list[tuple[str, str]]:
    return [(m["file"], m["name"]) for m in CITATION.finditer(PAGE.read_text(encoding="utf-8"))]


def test_reliability_page_cites_tests():
    assert len(_citations()) >= 20, "docs/reliability.md should cite the test behind each row"


@pytest.mark.parametrize(("file", "name"), _citations() if PAGE.exists() else [])
def test_every_cited_test_exists(file, name):
    path = ROOT / file
    assert path.is_file(), f"docs/reliability.md cites {file}, which does not exist"
    assert name in _defined_names(path), f"docs/reliability.md cites {file}::{name}: not defined"


def _growth(step, steps: int) -> tuple[int, int]:
    """Allocated blocks and tracked objects gained over ``steps`` calls of ``step``."""
    for _ in range(200):  # warm-up: plans recorded, NumPy's and the allocator's pools settled
        step()
    gc.collect()
    blocks, objects = sys.getallocatedblocks(), len(gc.get_objects())
    for _ in range(steps):
        step()
    gc.collect()
    return sys.getallocatedblocks() - blocks, len(gc.get_objects()) - objects


@pytest.mark.parametrize("replay", [True, False])
def test_training_steps_do_not_leak(replay):
    steps = 20_000 if replay else 2_000  # the eager graph is rebuilt each step: slower
    rng = np.random.default_rng(0)
    net = Network([784, 30, 10], seed=0, replay=replay)
    batch = (rng.random((784, 10)), np.eye(10)[:, rng.integers(0, 10, 10)])
    blocks, objects = _growth(lambda: net.update_mini_batch(batch, 0.1), steps)
    # One block or object kept per step would show as ``steps``; a few are the interpreter's own.
    assert blocks < steps // 20, f"{blocks} blocks more after {steps} steps"
    assert objects < steps // 20, f"{objects} objects more after {steps} steps"


def test_nn_optim_steps_do_not_leak():
    rng = np.random.default_rng(1)
    model = al.nn.Sequential(al.nn.Linear(20, 8), al.nn.Sigmoid(), al.nn.Linear(8, 3))
    opt = al.optim.SGD(model.parameters(), lr=0.1)
    x, y = al.Tensor(rng.random((10, 20))), rng.random((10, 3))

    def step() -> None:
        opt.zero_grad()
        al.quadratic_cost(model(x), y).backward()
        opt.step()

    steps = 5_000
    blocks, objects = _growth(step, steps)
    assert blocks < steps // 20, f"{blocks} blocks more after {steps} steps"
    assert objects < steps // 20, f"{objects} objects more after {steps} steps"


def test_a_million_node_graph_dropped_without_backward_frees_without_a_crash():
    # Freeing a chain of a million nodes must not recurse once per node on the C stack; a crash
    # would kill the interpreter, so it runs in a child process.
    code = (
        "import gc, autograd_lite as al\n"
        "gc.disable()\n"
        "x = al.Tensor(1.0, requires_grad=True)\n"
        "y = x\n"
        "for _ in range(1_000_000):\n"
        "    y = y * 1.0000001\n"
        "del y\n"
        "print('freed')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "freed"
