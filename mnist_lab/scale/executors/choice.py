"""`open_executor`: which executor a batch gets, from its `workers` and `scheduler` options.

One process (`workers=1`, the default), a local Dask cluster (`workers=W`) or an existing cluster
(`scheduler=ADDRESS`, or $MNIST_LAB_SCHEDULER): the options are checked here, once, for the
benchmark, the sweep and the grading alike.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from mnist_lab.core import hardware
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale.executors.dask_cluster import dask_client
from mnist_lab.scale.executors.dask_executor import DaskExecutor
from mnist_lab.scale.executors.in_process import InProcessExecutor
from mnist_lab.scale.executors.protocol import DASK, DASK_LOCAL, Executor
from mnist_lab.scale.executors.threads import local_share

SCHEDULER_ENV = "MNIST_LAB_SCHEDULER"


def check_workers(workers: Any, scheduler: str | None) -> None:
    """Reject a worker count that is not a whole number in 1..cores (the cores this process may
    use), or one given with a scheduler (the cluster decides its own workers)."""
    usable = hardware.usable_cores()
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


@contextlib.contextmanager
def open_executor(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor for `workers` or `scheduler`, closed (cluster and all) when the block ends."""
    check_workers(workers, scheduler)
    scheduler = scheduler_from_env(scheduler, workers)
    if scheduler:
        with dask_client(address=scheduler) as client:
            yield DaskExecutor(client, DASK)
    elif workers > 1:
        with dask_client(workers=workers) as client:
            yield DaskExecutor(client, DASK_LOCAL, threads_per_task=local_share(workers))
    else:
        yield InProcessExecutor()
