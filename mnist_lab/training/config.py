"""What decides a training run: its options, their allowed ranges, and what the recipe fills in.

A config is checked twice: as given (an unknown model or an option out of range fails before any
data is loaded), and once the model's recipe has filled the options left as None, since some
ranges depend on them (`--limit` must hold a batch; several devices must each get images).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mnist_lab.core.errors import ConfigError
from mnist_lab.models import registry
from mnist_lab.models.recipes import Recipe

TRAIN_SIZE = 60_000
# Below this size a run keeps every epoch's weights by default (the reference's are 2.7 MB each),
# so the lab can show its filters forming epoch by epoch.
KEEP_EPOCHS_MAX_PARAMS = 2_000_000
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as the run's config.json.

    `epochs` and `batch_size` left as None come from the model's recipe (`with_defaults`), with
    `overrides` applied (see `effective_recipe`). `batch_size` is per device: with `devices`
    above 1 the run trains under a MirroredStrategy on batches of `batch_size * devices`.
    """

    model: str
    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    validation_split: float = 0.1
    limit: int | None = None
    out: str = "runs"
    data_dir: str | None = None
    keep_epochs: bool | None = None  # None: keep them for models under KEEP_EPOCHS_MAX_PARAMS
    # Recipe fields changed for this run only, e.g. {"learning_rate": 0.01} (a sweep's point).
    overrides: dict[str, Any] | None = None
    # None or 1: one device, no strategy; N: N GPUs, or N logical CPU devices (see devices.py).
    devices: int | None = None

    def with_defaults(self, recipe: Recipe) -> TrainConfig:
        """This config with the options left as None filled from `recipe`."""
        return replace(
            self,
            epochs=recipe.epochs if self.epochs is None else self.epochs,
            batch_size=recipe.batch_size if self.batch_size is None else self.batch_size,
        )

    def with_keep_epochs_for(self, params: int) -> TrainConfig:
        """This config with `keep_epochs` left as None decided by the model's size: a model of
        `params` weights keeps every epoch's below KEEP_EPOCHS_MAX_PARAMS."""
        if self.keep_epochs is not None:
            return self
        return replace(self, keep_epochs=params < KEEP_EPOCHS_MAX_PARAMS)

    def validate(self) -> None:
        """Raise ConfigError naming the first option outside its allowed range."""
        if self.epochs is not None:
            _check_int("epochs", self.epochs, minimum=1)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, minimum=1, maximum=TRAIN_SIZE)
        _check_int("seed", self.seed, minimum=0, maximum=MAX_SEED)  # NumPy's and Keras's range
        if self.devices is not None:
            _check_int("devices", self.devices, minimum=1)
        if isinstance(self.validation_split, bool) or not (
            isinstance(self.validation_split, (int, float)) and 0 < self.validation_split < 1
        ):
            raise ConfigError(
                "The 'validation_split' option must be a float in (0, 1), exclusive. "
                f"Got {self.validation_split!r} instead.",
                option="validation_split",
            )
        if self.limit is not None and self.batch_size is not None:
            rule = f"an int >= the batch size ({self.batch_size}) and <= {TRAIN_SIZE}"
            _check_int("limit", self.limit, self.batch_size, TRAIN_SIZE, rule)
        if self.limit is not None and self.batch_size is None:
            return  # checked again once the recipe gives the batch size that bounds --limit
        images = self.limit if self.limit is not None else TRAIN_SIZE
        held_out = round(self.validation_split * images)  # as preprocess.stratified_split does
        if not 0 < held_out < images:
            which = "no image for validation" if held_out == 0 else "no image for training"
            raise ConfigError(
                f"The 'validation_split' option leaves {which} out of {images:,} images; "
                f"choose a split nearer 0.1. Got {self.validation_split!r} instead.",
                option="validation_split",
            )
        if self.devices is not None and self.devices > 1 and self.batch_size is not None:
            self._check_batches_fill_the_devices(images - held_out)

    def _check_batches_fill_the_devices(self, train_images: int) -> None:
        """Every device needs images from every batch (see `batches.even_batch`): the training
        images must fill one global batch, and the last batch of an epoch must reach every
        device."""
        assert self.devices is not None and self.batch_size is not None
        per_step = self.batch_size * self.devices
        last = train_images % per_step
        if train_images < per_step:
            problem = (
                f"needs one global batch of {per_step:,} training images ({self.devices} devices "
                f"of {self.batch_size}), but {train_images:,} are left for training; give fewer "
                "devices or more images"
            )
        elif 0 < last < self.devices:
            problem = (
                f"splits the last batch of each epoch ({last} of the {train_images:,} training "
                f"images) across {self.devices} devices, leaving a device without an image; "
                "train on a few more or fewer images"
            )
        else:
            return
        raise ConfigError(
            f"The 'devices' option {problem}. Got {self.devices!r} instead.", option="devices"
        )


def resolve(config: TrainConfig) -> TrainConfig:
    """Check `config`, fill what it leaves to the model's recipe, and check the result.

    An unknown model or an option out of range fails here, before any data is loaded.
    """
    config.validate()
    resolved = config.with_defaults(effective_recipe(config))
    resolved.validate()
    return resolved


def effective_recipe(config: TrainConfig) -> Recipe:
    """The model's recipe with the config's overrides applied: what the run trains with."""
    return registry.model_info(config.model).recipe.with_overrides(config.overrides)


def _check_int(
    name: str, value: Any, minimum: int, maximum: int | None = None, rule: str | None = None
) -> None:
    rule = rule or f"an int >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if not ok or (maximum is not None and value > maximum):
        message = f"The '{name}' option must be {rule}. Got {value!r} instead."
        raise ConfigError(message, option=name)
