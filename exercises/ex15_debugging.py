"""Exercise 15: debug a training that does not learn.

This script trains the course's reference CNN for one epoch on 54,000 MNIST training images and
checks it on the 6,000 images of the seeded, stratified validation split (the test set waits
for a final score). It runs to the end without a single error, and it gets about 10% of the
validation images right: what a blind guess among ten digits gets. A correct version of the
same script gets nearly 98%.

It holds four bugs, each one a mistake beginners really make, none of them raising an
exception, and none marked. Find them and fix them in place: keep the functions and their
names, the tests call them one by one. Investigate before you change anything, from the data to
the model to the optimizer, one question at a time:

- What range do the pixels have when they reach the model? Print x_train.dtype, x_train.min()
  and x_train.max(): a stroke is 255 in the files (0 the background) and should be 1.0 here.
- Does each image still carry its own label? Look at a few, with their labels as captions:
  `gallery_figure(x_train[:16], [str(d) for d in y_train[:16]])` from mnist_lab.plots, saved
  with `save_figure(figure, "check.png")`.
- What does the loss say at step 0? An untrained model guesses about evenly, so for ten digits
  its loss is near ln 10 = 2.30: compile a fresh model and `model.evaluate(x_val[:500],
  y_val[:500])` before any training. Far from 2.30, the model's outputs, the labels and the
  loss do not fit together.
- What does the model output? `model.predict(x_val[:5]).sum(axis=1)`: rows that sum to 1 are
  probabilities, anything else is logits. Which of the two does the loss expect?
- How big are the steps? Compare the weights before and after one `model.train_on_batch(x, y)`
  with the weights themselves, or train on 1,000 images with `verbose=2`: a loss that jumps
  about or turns into nan says the steps are too large.

Fix the script, then run `mnist-lab exercises check 15` (one test trains an
epoch). `python exercises/ex15_debugging.py` runs the whole script and prints its accuracy.

Course page: docs/exercises/15-debugging.md
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from mnist_lab import load_mnist
from mnist_lab.preprocess import normalize, stratified_split

SEED = 0
VALIDATION_FRACTION = 0.1
EPOCHS = 1
BATCH_SIZE = 128
LEARNING_RATE = 10.0


def load_data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val): images in [0, 1] with a channel axis, integer labels.

    The validation images are the library's stratified split of the training set, seeded.
    """
    (images, labels), _ = load_mnist()  # the test set is left alone
    images = normalize(images)  # float32, shape (60000, 28, 28, 1)
    train_idx, val_idx = stratified_split(labels, VALIDATION_FRACTION, seed)
    x_train, y_train = images[train_idx], labels[train_idx]
    x_val, y_val = images[val_idx], labels[val_idx]

    # Shuffle the training set so that every batch mixes the digits.
    rng = np.random.default_rng(seed)
    rng.shuffle(x_train)
    rng.shuffle(y_train)

    # Scale the pixels to [0, 1].
    x_train, x_val = x_train / 255.0, x_val / 255.0
    return x_train, y_train, x_val, y_val


def build_model() -> keras.Model:
    """The reference CNN of exercise 4."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ],
        name="reference",
    )


def compile_model(model: keras.Model) -> keras.Model:
    """Compile `model` with Adam, the crossentropy of integer labels and accuracy; return it."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    verbose: int = 0,
) -> Any:
    """Fit the compiled model, validating after each epoch; return the History."""
    return model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
    )


def main() -> Any:
    """The whole run, seeded: data, model, one epoch; print and return the History."""
    keras.utils.set_random_seed(SEED)
    x_train, y_train, x_val, y_val = load_data()
    print(f"{len(x_train):,} training images, {len(x_val):,} validation images")
    model = compile_model(build_model())
    history = train(model, x_train, y_train, x_val, y_val, verbose=2)
    accuracy = history.history["val_accuracy"][-1]
    print(f"validation accuracy after {EPOCHS} epoch(s): {accuracy:.2%}")
    return history


if __name__ == "__main__":
    main()
