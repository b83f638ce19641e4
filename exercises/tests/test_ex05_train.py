"""Exercise 5, compile and train: the compile settings, a random subset, and a short real training.

The training tests train the reference CNN once (3 epochs on 6,000 images, a few seconds) and
share the result; the model is built and compiled here, so they test only the exercise's `train`.
"""

import keras
import numpy as np
import pytest

from mnist_lab.preprocess import normalize, one_hot

EXERCISE = "ex05_train.py"
TRAIN_IMAGES, TEST_IMAGES, EPOCHS, BATCH_SIZE = 6000, 2000, 3, 32
MIN_ACCURACY = 0.94  # about 96% is usual; a broken setup stays far below
KEYS = {"accuracy", "loss", "val_accuracy", "val_loss"}

_trained: dict = {}  # the one training run, shared by the tests that need it


def reference_cnn() -> keras.Model:
    """The classic CNN of exercise 4, uncompiled."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def small_model() -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )


def trained_run(exercise, mnist):
    """(model, history) of the exercise's `train` on the first 6,000 training images, once."""
    if not _trained:
        keras.utils.set_random_seed(0)
        model = reference_cnn()
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x = normalize(mnist.train.images[:TRAIN_IMAGES])
        y = one_hot(mnist.train.labels[:TRAIN_IMAGES])
        history = exercise.train(model, x, y, epochs=EPOCHS, batch_size=BATCH_SIZE)
        _trained.update(model=model, history=history)
    return _trained["model"], _trained["history"]


def loss_name(loss) -> str:
    """The name of a compiled loss, whether given as a string, a function or a Loss object."""
    if isinstance(loss, str):
        return loss
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or loss)


def test_compile_returns_the_model(exercise):
    model = small_model()
    result = exercise.compile_model(model)
    assert result is model, (
        f"compile_model should return the model it compiled, but it returned {result!r}"
    )


def test_compile_uses_adam(exercise):
    model = small_model()
    exercise.compile_model(model)  # compile changes the model in place
    optimizer = getattr(model, "optimizer", None)
    assert isinstance(optimizer, keras.optimizers.Adam), (
        f"the optimizer should be Adam, but it is {type(optimizer).__name__}"
    )
    rate = float(np.asarray(optimizer.learning_rate))
    assert abs(rate - 1e-3) < 1e-9, f"Adam's learning rate should be 1e-3, but it is {rate:g}"


def test_compile_uses_categorical_crossentropy(exercise):
    model = small_model()
    exercise.compile_model(model)
    name = loss_name(getattr(model, "loss", None))
    assert name == "categorical_crossentropy", (
        "the loss should be categorical crossentropy (the labels are one-hot rows), "
        f"but it is {name!r}"
    )


def test_compile_tracks_accuracy(exercise, mnist):
    model = small_model()
    exercise.compile_model(model)
    x, y = normalize(mnist.test.images[:16]), one_hot(mnist.test.labels[:16])
    try:
        results = model.evaluate(x, y, verbose=0, return_dict=True)
    except Exception as error:  # e.g. an uncompiled model
        pytest.fail(f"the compiled model could not be evaluated: {error}")
    assert any("accuracy" in name for name in results), (
        f"the model should report accuracy: pass metrics=['accuracy'] (it reports {list(results)})"
    )


def test_take_subset_has_the_requested_size(exercise):
    x, y = np.arange(1000), np.arange(1000) * 10
    xs, ys = exercise.take_subset(x, y, 100, seed=0)
    assert (len(xs), len(ys)) == (100, 100), (
        f"take_subset(..., 100) should give 100 images and 100 labels, got {len(xs)} and {len(ys)}"
    )


def test_take_subset_keeps_each_image_with_its_label(exercise):
    x, y = np.arange(1000), np.arange(1000) * 10
    xs, ys = exercise.take_subset(x, y, 100, seed=0)
    assert np.array_equal(np.asarray(xs) * 10, np.asarray(ys)), (
        "each image should keep its own label: index x and y with the same indices"
    )


def test_take_subset_draws_different_examples(exercise):
    xs, _ = exercise.take_subset(np.arange(1000), np.arange(1000), 500, seed=0)
    repeats = len(xs) - len(np.unique(xs))
    assert repeats == 0, (
        f"the subset should hold {len(xs)} different examples, but {repeats} are repeats: "
        "draw without replacement (rng.choice(..., replace=False) or rng.permutation)"
    )


def test_take_subset_is_random_but_reproducible(exercise):
    x = y = np.arange(1000)
    first, _ = exercise.take_subset(x, y, 100, seed=0)
    again, _ = exercise.take_subset(x, y, 100, seed=0)
    other, _ = exercise.take_subset(x, y, 100, seed=1)
    assert np.array_equal(first, again), "the same seed should give the same subset"
    assert not np.array_equal(np.sort(first), np.arange(100)), (
        "the subset should be drawn at random (np.random.default_rng(seed)), not the first examples"
    )
    assert not np.array_equal(first, other), "seeds 0 and 1 should give different subsets"


def test_train_returns_a_keras_history(exercise, mnist):
    _, history = trained_run(exercise, mnist)
    assert isinstance(history, keras.callbacks.History), (
        f"train should return what model.fit returns (a History), got {type(history).__name__}"
    )


def test_train_records_each_epoch_with_validation(exercise, mnist):
    _, history = trained_run(exercise, mnist)
    record = getattr(history, "history", {})
    missing = sorted(KEYS - set(record))
    assert not missing, (
        f"the History should record {sorted(KEYS)}, but {missing} are missing: hold out "
        "validation data with validation_split=0.1"
    )
    for key in sorted(KEYS):
        assert len(record[key]) == EPOCHS, (
            f"train(..., epochs={EPOCHS}) should train {EPOCHS} epochs, but history[{key!r}] "
            f"has {len(record[key])} values"
        )


def test_training_lowers_the_loss(exercise, mnist):
    _, history = trained_run(exercise, mnist)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], f"the training loss should go down, but it went {losses}"


def test_trained_model_reaches_94_percent_on_test_images(exercise, mnist):
    model, _ = trained_run(exercise, mnist)
    images, labels = normalize(mnist.test.images[:TEST_IMAGES]), mnist.test.labels[:TEST_IMAGES]
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    assert accuracy >= MIN_ACCURACY, (
        f"after {EPOCHS} epochs on {TRAIN_IMAGES:,} images the model should get at least "
        f"{MIN_ACCURACY:.0%} of {TEST_IMAGES:,} test images right, but it got {accuracy:.2%}"
    )
