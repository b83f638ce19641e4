"""What an executor is given and what it gives back: small, picklable tasks and their results.

A task carries a config or a module-level function with its arguments, never a Keras model or
TensorFlow state, so it travels to a Dask worker as it is (see STYLE.md, "Many tasks on Dask").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnist_lab.core import runs


@dataclass(frozen=True)
class TrainingTask:
    """One training to run: a config (its `out` is ignored) and a key unique in its batch.

    `resume_from` names an unfinished run folder to continue instead of starting anew.
    """

    key: str
    config: Any  # training.TrainConfig; typed loosely so importing this module stays light
    resume_from: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """A finished task: its run folder under `out`, or the one line that says why it failed."""

    task: TrainingTask
    run: runs.Run | None
    error: str | None = None
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.run is not None and self.error is None

    def __repr__(self) -> str:
        outcome = str(self.run.path) if self.run else f"failed: {self.error}"
        return f"TaskResult({self.task.key!r}, {outcome})"


@dataclass(frozen=True)
class Call:
    """Any other task (grading a student, for one): a picklable module-level function and its
    arguments, run where the trainings run. What `fn` raises becomes the result's one-line
    error; a worker that dies under it is replaced and the call rerun, as Dask does."""

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class CallResult:
    """What a Call returned, or the one line that says why it never returned."""

    call: Call
    value: Any = None
    error: str | None = None
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None
