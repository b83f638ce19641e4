"""What every executor does and says: the `Executor` interface and the progress events it sends.

An executor yields one result per task as each finishes and, on the way, calls `on_event` with
events a progress display can draw without knowing where the tasks run:

- {"event": "start", "executor", "workers"}: once, before any task;
- {"event": "task_start", "key", "worker"} and {"event": "epoch_done", "key", "epoch",
  "epochs", "val_accuracy"}: as tasks run;
- {"event": "task_done", "key", "ok", "error", "worker", ...}: once per task.

Every event also carries "done", "failed", "running", "total" and "elapsed" (seconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import MnistLabError
from mnist_lab.scale.batch import Event, tell
from mnist_lab.scale.batch import Progress as OnEvent
from mnist_lab.scale.executors.tasks import Call, CallResult, TaskResult, TrainingTask

IN_PROCESS, DASK_LOCAL, DASK = "in-process", "dask-local", "dask"


class ExecutorError(MnistLabError):
    """The cluster could not be started or reached."""


class Executor:
    """Runs training tasks and yields their results as they finish."""

    name = ""
    workers = 1

    def map_calls(
        self, calls: Sequence[Call], on_event: OnEvent | None = None
    ) -> Iterator[CallResult]:
        """Yield one CallResult per call as each finishes; events as for `map` ("task_done"
        carries "summary", the call's value's own one-line account when it has one)."""
        raise NotImplementedError

    def map(
        self,
        tasks: Sequence[TrainingTask],
        out: str | Path,
        dataset: Any,
        on_event: OnEvent | None = None,
    ) -> Iterator[TaskResult]:
        """Yield one TaskResult per task as each finishes (in any order with Dask).

        Ctrl-C cancels what is left and raises KeyboardInterrupt; the results already yielded
        (and their run folders) stay.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, workers={self.workers})"


def describe_place(executor: str, workers: int) -> str:
    """Where a batch trains, in words: 'in this process, one after another' or 'on 2 Dask
    workers (dask-local)'."""
    if executor == IN_PROCESS:
        return "in this process, one after another"
    return f"on {workers} Dask worker{'s' * (workers != 1)} ({executor})"


@dataclass
class Counts:
    """Where a batch stands, sent with every event for the progress display."""

    total: int
    began: float = field(default_factory=time.perf_counter)
    running: set[str] = field(default_factory=set)
    done: int = 0
    failed: int = 0

    def event(self, kind: str, **fields: Any) -> Event:
        """An event of `kind` with `fields` and where the batch stands."""
        return {
            "event": kind,
            **fields,
            "done": self.done,
            "failed": self.failed,
            "running": len(self.running),
            "total": self.total,
            "elapsed": time.perf_counter() - self.began,
        }


def task_done(result: TaskResult, counts: Counts, on_event: OnEvent | None) -> TaskResult:
    """Count a finished training task and send its "task_done" event (with its scores)."""
    counts.running.discard(result.task.key)
    counts.done += 1
    counts.failed += not result.ok
    metrics = result.run.metrics if result.ok and result.run else {}
    fields = {
        "key": result.task.key,
        "ok": result.ok,
        "error": result.error,
        "worker": result.worker,
        "val_accuracy": metrics.get("val_accuracy"),
        "test_accuracy": metrics.get("test_accuracy"),
        "train_seconds": metrics.get("train_seconds"),
        "run": result.run.path.name if result.run else None,
    }
    tell(on_event, counts.event("task_done", **fields))
    return result


def call_done(result: CallResult, counts: Counts, on_event: OnEvent | None) -> CallResult:
    """Count a finished call and send its "task_done" event (with its value's summary)."""
    counts.running.discard(result.call.key)
    counts.done += 1
    counts.failed += not result.ok
    summary = getattr(result.value, "summary", None) if result.ok else None
    fields = {"key": result.call.key, "ok": result.ok, "error": result.error}
    fields |= {"worker": result.worker, "summary": summary() if callable(summary) else None}
    tell(on_event, counts.event("task_done", **fields))
    return result
