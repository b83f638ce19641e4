"""Start TensorFlow once, without the start-up chatter its C++ side writes to stderr.

TensorFlow 2.21 prints INFO lines about oneDNN, CPU instructions and missing CUDA drivers on
every start, before its logging can be configured (TF_CPP_MIN_LOG_LEVEL no longer silences
them). Students read them as errors. `start_tensorflow` captures the process's stderr while
TensorFlow imports and looks for devices, drops only lines known to be that chatter, and writes
everything else back, so a real warning or error is never hidden.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# Lines TensorFlow prints on a normal start, on a machine with or without a GPU.
STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\] "
    r"|E\d{4} [\d:. ]+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r")"
)

_started = False


def filter_startup_noise(text: str) -> str:
    """Remove TensorFlow's start-up chatter from captured stderr text, keep everything else."""
    kept = [line for line in text.splitlines(keepends=True) if not STARTUP_NOISE.match(line)]
    return "".join(kept)


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file, then replay it without the known noise."""
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(stderr_fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), stderr_fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, stderr_fd)
            os.close(saved)
            capture.seek(0)
            rest = filter_startup_noise(capture.read().decode(errors="replace"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()


def start_tensorflow() -> None:
    """Import TensorFlow and initialize its devices once per process, quietly."""
    global _started
    if _started:
        return
    _started = True
    with _filtered_stderr():
        import keras  # noqa: F401  (loads its own TensorFlow libraries)
        import tensorflow as tf

        tf.config.list_physical_devices()
