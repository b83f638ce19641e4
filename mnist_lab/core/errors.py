"""The exceptions mnist-lab raises for things a user can fix.

The CLI prints any `MnistLabError` as one line on stderr and exits non-zero, so every message
must say what was wrong and what to do about it.
"""

from __future__ import annotations

import errno


def first_line(error: BaseException, *, with_type: bool = False) -> str:
    """The first line of an exception's message, for one-line reports of third-party errors.

    A message wrapped in quotes as a whole (KeyError's) is unwrapped; an empty one becomes the
    exception's type name.
    """
    lines = str(error).strip().splitlines()
    line = lines[0].strip() if lines else ""
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":
        line = line[1:-1]
    if not line:
        return type(error).__name__
    return f"{type(error).__name__}: {line}" if with_type else line


def describe_os_error(error: OSError) -> str:
    """A full disk, a read-only folder or a vanished file, in words with the fix."""
    what = error.strerror or first_line(error)
    where = f": {error.filename}" if error.filename else ""
    fix = "free some disk space" if error.errno == errno.ENOSPC else "check the path's permissions"
    return f"{what}{where}; {fix} and try again"


class MnistLabError(Exception):
    """Base class of every error whose message is meant for the user.

    The CLI prints it as `{prefix}: {message}` and exits with `exit_code`.
    """

    prefix = "Error"
    exit_code = 1


class DataError(MnistLabError):
    """The MNIST files could not be found, fetched, imported or verified."""


class ModelNotFoundError(MnistLabError, LookupError):
    """No registered model has the requested name."""


class DuplicateModelError(MnistLabError):
    """Two different builders were registered under one name."""


class ModelContractError(MnistLabError):
    """A registered builder returned something that is not a 28x28x1 -> 10 Keras model."""


class ConfigError(MnistLabError, ValueError):
    """A training option is out of its allowed range.

    `option` is the Python name of the option the message quotes (`'batch_size'`), so that a
    front end which spells options its own way (the CLI's `--batch-size`) can say it as its user
    types it, while Python callers read the name they passed.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option

    def naming(self, spelling: str) -> str:
        """The message with the quoted option named `spelling` instead of its Python name."""
        if self.option is None:
            return str(self)
        return str(self).replace(f"'{self.option}'", f"'{spelling}'")


class RunError(MnistLabError):
    """A run folder could not be created, read or written."""


class ImageError(MnistLabError):
    """A picture given to `predict` could not be read or holds no digit."""


class TrainingInterrupted(RunError):
    """Ctrl-C or SIGTERM stopped a training; its run folder keeps the last completed epoch."""

    prefix = "Interrupted"
    exit_code = 130  # 128 + SIGINT, what shells expect of a program stopped by Ctrl-C

    def __init__(self, run_path: str, epochs_done: int, epochs: int) -> None:
        self.run_path, self.epochs_done, self.epochs = run_path, epochs_done, epochs
        kept = f"epoch {epochs_done}'s checkpoint" if epochs_done else "its config"
        super().__init__(
            f"training stopped after {epochs_done} of {epochs} epochs; {run_path} keeps "
            f"{kept}. Resume with: mnist-lab train --resume {run_path}"
        )
