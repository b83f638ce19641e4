"""The grading's errors: the batch errors of `mnist_lab.scale.batch` under the grading's names.

`except GradingError` catches what a grading raises, and the CLI prints "Interrupted:" for
Ctrl-C with exit code 130, as for a benchmark or a sweep.
"""

from __future__ import annotations

from mnist_lab.scale.batch import BatchError, BatchInterrupted


class GradingError(BatchError):
    """The submissions or the grading options cannot be used."""


class GradingInterrupted(GradingError, BatchInterrupted):
    """Ctrl-C stopped the grading: the students already graded stay, `--resume` goes on."""
