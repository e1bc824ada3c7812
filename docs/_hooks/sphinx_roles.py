"""MkDocs hook: tidy the Sphinx markup that the package's docstrings use.

The docstrings are NumPy style with Sphinx roles (``:class:`Tensor```, ``:math:`\\delta^l```) and
``.. math::`` directives, which mkdocstrings passes through as text. This hook, run on each
rendered page, drops the role prefixes (keeping the name as code, shortened after ``~`` as
Sphinx does) and the ``.. math::`` marker (keeping the formula, shown as a code block).
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const|math):(?=<code>)")
_SHORT = re.compile(r"<code>~(?:[\w]+\.)*(\w+)</code>")
_MATH_ALONE = re.compile(r"<p>\.\. math::</p>\s*")
_MATH_INLINE = re.compile(r"<p>\.\. math::\s*")


def on_page_content(html: str, **kwargs: object) -> str:
    html = _ROLE.sub("", html)
    html = _SHORT.sub(r"<code>\1</code>", html)
    html = _MATH_ALONE.sub("", html)
    return _MATH_INLINE.sub("<p>", html)
