"""The compile settings of the classic MNIST CNN, shared by every model that brings none."""

from __future__ import annotations

from typing import Any

LOSS = "categorical_crossentropy"
METRICS = ("accuracy",)


def compile_with_defaults(model: Any, learning_rate: float = 1e-3) -> Any:
    """Compile with Adam, categorical crossentropy and accuracy, as the classic project does."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=LOSS,
        metrics=list(METRICS),
    )
    return model


def compile_if_needed(model: Any) -> Any:
    """Leave a compiled model as its builder chose; compile an uncompiled one with the defaults."""
    return model if model.compiled else compile_with_defaults(model)
