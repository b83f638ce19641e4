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

The package's modules, one job each: `tasks` (what is run and what comes back), `protocol` (the
`Executor` interface and its events), `choice` (`open_executor` and its checks), `in_process`,
`dask_cluster` (the client), `dask_executor`, `remote` (what a worker runs), `task_training`
(how one training task trains) and `threads` (each task's share of the cores).
"""

from __future__ import annotations

from mnist_lab.scale.batch import Event
from mnist_lab.scale.batch import Progress as OnEvent
from mnist_lab.scale.executors.choice import (
    SCHEDULER_ENV,
    check_workers,
    open_executor,
    scheduler_from_env,
)
from mnist_lab.scale.executors.dask_executor import DaskExecutor
from mnist_lab.scale.executors.in_process import InProcessExecutor
from mnist_lab.scale.executors.protocol import (
    DASK,
    DASK_LOCAL,
    IN_PROCESS,
    Executor,
    ExecutorError,
    describe_place,
)
from mnist_lab.scale.executors.remote import run_remote_task
from mnist_lab.scale.executors.tasks import Call, CallResult, TaskResult, TrainingTask
from mnist_lab.scale.executors.threads import workers_per_host

__all__ = [
    "DASK",
    "DASK_LOCAL",
    "IN_PROCESS",
    "SCHEDULER_ENV",
    "Call",
    "CallResult",
    "DaskExecutor",
    "Event",
    "Executor",
    "ExecutorError",
    "InProcessExecutor",
    "OnEvent",
    "TaskResult",
    "TrainingTask",
    "check_workers",
    "describe_place",
    "open_executor",
    "run_remote_task",
    "scheduler_from_env",
    "workers_per_host",
]
