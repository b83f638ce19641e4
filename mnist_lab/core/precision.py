"""The number format a training computes in: float32, or bfloat16 where the hardware is fast at it.

Under Keras's "mixed_bfloat16" policy each layer computes in bfloat16 (8 bits of mantissa, the
range of float32) and keeps its weights in float32, so the optimizer's small updates are not
lost. It pays only on hardware built for it: on Intel CPUs with AMX the reference was reported
to train in about two thirds of its float32 time at the same accuracy, while on an AMD EPYC
without AMX bfloat16 was slower than float32. So a recipe may ask for "auto": bfloat16 on a CPU
with the `amx_bf16` flag or a GPU of compute capability 8.0 or more (Ampere and later), float32
elsewhere. The run records what it used (`precision` in metrics.json).

A model trained in bfloat16 must end in a float32 layer (`Dense(10, activation="softmax",
dtype="float32")`): a softmax rounded to 8 bits of mantissa cannot tell 0.999 from 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mnist_lab.core import hardware
from mnist_lab.core.errors import ConfigError

FLOAT32, BFLOAT16, AUTO = "float32", "bfloat16", "auto"
PRECISIONS = (FLOAT32, BFLOAT16, AUTO)


def check(precision: str) -> None:
    """Raise ConfigError unless `precision` is one a recipe may ask for."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"The recipe's 'precision' must be one of {', '.join(PRECISIONS)}. "
            f"Got {precision!r} instead."
        )


def resolve(precision: str) -> str:
    """What a training computes in: `precision` itself, or for "auto" what this machine is fast
    at (bfloat16 on a GPU that has it or a CPU with AMX, float32 elsewhere; see `hardware`)."""
    check(precision)
    if precision != AUTO:
        return precision
    fast = hardware.gpus_support_bfloat16() or hardware.cpu_has_amx_bf16()
    return BFLOAT16 if fast else FLOAT32


def keras_policy(precision: str) -> str:
    """The Keras dtype policy of a resolved precision."""
    return "mixed_bfloat16" if precision == BFLOAT16 else "float32"


@contextlib.contextmanager
def policy(precision: str) -> Iterator[None]:
    """Build layers under the policy of `precision` (layers keep the policy they were built
    with); the process-wide policy is restored afterwards, whatever happens."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(keras_policy(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_output(model: Any, name: str, precision: str) -> None:
    """Raise ConfigError when a bfloat16 model's output is not float32, saying how to fix it."""
    if precision != BFLOAT16:
        return
    dtype = str(getattr(model.outputs[0], "dtype", "float32")) if model.outputs else "float32"
    if "float32" not in dtype:
        raise ConfigError(
            f"Model '{name}' trains in bfloat16 but its output is {dtype}: give its last layer "
            "dtype='float32' (e.g. layers.Dense(10, activation='softmax', dtype='float32'))."
        )
