"""What `pip install mnist-lab` gets: every library the package imports is declared, and the
wheel holds the package, its exercises' solutions and the lab's page, but no docs tooling."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:  # Python 3.11 on; tomli before (a dependency there)
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist_lab"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements() -> set[str]:
    """What pyproject.toml asks for, and what its extras bring (dask[distributed])."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        name, extras = re.match(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?", requirement).groups()
        names.add(normalized(name))
        wanted = {f'extra == "{extra.strip()}"' for extra in (extras or "").split(",") if extra}
        for needed in importlib.metadata.requires(name) or [] if wanted else []:
            if any(marker in needed for marker in wanted):
                names.add(normalized(re.match(r"[A-Za-z0-9._-]+", needed).group(0)))
    return names


def imported_top_level_names() -> dict[str, str]:
    """Each top-level module the package imports (not its own, not the standard library), with
    one place that imports it."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "solutions" in path.parts:  # students' code: the exercises' tests need their imports
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "mnist_lab" and top not in sys.stdlib_module_names:
                    found.setdefault(top, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_imported_library_is_a_declared_dependency():
    declared = declared_requirements()
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for module, where in sorted(imported_top_level_names().items()):
        owners = {normalized(owner) for owner in distributions.get(module, [module])}
        if not owners & declared:
            undeclared.append(f"{module} (imported at {where}; from {sorted(owners)})")
    assert not undeclared, "declare these in pyproject.toml's dependencies: " + ", ".join(
        undeclared
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (docs extra)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("mnist_lab-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_the_package_solutions_and_the_labs_page(wheel):
    names = set(wheel.namelist())
    expected = {
        "mnist_lab/__init__.py",
        "mnist_lab/core/keras_internals.py",
        "mnist_lab/models/zoo/reference.py",
        "mnist_lab/course/solutions/ex01_data.py",
        "mnist_lab/lab/static/index.html",
    }
    assert expected <= names, sorted(expected - names)
    sources = {path.relative_to(ROOT).as_posix() for path in PACKAGE.rglob("*.py")}
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"


def test_the_wheel_holds_no_docs_tooling_and_no_tests(wheel):
    stray = [
        name
        for name in wheel.namelist()
        if not name.startswith(("mnist_lab/", "mnist_lab-"))
        or "site_assets" in name
        or "site_tables" in name
    ]
    assert not stray, f"the wheel should hold only the package: {stray}"
