"""Exercise 5, compile and train: the compile settings, a random subset, and a short real training.

The training tests train the reference CNN once (3 epochs on 6,000 images, a few seconds) and
share the result; the model is built and compiled here, so they test only the exercise's `train`.
Small models whose `fit` remembers its arguments check what `train` hands to Keras: exercise 3's
stratified split as validation data, and the epochs and batch size it was asked for.
"""

import inspect
import math

import keras
import numpy as np
import pytest

from mnist_lab.preprocess import normalize, one_hot

EXERCISE = "ex05_train.py"
TRAIN_IMAGES, HELD_OUT_IMAGES, EPOCHS, BATCH_SIZE = 6000, 2000, 3, 32
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


def recording_model() -> tuple[keras.Model, list[dict]]:
    """A small compiled model, and the list where its `fit` records the arguments of each call."""
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    calls: list[dict] = []
    fit = model.fit
    signature = inspect.signature(fit)

    def recording_fit(*args, **kwargs):
        calls.append(dict(signature.bind(*args, **kwargs).arguments))
        return fit(*args, **kwargs)

    model.fit = recording_fit
    return model, calls


def sorted_by_digit(mnist, size: int = 1000):
    """`size` training images sorted by digit, each marked with its row number in pixel (0, 0).

    Sorted data is where Keras's validation_split shows its flaw: the last 10% are all 9s.
    MNIST's corner pixel is always 0, so the mark changes no digit; it tells which rows `train`
    held out.
    """
    order = np.argsort(mnist.train.labels[:size], kind="stable")
    labels = mnist.train.labels[:size][order]
    x = normalize(mnist.train.images[:size][order])
    x[:, 0, 0, 0] = np.arange(size) / 4096  # exact in float32
    return x, one_hot(labels), labels


def rows_of(x) -> np.ndarray:
    """The row numbers marked by sorted_by_digit."""
    return np.rint(np.asarray(x)[:, 0, 0, 0] * 4096).astype(int)


def held_out(exercise, mnist, fraction: float = 0.1, seed: int = 0):
    """(train rows, validation rows, labels) of one call of the exercise's train."""
    x, y, labels = sorted_by_digit(mnist)
    model, calls = recording_model()
    exercise.train(model, x, y, epochs=1, batch_size=100, validation_fraction=fraction, seed=seed)
    assert len(calls) == 1, f"train should call model.fit once, it called it {len(calls)} times"
    call = calls[0]
    split = call.get("validation_split", 0.0)
    if split:
        start = len(x) - int(split * len(x))
        digits = " and ".join(f"{digit}s" for digit in np.unique(labels[start:]))
        pytest.fail(
            f"train passed validation_split={split} to fit: Keras then holds out the last "
            f"{split:.0%} of the images as they come, here {start}..{len(x) - 1}, all of them "
            f"{digits}. Hold out exercise 3's stratified split instead: "
            "stratified_split(digits, validation_fraction, seed), passed to fit as "
            "validation_data=(x_val, y_val)",
            pytrace=False,
        )
    validation = call.get("validation_data")
    assert validation is not None and len(validation) >= 2, (
        "train should pass the held-out images to fit as validation_data=(x_val, y_val), "
        f"but validation_data is {validation!r}"
    )
    train_rows, validation_rows = rows_of(call["x"]), rows_of(validation[0])
    for name, rows, targets in [
        ("training", train_rows, call["y"]),
        ("validation", validation_rows, validation[1]),
    ]:
        assert np.array_equal(np.argmax(np.asarray(targets), axis=1), labels[rows]), (
            f"each {name} image should keep its own label: index x and y with the same indices"
        )
    return train_rows, validation_rows, labels


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
    x, y = normalize(mnist.train.images[:16]), one_hot(mnist.train.labels[:16])
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


def test_trained_model_reaches_94_percent_on_held_out_images(exercise, mnist):
    model, _ = trained_run(exercise, mnist)
    # Training images the run never saw; the test set waits for a model's final score.
    held_out = slice(TRAIN_IMAGES, TRAIN_IMAGES + HELD_OUT_IMAGES)
    images, labels = normalize(mnist.train.images[held_out]), mnist.train.labels[held_out]
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    assert accuracy >= MIN_ACCURACY, (
        f"after {EPOCHS} epochs on {TRAIN_IMAGES:,} images the model should get at least "
        f"{MIN_ACCURACY:.0%} of {HELD_OUT_IMAGES:,} other training images right, but it got "
        f"{accuracy:.2%}"
    )


def test_train_holds_out_a_stratified_split(exercise, mnist):
    train_rows, validation_rows, labels = held_out(exercise, mnist, 0.1, seed=0)
    together = np.sort(np.concatenate([train_rows, validation_rows]))
    assert np.array_equal(together, np.arange(len(labels))), (
        "the training and validation images together should be every image once, but "
        f"{len(train_rows)} + {len(validation_rows)} images were passed to fit"
    )
    for digit in range(10):
        count = int(np.sum(labels == digit))
        got = int(np.sum(labels[validation_rows] == digit))
        assert abs(got - 0.1 * count) < 1, (
            f"digit {digit} has {count} of the 1,000 images, so about {0.1 * count:.0f} of them "
            f"should be held out for validation, but {got} were: use exercise 3's stratified "
            "split (stratified_split from mnist_lab.preprocess)"
        )


def test_train_split_follows_the_seed_and_the_fraction(exercise, mnist):
    _, first, _ = held_out(exercise, mnist, 0.1, seed=0)
    _, again, _ = held_out(exercise, mnist, 0.1, seed=0)
    _, other, _ = held_out(exercise, mnist, 0.1, seed=1)
    _, quarter, _ = held_out(exercise, mnist, 0.25, seed=0)
    assert np.array_equal(np.sort(first), np.sort(again)), (
        "the same seed should hold out the same images: pass seed to stratified_split"
    )
    assert not np.array_equal(np.sort(first), np.sort(other)), (
        "seeds 0 and 1 held out the same images: pass seed to stratified_split"
    )
    assert abs(len(quarter) - 250) <= 10, (
        f"validation_fraction=0.25 should hold out about 250 of 1,000 images, but {len(quarter)} "
        "were held out: pass validation_fraction to stratified_split"
    )


@pytest.mark.parametrize(("epochs", "batch_size"), [(1, 50), (2, 300)])
def test_train_uses_the_epochs_and_batch_size_asked(exercise, mnist, epochs, batch_size):
    x, y, _ = sorted_by_digit(mnist, 600)
    model, calls = recording_model()
    history = exercise.train(model, x, y, epochs=epochs, batch_size=batch_size)
    assert calls, "train should train the model it is given with model.fit"
    trained_on = len(calls[0]["x"])
    steps = math.ceil(trained_on / batch_size)
    record = getattr(history, "history", {})
    params = getattr(history, "params", {}) or {}
    got = (len(record.get("loss", [])), params.get("steps"))
    assert got == (epochs, steps), (
        f"train(..., epochs={epochs}, batch_size={batch_size}) should train {epochs} "
        f"epoch{'s' if epochs > 1 else ''} of {steps} steps ({trained_on} training images in "
        f"batches of {batch_size}), but the History shows {got[0]} epochs of {got[1]} steps: "
        "pass train's epochs and batch_size on to model.fit"
    )
