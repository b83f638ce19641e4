"""Every measured number a page or the README may quote, merged from the three places it is kept.

- docs/assets/generated/facts.json: the data and a benchmark of the zoo (`make docs-assets`,
  docs/_tools/site_assets.py);
- docs/assets/generated/exercise_facts.json: the exercises' experiments, run with their
  solutions (docs/_tools/exercise_facts.py);
- track 3's and chapter 12's, one file per tool, each with its own prefix: learn_facts.json
  (`learn.*`, docs/_tools/learn_figures.py), backprop_facts.json (`backprop.*`,
  backprop_figures.py), calibration_facts.json (`calibration.*`, calibration_figures.py),
  init_facts.json (`init.*`, init_figures.py), numpy_cnn_facts.json (`numpy_cnn.*`,
  numpy_cnn_figures.py), shift_facts.json (`shift.*`, shift_figures.py);
- docs/assets/generated/chapter_facts.json: the small trainings of chapters 9 to 11
  (docs/_tools/chapter_figures.py);
- docs/results/*.json: what `make bench` and the perf scripts measured, committed
  (docs/_tools/results_facts.py).

The names never overlap (`exercises.*`, `chapters.*` and `results.*` have their own prefixes);
a name given twice is an error rather than a silent choice.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import results_facts
import site_consts

ROOT = Path(__file__).resolve().parent.parent.parent
GENERATED = ROOT / "docs" / "assets" / "generated"
FACT_FILES = (
    GENERATED / "facts.json",
    GENERATED / "exercise_facts.json",
    GENERATED / "chapter_facts.json",
    GENERATED / "learn_facts.json",  # track 3's figures and numbers (learn_figures.py)
    GENERATED / "backprop_facts.json",  # chapter 12's backward pass (backprop_figures.py)
    GENERATED / "calibration_facts.json",  # exercise 27's (calibration_figures.py)
    GENERATED / "init_facts.json",  # exercise 24's experiment (init_figures.py)
    GENERATED / "shift_facts.json",  # exercise 26's curves and errors (shift_figures.py)
    GENERATED / "numpy_cnn_facts.json",  # exercise 25 against Keras (numpy_cnn_figures.py)
)
MARKER = re.compile(r"\{\{\s*(?P<kind>fact|const)\s+(?P<name>[\w.\-]+)\s*\}\}")


class FactError(LookupError):
    """A facts file that cannot be read, a name given twice, or a name nobody wrote."""


def all_facts(root: Path = ROOT) -> dict[str, str]:
    """Every fact, by name."""
    facts: dict[str, str] = {}
    sources = []
    for path in FACT_FILES:
        path = root / path.relative_to(ROOT)
        try:
            sources.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as error:
            raise FactError(f"Cannot read {path} ({error}); run 'make docs-assets'.") from None
    sources.append(results_facts.results_facts(root / "docs" / "results"))
    for source in sources:
        twice = sorted(set(facts) & set(source))
        if twice:
            raise FactError(f"facts named twice: {', '.join(twice)}")
        facts |= source
    return facts


def fill(text: str, facts: dict[str, str], root: Path = ROOT) -> str:
    """`text` with each `{{ fact NAME }}` and `{{ const NAME }}` replaced by its value."""

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if match["kind"] == "const":
            return site_consts.const(name, root)
        if name not in facts:
            raise FactError(f"unknown fact '{name}'")
        return facts[name]

    return MARKER.sub(value, text)
