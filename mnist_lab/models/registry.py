"""The model registry: every model, built-in or a student's, is a named builder function.

A builder is a plain function that returns a `keras.Model` taking (N, 28, 28, 1) images and
giving (N, 10) class probabilities. `@register_model` records it with its metadata; the CLI,
training and the tests all go through `create_model`. Models are found in three places, the first
time the registry is asked for one: the built-in zoo (`mnist_lab.models`), installed packages
that declare an entry point in the group `mnist_lab.models`, and `*.py` files under the project's
`exercises/` folder (or the folders and files in $MNIST_LAB_PLUGINS). A student's file is
imported only if its source calls `register_model`: an unfinished exercise or a scratch script
is never executed by a listing or a training.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import difflib
import fnmatch
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_lab.core.backend import start_tensorflow
from mnist_lab.core.errors import (
    DuplicateModelError,
    ModelContractError,
    ModelNotFoundError,
    first_line,
)
from mnist_lab.models.recipes import Recipe

ENTRY_POINT_GROUP = "mnist_lab.models"
PLUGINS_ENV = "MNIST_LAB_PLUGINS"
BUILT_IN, PLUGIN, EXERCISE = "built-in", "plugin", "exercise"
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

Builder = Callable[..., Any]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its builder and what the listing shows about it."""

    name: str
    builder: Builder = field(repr=False)
    description: str
    tags: tuple[str, ...]
    source: str  # built-in, plugin or exercise
    origin: str  # the file (or module) that defined it, for error messages
    recipe: Recipe = field(default_factory=Recipe)

    def __repr__(self) -> str:
        return f"ModelSpec(name={self.name!r}, source={self.source!r}, origin={self.origin!r})"


_MODELS: dict[str, ModelSpec] = {}
_BROKEN: dict[str, str] = {}  # origin -> first line of the error that stopped it loading
_discovered = False
_loading_source: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mnist_lab_loading_source", default=None
)


def _origin_of(builder: Builder) -> str:
    try:
        return f"{inspect.getsourcefile(builder)}:{builder.__code__.co_firstlineno}"
    except (TypeError, AttributeError):
        return f"{builder.__module__}.{builder.__qualname__}"


def _source_of(builder: Builder) -> str:
    loading = _loading_source.get()
    if loading is not None:
        return loading
    return BUILT_IN if builder.__module__.startswith("mnist_lab.models.zoo.") else PLUGIN


def register_model(
    name: str,
    *,
    description: str = "",
    tags: Iterable[str] = (),
    recipe: Recipe | None = None,
) -> Callable[[Builder], Builder]:
    """Register the decorated builder under `name`; the function itself is returned unchanged.

    `recipe` holds the model's training defaults (epochs, batch size, optimizer, schedule,
    augmentation); without one it trains like the reference.
    """
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise ValueError(f"A model name must be a non-empty string without spaces, got {name!r}.")

    def decorator(builder: Builder) -> Builder:
        origin = _origin_of(builder)
        existing = _MODELS.get(name)
        if existing is not None and existing.origin != origin:
            raise DuplicateModelError(
                f"The model name '{name}' is registered twice: in {existing.origin} "
                f"and in {origin}. Rename one of them."
            )
        doc = (inspect.getdoc(builder) or "").strip().splitlines()
        _MODELS[name] = ModelSpec(
            name=name,
            builder=builder,
            description=description or (doc[0] if doc else ""),
            tags=tuple(tags),
            source=_source_of(builder),
            origin=origin,
            recipe=recipe or Recipe(),
        )
        return builder

    return decorator


# --- discovery --------------------------------------------------------------------------------


@contextlib.contextmanager
def _loading(source: str) -> Iterator[None]:
    token = _loading_source.set(source)
    try:
        yield
    finally:
        _loading_source.reset(token)


def plugin_folders() -> list[Path]:
    """Where `*.py` files may register models: $MNIST_LAB_PLUGINS (folders or .py files, joined
    by the path separator), else the project's exercises/."""
    configured = os.environ.get(PLUGINS_ENV)
    if configured:
        return [Path(part).expanduser() for part in configured.split(os.pathsep) if part]
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "exercises").is_dir() and (folder / "pyproject.toml").is_file():
            return [folder / "exercises"]
    return []


def import_path(path: Path, module_name: str) -> Any:
    """Import the Python file at `path` as a module named `module_name` and return it."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_file(path: Path) -> None:
    """Import one student file so that its `@register_model` calls run."""
    path = path.resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    with _loading(EXERCISE):
        import_path(path, f"mnist_lab_user.{path.stem}_{digest}")


def _load_entry_points() -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            with _loading(PLUGIN):
                entry_point.load()
        except Exception as error:  # a broken plugin must not break the other models
            _BROKEN[f"entry point {entry_point.name} ({entry_point.value})"] = first_line(
                error, with_type=True
            )


def registers_a_model(source: bytes) -> bool:
    """Whether Python `source` names `register_model` (a call, a decorator or an import).

    A file that cannot be parsed counts if the name appears in it at all, so that its syntax
    error is reported rather than the file silently skipped.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return b"register_model" in source
    return any(
        (isinstance(node, ast.Name) and node.id == "register_model")
        or (isinstance(node, ast.Attribute) and node.attr == "register_model")
        or (isinstance(node, ast.alias) and node.name == "register_model")
        for node in ast.walk(tree)
    )


def _plugin_files(location: Path) -> Iterator[Path]:
    """The candidate `.py` files of one $MNIST_LAB_PLUGINS entry; what is wrong with it is
    recorded as broken, in one line."""
    if location.is_file() and location.suffix == ".py":
        yield location
        return
    if not location.is_dir():
        what = "no such file or folder" if not location.exists() else "not a folder or a .py file"
        _BROKEN[str(location)] = (
            f"{what}; ${PLUGINS_ENV} lists folders of model files (or .py files), "
            f"separated by '{os.pathsep}'"
        )
        return
    for path in sorted(location.rglob("*.py")):
        inside = path.relative_to(location).parts[:-1]
        if path.name.startswith(("_", "test_")) or path.name == "conftest.py":
            continue
        if any(part in ("tests", "__pycache__") or part.startswith(".") for part in inside):
            continue
        yield path


def _load_plugin_folders() -> None:
    for location in plugin_folders():
        for path in _plugin_files(location):
            try:
                if not registers_a_model(path.read_bytes()):
                    continue  # a scratch file or an unfinished exercise: never executed
                load_file(path)
            except (Exception, SystemExit) as error:  # one broken file never breaks the others
                _BROKEN[str(path)] = first_line(error, with_type=True)


def discover(*, force: bool = False) -> None:
    """Find every model once: the built-in zoo, entry-point plugins, then student files."""
    global _discovered
    if _discovered and not force:
        return
    _discovered = True
    start_tensorflow()
    importlib.import_module("mnist_lab.models.zoo")
    _load_entry_points()
    _load_plugin_folders()


def broken_plugins() -> dict[str, str]:
    """Files or entry points that failed to load, with the first line of their error."""
    discover()
    return dict(_BROKEN)


# --- lookup -----------------------------------------------------------------------------------


def list_models(include: str | Iterable[str] = "*", exclude: str | Iterable[str] = ()) -> list[str]:
    """Registered names matching any `include` pattern and no `exclude` pattern, sorted."""
    discover()
    includes = [include] if isinstance(include, str) else list(include)
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    return sorted(
        name
        for name in _MODELS
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in includes)
        and not any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes)
    )


def model_info(name: str) -> ModelSpec:
    """The spec registered under `name`, or an error that lists the names that exist."""
    discover()
    spec = _MODELS.get(name)
    if spec is not None:
        return spec
    names = sorted(_MODELS)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    raise ModelNotFoundError(
        f"Unknown model '{name}'.{suggestion} "
        f"Registered models: {', '.join(names) or 'none'} (see 'mnist-lab list')."
    )


def check_contract(model: Any, spec: ModelSpec) -> None:
    """Reject a built model that cannot be trained on MNIST, naming the model and its file.

    The check runs the model on a small batch of blank images, so it holds for Sequential,
    functional and subclassed models alike.
    """
    import keras
    import numpy as np

    where = f"The model '{spec.name}' (defined in {spec.origin})"
    if not isinstance(model, keras.Model):
        raise ModelContractError(
            f"{where} must return a keras.Model, but its builder returned {type(model).__name__}."
        )
    try:
        outputs = model(np.zeros((2, *INPUT_SHAPE), dtype="float32"), training=False)
    except Exception as error:
        raise ModelContractError(
            f"{where} must take images of shape (None, 28, 28, 1), but a batch of them "
            f"failed: {first_line(error, with_type=True)}."
        ) from None
    shape = tuple(getattr(outputs, "shape", ()))
    if shape != (2, NUM_CLASSES):
        raise ModelContractError(
            f"{where} must give one output of shape (None, 10), got {shape or type(outputs)} "
            "for a batch of 2 images."
        )


def create_model(name: str, **overrides: Any) -> Any:
    """Build the model registered as `name`, checked against the MNIST contract and compiled.

    `overrides` are passed to the builder. A builder that returns an uncompiled model gets the
    reference's compile settings (Adam, categorical crossentropy, accuracy).
    """
    from mnist_lab.models.compiling import compile_if_needed

    spec = model_info(name)
    try:
        model = spec.builder(**overrides)
    except Exception as error:
        raise ModelContractError(
            f"The model '{spec.name}' (defined in {spec.origin}) failed to build: "
            f"{first_line(error, with_type=True)}."
        ) from error
    check_contract(model, spec)
    return compile_if_needed(model)


def model_summaries(include: str | Iterable[str] = "*") -> list[dict[str, Any]]:
    """One row per matching model for listings: name, parameters, source, description, tags.

    Each model is built to count its parameters; one that fails to build is listed with
    `params` None and its error, so a single broken model never hides the others.
    """
    rows = []
    for name in list_models(include):
        spec = _MODELS[name]
        row: dict[str, Any] = {
            "name": name,
            "params": None,
            "source": spec.source,
            "description": spec.description,
            "tags": list(spec.tags),
            "origin": spec.origin,
            "recipe": spec.recipe.summary(),
            "defaults": spec.recipe.to_dict(),
            "error": None,
        }
        try:
            row["params"] = int(create_model(name).count_params())
        except ModelContractError as error:
            row["error"] = str(error)
        rows.append(row)
    return rows
