"""The sweep's errors: the batch errors of `mnist_lab.scale.batch` under the sweep's own names.

`except SweepError` catches what a sweep raises, and the CLI prints "Interrupted:" for Ctrl-C
with exit code 130, as for a benchmark or a grading.
"""

from __future__ import annotations

from mnist_lab.scale.batch import BatchError, BatchInterrupted


class SweepError(BatchError):
    """A sweep could not run: every one of its runs failed."""


class SweepInterrupted(SweepError, BatchInterrupted):
    """Ctrl-C or SIGTERM stopped a sweep: the finished runs stay, without sweep.md."""
