"""Exercise 8, the capstone, your own model: registered from your file, meets the model
contract, is your own design, keeps to the budget of epochs, and passes the capstone's rule.

The rule (`mnist_lab.course.capstone`, which `mnist-lab grade` reads too) depends neither on the
machine's speed nor on one lucky seed. The last test trains the model twice, as
`mnist-lab train my-model --seed S` does for S = 0 and 1 (its recipe, on the seeded, stratified
split of that seed, 10% of the training images held out), and judges the MEAN of the two runs'
validation accuracy after their last epoch. The test images are scored once per run, at its end,
and only reported when the model passes. It is marked slow: two whole trainings.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_lab import registry
from mnist_lab.core.errors import MnistLabError
from mnist_lab.course.capstone import (
    MAX_EPOCHS,
    MIN_MEAN_VALIDATION_ACCURACY,
    MODEL,
    SAFETY_MINUTES,
    SEEDS,
    mean_accuracy,
    passes,
)
from mnist_lab.preprocess import normalize

EXERCISE = "ex08_my_model.py"
# The rule's constants live in mnist_lab/course/capstone.py, with how the threshold was chosen:
# MAX_EPOCHS epochs at most in the recipe; the mean validation accuracy of SEEDS (0 and 1) must
# reach MIN_MEAN_VALIDATION_ACCURACY (99.0%). The solution over seeds 0..7, measured by
# `python docs/_tools/capstone_spread.py` into docs/results/capstone_spread.json on 2026-12-06:
# mean 99.32%, standard deviation 0.13 points per seed (99.10% to 99.48%); the threshold is under
# the mean minus 2.33 standard deviations of a 2-seed mean (99.10%) and of one seed (99.01%),
# and above the reference CNN (98.59% mean validation accuracy over its 3 `make bench` seeds).
# SAFETY_MINUTES per training only stops a runaway: no clock decides a pass.


def built(exercise):
    """The registered model, built through the registry as `mnist-lab train` builds it."""
    try:
        return registry.create_model(MODEL)
    except MnistLabError as error:
        pytest.fail(
            f"create_model({MODEL!r}) should build your model, but it failed: {error}",
            pytrace=False,
        )


def test_my_model_is_registered_from_your_file(exercise):
    built(exercise)
    origin = registry.model_info(MODEL).origin
    path = Path(exercise.__file__).resolve()
    assert origin.startswith(str(path)), (
        f"the model {MODEL!r} should be the one registered in {path}, but it comes from {origin}"
    )


def test_my_model_meets_the_model_contract(exercise):
    model = built(exercise)
    assert isinstance(model, keras.Model), f"expected a keras.Model, got {type(model).__name__}"
    assert model.count_params() > 0, "the model has no weights to learn"


def test_my_model_gives_10_probabilities_per_image(exercise, mnist):
    model = built(exercise)
    out = np.asarray(model(normalize(mnist.test.images[:8]), training=False))
    assert out.shape == (8, 10), f"8 images should give 8 rows of 10, got shape {out.shape}"
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1, atol=1e-4), (
        "each row should hold probabilities (>= 0, summing to 1): end with "
        f"Dense(10, activation='softmax'); the row sums are {out.sum(axis=1).round(4).tolist()}"
    )


# What a layer's configuration holds that is not design: its name, its number format, its seed
# and how its weights start (or are held back).
NOT_DESIGN = ("name", "trainable", "dtype", "seed", "initializer", "regularizer", "constraint")


def design(model) -> tuple:
    """The architecture of a model: each layer's kind and configuration, in order, nested
    models opened; names, seeds, initial weights and layers that change nothing left out."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += design(layer)
            continue
        kind = type(layer).__name__
        config = {
            key: value
            for key, value in layer.get_config().items()
            if not any(part in key for part in NOT_DESIGN)
        }
        passes_through = (
            kind in ("InputLayer", "Identity")
            or (kind == "Activation" and config.get("activation") == "linear")
            or (config.get("rate") == 0 and "Dropout" in kind)
        )
        if not passes_through:
            found.append((kind, json.dumps(config, sort_keys=True, default=str)))
    return tuple(found)


def test_my_model_is_your_own_design(exercise, own_code):
    spec = built_spec(exercise)
    # The builder runs under the own-code rule of the manifest: a call from it into the zoo or
    # create_model fails here, however it is reached.
    mine = design(own_code(spec.builder))
    for name in registry.list_models():
        other = registry.model_info(name)
        if other.source != registry.BUILT_IN:
            continue
        if design(other.builder()) == mine:
            pytest.fail(
                f"{MODEL!r} has the same layers as the zoo's {name!r}, in the same order and "
                "sizes (layer names, seeds and initial weights are not a design): exercise 8 "
                "asks for a model of your own design. Change its layers (their kinds, order or "
                "sizes) and compare on validation accuracy",
                pytrace=False,
            )


def built_spec(exercise):
    """The registered spec of the model, once the model builds."""
    built(exercise)
    return registry.model_info(MODEL)


def test_my_models_recipe_keeps_to_the_budget(exercise):
    built(exercise)
    epochs = registry.model_info(MODEL).recipe.epochs
    assert epochs <= MAX_EPOCHS, (
        f"the recipe of {MODEL!r} asks for {epochs} epochs; the capstone's budget is "
        f"{MAX_EPOCHS} epochs (counted in epochs, not minutes, so a slow laptop is judged "
        "like a fast one): a better learning rate or schedule gets there in fewer"
    )


@pytest.mark.slow
def test_my_model_reaches_99_percent_validation_accuracy(exercise, mnist, tmp_path, note):
    """The capstone's rule: the mean validation accuracy of seeds 0 and 1 reaches the
    threshold (99%: the name is older than the rule, and still true of it)."""
    from mnist_lab.scale.capstone import train_seed

    built(exercise)
    epochs = registry.model_info(MODEL).recipe.epochs
    assert epochs <= MAX_EPOCHS, f"the recipe asks for {epochs} epochs, more than {MAX_EPOCHS}"
    runs = []
    for seed in SEEDS:
        run = train_seed(MODEL, seed, out=str(tmp_path), dataset=mnist)
        if run.stopped_by_safety:
            pytest.fail(
                f"{MODEL!r} was still training on seed {seed} after {SAFETY_MINUTES} minutes, "
                f"in epoch {run.epochs} of its {epochs}: the check stopped it. This safety stop "
                "guards against a runaway training; it is not the pass rule, which counts "
                "epochs, not minutes. A design this heavy is far beyond what MNIST needs: "
                "make it lighter (fewer filters, no large dense layer, a larger batch)",
                pytrace=False,
            )
        runs.append(run)
    mean = mean_accuracy([run.val_accuracy for run in runs])
    each = ", ".join(
        f"seed {run.seed}: {run.val_accuracy:.2%} after {run.epochs} epochs "
        f"({run.train_seconds / 60:.1f} minutes)"
        for run in runs
    )
    reached = f"{MODEL!r} reached a mean validation accuracy of {mean:.3%} ({each})"
    assert passes([run.val_accuracy for run in runs]), (
        f"{reached}; the capstone asks for a mean of at least "
        f"{MIN_MEAN_VALIDATION_ACCURACY:.2%}. Compare its training and validation accuracy per "
        "epoch ('mnist-lab train my-model' prints them) and change one thing at a time; the "
        f"runs are in {tmp_path}"
    )
    tests = ", ".join(f"{run.test_accuracy:.2%}" for run in runs)
    note(
        f"{reached}: it passes. Its test accuracy, scored once per run now that the design "
        f"is done: {tests}."
    )
