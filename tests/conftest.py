"""Shared fixtures, the hypothesis profiles, and the set-up of parallel runs (pytest-xdist).

CI (the CI environment variable is set) runs hypothesis derandomized, so a CI run is repeatable;
locally, examples vary from run to run and find more.

`make test` runs the suite on one pytest-xdist worker per core (`-n auto --dist loadfile`):
- each test module runs on one worker, so a module-scoped fixture is still built once;
- each worker pins TensorFlow's thread pools to its share of the cores (`pytest_configure`), so
  parallel trainings do not starve each other;
- the trained runs most modules read are trained once per pytest run, whichever worker asks
  first, and shared by all (`trained_runs`).
"""

from __future__ import annotations

import json
import os
import shutil
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


# The runs that tests only read (or copy, to change): trained once per pytest run and shared by
# every module and worker. `reference` reads digits reliably (about 97%); `mlp` has no
# convolution. Both keep their epochs' weights.
SHARED_RUNS = {
    "reference": {"model": "reference", "epochs": 2, "limit": 8192, "seed": 0},
    "mlp": {"model": "mlp", "epochs": 2, "limit": 512, "seed": 0},
}


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, mnist) -> dict[str, Path]:
    """The SHARED_RUNS' folders by name, trained once per pytest run: READ-ONLY, since other
    tests read them at the same time; copy one (`copy_trained_run`) to change it."""
    from filelock import FileLock

    from mnist_lab import TrainConfig, train

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder all workers of this pytest run share
    folder = root / "trained-runs"
    index = folder / "runs.json"  # written last: the runs are complete
    with FileLock(f"{folder}.lock"):
        if not index.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed halfway
            names = {}
            for key, options in SHARED_RUNS.items():
                config = TrainConfig(**options, out=str(folder / key))
                names[key] = train(config, dataset=mnist, verbose=0).path.name
            index.write_text(json.dumps(names))
        names = json.loads(index.read_text())
    return {key: folder / key / name for key, name in names.items()}


@pytest.fixture(scope="session")
def copy_trained_run(trained_runs):
    """`copy_trained_run(name, folder)`: a copy of a shared run in `folder`, free to change."""

    def copy(name: str, folder: Path) -> Path:
        return Path(shutil.copytree(trained_runs[name], Path(folder) / trained_runs[name].name))

    return copy


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A fresh copy of the course in tmp_path, the current folder: the manifest, the exercises'
    tests and the original stubs (for the `mnist-lab exercises` commands' tests)."""
    from mnist_lab.course import exercises

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "exercises" / "tests", tmp_path / "exercises" / "tests")
    shutil.copy(root / "exercises" / "manifest.toml", tmp_path / "exercises" / "manifest.toml")
    for exercise in exercises.load_catalog(root):
        (tmp_path / "exercises" / exercise.file.name).write_text(exercises.stub_text(exercise))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path / "exercises"))
    return tmp_path
