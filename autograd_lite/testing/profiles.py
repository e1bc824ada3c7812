"""Hypothesis profiles shared by autograd_lite's test suite (and usable in yours).

``dev``
    Fast: few examples per property, so the whole suite runs in a couple of minutes. The
    default on a workstation.
``ci``
    Thorough and reproducible: more examples, derandomized (the same examples on every run),
    no deadline, no example database. The default when the environment variable ``CI`` is set.
``thorough``
    Many examples, for an occasional long run.

The environment variable ``AUTOGRAD_LITE_PROFILE`` selects one explicitly.

What ``pytest --hypothesis-seed=N`` does depends on the profile: under ``ci`` (derandomized)
the seed is ignored and every run draws the same examples, so a pull request never fails on
a draw that the previous run did not make; under ``dev`` and ``thorough`` the seed picks the
examples, which is how to explore (and reproduce a failure seen with) other draws::

    for s in $(seq 1 20); do
        AUTOGRAD_LITE_PROFILE=dev python -m pytest -q -p no:cacheprovider --hypothesis-seed=$s
    done
    AUTOGRAD_LITE_PROFILE=thorough python -m pytest -q

Keep CI derandomized and run the seeded loop and the ``thorough`` profile on a schedule: new
draws then find bugs without making unrelated changes fail.

In a conftest.py::

    from autograd_lite.testing.profiles import load_profile
    load_profile()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, settings

from autograd_lite.errors import InvalidArgumentError

__all__ = ["PROFILES", "ENV_VAR", "register_profiles", "profile_name", "load_profile"]

#: The environment variable that names the profile.
ENV_VAR = "AUTOGRAD_LITE_PROFILE"

_SLOW_IS_FINE = [HealthCheck.too_slow]

#: The settings of each profile.
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "max_examples": 10,
        "deadline": None,
        "suppress_health_check": _SLOW_IS_FINE,
    },
    "ci": {
        "max_examples": 100,
        "derandomize": True,
        "deadline": None,
        "database": None,
        "print_blob": True,
        "suppress_health_check": _SLOW_IS_FINE,
    },
    "thorough": {
        "max_examples": 1000,
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": _SLOW_IS_FINE,
    },
}


def register_profiles() -> None:
    """Register every profile of `PROFILES` with hypothesis."""
    for name, values in PROFILES.items():
        settings.register_profile(name, **values)


def profile_name(environ: Mapping[str, str] | None = None) -> str:
    """The profile to use: ``$AUTOGRAD_LITE_PROFILE``, else ``ci`` if ``$CI`` is set, else ``dev``.

    An empty ``CI`` or ``CI=false``/``0`` counts as unset.
    """
    env = os.environ if environ is None else environ
    name = env.get(ENV_VAR, "").strip()
    if name:
        if name not in PROFILES:
            raise InvalidArgumentError(
                f"{ENV_VAR}={name!r} is not a profile; choose one of {sorted(PROFILES)}"
            )
        return name
    ci = env.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"


def load_profile(environ: Mapping[str, str] | None = None) -> str:
    """Register the profiles, load the one `profile_name()` chooses, and return its name."""
    register_profiles()
    name = profile_name(environ)
    settings.load_profile(name)
    return name
