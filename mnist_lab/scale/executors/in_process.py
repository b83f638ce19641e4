"""The executor without Dask: every task in this process, one after another.

It is the default (`--workers 1`), exactly a loop of `train` calls at today's speed, and the
reference the Dask executors must agree with: same events, same results, same run folders.
"""

from __future__ import annotations

import socket
from pathlib import Path

from mnist_lab.core.errors import TrainingInterrupted, first_line
from mnist_lab.scale.batch import Event, tell
from mnist_lab.scale.executors.protocol import IN_PROCESS, Counts, Executor, call_done, task_done
from mnist_lab.scale.executors.task_training import record_where, train_task
from mnist_lab.scale.executors.tasks import CallResult, TaskResult


class InProcessExecutor(Executor):
    """One task after another in this process: exactly a loop of `train` calls."""

    name = IN_PROCESS

    def map_calls(self, calls, on_event=None):
        counts = Counts(total=len(calls))
        worker = f"{IN_PROCESS}@{socket.gethostname()}"
        tell(on_event, counts.event("start", executor=self.name, workers=1))
        for call in calls:
            counts.running.add(call.key)
            tell(on_event, counts.event("task_start", key=call.key, worker=worker))
            try:
                result = CallResult(call, call.fn(*call.args), None, worker)
            except TrainingInterrupted:
                raise KeyboardInterrupt from None
            except Exception as error:
                result = CallResult(call, None, first_line(error, with_type=True), worker)
            yield call_done(result, counts, on_event)

    def map(self, tasks, out, dataset, on_event=None):
        counts = Counts(total=len(tasks))
        worker = f"{IN_PROCESS}@{socket.gethostname()}"
        tell(on_event, counts.event("start", executor=self.name, workers=1))
        for task in tasks:
            counts.running.add(task.key)
            tell(on_event, counts.event("task_start", key=task.key, worker=worker))

            def report(event: Event, counts=counts) -> None:
                tell(on_event, counts.event(event.pop("event"), **event))

            try:
                run = train_task(task, Path(out), dataset, report)
                record_where(run, self.name, worker)
                result = TaskResult(task, run, worker=worker)
            except TrainingInterrupted:
                raise KeyboardInterrupt from None
            except Exception as error:  # a broken model fails its task, never the batch
                result = TaskResult(task, None, first_line(error, with_type=True), worker)
            yield task_done(result, counts, on_event)
