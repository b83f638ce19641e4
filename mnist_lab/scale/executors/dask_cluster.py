"""A Dask client: for a new local cluster of worker processes, or for a cluster already running.

Either way the client side reads like Dask's own docs (a `Client` in a `with` block); what is
added here is one clear line when the cluster cannot be started or reached, or when its workers
would train several runs at once in one process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mnist_lab.core.errors import first_line
from mnist_lab.scale.executors.protocol import ExecutorError

CONNECT_TIMEOUT_S = 10


@contextlib.contextmanager
def dask_client(*, address: str | None = None, workers: int = 0) -> Iterator[Any]:
    """A Dask client for a new LocalCluster of `workers` processes, or for the cluster at
    `address`; one clear line when it cannot be started or reached."""
    if address is None:
        with _local_client(workers) as client:
            yield client
        return
    with _remote_client(address) as client:
        yield client


@contextlib.contextmanager
def _local_client(workers: int) -> Iterator[Any]:
    import logging

    from distributed import Client, LocalCluster

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


@contextlib.contextmanager
def _remote_client(address: str) -> Iterator[Any]:
    from distributed import Client

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
