"""mkdocs hooks: fill the pages' `{{ ... }}` markers from the code and the generated results.

Markers (one per `{{ }}`, anywhere in a page's markdown):

- `{{ fact NAME }}`: a measured number: from docs/assets/generated/facts.json (written by
  `make docs-assets`, `python docs/_tools/site_assets.py`), from exercise_facts.json beside it
  (`exercises.*`, `python docs/_tools/exercise_facts.py`), from chapter_facts.json
  (`chapters.*`, `python docs/_tools/chapter_figures.py`), or from the committed results of
  `make bench` and the perf scripts in docs/results/*.json (`results.*`,
  docs/_tools/results_facts.py);
- `{{ const NAME }}`: a threshold or a default, read from the code that applies it
  (docs/_tools/site_consts.py names where each lives);
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

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

from mnist_lab.core.errors import MnistLabError

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "docs" / "_tools"  # the site's build tools: beside the pages, not in the package
# Code (inline or fenced) is matched first and kept as written, so a page can show a marker.
CODE_OR_MARKER = re.compile(
    r"(?P<ticks>`+).*?(?<!`)(?P=ticks)(?!`)"
    r"|\{\{\s*(?P<kind>[a-z_]+)(?:\s+(?P<argument>[\w.\-]+))?\s*\}\}",
    re.S,
)

_cache: dict[str, Any] = {}


def _tools() -> None:
    """Put docs/_tools/ on sys.path (mkdocs resets sys.path around hooks)."""
    if str(TOOLS) not in sys.path:
        sys.path.append(str(TOOLS))


def _site_tables() -> Any:
    """docs/_tools/site_tables.py, imported from there."""
    _tools()
    import site_tables

    return site_tables


def on_pre_build(config: Any) -> None:
    """Start every build (including `mkdocs serve` rebuilds) from fresh facts and tables."""
    _cache.clear()


def all_facts() -> dict[str, str]:
    """Every fact a page may quote: the site's, the exercises' and the committed results'."""
    _tools()
    import site_facts

    try:
        return site_facts.all_facts()
    except site_facts.FactError as error:
        raise PluginError(str(error)) from None


def _facts() -> dict[str, str]:
    if "facts" not in _cache:
        _cache["facts"] = all_facts()
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
            raise PluginError(
                f"{where}: unknown fact '{argument}' (not in facts.json, exercise_facts.json, "
                "chapter_facts.json or docs/results/*.json)."
            )
        return facts[argument]
    if kind == "const" and argument:
        _tools()
        import site_consts

        try:
            return site_consts.const(argument)
        except site_consts.ConstError as error:
            raise PluginError(f"{where}: {{{{ const {argument} }}}}: {error}") from None
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
    """`text` with its later lines indented like the marker's line (inside an admonition).

    A one-line text (a fact, a const) stays inline, whatever comes after it on its line."""
    line_start = markdown.rfind("\n", 0, start) + 1
    indent = markdown[line_start:start]
    if not indent or indent.strip() or "\n" not in text.rstrip("\n"):
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
