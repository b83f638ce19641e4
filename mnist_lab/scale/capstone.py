"""Train a model once per seed of the capstone, as `mnist-lab train MODEL --seed S` does.

The one training behind exercise 8's check, `mnist-lab grade`'s model rule and the measurement of
the threshold (docs/_tools/capstone_spread.py), so the three cannot drift apart.

Each seed is one ordinary run (its recipe, the seeded split of `mnist_lab.training` with
VALIDATION_SPLIT held out, a run folder under `out`); the rule itself is in
`mnist_lab.course.capstone`. A training that passes SAFETY_MINUTES is stopped and marked so:
a guard against a runaway, never what decides the grade.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mnist_lab.course import capstone


@dataclass(frozen=True)
class SeedRun:
    """One seed's training: its final validation accuracy (what the rule averages), its test
    accuracy (reported, never judged), how long it took and whether the safety stop ended it."""

    seed: int
    val_accuracy: float
    test_accuracy: float
    epochs: int
    train_seconds: float
    params: int
    path: str
    stopped_by_safety: bool = False


def recipe_epochs(model: str) -> int:
    """The epochs the registered model's recipe asks for."""
    from mnist_lab.models import registry

    return registry.model_info(model).recipe.epochs


def safety_stop(seconds: float) -> Any:
    """A Keras callback that stops the training once `seconds` have passed (`.stopped` says so)."""
    import keras

    class SafetyStop(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.stopped, self.started = False, time.perf_counter()

        def on_train_begin(self, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if time.perf_counter() - self.started > seconds:
                self.stopped = self.model.stop_training = True

    return SafetyStop()


def train_seed(
    model: str,
    seed: int,
    *,
    out: str,
    dataset: Any = None,
    epochs: int | None = None,
    limit: int | None = None,
    safety_minutes: float = capstone.SAFETY_MINUTES,
) -> SeedRun:
    """Train `model` by its recipe on `seed` into a run folder under `out`.

    `epochs` (fewer than the recipe's) and `limit` (fewer images) are only for a quicker,
    different check (`mnist-lab grade --model-epochs`); the capstone's rule leaves both None.
    """
    from mnist_lab.training import TrainConfig, train

    config = TrainConfig(
        model=model,
        epochs=epochs,
        seed=seed,
        validation_split=capstone.VALIDATION_SPLIT,
        limit=limit,
        out=out,
        keep_epochs=False,  # only the files kept differ from `mnist-lab train`: not the training
    )
    guard = safety_stop(safety_minutes * 60)
    run = train(config, dataset=dataset, verbose=0, callbacks=[guard])
    metrics = run.metrics
    return SeedRun(
        seed=seed,
        val_accuracy=float(metrics["val_accuracy"]),
        test_accuracy=float(metrics["test_accuracy"]),
        epochs=int(metrics["epochs"]),
        train_seconds=float(metrics["train_seconds"]),
        params=int(metrics["params"]),
        path=str(run.path),
        stopped_by_safety=guard.stopped,
    )


def train_seeds(model: str, seeds: Iterable[int] = capstone.SEEDS, **options: Any) -> list[SeedRun]:
    """`train_seed` for each seed, in order (options as `train_seed`'s); stops after a seed
    the safety stop ended, since the next one would run away too."""
    done = []
    for seed in seeds:
        done.append(train_seed(model, seed, **options))
        if done[-1].stopped_by_safety:
            break
    return done
