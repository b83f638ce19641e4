"""Precision: "auto" picks bfloat16 only on hardware that is fast at it, a bfloat16 run computes
its layers in bfloat16 with a float32 output, records what it used, and leaves Keras as it was."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from mnist_lab.core import hardware, precision
from mnist_lab.core.errors import ConfigError
from mnist_lab.evaluation.inspection import Inspector
from mnist_lab.models.recipes import Recipe, recipe_fields
from mnist_lab.models.registry import model_info
from mnist_lab.training import TrainConfig, train


@pytest.mark.parametrize(
    ("gpu", "amx", "expected"),
    [(False, False, "float32"), (False, True, "bfloat16"), (True, False, "bfloat16")],
)
def test_auto_is_bfloat16_only_where_the_hardware_has_it(monkeypatch, gpu, amx, expected):
    monkeypatch.setattr(hardware, "gpus_support_bfloat16", lambda: gpu)
    monkeypatch.setattr(hardware, "cpu_has_amx_bf16", lambda: amx)
    assert precision.resolve("auto") == expected
    assert precision.resolve("float32") == "float32"  # what is asked for is kept
    assert precision.resolve("bfloat16") == "bfloat16"


def test_a_recipe_refuses_an_unknown_precision_and_a_sweep_may_set_it():
    with pytest.raises(ConfigError) as refused:
        Recipe(precision="float16")
    assert str(refused.value) == (
        "The recipe's 'precision' must be one of float32, bfloat16, auto. Got 'float16' instead."
    )
    assert recipe_fields()["precision"] == "choice"
    assert Recipe().with_overrides({"precision": "auto"}).precision == "auto"
    assert Recipe(precision="auto").summary().endswith(", precision auto")


def test_fast_and_best_ask_for_auto_and_end_in_float32():
    for name in ("fast", "best"):
        assert model_info(name).recipe.precision == "auto"
        with precision.policy("bfloat16"):
            model = model_info(name).builder()
        assert model.layers[1].dtype_policy.name == "mixed_bfloat16", name
        assert str(model.outputs[0].dtype) == "float32", name
    assert keras.config.dtype_policy().name == "float32"


def small_cnn(final_dtype: str | None = "float32") -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax", dtype=final_dtype),
        ]
    )


def test_a_bfloat16_run_computes_in_bfloat16_and_records_it(clean_registry, tmp_path, mnist):
    clean_registry.register_model(
        "tiny-bf16", recipe=Recipe(epochs=1, batch_size=64, precision="bfloat16")
    )(small_cnn)
    config = TrainConfig(model="tiny-bf16", limit=512, out=str(tmp_path))
    run = train(config, dataset=mnist, verbose=0)
    assert run.metrics["precision"] == "bfloat16"
    assert run.config["recipe"]["precision"] == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the next model builds in float32
    model = keras.saving.load_model(run.path / "model.keras", safe_mode=True)
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert model.layers[0].kernel.dtype == "float32"  # weights stay float32 for the optimizer
    images = mnist.test.images[:1000].astype(np.float32)[..., None] / 255
    probabilities = model.predict(images, verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    look = Inspector(model).look(mnist.test.images[0])  # what `inspect` and the lab show
    assert look.probabilities.dtype == np.float32 and look.saliency.dtype == np.float32
    assert {maps.dtype for maps in look.feature_maps.values()} == {np.dtype(np.float32)}
    assert look.probabilities.sum() == pytest.approx(1, abs=1e-5)
    config = TrainConfig(model="mlp", epochs=1, limit=256, out=str(tmp_path))
    reference = train(config, dataset=mnist, verbose=0)
    assert reference.metrics["precision"] == "float32"


def test_a_bfloat16_model_with_a_bfloat16_output_is_refused(clean_registry, tmp_path, mnist):
    clean_registry.register_model("half-out", recipe=Recipe(epochs=1, precision="bfloat16"))(
        lambda: small_cnn(final_dtype=None)
    )
    with pytest.raises(ConfigError) as refused:
        train(TrainConfig(model="half-out", limit=256, out=str(tmp_path)), dataset=mnist, verbose=0)
    assert str(refused.value) == (
        "Model 'half-out' trains in bfloat16 but its output is bfloat16: give its last layer "
        "dtype='float32' (e.g. layers.Dense(10, activation='softmax', dtype='float32'))."
    )
    assert not any(tmp_path.iterdir())  # refused before a run folder was made
    assert keras.config.dtype_policy().name == "float32"
