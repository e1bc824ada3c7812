"""examples/gradcheck_module.py runs: random models pass, the planted bug is named, grads match."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "gradcheck_module.py"


def test_gradcheck_module_example_runs() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--examples", "8"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ok: Gate in random models" in out, out
    assert "caught the planted bug in parameter '0.linear.weight'" in out, out
    assert "with respect to parameter '0.linear.weight' (shape (3, 3)) disagree" in out, out
    assert "equals loss.backward(), bitwise: True" in out, out
