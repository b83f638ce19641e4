"""Exercise 15, debugging: a test of each bug's symptom, then the fixed script's accuracy.

Each symptom test looks at one part of the script, with the library's own data beside it: the
range of the pixels load_data hands over, the label each image carries (every image is found
among the library's images by the pixels it draws), the training images still shuffled
(dropping the shuffle would hide that bug, not fix it), the loss of the fresh model
at step 0, and how far one training step moves the weights (neither too far nor not at all).
The slow test runs main() as a student does, then scores its model on the validation images
with their true labels. Nothing here runs the script at import time.
"""

import math

import keras
import numpy as np
import pytest

from mnist_lab.preprocess import normalize, one_hot, stratified_split

EXERCISE = "ex15_debugging.py"
CHECKED_IMAGES = 100  # images of each part whose labels are looked up in the library
STEP_0_TOLERANCE = 0.3  # a fresh reference CNN starts within 0.03 of ln 10 (seeds 0 to 4)
MAX_STEP = 0.05  # Adam at a learning rate of 1e-3 moves each weight by about 0.001 per step
MIN_STEP = 1e-5  # ... and a network whose weights do not move learns nothing
MIN_ACCURACY = 0.97  # 97.6% to 97.9% at seeds 0 to 2 after one epoch; the broken script ~10%
VALIDATION_FRACTION, SEED = 0.1, 0  # the split the script's docstring promises

_loaded: dict = {}  # load_data's arrays, loaded once for the tests that need them


def script_data(exercise) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) as the exercise's load_data gives them, once."""
    if not _loaded:
        _loaded["data"] = tuple(np.asarray(array) for array in exercise.load_data())
    return _loaded["data"]


def as_digits(labels: np.ndarray) -> np.ndarray:
    """Integer labels, whether given as integers or as one-hot rows."""
    labels = np.asarray(labels)
    return labels.argmax(axis=1) if labels.ndim == 2 else labels.astype(np.int64)


def labels_like(script_labels: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """`digits` in the form load_data gives its labels: integers, or one-hot rows."""
    return one_hot(digits) if np.ndim(script_labels) == 2 else digits


def drawn(images: np.ndarray) -> list[bytes]:
    """Which pixels each image draws (not black), packed: the same for an image however scaled."""
    images = np.asarray(images)
    return [row.tobytes() for row in np.packbits(images.reshape(len(images), -1) > 0, axis=1)]


def test_load_data_hands_the_model_pixels_from_0_to_1(exercise):
    x_train, _, x_val, _ = script_data(exercise)
    for name, images in (("x_train", x_train), ("x_val", x_val)):
        low, high = float(images.min()), float(images.max())
        assert low == 0 and abs(high - 1) < 1e-6, (
            f"the pixels the model sees ({name} from load_data) range from {low:.4g} to "
            f"{high:.4g}: a white pixel should be 1.0 and a black one 0.0. Print the range "
            "after each step of load_data: which line changes it?"
        )


def test_each_image_keeps_its_own_label(exercise, mnist):
    x_train, y_train, x_val, y_val = script_data(exercise)
    library: dict[bytes, list[int]] = {}
    for index, key in enumerate(drawn(mnist.train.images)):
        library.setdefault(key, []).append(index)
    for part, images, labels in (("training", x_train, y_train), ("validation", x_val, y_val)):
        digits = as_digits(labels)
        checked = min(CHECKED_IMAGES, len(images))
        wrong = []
        for i, key in enumerate(drawn(images[:checked])):
            found = library.get(key)
            if found is None:
                pytest.fail(
                    f"{part} image {i} from load_data is none of the library's training images "
                    "(load_mnist): load_data should hand over MNIST's own images, scaled",
                    pytrace=False,
                )
            if digits[i] not in {int(mnist.train.labels[j]) for j in found}:
                wrong.append((i, found[0]))
        if wrong:
            i, j = wrong[0]
            pytest.fail(
                f"{len(wrong)} of the first {checked} {part} images from load_data carry a label "
                f"that is not theirs: {part} image {i} is labelled {digits[i]}, but it is the "
                f"library's training image {j:,}, a {mnist.train.labels[j]}. Show a few images "
                "with their labels as captions: does each label name the digit drawn? Then "
                "follow the images and the labels through load_data, step by step.",
                pytrace=False,
            )
    # Leaving the shuffle out would pass the above by removing what it looks at: the script
    # shuffles the training set so that every batch mixes the digits, and so must the fix.
    train_idx, _ = stratified_split(mnist.train.labels, VALIDATION_FRACTION, SEED)
    checked = min(CHECKED_IMAGES, len(x_train))
    unshuffled = all(
        int(train_idx[i]) in library.get(key, []) for i, key in enumerate(drawn(x_train[:checked]))
    )
    assert not unshuffled, (
        f"the first {checked} training images from load_data are the split's first {checked}, in "
        "the split's order: they are no longer shuffled. The script shuffles the training set so "
        "that every batch mixes the digits; leaving the shuffle out hides the mismatched labels "
        "rather than fixing them. Shuffle the images and their labels with one order "
        "(rng.permutation), so that each image keeps its label"
    )


def test_the_loss_at_step_0_is_near_ln_10(exercise, mnist, note):
    _, y_train, _, _ = script_data(exercise)
    keras.utils.set_random_seed(SEED)
    model = exercise.compile_model(exercise.build_model())
    model.run_eagerly = True  # one evaluation: not worth compiling a graph for
    count = 500
    images = normalize(mnist.train.images[:count])
    labels = labels_like(y_train, mnist.train.labels[:count].astype(np.int64))
    results = model.evaluate(images, labels, batch_size=count, verbose=0, return_dict=True)
    loss = float(results["loss"])
    if not abs(loss - math.log(10)) <= STEP_0_TOLERANCE:
        sums = np.asarray(model.predict(images[:5], verbose=0)).sum(axis=1)
        pytest.fail(
            f"the loss at step 0, before any training, is {loss:.2f} on {count} images of 10 "
            "digits: an untrained model guesses about evenly, so it should be near "
            "ln 10 = 2.30. The model's outputs for five images sum to "
            f"{', '.join(f'{total:.2f}' for total in sums)}: rows that sum to 1 are "
            "probabilities, anything else is logits. Does the loss expect probabilities or "
            "logits?",
            pytrace=False,
        )
    note(f"before any training the model's loss is {loss:.2f} (ln 10 = 2.30)")


def test_one_training_step_moves_the_weights_a_little(exercise, mnist):
    _, y_train, _, _ = script_data(exercise)
    keras.utils.set_random_seed(SEED)
    model = exercise.compile_model(exercise.build_model())
    model.run_eagerly = True  # one step: not worth compiling a graph for
    count = 128
    images = normalize(mnist.train.images[:count])
    labels = labels_like(y_train, mnist.train.labels[:count].astype(np.int64))
    weights = model.weights  # all of them: a frozen layer's too
    before = [keras.ops.convert_to_numpy(weight).copy() for weight in weights]
    model.train_on_batch(images, labels)
    after = [keras.ops.convert_to_numpy(weight) for weight in weights]
    moved = max(float(np.max(np.abs(new - old))) for new, old in zip(after, before, strict=True))
    size = max(float(np.max(np.abs(old))) for old in before)
    try:
        rate = f"{float(np.asarray(model.optimizer.learning_rate)):g}"
    except (TypeError, ValueError):  # a schedule
        rate = repr(model.optimizer.learning_rate)
    assert moved <= MAX_STEP, (
        f"one training step on {count} images moved some weights by {moved:.3g}, while the "
        f"fresh network's weights all lie within ±{size:.2g}: steps that big throw away what "
        "the model has learned, and the loss jumps about or turns into nan. Steps of about "
        f"0.001 are usual. The optimizer's learning rate is {rate}."
    )
    assert moved >= MIN_STEP, (
        f"one training step on {count} images moved no weight by more than {moved:.3g}: a "
        "network whose weights stay put learns nothing, whatever its loss says. Are its layers "
        f"trainable, and does the step have a size? Steps of about 0.001 are usual. The "
        f"optimizer's learning rate is {rate}."
    )


@pytest.mark.slow
def test_the_fixed_script_reaches_97_percent_in_one_epoch(exercise, mnist, note):
    history = exercise.main()
    model = getattr(history, "model", None)
    assert isinstance(model, keras.Model), (
        "main() should return the History of its training (what train returns), "
        f"but it returned {type(history).__name__}"
    )
    epochs = len(history.history.get("loss", []))
    _, val_idx = stratified_split(mnist.train.labels, VALIDATION_FRACTION, SEED)
    images, labels = normalize(mnist.train.images[val_idx]), mnist.train.labels[val_idx]
    predicted = np.argmax(model.predict(images, batch_size=1000, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == labels))
    assert accuracy >= MIN_ACCURACY, (
        f"after {epochs} epoch(s) the script's model gets {accuracy:.2%} of the "
        f"{len(labels):,} validation images right (scored with their true labels); a blind "
        f"guess gets 10%, a working script at least {MIN_ACCURACY:.0%} after one epoch. "
        "Fix what the other tests point to first."
    )
    assert epochs == 1, f"the script should reach it in one epoch, but it trained {epochs}"
    note(
        f"after one epoch the fixed script gets {accuracy:.2%} of the {len(labels):,} "
        "validation images right"
    )
