"""Train any registered model the same way: one seeded split, Keras fit, a test evaluation, a run.

The data flow is the classic project's: uint8 images are normalized to float32 in [0, 1] with a
channel axis, labels are one-hot encoded, a stratified part of the training set is held out for
validation, and the test set is touched only once, after training.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from mnist_lab import data as mnist_data
from mnist_lab import plots, preprocess, registry, runs
from mnist_lab.compiling import compile_with_recipe
from mnist_lab.errors import ConfigError
from mnist_lab.fileio import atomic_path
from mnist_lab.recipes import Augmentation, Recipe

TRAIN_SIZE = 60_000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as the run's config.json.

    `epochs` and `batch_size` left as None come from the model's recipe (`with_defaults`).
    """

    model: str
    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    validation_split: float = 0.1
    limit: int | None = None
    out: str = "runs"
    data_dir: str | None = None

    def with_defaults(self, recipe: Recipe) -> TrainConfig:
        """This config with the options left as None filled from `recipe`."""
        return replace(
            self,
            epochs=recipe.epochs if self.epochs is None else self.epochs,
            batch_size=recipe.batch_size if self.batch_size is None else self.batch_size,
        )

    def validate(self) -> None:
        """Raise ConfigError naming the first option outside its allowed range."""
        if self.epochs is not None:
            _check_int("epochs", self.epochs, minimum=1)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("seed", self.seed, minimum=0)
        if isinstance(self.validation_split, bool) or not (
            isinstance(self.validation_split, (int, float)) and 0 < self.validation_split < 1
        ):
            raise ConfigError(
                "The 'validation_split' option must be a float in (0, 1), exclusive. "
                f"Got {self.validation_split!r} instead."
            )
        if self.limit is not None and self.batch_size is not None:
            rule = f"an int >= the batch size ({self.batch_size}) and <= {TRAIN_SIZE}"
            _check_int("limit", self.limit, self.batch_size, TRAIN_SIZE, rule)


def resolve(config: TrainConfig) -> TrainConfig:
    """Check `config`, fill what it leaves to the model's recipe, and check the result.

    An unknown model or an option out of range fails here, before any data is loaded.
    """
    config.validate()
    resolved = config.with_defaults(registry.model_info(config.model).recipe)
    resolved.validate()
    return resolved


def _check_int(
    name: str, value: Any, minimum: int, maximum: int | None = None, rule: str | None = None
) -> None:
    rule = rule or f"an int >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if not ok or (maximum is not None and value > maximum):
        raise ConfigError(f"The '{name}' option must be {rule}. Got {value!r} instead.")


@dataclass(frozen=True)
class PreparedData:
    """Model-ready arrays: float32 images (N, 28, 28, 1) and one-hot float32 labels (N, 10)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare(dataset: mnist_data.MnistData, config: TrainConfig) -> PreparedData:
    """Normalize, one-hot encode and split the data as `config` says (seeded, stratified)."""
    images, labels = dataset.train
    if config.limit is not None and config.limit < len(labels):
        rng = np.random.default_rng(config.seed)
        subset = np.sort(rng.permutation(len(labels))[: config.limit])
        images, labels = images[subset], labels[subset]
    train_idx, val_idx = preprocess.stratified_split(labels, config.validation_split, config.seed)
    x, y = preprocess.normalize(images), preprocess.one_hot(labels)
    return PreparedData(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        x_test=preprocess.normalize(dataset.test.images),
        y_test=preprocess.one_hot(dataset.test.labels),
    )


def _augmented_batches(prepared: PreparedData, config: TrainConfig, augmentation: Augmentation):
    """Shuffled training batches with random rotation, shift and zoom, made on the fly."""
    import keras
    import tensorflow as tf

    layers = []
    if augmentation.rotation:
        turn = augmentation.rotation / 360  # Keras takes rotations as fractions of a full turn
        layers.append(keras.layers.RandomRotation(turn, fill_mode="constant"))
    if augmentation.shift:
        shift = augmentation.shift
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant"))
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, fill_mode="constant"))
    augment = keras.Sequential(layers)
    return (
        tf.data.Dataset.from_tensor_slices((prepared.x_train, prepared.y_train))
        .shuffle(len(prepared.x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _epoch_timer():
    """A Keras callback that records the wall-clock seconds of each epoch."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def versions() -> dict[str, str]:
    """The versions that decide whether a run can be reproduced."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def train(
    config: TrainConfig,
    *,
    dataset: mnist_data.MnistData | None = None,
    verbose: int | str = "auto",
    callbacks: Sequence[Any] = (),
) -> runs.Run:
    """Train `config.model`, evaluate it on the test set and save everything in a new run folder.

    The same seed gives the same split, the same initial weights and the same batch order.
    `verbose="auto"` shows Keras's live progress bar in a terminal and one line per epoch
    elsewhere (CI logs, files), where a live bar would print every step. Extra Keras
    `callbacks` (progress displays, for instance) are added to the fit.
    """
    import keras

    config = resolve(config)
    recipe = registry.model_info(config.model).recipe
    if dataset is None:
        dataset = mnist_data.load_mnist(config.data_dir)
    prepared = prepare(dataset, config)

    keras.utils.set_random_seed(config.seed)
    model = registry.create_model(config.model)
    steps_per_epoch = math.ceil(len(prepared.x_train) / config.batch_size)
    compile_with_recipe(model, recipe, total_steps=steps_per_epoch * config.epochs)
    run = runs.create_run(config.out, config.model)
    run.write(runs.CONFIG, {**asdict(config), "recipe": recipe.to_dict()})

    if recipe.augmentation.enabled:
        inputs: dict[str, Any] = {
            "x": _augmented_batches(prepared, config, recipe.augmentation),
            "shuffle": False,  # the dataset shuffles itself
        }
    else:
        inputs = {"x": prepared.x_train, "y": prepared.y_train, "batch_size": config.batch_size}
    timer = _epoch_timer()
    started = time.perf_counter()
    fit = model.fit(
        **inputs,
        epochs=config.epochs,
        validation_data=(prepared.x_val, prepared.y_val),
        callbacks=[timer, *callbacks],
        verbose=(1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose,
    )
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(
        prepared.x_test, prepared.y_test, batch_size=1024, verbose=0
    )[:2]

    history = [
        {
            "epoch": epoch + 1,
            "accuracy": float(fit.history["accuracy"][epoch]),
            "loss": float(fit.history["loss"][epoch]),
            "val_accuracy": float(fit.history["val_accuracy"][epoch]),
            "val_loss": float(fit.history["val_loss"][epoch]),
            "seconds": round(timer.seconds[epoch], 3),
        }
        for epoch in range(len(timer.seconds))
    ]
    run.write(runs.HISTORY, history)
    run.write(
        runs.METRICS,
        {
            "model": config.model,
            "test_accuracy": float(test_accuracy),
            "test_loss": float(test_loss),
            "train_seconds": round(train_seconds, 3),
            "seconds_per_epoch": round(train_seconds / max(len(history), 1), 3),
            "params": int(model.count_params()),
            "epochs": len(history),
            "seed": config.seed,
            "train_size": len(prepared.x_train),
            "validation_size": len(prepared.x_val),
            "test_size": len(prepared.x_test),
            "versions": versions(),
        },
    )
    with atomic_path(run.path / runs.MODEL) as tmp:
        model.save(tmp)
    epochs = f"{len(history)} epoch" + ("s" if len(history) != 1 else "")
    title = f"{config.model}: test accuracy {test_accuracy:.2%} after {epochs}"
    plots.save_figure(plots.curves_figure(history, title=title), run.path / runs.CURVES)
    return run
