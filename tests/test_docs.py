"""The documentation stays true to the code.

* Every ```python block of ``docs/**/*.md`` (the Chinese pages of ``docs/zh/`` too) runs: the
  blocks of one page in order, in one shared namespace, from the repository root. A block
  preceded by ``<!-- no-exec -->`` is skipped (keep that for blocks that need something
  optional, such as Graphviz).
* A code block titled with a source file, ```python title="autograd_lite/ops.py, in sum_to"```,
  is a quote: it is not run, but every run of lines between ``...`` lines must appear verbatim
  (up to common indentation) and in order in that function (or in the whole file when no
  function is named).
* A ```text block preceded by ``<!-- output -->`` must equal what the Python block before it
  printed.
* Every figure in the prose of ``README.md``, ``docs/*.md`` and ``docs/zh/*.md`` (a percentage,
  a power of ten, a time) is recomputed by a :class:`Claim` (within its stated tolerance), or
  sits under a ``<!-- measured: ... -->`` or ``<!-- example: ... -->`` label (to the next
  heading of the same level; under a page's title, the whole page).
* A translated page (``docs/zh/X.md``) quotes the same source lines, in the same order, as its
  English original ``docs/X.md``, so both tie each equation to the same line of code; and it
  keeps the original's heading ids, which the English pages (served under ``/zh/`` too) link to.
* ``examples/why_backprop_is_fast.py --quick`` runs and draws a PNG; ``examples/big_picture.py``
  draws the same graph as ``docs/backprop.md`` (and its translation); ``mkdocs build --strict``
  passes, in both languages (when mkdocs is installed, as in CI).
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path
    from example_runner import run_example
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.example_runner import run_example

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: The Chinese pages (mkdocs-static-i18n's folder structure): a page missing there is served in
#: English. Their prose and comments are Chinese; code, quotes and program output stay the same.
ZH = DOCS / "zh"
PAGES = sorted(DOCS.rglob("*.md"))
NO_EXEC = "<!-- no-exec -->"
OUTPUT = "<!-- output -->"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)(?P<attrs>.*)$")
QUOTE = re.compile(r'title="(?P<path>[\w./-]+\.py)(?:, in (?P<qualname>[\w.]+))?"')
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>(?:\.\./)*img/[^)\s]+)\)")


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


def _prose(page: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) for every line of a page outside its code blocks."""
    fenced = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield number, line


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


def _quotes(page: Path) -> list[tuple[str, str]]:
    return [(b.quote[0], b.code) for b in parse(page) if b.quote]


TRANSLATED = [p for p in sorted(ZH.glob("*.md")) if (DOCS / p.name).is_file()]


@pytest.mark.parametrize("page", TRANSLATED, ids=_page_id)
def test_translation_quotes_the_same_source_as_the_original(page: Path) -> None:
    original = DOCS / page.name
    assert _quotes(page) == _quotes(original), (
        f"{page.relative_to(ROOT)} and {original.relative_to(ROOT)} no longer quote the same "
        "source lines in the same order: bring the translation up to date"
    )


#: A heading's explicit id, ``## 标题 { #the-english-slug }``.
HEADING_ID = re.compile(r"\{ *#(?P<id>[\w-]+) *\}\s*$")


def _anchors(page: Path) -> set[str]:
    """The ids of a page's headings: the explicit one, or the slug of the heading's text."""
    from markdown.extensions.toc import slugify

    anchors = set()
    for _, line in _prose(page):
        if HEADING.match(line):
            explicit = HEADING_ID.search(line)
            text = re.sub(r"[`*]", "", HEADING.sub("", line))
            anchors.add(explicit["id"] if explicit else slugify(text, "-"))
    return anchors


@pytest.mark.parametrize("page", TRANSLATED, ids=_page_id)
def test_translation_keeps_the_anchors_of_the_original(page: Path) -> None:
    """The untranslated pages, served in English under /zh/ too, link to the translated ones."""
    pytest.importorskip("markdown")
    missing = _anchors(DOCS / page.name) - _anchors(page)
    assert not missing, (
        f"{page.relative_to(ROOT)} lacks the headings {sorted(missing)} of the English page: "
        "give the translated headings these ids ('## 标题 { #id }')"
    )


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_images_exist(page: Path) -> None:
    for match in IMAGE.finditer(page.read_text(encoding="utf-8")):
        target = page.parent / match["target"]
        assert target.is_file(), f"{page.relative_to(ROOT)} shows {match['target']}: missing"


def test_why_backprop_is_fast_quick(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "fast.png"
    result = run_example("why_backprop_is_fast.py", "--quick", "--out", str(out), timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backward/forward" in result.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_big_picture_example_draws_the_graph_of_the_docs(tmp_path: Path) -> None:
    out = tmp_path / "big_picture.dot"
    result = run_example("big_picture.py", "--out", str(out), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    for page in (DOCS / "backprop.md", ZH / "backprop.md"):
        namespace, _ = run_page(page)
        assert out.read_text(encoding="utf-8").strip() == namespace["dot_text"].strip(), page
    if shutil.which("dot"):
        svg = tmp_path / "big_picture.svg"
        result = run_example("big_picture.py", "--out", str(svg), timeout=60)
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
    site = tmp_path / "site"
    assert (site / "backprop" / "index.html").is_file()
    assert "反向传播" in (site / "zh" / "backprop" / "index.html").read_text(encoding="utf-8")
    # An untranslated page is served in English under /zh/ too, with the language switch.
    design = (site / "zh" / "design" / "index.html").read_text(encoding="utf-8")
    assert 'hreflang="en"' in design and 'hreflang="zh"' in design
    # Docstrings are Markdown that MkDocs renders natively: math is left for the bundled KaTeX
    # (no network), cross-references are links, and no Sphinx markup shows on any page.
    api = (site / "api" / "nielsen" / "index.html").read_text(encoding="utf-8")
    assert api.count('class="arithmatex"') >= 10 and 'class="autorefs' in api
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r":(math|func|class|meth|mod|attr|data):`|\.\. math::", html), page
        assert "fonts.googleapis.com" not in html and "cdn.jsdelivr" not in html, page
    assert (site / "assets" / "katex" / "katex.min.js").is_file()


def test_every_op_has_an_entry_on_the_ops_page() -> None:
    """The op list of docs/api/ops.md is rendered from the op declarations by a MkDocs hook."""
    import importlib.util

    from autograd_lite.ops import OPS

    spec = importlib.util.spec_from_file_location("ops_page", DOCS / "_hooks" / "ops_page.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = (DOCS / "api" / "ops.md").read_text(encoding="utf-8")
    assert hook.MARKER in page
    rendered = hook.on_page_markdown(page, page=None)
    missing = [
        name
        for name, op in OPS.items()
        if f"::: autograd_lite.ops.{op.forward.__name__}\n" not in rendered
    ]
    assert not missing, f"the ops page does not render an entry for the op(s) {missing}"


def test_every_module_has_an_api_page() -> None:
    package = ROOT / "autograd_lite"
    modules = [p.stem for p in package.glob("*.py") if not p.stem.startswith("_")]
    modules += [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md"))
    missing = [m for m in modules if f"::: autograd_lite.{m}\n" not in pages]
    assert not missing, f"no page in docs/api/ documents autograd_lite.{missing}"


# ---------------------------------------------------------------------------------------------
# Figures in the prose: recomputed, or labelled as a measurement / an example
# ---------------------------------------------------------------------------------------------

#: What counts as a figure in prose: a percentage, a power of ten, a time.
FIGURE = re.compile(r"\d(?:[\d.,]*\d)? ?%|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d(?:[\d.,]*\d)? ?(?:s|ms|µs)\b")
#: ``<!-- measured: ... -->`` or ``<!-- example: ... -->`` labels every figure from there to the
#: next heading of the same or a higher level (right under a page's title: the whole page).
LABEL = re.compile(r"<!-- (measured|example):")
HEADING = re.compile(r"^(#+) ")
#: Pages another part of the project owns the wording of (their figures are measurements
#: quoted with the run that made them); scanned all the same once labelled.
UNSCANNED: set[str] = set()


def _quickstart_accuracies() -> dict[str, float]:
    """Test accuracy (in %) of the quickstart's two runs, recomputed."""
    from autograd_lite.datasets import load_mnist
    from autograd_lite.nielsen import Network

    data = load_mnist()
    training = (data.train.images.T, data.train.labels)
    test = (data.test.images.T, data.test.labels)
    cross = Network([784, 30, 10], seed=0, cost="cross-entropy").SGD(
        training, epochs=1, mini_batch_size=10, eta=0.5, test_data=test, verbose=False
    )
    quad = Network([784, 30, 10], seed=0, cost="quadratic").SGD(
        training, epochs=2, mini_batch_size=10, eta=3.0, test_data=test, verbose=False
    )
    return {
        "cross-entropy, 1 epoch": 100 * cross[0]["accuracy"],
        "quadratic, 1 epoch": 100 * quad[0]["accuracy"],
        "quadratic, 2 epochs": 100 * quad[1]["accuracy"],
    }


@functools.cache
def _computed(name: str) -> float:
    return _quickstart_accuracies()[name]


@dataclass(frozen=True)
class Claim:
    """A figure in a page's prose: ``pattern``'s group 1, within ``tolerance`` of ``compute()``."""

    page: str
    pattern: str
    name: str
    tolerance: float
    why: str


#: Every recomputed figure. Accuracies: the text rounds to whole percents (0.5) and the exact
#: count of 2,000 test digits may move by a few with the platform's BLAS (0.5 more): 1 point.
CLAIMS = [
    Claim(
        "docs/quickstart.md",
        r"gets about (\d+)% of the test digits right",
        "cross-entropy, 1 epoch",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
    Claim(
        "docs/quickstart.md",
        r"about (\d+)% after this epoch",
        "quadratic, 1 epoch",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
    Claim(
        "docs/quickstart.md",
        r"and (\d+)% after the second",
        "quadratic, 2 epochs",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
    # The same three figures in the Chinese quickstart.
    Claim(
        "docs/zh/quickstart.md",
        r"大约 (\d+)% 的数字能被认对",
        "cross-entropy, 1 epoch",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
    Claim(
        "docs/zh/quickstart.md",
        r"这一个迭代期之后约为 (\d+)%",
        "quadratic, 1 epoch",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
    Claim(
        "docs/zh/quickstart.md",
        r"第二个迭代期之后为 (\d+)%",
        "quadratic, 2 epochs",
        1.0,
        "rounding to a whole percent + BLAS",
    ),
]


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.page}:{c.name}")
def test_figures_in_the_prose_are_what_the_code_computes(claim: Claim) -> None:
    text = (ROOT / claim.page).read_text(encoding="utf-8")
    match = re.search(claim.pattern, text)
    assert match, f"{claim.page} no longer says {claim.pattern!r}: update CLAIMS"
    shown, computed = float(match[1]), _computed(claim.name)
    assert abs(shown - computed) <= claim.tolerance, (
        f"{claim.page} says {match[0]!r} ({claim.name}) but the code gives {computed:.2f} "
        f"(tolerance {claim.tolerance}: {claim.why})"
    )


def _prose_figures(page: Path) -> list[tuple[int, str]]:
    """(line, figure) for every figure outside code blocks and outside a labelled section."""
    found = []
    labelled_at: int | None = None  # heading level the current label lasts until
    level = 0
    for number, line in _prose(page):
        heading = HEADING.match(line)
        if heading:
            level = len(heading[1])
            if labelled_at is not None and level <= labelled_at:
                labelled_at = None
            continue
        if LABEL.search(line):
            labelled_at = level
            continue
        if labelled_at is None:
            found += [(number, m[0]) for m in FIGURE.finditer(line)]
    return found


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md"] + [p for p in PAGES if p.parent in (DOCS, ZH) and p.name not in UNSCANNED],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_figure_in_the_prose_is_checked_or_labelled(page: Path) -> None:
    rel = str(page.relative_to(ROOT))
    checked = [re.compile(c.pattern) for c in CLAIMS if c.page == rel]
    lines = page.read_text(encoding="utf-8").splitlines()
    unchecked = [
        f"{rel}:{number}: {figure!r}"
        for number, figure in _prose_figures(page)
        if not any(p.search(lines[number - 1]) for p in checked)
    ]
    assert not unchecked, (
        "figures neither recomputed by a Claim in tests/test_docs.py nor under a "
        "<!-- measured: ... --> / <!-- example: ... --> label:\n" + "\n".join(unchecked)
    )


def test_figure_scan_sees_figures_and_labels(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# T\n\nabout 69% after one epoch, 10⁻¹⁶, 3 ms\n\n```python\nx = 50%\n```\n\n"
        "## Measured\n\n<!-- measured: a run -->\n\n12% here\n\n### deeper\n\n40 ms\n\n"
        "## Next\n\n7%\n",
        encoding="utf-8",
    )
    assert [f for _, f in _prose_figures(page)] == ["69%", "10⁻¹⁶", "3 ms", "7%"]
