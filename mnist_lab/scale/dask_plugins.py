"""Dask worker plugins of the local cluster; imported only where Dask runs, never by `mnist_lab`."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class IgnoreCtrlC(WorkerPlugin):
    """Ctrl-C in a terminal reaches every process of its group, but only the client should
    answer it (it cancels the batch and closes the cluster): the local cluster's workers then
    neither stop half-way nor print tracebacks of their own."""

    name = "mnist-lab-ignore-ctrl-c"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __repr__(self) -> str:
        return "IgnoreCtrlC()"
