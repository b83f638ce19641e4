"""Sweep: train one model over a grid of recipe values, choose the best point on validation.

`sweep("reference", ["learning_rate=1e-3,3e-3,1e-2", "batch_size=64,128"])` trains every point
of the grid (the cartesian product of the `--set` values, first field outermost) `repeats` times
on the executor, and writes a new folder sweeps/YYYYMMDD-HHMMSS/ holding every run folder,
sweep.json, sweep.md (the points ranked by validation accuracy, mean ± standard deviation over
repeats) and sweep.png (validation accuracy against each swept field).

Repeat r of every point trains with seed `seed + r`, so all points share its split and differ
only in what was swept. The house rule holds: validation chooses the point, and test accuracy
is reported for that chosen point only. Every run is scored on the test set at its end (that is
how a run works), but reading the test score of every point to pick one would make the test set
a second validation set; so sweep.json and sweep.md show it for the choice alone.

The package's modules, one job each: `grid` (the `--set` values and the points), `points` (a
point's runs and row, the `Sweep`), `running` (`sweep`), `report` (the table, sweep.md, .json
and .png) and `errors`. The figure itself is drawn by `mnist_lab.scale.sweep_plots`.
"""

from __future__ import annotations

from mnist_lab.scale.batch import Progress
from mnist_lab.scale.sweep.errors import SweepError, SweepInterrupted
from mnist_lab.scale.sweep.grid import (
    EXAMPLE,
    SWEEP_OPTIONS,
    Grid,
    expand,
    format_value,
    label,
    parse_set,
    parse_sets,
    parse_value,
    short_name,
)
from mnist_lab.scale.sweep.points import (
    Sweep,
    check_point,
    point_config,
    summarize_point,
    task_key,
)
from mnist_lab.scale.sweep.report import (
    SWEEP_JSON,
    SWEEP_MD,
    SWEEP_PNG,
    TEST_RULE,
    columns,
    describe_choice,
    describe_config,
    describe_failure,
    format_points,
    save_sweep_figure,
    sweep_markdown,
    write_sweep,
)
from mnist_lab.scale.sweep.running import rank_points, sweep

__all__ = [
    "EXAMPLE",
    "SWEEP_JSON",
    "SWEEP_MD",
    "SWEEP_OPTIONS",
    "SWEEP_PNG",
    "TEST_RULE",
    "Grid",
    "Progress",
    "Sweep",
    "SweepError",
    "SweepInterrupted",
    "check_point",
    "columns",
    "describe_choice",
    "describe_config",
    "describe_failure",
    "expand",
    "format_points",
    "format_value",
    "label",
    "parse_set",
    "parse_sets",
    "parse_value",
    "point_config",
    "rank_points",
    "save_sweep_figure",
    "short_name",
    "summarize_point",
    "sweep",
    "sweep_markdown",
    "task_key",
    "write_sweep",
]
