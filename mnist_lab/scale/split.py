"""What a leaderboard's or a sweep's runs trained on, read from the runs themselves.

A caption that says "all 60,000 training images" is wrong twice: every run holds a seeded,
stratified part of them out for validation, and `--limit` trains on fewer. So the sizes come
from each run's metrics.json (`train_size`, `validation_size`), as the split really fell.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mnist_lab.core import runs
from mnist_lab.core.errors import RunError
from mnist_lab.training import TRAIN_SIZE


def _span(values: set[int]) -> str:
    """`54,000`, or `4,499 to 4,502` when the runs' splits differ (a limit drawn per seed)."""
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def describe_split(folder: Path, run_names: Iterable[str], limit: int | None) -> str:
    """The images the runs in `folder` trained on and held out, as the end of a sentence.

    "on 54,000 of MNIST's 60,000 training images (6,000 held out for validation)"; runs that
    recorded no sizes (older versions) give only what the settings say.
    """
    pool = f"MNIST's {TRAIN_SIZE:,}"
    if limit is not None:
        pool = f"{limit:,} drawn from {pool}"
    trained, held_out = set(), set()
    for name in run_names:
        try:
            metrics = runs.Run(folder / name).metrics
        except RunError:  # a run without metrics says nothing of its split
            continue
        if "train_size" in metrics and "validation_size" in metrics:
            trained.add(int(metrics["train_size"]))
            held_out.add(int(metrics["validation_size"]))
    if not trained:
        return f"on {pool} training images, part of them held out for validation"
    return (
        f"on {_span(trained)} of {pool} training images ({_span(held_out)} held out for validation)"
    )
