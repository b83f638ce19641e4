"""Exercise 13, data augmentation: shifts and rotations in numpy, seeded, label-preserving.

`shift` is compared with np.roll plus a zero fill, and `rotate` with bilinear sampling written
here, on images drawn by hypothesis. `augment` is checked for what augmentation must keep: the
shape, the dtype and the pixel range of the images, their order (so each keeps its label),
nothing changed at strength 0, the same images for the same seed; and for what it must do:
give each image its own shift and angle, within the limits asked. `train_augmented` trains a
model that records every batch it is given; the slow test compares a small CNN trained with
it and the same one trained without, on validation digits moved by two pixels.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnist_lab.preprocess import normalize, one_hot, stratified_split

EXERCISE = "ex13_augmentation.py"
SEED = 0


# --- references written here --------------------------------------------------------------------


def rolled(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """np.roll of the image axes, with the rows and columns that wrapped around set to 0."""
    height, width = images.shape[1], images.shape[2]
    out = np.roll(images, (dy, dx), axis=(1, 2))
    if abs(dy) >= height or abs(dx) >= width:
        return np.zeros_like(images)
    if dy > 0:
        out[:, :dy] = 0
    elif dy < 0:
        out[:, dy:] = 0
    if dx > 0:
        out[:, :, :dx] = 0
    elif dx < 0:
        out[:, :, dx:] = 0
    return out


def bilinear_rotation(images: np.ndarray, degrees: float) -> np.ndarray:
    """Images turned counter-clockwise about ((H-1)/2, (W-1)/2), in float64, 0 outside."""
    images = np.asarray(images, dtype=np.float64)
    height, width = images.shape[1], images.shape[2]
    padded = np.pad(images, [(0, 0), (1, 2), (1, 2)] + [(0, 0)] * (images.ndim - 3))
    cy, cx = (height - 1) / 2, (width - 1) / 2
    a = math.radians(degrees)
    r, c = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    sr = np.clip(cy + (r - cy) * math.cos(a) + (c - cx) * math.sin(a), -1, height)
    sc = np.clip(cx + (c - cx) * math.cos(a) - (r - cy) * math.sin(a), -1, width)
    r0, c0 = np.floor(sr).astype(int), np.floor(sc).astype(int)
    fr, fc = sr - r0, sc - c0
    shape = (height, width) + (1,) * (images.ndim - 3)
    out = np.zeros(images.shape)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            out += (wr * wc).reshape(shape) * padded[:, r0 + dr + 1, c0 + dc + 1]
    return out


def digits(mnist, count: int, start: int = 0) -> np.ndarray:
    """`count` MNIST training digits, uint8 (N, 28, 28)."""
    return mnist.train.images[start : start + count]


def as_array(value, what: str) -> np.ndarray:
    assert isinstance(value, np.ndarray), (
        f"{what} should return a numpy array of images, but it returned {type(value).__name__}"
    )
    return value


def shift_found(original: np.ndarray, changed: np.ndarray, max_shift: int):
    """The (dy, dx) within max_shift that turns `original` into `changed`, or None."""
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            if np.array_equal(rolled(original[np.newaxis], dy, dx)[0], changed):
                return dy, dx
    return None


# --- shift --------------------------------------------------------------------------------------


def test_shift_moves_a_pixel_down_and_right(exercise):
    image = np.zeros((1, 5, 5), dtype=np.uint8)
    image[0, 1, 1] = 200
    out = as_array(exercise.shift(image, 2, 1), "shift")
    where = [tuple(int(i) for i in p) for p in np.argwhere(out[0] == 200)]
    assert where == [(3, 2)], (
        "shift(image, dy=2, dx=1) should move the pixel at row 1, column 1 to row 3, column 2 "
        f"(dy rows down, dx columns right), but the pixel is at {where or 'nowhere'} "
        "(as (row, column))"
    )


def test_shift_fills_with_zeros_instead_of_wrapping_around(exercise):
    image = np.arange(1, 26, dtype=np.uint8).reshape(1, 5, 5)
    out = as_array(exercise.shift(image, -2, 0), "shift")
    assert np.array_equal(out[0, 3:], np.zeros((2, 5))), (
        "shift(image, -2, 0) moves the image two rows up, so its last two rows should be "
        f"black (0), but they are {out[0, 3:].tolist()}: np.roll brings the top rows back in at "
        "the bottom; set them to 0"
    )
    assert np.array_equal(out[0, :3], image[0, 2:]), (
        f"shift(image, -2, 0) should put rows 2, 3, 4 of the image in rows 0, 1, 2, but they "
        f"are {out[0, :3].tolist()}"
    )


@settings(max_examples=60, report_multiple_bugs=False)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.uint8, np.float32]),
    channel=st.booleans(),
)
def test_shift_equals_a_roll_with_zero_fill(exercise, data, dtype, channel):
    n = data.draw(st.integers(1, 3), label="images")
    height = data.draw(st.integers(2, 9), label="height")
    width = data.draw(st.integers(2, 9), label="width")
    shape = (n, height, width, 1) if channel else (n, height, width)
    elements = st.integers(0, 255) if dtype is np.uint8 else st.floats(0, 1, width=32)
    images = data.draw(arrays(dtype, shape, elements=elements), label="images")
    dy = data.draw(st.integers(-height - 1, height + 1), label="dy")
    dx = data.draw(st.integers(-width - 1, width + 1), label="dx")
    before = images.copy()
    out = as_array(exercise.shift(images, dy, dx), "shift")
    assert np.array_equal(images, before), "shift should not change the images it is given"
    assert out.shape == images.shape and out.dtype == images.dtype, (
        f"shift should keep the shape and dtype of the images, {images.shape} {images.dtype}, "
        f"but it returned {out.shape} {out.dtype}"
    )
    expected = rolled(images, dy, dx)
    assert np.array_equal(out, expected), (
        f"shift(images, dy={dy}, dx={dx}) of {height}x{width} images should equal np.roll by "
        f"({dy}, {dx}) on the image axes with the rows and columns that wrap around set to 0; "
        f"{int(np.sum(out != expected))} pixels differ"
        + (" (a shift as large as the image leaves it all black)" if abs(dy) >= height else "")
    )


# --- rotate -------------------------------------------------------------------------------------


def test_rotate_by_0_degrees_changes_nothing(exercise, mnist):
    images = digits(mnist, 8)
    for given_images in (images, normalize(images)):
        out = as_array(exercise.rotate(given_images, 0.0), "rotate")
        assert out.dtype == given_images.dtype and np.array_equal(out, given_images), (
            f"rotate(images, 0) of {given_images.dtype} images should return them unchanged, "
            f"with their dtype; it returned {out.dtype} with "
            f"{int(np.sum(out != given_images))} pixels changed"
        )


def test_rotate_by_90_degrees_is_a_quarter_turn_counter_clockwise(exercise):
    images = np.random.default_rng(SEED).random((3, 7, 7)).astype(np.float32)
    out = as_array(exercise.rotate(images, 90.0), "rotate").astype(np.float64)
    expected = np.rot90(images, 1, axes=(1, 2))
    if np.allclose(out, np.rot90(images, -1, axes=(1, 2)), atol=1e-4):
        pytest.fail(
            "rotate(images, 90) turned the images clockwise: positive degrees turn them "
            "counter-clockwise as seen on the screen (like np.rot90), with rows going down. "
            "Check the signs of the sine terms",
            pytrace=False,
        )
    worst = float(np.max(np.abs(out - expected)))
    assert worst <= 1e-4, (
        "rotate(images, 90) of 7x7 images should equal np.rot90(images, 1, axes=(1, 2)): "
        f"a pixel is off by {worst:.3g}. Is the centre ((H - 1) / 2, (W - 1) / 2), the middle "
        "pixel of a 7x7 image?"
    )


@settings(max_examples=40, report_multiple_bugs=False)
@given(
    degrees=st.floats(-45, 45),
    image=arrays(np.float32, (24, 24), elements=st.floats(0, 1, width=32)),
    channel=st.booleans(),
)
def test_rotate_samples_bilinearly(exercise, degrees, image, channel):
    # A black border of two pixels, as MNIST digits have, so the ways of treating the
    # outside of the image (0 beyond the edge, or the edge pixel repeated) all agree.
    images = np.pad(image, 2)[np.newaxis]
    if channel:
        images = images[..., np.newaxis]
    out = as_array(exercise.rotate(images, degrees), "rotate")
    assert out.shape == images.shape and out.dtype == images.dtype, (
        f"rotate should keep the shape and dtype of the images, {images.shape} {images.dtype}, "
        f"but it returned {out.shape} {out.dtype}"
    )
    expected = bilinear_rotation(images, degrees)
    worst = float(np.max(np.abs(out - expected)))
    assert worst <= 1e-4, (
        f"rotate(images, {degrees:.3f}) should read each output pixel (r, c) between the four "
        "input pixels around row cy + (r - cy) cos a + (c - cx) sin a, column "
        "cx + (c - cx) cos a - (r - cy) sin a, weighted by closeness (bilinear); a pixel is "
        f"off by {worst:.3g}. Compare your signs and centre with that formula; a source point "
        "rounded to the nearest pixel, instead of weighted between four, is off too"
    )


def test_rotate_keeps_uint8_digits_uint8_and_rounds(exercise, mnist):
    images = digits(mnist, 6)
    out = as_array(exercise.rotate(images, 12.5), "rotate")
    assert out.dtype == np.uint8, f"rotate of uint8 digits should give uint8, it gave {out.dtype}"
    expected = bilinear_rotation(images, 12.5)
    worst = float(np.max(np.abs(out.astype(np.float64) - expected)))
    assert worst <= 1.0, (
        "rotate(digits, 12.5) of uint8 digits should be the bilinear rotation rounded to whole "
        f"pixel values, but a pixel is off by {worst:.3g}"
    )


# --- augment ------------------------------------------------------------------------------------


def test_augment_at_strength_0_changes_nothing(exercise, mnist):
    images = digits(mnist, 20)
    for given_images in (images, normalize(images)):
        out = as_array(
            exercise.augment(given_images, seed=3, max_shift=0, max_degrees=0), "augment"
        )
        assert out.dtype == given_images.dtype and np.array_equal(out, given_images), (
            f"augment(images, seed, max_shift=0, max_degrees=0) of {given_images.dtype} images "
            "should return them unchanged, but it returned "
            f"{out.dtype} images with {int(np.sum(out != given_images))} pixels changed"
        )


@settings(max_examples=8, report_multiple_bugs=False)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 12))
def test_augment_keeps_shape_dtype_and_pixel_range(exercise, mnist, seed, count):
    for given_images in (digits(mnist, count), normalize(digits(mnist, count))):
        before = given_images.copy()
        out = as_array(exercise.augment(given_images, seed), "augment")
        assert np.array_equal(given_images, before), (
            "augment should not change the images it is given: work on a copy"
        )
        assert out.shape == given_images.shape and out.dtype == given_images.dtype, (
            f"augment should return images of the same shape and dtype, {given_images.shape} "
            f"{given_images.dtype}, but it returned {out.shape} {out.dtype}"
        )
        if out.dtype == np.float32:
            low, high = float(out.min()), float(out.max())
            assert low >= -1e-6 and high <= 1 + 1e-6, (
                "augment of images in [0, 1] should keep every pixel in [0, 1], but the pixels "
                f"go from {low:.6g} to {high:.6g}"
            )


def test_augment_is_reproducible_for_a_seed(exercise, mnist):
    images = normalize(digits(mnist, 30))
    first = as_array(exercise.augment(images, seed=7), "augment")
    again = as_array(exercise.augment(images, seed=7), "augment")
    other = as_array(exercise.augment(images, seed=8), "augment")
    assert np.array_equal(first, again), (
        "augment with the same seed should give the same images: draw every random number from "
        "np.random.default_rng(seed)"
    )
    assert not np.array_equal(first, other), (
        "augment with seeds 7 and 8 gave the same images: the seed should decide the changes"
    )
    assert not np.array_equal(first, images), "augment(images, seed=7) changed nothing"


def test_augment_keeps_each_image_in_its_place(exercise, mnist):
    images = digits(mnist, 60)
    out = as_array(exercise.augment(images, seed=SEED, max_shift=2, max_degrees=0), "augment")
    assert out.shape == images.shape, f"expected shape {images.shape}, got {out.shape}"
    for index in range(len(images)):
        assert shift_found(images[index], out[index], 2) is not None, (
            f"with max_degrees=0, image {index} of augment's result should be image {index} of "
            "its input shifted by at most 2 pixels each way (zero-filled), but it is not: "
            "augment must keep the images in their order, so each keeps its label, and shift "
            "them by whole pixels only"
        )


def test_augment_gives_each_image_its_own_shift_up_to_max_shift(exercise, mnist):
    images = digits(mnist, 200)
    out = as_array(exercise.augment(images, seed=SEED, max_shift=2, max_degrees=0), "augment")
    found = [shift_found(images[i], out[i], 2) for i in range(len(images))]
    assert all(shift is not None for shift in found), (
        "with max_degrees=0 every image should be its own input shifted by at most 2 pixels"
    )
    rows = sorted({int(dy) for dy, _ in found})
    cols = sorted({int(dx) for _, dx in found})
    assert rows == cols == [-2, -1, 0, 1, 2], (
        "over 200 images and max_shift=2, every shift from -2 to 2 should occur, down and "
        f"across, but the shifts down were {rows} and across {cols}: draw each with "
        "rng.integers(-max_shift, max_shift + 1) (the upper end is excluded), one per image"
    )


def test_augment_turns_each_image_by_its_own_small_angle(exercise, mnist):
    images = normalize(digits(mnist, 24))
    out = as_array(exercise.augment(images, seed=SEED, max_shift=0, max_degrees=10), "augment")
    angles = np.arange(-20, 20.01, 0.25)
    errors = np.stack(
        [np.abs(bilinear_rotation(images, a) - out).max(axis=(1, 2, 3)) for a in angles]
    )
    best = angles[np.argmin(errors, axis=0)]
    fit = errors.min(axis=0)
    for index in range(len(images)):
        assert fit[index] <= 0.05 and abs(best[index]) <= 10.25, (
            f"with max_shift=0 and max_degrees=10, image {index} should be its input turned by "
            "at most 10 degrees (with rotate), but it is not"
            + (
                f": it looks turned by {best[index]:.2f} degrees"
                if fit[index] <= 0.05
                else ": no rotation of the input within 20 degrees matches it"
            )
        )
    assert len(set(best.tolist())) > 3 and best.min() < -2 and best.max() > 2, (
        "each image should be turned by its own angle, drawn uniformly between -10 and 10 "
        f"degrees, but the angles found are {sorted(set(best.tolist()))}"
    )


def test_augment_returns_images_only(exercise, mnist):
    out = exercise.augment(digits(mnist, 4), seed=SEED)
    assert isinstance(out, np.ndarray), (
        "augment should return only the images, as one numpy array (the labels do not change, "
        f"so they are not passed in nor returned), but it returned {type(out).__name__}"
    )


def test_shift_rotate_and_augment_are_your_own_code(exercise, mnist):
    # The three run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call the library's augmentation, Keras, TensorFlow, SciPy, OpenCV, PIL,
    # scikit-image, PyTorch or JAX, however reached.
    images = digits(mnist, 2)
    exercise.shift(images, 1, 1)
    exercise.rotate(images, 5.0)
    exercise.augment(images, seed=SEED)


# --- train_augmented ----------------------------------------------------------------------------


class Recording(keras.Sequential):
    """A Sequential model that keeps a copy of every batch it trains and validates on."""

    def __init__(self, layers):
        super().__init__(layers)
        self.trained_on: list[tuple[np.ndarray, np.ndarray]] = []
        self.validated_on: list[np.ndarray] = []

    def train_step(self, data):
        x, y = data[0], data[1]
        self.trained_on.append((np.array(x), np.array(y)))
        return super().train_step(data)

    def test_step(self, data):
        self.validated_on.append(np.array(data[0]))
        return super().test_step(data)


def squares(count: int):
    """Images of a 10x10 grey square whose brightness, (digit + 1) / 10, tells its label.

    A shift or a small rotation moves the square but keeps its total brightness (within a few
    percent), so the label of any augmented copy can be read back from its pixels.
    """
    labels = np.arange(count) % 10
    images = np.zeros((count, 28, 28, 1), dtype=np.float32)
    images[:, 9:19, 9:19, 0] = ((labels + 1) / 10)[:, np.newaxis, np.newaxis]
    return images, one_hot(labels), labels


def label_of(images: np.ndarray) -> np.ndarray:
    return np.rint(images.reshape(len(images), -1).sum(axis=1) / 10 - 1).astype(int)


def recorded_training(exercise, epochs=2):
    keras.utils.set_random_seed(SEED)
    model = Recording(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], run_eagerly=True
    )
    x, y, _ = squares(100)
    x_val, y_val, _ = squares(30)
    history = exercise.train_augmented(model, x, y, x_val, y_val, epochs=epochs, batch_size=50)
    return model, history, x, x_val


def test_train_augmented_trains_on_new_moved_images_every_epoch(exercise):
    model, _, x, _ = recorded_training(exercise, epochs=2)
    batches = model.trained_on
    assert len(batches) == 4, (
        "train_augmented(..., epochs=2, batch_size=50) on 100 images should train 2 epochs of 2 "
        f"batches, but the model trained on {len(batches)} batches"
    )
    epochs = [
        np.concatenate([b[0] for b in batches[:2]]),
        np.concatenate([b[0] for b in batches[2:]]),
    ]
    for number, seen in enumerate(epochs, start=1):
        unchanged = sum(any(np.array_equal(image, original) for original in x) for image in seen)
        assert unchanged < 50, (
            f"in epoch {number}, {unchanged} of the 100 training images were the originals: "
            "train on augment(x, ...) rather than x"
        )
    first, second = (np.sort(e.reshape(len(e), -1), axis=0) for e in epochs)
    assert not np.array_equal(first, second), (
        "both epochs trained on the same augmented images: augment again in every epoch, with a "
        "seed of its own (seed + epoch, for instance), so the network sees new changes each time"
    )


def test_train_augmented_keeps_each_image_with_its_label(exercise):
    model, _, _, _ = recorded_training(exercise, epochs=2)
    assert model.trained_on, "train_augmented should train the model it is given with model.fit"
    for images, targets in model.trained_on:
        wrong = int(np.sum(label_of(images) != np.argmax(targets, axis=1)))
        assert wrong == 0, (
            f"{wrong} of {len(images)} augmented training images came with another image's "
            "label: augment returns the images in their order, so pass them with y unchanged"
        )


def test_train_augmented_validates_on_the_images_unchanged(exercise):
    model, history, _, x_val = recorded_training(exercise, epochs=2)
    assert model.validated_on, (
        "train_augmented should validate every epoch: pass validation_data=(x_val, y_val) to fit"
    )
    for seen in model.validated_on:
        found = any(np.array_equal(seen, x_val[i : i + len(seen)]) for i in range(0, len(x_val)))
        assert found, (
            "the validation images should be passed to fit as they are, never augmented: "
            "they measure the model on digits as they come"
        )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        values = history.get(key, []) if isinstance(history, dict) else []
        assert len(values) == 2, (
            f"train_augmented(..., epochs=2) should return a dict with one value per epoch for "
            f"each metric, like History.history; {key!r} has "
            f"{len(values) if isinstance(history, dict) else type(history).__name__}"
        )


# --- a real training ----------------------------------------------------------------------------

POOL, VALIDATION_FRACTION, EPOCHS, BATCH_SIZE = 2500, 0.2, 3, 64
MOVE = 2  # pixels, down or up and right or left, of every validation digit
MARGIN = (
    0.05  # accuracy on moved digits that augmentation must add (it added 0.15-0.23 over seeds 0-3)
)


def small_cnn() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def moved_by(images: np.ndarray, seed: int) -> np.ndarray:
    """Each image moved MOVE pixels up or down and MOVE left or right, at random (seeded)."""
    rng = np.random.default_rng(seed)
    moves = rng.choice([-MOVE, MOVE], size=(len(images), 2))
    return np.concatenate(
        [
            rolled(image[np.newaxis], *map(int, move))
            for image, move in zip(images, moves, strict=True)
        ]
    )


@pytest.mark.slow
def test_augmented_training_reads_moved_digits_better(exercise, mnist, note):
    exercise.augment(digits(mnist, 1), seed=SEED)  # before training: a missing one fails at once
    rng = np.random.default_rng(SEED)
    pool = np.sort(rng.permutation(len(mnist.train.labels))[:POOL])
    labels = mnist.train.labels[pool]
    train_idx, val_idx = stratified_split(labels, VALIDATION_FRACTION, SEED)
    x, y = normalize(mnist.train.images[pool]), one_hot(labels)
    x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    x_moved = moved_by(x_val, SEED)

    keras.utils.set_random_seed(SEED)
    plain = small_cnn()
    plain.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    keras.utils.set_random_seed(SEED)
    augmented = small_cnn()
    exercise.train_augmented(
        augmented, x_train, y_train, x_val, y_val, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED
    )
    scores = {
        name: (
            model.evaluate(x_val, y_val, verbose=0)[1],
            model.evaluate(x_moved, y_val, verbose=0)[1],
        )
        for name, model in (("plain", plain), ("augmented", augmented))
    }
    (plain_val, plain_moved), (augmented_val, augmented_moved) = (
        scores["plain"],
        scores["augmented"],
    )
    report = (
        f"after {EPOCHS} epochs on {len(x_train):,} digits, validation accuracy on the "
        f"{len(x_val)} validation digits as they are / moved {MOVE} pixels each way: "
        f"without augmentation {plain_val:.1%} / {plain_moved:.1%}, with yours "
        f"{augmented_val:.1%} / {augmented_moved:.1%}"
    )
    assert augmented_moved >= plain_moved + MARGIN, (
        f"{report}. Trained on shifted and turned copies, the network should read moved digits "
        f"at least {MARGIN * 100:.0f} points better than without: does train_augmented train "
        "on augment(x, ...) with the default max_shift and max_degrees?"
    )
    note(report)
