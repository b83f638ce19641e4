"""Ctrl-C and SIGTERM stop a training cleanly: at once, but never in the middle of a save.

Python turns SIGINT into KeyboardInterrupt wherever the program happens to be, which could be
halfway through writing a checkpoint. While `stop_signals()` is active, SIGINT and SIGTERM
raise KeyboardInterrupt as usual, except inside `saving()`, where the stop waits until the
save has finished. A laptop's shutdown (SIGTERM) is then handled exactly like Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _StopRequests:
    def __init__(self) -> None:
        self.saving = 0
        self.pending: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.saving:
            self.pending = signum
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)


_requests = _StopRequests()


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt (deferred during saves).

    Signal handlers can only be set from the main thread; elsewhere this changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _requests.handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _requests.pending = None


@contextlib.contextmanager
def saving() -> Iterator[None]:
    """A block that a stop signal does not cut short; the stop happens right after it."""
    _requests.saving += 1
    try:
        yield
    finally:
        _requests.saving -= 1
        if not _requests.saving and _requests.pending is not None:
            signum, _requests.pending = _requests.pending, None
            raise KeyboardInterrupt(signal.Signals(signum).name)
