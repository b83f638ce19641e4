"""The progress of a batch of trainings (benchmark, sweep, grade): one display for all of them.

On a terminal it is one rich live bar: tasks done of total, how many are running and failed, the
latest epoch's news and the time elapsed. Piped or captured, it is one plain line per finished
epoch and per finished task, which logs and tests can read. It reads the executor's events
(see `mnist_lab.scale.executors.protocol`): every event carries "done", "running", "failed",
"total" and "elapsed".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from mnist_lab.scale.batch import Event
from mnist_lab.scale.batch import Progress as OnEvent

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


@contextlib.contextmanager
def batch_progress(out: Console, title: str = "Runs") -> Iterator[OnEvent]:
    """An `on_event` for an executor's events: a live rich display on a terminal, plain lines
    otherwise."""
    if not out.is_terminal:
        yield lambda event: _print_line(event, typer.echo)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out,
    )
    with progress:
        yield LiveBatch(progress)


class LiveBatch:
    """Executor events drawn on one rich progress bar; each finished task also gets a line."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def __repr__(self) -> str:
        return f"LiveBatch({self.progress.tasks!r})"

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind == "start":
            self._say(event)
            self.task = self.progress.add_task("", total=event["total"], counts="")
        if self.task is None:
            return
        fields: dict[str, Any] = {"completed": event["done"], "counts": counts_text(event)}
        if kind == "epoch_done":
            fields["description"] = epoch_text(event)
        elif kind == "task_done":
            self._say(event)
        self.progress.update(self.task, **fields)

    def _say(self, event: Event) -> None:
        _print_line(event, lambda line: self.progress.console.print(line, markup=False))


def counts_text(event: Event) -> str:
    """ "2 running, 1 failed": what the bar's done/total does not say."""
    text = f"{event['running']} running"
    return text + (f", {event['failed']} failed" if event["failed"] else "")


def epoch_text(event: Event) -> str:
    return (
        f"{event['key']}  epoch {event['epoch']}/{event['epochs']}  "
        f"val accuracy {event['val_accuracy']:.2%}"
    )


def elapsed_text(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d} elapsed"


def _print_line(event: Event, say: Callable[[str], Any]) -> None:
    """One line for the start, each epoch and each finished task."""
    kind = event["event"]
    where = f"[{event['done']}/{event['total']} done, {counts_text(event)}]"
    if kind == "start":
        from mnist_lab.scale.executors import describe_place

        place = describe_place(event["executor"], event["workers"])
        say(f"Training {event['total']} run{'s' * (event['total'] != 1)} {place}.")
    elif kind == "epoch_done":
        say(f"{where} {epoch_text(event)}  {elapsed_text(event['elapsed'])}")
    elif kind == "task_done":
        if event["ok"] and event.get("summary"):
            outcome = event["summary"]
        elif event["ok"]:
            outcome = (
                f"val accuracy {event['val_accuracy']:.2%} after "
                f"{event['train_seconds']:.1f} s of training"
            )
        else:
            outcome = f"FAILED: {event['error']}"
        say(f"{where} {event['key']}  {outcome}  {elapsed_text(event['elapsed'])}")
