"""What benchmark, sweep and grading share (`mnist_lab.scale.batch`): errors, Ctrl-C, progress."""

from __future__ import annotations

import pytest

from mnist_lab.core.errors import MnistLabError
from mnist_lab.scale import batch
from mnist_lab.scale.benchmark import BenchmarkError, BenchmarkInterrupted
from mnist_lab.scale.grading import GradingError, GradingInterrupted
from mnist_lab.scale.sweep import SweepError, SweepInterrupted

FAMILIES = [
    (BenchmarkError, BenchmarkInterrupted),
    (SweepError, SweepInterrupted),
    (GradingError, GradingInterrupted),
]


@pytest.mark.parametrize(("error", "interrupted"), FAMILIES)
def test_each_batch_keeps_its_error_names_on_the_shared_base(error, interrupted):
    assert issubclass(error, batch.BatchError) and issubclass(error, MnistLabError)
    assert issubclass(interrupted, error) and issubclass(interrupted, batch.BatchInterrupted)
    assert (interrupted.prefix, interrupted.exit_code) == ("Interrupted", 130)
    assert (error.prefix, error.exit_code) == ("Error", 1)
    with pytest.raises(error):  # `except BenchmarkError` still catches a stopped benchmark
        raise interrupted("stopped")


def test_ctrl_c_becomes_the_batchs_interrupted_error_counted_when_it_stops():
    finished: list[str] = []
    expected = pytest.raises(SweepInterrupted, match=r"^stopped after 2 runs$")
    message = lambda: f"stopped after {len(finished)} runs"  # noqa: E731
    with expected as caught, batch.interrupted_as(SweepInterrupted, message):
        finished += ["a", "b"]
        raise KeyboardInterrupt
    assert caught.value.__suppress_context__  # one line, no traceback of the KeyboardInterrupt
    # Anything else passes unchanged.
    with (
        pytest.raises(ValueError, match="not a Ctrl-C"),
        batch.interrupted_as(SweepInterrupted, lambda: "unused"),
    ):
        raise ValueError("not a Ctrl-C")


def test_the_start_event_carries_the_batchs_own_fields():
    events: list[dict] = []
    relay = batch.with_start_fields(events.append, models=["mlp"], repeats=2)
    assert relay is not None
    relay({"event": "start", "total": 2})
    relay({"event": "task_done", "key": "mlp seed 0"})
    assert events == [
        {"event": "start", "total": 2, "models": ["mlp"], "repeats": 2},
        {"event": "task_done", "key": "mlp seed 0"},
    ]
    assert batch.with_start_fields(None, models=["mlp"]) is None
    batch.tell(None, {"event": "start"})  # nobody listens: nothing happens
    batch.tell(events.append, {"event": "done"})
    assert events[-1] == {"event": "done"}
