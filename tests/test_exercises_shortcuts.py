"""Shortcuts through exercises 8, 12 and 15 that must fail, beside their solutions that pass.

Exercise 12 trained on its validation digits, exercise 8 registering a zoo model's copy, and
exercise 15 "fixed" by removing what its tests look at: each is written into the solution and
checked with the exercise's own tests, in a fresh pytest process (the command line of
`exercises.run_tests`), as `mnist-lab exercises check` runs them. The solutions pass in
tests/test_exercises_cli.py.

Each process starts TensorFlow (3 to 4 s), so drafts of different exercises share one, as a
student's exercises/ holds one file of each (tests/exercise_runs.py): eight runs became three.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from exercise_runs import Drafts

from mnist_lab.course import exercises
from mnist_lab.course.exercises import stubs

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)


def solution_with(number: int, function: str, body: str) -> str:
    """Exercise `number`'s solution with the written part of `function` replaced by `body`."""
    text = exercises.find(CATALOG, number).solution.read_text()
    block = stubs._SOLUTION_BLOCK.search(text, text.index(f"def {function}("))
    body = textwrap.indent(textwrap.dedent(body), block["indent"])
    return text[: block.start()] + body + text[block.end() :]


def told(draft: str) -> dict[str, str]:
    """What the tests run on `draft` (a name of DRAFTS) say of it, by failing test."""
    return DRAFTS.told(draft)


# --- exercise 12: training on the validation digits ------------------------------------------

# The plain network, no regularization at all, trained on its validation digits as well: its
# loss on those digits is tiny, and its loss on new digits alone would pass.
TRAINS_ON_VALIDATION = """\
    both_x, both_y = np.concatenate([x, x_val]), np.concatenate([y, y_val])
    history = model.fit(
        both_x, both_y, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
        verbose=0,
    )
    return history.history
"""
# The same number of images as asked, a few training digits swapped for validation ones.
SWAPS_IN_VALIDATION = """\
    mixed = np.concatenate([x[: len(x) - 16], x_val[:16]])
    labels = np.concatenate([y[: len(y) - 16], y_val[:16]])
    history = model.fit(
        mixed, labels, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
        verbose=0,
    )
    return history.history
"""
FIT_TEST = "test_regularized_fit_trains_on_x_and_validates_on_x_val"
EXPERIMENT_TEST = "test_regularization_lowers_the_final_validation_loss"


@pytest.mark.parametrize(
    ("draft", "count"),
    [("ex12-trains-on-validation", 128), ("ex12-swaps-in-validation", 32)],
    ids=["all", "16"],
)
def test_exercise_12_training_on_the_validation_digits_is_told_at_once(draft, count):
    assert {FIT_TEST: told(draft).get(FIT_TEST)} == {
        FIT_TEST: (
            f"regularized_fit trained the network on {count} images that are validation digits "
            "(x_val): they measure the network on digits it never trains on, so they must never "
            "be trained on. Train on x and y only"
        )
    }


def test_exercise_12_training_on_the_validation_digits_fails_the_experiment():
    """The experiment judges both networks on digits no function receives; the network that
    trained on its validation digits gives itself away there (18 s on 2 idle cores: under a
    minute, so not `slow`)."""
    message = told("ex12-trains-on-validation")[EXPERIMENT_TEST]
    assert message.startswith("your network's loss is 0.0")
    assert (
        " on the 500 validation digits regularized_fit was given, but 0.1" in message
        and " on 5,000 digits it never received (" in message
    ), message
    assert message.endswith(
        "standard errors apart): it has learned the validation digits. Train on x and y only; "
        "x_val and y_val measure the network, they never train it"
    )


# --- exercise 8: a copy of a zoo model -------------------------------------------------------

REGISTERED = """\
import keras

from mnist_lab import register_model
from mnist_lab.recipes import Recipe


@register_model("my-model", description="All mine, surely.", recipe=Recipe(epochs=5))
def my_model() -> keras.Model:
{body}
"""
# The reference, its layers renamed, another seed, other initial weights.
REFERENCE_RENAMED = """\
    keras.utils.set_random_seed(7)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_normal", name="mine"),
            layers.MaxPooling2D(2, name="also_mine"),
            layers.Conv2D(64, (3, 3), activation="relu", bias_initializer="ones"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(name="flat"),
            layers.Dense(128, activation="relu", name="hidden"),
            layers.Dense(10, activation="softmax", name="digits"),
        ],
        name="my_own",
    )
"""
# `fast`, nested in a model of its own, with layers that change nothing added.
FAST_NESTED = """\
    layers = keras.layers
    inner = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Rescaling(1 / 0.3081, offset=-0.1307 / 0.3081),
            layers.Identity(),
            layers.Cropping2D(2),
            layers.Conv2D(32, kernel_size=6, strides=2, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(48, kernel_size=3, activation="relu"),
            layers.Activation("linear"),
            layers.Flatten(),
            layers.Dropout(0.0),
            layers.Dense(256, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), inner])
"""
DESIGN_TEST = "test_my_model_is_your_own_design"


@pytest.mark.parametrize(
    ("draft", "zoo"),
    [("ex8-reference-renamed", "reference"), ("ex8-fast-nested", "fast")],
    ids=["reference-renamed-reseeded", "fast-nested-padded"],
)
def test_exercise_8_registering_a_copy_of_a_zoo_model_fails(draft, zoo):
    assert told(draft) == {
        DESIGN_TEST: (
            f"'my-model' has the same layers as the zoo's '{zoo}', in the same order and sizes "
            "(layer names, seeds and initial weights are not a design): exercise 8 asks for a "
            "model of your own design. Change its layers (their kinds, order or sizes) and "
            "compare on validation accuracy"
        )
    }


ZOOS_BUILDER = (
    "from mnist_lab import register_model\n"
    "from mnist_lab.models.zoo.lenet import lenet5\n\n"
    'register_model("my-model", description="LeNet, renamed.")(lenet5)\n'
)


def test_exercise_8_registering_the_zoos_builder_fails():
    assert told("ex8-zoos-builder") == {
        DESIGN_TEST: (
            "exercise 8 asks for a model of your own design: mnist_lab.models.zoo.lenet.lenet5 was "
            "called: lenet5 in ex08_my_model.py is that very function; write your own with a def"
        )
    }


# --- exercise 15: removing what the tests look at ----------------------------------------------

SHUFFLE = (
    "    order = rng.permutation(len(x_train))\n"
    "    x_train, y_train = x_train[order], y_train[order]\n"
)
COMPILE = "    model.compile(\n"


def fixed_script_with(old: str, new: str) -> str:
    """Exercise 15's fixed script with `old` replaced by `new`."""
    text = exercises.solution_text(exercises.find(CATALOG, 15))
    assert text.count(old) == 1, f"the fixed script no longer holds {old!r}"
    return text.replace(old, new)


SHUFFLE_TEST = "test_each_image_keeps_its_own_label"
STEP_TEST = "test_one_training_step_moves_the_weights_a_little"


def test_exercise_15_without_the_shuffle_fails():
    """Labels no longer mismatched because nothing is shuffled: the bug hidden, not fixed."""
    assert told("ex15-without-the-shuffle") == {
        SHUFFLE_TEST: (
            "the first 100 training images from load_data are the split's first 100, in the "
            "split's order: they are no longer shuffled. The script shuffles the training set so "
            "that every batch mixes the digits; leaving the shuffle out hides the mismatched "
            "labels rather than fixing them. Shuffle the images and their labels with one order "
            "(rng.permutation), so that each image keeps its label"
        )
    }


def test_exercise_15_with_frozen_weights_fails():
    """Steps no longer too large because the weights cannot move at all."""
    assert told("ex15-frozen-weights") == {
        STEP_TEST: (
            "one training step on 128 images moved no weight by more than 0: a network whose "
            "weights stay put learns nothing, whatever its loss says. Are its layers trainable, "
            "and does the step have a size? Steps of about 0.001 are usual. The optimizer's "
            "learning rate is 0.001."
        )
    }


# --- the drafts, checked a few at a time ------------------------------------------------------

# Each draft: (exercise, its file's text, made when checked, the tests run on it).
DRAFTS = Drafts(
    {
        "ex12-trains-on-validation": (
            12,
            lambda: solution_with(12, "regularized_fit", TRAINS_ON_VALIDATION),
            [FIT_TEST, EXPERIMENT_TEST],
        ),
        "ex12-swaps-in-validation": (
            12,
            lambda: solution_with(12, "regularized_fit", SWAPS_IN_VALIDATION),
            [FIT_TEST],
        ),
        "ex8-reference-renamed": (
            8,
            lambda: REGISTERED.format(body=REFERENCE_RENAMED.rstrip("\n")),
            [DESIGN_TEST],
        ),
        "ex8-fast-nested": (
            8,
            lambda: REGISTERED.format(body=FAST_NESTED.rstrip("\n")),
            [DESIGN_TEST],
        ),
        "ex8-zoos-builder": (8, lambda: ZOOS_BUILDER, [DESIGN_TEST]),
        "ex15-without-the-shuffle": (15, lambda: fixed_script_with(SHUFFLE, ""), [SHUFFLE_TEST]),
        "ex15-frozen-weights": (
            15,
            lambda: fixed_script_with(COMPILE, "    model.trainable = False\n" + COMPILE),
            [STEP_TEST],
        ),
    }
)
