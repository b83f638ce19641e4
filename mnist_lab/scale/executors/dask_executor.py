"""The executor on Dask: tasks on a local cluster's worker processes, or on a real cluster.

The client side reads like a plain loop: the dataset is scattered to the workers once, one small
task is submitted per unit of work, and results are consumed `as_completed`. A worker that dies
mid-task costs only that attempt (the scheduler reruns the task elsewhere, as Dask does); a
task that fails for its own reason (a broken model) becomes a failed result and never stops the
others. Epoch news travels back from the workers as Dask events on a topic of the batch's own.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import first_line
from mnist_lab.scale.batch import Event, tell
from mnist_lab.scale.batch import Progress as OnEvent
from mnist_lab.scale.executors.protocol import Counts, Executor, call_done, task_done
from mnist_lab.scale.executors.remote import pack, run_call, run_remote_task, unpack_over
from mnist_lab.scale.executors.tasks import CallResult, TaskResult, TrainingTask
from mnist_lab.scale.executors.threads import workers_per_host

PROGRESS_TOPIC = "mnist-lab-progress"
DATA_LOSSES = 3  # times a batch sends its dataset again after every copy was lost
POLL_S = 0.1


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: one task per worker process at a time, results as they finish."""

    def __init__(self, client: Any, name: str, threads_per_task: int | None = None) -> None:
        self.client = client
        self.name = name
        self.threads_per_task = threads_per_task
        self.workers = len(client.scheduler_info().get("workers", {}))

    def _threads(self) -> int | dict[str, int]:
        """The threads each task pins TensorFlow to: known for a local cluster, else each
        worker's share of its machine, from how many workers that machine runs now."""
        if self.threads_per_task is not None:
            return self.threads_per_task
        return workers_per_host(self.client.scheduler_info().get("workers", {}))

    def map(self, tasks, out, dataset, on_event=None):
        # Ctrl-C is answered between polls, never inside one of Dask's own calls.
        stop_requested, restore_signals = defer_stop_signals()
        try:
            yield from self._run(tasks, Path(out), dataset, on_event, stop_requested)
        finally:
            restore_signals()

    def _run(
        self,
        tasks: Sequence[TrainingTask],
        out: Path,
        dataset: Any,
        on_event: OnEvent | None,
        stop_requested: Callable[[], bool],
    ) -> Iterator[TaskResult]:
        from distributed import as_completed

        counts = Counts(total=len(tasks))
        batch = uuid.uuid4().hex[:12]
        inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        topic = f"{PROGRESS_TOPIC}-{batch}"
        self.client.subscribe_topic(topic, lambda event: inbox.put(event[1]))
        tell(on_event, counts.event("start", executor=self.name, workers=self.workers))
        # The dataset travels once to every worker; a restarted worker copies it from a peer.
        shared = {"data": self.client.scatter(dataset, broadcast=True, hash=False), "again": 0}
        threads = self._threads()
        by_future: dict[Any, tuple[TrainingTask, Any]] = {}  # future -> (task, its dataset)

        def submit(task: TrainingTask) -> Any:
            payload = pack(Path(task.resume_from)) if task.resume_from else None
            arguments = (task, shared["data"], payload, self.name, threads)
            future = self.client.submit(
                run_remote_task,
                *arguments,
                topic,
                key=f"mnist-lab-{batch}-{uuid.uuid4().hex[:8]}",
                pure=False,
            )
            by_future[future] = (task, shared["data"])
            return future

        for task in tasks:
            submit(task)
        pending = as_completed(list(by_future))

        def relay() -> None:
            while True:
                try:
                    event = inbox.get_nowait()
                except queue.Empty:
                    return
                key = event.get("key")
                if event["event"] == "task_start":
                    counts.running.add(key)
                if event["event"] in ("task_start", "epoch_done"):
                    tell(on_event, counts.event(event.pop("event"), **event))

        try:
            while not pending.is_empty():
                if stop_requested():
                    raise KeyboardInterrupt
                relay()
                if not pending.has_ready():
                    time.sleep(POLL_S)
                    continue
                future = next(pending)
                relay()
                task, data = by_future.pop(future)
                if future.status != "finished" and data.status != "finished":
                    # Every worker holding the dataset died: Dask cannot make scattered data
                    # again, so it is sent again (once for all the tasks that lost it).
                    if data is shared["data"] and shared["again"] < DATA_LOSSES:
                        shared["again"] += 1
                        shared["data"] = self.client.scatter(dataset, broadcast=True, hash=False)
                    if data is not shared["data"]:
                        pending.add(submit(task))
                        continue
                yield task_done(self._collect(future, task, out), counts, on_event)
        except (KeyboardInterrupt, GeneratorExit):
            with contextlib.suppress(Exception):
                self.client.cancel(list(by_future))  # running ones stop at their epoch's end
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(topic)

    def map_calls(self, calls, on_event=None):
        from distributed import as_completed

        stop_requested, restore_signals = defer_stop_signals()
        counts = Counts(total=len(calls))
        tell(on_event, counts.event("start", executor=self.name, workers=self.workers))
        by_future = {
            self.client.submit(
                run_call, call.fn, call.args, key=f"mnist-lab-{uuid.uuid4().hex}", pure=False
            ): call
            for call in calls
        }
        pending = as_completed(list(by_future))
        try:
            while not pending.is_empty():
                if stop_requested():
                    raise KeyboardInterrupt
                if not pending.has_ready():
                    time.sleep(POLL_S)
                    continue
                future = next(pending)
                call = by_future.pop(future)
                try:
                    value, worker = future.result()
                    result = CallResult(call, value, None, worker)
                except Exception as error:
                    reason = first_line(error, with_type=True)
                    if type(error).__name__ == "KilledWorker":  # died allowed-failures times
                        reason = f"lost its worker too often ({reason})"
                    result = CallResult(call, None, reason)
                yield call_done(result, counts, on_event)
        except (KeyboardInterrupt, GeneratorExit):
            with contextlib.suppress(Exception):
                self.client.cancel(list(by_future))
            raise
        finally:
            restore_signals()

    def _collect(self, future: Any, task: TrainingTask, out: Path) -> TaskResult:
        """The task's result, its run folder unpacked under `out` (or over its unfinished self)."""
        try:
            outcome = future.result()
        except Exception as error:  # KilledWorker: its worker died allowed-failures times
            reason = first_line(error, with_type=True)
            return TaskResult(task, None, f"lost its worker too often ({reason})", "")
        if outcome["error"] is not None:
            return TaskResult(task, None, outcome["error"], outcome["worker"])
        if task.resume_from is not None:
            path = Path(task.resume_from)
        else:
            path = runs.create_unique_folder(out, outcome["name"])
        unpack_over(outcome["payload"], path)
        return TaskResult(task, runs.Run(path), None, outcome["worker"])


def defer_stop_signals() -> tuple[Callable[[], bool], Callable[[], None]]:
    """Turn SIGINT and SIGTERM into a request the client loop checks between polls, since one
    raised inside Dask's client machinery leaves its event loop half-closed; returns the check
    and the function that puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return (lambda: False), (lambda: None)
    requests: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda number, frame: requests.append(number))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return (lambda: bool(requests)), restore
