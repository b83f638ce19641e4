"""The model a run trains: where its variables live (one device, or mirrored on several), and
its seeded initial weights in the precision the recipe resolves to.

The seed alone decides the initial weights: Keras's default seeds are drawn from a generator of
our own while the model is built (`keras_internals.private_default_seeds`), not from Python's
global `random`, which other threads of the process (a Dask worker's event loop) draw from too.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mnist_lab.core import keras_internals
from mnist_lab.core import precision as precisions
from mnist_lab.models import registry
from mnist_lab.training import devices
from mnist_lab.training.config import TrainConfig


def strategy_for(config: TrainConfig) -> Any | None:
    """The MirroredStrategy of a run on several devices; None on one device, as before.

    It is made before any data is loaded or model built, since a CPU can only be split into
    logical devices before TensorFlow's runtime starts.
    """
    if config.devices is None or config.devices == 1:
        return None
    return devices.mirrored(devices.place(config.devices))


def strategy_scope(strategy: Any | None) -> contextlib.AbstractContextManager[Any]:
    """Where variables are made: mirrored on every device under a strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def build_model(config: TrainConfig, precision: str) -> Any:
    """The model with its seeded initial weights (a resumed run then loads its checkpoint), its
    layers computing in `precision` (a resolved one: float32 or bfloat16)."""
    import keras

    keras.utils.set_random_seed(config.seed)
    with keras_internals.private_default_seeds(config.seed), precisions.policy(precision):
        model = registry.create_model(config.model)
    precisions.check_output(model, config.model, precision)
    return model
