"""How one training task trains, wherever it runs: in this process or on a Dask worker.

Both executors train a task the same way: a new run from its config, or its unfinished run
continued, with a Keras callback that reports each epoch (and lets a cancelled batch stop a
task at an epoch's end); the finished run records where it trained in its metrics.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.scale.batch import Progress
from mnist_lab.scale.executors.tasks import TrainingTask


def train_task(
    task: TrainingTask,
    out: Path,
    dataset: Any,
    report: Progress,
    should_stop: Callable[[], bool] | None = None,
) -> runs.Run:
    """Train (or continue) one task's run into `out`, reporting each epoch."""
    from mnist_lab import training

    callbacks = [epoch_reporter(task.key, report, should_stop)]
    if task.resume_from is not None:
        return training.resume(task.resume_from, dataset=dataset, verbose=0, callbacks=callbacks)
    config = replace(task.config, out=str(out))
    return training.train(config, dataset=dataset, verbose=0, callbacks=callbacks)


def epoch_reporter(key: str, report: Progress, should_stop: Callable[[], bool] | None = None):
    """A Keras callback reporting each finished epoch; `should_stop` lets a batch be cancelled."""
    import keras

    class EpochReporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            report(
                {
                    "event": "epoch_done",
                    "key": key,
                    "epoch": epoch + 1,
                    "epochs": self.params.get("epochs"),
                    "val_accuracy": float(logs.get("val_accuracy", float("nan"))),
                }
            )
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt("the batch was cancelled")

    return EpochReporter()


def record_where(run: runs.Run, executor: str, worker: str) -> None:
    """Add where the run trained (the executor's name and the worker) to its metrics.json."""
    run.write(runs.METRICS, {**run.metrics, "executor": executor, "worker": worker})
