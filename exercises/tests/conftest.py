"""Fixtures of the exercise tests: the exercise file under test, and the MNIST arrays.

Each test module names its exercise in a constant, e.g. `EXERCISE = "ex02_normalize.py"`. The
`exercise` fixture imports that file from the folder in $MNIST_LAB_EXERCISES_DIR (by default
`exercises/`, the parent of this folder), so the same tests check a student's file, the shipped
stub or the reference solution. Nothing here runs at import time: the model registry imports
every `.py` file under `exercises/`, this one included.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

EXERCISES_DIR_ENV = "MNIST_LAB_EXERCISES_DIR"
PLUGINS_ENV = "MNIST_LAB_PLUGINS"  # where the model registry looks for students' models
DEFAULT_DIR = Path(__file__).resolve().parent.parent
_loaded = itertools.count()


def pytest_configure(config):
    # Registered here too, so the tests run the same from a copy without the project's settings.
    config.addinivalue_line("markers", "slow: trains a model for a minute or so")


def exercises_dir() -> Path:
    """The folder whose exercise files are tested."""
    configured = os.environ.get(EXERCISES_DIR_ENV)
    return Path(configured).expanduser().resolve() if configured else DEFAULT_DIR


def import_exercise(path: Path):
    """Import one exercise file under a name of its own, so two copies never share a module."""
    from mnist_lab.registry import import_path

    return import_path(path, f"mnist_lab_exercise_{path.stem}_{os.getpid()}_{next(_loaded)}")


@pytest.fixture(scope="module")
def exercise(request):
    """The exercise module named by the test module's EXERCISE constant."""
    name = getattr(request.module, "EXERCISE", None)
    if name is None:
        raise RuntimeError(f"{request.module.__name__} must set EXERCISE = 'exNN_name.py'.")
    folder = exercises_dir()
    path = folder / name
    if not path.is_file():
        pytest.fail(
            f"The exercise file {path} is missing; restore it with "
            f"'mnist-lab exercises reset {int(name[2:4])}'.",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as patch:
        # Models registered by the file under test must not clash with the same file elsewhere:
        # let the registry look for students' models in the folder under test.
        if os.environ.get(EXERCISES_DIR_ENV) and not os.environ.get(PLUGINS_ENV):
            patch.setenv(PLUGINS_ENV, str(folder))
        module = import_exercise(path)
        yield module
    sys.modules.pop(module.__name__, None)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays: ((x_train, y_train), (x_test, y_test)), uint8, from the cache."""
    from mnist_lab import load_mnist

    return load_mnist()
