"""The composition examples run in quick mode, and docs/composition.md's code blocks execute."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path
    from example_runner import run_example
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.example_runner import run_example

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOC = ROOT / "docs" / "composition.md"


def _run(name: str, *args: str) -> str:
    result = run_example(name, "--quick", *args, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _percent(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return float(match.group(1))


def test_custom_layer_example():
    out = _run("custom_layer.py")
    assert float(re.search(r"max \|autodiff - numeric\| = (\S+)", out).group(1)) < 1e-6
    assert "(transform): Linear(30, 30" in out
    assert "al.compile gives the eager loss and gradients bitwise: True" in out
    assert _percent(r"Final test accuracy: ([\d.]+)%", out) > 50.0  # chance is 10%


def test_custom_primitive_example():
    out = _run("custom_primitive.py")
    assert out.count(": passed") == 3
    assert "wrong vjp caught by gradcheck" in out and "worst entry" in out
    assert "all checks passed" in out


def test_hessian_vector_product_example():
    out = _run("hessian_vector_product.py")
    fd = float(re.search(r"finite differences of gradients: relative error (\S+)", out).group(1))
    module = float(re.search(r"create_graph vs al.hvp: relative error (\S+)", out).group(1))
    assert fd < 1e-6 and module < 1e-12
    assert "power iteration" in out


def test_cost_comparison_example():
    out = _run("cost_comparison.py")
    assert re.search(r"Epoch 1: quadratic\+standard [\d.]+% \| cross-entropy\+normalized", out)
    quadratic = _percent(r"Final test accuracy: quadratic\+standard ([\d.]+)%", out)
    cross = _percent(r"cross-entropy\+normalized ([\d.]+)%\s*$", out)
    assert cross > 50.0 and quadratic > 10.0


def test_examples_main_takes_argv(capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import custom_primitive
    finally:
        sys.path.remove(str(EXAMPLES))
    results = custom_primitive.main(["--quick"])
    assert all(results.values())
    assert "all checks passed" in capsys.readouterr().out


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_composition_doc_code_blocks_run(capsys):
    blocks = _python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict = {"__name__": "composition_doc"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{DOC.name} block {i}", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message says which block
            pytest.fail(f"docs/composition.md block {i} failed: {error!r}\n{block}")
    out = capsys.readouterr().out
    assert "'2.transform.weight'" in out and "unexpected keys" in out
