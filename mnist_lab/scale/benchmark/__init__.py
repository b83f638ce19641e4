"""Benchmark: train several models on the same data and seeds, then rank them in one leaderboard.

`benchmark(["reference", "mine-*"])` writes a new folder benchmarks/YYYYMMDD-HHMMSS/ holding one
run folder per model and repeat (repeat r uses seed + r, so every model sees the same split and
batch order), leaderboard.json, leaderboard.md, curves.png (validation curves of every model on
shared axes) and accuracy_vs_time.png. Means and standard deviations are over repeats; the
standard deviation is the population one, so a single repeat gives 0. Models are ranked by
validation accuracy, as every choice in the course is made; each run's test accuracy is
reported beside it, scored once at the run's end, and ranks nothing.

The package's modules, one job each: `running` (`benchmark`), `resuming` (`resume_benchmark`),
`plan` (plan.json and the runs by task key), `leaderboard` (the rows), `report` (the table,
leaderboard.md and the figures), `speed` (images per second, latency) and `errors`. The machine
record is `mnist_lab.scale.machine`'s, the scores `mnist_lab.scale.scores`'.
"""

from __future__ import annotations

from mnist_lab.scale.batch import Progress, check_repeats, create_folder
from mnist_lab.scale.benchmark.errors import BenchmarkError, BenchmarkInterrupted
from mnist_lab.scale.benchmark.leaderboard import (
    ROW_KEYS,
    Benchmark,
    failed_row,
    rank_key,
    summarize_runs,
)
from mnist_lab.scale.benchmark.plan import PLAN, benchmark_tasks, read_plan, runs_in, task_key
from mnist_lab.scale.benchmark.report import (
    ACCURACY_VS_TIME,
    CROSSENTROPY_NOTE,
    CURVES,
    LEADERBOARD_COLUMNS,
    LEADERBOARD_JSON,
    LEADERBOARD_MD,
    LEADERBOARD_TITLE,
    describe_executor,
    format_leaderboard,
    leaderboard_markdown,
    write_leaderboard,
)
from mnist_lab.scale.benchmark.resuming import resume_benchmark
from mnist_lab.scale.benchmark.running import benchmark, resolve_models, train_and_rank
from mnist_lab.scale.benchmark.speed import INFERENCE_BATCH, LATENCY_CALLS, measure_speed
from mnist_lab.scale.machine import describe_machine, machine_info
from mnist_lab.scale.scores import (
    MISSING,
    TARGET_ACCURACY,
    final_val_accuracy,
    mean_std,
    time_to_accuracy,
)

__all__ = [
    "ACCURACY_VS_TIME",
    "CROSSENTROPY_NOTE",
    "CURVES",
    "INFERENCE_BATCH",
    "LATENCY_CALLS",
    "LEADERBOARD_COLUMNS",
    "LEADERBOARD_JSON",
    "LEADERBOARD_MD",
    "LEADERBOARD_TITLE",
    "MISSING",
    "PLAN",
    "ROW_KEYS",
    "TARGET_ACCURACY",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkInterrupted",
    "Progress",
    "benchmark",
    "benchmark_tasks",
    "check_repeats",
    "create_folder",
    "describe_executor",
    "describe_machine",
    "failed_row",
    "final_val_accuracy",
    "format_leaderboard",
    "leaderboard_markdown",
    "machine_info",
    "mean_std",
    "measure_speed",
    "rank_key",
    "read_plan",
    "resolve_models",
    "resume_benchmark",
    "runs_in",
    "summarize_runs",
    "task_key",
    "time_to_accuracy",
    "train_and_rank",
    "write_leaderboard",
]
