"""The benchmark's errors, in one place for every module of the benchmark to raise.

They are the batch errors of `mnist_lab.scale.batch` under the benchmark's own names, so
`except BenchmarkError` catches what a benchmark raises and the CLI prints "Interrupted:" for
Ctrl-C with exit code 130, as for a sweep or a grading.
"""

from __future__ import annotations

from mnist_lab.scale.batch import BatchError, BatchInterrupted


class BenchmarkError(BatchError):
    """The models to benchmark could not be found, or the benchmark folder could not be made."""


class BenchmarkInterrupted(BenchmarkError, BatchInterrupted):
    """Ctrl-C or SIGTERM stopped a benchmark: the finished runs stay, without a leaderboard."""
