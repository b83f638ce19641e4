"""How many threads each task's TensorFlow may use, so the workers of one machine share it.

TensorFlow sizes its thread pools to the whole machine and ignores OMP_NUM_THREADS, so W workers
on one machine would each start as many threads as it has cores. Each task therefore pins
TensorFlow, at its start, to its worker's share: the usable cores over the workers on that host.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable

from mnist_lab.core import hardware


def local_share(workers: int) -> int:
    """The threads of each of `workers` worker processes on this machine (at least one)."""
    return max(1, hardware.usable_cores() // workers)


def host_of(address: str) -> str:
    """The host of a worker address: 'tcp://10.0.0.5' for 'tcp://10.0.0.5:40123'."""
    return address.rsplit(":", 1)[0]


def workers_per_host(addresses: Iterable[str]) -> dict[str, int]:
    """How many workers each machine of a cluster runs, by host."""
    return dict(Counter(host_of(address) for address in addresses))


def host_share(address: str, peers: dict[str, int]) -> int:
    """On a cluster, a worker's share of its machine's cores: cores over workers on that host."""
    return max(1, hardware.usable_cores() // max(1, peers.get(host_of(address), 1)))


def pin_threads(threads: int) -> None:
    """Pin TensorFlow's intra- and inter-op thread pools to `threads`, if TensorFlow has not
    started yet in this worker process (it keeps the first setting for its whole life)."""
    from mnist_lab.core.backend import start_tensorflow

    start_tensorflow()  # quietly: without TensorFlow's start-up chatter in the worker's log
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already started: the first task's setting stays
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
