"""Continue an interrupted or failed run from its last completed epoch, in its own folder.

The run's saved config is trusted as it is, but its model's recipe must be the one the run
started with: a checkpoint of one recipe cannot be continued under another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core import precision as precisions
from mnist_lab.core import runs
from mnist_lab.core.errors import RunError
from mnist_lab.training.building import build_model, strategy_for, strategy_scope
from mnist_lab.training.config import TrainConfig, effective_recipe, resolve
from mnist_lab.training.fitting import fit_run
from mnist_lab.training.preparation import prepare


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
    strategy = strategy_for(config)
    if dataset is None:
        dataset = mnist_data.load_mnist(config.data_dir)
    prepared = prepare(dataset, config)
    compute = precisions.resolve(recipe.precision)
    with strategy_scope(strategy):
        model = build_model(config, compute)
    return fit_run(
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
