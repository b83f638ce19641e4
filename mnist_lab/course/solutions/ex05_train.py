"""Exercise 5: compile and train.

A model learns by repeating one step: predict a batch, measure how wrong the prediction is (the
loss), and move every weight a little in the direction that makes the loss smaller (the
optimizer). Compiling chooses these parts: Adam, an optimizer that adapts its step size to each
weight; categorical crossentropy, the loss that compares predicted probabilities with one-hot
labels (it is -log of the probability given to the right digit); and accuracy, a metric that is
easier to read than the loss but is not what the model learns from.

`fit` then runs epochs (one pass over the training images each) and returns a History: the
loss and accuracy after every epoch, on the training images and on the held-out validation
images. Which images are held out is exercise 3's stratified, seeded split: each digit keeps its
share in both parts, and the same seed gives the same split. (Keras's own `validation_split`
would take the last 10% of the arrays as they come, unshuffled: whatever order the data has,
sorted by digit for instance, decides the validation set.) Training on a random subset first is
how everyone checks a setup in seconds before spending minutes on the full data.

Write the three functions below, then run `mnist-lab exercises check 5` (it trains
the reference CNN on 6,000 images, and small models to see what `train` hands to Keras).

Course page: docs/exercises/05-train.md
"""

from __future__ import annotations

from typing import Any

import numpy as np


def compile_model(model: Any) -> Any:
    """Compile `model` with Adam (learning rate 1e-3), categorical crossentropy and accuracy."""
    # TODO: call model.compile with the Adam optimizer, the categorical crossentropy loss and the accuracy metric, then return the model
    # SOLUTION
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION


def take_subset(
    x: np.ndarray, y: np.ndarray, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`size` different examples drawn at random (seeded) from (x, y), each with its own label."""
    # TODO: draw `size` distinct indices with np.random.default_rng(seed) and index both x and y with them
    # SOLUTION
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(x), size=size, replace=False)
    return x[chosen], y[chosen]
    # END SOLUTION


def train(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 2,
    batch_size: int = 128,
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> Any:
    """Fit a compiled model on (x, y), holding out a stratified part to validate; return the History.

    `y` holds one-hot rows. The held-out part is exercise 3's split, `stratified_split(digits,
    validation_fraction, seed)` from mnist_lab.preprocess (the library's version of yours).
    """
    # TODO: split the indices with stratified_split (from mnist_lab.preprocess) on the digits of y, then call model.fit on the training part with validation_data=(the held-out part), the epochs and batch size, and verbose=0; return its result
    # SOLUTION
    from mnist_lab.preprocess import stratified_split

    digits = np.argmax(y, axis=1)  # each one-hot row back to its digit
    train_idx, validation_idx = stratified_split(digits, validation_fraction, seed)
    return model.fit(
        x[train_idx],
        y[train_idx],
        validation_data=(x[validation_idx], y[validation_idx]),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
    )
    # END SOLUTION
