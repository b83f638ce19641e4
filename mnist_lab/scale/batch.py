"""What benchmark, sweep and grading share as batches: their errors, Ctrl-C, progress, folder.

Each of the three hands many tasks to an executor, passes the executor's events to an
`on_progress` callback, and answers Ctrl-C (or SIGTERM) by keeping what finished on disk and
raising its own `...Interrupted` error, whose one line says what was kept and how to go on.
That frame is written once here; each batch keeps its own error names and messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError, MnistLabError

Event = dict[str, Any]  # one progress event: {"event": "task_done", "done": 3, "total": 8, ...}
Progress = Callable[[Event], None]


class BatchError(MnistLabError):
    """A batch of tasks (a benchmark, a sweep, a grading) could not run or finish."""


class BatchInterrupted(BatchError):
    """Ctrl-C or SIGTERM stopped a batch: the tasks that finished stay on disk."""

    prefix = "Interrupted"
    exit_code = 130


def tell(on_progress: Progress | None, event: Event) -> None:
    """Pass `event` on, when anyone listens."""
    if on_progress is not None:
        on_progress(event)


def with_start_fields(on_progress: Progress | None, **fields: Any) -> Progress | None:
    """`on_progress` with `fields` added to the batch's "start" event (what the batch is)."""
    if on_progress is None:
        return None

    def relay(event: Event) -> None:
        on_progress(event | fields if event["event"] == "start" else event)

    return relay


@contextlib.contextmanager
def interrupted_as(error: type[BatchInterrupted], message: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C inside the block into `error(message())`; the message is written when the
    batch stops, so it can count what finished."""
    try:
        yield
    except KeyboardInterrupt:
        raise error(message()) from None


def check_repeats(repeats: Any) -> None:
    """Reject a repeat count that is not a whole number of at least one, as TrainConfig does."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        message = f"The 'repeats' option must be an int >= 1. Got {repeats!r} instead."
        raise ConfigError(message, option="repeats")


def create_folder(out: str | Path, now: datetime | None = None, what: str = "benchmark") -> Path:
    """Create a new, empty folder `out/YYYYMMDD-HHMMSS` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return runs.create_unique_folder(out, stamp, what=what)
