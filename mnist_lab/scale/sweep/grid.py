"""The sweep's grid: `--set FIELD=V1,V2,...` read into typed values, and every point of it.

Each value is typed by its recipe field (int, float, true/false, or one of the field's choices)
and printed back as `--set` takes it, so a point's label can be typed again to rerun it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

from mnist_lab.core.errors import ConfigError
from mnist_lab.models.recipes import canonical_field, choices_of, recipe_fields

EXAMPLE = "learning_rate=1e-3,3e-3,1e-2"  # what a --set looks like, quoted in its errors
# Options of the sweep itself: `--set seed=...` is answered with the option to use instead.
SWEEP_OPTIONS = ("seed", "limit", "repeats", "workers", "scheduler")

Grid = dict[str, tuple[Any, ...]]  # swept field (full name) -> its values, in the order given


def short_name(field: str) -> str:
    """A field as a user types it: `rotation` for `augmentation.rotation`."""
    return field.removeprefix("augmentation.")


def format_value(value: Any) -> str:
    """A swept value as `--set` takes it back: 0.001, 64, true, none, cosine."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label(values: dict[str, Any]) -> str:
    """A point in words, e.g. 'learning_rate=0.001,batch_size=64' (empty for no field)."""
    return ",".join(f"{short_name(field)}={format_value(v)}" for field, v in values.items())


def _wrong(field: str, rule: str, text: str) -> ConfigError:
    # No `option`: a recipe field that shares a CLI option's name ('epochs') must keep its name.
    return ConfigError(f"The recipe field '{field}' must be {rule}. Got {text!r} instead.")


def parse_value(field: str, text: str) -> Any:
    """`text` typed by the kind of recipe field `field` (its full name): int, float, bool
    (true/false) or one of its choices (`none` is the optimizer's None)."""
    kind, text = recipe_fields()[field], text.strip()
    if kind == "int":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise _wrong(field, "a whole number", text)
        return int(text)
    if kind == "float":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _wrong(field, "a finite number", text)
        return number
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise _wrong(field, "true or false", text)
        return text.lower() == "true"
    choices = choices_of(field)
    value = None if text.lower() == "none" else text.lower()
    if value not in choices:
        raise _wrong(field, "one of " + ", ".join(format_value(c) for c in choices), text)
    return value


def parse_set(text: str) -> tuple[str, tuple[Any, ...]]:
    """One `--set FIELD=V1,V2,...`: the field's full name and its typed values, in order."""
    name, equals, values = text.partition("=")
    if not equals or not name.strip():
        raise ConfigError(
            f"The 'sets' option must be FIELD=V1,V2,... (e.g. {EXAMPLE}). Got {text!r} instead.",
            option="sets",
        )
    if name.strip() in SWEEP_OPTIONS:
        raise ConfigError(
            f"The '{name.strip()}' option is not a recipe field, so it cannot be swept; give it "
            f"once. The fields are: {', '.join(recipe_fields())}.",
            option=name.strip(),
        )
    try:
        field = canonical_field(name.strip())
    except ConfigError as error:  # no `option`: 'out' is a CLI option but must stay 'out' here
        raise ConfigError(str(error)) from None
    items = values.split(",")
    if any(not item.strip() for item in items):
        raise ConfigError(
            f"The 'sets' option must give one or more values after '=', separated by commas "
            f"(e.g. {EXAMPLE}). Got {text!r} instead.",
            option="sets",
        )
    typed = tuple(parse_value(field, item) for item in items)
    shown = [format_value(v) for v in typed]  # values that print alike would share their runs
    repeated = [v for i, v in enumerate(typed) if shown[i] in shown[:i]]
    if repeated:
        raise ConfigError(
            f"The 'sets' option gives the value {format_value(repeated[0])} of '{field}' twice; "
            f"give each value once. Got {text!r} instead.",
            option="sets",
        )
    return field, typed


def parse_sets(sets: Sequence[str]) -> Grid:
    """Every `--set` as one grid: field -> values, each field once, in the order given."""
    if isinstance(sets, str):
        sets = [sets]
    if not sets:
        raise ConfigError(
            f"The 'sets' option must name at least one recipe field to sweep (e.g. {EXAMPLE}).",
            option="sets",
        )
    grid: Grid = {}
    for text in sets:
        field, values = parse_set(text)
        if field in grid:
            raise ConfigError(
                f"The 'sets' option sweeps '{field}' twice; give all its values in one "
                f"{short_name(field)}=V1,V2,... Got {text!r} again.",
                option="sets",
            )
        grid[field] = values
    return grid


def expand(grid: Grid) -> list[dict[str, Any]]:
    """Every point of the grid: the cartesian product, first field outermost (order stable)."""
    fields = list(grid)
    return [dict(zip(fields, combo, strict=True)) for combo in itertools.product(*grid.values())]
