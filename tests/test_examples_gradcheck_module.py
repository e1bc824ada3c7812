"""examples/gradcheck_module.py runs: random models pass, the planted bug is named, grads match."""

from __future__ import annotations

try:  # tests/ is not a package: pytest puts it on sys.path
    from example_runner import run_example
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.example_runner import run_example


def test_gradcheck_module_example_runs() -> None:
    result = run_example("gradcheck_module.py", "--examples", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ok: Gate in random models" in out, out
    assert "caught the planted bug in parameter '0.linear.weight'" in out, out
    assert "with respect to parameter '0.linear.weight' (shape (3, 3)) disagree" in out, out
    assert "equals loss.backward(), bitwise: True" in out, out
