"""What a Dask worker runs, and how a run folder travels back to the client as bytes.

Workers need neither the internet nor a shared filesystem: a task trains into a temporary
folder on its worker and returns that folder packed as tar bytes, which the client unpacks under
the batch's folder (over the unfinished run it continued, in one rename).
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import TrainingInterrupted, first_line
from mnist_lab.scale.batch import Event
from mnist_lab.scale.executors.task_training import record_where, train_task
from mnist_lab.scale.executors.tasks import TrainingTask
from mnist_lab.scale.executors.threads import host_share, pin_threads


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
    pin_threads(threads if isinstance(threads, int) else host_share(address, threads))

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
                unpack(payload, unfinished)
                task = replace(task, resume_from=str(unfinished))
            run = train_task(task, Path(tmp), dataset, report, should_stop=cancelled)
            record_where(run, executor, address)
            return {
                "error": None,
                "name": run.path.name,
                "payload": pack(run.path),
                "worker": address,
            }
    except TrainingInterrupted:
        return {"error": "cancelled", "worker": address}
    except Exception as error:
        return {"error": first_line(error, with_type=True), "worker": address}


def run_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str]:
    """A Call on a Dask worker: its value and the worker's address."""
    from distributed import get_worker

    return fn(*args), get_worker().address


def pack(folder: Path) -> bytes:
    """A run folder as uncompressed tar bytes (model.keras is already compressed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder, arcname=".")
    return buffer.getvalue()


def unpack(payload: bytes, folder: Path) -> None:
    """Unpack `pack`'s bytes into `folder` (made if missing); only plain files and folders."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as archive:
        archive.extractall(folder, filter="data")


def unpack_over(payload: bytes, folder: Path) -> None:
    """Unpack a finished run into `folder` (empty, or its unfinished self) in one rename: a
    Ctrl-C or a full disk midway leaves the folder as it was and a hidden scrap beside it."""
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.finished-"))
    retired = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    try:
        unpack(payload, staging)
        os.replace(folder, retired / folder.name)
        os.replace(staging, folder)
    except BaseException:
        if not folder.exists() and (retired / folder.name).exists():
            os.replace(retired / folder.name, folder)  # as it was
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
