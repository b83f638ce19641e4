"""Run many trainings: one after another in this process, on a local Dask cluster, or on a real one.

`benchmark`, `sweep` and `grade` hand a list of `TrainingTask`s (configs, never models) to an
executor and consume `TaskResult`s as they finish:

- `open_executor(1)`: in this process, one task after another: today's speed, no Dask at all.
- `open_executor(W)`: a `dask.distributed.LocalCluster` of W worker processes on 127.0.0.1, each
  task pinning TensorFlow's thread pools to its worker's share of the cores (TensorFlow ignores
  OMP_NUM_THREADS).
- `open_executor(scheduler="tcp://host:8786")` (or $MNIST_LAB_SCHEDULER): an existing cluster
  started with `dask scheduler` and `dask worker`.

With Dask, the dataset is scattered to the workers once, each task trains into a temporary
folder on its worker, and the finished run folder travels back as bytes to the client, which
writes it under `out`: workers need neither the internet nor a shared filesystem. A worker that
dies mid-task costs only that attempt (the scheduler reruns the task elsewhere, as Dask does); a
task that fails for its own reason (a broken model) becomes a failed result and never stops the
others. Every run's metrics.json records "executor" and "worker".
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import signal
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError, MnistLabError, TrainingInterrupted, first_line
from mnist_lab.training.devices import cores

SCHEDULER_ENV = "MNIST_LAB_SCHEDULER"
IN_PROCESS, DASK_LOCAL, DASK = "in-process", "dask-local", "dask"
PROGRESS_TOPIC = "mnist-lab-progress"
CONNECT_TIMEOUT_S = 10
DATA_LOSSES = 3  # times a batch sends its dataset again after every copy was lost
POLL_S = 0.1

Event = dict[str, Any]
OnEvent = Callable[[Event], None]


class ExecutorError(MnistLabError):
    """The cluster could not be started or reached."""


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


# --- checks -----------------------------------------------------------------------------------


def check_workers(workers: Any, scheduler: str | None) -> None:
    """Reject a worker count that is not a whole number in 1..cores, or one given with a
    scheduler (the cluster decides its own workers)."""
    usable = cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= usable:
        raise ConfigError(
            f"The 'workers' option must be an int >= 1 and <= {usable} (this machine's logical "
            f"cores). Got {workers!r} instead.",
            option="workers",
        )
    if scheduler and workers != 1:
        raise ConfigError(
            "Give either 'workers' (a local cluster) or a scheduler address (an existing "
            f"cluster), not both: the cluster at {scheduler} has its own workers.",
            option="workers",
        )


def scheduler_from_env(scheduler: str | None, workers: int) -> str | None:
    """The scheduler to use: the one given, else $MNIST_LAB_SCHEDULER unless workers were asked."""
    if scheduler:
        return scheduler
    if workers == 1:
        return os.environ.get(SCHEDULER_ENV) or None
    return None


# --- the executors ----------------------------------------------------------------------------


@contextlib.contextmanager
def open_executor(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor for `workers` or `scheduler`, closed (cluster and all) when the block ends."""
    check_workers(workers, scheduler)
    scheduler = scheduler_from_env(scheduler, workers)
    if scheduler:
        with _dask_client(address=scheduler) as client:
            yield DaskExecutor(client, DASK)
    elif workers > 1:
        with _dask_client(workers=workers) as client:
            yield DaskExecutor(client, DASK_LOCAL, threads_per_task=_share(workers))
    else:
        yield InProcessExecutor()


def describe_place(executor: str, workers: int) -> str:
    """Where a batch trains, in words: 'in this process, one after another' or 'on 2 Dask
    workers (dask-local)'."""
    if executor == IN_PROCESS:
        return "in this process, one after another"
    return f"on {workers} Dask worker{'s' * (workers != 1)} ({executor})"


def _share(workers: int) -> int:
    return max(1, cores() // workers)


@dataclass
class _Counts:
    """Where a batch stands, sent with every event for the progress display."""

    total: int
    began: float = field(default_factory=time.perf_counter)
    running: set[str] = field(default_factory=set)
    done: int = 0
    failed: int = 0

    def event(self, kind: str, **fields: Any) -> Event:
        return {
            "event": kind,
            **fields,
            "done": self.done,
            "failed": self.failed,
            "running": len(self.running),
            "total": self.total,
            "elapsed": time.perf_counter() - self.began,
        }


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


def _say(on_event: OnEvent | None, event: Event) -> None:
    if on_event is not None:
        on_event(event)


def _task_done_fields(result: TaskResult) -> dict[str, Any]:
    metrics = result.run.metrics if result.ok and result.run else {}
    return {
        "key": result.task.key,
        "ok": result.ok,
        "error": result.error,
        "worker": result.worker,
        "val_accuracy": metrics.get("val_accuracy"),
        "test_accuracy": metrics.get("test_accuracy"),
        "train_seconds": metrics.get("train_seconds"),
        "run": result.run.path.name if result.run else None,
    }


class InProcessExecutor(Executor):
    """One task after another in this process: exactly a loop of `train` calls."""

    name = IN_PROCESS

    def map_calls(self, calls, on_event=None):
        counts = _Counts(total=len(calls))
        worker = f"{IN_PROCESS}@{socket.gethostname()}"
        _say(on_event, counts.event("start", executor=self.name, workers=1))
        for call in calls:
            counts.running.add(call.key)
            _say(on_event, counts.event("task_start", key=call.key, worker=worker))
            try:
                result = CallResult(call, call.fn(*call.args), None, worker)
            except TrainingInterrupted:
                raise KeyboardInterrupt from None
            except Exception as error:
                result = CallResult(call, None, first_line(error, with_type=True), worker)
            counts.running.discard(call.key)
            yield _call_done(result, counts, on_event)

    def map(self, tasks, out, dataset, on_event=None):
        counts = _Counts(total=len(tasks))
        worker = f"{IN_PROCESS}@{socket.gethostname()}"
        _say(on_event, counts.event("start", executor=self.name, workers=1))
        for task in tasks:
            counts.running.add(task.key)
            _say(on_event, counts.event("task_start", key=task.key, worker=worker))

            def report(event: Event, counts=counts) -> None:
                _say(on_event, counts.event(event.pop("event"), **event))

            try:
                run = _train_task(task, Path(out), dataset, report)
                _record_where(run, self.name, worker)
                result = TaskResult(task, run, worker=worker)
            except TrainingInterrupted:
                raise KeyboardInterrupt from None
            except Exception as error:  # a broken model fails its task, never the batch
                result = TaskResult(task, None, first_line(error, with_type=True), worker)
            counts.running.discard(task.key)
            counts.done += 1
            counts.failed += not result.ok
            _say(on_event, counts.event("task_done", **_task_done_fields(result)))
            yield result


def _call_done(result: CallResult, counts: _Counts, on_event: OnEvent | None) -> CallResult:
    counts.done += 1
    counts.failed += not result.ok
    summary = getattr(result.value, "summary", None) if result.ok else None
    fields = {"key": result.call.key, "ok": result.ok, "error": result.error}
    fields |= {"worker": result.worker, "summary": summary() if callable(summary) else None}
    _say(on_event, counts.event("task_done", **fields))
    return result


def _train_task(task: TrainingTask, out: Path, dataset: Any, report: OnEvent) -> runs.Run:
    """Train (or continue) one task's run into `out`, reporting each epoch."""
    from mnist_lab import training

    callbacks = [_epoch_reporter(task.key, report)]
    if task.resume_from is not None:
        return training.resume(task.resume_from, dataset=dataset, verbose=0, callbacks=callbacks)
    config = replace(task.config, out=str(out))
    return training.train(config, dataset=dataset, verbose=0, callbacks=callbacks)


def _epoch_reporter(key: str, report: OnEvent, should_stop: Callable[[], bool] | None = None):
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


def _record_where(run: runs.Run, executor: str, worker: str) -> None:
    """Add where the run trained to its metrics.json."""
    run.write(runs.METRICS, {**run.metrics, "executor": executor, "worker": worker})


# --- Dask -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _dask_client(*, address: str | None = None, workers: int = 0) -> Iterator[Any]:
    """A Dask client for a new LocalCluster of `workers` processes, or for the cluster at
    `address`; one clear line when it cannot be started or reached."""
    import logging

    from distributed import Client, LocalCluster

    if address is None:
        try:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # one training per worker process at a time
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        except Exception as error:
            raise ExecutorError(
                f"Cannot start a local Dask cluster of {workers} workers ({first_line(error)}); "
                "try fewer --workers."
            ) from None
        with cluster, Client(cluster) as client:
            from mnist_lab.scale.dask_plugins import IgnoreCtrlC

            client.register_plugin(IgnoreCtrlC())
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise ExecutorError(
            f"Cannot reach the Dask scheduler at {address} ({first_line(error)}). Start one with "
            "'dask scheduler' and at least one 'dask worker ADDRESS --nthreads 1' in this "
            "project's environment, or leave out --scheduler (and $MNIST_LAB_SCHEDULER) to "
            "train here."
        ) from None
    with client:
        if not client.scheduler_info().get("workers"):
            with contextlib.suppress(Exception):
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            raise ExecutorError(
                f"The Dask scheduler at {address} has no workers; start one with "
                f"'dask worker {address} --nthreads 1' in this project's environment."
            )
        crowded = [name for name, info in workers.items() if info.get("nthreads", 1) > 1]
        if crowded:
            raise ExecutorError(
                f"The Dask worker at {crowded[0]} runs {workers[crowded[0]]['nthreads']} threads, "
                "so it would train several runs at once in one process; restart it with "
                f"'dask worker {address} --nthreads 1'."
            )
        yield client


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
        stop_requested, restore_signals = _defer_stop_signals()
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

        counts = _Counts(total=len(tasks))
        batch = uuid.uuid4().hex[:12]
        inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        topic = f"{PROGRESS_TOPIC}-{batch}"
        self.client.subscribe_topic(topic, lambda event: inbox.put(event[1]))
        _say(on_event, counts.event("start", executor=self.name, workers=self.workers))
        # The dataset travels once to every worker; a restarted worker copies it from a peer.
        shared = {"data": self.client.scatter(dataset, broadcast=True, hash=False), "again": 0}
        threads = self._threads()
        by_future: dict[Any, tuple[TrainingTask, Any]] = {}  # future -> (task, its dataset)

        def submit(task: TrainingTask) -> Any:
            payload = _pack(Path(task.resume_from)) if task.resume_from else None
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
                    _say(on_event, counts.event(event.pop("event"), **event))

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
                result = self._collect(future, task, out)
                counts.running.discard(result.task.key)
                counts.done += 1
                counts.failed += not result.ok
                _say(on_event, counts.event("task_done", **_task_done_fields(result)))
                yield result
        except (KeyboardInterrupt, GeneratorExit):
            with contextlib.suppress(Exception):
                self.client.cancel(list(by_future))  # running ones stop at their epoch's end
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(topic)

    def map_calls(self, calls, on_event=None):
        from distributed import as_completed

        stop_requested, restore_signals = _defer_stop_signals()
        counts = _Counts(total=len(calls))
        _say(on_event, counts.event("start", executor=self.name, workers=self.workers))
        by_future = {
            self.client.submit(
                _run_call, call.fn, call.args, key=f"mnist-lab-{uuid.uuid4().hex}", pure=False
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
                yield _call_done(result, counts, on_event)
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
        _unpack_over(outcome["payload"], path)
        return TaskResult(task, runs.Run(path), None, outcome["worker"])


def _run_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str]:
    """A Call on a Dask worker: its value and the worker's address."""
    from distributed import get_worker

    return fn(*args), get_worker().address


def _defer_stop_signals() -> tuple[Callable[[], bool], Callable[[], None]]:
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


def run_remote_task(
    task: TrainingTask,
    dataset: Any,
    payload: bytes | None,
    executor: str,
    threads: int | dict[str, int],
    topic: str,
) -> dict[str, Any]:
    """The task a Dask worker runs: train into a temporary folder, return it packed.

    Failures of the task itself come back as an "error" line rather than an exception, so Dask
    does not retry a broken model; a worker that dies is retried by the scheduler instead.
    """
    from distributed import get_worker

    worker = get_worker()
    address = worker.address
    _pin_threads(threads if isinstance(threads, int) else _host_share(address, threads))

    def report(event: Event) -> None:
        worker.log_event(topic, event)

    report({"event": "task_start", "key": task.key, "worker": address})
    key = worker.get_current_task()

    def cancelled() -> bool:
        """Whether the client let go of this task (Ctrl-C): a thread cannot be stopped from
        outside, so the task looks at its own state on the worker after each epoch."""
        state = worker.state.tasks.get(key)
        return state is None or state.state in ("cancelled", "released", "forgotten")

    try:
        with tempfile.TemporaryDirectory(prefix="mnist-lab-task-") as tmp:
            if payload is not None:
                unfinished = Path(tmp) / Path(task.resume_from or "run").name
                _unpack(payload, unfinished)
                task = replace(task, resume_from=str(unfinished))
            from mnist_lab import training

            callbacks = [_epoch_reporter(task.key, report, should_stop=cancelled)]
            if task.resume_from is not None:
                run = training.resume(
                    task.resume_from, dataset=dataset, verbose=0, callbacks=callbacks
                )
            else:
                config = replace(task.config, out=tmp)
                run = training.train(config, dataset=dataset, verbose=0, callbacks=callbacks)
            _record_where(run, executor, address)
            return {
                "error": None,
                "name": run.path.name,
                "payload": _pack(run.path),
                "worker": address,
            }
    except TrainingInterrupted:
        return {"error": "cancelled", "worker": address}
    except Exception as error:
        return {"error": first_line(error, with_type=True), "worker": address}


def _host_of(address: str) -> str:
    return address.rsplit(":", 1)[0]


def workers_per_host(addresses: Iterable[str]) -> dict[str, int]:
    """How many workers each machine of a cluster runs, by host."""
    return dict(Counter(_host_of(address) for address in addresses))


def _host_share(address: str, peers: dict[str, int]) -> int:
    """On a cluster, a worker's share of its machine's cores: cores over workers on that host."""
    return max(1, cores() // max(1, peers.get(_host_of(address), 1)))


def _pin_threads(threads: int) -> None:
    """Pin TensorFlow's intra- and inter-op thread pools to `threads`, if TensorFlow has not
    started yet in this worker process (it keeps the first setting for its whole life)."""
    from mnist_lab.core.backend import start_tensorflow

    start_tensorflow()  # quietly: without TensorFlow's start-up chatter in the worker's log
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already started: the first task's setting stays
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _pack(folder: Path) -> bytes:
    """A run folder as uncompressed tar bytes (model.keras is already compressed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder, arcname=".")
    return buffer.getvalue()


def _unpack(payload: bytes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as archive:
        archive.extractall(folder, filter="data")


def _unpack_over(payload: bytes, folder: Path) -> None:
    """Unpack a finished run into `folder` (empty, or its unfinished self) in one rename: a
    Ctrl-C or a full disk midway leaves the folder as it was and a hidden scrap beside it."""
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.finished-"))
    retired = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    try:
        _unpack(payload, staging)
        os.replace(folder, retired / folder.name)
        os.replace(staging, folder)
    except BaseException:
        if not folder.exists() and (retired / folder.name).exists():
            os.replace(retired / folder.name, folder)  # as it was
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
