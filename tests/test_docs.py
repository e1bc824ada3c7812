"""The documentation stays true to the code.

* Every ```python block of ``docs/**/*.md`` runs: the blocks of one page in order, in one shared
  namespace, from the repository root. A block preceded by ``<!-- no-exec -->`` is skipped (keep
  that for blocks that need something optional, such as Graphviz).
* A code block titled with a source file, ```python title="autograd_lite/ops.py, in sum_to"```,
  is a quote: it is not run, but every run of lines between ``...`` lines must appear verbatim
  (up to common indentation) and in order in that function (or in the whole file when no
  function is named).
* A ```text block preceded by ``<!-- output -->`` must equal what the Python block before it
  printed.
* ``examples/why_backprop_is_fast.py --quick`` runs and draws a PNG; ``examples/big_picture.py``
  draws the same graph as ``docs/backprop.md``; ``mkdocs build --strict`` passes (when mkdocs is
  installed, as in CI).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
NO_EXEC = "<!-- no-exec -->"
OUTPUT = "<!-- output -->"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)(?P<attrs>.*)$")
QUOTE = re.compile(r'title="(?P<path>[\w./-]+\.py)(?:, in (?P<qualname>[\w.]+))?"')
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>img/[^)\s]+)\)")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    attrs: str
    code: str
    marker: str  # the last non-blank line before the fence

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def quote(self) -> re.Match | None:
        return QUOTE.search(self.attrs)

    @property
    def runs(self) -> bool:
        return self.lang in ("python", "py") and not self.quote and self.marker != NO_EXEC


def parse(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    marker = ""
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                marker = lines[i].strip()
            i += 1
            continue
        indent = match["indent"]
        start = i
        body = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != indent + "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{start + 1}: unclosed code block")
        code = "\n".join(body) + "\n"
        blocks.append(Block(page, start + 1, match["lang"], match["attrs"], code, marker))
        marker = ""
        i += 1
    return blocks


@functools.cache
def run_page(page: Path) -> tuple[dict, dict[int, str]]:
    """Run the page's Python blocks in order; return the namespace and each block's output."""
    namespace: dict = {"__name__": "__docs__"}
    outputs: dict[int, str] = {}
    previous = os.getcwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(ROOT)
    try:
        for block in parse(page):
            if not block.runs:
                continue
            stdout = io.StringIO()
            code = compile(block.code, block.where, "exec")
            try:
                with contextlib.redirect_stdout(stdout):
                    exec(code, namespace)
            except Exception as error:
                raise AssertionError(
                    f"{block.where}: the code block raised {type(error).__name__}: {error}\n"
                    f"{block.code}"
                ) from error
            outputs[block.line] = stdout.getvalue()
    finally:
        os.chdir(previous)
    return namespace, outputs


def _page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_code_blocks_run(page: Path) -> None:
    run_page(page)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_shown_output_matches(page: Path) -> None:
    blocks = parse(page)
    last_run = None
    for block in blocks:
        if block.runs:
            last_run = block
        if block.marker != OUTPUT:
            continue
        assert last_run is not None, f"{block.where}: {OUTPUT} with no Python block before it"
        _, outputs = run_page(page)
        printed = "\n".join(line.rstrip() for line in outputs[last_run.line].strip().splitlines())
        shown = "\n".join(line.rstrip() for line in block.code.strip().splitlines())
        assert printed == shown, (
            f"{block.where}: the page shows an output that differs from what the block at line "
            f"{last_run.line} prints:\n--- shown\n{shown}\n--- printed\n{printed}"
        )


def _definition_span(tree: ast.Module, qualname: str) -> tuple[int, int] | None:
    """The 0-based [start, stop) lines of the function or class ``qualname`` (dotted)."""
    body = tree.body
    node = None
    for part in qualname.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        body = node.body
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return start - 1, node.end_lineno


def _segments(code: str) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for line in code.rstrip("\n").splitlines():
        if line.strip() == "...":
            segments.append([])
        else:
            segments[-1].append(line)
    return [s for s in segments if s]


QUOTES = [b for page in PAGES for b in parse(page) if b.quote]


@pytest.mark.parametrize("block", QUOTES, ids=lambda b: b.where)
def test_quoted_source_is_verbatim(block: Block) -> None:
    match = block.quote
    source_path = ROOT / match["path"]
    assert source_path.is_file(), f"{block.where}: quotes {match['path']}, which does not exist"
    source = source_path.read_text(encoding="utf-8")
    lines = source.splitlines()
    qualname = match["qualname"]
    if qualname:
        span = _definition_span(ast.parse(source), qualname)
        assert span is not None, (
            f"{block.where}: no function or class {qualname} in {match['path']}"
        )
        lines = lines[span[0] : span[1]]
    position = 0
    for segment in _segments(block.code):
        wanted = textwrap.dedent("\n".join(segment))
        n = len(segment)
        for start in range(position, len(lines) - n + 1):
            if textwrap.dedent("\n".join(lines[start : start + n])) == wanted:
                position = start + n
                break
        else:
            where = f"{match['path']}" + (f", in {qualname}" if qualname else "")
            pytest.fail(
                f"{block.where}: these lines are no longer in {where} (in this order):\n{wanted}"
            )


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_images_exist(page: Path) -> None:
    for match in IMAGE.finditer(page.read_text(encoding="utf-8")):
        target = page.parent / match["target"]
        assert target.is_file(), f"{page.relative_to(ROOT)} shows {match['target']}: missing"


def _run_example(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_why_backprop_is_fast_quick(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "fast.png"
    result = _run_example(["examples/why_backprop_is_fast.py", "--quick", "--out", str(out)], 180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backward/forward" in result.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_big_picture_example_draws_the_graph_of_the_docs(tmp_path: Path) -> None:
    out = tmp_path / "big_picture.dot"
    result = _run_example(["examples/big_picture.py", "--out", str(out)], 60)
    assert result.returncode == 0, result.stdout + result.stderr
    namespace, _ = run_page(DOCS / "backprop.md")
    assert out.read_text(encoding="utf-8").strip() == namespace["dot_text"].strip()
    if shutil.which("dot"):
        svg = tmp_path / "big_picture.svg"
        result = _run_example(["examples/big_picture.py", "--out", str(svg)], 60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "<svg" in svg.read_text(encoding="utf-8")


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "backprop" / "index.html").is_file()


def test_every_op_has_an_entry_on_the_ops_page() -> None:
    from autograd_lite.ops import OPS

    page = (DOCS / "api" / "ops.md").read_text(encoding="utf-8")
    missing = [
        name
        for name, op in OPS.items()
        if f"::: autograd_lite.ops.{op.forward.__name__}\n" not in page
    ]
    assert not missing, f"docs/api/ops.md lacks an entry for the op(s) {missing}"


def test_every_module_has_an_api_page() -> None:
    package = ROOT / "autograd_lite"
    modules = [p.stem for p in package.glob("*.py") if not p.stem.startswith("_")]
    modules += [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md"))
    missing = [m for m in modules if f"::: autograd_lite.{m}\n" not in pages]
    assert not missing, f"no page in docs/api/ documents autograd_lite.{missing}"
