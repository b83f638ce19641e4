"""The sweep's figure: validation accuracy against each swept field, one panel per field.

Drawn without pyplot, as mnist_lab.evaluation.plots draws, so no window or GUI backend is
needed. In the panel of one field, every combination of the other swept fields is its own line:
averaging over them would hide an interaction (a learning rate that suits only the small batch).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from mnist_lab.models.recipes import recipe_fields
from mnist_lab.scale.sweep.grid import format_value, short_name

# Fields whose useful values span decades: drawn on a log axis when the values do.
LOG_FIELDS = ("learning_rate", "weight_decay")
LOG_SPAN = 10  # the ratio of the largest value to the smallest from which the axis is log
MAX_LEGEND = 10  # more lines than this get no legend: it would cover the panel
PANEL_COLUMNS = 3


def uses_log_axis(field: str, values: Sequence[Any]) -> bool:
    """Whether `field`'s panel needs a log x-axis: a learning rate or weight decay whose
    values are all positive and span at least LOG_SPAN times."""
    if field not in LOG_FIELDS or not values or min(values) <= 0:
        return False
    return max(values) / min(values) >= LOG_SPAN


def sweep_figure(
    grid: dict[str, Sequence[Any]],
    observations: Sequence[tuple[dict[str, Any], float]],
    *,
    chosen: dict[str, Any] | None = None,
    title: str = "",
):
    """One panel per field of `grid`: each run's validation accuracy (`observations`: the
    point's values and the accuracy, 0 to 1) as a dot, the mean over repeats as a line, and the
    `chosen` point ringed. Numbers sit at their values; choices and booleans in grid order."""
    from matplotlib.figure import Figure

    fields = list(grid)
    columns = min(len(fields), PANEL_COLUMNS)
    rows = math.ceil(len(fields) / columns)
    figure = Figure(figsize=(5.2 * columns, 4.2 * rows), layout="constrained")
    panels = figure.subplots(rows, columns, squeeze=False).ravel()
    kinds = recipe_fields()
    for axes, field in zip(panels, fields, strict=False):
        values = list(grid[field])
        numeric = kinds[field] in ("int", "float")
        positions = {v: (v if numeric else i) for i, v in enumerate(values)}
        others = [name for name in fields if name != field]
        lines: dict[tuple, dict[Any, list[float]]] = {}
        for point, accuracy in observations:
            group = tuple(point[name] for name in others)
            lines.setdefault(group, {}).setdefault(point[field], []).append(100 * accuracy)
        order = [{v: i for i, v in enumerate(grid[name])} for name in others]
        for group in sorted(lines, key=lambda g: [at[v] for at, v in zip(order, g, strict=True)]):
            by_value = lines[group]
            name = ", ".join(
                f"{short_name(o)}={format_value(v)}" for o, v in zip(others, group, strict=True)
            )
            xs = sorted(by_value, key=lambda v: positions[v])
            means = [statistics.fmean(by_value[v]) for v in xs]
            (line,) = axes.plot([positions[v] for v in xs], means, "-", label=name or None)
            for v in xs:
                dots = by_value[v]
                axes.plot([positions[v]] * len(dots), dots, "o", color=line.get_color(), alpha=0.6)
            if chosen is not None and group == tuple(chosen[o] for o in others):
                best = chosen[field]
                if best in by_value:
                    mean = statistics.fmean(by_value[best])
                    axes.plot(
                        positions[best], mean, "o", markersize=14, fillstyle="none", color="black"
                    )
                    axes.annotate(
                        "chosen", (positions[best], mean), xytext=(8, 8), textcoords="offset points"
                    )
        if uses_log_axis(field, values):
            axes.set_xscale("log")
        if numeric:
            axes.set_xticks(values, [format_value(v) for v in values])
            axes.minorticks_off()
        else:
            axes.set_xticks(range(len(values)), [format_value(v) for v in values])
        axes.set_xlabel(short_name(field))
        axes.set_ylabel("validation accuracy (%)")
        axes.margins(x=0.1, y=0.15)
        axes.grid(alpha=0.3)
        if 1 < len(lines) <= MAX_LEGEND:
            axes.legend(fontsize="small")
    for axes in panels[len(fields) :]:
        axes.set_visible(False)
    if title:
        figure.suptitle(title)
    return figure
