"""One run's fit and evaluation, and what its folder holds when it ends, however it ends.

A run is fitted from its checkpoint when it has one, scored on validation, then on the test set
once, and completed (metrics, model, curves). An interruption or a failure records the run's
state instead, so that `resume` can continue it from its last completed epoch.
"""

from __future__ import annotations

import math
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from mnist_lab.core import runs
from mnist_lab.core.errors import RunError, TrainingInterrupted, describe_os_error, first_line
from mnist_lab.core.fileio import atomic_path
from mnist_lab.evaluation import plots
from mnist_lab.evaluation.metrics import crossentropy
from mnist_lab.models.compiling import build_training_state, compile_with_recipe
from mnist_lab.models.recipes import Recipe
from mnist_lab.training import devices, interrupts, precise_bn
from mnist_lab.training.batches import augmented_batches, even_batch
from mnist_lab.training.building import strategy_scope
from mnist_lab.training.callbacks import run_recorder
from mnist_lab.training.config import TrainConfig
from mnist_lab.training.preparation import PreparedData


def fit_run(
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
            with strategy_scope(strategy):
                compile_with_recipe(model, recipe, total_steps=steps_per_epoch * config.epochs)
            if strategy is None:  # (Keras does this itself under a strategy)
                build_training_state(model, prepared.x_train, prepared.y_train)
            switches: list[Any] = []
            if recipe.augmentation.enabled:
                batches, switches = augmented_batches(
                    prepared, config, recipe.augmentation, batch_size, recipe.clean_epochs
                )
                inputs: dict[str, Any] = {"x": batches, "shuffle": False}  # it shuffles itself
            else:
                inputs = {"x": prepared.x_train, "y": prepared.y_train, "batch_size": batch_size}
            model.fit(
                **inputs,
                epochs=config.epochs,
                validation_data=(prepared.x_val, prepared.y_val),
                validation_batch_size=even_batch(len(prepared.x_val), batch_size, replicas),
                callbacks=[
                    run_recorder(run, history, config.epochs, keep_epochs=bool(config.keep_epochs)),
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
                    batch_size=even_batch(len(prepared.x_val), 1024, replicas),
                    verbose=0,
                )[:2]
            placement: dict[str, Any] = {
                "replicas": replicas,
                "global_batch_size": batch_size,
                "precision": precision,
            }
            if strategy is not None:
                placement["devices"] = devices.device_names(strategy)
            # Then the test set, once: nothing after this line changes the model it scored.
            test_batch = even_batch(len(prepared.x_test), 1024, replicas)
            test_loss, test_accuracy = model.evaluate(
                prepared.x_test, prepared.y_test, batch_size=test_batch, verbose=0
            )[:2]
            # The loss the recipe trains with may smooth labels or add a weight penalty; the
            # plain cross-entropy of the predictions compares every model on one scale.
            test_probabilities = model.predict(prepared.x_test, batch_size=test_batch, verbose=0)
            test_crossentropy = crossentropy(test_probabilities, prepared.y_test.argmax(axis=1))
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
                        "test_crossentropy": test_crossentropy,
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
    scores are the one look at the test set: its accuracy, the recipe's loss (`test_loss`, with
    its label smoothing and weight penalty, if any) and the plain cross-entropy of its
    predictions (`test_crossentropy`, comparable across models). `placement` gives the
    replicas, the global batch size and the precision (and the devices' names on several
    devices).
    """
    epoch_seconds = sum(row["seconds"] for row in history)
    test_accuracy = float(scores["test_accuracy"])
    run.write(
        runs.METRICS,
        {
            "model": config.model,
            "test_accuracy": test_accuracy,
            "test_loss": float(scores["test_loss"]),
            "test_crossentropy": float(scores["test_crossentropy"]),
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
