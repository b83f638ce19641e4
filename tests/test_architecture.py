"""The house rules of ARCHITECTURE.md, checked on the code: layers, private names, sizes, doors.

The layer table is read from ARCHITECTURE.md itself, so the document and the rule cannot drift
apart: a new subpackage must be given a row there before its first import is allowed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist_lab"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
MAX_LINES = 450
MAX_LONG_MODULES = 2
EVERY_LAYER = "every layer"


@dataclass(frozen=True)
class Module:
    name: str  # dotted: mnist_lab.core.errors
    path: Path

    @property
    def layer(self) -> str | None:
        """The subpackage right under mnist_lab; None for the package's front (top level)."""
        parts = self.name.split(".")
        is_package = self.path.name == "__init__.py"
        return parts[1] if len(parts) > 2 or (len(parts) == 2 and is_package) else None


def package_modules() -> list[Module]:
    """Every module of the package; the exercises' reference solutions are students' code."""
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if "solutions" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        modules.append(Module(".".join(parts), path))
    return modules


def layer_rules() -> dict[str, set[str]]:
    """layer -> the layers it may import, from the table under "## Layers" in ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    rules: dict[str, set[str]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        layer = cells[0].strip("`")
        allowed = cells[-1]
        rules[layer] = (
            {EVERY_LAYER} if allowed == EVERY_LAYER else set(re.findall(r"`(\w+)`", allowed))
        )
    return rules


def imported_names(module: Module) -> list[tuple[int, str]]:
    """(line, dotted name) of each mnist_lab module or name the module imports, anywhere in it."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return [(line, name) for line, name in found if name.startswith(("mnist_lab", "."))]


def test_the_layer_table_names_every_subpackage():
    rules = layer_rules()
    layers = {module.layer for module in package_modules()} - {None}
    assert layers == set(rules), (
        f"ARCHITECTURE.md's layer table has {sorted(rules)}, the package has {sorted(layers)}: "
        "give a new subpackage its row (and what it may import)"
    )
    for layer, allowed in rules.items():
        assert allowed <= set(rules) | {EVERY_LAYER}, f"{layer} may import unknown {allowed}"


def test_each_layer_imports_only_what_its_row_allows():
    rules = layer_rules()
    layers = set(rules)
    wrong = []
    for module in package_modules():
        if module.layer is None or EVERY_LAYER in rules[module.layer]:
            continue
        allowed = rules[module.layer] | {module.layer}
        for line, name in imported_names(module):
            parts = name.split(".")
            if name.startswith("."):
                wrong.append(f"{module.path.relative_to(ROOT)}:{line} imports {name} (relative)")
            elif len(parts) < 2 or parts[1] not in layers:
                wrong.append(
                    f"{module.path.relative_to(ROOT)}:{line} imports {name} from the package's "
                    "front: import it from its layer"
                )
            elif parts[1] not in allowed:
                wrong.append(
                    f"{module.path.relative_to(ROOT)}:{line} ({module.layer}) imports {name} "
                    f"({parts[1]}), which ARCHITECTURE.md does not allow"
                )
    assert not wrong, "\n".join(wrong)


def private_uses(module: Module, modules: dict[str, Module]) -> list[str]:
    """Another module's underscore names that `module` imports or reaches as attributes."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    bound: dict[str, str] = {}  # a local name -> the mnist_lab module or name it stands for
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mnist_lab"):
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and node.module != module.name:
                    uses.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mnist_lab"):
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else local
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
            continue
        if node.attr.startswith("__"):
            continue
        chain, inner = [], node.value
        while isinstance(inner, ast.Attribute):
            chain.insert(0, inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id in bound:
            target = ".".join([bound[inner.id], *chain])
            if target in modules and target != module.name:
                uses.append(f"line {node.lineno}: {target}.{node.attr}")
    return uses


def test_no_module_uses_another_modules_private_names():
    modules = {module.name: module for module in package_modules()}
    wrong = [
        f"{module.path.relative_to(ROOT)} {use}"
        for module in modules.values()
        for use in private_uses(module, modules)
    ]
    assert not wrong, "give these a public name where they live:\n" + "\n".join(wrong)


# Private APIs of other libraries, each allowed in its one door only.
DOORS = {
    "mnist_lab/core/keras_internals.py": re.compile(
        r"keras\.src|keras_core\.src|\._symbolic_build|\._run_through_graph|python_random"
    ),
    "mnist_lab/cli/typer_core.py": re.compile(r"typer\.core|click\.core|from click\b|import click"),
}


@pytest.mark.parametrize("door", sorted(DOORS))
def test_a_librarys_internals_are_reached_through_one_door(door):
    pattern = DOORS[door]
    assert pattern.search((ROOT / door).read_text(encoding="utf-8")), f"{door} uses none?"
    elsewhere = [
        f"{module.path.relative_to(ROOT)}:{number}: {line.strip()}"
        for module in package_modules()
        if module.path.relative_to(ROOT).as_posix() != door
        for number, line in enumerate(module.path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not elsewhere, f"only {door} may do this:\n" + "\n".join(elsewhere)


def test_at_most_two_long_modules_each_saying_why():
    long = {
        module.path.relative_to(ROOT).as_posix(): len(module.path.read_text().splitlines())
        for module in package_modules()
        if len(module.path.read_text().splitlines()) > MAX_LINES
    }
    assert len(long) <= MAX_LONG_MODULES, f"modules over {MAX_LINES} lines: {long}"
    for path in long:
        docstring = ast.get_docstring(ast.parse((ROOT / path).read_text())) or ""
        assert f"over {MAX_LINES} lines" in docstring, (
            f"{path} has {long[path]} lines: its docstring must say why it is over "
            f"{MAX_LINES} lines"
        )


def test_the_documented_module_map_names_real_modules():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`(mnist_lab/[\w/]+\.py)`", text))
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"
    undocumented = sorted(
        module.path.relative_to(ROOT).as_posix()
        for module in package_modules()
        if module.path.name != "__init__.py"
        and module.path.relative_to(ROOT).as_posix() not in named
    )
    assert not undocumented, f"ARCHITECTURE.md's module map misses {undocumented}"
