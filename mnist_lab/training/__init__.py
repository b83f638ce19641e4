"""Train any registered model the same way: one seeded split, Keras fit, a test evaluation, a run.

The data flow is the classic project's: uint8 images are normalized to float32 in [0, 1] with a
channel axis, labels are one-hot encoded, a stratified part of the training set is held out for
validation, and the test set is touched only once, after training.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from mnist_lab import data as mnist_data
from mnist_lab.core import precision as precisions
from mnist_lab.core import runs
from mnist_lab.core.errors import (
    ConfigError,
    RunError,
    TrainingInterrupted,
    describe_os_error,
    first_line,
)
from mnist_lab.core.fileio import atomic_path
from mnist_lab.data import preprocess
from mnist_lab.evaluation import plots
from mnist_lab.models import registry
from mnist_lab.models.compiling import build_training_state, compile_with_recipe
from mnist_lab.models.recipes import Augmentation, Recipe
from mnist_lab.training import devices as mnist_devices
from mnist_lab.training import interrupts, precise_bn

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
        """Every device needs images from every batch (see `_even_batch`): the training images
        must fill one global batch, and the last batch of an epoch must reach every device."""
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


def _augmented_batches(
    prepared: PreparedData,
    config: TrainConfig,
    augmentation: Augmentation,
    batch_size: int | None = None,
    clean_epochs: int = 0,
) -> tuple[Any, list[Any]]:
    """Shuffled training batches, each image warped its own way on the fly (see `warp`), and
    the callbacks the fit needs with them.

    `batch_size` is the global batch under a strategy (default: the config's). With
    `clean_epochs`, a callback stops the warping for the last that many epochs: the dataset
    reads a switch that the callback sets before each epoch's batches are drawn.
    """
    import tensorflow as tf

    from mnist_lab.training.warp import make_warp_layer

    augment = make_warp_layer(
        rotation=augmentation.rotation,
        shift=augmentation.shift,
        zoom=augmentation.zoom,
        elastic=augmentation.elastic,
    )
    warping = tf.Variable(True, trainable=False, name="warping")

    def warp(x, y):
        return tf.cond(warping, lambda: augment(x, training=True), lambda: x), y

    batches = (
        tf.data.Dataset.from_tensor_slices((prepared.x_train, prepared.y_train))
        .shuffle(len(prepared.x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch_size or config.batch_size)
        .map(warp, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if not clean_epochs:
        return batches, []
    return batches, [_warping_switch(warping, first_clean=config.epochs - clean_epochs)]


def _warping_switch(warping: Any, first_clean: int):
    """A Keras callback that turns `warping` off from epoch `first_clean` (counted from 0) on.

    It sets the switch at every epoch's start, a resumed run's first epoch included, and Keras
    draws an epoch's first batch only after that.
    """
    import keras

    class WarpingSwitch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None) -> None:
            warping.assign(epoch < first_clean)

    return WarpingSwitch()


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


def _history_row(epoch: int, logs: dict[str, Any], seconds: float) -> dict[str, float]:
    return {
        "epoch": epoch + 1,
        "accuracy": float(logs["accuracy"]),
        "loss": float(logs["loss"]),
        "val_accuracy": float(logs["val_accuracy"]),
        "val_loss": float(logs["val_loss"]),
        "seconds": round(seconds, 3),
    }


def _run_recorder(
    run: runs.Run, history: list[dict[str, float]], epochs: int, *, keep_epochs: bool = False
):
    """A Keras callback that keeps the run folder resumable after every epoch.

    At each epoch's end it saves Keras's own BackupAndRestore checkpoint (weights, optimizer
    state and epoch, with the previous one kept in case the newest is damaged), appends the
    epoch to history.json and records the state, all inside `interrupts.saving()` so Ctrl-C
    never leaves them half-written or out of step. On a resumed run, Keras restores the
    checkpoint when the fit begins (the previous one if the newest is damaged) and continues
    from the next epoch; the history is trimmed to the restored epoch, since a failed write
    (a full disk) can leave it one epoch ahead. An epoch's seconds include its checkpoint.
    With `keep_epochs`, each epoch's weights are also kept in the run's epochs/ folder.
    """
    import keras

    class RunRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.backup = keras.callbacks.BackupAndRestore(
                str(run.path / runs.CHECKPOINT), double_checkpoint=True, delete_checkpoint=False
            )

        def set_model(self, model) -> None:
            super().set_model(model)
            self.backup.set_model(model)

        def on_train_begin(self, logs=None) -> None:
            self.backup.on_train_begin(logs)  # restores the checkpoint, or the one before it
            del history[run.checkpoint_epoch :]  # epochs after it are trained again

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            with interrupts.saving():
                row = _history_row(epoch, logs or {}, time.perf_counter() - self.started)
                run.write(runs.HISTORY, [*history, row])
                history.append(row)
                self.backup.on_epoch_end(epoch, logs)
                if keep_epochs:
                    _save_epoch_weights(self.model, run, epoch + 1)
                run.set_state(runs.RUNNING, len(history), epochs)

    return RunRecorder()


def _save_epoch_weights(model: Any, run: runs.Run, epoch: int) -> None:
    """Keep one epoch's weights, written under a temporary name and renamed into place."""
    folder = run.path / runs.EPOCHS_DIR
    target = folder / runs.epoch_weights_name(epoch)
    partial = folder / f".partial-{target.name}"  # Keras wants the .weights.h5 ending
    try:
        folder.mkdir(exist_ok=True)
        model.save_weights(partial)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RunError(
            f"Cannot keep the weights of epoch {epoch} in {folder} ({error.strerror or error}); "
            "free some disk space, or train with --no-keep-epochs."
        ) from None


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

    Ctrl-C or SIGTERM stops within a step and raises TrainingInterrupted; the run folder then
    keeps the last completed epoch, and `resume` continues it.
    """
    config = resolve(config)
    recipe = effective_recipe(config)
    strategy = _strategy(config)
    if dataset is None:
        dataset = mnist_data.load_mnist(config.data_dir)
    prepared = prepare(dataset, config)
    compute = precisions.resolve(recipe.precision)
    with _scope(strategy):
        # A model that breaks the contract fails here, before a run folder is made.
        model = _build(config, compute)
    if config.keep_epochs is None:
        config = replace(config, keep_epochs=model.count_params() < KEEP_EPOCHS_MAX_PARAMS)
    run = runs.create_run(config.out, config.model)
    run.write(runs.CONFIG, {**asdict(config), "recipe": recipe.to_dict()})
    run.set_state(runs.RUNNING, 0, config.epochs)
    return _fit(
        run,
        config,
        recipe,
        prepared,
        model,
        [],
        strategy,
        precision=compute,
        verbose=verbose,
        callbacks=callbacks,
    )


def _strategy(config: TrainConfig) -> Any | None:
    """The MirroredStrategy of a run on several devices; None on one device, as before.

    It is made before any data is loaded or model built, since a CPU can only be split into
    logical devices before TensorFlow's runtime starts.
    """
    if config.devices is None or config.devices == 1:
        return None
    return mnist_devices.mirrored(mnist_devices.place(config.devices))


def _scope(strategy: Any | None) -> contextlib.AbstractContextManager[Any]:
    """Where variables are made: mirrored on every device under a strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _build(config: TrainConfig, precision: str) -> Any:
    """The model with its seeded initial weights (a resumed run then loads its checkpoint), its
    layers computing in `precision` (a resolved one: float32 or bfloat16)."""
    import keras

    keras.utils.set_random_seed(config.seed)
    with _private_default_seeds(config.seed), precisions.policy(precision):
        model = registry.create_model(config.model)
    precisions.check_output(model, config.model, precision)
    return model


@contextlib.contextmanager
def _private_default_seeds(seed: int) -> Any:
    """Draw the seeds of layers and initializers made without one from a generator of our own.

    Keras draws them from Python's global `random`, which other threads of the process may draw
    from meanwhile (a Dask worker's event loop does, in its connection retries), so the same
    seed could start a worker's run from other weights than an in-process one. The generator
    gives the draws `random.seed(seed)` gives, so undisturbed runs keep their weights."""
    import random

    from keras.src.random import seed_generator as module

    shared = getattr(module, "python_random", None)
    if shared is not random:  # another Keras: leave it as it is
        yield
        return
    module.python_random = random.Random(seed)
    try:
        yield
    finally:
        module.python_random = shared


def resume(
    path: str | Path,
    *,
    dataset: mnist_data.MnistData | None = None,
    data_dir: str | None = None,
    verbose: int | str = "auto",
    callbacks: Sequence[Any] = (),
) -> runs.Run:
    """Continue an interrupted or failed run from its last completed epoch, in its own folder.

    The run's saved config (model, epochs, batch size, seed, split, devices) is used as it is;
    the new epochs are appended to its history. A completed run is returned unchanged.
    """
    run = runs.open_run(path)
    if run.state["state"] == runs.COMPLETED:
        return run
    saved = run.config
    names = {field.name for field in fields(TrainConfig)}
    config = TrainConfig(**{key: value for key, value in saved.items() if key in names})
    if data_dir is not None:
        config = replace(config, data_dir=data_dir)
    config = resolve(config)
    recipe = effective_recipe(config)
    if saved.get("recipe", recipe.to_dict()) != recipe.to_dict():
        raise RunError(
            f"The training recipe of '{config.model}' changed since {run.path} started, so "
            "its checkpoint cannot be continued; train a new run with "
            f"'mnist-lab train {config.model}'."
        )
    history = run.history if (run.path / runs.HISTORY).is_file() else []
    strategy = _strategy(config)
    if dataset is None:
        dataset = mnist_data.load_mnist(config.data_dir)
    prepared = prepare(dataset, config)
    compute = precisions.resolve(recipe.precision)
    with _scope(strategy):
        model = _build(config, compute)
    return _fit(
        run,
        config,
        recipe,
        prepared,
        model,
        history,
        strategy,
        precision=compute,
        verbose=verbose,
        callbacks=callbacks,
    )


def _fit(
    run: runs.Run,
    config: TrainConfig,
    recipe: Recipe,
    prepared: PreparedData,
    model: Any,
    history: list[dict[str, float]],
    strategy: Any | None,
    *,
    precision: str,
    verbose: int | str,
    callbacks: Sequence[Any],
) -> runs.Run:
    """Fit (from the run's checkpoint, if it has one), evaluate, and complete the run folder.

    `precision` is what the model's layers compute in (resolved from the recipe's), recorded in
    the run's metrics.

    Under a `strategy` each step takes one per-device batch on every replica: a global batch of
    `batch_size` times the replicas, which the step count and the learning rate schedule follow.
    """
    try:
        lock = FileLock(run.path / ".lock", timeout=0)
        lock.acquire()
    except Timeout:
        raise RunError(
            f"{run.path} is being trained by another mnist-lab process; wait for it to finish."
        ) from None
    completed = False
    try:
        with interrupts.stop_signals():
            replicas = strategy.num_replicas_in_sync if strategy is not None else 1
            batch_size = config.batch_size * replicas
            steps_per_epoch = math.ceil(len(prepared.x_train) / batch_size)
            with _scope(strategy):
                compile_with_recipe(model, recipe, total_steps=steps_per_epoch * config.epochs)
            if strategy is None:  # (Keras does this itself under a strategy)
                build_training_state(model, prepared.x_train, prepared.y_train)
            switches: list[Any] = []
            if recipe.augmentation.enabled:
                batches, switches = _augmented_batches(
                    prepared, config, recipe.augmentation, batch_size, recipe.clean_epochs
                )
                inputs: dict[str, Any] = {"x": batches, "shuffle": False}  # it shuffles itself
            else:
                inputs = {"x": prepared.x_train, "y": prepared.y_train, "batch_size": batch_size}
            model.fit(
                **inputs,
                epochs=config.epochs,
                validation_data=(prepared.x_val, prepared.y_val),
                validation_batch_size=_even_batch(len(prepared.x_val), batch_size, replicas),
                callbacks=[
                    _run_recorder(
                        run, history, config.epochs, keep_epochs=bool(config.keep_epochs)
                    ),
                    *switches,
                    *callbacks,
                ],
                verbose=(1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose,
            )
            # The final model on validation (what choices are made on): the last epoch's
            # figures, unless averaged weights (put in place when fit ends) or a precise-BN
            # pass changed the model after it.
            val_loss, val_accuracy = history[-1]["val_loss"], history[-1]["val_accuracy"]
            started = time.perf_counter()
            if recipe.precise_batch_norm:
                precise_bn.recalibrate(model, prepared.x_train, seed=config.seed)
            batch_norm_seconds = time.perf_counter() - started
            if recipe.precise_batch_norm or recipe.ema_momentum:
                val_loss, val_accuracy = model.evaluate(
                    prepared.x_val,
                    prepared.y_val,
                    batch_size=_even_batch(len(prepared.x_val), 1024, replicas),
                    verbose=0,
                )[:2]
            placement: dict[str, Any] = {
                "replicas": replicas,
                "global_batch_size": batch_size,
                "precision": precision,
            }
            if strategy is not None:
                placement["devices"] = mnist_devices.device_names(strategy)
            # Then the test set, once: nothing after this line changes the model it scored.
            test_loss, test_accuracy = model.evaluate(
                prepared.x_test,
                prepared.y_test,
                batch_size=_even_batch(len(prepared.x_test), 1024, replicas),
                verbose=0,
            )[:2]
            with interrupts.saving():
                _complete(
                    run,
                    config,
                    prepared,
                    model,
                    history,
                    {
                        "val_loss": val_loss,
                        "val_accuracy": val_accuracy,
                        "test_loss": test_loss,
                        "test_accuracy": test_accuracy,
                    },
                    batch_norm_seconds,
                    placement,
                )
                completed = True
    except KeyboardInterrupt:
        if completed:  # the stop came while the finished run was being saved: it is complete
            return run
        done = _stop(run, config, history, runs.INTERRUPTED)
        raise TrainingInterrupted(str(run.path), done, config.epochs) from None
    except BaseException as error:
        done = _stop(run, config, history, runs.FAILED, error=first_line(error, with_type=True))
        if isinstance(error, (OSError, RunError)):  # a full disk, typically: say how to go on
            cause = describe_os_error(error) if isinstance(error, OSError) else str(error)
            raise RunError(
                f"Training stopped after {done} of {config.epochs} epochs: "
                f"{cause.rstrip('.')}. Once fixed, resume with: mnist-lab train --resume {run.path}"
            ) from None
        raise
    finally:
        lock.release()
        (run.path / ".lock").unlink(missing_ok=True)  # no clutter in the student's run folder
    return run


def _even_batch(images: int, batch_size: int, replicas: int) -> int:
    """`batch_size` or a little less, so that every replica gets images from every batch.

    Keras 3's TensorFlow trainer averages the first batch of each fit and evaluate across the
    replicas, which fails when they hold different numbers of images (keras-team/keras#19246),
    and a replica left with no image fails in batch normalization; so the batch is a multiple
    of the replicas and the last one holds none or at least one image per replica. On one
    device this is `batch_size` itself.
    """
    size = min(images, batch_size)
    size -= size % replicas
    while size > replicas and 0 < images % size < replicas:
        size -= replicas
    return max(size, replicas)


def _stop(
    run: runs.Run, config: TrainConfig, history: list[dict[str, float]], state: str, **extra: Any
) -> int:
    """Record an unfinished run's state and draw its curves so far; never mask the cause.

    Returns the epochs the run keeps: those both in its history and in its checkpoint.
    """
    done = min(len(history), run.checkpoint_epoch)
    try:
        run.set_state(state, done, config.epochs, **extra)
        if history:
            title = f"{config.model}: {state} after {len(history)} of {config.epochs} epochs"
            plots.save_figure(plots.curves_figure(history, title=title), run.path / runs.CURVES)
    except Exception:  # a full disk must not hide the interruption or the original error
        pass
    return done


def _complete(
    run: runs.Run,
    config: TrainConfig,
    prepared: PreparedData,
    model: Any,
    history: list[dict[str, float]],
    scores: dict[str, float],
    batch_norm_seconds: float,
    placement: dict[str, Any],
) -> None:
    """Write the finished run's metrics, model and curves, then drop its checkpoint.

    The training seconds are the epochs' own (checkpoints included) plus a precise-BN pass.
    `val_accuracy` and `val_loss` are the final model's (with its averaged weights and after a
    precise-BN pass, when the recipe has them, so they are judged on validation); the test
    scores are the one
    look at the test set. `placement` gives the replicas, the global batch size and the
    precision (and the devices' names on several devices).
    """
    epoch_seconds = sum(row["seconds"] for row in history)
    test_accuracy = float(scores["test_accuracy"])
    run.write(
        runs.METRICS,
        {
            "model": config.model,
            "test_accuracy": test_accuracy,
            "test_loss": float(scores["test_loss"]),
            "val_accuracy": float(scores["val_accuracy"]),
            "val_loss": float(scores["val_loss"]),
            "train_seconds": round(epoch_seconds + batch_norm_seconds, 3),
            "seconds_per_epoch": round(epoch_seconds / max(len(history), 1), 3),
            "precise_batch_norm_seconds": round(batch_norm_seconds, 3),
            "params": int(model.count_params()),
            "epochs": len(history),
            "seed": config.seed,
            **placement,
            "train_size": len(prepared.x_train),
            "validation_size": len(prepared.x_val),
            "test_size": len(prepared.x_test),
            "versions": versions(),
        },
    )
    epochs = f"{len(history)} epoch" + ("s" if len(history) != 1 else "")
    title = f"{config.model}: test accuracy {test_accuracy:.2%} after {epochs}"
    target = run.path / runs.MODEL
    try:
        with atomic_path(target) as tmp:
            model.save(tmp)
        target = run.path / runs.CURVES
        plots.save_figure(plots.curves_figure(history, title=title), target)
    except OSError as error:
        raise RunError(f"Cannot write {target} ({error.strerror or error}).") from None
    run.set_state(runs.COMPLETED, len(history), config.epochs)
    shutil.rmtree(run.path / runs.CHECKPOINT, ignore_errors=True)
