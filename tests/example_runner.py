"""Run a script of examples/ (or any file of the repository) the way a user would, in a fresh
interpreter from the repository root, with this checkout's package first on the path and
matplotlib off-screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python <script> <args>`` (``script`` relative to ``examples/``, or to the repository root
    when it has a directory part); its completed process, stdout and stderr as text."""
    path = ROOT / script if "/" in script else ROOT / "examples" / script
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
