"""Exercise 8, your own model: registered, meets the model contract, and reaches 98.5%.

The last test trains the model the way `mnist-lab train my-model` does (its recipe, the full
training set less 10% for validation) and reads the test accuracy of the run; it is marked slow.
"""

from pathlib import Path

import numpy as np
import pytest

from mnist_lab import registry
from mnist_lab.errors import MnistLabError
from mnist_lab.preprocess import normalize

EXERCISE = "ex08_my_model.py"
MODEL = "my-model"
MIN_ACCURACY = 0.985
MAX_EPOCHS = 10  # so that checking the exercise stays a matter of minutes


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
    import keras

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


@pytest.mark.slow
def test_my_model_reaches_98_5_percent_within_its_recipe(exercise, mnist, tmp_path):
    from mnist_lab.training import TrainConfig, train

    built(exercise)
    epochs = registry.model_info(MODEL).recipe.epochs
    assert epochs <= MAX_EPOCHS, (
        f"the recipe asks for {epochs} epochs; keep it to {MAX_EPOCHS} at most so that "
        "checking stays quick (a wider net or a cosine schedule gets there sooner)"
    )
    run = train(TrainConfig(model=MODEL, out=str(tmp_path)), dataset=mnist, verbose=0)
    accuracy = run.metrics["test_accuracy"]
    assert accuracy >= MIN_ACCURACY, (
        f"{MODEL!r} should reach at least {MIN_ACCURACY:.1%} test accuracy in its {epochs} "
        f"epochs, but it reached {accuracy:.2%} (the run is in {run.path})"
    )
