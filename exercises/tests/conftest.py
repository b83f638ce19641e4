"""Fixtures of the exercise tests: the exercise file under test, the MNIST arrays, and checks.

Each test module names its exercise in a constant, e.g. `EXERCISE = "ex02_normalize.py"`. The
`exercise` fixture imports that file from the folder in $MNIST_LAB_EXERCISES_DIR (by default
`exercises/`, the parent of this folder), so the same tests check a student's file, the shipped
stub or the reference solution. `own_code` fails a test whose exercise hands back the library's
own version of what it asks for; `note` reports a fact even when a test passes (the check shows
it). Nothing here runs at import time: the model registry imports every `.py` file under
`exercises/`, this one included.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import os
import sys
import types
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

EXERCISES_DIR_ENV = "MNIST_LAB_EXERCISES_DIR"
PLUGINS_ENV = "MNIST_LAB_PLUGINS"  # where the model registry looks for students' models
DEFAULT_DIR = Path(__file__).resolve().parent.parent
_loaded = itertools.count()
_notes: list[str] = []  # what passing tests reported, repeated at the end of pytest's output


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
        yield module
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
    """A check that the exercise's functions are written in its file, not the library's.

    `own_code("one_hot", "stratified_split", library=("mnist_lab.preprocess",))` fails the test
    with a plain sentence when a function is the library's own object, or when the file uses
    anything from those library modules (imported, or reached as an attribute).
    """

    def check(*names: str, library: Iterable[str]) -> None:
        path = Path(exercise.__file__)
        library = tuple(library)
        listed = " and ".join(names) or "it"
        for name in names:
            function = getattr(exercise, name, None)
            origin = getattr(function, "__module__", None)
            if origin != exercise.__name__:
                where = f"{origin}.{name}" if origin else repr(function)
                pytest.fail(
                    f"{name} in {path.name} is {where}, the library's own version: the exercise "
                    f"asks you to write it yourself with a def in {path.name}.",
                    pytrace=False,
                )
        uses = library_uses(path, library)
        if uses:
            line, used = uses[0]
            pytest.fail(
                f"{path.name} uses {used} (line {line}), the library's own version of what this "
                f"exercise asks for: write {listed} yourself, without {' or '.join(library)}; "
                "once the exercise passes, compare yours with the library's.",
                pytrace=False,
            )

    return check


def library_uses(path: Path, library: Iterable[str]) -> list[tuple[int, str]]:
    """(line, dotted name) of each use in the file at `path` of a name under `library`.

    A use is an import (`from mnist_lab.preprocess import one_hot`, `from mnist_lab import
    one_hot`, `import mnist_lab.preprocess as p`), an attribute reached from an imported name
    (`preprocess.one_hot`, `mnist_lab.preprocess.one_hot`) or a string naming it
    (`importlib.import_module("mnist_lab.preprocess")`).
    """
    library = tuple(library)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}  # a name in the file -> the dotted name it stands for
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name))
                local = alias.asname or alias.name.split(".")[0]
                bound[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                dotted = _resolve(f"{node.module}.{alias.name}")
                found.append((node.lineno, dotted))
                bound[alias.asname or alias.name] = dotted
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            inner: ast.expr = node
            while isinstance(inner, ast.Attribute):
                parts.insert(0, inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in bound:
                found.append((node.lineno, _resolve(".".join([bound[inner.id], *parts]))))
    # A stable path such as `mnist_lab.preprocess` names a module that lives elsewhere
    # (`mnist_lab.data.preprocess`): a use is caught under either name.
    library = tuple({*library, *(_resolve_library(module) for module in library)})
    return sorted(
        {
            (line, name)
            for line, name in found
            if any(name == module or name.startswith(f"{module}.") for module in library)
        }
    )


def _resolve_library(dotted: str) -> str:
    """The real name of a library module or function named by its stable path."""
    try:
        return importlib.import_module(dotted).__name__
    except ImportError:
        return _resolve(dotted)


def _resolve(dotted: str) -> str:
    """Where a dotted name really lives: `mnist_lab.one_hot` is `mnist_lab.preprocess.one_hot`."""
    module, _, name = dotted.rpartition(".")
    if not module.startswith("mnist_lab"):
        return dotted
    try:
        value = getattr(importlib.import_module(module), name)
    except Exception:  # not a module attribute (a submodule not imported yet, a typo): as written
        return dotted
    if isinstance(value, types.ModuleType):
        return value.__name__
    owner = getattr(value, "__module__", None)
    return f"{owner}.{name}" if isinstance(owner, str) else dotted
