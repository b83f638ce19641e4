"""mkdocs hooks: fill the pages' `{{ ... }}` markers from the code and the generated results.

Markers (one per `{{ }}`, anywhere in a page's markdown):

- `{{ fact NAME }}`: a number from docs/assets/generated/facts.json, written by
  `make docs-assets` (`python docs/_tools/site_assets.py`);
- `{{ params MODEL }}`: a registered model's parameter count;
- `{{ recipe MODEL }}`: a registered model's training recipe, as `mnist-lab list` shows it;
- `{{ layers MODEL }}`: a table of a registered model's layers;
- `{{ receptive_fields MODEL }}`: what one unit of each convolution and pooling layer sees;
- `{{ zoo_table }}`: every built-in model, from the registry;
- `{{ cli_reference }}`: every command and option, from the typer app;
- `{{ hints N }}`: the hints of exercise N, from exercises/manifest.toml.

An unknown marker or fact stops the build, so a page can never show a stale or missing number.
Markers inside code, inline or fenced, are shown as written.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

from mnist_lab.core.errors import MnistLabError

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "docs" / "_tools"  # the site's build tools: beside the pages, not in the package
FACTS = ROOT / "docs" / "assets" / "generated" / "facts.json"
# Code (inline or fenced) is matched first and kept as written, so a page can show a marker.
CODE_OR_MARKER = re.compile(
    r"(?P<ticks>`+).*?(?<!`)(?P=ticks)(?!`)"
    r"|\{\{\s*(?P<kind>[a-z_]+)(?:\s+(?P<argument>[\w.\-]+))?\s*\}\}",
    re.S,
)

_cache: dict[str, Any] = {}


def _site_tables() -> Any:
    """docs/_tools/site_tables.py, imported from there (mkdocs resets sys.path around hooks)."""
    if str(TOOLS) not in sys.path:
        sys.path.append(str(TOOLS))
    import site_tables

    return site_tables


def on_pre_build(config: Any) -> None:
    """Start every build (including `mkdocs serve` rebuilds) from fresh facts and tables."""
    _cache.clear()


def _facts() -> dict[str, str]:
    if "facts" not in _cache:
        try:
            _cache["facts"] = json.loads(FACTS.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise PluginError(f"Cannot read {FACTS} ({error}); run 'make docs-assets'.") from None
    return _cache["facts"]


def _zoo_rows() -> list[dict[str, Any]]:
    if "zoo" not in _cache:
        _cache["zoo"] = _site_tables().builtin_summaries()
    return _cache["zoo"]


def _model(name: str) -> Any:
    from mnist_lab.models import registry

    return registry.create_model(name)


def _render(kind: str, argument: str | None, where: str) -> str:
    site_tables = _site_tables()

    if kind == "fact" and argument:
        facts = _facts()
        if argument not in facts:
            raise PluginError(f"{where}: unknown fact '{argument}' (not in {FACTS}).")
        return facts[argument]
    if kind == "params" and argument:
        return f"{_model(argument).count_params():,}"
    if kind == "recipe" and argument:
        from mnist_lab.models import registry

        return registry.model_info(argument).recipe.summary()
    if kind == "layers" and argument:
        return site_tables.layer_table(_model(argument))
    if kind == "receptive_fields" and argument:
        return site_tables.receptive_field_table(_model(argument))
    if kind == "zoo_table" and argument is None:
        return site_tables.zoo_table(_zoo_rows())
    if kind == "cli_reference" and argument is None:
        return site_tables.cli_reference()
    if kind == "hints" and argument and argument.isdigit():
        return site_tables.hints_markdown(int(argument), ROOT)
    raise PluginError(f"{where}: unknown marker '{{{{ {kind} {argument or ''} }}}}'.")


def _indented(text: str, markdown: str, start: int) -> str:
    """`text` with its later lines indented like the marker's line (inside an admonition)."""
    line_start = markdown.rfind("\n", 0, start) + 1
    indent = markdown[line_start:start]
    if not indent or indent.strip():
        return text
    return text.rstrip("\n").replace("\n", "\n" + indent) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each marker of the page by what it names."""
    where = page.file.src_path

    def replace(match: re.Match[str]) -> str:
        if match.group("ticks"):
            return match.group(0)
        try:
            text = _render(match.group("kind"), match.group("argument"), where)
        except MnistLabError as error:  # an unknown model or exercise: say where it was asked for
            raise PluginError(f"{where}: {match.group(0)}: {error}") from None
        return _indented(text, markdown, match.start())

    return CODE_OR_MARKER.sub(replace, markdown)
