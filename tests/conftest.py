"""Shared fixtures and the hypothesis profiles.

CI (the CI environment variable is set) runs hypothesis derandomized, so a CI run is repeatable;
locally, examples vary from run to run and find more.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The course site's build tools (docs/_tools/) are not part of the installed package; their tests
# import them as the site's build does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_tools"))

# tests/perf/ holds the `make bench` scripts: they train for minutes and are never collected.
collect_ignore = ["perf"]

# The project's tests see the built-in models only: a student's unfinished exercise files (which
# register models under exercises/) must never make the project's own suite fail.
os.environ["MNIST_LAB_PLUGINS"] = tempfile.mkdtemp(prefix="mnist-lab-no-plugins-")

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays, from the user's cache (`make test` fetches it first)."""
    from mnist_lab.data import load_mnist

    return load_mnist()


@pytest.fixture
def clean_registry(monkeypatch):
    """A registry holding only the built-in models, restored after the test."""
    from mnist_lab.models import registry

    registry.discover()
    builtins = {k: v for k, v in registry._MODELS.items() if v.source == registry.BUILT_IN}
    monkeypatch.setattr(registry, "_MODELS", builtins)
    monkeypatch.setattr(registry, "_BROKEN", {})
    monkeypatch.setattr(registry, "_discovered", True)
    return registry
