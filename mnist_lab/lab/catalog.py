"""The runs the lab serves, each under a name of its own, and what its run picker shows of them.

A request names a run only by one of these names: the name is looked up in the catalogue, never
joined to a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import MnistLabError, RunError
from mnist_lab.core.naming import unused_name


def servable_runs(
    runs_dir: str | Path | None = "runs", named: Iterable[str | Path] = ()
) -> list[Path]:
    """The completed runs (they have a metrics.json and a model.keras) under `runs_dir`, oldest
    first, then the `named` folders in order, each once. Unfinished runs under `runs_dir` are
    skipped; a named folder that is not a completed run raises RunError."""
    found: list[Path] = []
    if runs_dir is not None:
        listed = [Path(summary["run"]) for summary in runs.list_runs(runs_dir)]
        found += [folder for folder in listed if _completed(folder)]
    for folder in map(Path, named):
        folder = folder.expanduser()
        if not _completed(folder):
            raise RunError(
                f"{folder} is not a completed run (it has no {runs.METRICS} and {runs.MODEL}); "
                "'mnist-lab runs' lists the runs and 'mnist-lab train reference' trains one."
            )
        found.append(folder)
    served, seen = [], set()
    for folder in found:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            served.append(folder)
    return served


def _completed(folder: Path) -> bool:
    return (folder / runs.METRICS).is_file() and (folder / runs.MODEL).is_file()


def run_names(folders: Sequence[Path]) -> dict[str, Path]:
    """Each folder under its own name; a second folder of the same name gets -2, -3..."""
    named: dict[str, Path] = {}
    for folder in folders:
        named[unused_name(folder.name, named)] = folder
    return named


def run_summary(name: str, folder: Path) -> dict[str, Any]:
    """What the run picker shows: model, test accuracy, epochs, date and kept epochs."""
    run = runs.Run(folder)
    summary: dict[str, Any] = {"name": name, "model": None, "test_accuracy": None, "epochs": None}
    summary["date"] = None
    try:
        summary["model"] = run.config.get("model")
        summary["test_accuracy"] = run.metrics.get("test_accuracy")
        state = run.state
        summary["epochs"] = state.get("epochs_done")
        summary["date"] = state.get("updated")
    except MnistLabError as error:
        summary["error"] = str(error)
    epochs = sorted(run.epoch_weights)
    summary["epoch_weights"] = bool(epochs)
    summary["kept_epochs"] = epochs
    return summary
