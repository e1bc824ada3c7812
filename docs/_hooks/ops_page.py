"""MkDocs hook: the op list of ``api/ops.md``, rendered from the op declarations.

Every op is declared once in ``autograd_lite/ops.py`` (``defop``); this hook replaces the
marker line of ``docs/api/ops.md`` with one mkdocstrings entry per op of ``ops.OPS``, in
declaration order: its forward (whose docstring gives the formula and the vjp), headed by the
call users write, followed by the Tensor methods and NumPy functions the op backs.
"""

from __future__ import annotations

import inspect
from typing import Any

MARKER = "<!-- ops: rendered from autograd_lite.ops.REGISTRY by docs/_hooks/ops_page.py -->"


def _call(name: str, function: Any) -> str:
    """``name(a, b, axis=-1)``: the parameters as users pass them (no annotations)."""
    parameters = []
    for p in inspect.signature(function).parameters.values():
        star = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        default = "" if p.default is p.empty else f"={p.default!r}"
        parameters.append(f"{star}{p.name}{default}")
    return f"{name}({', '.join(parameters)})"


def render() -> str:
    """The markdown of every op's entry."""
    from autograd_lite import ops

    blocks = []
    for name in ops.OPS:
        info = ops.REGISTRY[name]
        forward = info.primitive.forward
        public = info.public
        shown = public if public is not None and public is not info.primitive else forward
        heading = _call(name, shown) + ("" if public is not None else ": internal, no al." + name)
        block = (
            f"::: autograd_lite.ops.{forward.__name__}\n"
            f"    options:\n"
            f'      heading: "{heading}"\n'
            f'      toc_label: "{name}"\n'
            f"      heading_level: 3\n"
            f"      show_signature: false\n"
            f"      separate_signature: false\n"
        )
        backs = [f"`Tensor.{m}`" for m in info.methods]
        backs += [f"`np.{getattr(f, '__name__', f)}`" for f in info.numpy]
        if backs:
            block += f"\nBacks {', '.join(backs)}.\n"
        blocks.append(block)
    return "\n".join(blocks)


def on_page_markdown(markdown: str, page: Any, **kwargs: object) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, render())
    return markdown
