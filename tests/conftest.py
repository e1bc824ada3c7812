"""Shared test configuration: the hypothesis profiles.

Profiles (see docs/testing.md): ``AUTOGRAD_LITE_PROFILE=dev|ci|thorough``; by default ``ci``
when the ``CI`` environment variable is set, else ``dev``.
"""

from __future__ import annotations

from typing import Any

from autograd_lite.testing.profiles import load_profile

PROFILE = load_profile()


def pytest_report_header(config: Any) -> str:
    return f"hypothesis profile: {PROFILE} (set AUTOGRAD_LITE_PROFILE=dev|ci|thorough)"
