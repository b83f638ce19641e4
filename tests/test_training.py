"""Training: option checks, data preparation, what a run folder holds, and a minimum accuracy."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

import keras
import numpy as np
import pytest
from matplotlib.image import imread

from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError, RunError
from mnist_lab.models.recipes import Recipe
from mnist_lab.models.registry import model_info
from mnist_lab.training import TrainConfig, prepare, train

RUN_FILES = [
    "config.json",
    "curves.png",
    "epochs",
    "history.json",
    "metrics.json",
    "model.keras",
    "state.json",
]

# Each option with a value outside its range and the exact message that says so.
BAD_OPTIONS = [
    ("epochs", 0, "The 'epochs' option must be an int >= 1. Got 0 instead."),
    ("epochs", 2.5, "The 'epochs' option must be an int >= 1. Got 2.5 instead."),
    ("epochs", True, "The 'epochs' option must be an int >= 1. Got True instead."),
    ("batch_size", 0, "The 'batch_size' option must be an int >= 1 and <= 60000. Got 0 instead."),
    ("seed", -1, "The 'seed' option must be an int >= 0 and <= 4294967295. Got -1 instead."),
    *[
        (
            "validation_split",
            value,
            "The 'validation_split' option must be a float in (0, 1), exclusive. "
            f"Got {value!r} instead.",
        )
        for value in (0, 1, 1.5, -0.1, 0.0)
    ],
    (
        "limit",
        100,
        "The 'limit' option must be an int >= the batch size (128) and <= 60000. Got 100 instead.",
    ),
    (
        "limit",
        60_001,
        "The 'limit' option must be an int >= the batch size (128) and <= 60000. "
        "Got 60001 instead.",
    ),
]


@pytest.mark.parametrize(("option", "value", "message"), BAD_OPTIONS)
def test_config_rejects_values_out_of_range(option, value, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{"model": "reference", "batch_size": 128, option: value}).validate()
    assert str(caught.value) == message


def test_default_config_is_the_classic_setup():
    config = TrainConfig(model="reference").with_defaults(model_info("reference").recipe)
    config.validate()
    assert (config.epochs, config.batch_size, config.seed, config.validation_split) == (
        5,
        128,
        0,
        0.1,
    )


def test_options_given_override_the_recipe():
    recipe = Recipe(epochs=9, batch_size=32)
    assert TrainConfig(model="m").with_defaults(recipe) == TrainConfig(
        model="m", epochs=9, batch_size=32
    )
    given = TrainConfig(model="m", epochs=1, batch_size=256)
    assert given.with_defaults(recipe) == given


def test_prepare_normalizes_encodes_and_splits_stratified(mnist):
    data = prepare(mnist, TrainConfig(model="reference"))
    assert data.x_train.shape == (54_000, 28, 28, 1) and data.x_train.dtype == np.float32
    assert data.y_train.shape == (54_000, 10) and data.y_train.dtype == np.float32
    assert data.x_val.shape == (6_000, 28, 28, 1)
    assert data.x_test.shape == (10_000, 28, 28, 1) and data.y_test.shape == (10_000, 10)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    train_share = np.bincount(data.y_train.argmax(1)) / 54_000
    val_share = np.bincount(data.y_val.argmax(1)) / 6_000
    np.testing.assert_allclose(train_share, val_share, atol=2e-4)


def test_prepare_limit_and_seed(mnist):
    first = prepare(mnist, TrainConfig(model="reference", limit=1000, seed=3))
    again = prepare(mnist, TrainConfig(model="reference", limit=1000, seed=3))
    other = prepare(mnist, TrainConfig(model="reference", limit=1000, seed=4))
    assert len(first.x_train) + len(first.x_val) == 1000
    np.testing.assert_array_equal(first.x_val, again.x_val)
    assert not np.array_equal(first.y_val, other.y_val)


@pytest.mark.parametrize("limit", [None, 1000])
def test_prepare_splits_as_split_indices_says_and_as_runs_always_did(mnist, limit):
    """`evaluate`/`inspect --split validation` find a run's validation images through
    split_indices: they must be prepare's, and those of runs trained before it existed."""
    from mnist_lab.data.preprocess import normalize, stratified_split
    from mnist_lab.evaluation.splits import split_indices

    config = TrainConfig(model="reference", limit=limit, seed=3)
    data = prepare(mnist, config)
    images, labels = mnist.train
    train_idx, val_idx = split_indices(labels, 0.1, 3, limit)
    np.testing.assert_array_equal(data.x_val, normalize(images[val_idx]))
    np.testing.assert_array_equal(data.x_train, normalize(images[train_idx]))
    # The split as prepare computed it before split_indices: subset first, then stratified.
    subset = np.arange(len(labels))
    if limit is not None:
        subset = np.sort(np.random.default_rng(3).permutation(len(labels))[:limit])
    _, old_val = stratified_split(labels[subset], 0.1, 3)
    np.testing.assert_array_equal(val_idx, subset[old_val])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist):
    """A real two-epoch run on 1,024 images."""
    out = tmp_path_factory.mktemp("runs")
    config = TrainConfig(model="reference", epochs=2, limit=1024, out=str(out), seed=1)
    return train(config, dataset=mnist, verbose=0)


def test_run_folder_holds_every_file(quick_run):
    assert re.fullmatch(r"reference-\d{8}-\d{6}", quick_run.path.name)
    assert sorted(p.name for p in quick_run.path.iterdir()) == RUN_FILES


def test_run_config_and_history(quick_run):
    assert quick_run.config == {
        "model": "reference",
        "epochs": 2,
        "batch_size": 128,
        "seed": 1,
        "validation_split": 0.1,
        "limit": 1024,
        "out": str(quick_run.path.parent),
        "data_dir": None,
        "keep_epochs": True,  # the reference has fewer than 2 million parameters
        "overrides": None,
        "devices": None,  # one device, no strategy
        "recipe": Recipe().to_dict(),
    }
    history = quick_run.history
    assert [row["epoch"] for row in history] == [1, 2]
    for row in history:
        assert set(row) == {"epoch", "accuracy", "loss", "val_accuracy", "val_loss", "seconds"}
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["val_accuracy"] <= 1
        assert row["seconds"] > 0
    assert history[1]["loss"] < history[0]["loss"]


def test_a_run_keeps_each_epochs_weights_the_last_being_the_final_model(quick_run):
    kept = quick_run.epoch_weights
    assert {epoch: file.name for epoch, file in kept.items()} == {
        1: "epoch-01.weights.h5",
        2: "epoch-02.weights.h5",
    }
    assert sorted(p.name for p in (quick_run.path / runs.EPOCHS_DIR).iterdir()) == [
        "epoch-01.weights.h5",
        "epoch-02.weights.h5",
    ]  # no partial file left behind
    final = keras.models.load_model(quick_run.path / runs.MODEL)
    first, last = (model_info("reference").builder() for _ in range(2))
    first.load_weights(kept[1])
    last.load_weights(kept[2])
    for saved, epoch_2 in zip(final.get_weights(), last.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, epoch_2)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(first.get_weights(), last.get_weights(), strict=True)
    ), "epoch 1 and epoch 2 kept the same weights"


def test_no_keep_epochs_and_large_models_keep_none(tmp_path, mnist, monkeypatch):
    from mnist_lab.training import config as training_config

    config = TrainConfig(model="mlp", epochs=1, limit=256, out=str(tmp_path), keep_epochs=False)
    run = train(config, dataset=mnist, verbose=0)
    assert run.epoch_weights == {} and not (run.path / runs.EPOCHS_DIR).exists()
    assert run.config["keep_epochs"] is False

    monkeypatch.setattr(training_config, "KEEP_EPOCHS_MAX_PARAMS", 1000)  # the mlp counts as large
    run = train(replace_keep(config, None), dataset=mnist, verbose=0)
    assert run.epoch_weights == {} and run.config["keep_epochs"] is False


def replace_keep(config: TrainConfig, keep: bool | None) -> TrainConfig:
    from dataclasses import replace

    return replace(config, keep_epochs=keep)


def test_run_metrics_match_the_saved_model(quick_run, mnist):
    metrics = quick_run.metrics
    assert metrics["params"] == 225_034
    assert metrics["epochs"] == 2 and metrics["seed"] == 1
    assert (metrics["train_size"], metrics["validation_size"], metrics["test_size"]) == (
        922,
        102,
        10_000,
    )
    assert set(metrics["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    assert metrics["versions"]["keras"].startswith("3.")
    assert math.isclose(
        metrics["seconds_per_epoch"], metrics["train_seconds"] / 2, rel_tol=0.01, abs_tol=0.002
    )
    model = keras.saving.load_model(quick_run.path / "model.keras", safe_mode=True)
    images = mnist.test.images.astype(np.float32)[..., None] / 255
    predictions = model.predict(images, batch_size=1024, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == mnist.test.labels))
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert 0.5 < accuracy < 1


def test_run_metrics_hold_the_final_models_validation_scores(quick_run, mnist):
    """Choices are made on validation: metrics.json gives the saved model's, on the same split."""
    from mnist_lab.training import TrainConfig, prepare

    metrics = quick_run.metrics
    config = TrainConfig(**{k: v for k, v in quick_run.config.items() if k != "recipe"})
    data = prepare(mnist, config)
    model = keras.saving.load_model(quick_run.path / "model.keras", safe_mode=True)
    predictions = model.predict(data.x_val, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == data.y_val.argmax(axis=1)))
    assert metrics["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    # Without a precise-BN pass, the final model is the last epoch's: Keras's figure agrees.
    assert metrics["val_accuracy"] == pytest.approx(quick_run.history[-1]["val_accuracy"], abs=1e-6)
    assert metrics["val_loss"] == pytest.approx(quick_run.history[-1]["val_loss"], rel=1e-4)


def test_run_metrics_hold_the_plain_test_crossentropy_of_the_saved_model(quick_run, mnist):
    """Beside the recipe's loss, every run records the plain cross-entropy of its test
    predictions; the reference trains without smoothing or penalty, so the two agree."""
    from mnist_lab.evaluation import crossentropy

    metrics = quick_run.metrics
    model = keras.saving.load_model(quick_run.path / "model.keras", safe_mode=True)
    images = mnist.test.images.astype(np.float32)[..., None] / 255
    probabilities = model.predict(images, batch_size=1024, verbose=0)
    expected = crossentropy(probabilities, mnist.test.labels)
    assert metrics["test_crossentropy"] == pytest.approx(expected, rel=1e-5)
    assert metrics["test_crossentropy"] == pytest.approx(metrics["test_loss"], rel=1e-3)


def test_a_label_smoothed_run_records_both_losses(clean_registry, tmp_path, mnist):
    """`test_loss` is the recipe's smoothed loss; `test_crossentropy` the plain one, the number
    a leaderboard compares across models."""
    clean_registry.register_model(
        "smooth-mlp", recipe=Recipe(epochs=1, batch_size=64, label_smoothing=0.1)
    )(model_info("mlp").builder)
    config = TrainConfig(model="smooth-mlp", limit=512, out=str(tmp_path), seed=0)
    run = train(config, dataset=mnist, verbose=0)
    model = keras.saving.load_model(run.path / "model.keras", safe_mode=True)
    images = mnist.test.images.astype(np.float32)[..., None] / 255
    probabilities = model.predict(images, batch_size=1024, verbose=0)
    truth = np.eye(10, dtype=np.float32)[mnist.test.labels]
    plain = keras.losses.CategoricalCrossentropy()(truth, probabilities)
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(truth, probabilities)
    assert run.metrics["test_crossentropy"] == pytest.approx(float(plain), rel=1e-4)
    assert run.metrics["test_loss"] == pytest.approx(float(smoothed), rel=1e-4)
    assert abs(float(smoothed) - float(plain)) > 0.05  # the two measures really differ here


def test_a_precise_bn_pass_is_scored_on_validation_after_it(clean_registry, tmp_path, mnist):
    """The pass changes the model after its last epoch: metrics.json scores the changed one."""
    clean_registry.register_model(
        "bn-precise", recipe=Recipe(epochs=1, batch_size=64, precise_batch_norm=True)
    )(model_info("bn-cnn").builder)
    config = TrainConfig(model="bn-precise", limit=1024, out=str(tmp_path), seed=0)
    run = train(config, dataset=mnist, verbose=0)
    assert run.metrics["precise_batch_norm_seconds"] > 0
    data = prepare(mnist, config)
    model = keras.saving.load_model(run.path / "model.keras", safe_mode=True)
    predictions = model.predict(data.x_val, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == data.y_val.argmax(axis=1)))
    assert run.metrics["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_averaged_weights_are_the_saved_model_and_scored_on_validation(
    clean_registry, tmp_path, mnist
):
    """With `ema_momentum`, fit ends with the average of the weights in place: the saved model
    is the average (not the last step's weights), and metrics.json scores it on validation."""
    clean_registry.register_model(
        "ema-mlp", recipe=Recipe(epochs=1, batch_size=64, ema_momentum=0.9)
    )(model_info("mlp").builder)
    config = TrainConfig(model="ema-mlp", limit=1024, out=str(tmp_path), seed=0)
    run = train(config, dataset=mnist, verbose=0)
    model = keras.saving.load_model(run.path / "model.keras", safe_mode=True)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.9
    averages = [v.numpy() for v in model.optimizer._model_variables_moving_average]
    for average, weight in zip(averages, model.trainable_weights, strict=True):
        np.testing.assert_allclose(weight.numpy(), average, rtol=1e-6, atol=1e-7)
    data = prepare(mnist, config)
    predictions = model.predict(data.x_val, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == data.y_val.argmax(axis=1)))
    assert run.metrics["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert run.metrics["precise_batch_norm_seconds"] == 0


def test_ema_momentum_is_checked_and_summarized():
    with pytest.raises(ConfigError) as refused:
        Recipe(ema_momentum=1.0)
    assert str(refused.value) == (
        "The recipe's 'ema_momentum' must be in [0, 1) (0: no average). Got 1.0."
    )
    assert Recipe(ema_momentum=0.999).compiles
    assert Recipe(ema_momentum=0.999).summary().endswith("weights averaged (0.999)")


def test_adam_betas_reach_the_optimizer_and_are_checked():
    """A recipe's beta_1 and beta_2 are the compiled Adam's; SGD, which has none, refuses them."""
    from mnist_lab.models.compiling import compile_with_recipe

    recipe = Recipe(optimizer="adam", beta_1=0.7, beta_2=0.9)
    assert recipe.compiles and Recipe(beta_2=0.99).compiles and not Recipe().compiles
    assert recipe.summary() == "5 epochs, batch 128, adam 0.001, betas (0.7, 0.9)"
    model = compile_with_recipe(model_info("mlp").builder(), recipe, total_steps=10)
    assert (model.optimizer.beta_1, model.optimizer.beta_2) == (0.7, 0.9)
    adamw = compile_with_recipe(
        model_info("mlp").builder(), Recipe(optimizer="adamw", beta_1=0.8), total_steps=10
    )
    assert (adamw.optimizer.beta_1, adamw.optimizer.beta_2) == (0.8, 0.999)
    with pytest.raises(ConfigError) as refused:
        Recipe(beta_1=1.0)
    assert str(refused.value) == "The recipe's 'beta_1' must be in [0, 1). Got 1.0."
    with pytest.raises(ConfigError) as refused:
        Recipe(optimizer="sgd", beta_2=0.9)
    assert str(refused.value) == (
        "The recipe's 'beta_1' and 'beta_2' are Adam's and AdamW's; SGD has none. "
        "Leave them at 0.9 and 0.999, or choose optimizer 'adam'."
    )


def test_fit_creates_no_variable_once_the_training_state_is_built(mnist):
    """A step that creates variables is traced twice by TensorFlow; after
    `build_training_state`, fit creates none (it created all 18 of `fast`'s before)."""
    import tensorflow as tf

    from mnist_lab.models.compiling import build_training_state, compile_with_recipe

    data = prepare(mnist, TrainConfig(model="fast", limit=512, seed=0))
    created: list[str] = []

    def record(next_creator, **kwargs):
        created.append(kwargs.get("name"))
        return next_creator(**kwargs)

    def fit(prebuild: bool) -> list[str]:
        model = model_info("fast").builder()
        compile_with_recipe(model, model_info("fast").recipe, total_steps=2)
        if prebuild:
            build_training_state(model, data.x_train, data.y_train)
            assert model.optimizer.built
        created.clear()
        with tf.variable_creator_scope(record):
            model.fit(data.x_train[:256], data.y_train[:256], batch_size=256, verbose=0)
        return list(created)

    assert len(fit(prebuild=False)) == 18  # 16 Adam slots, the accuracy's total and count
    assert fit(prebuild=True) == []


def test_a_model_keras_cannot_build_symbolically_still_trains(mnist):
    """The early build is only a saving: if Keras cannot do it, fit builds the state itself."""
    from mnist_lab.models.compiling import build_training_state, compile_with_defaults

    data = prepare(mnist, TrainConfig(model="mlp", limit=256, seed=0))
    model = compile_with_defaults(model_info("mlp").builder())

    def refuse(**kwargs):
        raise RuntimeError("Unable to automatically build the model.")

    model._symbolic_build = refuse
    build_training_state(model, data.x_train, data.y_train)
    assert not model.optimizer.built
    history = model.fit(data.x_train, data.y_train, batch_size=64, epochs=1, verbose=0)
    assert model.optimizer.built and len(history.history["loss"]) == 1


def test_training_builds_its_state_before_fit(clean_registry, tmp_path, mnist, monkeypatch):
    from mnist_lab.training import fitting

    built = []
    real = fitting.build_training_state

    def spy(model, images, labels):
        built.append((model.optimizer.built, images.shape[1:], labels.shape[1:]))
        real(model, images, labels)

    monkeypatch.setattr(fitting, "build_training_state", spy)
    config = TrainConfig(model="mlp", epochs=1, limit=256, out=str(tmp_path), seed=0)
    train(config, dataset=mnist, verbose=0)
    assert built == [(False, (28, 28, 1), (10,))]


def test_curves_png_is_a_real_figure(quick_run):
    image = imread(quick_run.path / "curves.png")
    assert image.shape[:2] == (400, 1000)
    assert image.std() > 0.05  # not a blank canvas


def test_curves_figure_has_both_panels_and_both_lines(quick_run):
    from mnist_lab.evaluation.plots import curves_figure

    figure = curves_figure(quick_run.history, title="t")
    panels = figure.get_axes()
    assert [axes.get_title() for axes in panels] == ["Accuracy", "Loss"]
    for axes, key in zip(panels, ("accuracy", "loss"), strict=True):
        lines = axes.get_lines()
        assert [line.get_label() for line in lines] == ["training", "validation"]
        np.testing.assert_allclose(lines[0].get_ydata(), [r[key] for r in quick_run.history])
        np.testing.assert_allclose(
            lines[1].get_ydata(), [r[f"val_{key}"] for r in quick_run.history]
        )
        assert axes.get_xlabel() == "epoch"


def test_new_runs_never_reuse_a_folder(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = runs.create_run(tmp_path, "reference", now=now)
    (first.path / "metrics.json").write_text("{}")
    second = runs.create_run(tmp_path, "reference", now=now)
    assert first.path.name == "reference-20260102-030405"
    assert second.path.name == "reference-20260102-030405-2"
    assert json.loads((first.path / "metrics.json").read_text()) == {}


def test_run_folder_in_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match=r"^Cannot create a run folder in .*/file: it is a file; "):
        runs.create_run(blocker, "reference")
    with pytest.raises(
        RunError, match=r"^Cannot create a run folder in .*/sub \(Not a directory\)"
    ):
        runs.create_run(blocker / "sub", "reference")
    assert blocker.read_text() == "not a folder"


def test_reference_reaches_97_percent_after_one_epoch(tmp_path, mnist):
    """The minimum-accuracy check: one epoch on the full training set."""
    run = train(
        TrainConfig(model="reference", epochs=1, out=str(tmp_path)), dataset=mnist, verbose=0
    )
    assert run.metrics["test_accuracy"] >= 0.97, run.metrics
    assert run.metrics["train_size"] == 54_000


def test_initial_weights_do_not_depend_on_other_draws_from_pythons_random(monkeypatch):
    """A Dask worker's event loop draws from Python's global `random` while its task thread
    builds the model; the seed alone must decide the initial weights."""
    import random

    from mnist_lab.models import registry
    from mnist_lab.training.building import build_model

    config = TrainConfig("mlp", seed=5)
    undisturbed = build_model(config, "float32").get_weights()
    create_model = registry.create_model

    def create_after_another_draw(name):
        random.random()  # as another thread would, between the seeding and the layers
        return create_model(name)

    monkeypatch.setattr(registry, "create_model", create_after_another_draw)
    disturbed = build_model(config, "float32").get_weights()
    assert len(disturbed) == len(undisturbed)
    for first, second in zip(undisturbed, disturbed, strict=True):
        np.testing.assert_array_equal(first, second)
