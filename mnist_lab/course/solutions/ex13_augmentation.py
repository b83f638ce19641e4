"""Exercise 13: data augmentation, in numpy.

A network trained on 1,000 digits has seen each of them in one position and at one slant only.
People write the same digit a little higher, a little lower, a little tilted: the label does not
change. Data augmentation uses that: in every epoch, each training image is moved by a random
pixel or two and turned by a random few degrees, so the network sees new handwriting each time
and learns what stays the same (the digit) rather than where its pixels happen to be. Only the
training images change; the validation images stay as they are, since they measure the model
on digits as they come.

Three functions do it, in numpy:

- `shift(images, dy, dx)` moves every image `dy` pixels down and `dx` pixels right (negative
  values: up and left). What leaves the image is lost and what comes in is background (0): it is
  `np.roll` without the wrap-around.
- `rotate(images, degrees)` turns every image about its centre, counter-clockwise as seen on the
  screen for positive degrees. Each output pixel takes its value from the point of the input
  that the rotation brings onto it, read between the four pixels around that point (bilinear
  sampling); points outside the image read as 0.
- `augment(images, seed, max_shift=2, max_degrees=10)` gives each image its own random
  rotation (a uniform angle in [-max_degrees, max_degrees]) and shift (whole pixels, each of
  -max_shift..max_shift equally likely), from `np.random.default_rng(seed)`: the same seed
  gives the same images, another seed different ones, and strength 0 changes nothing. It
  returns images only, in the same order, shape and dtype: the labels stay as they are.

Then `train_augmented` trains a compiled model on a fresh augmented copy of the training images
in every epoch, and validates on the validation images unchanged. The tests compare it with
the same model trained without augmentation, on validation digits that were moved.

Write the four functions below, then run `mnist-lab exercises check 13`.

Course page: docs/exercises/13-augmentation.md
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SHIFT = 2  # pixels, in each direction
MAX_DEGREES = 10.0  # either way

# A History's `.history`: one value per epoch, e.g. {"loss": [...], "val_accuracy": [...], ...}
History = dict[str, list[float]]


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`images` (N, H, W) or (N, H, W, 1) moved `dy` pixels down and `dx` right, zero-filled."""
    # TODO: return a zero array like images with each image's pixels copied dy rows lower and dx columns further right (what falls off the edge is lost)
    # SOLUTION
    images = np.asarray(images)
    height, width = images.shape[1], images.shape[2]
    moved = np.zeros_like(images)
    if abs(dy) >= height or abs(dx) >= width:
        return moved  # everything left the image
    # Rows 0..height-1-dy go to rows dy..height-1 (for dy >= 0), and the same for columns.
    target_rows = slice(max(dy, 0), height + min(dy, 0))
    source_rows = slice(max(-dy, 0), height + min(-dy, 0))
    target_cols = slice(max(dx, 0), width + min(dx, 0))
    source_cols = slice(max(-dx, 0), width + min(-dx, 0))
    moved[:, target_rows, target_cols] = images[:, source_rows, source_cols]
    return moved
    # END SOLUTION


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """`images` (N, H, W) or (N, H, W, 1) turned `degrees` counter-clockwise about the centre.

    The centre is the point ((H - 1) / 2, (W - 1) / 2) in (row, column) coordinates. Output
    pixel (r, c) reads the input at row `cy + (r - cy) cos a + (c - cx) sin a` and column
    `cx + (c - cx) cos a - (r - cy) sin a` (a in radians), between its four neighbours, each
    weighted by how close it is; neighbours outside the image count as 0. The result has the
    dtype of `images` (integers rounded to the nearest).
    """
    # TODO: compute the source row and column of every output pixel, read the four neighbours of each with bilinear weights (0 outside the image), and return the result in the input's dtype
    # SOLUTION
    images = np.asarray(images)
    height, width = images.shape[1], images.shape[2]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    angle = np.deg2rad(degrees)
    rows, cols = np.mgrid[0:height, 0:width]
    source_rows = cy + (rows - cy) * np.cos(angle) + (cols - cx) * np.sin(angle)
    source_cols = cx + (cols - cx) * np.cos(angle) - (rows - cy) * np.sin(angle)
    top, left = np.floor(source_rows).astype(int), np.floor(source_cols).astype(int)
    down, right = source_rows - top, source_cols - left  # how far past the top-left neighbour
    turned = np.zeros(images.shape, dtype=np.float64)
    extra_axes = (1,) * (images.ndim - 3)  # a channel axis, if there is one
    for row, row_weight in ((top, 1 - down), (top + 1, down)):
        for col, col_weight in ((left, 1 - right), (left + 1, right)):
            inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
            weight = (row_weight * col_weight * inside).reshape(height, width, *extra_axes)
            pixels = images[:, np.clip(row, 0, height - 1), np.clip(col, 0, width - 1)]
            turned += weight * pixels
    if np.issubdtype(images.dtype, np.integer):
        limits = np.iinfo(images.dtype)
        turned = np.clip(np.rint(turned), limits.min, limits.max)
    return turned.astype(images.dtype)
    # END SOLUTION


def augment(
    images: np.ndarray,
    seed: int,
    max_shift: int = MAX_SHIFT,
    max_degrees: float = MAX_DEGREES,
) -> np.ndarray:
    """Each image rotated by its own random angle, then shifted by its own random whole pixels."""
    # TODO: with rng = np.random.default_rng(seed), give every image a uniform angle in [-max_degrees, max_degrees] and shifts dy, dx in -max_shift..max_shift; rotate, then shift it
    # SOLUTION
    images = np.asarray(images)
    rng = np.random.default_rng(seed)
    changed = np.empty_like(images)
    for index in range(len(images)):
        degrees = rng.uniform(-max_degrees, max_degrees)
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        one = images[index : index + 1]  # a batch of one image
        changed[index : index + 1] = shift(rotate(one, degrees), int(dy), int(dx))
    return changed
    # END SOLUTION


def train_augmented(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int = 3,
    batch_size: int = 64,
    seed: int = 0,
) -> History:
    """Fit a compiled model for `epochs` epochs, each on a new augmented copy of `x`.

    `x` and `x_val` are normalized images (N, 28, 28, 1), `y` and `y_val` one-hot labels. The
    validation images are never augmented. Returns one value per epoch for each of the fit's
    metrics, as a History's `.history` does: {"loss": [...], "val_loss": [...], ...}.
    """
    # TODO: for each epoch, augment x with its own seed (seed + epoch), fit one epoch on it with validation_data=(x_val, y_val), and collect the epoch's metrics
    # SOLUTION
    history: History = {}
    for epoch in range(epochs):
        moved = augment(x, seed + epoch)  # new random changes in every epoch
        record = model.fit(
            moved,
            y,
            validation_data=(x_val, y_val),
            epochs=1,
            batch_size=batch_size,
            verbose=0,
        )
        for key, values in record.history.items():
            history.setdefault(key, []).extend(float(value) for value in values)
    return history
    # END SOLUTION
