"""Exercise 12: overfitting, and what to do about it.

Give the reference network 1,000 digits and enough epochs, and it learns them by heart: its
training loss falls towards 0 while its loss on the validation images, digits it never trains
on, stops falling after a few epochs and stays far above. The network has 225,034 weights for
1,000 images; it can fit every training image exactly, including what is peculiar to each, and
that does not carry over to new digits. That is overfitting. The History shows it: the epoch of
the lowest validation loss (where training could have stopped), and the gap between the
validation loss and the training loss (how much of what it learned does not carry over).

Regularization makes the network learn what carries over. Dropout switches off a random part of
a layer's units at every step, so no unit can count on another; an L2 penalty in the loss keeps
the weights small (under Adam it is not weight decay: the page says why); augmentation moves
and turns the training digits a little in every epoch (exercise 13), so there is no single
image to learn by heart; early stopping keeps the weights of the epoch with the lowest
validation loss. Which one, and how strong, is your choice, and not every one helps every
network: measure, do not guess. The check trains your network as `regularized_fit` does and
compares its final loss with the plain network's, trained on the same digits from the same
seed, on 5,000 other training digits that no function here receives (a network trained on its
validation digits gains nothing there, and is caught); both are compiled the same way
(`compile_for_experiment`, a learning rate that decays to 0, so the last epoch does not land on
a random bump).

The validation images come from the training set, by the seeded stratified split (exercise 3);
the test set is not used in this exercise at all. Choices made by looking at test images would
make the test score a flattering guess.

`overfitting_data`, `compile_for_experiment` and `train_plain` are given: the experiment without
regularization. Once your functions are written, `python exercises/ex12_overfitting.py` (about a
minute) trains both networks and prints what their histories say.

Write the four functions below, then run `mnist-lab exercises check 12`.

Course page: docs/exercises/12-overfitting.md
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mnist_lab import registry
from mnist_lab.preprocess import normalize, one_hot, stratified_split

TRAIN_IMAGES, VALIDATION_IMAGES = 1000, 500
EPOCHS, BATCH_SIZE = 20, 32
LEARNING_RATE = 1e-3  # at the start; it decays to 0 by the last epoch

# A History's `.history`: one value per epoch, e.g. {"loss": [...], "val_loss": [...], ...}
History = dict[str, list[float]]


def overfitting_data(
    images: np.ndarray, labels: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, x_val, y_val): 1,000 digits to train on and 500 to validate on, model-ready.

    Drawn at random (seeded) from MNIST's training images, then split by the seeded stratified
    split, so each digit keeps its share in both parts.
    """
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(len(labels))[: TRAIN_IMAGES + VALIDATION_IMAGES])
    fraction = VALIDATION_IMAGES / (TRAIN_IMAGES + VALIDATION_IMAGES)
    train_idx, val_idx = stratified_split(labels[chosen], fraction, seed)
    x, y = normalize(images[chosen]), one_hot(labels[chosen])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def compile_for_experiment(model: Any) -> Any:
    """Compile with Adam, its learning rate decaying from 1e-3 to 0 over EPOCHS epochs."""
    import keras

    steps = EPOCHS * math.ceil(TRAIN_IMAGES / BATCH_SIZE)
    rate = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=8,  # 8 batches per call into TensorFlow: the same steps, faster
    )
    return model


def train_plain(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int = 0
) -> tuple[Any, History]:
    """The reference network trained for EPOCHS epochs without regularization."""
    import keras

    keras.utils.set_random_seed(seed)
    model = compile_for_experiment(registry.create_model("reference"))
    history = model.fit(
        x, y, validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0
    )
    return model, history.history


def best_epoch(history: History) -> int:
    """The epoch, counted from 1, with the lowest validation loss (the first of equal ones)."""
    # TODO: return the position, counted from 1, of the smallest value of history["val_loss"]
    raise NotImplementedError('Exercise 12: return the position, counted from 1, of the smallest value of history["val_loss"]. Run \'mnist-lab exercises hint 12\' for a hint.')


def generalization_gap(history: History, epoch: int | None = None) -> float:
    """Validation loss minus training loss at `epoch` (counted from 1; the last if None)."""
    # TODO: return history["val_loss"] minus history["loss"] at that epoch (index epoch - 1, or -1 for the last), as a float
    raise NotImplementedError('Exercise 12: return history["val_loss"] minus history["loss"] at that epoch (index epoch - 1, or -1 for the last), as a float. Run \'mnist-lab exercises hint 12\' for a hint.')


def build_regularized_model() -> Any:
    """The reference network with regularization of your choice, uncompiled.

    Keep the reference's four layers with weights, in order: Conv2D 32 (3x3, ReLU), Conv2D 64
    (3x3, ReLU), Dense 128 (ReLU), Dense 10 (softmax), each convolution followed by 2x2 max
    pooling; add what you like around them (Dropout, layers that augment, L2 on the weights).
    Leave it uncompiled: `compile_for_experiment` compiles it as it compiles the plain network.
    """
    # TODO: return a keras.Sequential of the reference's layers with regularization added (Dropout layers, for instance), uncompiled
    raise NotImplementedError("Exercise 12: return a keras.Sequential of the reference's layers with regularization added (Dropout layers, for instance), uncompiled. Run 'mnist-lab exercises hint 12' for a hint.")


def regularized_fit(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int = EPOCHS,
    seed: int = 0,
) -> History:
    """Train the compiled `model` for at most `epochs` epochs; return the History's dict.

    Each epoch is one pass over the training digits (or a moved copy of them) in batches of
    BATCH_SIZE, as for the plain network, validated on (x_val, y_val) as they are. The model
    arrives compiled: do not compile it again. The model as this function leaves it is the one
    judged (with early stopping, restore the best weights). `seed` is yours to use for
    anything random you add.
    """
    # TODO: fit the model on (x, y) in batches of BATCH_SIZE with validation_data=(x_val, y_val) for the epochs (plus any callback your regularization needs) and return history.history
    raise NotImplementedError("Exercise 12: fit the model on (x, y) in batches of BATCH_SIZE with validation_data=(x_val, y_val) for the epochs (plus any callback your regularization needs) and return history.history. Run 'mnist-lab exercises hint 12' for a hint.")


def main() -> None:
    """Train both networks and print what their histories say."""
    import keras

    from mnist_lab import load_mnist

    mnist = load_mnist()
    x, y, x_val, y_val = overfitting_data(mnist.train.images, mnist.train.labels)
    _, plain = train_plain(x, y, x_val, y_val)
    keras.utils.set_random_seed(0)
    model = compile_for_experiment(build_regularized_model())
    regularized = regularized_fit(model, x, y, x_val, y_val)
    for name, history in (("plain", plain), ("regularized", regularized)):
        best = best_epoch(history)
        print(
            f"{name:>11}: lowest validation loss {history['val_loss'][best - 1]:.3f} in epoch "
            f"{best} of {len(history['val_loss'])}, final {history['val_loss'][-1]:.3f}, "
            f"gap {generalization_gap(history):.3f}"
        )


if __name__ == "__main__":
    main()
