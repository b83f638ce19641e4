"""How a model likes to be trained: epochs, batch size, optimizer, schedule, augmentation.

Each registered model carries a Recipe; `mnist-lab train NAME` follows it unless an option
overrides it. Pure data, no TensorFlow: listings and the CLI read recipes without building models.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mnist_lab.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
DEFAULT_LEARNING_RATE = 1e-3  # the classic project's Adam


@dataclass(frozen=True)
class Augmentation:
    """Random changes to training images (never to validation or test images).

    rotation is in degrees, shift and zoom are fractions of the image size.
    """

    rotation: float = 0.0
    shift: float = 0.0
    zoom: float = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.rotation or self.shift or self.zoom)


@dataclass(frozen=True)
class Recipe:
    """Training defaults of one model.

    A recipe that sets nothing about the optimization (no optimizer, the default learning rate,
    no weight decay, a constant schedule, no label smoothing) keeps the model's own compile
    settings (or, for an uncompiled model, the classic Adam at 1e-3); setting any of them
    compiles the model from the recipe, with Adam when `optimizer` is None. With
    `schedule="cosine"` the learning rate warms up linearly from a tenth of `learning_rate` for
    `warmup` of the steps, then follows a cosine down to zero: the one-cycle shape that trains
    small nets fastest. `precise_batch_norm` re-estimates the
    batch-norm statistics on training images after the last epoch (see `precise_bn`).
    """

    epochs: int = 5
    batch_size: int = 128
    optimizer: str | None = None
    learning_rate: float = DEFAULT_LEARNING_RATE
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup: float = 0.0
    label_smoothing: float = 0.0
    augmentation: Augmentation = field(default_factory=Augmentation)
    precise_batch_norm: bool = False

    def __post_init__(self) -> None:
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"The recipe's 'optimizer' must be one of {', '.join(OPTIMIZERS)} or None. "
                f"Got {self.optimizer!r} instead."
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"The recipe's 'schedule' must be one of {', '.join(SCHEDULES)}. "
                f"Got {self.schedule!r} instead."
            )
        if not _is_number(self.learning_rate) or not 0 < self.learning_rate < math.inf:
            raise ConfigError(
                f"The recipe's 'learning_rate' must be a number > 0. Got {self.learning_rate!r}."
            )
        if not _is_number(self.weight_decay) or not 0 <= self.weight_decay < math.inf:
            raise ConfigError(
                f"The recipe's 'weight_decay' must be a number >= 0. Got {self.weight_decay!r}."
            )
        if not 0 <= self.warmup < 1:
            raise ConfigError(f"The recipe's 'warmup' must be in [0, 1). Got {self.warmup!r}.")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(
                f"The recipe's 'label_smoothing' must be in [0, 1). Got {self.label_smoothing!r}."
            )

    @property
    def compiles(self) -> bool:
        """Whether training compiles the model from this recipe (rather than keeping its own)."""
        return (
            self.optimizer is not None
            or self.learning_rate != DEFAULT_LEARNING_RATE
            or self.weight_decay > 0
            or self.schedule != "constant"
            or self.label_smoothing > 0
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One short line for listings, e.g. '5 epochs, batch 128, adam 1e-3 cosine, augmented'."""
        parts = [f"{self.epochs} epochs", f"batch {self.batch_size}"]
        optimizer = f"{self.optimizer or 'adam'} {self.learning_rate:g}"
        if self.schedule != "constant":
            optimizer += f" {self.schedule}"
        parts.append(optimizer)
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g}")
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.augmentation.enabled:
            parts.append("augmented")
        if self.precise_batch_norm:
            parts.append("precise BN")
        return ", ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
