"""Recipes: training defaults turned into an optimizer, a schedule and augmentation."""

from __future__ import annotations

import re
from dataclasses import replace

import keras
import numpy as np
import pytest

from mnist_lab.core.errors import ConfigError
from mnist_lab.models.compiling import compile_with_recipe, learning_rate
from mnist_lab.models.recipes import Augmentation, Recipe
from mnist_lab.models.registry import create_model, list_models, model_info
from mnist_lab.training import TrainConfig, prepare, resolve, train
from mnist_lab.training.batches import augmented_batches


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"optimizer": "rmsprop"}, "The recipe's 'optimizer' must be one of adam, adamw, sgd"),
        ({"schedule": "linear"}, "The recipe's 'schedule' must be one of constant, cosine."),
        ({"warmup": 1.0}, r"The recipe's 'warmup' must be in \[0, 1\). Got 1.0."),
        ({"label_smoothing": -0.1}, r"The recipe's 'label_smoothing' must be in \[0, 1\)."),
        ({"learning_rate": 0}, "The recipe's 'learning_rate' must be a number > 0. Got 0."),
        ({"learning_rate": "1e-3"}, "The recipe's 'learning_rate' must be a number > 0."),
        ({"weight_decay": -1e-4}, "The recipe's 'weight_decay' must be a number >= 0."),
    ],
)
def test_recipe_rejects_unknown_settings(options, message):
    with pytest.raises(ConfigError, match=message):
        Recipe(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rotation": -5}, r"'augmentation.rotation' must be a number in \[0, 180\). Got -5."),
        ({"shift": 1.0}, r"'augmentation.shift' must be a number in \[0, 1\). Got 1.0."),
        ({"zoom": 1.5}, r"'augmentation.zoom' must be a number in \[0, 1\). Got 1.5."),
        ({"elastic": 6}, r"'augmentation.elastic' must be a number in \[0, 5\). Got 6."),
    ],
)
def test_augmentation_rejects_strengths_out_of_range(options, message):
    with pytest.raises(ConfigError, match=message):
        Augmentation(**options)
    with pytest.raises(ConfigError, match=message):
        Recipe().with_overrides(options)


def test_summary_reads_like_a_sentence():
    assert Recipe().summary() == "5 epochs, batch 128, adam 0.001"
    recipe = Recipe(
        epochs=2,
        batch_size=256,
        optimizer="sgd",
        learning_rate=0.05,
        schedule="cosine",
        label_smoothing=0.1,
        augmentation=Augmentation(rotation=10),
    )
    assert (
        recipe.summary() == "2 epochs, batch 256, sgd 0.05 cosine, label smoothing 0.1, augmented"
    )


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = learning_rate(Recipe(learning_rate=0.01, schedule="cosine", warmup=0.2), 100)
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    np.testing.assert_allclose(rates, [0.001, 0.0055, 0.01, 0.005, 0.0], atol=1e-6)
    assert learning_rate(Recipe(learning_rate=0.02), 100) == 0.02


def test_a_recipe_without_settings_keeps_the_builders_compile():
    model = create_model("reference")
    optimizer = model.optimizer
    assert compile_with_recipe(model, Recipe(epochs=3), total_steps=10).optimizer is optimizer


@pytest.mark.parametrize(
    ("recipe", "rate", "decay"),
    [
        (Recipe(learning_rate=0.05), 0.05, None),
        (Recipe(weight_decay=1e-4), 1e-3, 1e-4),
        (Recipe(learning_rate=3e-4, weight_decay=1e-3), 3e-4, 1e-3),
    ],
)
def test_a_recipe_that_sets_only_a_rate_or_a_decay_compiles_adam_with_them(recipe, rate, decay):
    assert recipe.compiles
    model = compile_with_recipe(create_model("reference"), recipe, total_steps=10)
    assert type(model.optimizer) is keras.optimizers.Adam
    assert float(model.optimizer.learning_rate) == pytest.approx(rate)
    assert model.optimizer.weight_decay == (None if decay is None else pytest.approx(decay))


def test_summary_names_a_weight_decay():
    assert (
        Recipe(weight_decay=1e-4).summary()
        == "5 epochs, batch 128, adam 0.001, weight decay 0.0001"
    )


def test_training_follows_a_recipe_that_sets_only_a_learning_rate(clean_registry, tmp_path, mnist):
    """The rate `mnist-lab list` shows is the rate training uses: 50 wrecks it, 1e-3 trains."""
    accuracies = {}
    for rate in (50.0, 1e-3):
        name = f"mlp-at-{rate:g}"
        clean_registry.register_model(name, recipe=Recipe(epochs=2, learning_rate=rate))(
            model_info("mlp").builder
        )
        config = TrainConfig(model=name, limit=3000, out=str(tmp_path), seed=0)
        run = train(config, dataset=mnist, verbose=0)
        saved = keras.saving.load_model(run.path / "model.keras")
        assert float(saved.optimizer.learning_rate) == pytest.approx(rate)
        accuracies[rate] = run.history[-1]["val_accuracy"]
    assert accuracies[50.0] < 0.3  # chance is 0.1: the weights blew up
    assert accuracies[1e-3] > 0.85


def test_recipe_compiles_optimizer_and_label_smoothing():
    model = compile_with_recipe(
        create_model("reference"),
        Recipe(optimizer="adamw", weight_decay=1e-4, label_smoothing=0.1),
        total_steps=10,
    )
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert model.optimizer.weight_decay == pytest.approx(1e-4)
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


@pytest.mark.parametrize("name", list_models())
def test_every_model_has_a_sensible_recipe(name):
    recipe = model_info(name).recipe
    assert 1 <= recipe.epochs <= 60 and 16 <= recipe.batch_size <= 1024
    assert 0 < recipe.learning_rate <= 0.5


def test_augmented_batches_change_training_images_only(mnist):
    config = TrainConfig(model="reference", batch_size=64, limit=256, seed=0)
    data = prepare(mnist, config)
    batches, switches = augmented_batches(
        data, config, Augmentation(rotation=15, shift=0.1, zoom=0.1)
    )
    assert switches == []
    images, labels = (np.asarray(part) for part in next(iter(batches)))
    assert images.shape == (64, 28, 28, 1) and labels.shape == (64, 10)
    assert images.min() >= 0.0 and images.max() <= 1.0 + 1e-6
    # Nearly every augmented image differs from every original training image...
    flat = data.x_train.reshape(len(data.x_train), -1)
    nearest = np.abs(images.reshape(64, 1, -1) - flat[None]).sum(axis=-1).min(axis=1)
    assert (nearest > 1.0).mean() > 0.9
    # ...while the labels are the originals', unchanged.
    assert labels.sum(axis=1).tolist() == [1.0] * 64


def test_the_clean_epochs_train_on_the_digits_as_they_are(mnist):
    """With clean_epochs=1 of 3, epochs 0 and 1 are warped and epoch 2 is every training image
    once, unchanged, as Keras draws it: the switch is set before each epoch's iterator."""
    config = TrainConfig(model="reference", epochs=3, batch_size=64, limit=256, seed=0)
    data = prepare(mnist, config)
    batches, (switch,) = augmented_batches(
        data, config, Augmentation(rotation=15, shift=0.1, zoom=0.1), clean_epochs=1
    )
    flat = data.x_train.reshape(len(data.x_train), -1)
    seen = []
    for epoch in range(3):
        switch.on_epoch_begin(epoch)
        images = np.concatenate([np.asarray(x) for x, _ in batches]).reshape(len(flat), -1)
        nearest = np.abs(images[:, None] - flat[None]).sum(axis=-1).min(axis=1)
        if epoch < 2:
            assert (nearest > 1.0).mean() > 0.9
        else:
            assert nearest.max() == 0.0
            assert sorted(images.sum(axis=1).tolist()) == sorted(flat.sum(axis=1).tolist())
        seen.append(images)
    # The two warped epochs drew their own warps: no image of the second is one of the first.
    assert np.abs(seen[1][:, None] - seen[0][None]).sum(axis=-1).min() > 0.0


def test_clean_epochs_is_checked_and_summarized():
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError) as caught:
            Recipe(clean_epochs=bad)
        assert str(caught.value) == (
            f"The recipe's 'clean_epochs' must be a whole number of epochs >= 0. Got {bad!r}."
        )
    recipe = Recipe(epochs=15, augmentation=Augmentation(rotation=10), clean_epochs=2)
    assert recipe.summary() == (
        "15 epochs, batch 128, adam 0.001, augmented (the last 2 epochs not)"
    )
    assert recipe.with_overrides({"clean_epochs": 3}).clean_epochs == 3


def test_training_with_an_augmenting_recipe(clean_registry, tmp_path, mnist):
    @clean_registry.register_model(
        "tiny-augmented",
        recipe=Recipe(
            epochs=2,
            batch_size=64,
            optimizer="adam",
            learning_rate=3e-3,
            schedule="cosine",
            warmup=0.1,
            augmentation=Augmentation(rotation=10),
            clean_epochs=1,
        ),
    )
    def tiny():
        return keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
        )

    run = train(
        TrainConfig(model="tiny-augmented", limit=1024, out=str(tmp_path)), dataset=mnist, verbose=0
    )
    assert run.config["epochs"] == 2 and run.config["batch_size"] == 64
    assert run.config["recipe"]["augmentation"] == {
        "rotation": 10,
        "shift": 0.0,
        "zoom": 0.0,
        "elastic": 0.0,
    }
    assert run.config["recipe"]["clean_epochs"] == 1
    assert len(run.history) == 2
    assert run.metrics["test_accuracy"] > 0.6


def test_overrides_change_only_the_fields_they_name():
    recipe = Recipe(epochs=5, augmentation=Augmentation(shift=0.1))
    changed = recipe.with_overrides({"learning_rate": 0.01, "rotation": 10, "schedule": "cosine"})
    assert changed == Recipe(
        epochs=5,
        learning_rate=0.01,
        schedule="cosine",
        augmentation=Augmentation(rotation=10, shift=0.1),
    )
    assert recipe.with_overrides(None) is recipe
    assert recipe.with_overrides({"augmentation.zoom": 0.2}).augmentation.zoom == 0.2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"lerning_rate": 1},
            "'lerning_rate' is not a recipe field. Did you mean 'learning_rate'?",
        ),
        ({"rotaton": 1}, "Did you mean 'rotation'?"),
        ({"epochs": 1.5}, "The recipe field 'epochs' must be a whole number. Got 1.5 instead."),
        ({"optimizer": "rmsprop"}, "must be one of None, adam, adamw, sgd. Got 'rmsprop'"),
        ({"precise_batch_norm": 1}, "must be true or false. Got 1 instead."),
        ({"learning_rate": -1}, "The recipe's 'learning_rate' must be a number > 0. Got -1."),
    ],
)
def test_bad_overrides_name_the_field_and_the_rule(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Recipe().with_overrides(overrides)


def test_a_run_records_the_recipe_its_overrides_made(clean_registry, tmp_path, mnist):
    config = TrainConfig(
        "reference", epochs=1, limit=512, out=str(tmp_path), overrides={"learning_rate": 0.003}
    )
    assert resolve(replace(config, overrides={"epochs": 4}, epochs=None)).epochs == 4
    run = train(config, dataset=mnist, verbose=0)
    assert run.config["overrides"] == {"learning_rate": 0.003}
    assert run.config["recipe"]["learning_rate"] == 0.003
    assert float(run_optimizer_rate(run)) == pytest.approx(0.003)


def run_optimizer_rate(run):
    model = keras.saving.load_model(run.path / "model.keras")
    return keras.ops.convert_to_numpy(model.optimizer.learning_rate)
