"""examples/fuzz_custom_layer.py runs, and every Python block of docs/testing.md executes."""

from __future__ import annotations

import re
from pathlib import Path

try:  # tests/ is not a package: pytest puts it on sys.path
    from example_runner import run_example
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.example_runner import run_example

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"(?P<marker><!-- no-exec -->\n)?```python\n(?P<code>.*?)```", re.DOTALL)


def test_fuzz_custom_layer_example_runs() -> None:
    result = run_example("fuzz_custom_layer.py", "--examples", "15")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in ("test_softplus", "test_scaled_tanh", "test_dense_tanh"):
        assert f"ok: {name}" in out, out
    assert "caught the planted bug in ScaledTanhBuggy" in out, out
    assert "with respect to input 1 ('a')" in out, out  # the scale, whose gradient is averaged
    # gradcheck's own report of the counterexample (hypothesis's wording of it is not matched:
    # it changes between versions).
    assert re.search(r"analytic: .*\n\s+numeric: ", out), out


def test_docs_testing_code_blocks_execute(capsys: object) -> None:
    blocks = [m["code"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8")) if not m["marker"]]
    assert len(blocks) >= 5
    namespace: dict = {"__name__": "__docs_testing__"}
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{DOC.name}, python block {number}", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message is the point
            raise AssertionError(
                f"docs/testing.md python block {number} raised:\n{code}"
            ) from error
