"""Exercise 12, overfitting: reading a History, and a regularized reference that generalizes better.

`best_epoch` and `generalization_gap` are checked exactly on hand-made histories and with
hypothesis. The regularized network must keep the reference's convolutions and dense layers
(225,034 weights in them) and be your own design. The slow test trains the plain reference and
yours on the same 1,000 digits from the same seed, both compiled here the same way (Adam, the
learning rate decaying from 1e-3 to 0, so that the last epoch does not land on a random bump),
and judges them on 5,000 other training digits that neither receives: a network that trained on
its 500 validation digits gains nothing there, and its loss on those digits, far below its loss
on the held-out ones, gives it away. The test set is not used.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab import registry
from mnist_lab.preprocess import normalize, one_hot, stratified_split

EXERCISE = "ex12_overfitting.py"
SEED = 0
TRAIN_IMAGES, VALIDATION_IMAGES, EPOCHS, BATCH_SIZE = 1000, 500, 20, 32
LOWER_BY = 0.10  # the regularized final held-out loss must be at least 10% below the plain one
# Training digits that neither network is given: both are judged on them, so that a network that
# trained on its validation digits gains nothing from it.
HELD_OUT = 5_000
# A network's loss on the validation digits it was given and on the held-out digits estimate the
# same thing unless it trained on the former: more standard errors apart than this, it did.
# Measured on 2026-12-05 (seed 0): 0.25 for the plain reference, 0.42 for the solution; a fit
# that also trains on the validation digits, 5.4 with the solution's dropout and 12.6 without
# (whose held-out loss, 20% below the plain one, would otherwise pass).
MEMORIZED_Z = 3.5
# The reference's layers with weights: (kind, size, kernel, activation, weights).
REFERENCE_LAYERS = [
    ("Conv2D", 32, (3, 3), "relu", 320),
    ("Conv2D", 64, (3, 3), "relu", 18_496),
    ("Dense", 128, None, "relu", 204_928),
    ("Dense", 10, None, "softmax", 1_290),
]


def history(loss, val_loss) -> dict:
    return {"loss": list(loss), "val_loss": list(val_loss)}


# --- best_epoch -------------------------------------------------------------------------------


def test_best_epoch_counts_from_1(exercise):
    value = history([0.9, 0.4, 0.2, 0.1, 0.05], [0.8, 0.5, 0.3, 0.35, 0.4])
    got = exercise.best_epoch(value)
    assert got == 3, (
        f"the validation losses {value['val_loss']} are lowest in the third epoch, so "
        f"best_epoch should be 3 (epochs count from 1, as Keras prints them), but it gave {got!r}"
    )


def test_best_epoch_reads_the_validation_loss(exercise):
    value = history([0.9, 0.4, 0.2, 0.1, 0.05], [0.6, 0.3, 0.32, 0.4, 0.5])
    got = exercise.best_epoch(value)
    assert got == 2, (
        "the training loss falls to the end, but the validation loss is lowest in epoch 2: "
        f"best_epoch should look at history['val_loss'] and give 2, but it gave {got!r}"
    )


def test_best_epoch_takes_the_first_of_equal_losses(exercise):
    got = exercise.best_epoch(history([0.5, 0.3, 0.2, 0.1], [0.5, 0.25, 0.25, 0.3]))
    assert got == 2, (
        "epochs 2 and 3 share the lowest validation loss, 0.25: best_epoch should give the "
        f"first, 2 (training could have stopped there), but it gave {got!r}"
    )


@settings(max_examples=80, report_multiple_bugs=False)
@given(losses=st.lists(st.floats(0, 10), min_size=1, max_size=30))
def test_best_epoch_on_drawn_histories(exercise, losses):
    expected = int(np.argmin(losses)) + 1
    got = exercise.best_epoch(history([1.0] * len(losses), losses))
    assert isinstance(got, (int, np.integer)) and not isinstance(got, bool), (
        f"best_epoch should return an int, got {type(got).__name__}"
    )
    assert got == expected, (
        f"for validation losses {losses}, the lowest is in epoch {expected} (counted from 1, "
        f"the first of equal ones), but best_epoch gave {got!r}"
    )


# --- generalization_gap -----------------------------------------------------------------------


def test_generalization_gap_at_the_last_epoch(exercise):
    value = history([0.9, 0.3, 0.01], [0.5, 0.25, 0.21])
    got = exercise.generalization_gap(value)
    assert isinstance(got, float), f"generalization_gap should return a float, got {got!r}"
    assert math.isclose(got, 0.20, abs_tol=1e-12), (
        "at the last epoch the validation loss is 0.21 and the training loss 0.01, so the gap "
        f"(validation minus training) should be 0.20, but generalization_gap gave {got!r}"
    )


def test_generalization_gap_at_a_given_epoch(exercise):
    value = history([0.9, 0.3, 0.01], [0.5, 0.25, 0.21])
    got = exercise.generalization_gap(value, epoch=2)
    assert math.isclose(got, -0.05, abs_tol=1e-12), (
        "in epoch 2 (counted from 1) the validation loss is 0.25 and the training loss 0.3, so "
        f"generalization_gap(history, epoch=2) should be -0.05 (validation minus training: "
        f"negative while the network still learns), but it gave {got!r}"
    )


@settings(max_examples=80, report_multiple_bugs=False)
@given(data=st.data(), epochs=st.integers(1, 20))
def test_generalization_gap_on_drawn_histories(exercise, data, epochs):
    values = st.lists(st.floats(0, 5), min_size=epochs, max_size=epochs)
    loss, val_loss = data.draw(values, label="loss"), data.draw(values, label="val_loss")
    epoch = data.draw(st.one_of(st.none(), st.integers(1, epochs)), label="epoch")
    index = -1 if epoch is None else epoch - 1
    got = exercise.generalization_gap(history(loss, val_loss), epoch=epoch)
    expected = val_loss[index] - loss[index]
    assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12), (
        f"generalization_gap(history, epoch={epoch}) should be val_loss - loss at "
        f"{'the last epoch' if epoch is None else f'epoch {epoch}'}, {expected!r}, but it gave "
        f"{got!r}"
    )


# --- the regularized network ------------------------------------------------------------------


def built(exercise):
    model = exercise.build_regularized_model()
    assert isinstance(model, keras.Model), (
        f"build_regularized_model should return a keras.Model, got {type(model).__name__}"
    )
    return model


def weighted_layers(model) -> list:
    """The Conv2D and Dense layers of a model, nested models included, in order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += weighted_layers(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            found.append(layer)
    return found


def describe(layer) -> tuple:
    kind = type(layer).__name__
    size = layer.filters if kind == "Conv2D" else layer.units
    kernel = tuple(layer.kernel_size) if kind == "Conv2D" else None
    activation = getattr(layer.activation, "__name__", str(layer.activation))
    return (kind, size, kernel, activation, int(layer.count_params()))


def test_regularized_model_keeps_the_reference_layers(exercise):
    model = built(exercise)
    got = [describe(layer) for layer in weighted_layers(model)]
    expected = REFERENCE_LAYERS
    assert got == expected, (
        "the regularized network should keep the reference's layers with weights, in order: "
        + "; ".join(
            f"{k} {s}{' 3x3' if c else ''} {a} ({w:,} weights)" for k, s, c, a, w in expected
        )
        + ". Yours has: "
        + (
            "; ".join(f"{k} {s}{' 3x3' if c else ''} {a} ({w:,} weights)" for k, s, c, a, w in got)
            or "none"
        )
        + ". Add regularization around them (Dropout, layers that augment, L2 on their weights); "
        "the comparison with the plain network is only fair with the same layers (a Dense 128 "
        "of 204,928 weights needs both 2x2 poolings)"
    )


def test_regularized_model_takes_digits_and_gives_probabilities(exercise, mnist):
    model = built(exercise)
    probabilities = np.asarray(model(normalize(mnist.train.images[:4]), training=False))
    assert probabilities.shape == (4, 10), (
        f"for 4 digits (4, 28, 28, 1) the network should give (4, 10), got {probabilities.shape}"
    )
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5), (
        "each row of the output should be 10 probabilities summing to 1 (a softmax at the end), "
        f"but the rows sum to {probabilities.sum(axis=1).round(4).tolist()}"
    )


def test_regularized_model_is_your_own_design(exercise):
    # build_regularized_model runs under the own-code rule of the manifest, as in every test:
    # this one fails alone when it calls the zoo or create_model (say, for reference-dropout).
    built(exercise)


# --- regularized_fit, on a model that records its batches -------------------------------------


class Recording(keras.Sequential):
    """A Sequential model that counts the images it trains on and keeps what it validates on."""

    def __init__(self, layers):
        super().__init__(layers)
        self.trained: list[int] = []
        self.trained_on: list[np.ndarray] = []
        self.validated_on: list[np.ndarray] = []

    def train_step(self, data):
        self.trained.append(int(np.shape(data[0])[0]))
        self.trained_on.append(np.array(data[0]))
        return super().train_step(data)

    def test_step(self, data):
        self.validated_on.append(np.array(data[0]))
        return super().test_step(data)


def test_regularized_fit_trains_on_x_and_validates_on_x_val(exercise, mnist):
    keras.utils.set_random_seed(SEED)
    model = Recording(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], run_eagerly=True
    )
    x, y = normalize(mnist.train.images[:160]), one_hot(mnist.train.labels[:160])
    x_val, y_val = normalize(mnist.train.images[200:264]), one_hot(mnist.train.labels[200:264])
    result = exercise.regularized_fit(model, x, y, x_val, y_val, epochs=2, seed=SEED)
    assert isinstance(result, dict), (
        "regularized_fit should return the History's dict (history.history), got "
        f"{type(result).__name__}"
    )
    epochs = len(result.get("val_loss", []))
    assert 1 <= epochs <= 2, (
        f"regularized_fit(..., epochs=2) should train at most 2 epochs and return one "
        f"val_loss per epoch, but history['val_loss'] has {epochs} values: pass "
        "validation_data=(x_val, y_val) to fit"
    )
    trained = np.concatenate(model.trained_on) if model.trained_on else np.zeros((0, 28, 28, 1))
    validation = x_val.reshape(len(x_val), -1)
    nearest = np.array(  # each trained image's mean pixel difference to the closest x_val digit
        [np.abs(validation - image.reshape(1, -1)).mean(axis=1).min() for image in trained]
    )
    copied = int(np.sum(nearest < 0.01))
    assert copied == 0, (
        f"regularized_fit trained the network on {copied} images that are validation digits "
        "(x_val): they measure the network on digits it never trains on, so they must never be "
        "trained on. Train on x and y only"
    )
    assert sum(model.trained) == epochs * len(x), (
        f"each epoch should train on the {len(x)} training images once, but the model trained "
        f"on {sum(model.trained)} images in {epochs} epochs"
    )
    assert model.trained and max(model.trained) <= BATCH_SIZE, (
        f"train in batches of BATCH_SIZE = {BATCH_SIZE}, as the plain network does, but the "
        f"largest batch held {max(model.trained, default=0)} images"
    )
    seen = np.concatenate(model.validated_on) if model.validated_on else np.zeros((0,))
    assert seen.shape[0] % len(x_val) == 0 and np.array_equal(seen[: len(x_val)], x_val), (
        "the validation images should be passed to fit as they are, as "
        "validation_data=(x_val, y_val): they measure the network on digits it never trains on"
    )


# --- the experiment ---------------------------------------------------------------------------


def experiment_data(mnist):
    """1,000 digits to train on and 500 to validate on, as the exercise's overfitting_data."""
    rng = np.random.default_rng(SEED)
    chosen = np.sort(rng.permutation(len(mnist.train.labels))[: TRAIN_IMAGES + VALIDATION_IMAGES])
    labels = mnist.train.labels[chosen]
    fraction = VALIDATION_IMAGES / (TRAIN_IMAGES + VALIDATION_IMAGES)
    train_idx, val_idx = stratified_split(labels, fraction, SEED)
    x, y = normalize(mnist.train.images[chosen]), one_hot(labels)
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def compiled(model) -> keras.Model:
    """Adam with a learning rate from 1e-3 down to 0 over the epochs, as both networks get."""
    steps = EPOCHS * math.ceil(TRAIN_IMAGES / BATCH_SIZE)
    rate = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=8,  # 8 batches per call into TensorFlow: the same steps, faster
    )
    return model


def held_out_data(mnist):
    """HELD_OUT training digits outside the experiment's 1,500, model-ready: no function of the
    exercise receives them."""
    order = np.random.default_rng(SEED).permutation(len(mnist.train.labels))
    held = np.sort(order[TRAIN_IMAGES + VALIDATION_IMAGES :][:HELD_OUT])
    return normalize(mnist.train.images[held]), one_hot(mnist.train.labels[held])


def image_losses(model, x, y) -> np.ndarray:
    """The crossentropy of each digit (an L2 penalty is not part of it)."""
    probabilities = np.clip(model.predict(x, batch_size=500, verbose=0), 1e-7, 1 - 1e-7)
    return -np.log(np.sum(probabilities * y, axis=1))


def apart(given: np.ndarray, held: np.ndarray) -> float:
    """How many standard errors the mean loss on the held-out digits lies above the mean loss on
    the digits given to the network."""
    error = math.sqrt(given.var() / len(given) + held.var() / len(held))
    return float((held.mean() - given.mean()) / error) if error > 0 else 0.0


@pytest.mark.slow
def test_regularization_lowers_the_final_validation_loss(exercise, mnist, note):
    built(exercise)  # before the long plain training: a missing function fails at once
    x, y, x_val, y_val = experiment_data(mnist)
    x_held, y_held = held_out_data(mnist)
    keras.utils.set_random_seed(SEED)
    plain = compiled(registry.create_model("reference"))
    plain_history = plain.fit(
        x, y, validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0
    ).history
    plain_loss = float(image_losses(plain, x_held, y_held).mean())
    best = int(np.argmin(plain_history["val_loss"])) + 1
    plain_gap = plain_history["val_loss"][-1] - plain_history["loss"][-1]
    # The plain network overfits: it learns its 1,000 digits by heart, and what it learns does
    # not carry over to the validation digits.
    assert plain_history["loss"][-1] < 0.05 and plain_gap > 0.1, (
        f"the plain reference should overfit its {TRAIN_IMAGES:,} digits, but its final "
        f"training loss is {plain_history['loss'][-1]:.4f} and its validation loss "
        f"{plain_history['val_loss'][-1]:.4f}: is the data as the exercise describes?"
    )
    got = exercise.best_epoch(plain_history)
    assert got == best, (
        f"on the plain network's History, best_epoch gave {got!r}; the lowest validation loss "
        f"is in epoch {best}"
    )

    keras.utils.set_random_seed(SEED)
    model = compiled(built(exercise))
    result = exercise.regularized_fit(model, x, y, x_val, y_val, epochs=EPOCHS, seed=SEED)
    epochs = len(result.get("val_loss", [])) if isinstance(result, dict) else 0
    on_given, on_held = image_losses(model, x_val, y_val), image_losses(model, x_held, y_held)
    distance = apart(on_given, on_held)
    assert distance <= MEMORIZED_Z, (
        f"your network's loss is {on_given.mean():.3f} on the {VALIDATION_IMAGES} validation "
        f"digits regularized_fit was given, but {on_held.mean():.3f} on {HELD_OUT:,} digits it "
        f"never received ({distance:.1f} standard errors apart): it has learned the validation "
        "digits. Train on x and y only; x_val and y_val measure the network, they never train it"
    )
    regularized_loss = float(on_held.mean())
    lower = 1 - regularized_loss / plain_loss
    report = (
        f"plain reference: lowest validation loss {min(plain_history['val_loss']):.3f} in epoch "
        f"{best} of {EPOCHS}, final {plain_history['val_loss'][-1]:.3f}, training loss "
        f"{plain_history['loss'][-1]:.4f} (gap {plain_gap:.3f}), loss on {HELD_OUT:,} held-out "
        f"digits {plain_loss:.3f}; yours after {epochs} epochs: loss on the held-out digits "
        f"{regularized_loss:.3f}, "
        + (f"{lower:.0%} lower" if lower >= 0 else f"{-lower:.0%} higher")
    )
    assert regularized_loss <= (1 - LOWER_BY) * plain_loss, (
        f"{report}; it should be at least {LOWER_BY:.0%} lower. " + advice(result)
    )
    note(report)


def advice(history) -> str:
    """What to look at when the regularized network is not better enough: a network that no
    longer overfits (its gap negative) needs less regularization, not more."""
    losses = history if isinstance(history, dict) else {}
    if losses.get("loss") and losses.get("val_loss"):
        gap = losses["val_loss"][-1] - losses["loss"][-1]
        if gap < 0:
            return (
                f"Your network's final gap is negative ({gap:.3f}: its training loss "
                f"{losses['loss'][-1]:.3f} is above its validation loss "
                f"{losses['val_loss'][-1]:.3f}), so it is not learning its digits by heart: "
                "more regularization will not help. It fits too little: try a weaker "
                "regularization (a lower dropout rate, a smaller penalty, milder augmentation)"
            )
    return (
        "Compare the two Histories with best_epoch and generalization_gap: where does the plain "
        "one's validation loss stop falling, and does yours? The exercise's page shows how much "
        "each kind of regularization changed this network in one measured run"
    )
