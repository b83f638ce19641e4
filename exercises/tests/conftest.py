"""Fixtures of the exercise tests: the exercise file under test, the MNIST arrays, and checks.

Each test module names its exercise in a constant, e.g. `EXERCISE = "ex02_normalize.py"`. The
`exercise` fixture imports that file from the folder in $MNIST_LAB_EXERCISES_DIR (by default
`exercises/`, the parent of this folder), so the same tests check a student's file, the shipped
stub or the reference solution. It also watches the functions the exercise's `own_code` table
in the manifest (beside this folder) lists: in every test, a call from the student's code into
what the exercise forbids fails the test with one line (`mnist_lab.course.exercises.own_code`).
`note` reports a fact even when a test passes (the check shows it). Nothing here runs at import
time: the model registry imports every `.py` file under `exercises/`, this one included.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

EXERCISES_DIR_ENV = "MNIST_LAB_EXERCISES_DIR"
PLUGINS_ENV = "MNIST_LAB_PLUGINS"  # where the model registry looks for students' models
DEFAULT_DIR = Path(__file__).resolve().parent.parent
_loaded = itertools.count()
_notes: list[str] = []  # what passing tests reported, repeated at the end of pytest's output
_watches: dict = {}  # module name -> the own-code watch of that imported exercise file


# CI runs hypothesis derandomized, so a CI run is repeatable; a student's checks vary their
# examples from run to run and find more. Comparisons with Keras are slow: no deadline.
settings.register_profile(
    "exercises-ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("exercises", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("exercises-ci" if os.environ.get("CI") else "exercises")


def pytest_configure(config):
    # Registered here too, so the tests run the same from a copy without the project's settings.
    # Measured on 2 cores (2026-12-05, solutions): 18 s (exercise 15) to 8 minutes (exercise 8).
    config.addinivalue_line(
        "markers",
        "slow: trains a network on real digits to judge the exercise's result, from about 20 s "
        "to several minutes on 2 cores (`mnist-lab exercises check` runs these too)",
    )


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
        watch = watched(module, name)
        if watch is not None:
            _watches[module.__name__] = watch
        yield module
    _watches.pop(module.__name__, None)
    sys.modules.pop(module.__name__, None)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays: ((x_train, y_train), (x_test, y_test)), uint8, from the cache."""
    from mnist_lab import load_mnist

    return load_mnist()


@pytest.fixture
def note(record_property):
    """Report one line even if the test passes: the check shows it, and so does pytest."""

    def add(text: str) -> None:
        record_property("note", text)  # read back from the junit report by `exercises check`
        _notes.append(text)

    return add


def pytest_terminal_summary(terminalreporter):
    if _notes:
        terminalreporter.section("what the tests report")
        for text in _notes:
            terminalreporter.write_line(text)


@pytest.fixture
def own_code(exercise):
    """`own_code(function, *args)` runs any function under the exercise's own-code rule.

    The functions the manifest lists are watched already, in every test; this is for what the
    exercise asks for under another name (exercise 8's registered builder).
    """
    watch = _watches.get(exercise.__name__)

    def run(function, *args, **kwargs):
        if watch is None:
            return function(*args, **kwargs)
        return guarded(watch, function)(*args, **kwargs)

    return run


def own_code_rule(name: str):
    """(number, rule) of the exercise whose file is `name`, from the manifest beside tests/;
    None where there is no manifest or no rule."""
    from mnist_lab.course.exercises.catalog import ExerciseError, read_catalog

    manifest = DEFAULT_DIR / "manifest.toml"
    if not manifest.is_file():
        return None
    try:
        catalog = read_catalog(manifest)
    except ExerciseError as error:
        pytest.fail(str(error), pytrace=False)
    for entry in catalog:
        if entry.file.name == name and entry.own_code is not None:
            return entry.number, entry.own_code
    return None


def watched(module, name: str):
    """The module's own-code watch, its listed functions replaced by watched ones; or None."""
    from mnist_lab.course.exercises.own_code import Watch

    found = own_code_rule(name)
    if found is None:
        return None
    number, rule = found
    watch = Watch(number, rule, module)
    for function_name in rule.functions:
        function = getattr(module, function_name, None)
        if callable(function):
            setattr(module, function_name, guarded(watch, function, function_name))
    return watch


def guarded(watch, function, name: str | None = None):
    """`function` (the file's `name`) run under `watch`: a forbidden call fails the test with
    one line."""
    from mnist_lab.course.exercises.own_code import NotOwnCode

    name = name or getattr(function, "__name__", "the function")

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return watch.call_as(name, function, *args, **kwargs)
        except NotOwnCode as error:
            message = str(error)
        # Raised outside the except: the student's error is not chained to it.
        pytest.fail(message, pytrace=False)

    return run
