"""How a model likes to be trained: epochs, batch size, optimizer, schedule, augmentation.

Each registered model carries a Recipe; `mnist-lab train NAME` follows it unless an option
overrides it. Pure data, no TensorFlow: listings and the CLI read recipes without building models.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from mnist_lab.core import precision as precisions
from mnist_lab.core.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
DEFAULT_LEARNING_RATE = 1e-3  # the classic project's Adam
DEFAULT_BETA_1, DEFAULT_BETA_2 = 0.9, 0.999  # Keras's Adam


@dataclass(frozen=True)
class Augmentation:
    """Random changes to training images (never to validation or test images).

    rotation is in degrees, shift and zoom are fractions of the image size, elastic is how far
    a smooth random distortion moves each pixel (root mean square, in pixels; Simard et al.'s
    elastic distortions). All of them are made in one resampling (see `warp`).
    """

    rotation: float = 0.0
    shift: float = 0.0
    zoom: float = 0.0
    elastic: float = 0.0

    def __post_init__(self) -> None:
        limits = {"rotation": 180.0, "shift": 1.0, "zoom": 1.0, "elastic": 5.0}
        for name, limit in limits.items():
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < limit:
                raise ConfigError(
                    f"The recipe's 'augmentation.{name}' must be a number in [0, {limit:g}). "
                    f"Got {value!r}."
                )

    @property
    def enabled(self) -> bool:
        return bool(self.rotation or self.shift or self.zoom or self.elastic)


@dataclass(frozen=True)
class Recipe:
    """Training defaults of one model.

    A recipe that sets nothing about the optimization (no optimizer, the default learning rate,
    no weight decay, a constant schedule, no label smoothing) keeps the model's own compile
    settings (or, for an uncompiled model, the classic Adam at 1e-3); setting any of them
    compiles the model from the recipe, with Adam when `optimizer` is None. With
    `schedule="cosine"` the learning rate warms up linearly from a tenth of `learning_rate` for
    `warmup` of the steps, then follows a cosine down to zero: a one-cycle shape, the schedule
    of the zoo's `fast` and `best`. `clean_epochs` lets the last epochs of an augmented recipe
    train on the digits as they are, so that the network ends on images like those it is
    validated and tested on. `precise_batch_norm` re-estimates the batch-norm statistics on
    training images after the last epoch (see `precise_bn`).
    `ema_momentum` above 0 keeps an exponential moving average of the weights during training
    (each step: average = momentum * average + (1 - momentum) * weights) and ends with it in
    place of the last weights; 0.999 averages over about the last thousand steps.
    `beta_1` and `beta_2` are Adam's (and AdamW's) decay rates of its running means of the
    gradient and of its square; lower ones, such as (0.7, 0.9), let it follow a short
    one-cycle schedule in one or two epochs. SGD has no such rates.
    `precision` is "float32", "bfloat16" (Keras's mixed policy) or "auto": bfloat16 only where
    the hardware is fast at it (see `precision`).
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
    clean_epochs: int = 0
    precise_batch_norm: bool = False
    ema_momentum: float = 0.0
    beta_1: float = DEFAULT_BETA_1
    beta_2: float = DEFAULT_BETA_2
    precision: str = precisions.FLOAT32

    def __post_init__(self) -> None:
        precisions.check(self.precision)
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
        if not _is_number(self.ema_momentum) or not 0 <= self.ema_momentum < 1:
            raise ConfigError(
                f"The recipe's 'ema_momentum' must be in [0, 1) (0: no average). "
                f"Got {self.ema_momentum!r}."
            )
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                raise ConfigError(f"The recipe's '{name}' must be in [0, 1). Got {value!r}.")
        if self.optimizer == "sgd" and self.betas != (DEFAULT_BETA_1, DEFAULT_BETA_2):
            raise ConfigError(
                "The recipe's 'beta_1' and 'beta_2' are Adam's and AdamW's; SGD has none. "
                "Leave them at 0.9 and 0.999, or choose optimizer 'adam'."
            )
        if (
            not isinstance(self.clean_epochs, int)
            or isinstance(self.clean_epochs, bool)
            or self.clean_epochs < 0
        ):
            raise ConfigError(
                "The recipe's 'clean_epochs' must be a whole number of epochs >= 0. "
                f"Got {self.clean_epochs!r}."
            )
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
            or self.ema_momentum > 0
            or self.betas != (DEFAULT_BETA_1, DEFAULT_BETA_2)
        )

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta_1, self.beta_2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: dict[str, Any] | None) -> Recipe:
        """This recipe with some fields changed, e.g. {"learning_rate": 0.01, "rotation": 10}.

        Augmentation strengths are named plainly (`rotation`) or in full (`augmentation.rotation`).
        An unknown field or a value of the wrong type raises ConfigError listing the fields; a
        value out of range raises the recipe's own ConfigError.
        """
        if not overrides:
            return self
        top: dict[str, Any] = {}
        augmentation: dict[str, Any] = {}
        for name, value in overrides.items():
            field_name = canonical_field(name)
            check_field_value(field_name, value)
            if field_name.startswith("augmentation."):
                augmentation[field_name.removeprefix("augmentation.")] = value
            else:
                top[field_name] = value
        if augmentation:
            top["augmentation"] = replace(self.augmentation, **augmentation)
        return replace(self, **top)

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
            clean = f" (the last {self.clean_epochs} epochs not)" if self.clean_epochs else ""
            parts.append(f"augmented{clean}")
        if self.precise_batch_norm:
            parts.append("precise BN")
        if self.betas != (DEFAULT_BETA_1, DEFAULT_BETA_2):
            parts.append(f"betas ({self.beta_1:g}, {self.beta_2:g})")
        if self.ema_momentum:
            parts.append(f"weights averaged ({self.ema_momentum:g})")
        if self.precision != precisions.FLOAT32:
            parts.append(f"precision {self.precision}")
        return ", ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def recipe_fields() -> dict[str, str]:
    """Every recipe field a sweep or an override may set, with its kind: "int", "float",
    "bool" or "choice" (a string of a few choices, or None for optimizer)."""
    kinds: dict[str, str] = {}
    for item in fields(Recipe):
        if item.name == "augmentation":
            for sub in fields(Augmentation):
                kinds[f"augmentation.{sub.name}"] = "float"
        elif item.name in ("optimizer", "schedule", "precision"):
            kinds[item.name] = "choice"
        else:
            kinds[item.name] = {"int": "int", "float": "float", "bool": "bool"}[str(item.type)]
    return kinds


def choices_of(name: str) -> tuple[str | None, ...]:
    """The allowed values of a "choice" field."""
    return {
        "optimizer": (None, *OPTIMIZERS),
        "schedule": SCHEDULES,
        "precision": precisions.PRECISIONS,
    }[name]


def canonical_field(name: str) -> str:
    """The full name of a recipe field (`rotation` is `augmentation.rotation`), or ConfigError
    listing the fields and suggesting the closest."""
    known = recipe_fields()
    if name in known:
        return name
    if f"augmentation.{name}" in known:
        return f"augmentation.{name}"
    short = [key.removeprefix("augmentation.") for key in known]
    close = difflib.get_close_matches(name, [*known, *short], n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(
        f"'{name}' is not a recipe field.{hint} The fields are: {', '.join(known)}.",
        option=name,
    )


def check_field_value(name: str, value: Any) -> None:
    """Raise ConfigError when `value` has the wrong type for the recipe field `name`."""
    kind = recipe_fields()[name]
    if kind == "choice":
        ok = value in choices_of(name)
        rule = "one of " + ", ".join(str(choice) for choice in choices_of(name))
    elif kind == "int":
        ok, rule = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif kind == "float":
        ok, rule = _is_number(value), "a number"
    else:
        ok, rule = isinstance(value, bool), "true or false"
    if not ok:
        raise ConfigError(
            f"The recipe field '{name}' must be {rule}. Got {value!r} instead.", option=name
        )
