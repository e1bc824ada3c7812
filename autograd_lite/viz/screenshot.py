"""Headless Chromium for the explorer: the docs' screenshot, and the browser test's launcher.

Regenerate the screenshot in the docs (``docs/img/explorer.png``)::

    python -m autograd_lite.viz.screenshot            # or: -o FILE --step K --width W

It writes the page of ``autograd-lite explore`` (the default ``[2, 3, 2]`` network), opens it
in headless Chromium, steps the backward pass with the → key to step ``K`` and saves the
window. Needs Playwright's Python package (``pip install 'autograd_lite[browser]'``) and a
Chromium: Debian's ``chromium`` package (``apt-get install chromium``), found at
``/usr/bin/chromium`` or wherever ``$CHROMIUM`` says. Playwright's own browser download is not
used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["BrowserUnavailable", "find_chromium", "chromium", "screenshot", "main"]


def find_chromium() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else ``chromium`` (Debian's) or
    ``chromium-browser`` on the PATH; None if there is none."""
    given = os.environ.get("CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserUnavailable(RuntimeError):
    """No Playwright or no Chromium here (the message says which, in one line)."""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed on exit.

    Raises
    ------
    BrowserUnavailable
        If Playwright's package or a Chromium executable is missing, or Chromium does not start.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserUnavailable(
            "Playwright is not installed (pip install 'autograd_lite[browser]')"
        ) from None
    executable = find_chromium()
    if executable is None:
        raise BrowserUnavailable("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
            )
        except Exception as error:  # a Chromium that cannot start here
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise BrowserUnavailable(f"{executable} did not start: {first}") from None
        try:
            yield browser
        finally:
            browser.close()


def screenshot(
    path: str | os.PathLike[str] = "docs/img/explorer.png",
    *,
    step: int = 6,
    width: int = 1280,
    height: int = 1400,
    page_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Save a picture of the explorer (the default network) at backward step ``step``."""
    from autograd_lite.viz.explore import chapter_example, write_page

    out = Path(path)
    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(page_path) if page_path else Path(folder) / "explorer.html"
        write_page(chapter_example(), page_file)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(page_file.resolve().as_uri())
            for _ in range(step):
                page.keyboard.press("ArrowRight")
            page.screenshot(path=str(out))
            page.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograd_lite.viz.screenshot", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("-o", "--output", default="docs/img/explorer.png", help="the PNG to write")
    parser.add_argument("--step", type=int, default=6, help="backward step to show (6)")
    parser.add_argument("--width", type=int, default=1280, help="window width in pixels (1280)")
    parser.add_argument("--height", type=int, default=1400, help="window height in pixels (1400)")
    args = parser.parse_args(argv)
    try:
        out = screenshot(args.output, step=args.step, width=args.width, height=args.height)
    except BrowserUnavailable as error:
        print(f"screenshot: {error}")
        return 1
    print(f"Saved {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
