"""Train a registered model into a new run folder: the one call behind `mnist-lab train MODEL`.

Everything that can be refused (the options, the model's contract) is checked before the run
folder is made, so a refused training leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core import precision as precisions
from mnist_lab.core import runs
from mnist_lab.training.building import build_model, strategy_for, strategy_scope
from mnist_lab.training.config import TrainConfig, effective_recipe, resolve
from mnist_lab.training.fitting import fit_run
from mnist_lab.training.preparation import prepare


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
    strategy = strategy_for(config)
    if dataset is None:
        dataset = mnist_data.load_mnist(config.data_dir)
    prepared = prepare(dataset, config)
    compute = precisions.resolve(recipe.precision)
    with strategy_scope(strategy):
        # A model that breaks the contract fails here, before a run folder is made.
        model = build_model(config, compute)
    config = config.with_keep_epochs_for(model.count_params())
    run = runs.create_run(config.out, config.model)
    run.write(runs.CONFIG, {**asdict(config), "recipe": recipe.to_dict()})
    run.set_state(runs.RUNNING, 0, config.epochs)
    return fit_run(
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
