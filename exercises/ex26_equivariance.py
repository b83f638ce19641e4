"""Exercise 26: move a digit, and watch what a CNN does with the move.

A convolution applies the same kernel at every position, so moving its input moves its output
by the same amount and changes nothing else: it is *equivariant* to shifts. Max pooling with a
stride of 2 keeps a map's largest value of each 2x2 window; a move by 2 pixels moves the pooled
map by 1, but a move by 1 pixel changes which pixels share a window, so the pooled map changes
a little: pooling is only partly *invariant* to small moves. And a network whose Dense layer
reads every position of the last maps as a separate input (Flatten) has learned where each
stroke was in the training digits: move the digit and it is a new input. A network that
averages each map over all positions (GlobalAveragePooling2D) throws the position away.

You write three functions in numpy:

- `shift(images, dy, dx)`: images moved dy pixels down and dx pixels right (negative: up and
  left), the pixels that come in filled with zeros (MNIST's background), the ones that leave
  lost: no wrapping around (that is np.roll's, not a moved digit). Images are (N, H, W) or
  (N, H, W, C): rows are axis 1, columns axis 2, whatever follows moves along.
- `equivariance_error(feature_maps, images, dy, dx, border=2)`: how far the maps of the moved
  images are from the moved maps, measured away from the border (the rule is in its docstring).
- `accuracy_under_shift(predict, images, labels, shifts)`: a model's accuracy on the images
  moved by each shift, to draw accuracy against the size of the move.

The helpers below are given (they may use Keras; your three functions may not): the validation
images of the seeded stratified split (never the test set), the reference CNN and its variant
with global average pooling, trained briefly or loaded from a finished run of yours, a predict
function for each, and the maps of their first convolution and first pooling. Once your
functions are written, `python exercises/ex26_equivariance.py` (a few minutes on 2 cores, less
with a finished `mnist-lab train reference` run in runs/) prints both curves and both errors.

Write the three functions below, then run `mnist-lab exercises check 26`.

Course page: docs/exercises/26-equivariance.md
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

VALIDATION_FRACTION, SPLIT_SEED = 0.1, 0  # the course's split: 54,000 to train, 6,000 to validate
EPOCHS, BATCH_SIZE = 3, 128  # a brief training: the curves' shape is set by the architecture
BORDER = 2  # map pixels left out on each side by equivariance_error, besides the shift's own


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`images` (N, H, W) or (N, H, W, C) moved dy pixels down and dx pixels right.

    Negative values move up and left. The rows and columns that come in are zeros; what moves
    out is lost (a move by the whole height or width, or more, leaves only zeros). Returns a new
    array of the images' shape and dtype; `images` is unchanged.
    """
    # TODO: make a zero array like images, then copy the part that stays inside into it, moved by dy rows (axis 1) and dx columns (axis 2)
    raise NotImplementedError("Exercise 26: make a zero array like images, then copy the part that stays inside into it, moved by dy rows (axis 1) and dx columns (axis 2). Run 'mnist-lab exercises hint 26' for a hint.")


def equivariance_error(
    feature_maps: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    dy: int,
    dx: int,
    border: int = BORDER,
) -> float:
    """How far the maps of the moved images are from the moved maps: 0 for an equivariant map.

    `feature_maps(images)` gives maps (N, h, w) or (N, h, w, F). Maps smaller than the images
    come from a stride (pooling): the stride along each axis is the images' size divided by the
    maps', rounded down (28 -> 26 of a 'valid' 3x3 convolution is 1, 28 -> 13 after 2x2 pooling
    is 2), and the maps are expected to move by the shift divided by the stride, rounded toward
    zero (by 1 for a move of 2 or 3 pixels at stride 2, by 0 for a move of 1: what pooling
    absorbs). With my, mx that move of the maps:

        moved = feature_maps(shift(images, dy, dx))
        expected = shift(feature_maps(images), my, mx)

    compared inside the maps only: `border + |my|` rows left out at the top and at the bottom,
    `border + |mx|` columns at the left and at the right (where zeros came in, and where a
    kernel's reach crosses the edge). The error is the mean of |moved - expected| over that
    inside, divided by the mean of |expected| over it: a relative error, as a float (0.0 when
    both means are 0, inf when only the second is).
    """
    # TODO: compute both maps, the stride and the maps' move (my, mx), cut away the border on each side, and return mean |moved - expected| / mean |expected| there
    raise NotImplementedError("Exercise 26: compute both maps, the stride and the maps' move (my, mx), cut away the border on each side, and return mean |moved - expected| / mean |expected| there. Run 'mnist-lab exercises hint 26' for a hint.")


def accuracy_under_shift(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    shifts: Iterable[int | tuple[int, int]],
) -> list[float]:
    """The accuracy of `predict` on `images` moved by each shift, in the order of `shifts`.

    `predict(images)` gives one row of class probabilities per image (N, classes), as a Keras
    model's `predict` does; its answer is the class of the largest. `labels` are the true
    classes (N,), integers. A shift is a pair (dy, dx), or an int d: a move of d pixels to the
    right, (0, d). Returns one float per shift; the arguments are unchanged.
    """
    # TODO: for each shift (an int d meaning (0, d)), move the images, ask predict, take each row's most likely class and compare it with the labels
    raise NotImplementedError("Exercise 26: for each shift (an int d meaning (0, d)), move the images, ask predict, take each row's most likely class and compare it with the labels. Run 'mnist-lab exercises hint 26' for a hint.")


# --- given: the data, the two networks and their maps (Keras allowed here) ---------------------


def shift_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, x_val, y_val): MNIST's training images split by the seeded stratified split
    (54,000 / 6,000), normalized (N, 28, 28, 1) float32, labels as integers. The test set is
    not used here: what the curves teach is read on validation images."""
    from mnist_lab import load_mnist
    from mnist_lab.preprocess import normalize, stratified_split

    train = load_mnist().train
    train_idx, val_idx = stratified_split(train.labels, VALIDATION_FRACTION, SPLIT_SEED)
    x = normalize(train.images)
    return x[train_idx], train.labels[train_idx], x[val_idx], train.labels[val_idx]


def build_gap_model() -> Any:
    """The reference CNN with Flatten replaced by GlobalAveragePooling2D, uncompiled: the same
    convolutions, pooling and dense layers, but each of the 64 last maps averaged over its
    positions, so Dense 128 no longer knows where a stroke was."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.GlobalAveragePooling2D(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference_gap",
    )


def train_model(
    model: Any, data: tuple, epochs: int = EPOCHS, seed: int = 0, batch_size: int = BATCH_SIZE
) -> tuple[Any, dict[str, list[float]]]:
    """`model` compiled as the reference is (Adam 1e-3, categorical crossentropy) and trained on
    data = (x, y, x_val, y_val) from `seed`; returns it and its History's dict."""
    import keras

    from mnist_lab.preprocess import one_hot

    x, y, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x, one_hot(y), validation_data=(x_val, one_hot(y_val)), epochs=epochs,
        batch_size=batch_size, verbose=0,
    )  # fmt: skip
    return model, history.history


def finished_reference_run(runs_dir: str | Path = "runs") -> Path | None:
    """The newest completed run of `reference` in `runs_dir` that validated on this split (seed
    0, a tenth held out, all images, the recipe unchanged), or None."""
    from mnist_lab.runs import list_runs, open_run

    for summary in reversed(list_runs(runs_dir)):
        if summary["model"] != "reference" or summary["state"] != "completed":
            continue
        config = open_run(summary["run"]).config
        if (
            config.get("seed") == SPLIT_SEED
            and config.get("validation_split") == VALIDATION_FRACTION
            and config.get("limit") is None
            and not config.get("overrides")
            and (Path(summary["run"]) / "model.keras").is_file()
        ):
            return Path(summary["run"])
    return None


def reference_and_gap(
    data: tuple, epochs: int = EPOCHS, seed: int = 0, runs_dir: str | Path | None = "runs"
) -> dict[str, Any]:
    """{"reference": model, "global average pooling": model}, trained: the reference loaded
    from a finished run of yours when `runs_dir` holds one (else trained here), the variant
    trained here, each for `epochs` epochs from `seed`."""
    from mnist_lab import registry
    from mnist_lab.evaluation.reports import load_run_model

    run = finished_reference_run(runs_dir) if runs_dir is not None else None
    if run is not None:
        reference = load_run_model(run)
    else:
        reference, _ = train_model(registry.create_model("reference"), data, epochs, seed)
    gap, _ = train_model(build_gap_model(), data, epochs, seed)
    return {"reference": reference, "global average pooling": gap}


def predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """`predict(images)`: the model's probabilities (N, 10) for images (N, 28, 28, 1)."""

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(images, batch_size=1000, verbose=0)

    return predict


def first_block_maps(model: Any) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """{"convolution": maps, "pooling": maps}: the outputs of the model's first Conv2D and its
    first MaxPooling2D, each as a function of images (N, 28, 28, 1) giving numpy maps."""
    import keras

    def first(kind: type) -> Any:
        return next(layer for layer in model.layers if isinstance(layer, kind))

    conv, pool = first(keras.layers.Conv2D), first(keras.layers.MaxPooling2D)

    def convolution(images: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(conv(images))

    def pooling(images: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(pool(conv(images)))

    return {"convolution": convolution, "pooling": pooling}


def main() -> None:
    """Train (or load) both networks and print their curves and the first block's errors."""
    data = shift_split()
    _, _, x_val, y_val = data
    run = finished_reference_run()
    print(f"reference: {f'from {run}' if run else f'trained here for {EPOCHS} epochs'}")
    models = reference_and_gap(data)
    moves = list(range(9))
    for name, model in models.items():
        accuracies = accuracy_under_shift(predictor(model), x_val, y_val, moves)
        curve = ", ".join(f"{d}px {a:.1%}" for d, a in zip(moves, accuracies, strict=True))
        print(f"{name}: validation accuracy, digits moved right by {curve}")
    for name, maps in first_block_maps(models["reference"]).items():
        errors = [equivariance_error(maps, x_val[:500], 0, d) for d in range(1, 5)]
        said = ", ".join(f"{d}px {e:.2g}" for d, e in enumerate(errors, start=1))
        print(f"reference, after its first {name}: equivariance error {said}")


if __name__ == "__main__":
    main()
