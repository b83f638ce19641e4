"""Shared fixtures, the hypothesis profiles, and the set-up of parallel runs (pytest-xdist).

CI (the CI environment variable is set) runs hypothesis derandomized, so a CI run is repeatable;
locally, examples vary from run to run and find more.

`make test` runs the suite on one pytest-xdist worker per core (`-n auto --dist loadfile`):
- each test module runs on one worker, so a module-scoped fixture is still built once;
- each worker pins TensorFlow's thread pools to its share of the cores (`pytest_configure`), so
  parallel trainings do not starve each other;
"""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, settings

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
    from mnist_lab import registry

    registry.discover()
    builtins = {k: v for k, v in registry._MODELS.items() if v.source == registry.BUILT_IN}
    monkeypatch.setattr(registry, "_MODELS", builtins)
    monkeypatch.setattr(registry, "_BROKEN", {})
    monkeypatch.setattr(registry, "_discovered", True)
    return registry


# --- parallel runs -----------------------------------------------------------------------------

# TensorFlow sizes its thread pools from these variables when it starts (it ignores
# OMP_NUM_THREADS); processes a test starts (CLI runs, exercise checks) inherit them.
TF_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def pytest_configure(config):
    """On an xdist worker, before TensorFlow starts: its threads are cores / workers."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        threads = str(max(1, _cores() // max(1, int(workers))))
        for name in TF_THREAD_VARIABLES:
            os.environ.setdefault(name, threads)  # a value set by hand wins
