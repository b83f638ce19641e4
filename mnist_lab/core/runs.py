"""A run folder: everything one training run produced, in a folder that is never reused.

runs/NAME-YYYYMMDD-HHMMSS/ holds config.json, state.json (running, interrupted, failed or
completed, and the epochs done), history.json (written after every epoch), checkpoint/ (the last
completed epoch, kept until the run completes), and at the end metrics.json, curves.png and
model.keras. A second run started in the same second gets a -2 suffix rather than overwriting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import RunError
from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.core.naming import claim_folder

CONFIG, HISTORY, METRICS, CURVES, MODEL, STATE, CHECKPOINT = (
    "config.json",
    "history.json",
    "metrics.json",
    "curves.png",
    "model.keras",
    "state.json",
    "checkpoint",
)
RUNNING, INTERRUPTED, FAILED, COMPLETED = "running", "interrupted", "failed", "completed"
# The weights of each epoch, kept by `train --keep-epochs` (the lab's epoch slider reads them).
EPOCHS_DIR = "epochs"


def epoch_weights_name(epoch: int) -> str:
    """The file of one epoch's weights in EPOCHS_DIR, counting epochs from 1."""
    return f"epoch-{epoch:02d}.weights.h5"


@dataclass(frozen=True)
class Run:
    """One run folder, with its JSON files read on demand."""

    path: Path

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def _read(self, filename: str) -> Any:
        path = self.path / filename
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise RunError(f"{path} does not exist; is {self.path} a finished run?") from None
        except (OSError, json.JSONDecodeError) as error:
            raise RunError(f"Cannot read {path}: {error}.") from None

    @property
    def config(self) -> dict[str, Any]:
        return self._read(CONFIG)

    @property
    def history(self) -> list[dict[str, float]]:
        return self._read(HISTORY)

    @property
    def metrics(self) -> dict[str, Any]:
        return self._read(METRICS)

    @property
    def state(self) -> dict[str, Any]:
        """The run's state. Runs made before states were recorded are completed if they have
        metrics, else unknown (an older version stopped or is still running them)."""
        if not (self.path / STATE).is_file():
            done = len(self.history) if (self.path / HISTORY).is_file() else 0
            finished = (self.path / METRICS).is_file()
            return {"state": COMPLETED if finished else "unknown", "epochs_done": done}
        return self._read(STATE)

    @property
    def checkpoint_epoch(self) -> int:
        """The epoch that the run's checkpoint holds (0 without one), as Keras recorded it."""
        try:
            metadata = json.loads((self.path / CHECKPOINT / "training_metadata.json").read_text())
            return int(metadata["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    @property
    def epoch_weights(self) -> dict[int, Path]:
        """The epochs whose weights the run kept, each with its file (empty if it kept none)."""
        kept = {}
        for file in sorted((self.path / EPOCHS_DIR).glob("epoch-*.weights.h5")):
            number = file.name.removeprefix("epoch-").removesuffix(".weights.h5")
            if number.isdigit():
                kept[int(number)] = file
        return kept

    def set_state(self, state: str, epochs_done: int, epochs: int, **extra: Any) -> None:
        """Record where the run stands, so a later `train --resume` or `runs` can tell."""
        updated = datetime.now().isoformat(timespec="seconds")
        record = {"state": state, "epochs_done": epochs_done, "epochs": epochs, "updated": updated}
        self.write(STATE, record | extra)

    def write(self, filename: str, payload: Any) -> Path:
        """Write one JSON file of the run atomically."""
        target = self.path / filename
        try:
            write_json_atomic(target, payload)
        except OSError as error:
            raise RunError(f"Cannot write {target} ({error.strerror or error}).") from None
        return target


def create_unique_folder(out: str | Path, name: str, what: str = "run") -> Path:
    """Create a new, empty folder `out/name` (suffixed -2, -3... if taken) and return it.

    Creation is exclusive, so an existing run or benchmark is never reused or overwritten, even
    by a second process starting in the same second. `what` names the folder in errors.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise RunError(
            f"Cannot create a {what} folder in {out}: it is a file; choose a folder with --out."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        return claim_folder(out, name)
    except FileExistsError:
        raise RunError(f"Too many {what} folders named {name} in {out}.") from None
    except OSError as error:
        raise RunError(
            f"Cannot create a {what} folder in {out} ({error.strerror or error}); "
            "choose another folder with --out."
        ) from None


def create_run(out: str | Path, model_name: str, now: datetime | None = None) -> Run:
    """Create a new, empty run folder `out/NAME-YYYYMMDD-HHMMSS` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Run(create_unique_folder(out, f"{model_name}-{stamp}"))


def open_run(path: str | Path) -> Run:
    """The run in folder `path`, checked to be one (it has a config.json)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise RunError(
            f"{folder} is not a run folder (no such folder); 'mnist-lab runs' lists them."
        )
    if not (folder / CONFIG).is_file():
        raise RunError(
            f"{folder} is not a run folder (it has no {CONFIG}); 'mnist-lab runs' lists them."
        )
    return Run(folder)


def list_runs(out: str | Path = "runs") -> list[dict[str, Any]]:
    """One summary per run folder in `out`, oldest first: model, state, epochs and test accuracy.

    Folders without a config.json are not runs and are skipped; a run whose files cannot be
    read is listed as unreadable rather than hiding the others.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} is a file, not a folder of runs; give a folder with --out.")
    if not out.is_dir():
        return []
    summaries = []
    folders = [p for p in out.iterdir() if p.is_dir() and (p / CONFIG).is_file()]
    for folder in sorted(folders, key=lambda p: ((p / CONFIG).stat().st_mtime, p.name)):
        run = Run(folder)
        summary: dict[str, Any] = {"run": str(folder), "model": None, "state": "unreadable"}
        try:
            config, state = run.config, run.state
            summary |= {
                "model": config.get("model"),
                "state": state["state"],
                "epochs_done": state.get("epochs_done"),
                "epochs": state.get("epochs", config.get("epochs")),
                "test_accuracy": None,
            }
            if (folder / METRICS).is_file():
                summary["test_accuracy"] = run.metrics.get("test_accuracy")
        except RunError as error:
            summary["error"] = str(error)
        summaries.append(summary)
    return summaries
