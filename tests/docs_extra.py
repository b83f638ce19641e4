"""The course-site tests need the `docs` extra: skipped without it on a laptop, failed in CI.

`pip install -e '.[dev]'` then `pytest` is a supported route, so a missing extra is one skip line
that says what to install; in CI (the CI environment variable is set, as .ci/run sets it) the same
line is a failure, so the site is never left untested there.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

DOCS_EXTRA = "the course-site tests need the docs extra: pip install -e '.[dev,docs]'"


def missing(*modules: str) -> list[str]:
    """The named modules that cannot be imported in this environment."""
    absent = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module set to None
            found = False
        if not found:
            absent.append(name)
    return absent


def reason(absent: list[str]) -> str:
    """The one line of the skip (or, in CI, of the failure)."""
    return f"{DOCS_EXTRA} ({', '.join(absent)} not installed)"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require(*modules: str) -> None:
    """Skip the calling test without `modules`; fail it in CI."""
    absent = missing(*modules)
    if absent:
        if in_ci():
            pytest.fail(reason(absent), pytrace=False)
        pytest.skip(reason(absent))
