"""A run folder: everything one training run produced, in a folder that is never reused.

runs/NAME-YYYYMMDD-HHMMSS/ holds config.json, history.json, metrics.json, curves.png and
model.keras. A second run started in the same second gets a -2 suffix rather than overwriting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.errors import RunError
from mnist_lab.fileio import write_json_atomic

CONFIG, HISTORY, METRICS, CURVES, MODEL = (
    "config.json",
    "history.json",
    "metrics.json",
    "curves.png",
    "model.keras",
)


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
        for attempt in range(1, 1000):
            path = out / (name + (f"-{attempt}" if attempt > 1 else ""))
            try:
                path.mkdir()  # fails if it exists
            except FileExistsError:
                continue
            return path
    except OSError as error:
        raise RunError(
            f"Cannot create a {what} folder in {out} ({error.strerror or error}); "
            "choose another folder with --out."
        ) from None
    raise RunError(f"Too many {what} folders named {name} in {out}.")


def create_run(out: str | Path, model_name: str, now: datetime | None = None) -> Run:
    """Create a new, empty run folder `out/NAME-YYYYMMDD-HHMMSS` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Run(create_unique_folder(out, f"{model_name}-{stamp}"))
