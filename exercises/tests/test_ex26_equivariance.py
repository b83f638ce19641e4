"""Exercise 26, equivariance: moved images, moved maps and the accuracy on moved digits.

Hand examples pin down the conventions: a positive dy moves down and a positive dx right, the
pixels that come in are zeros (np.roll wraps around and is told so, as are dy and dx swapped),
the maps of a stride move by the shift divided by the stride rounded toward zero, the inside
leaves out `border + |my|` rows and `border + |mx|` columns at each side. Then properties on
shapes that hypothesis draws: a move and its opposite keep the inside; a convolution ('same'
and 'valid', in numpy as Keras computes it) is equivariant; a position-dependent term or a
dense layer is far from it; max pooling with a stride of 2 is equivariant for even moves and
not for odd ones. `accuracy_under_shift` runs against fake predict functions whose answers are
known. No test needs a trained network or TensorFlow (tests/test_shift_figures.py measures
Keras's own Conv2D and MaxPooling2D with the reference solution).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex26_equivariance.py"


def fail(message: str):
    """Fail with `message` alone (an AssertionError: the check shows it without hypothesis's
    example)."""
    raise AssertionError(message)


def rows(array) -> str:
    """A small 2-D array written on one line, row by row."""
    return "[" + ", ".join("[" + ", ".join(f"{v:.4g}" for v in row) + "]" for row in array) + "]"


# --- references written here, from the definitions ---------------------------------------------


def moved_by_hand(images, dy, dx):
    """`images` moved dy down and dx right, pixel by pixel, zeros coming in."""
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    for r in range(height):
        for c in range(width):
            if 0 <= r - dy < height and 0 <= c - dx < width:
                out[:, r, c] = images[:, r - dy, c - dx]
    return out


def error_by_definition(feature_maps, images, dy, dx, border=2):
    """The page's definition of the equivariance error, written again."""
    maps = np.asarray(feature_maps(images), dtype=np.float64)
    moved = np.asarray(feature_maps(moved_by_hand(images, dy, dx)), dtype=np.float64)
    sy, sx = images.shape[1] // maps.shape[1], images.shape[2] // maps.shape[2]
    my, mx = int(np.trunc(dy / sy)), int(np.trunc(dx / sx))
    expected = moved_by_hand(maps, my, mx)
    top, left = border + abs(my), border + abs(mx)
    inside = (slice(None), slice(top, maps.shape[1] - top), slice(left, maps.shape[2] - left))
    difference = np.abs(moved[inside] - expected[inside]).mean()
    size = np.abs(expected[inside]).mean()
    return 0.0 if difference == 0 else difference / size


def conv_same(images, kernel):
    """A 2-D convolution of (N, H, W) images, 'same' zero padding (Keras's: no flip)."""
    kh, kw = kernel.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(images, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left)))
    height, width = images.shape[1:3]
    return sum(
        kernel[i, j] * padded[:, i : i + height, j : j + width]
        for i in range(kh)
        for j in range(kw)
    )


def conv_valid(images, kernel):
    """The same convolution without padding: maps smaller by the kernel's size less 1."""
    kh, kw = kernel.shape
    height, width = images.shape[1] - kh + 1, images.shape[2] - kw + 1
    return sum(
        kernel[i, j] * images[:, i : i + height, j : j + width]
        for i in range(kh)
        for j in range(kw)
    )


def max_pool(images, size=2):
    """Max pooling of (N, H, W) or (N, H, W, C) maps, windows of size x size, stride size."""
    n, h, w = images.shape[:3]
    cut = images[:, : h // size * size, : w // size * size]
    return cut.reshape(n, h // size, size, w // size, size, *images.shape[3:]).max(axis=(2, 4))


def call(exercise, name, *args):
    """The exercise's function `name`, with a clear failure if it returns nothing."""
    result = getattr(exercise, name)(*args)
    if result is None:
        fail(f"{name} returned None: did you forget the return?")
    return result


def check_error(exercise, feature_maps, images, dy, dx, border=2, what="these maps"):
    got = call(exercise, "equivariance_error", feature_maps, images, dy, dx, border)
    if not isinstance(got, float):
        fail(f"equivariance_error should return a float, got {type(got).__name__}")
    expected = error_by_definition(feature_maps, images, dy, dx, border)
    if not np.isclose(got, expected, rtol=1e-6, atol=1e-9):
        fail(
            f"equivariance_error of {what}, images {images.shape}, move ({dy}, {dx}), "
            f"border {border} gave {got:.6g} where the definition gives {expected:.6g}"
        )
    return got


# --- shift -------------------------------------------------------------------------------------

PICTURE = np.arange(1, 13).reshape(1, 3, 4)  # 1 to 12, rows of 4


def test_shift_of_a_hand_example(exercise):
    cases = {
        (1, 0): [[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]],
        (0, -1): [[2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0]],
        (-1, 2): [[0, 0, 5, 6], [0, 0, 9, 10], [0, 0, 0, 0]],
    }
    for (dy, dx), expected in cases.items():
        got = np.asarray(call(exercise, "shift", PICTURE.copy(), dy, dx))
        if got.shape != PICTURE.shape:
            fail(f"shift(images {PICTURE.shape}, {dy}, {dx}) gave the shape {got.shape}")
        if np.array_equal(got[0], expected):
            continue
        said = (
            f"shift(1..12 in rows of 4, dy={dy}, dx={dx}) gave {rows(got[0])}, not {rows(expected)}"
        )
        if np.array_equal(got, np.roll(PICTURE, (dy, dx), axis=(1, 2))):
            fail(
                f"{said}: the pixels that moved out came back on the other side, as np.roll "
                "does; a moved digit gets zeros (the background) where nothing came in"
            )
        if np.array_equal(got[0], moved_by_hand(PICTURE, dx, dy)[0]):
            fail(f"{said}: dy and dx are swapped; dy moves rows (axis 1), dx columns (axis 2)")
        if np.array_equal(got[0], moved_by_hand(PICTURE, -dy, -dx)[0]):
            fail(f"{said}: a positive dy moves the content down, a positive dx right")
        fail(said)


def test_shift_keeps_channels_together_and_the_dtype(exercise):
    images = np.arange(2 * 3 * 3 * 2, dtype=np.uint8).reshape(2, 3, 3, 2)
    for dtype in (np.uint8, np.float32, np.float64):
        got = np.asarray(call(exercise, "shift", images.astype(dtype), 1, -1))
        if got.dtype != dtype or got.shape != images.shape:
            fail(
                f"shift of {dtype.__name__} images {images.shape} gave {got.dtype} {got.shape}: "
                "keep the images' shape and dtype, channels (axis 3) moving along"
            )
        if not np.array_equal(got, moved_by_hand(images.astype(dtype), 1, -1)):
            fail("shift of images (N, H, W, C) should move axes 1 and 2, every channel alike")


def test_shift_by_the_whole_size_or_more_gives_zeros(exercise):
    images = np.ones((2, 5, 4), dtype=np.float32)
    for dy, dx in [(5, 0), (-5, 0), (0, 4), (0, -7), (9, 9), (-6, 1)]:
        got = np.asarray(call(exercise, "shift", images.copy(), dy, dx))
        if got.shape != images.shape or np.any(got != 0):
            fail(
                f"shift of 5x4 images by ({dy}, {dx}) should leave only zeros of the same "
                f"shape: everything moved out; got {got.shape} with {np.count_nonzero(got)} "
                "nonzero pixels"
            )


def test_shift_leaves_its_input_unchanged(exercise):
    images = np.random.default_rng(0).random((3, 6, 5)).astype(np.float32)
    before = images.copy()
    for dy, dx in [(0, 0), (2, -1), (-3, 4)]:
        got = np.asarray(call(exercise, "shift", images, dy, dx))
        if not np.array_equal(images, before):
            fail("shift changed the images it was given: return a new array")
        if np.shares_memory(got, images):
            fail(f"shift by ({dy}, {dx}) returned the images themselves or a view of them")


@settings(max_examples=40)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(0, 3)),
    dy=st.integers(-10, 10),
    dx=st.integers(-10, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_shift_matches_a_pixel_by_pixel_move(exercise, shape, dy, dx, seed):
    n, h, w, c = shape
    images = np.random.default_rng(seed).integers(1, 256, size=(n, h, w, c)[: 4 if c else 3])
    got = np.asarray(call(exercise, "shift", images.copy(), dy, dx))
    expected = moved_by_hand(images, dy, dx)
    if got.shape != expected.shape or not np.array_equal(got, expected):
        fail(f"shift of images {images.shape} by ({dy}, {dx}) is not the pixel-by-pixel move")


@settings(max_examples=30)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), a=st.integers(-9, 9), b=st.integers(-9, 9),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_a_move_and_its_opposite_keep_the_inside(exercise, h, w, a, b, seed):
    images = np.random.default_rng(seed).random((2, h, w))
    back = np.asarray(call(exercise, "shift", call(exercise, "shift", images, a, b), -a, -b))
    # The pixels that stayed inside on the way: row r went to r + a, column c to c + b.
    rows, columns = np.arange(h) + a, np.arange(w) + b
    keep = ((rows >= 0) & (rows < h))[:, None] & ((columns >= 0) & (columns < w))[None, :]
    if not np.array_equal(back, np.where(keep, images, 0)):
        fail(
            f"shift by ({a}, {b}) then ({-a}, {-b}) should give the images back where they "
            "stayed inside, and zeros where they had moved out"
        )


# --- equivariance_error ------------------------------------------------------------------------


def ramp(images):
    """The images plus their column number: a term that depends on the position."""
    return images + np.arange(images.shape[2])[None, None, :]


def test_equivariance_error_of_a_hand_example(exercise):
    # One pixel lit in 6x6 zeros; the maps add the column number. Moved right by 1, the moved
    # maps hold c and the expected ones c - 1 over columns 1 to 4: mean |difference| 1, mean
    # |expected| (0 + 1 + 2 + 3) / 4 plus the pixel's 1 / 24 = 37 / 24.
    images = np.zeros((1, 6, 6))
    images[0, 2, 2] = 1.0
    got = call(exercise, "equivariance_error", ramp, images, 0, 1, 0)
    if not np.isclose(got, 24 / 37, rtol=1e-9):
        said = (
            "equivariance_error of 'the images plus the column number', move (0, 1), border 0, "
            f"gave {got:.6g}, not 24/37 = {24 / 37:.6g}"
        )
        if np.isclose(got, error_by_definition(ramp, images, 1, 0, 0)):
            fail(f"{said}: dy and dx are swapped (dy moves rows, dx columns)")
        fail(
            f"{said}; compare feature_maps(shift(images, 0, 1)) with shift(feature_maps(images), "
            "0, 1) over columns 1 to 4 (border + |mx| = 1 left out at each side)"
        )


def test_the_maps_of_a_stride_move_by_the_shift_divided_rounding_toward_zero(exercise):
    # Maps taking every second pixel: a stride of 2. A move of 1 or -1 is 0 map pixels, 3 or -3
    # is 1 or -1 (rounded toward zero: -3 // 2 would be -2).
    def every_second(images):
        return images[:, ::2, ::2]

    images = np.arange(1.0, 1.0 + 8 * 8).reshape(1, 8, 8)
    # The maps are 16 i + 2 j + 1 (mean 28); moved up by 1 they are 8 more everywhere: 8 / 28.
    expected = {(-1, 0): 2 / 7, (1, 0): 1 / 4, (-3, 0): 2 / 11, (0, 3): 1 / 2}
    for (dy, dx), value in expected.items():
        got = call(exercise, "equivariance_error", every_second, images, dy, dx, 0)
        if not np.isclose(got, value, rtol=1e-9):
            fail(
                f"equivariance_error of maps that take every second pixel of 8x8 images (4x4, "
                f"a stride of 2), move ({dy}, {dx}), border 0, gave {got:.6g}, not "
                f"{value:.6g}: the stride is 8 // 4 = 2 and the maps move by the shift divided "
                "by it, rounded toward zero (int(dy / 2): 1 -> 0, -3 -> -1)"
            )


def test_the_border_is_left_out(exercise):
    # A frame of 1s on the maps' outer ring: with border 1, moved by (1, 0), every difference
    # lies in the rows and columns left out; with border 0 some do not.
    def framed(images):
        frame = np.ones(images.shape[1:])
        frame[1:-1, 1:-1] = 0
        return images + frame

    images = np.random.default_rng(1).random((2, 9, 9))
    got = call(exercise, "equivariance_error", framed, images, 1, 0, 1)
    if got != 0:
        fail(
            f"equivariance_error of 'the images plus a frame of 1s', move (1, 0), border 1, "
            f"gave {got:.4g}, not 0: leave out border + |my| = 2 rows at the top and at the "
            "bottom and border + |mx| = 1 column at each side, where the frame differs"
        )
    check_error(exercise, framed, images, 1, 0, 0, "the images plus a frame")


@settings(max_examples=25)
@given(
    h=st.integers(16, 22), w=st.integers(16, 22), dy=st.integers(-3, 3), dx=st.integers(-3, 3),
    kernel=st.sampled_from([(3, 3), (1, 3), (3, 2), (5, 5)]), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_a_convolution_is_equivariant(exercise, h, w, dy, dx, kernel, seed):
    rng = np.random.default_rng(seed)
    images, weights = rng.random((2, h, w)), rng.normal(size=kernel)
    for padding, conv in (("same", conv_same), ("valid", conv_valid)):
        got = call(
            exercise, "equivariance_error", lambda x, conv=conv: conv(x, weights), images, dy, dx, 2
        )
        if not got < 1e-9:
            fail(
                f"equivariance_error of a {kernel} convolution with '{padding}' padding, images "
                f"{images.shape}, move ({dy}, {dx}), gave {got:.4g} where it is 0 inside: the "
                "maps differ only where zeros came in or the kernel reaches over the edge, which "
                "border + |my| rows and border + |mx| columns at each side leave out"
            )


@settings(max_examples=20)
@given(h=st.integers(12, 16), dy=st.integers(-3, 3), dx=st.integers(1, 3), seed=st.integers(0, 99))
def test_a_position_dependent_map_is_far_from_equivariant(exercise, h, dy, dx, seed):
    rng = np.random.default_rng(seed)
    images = rng.random((2, h, h))
    got = check_error(exercise, ramp, images, dy, dx, 2, "the images plus the column number")
    if not got > 0.1:
        fail(f"the images plus the column number, moved by ({dy}, {dx}), gave only {got:.3g}")


def test_a_dense_layer_is_far_from_equivariant(exercise):
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(12 * 12, 12 * 12))

    def dense(images):  # every output pixel reads every input pixel with its own weight
        return (images.reshape(len(images), -1) @ weights).reshape(images.shape)

    images = rng.random((4, 12, 12))
    for dy, dx in [(1, 0), (0, 2), (-2, 1)]:
        got = check_error(exercise, dense, images, dy, dx, 2, "a dense layer")
        if not got > 0.5:
            fail(f"a dense layer, moved by ({dy}, {dx}), gave only {got:.3g}")


@settings(max_examples=25)
@given(
    h=st.integers(14, 20), w=st.integers(14, 20), dy=st.integers(-4, 4), dx=st.integers(-4, 4),
    channels=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_max_pooling_is_equivariant_for_even_moves_only(exercise, h, w, dy, dx, channels, seed):
    images = np.random.default_rng(seed).random((3, h, w, channels))
    got = check_error(exercise, max_pool, images, dy, dx, 1, "2x2 max pooling")
    even = dy % 2 == 0 and dx % 2 == 0
    if even and got != 0:
        fail(f"2x2 max pooling moved by ({dy}, {dx}) (even) should give 0, got {got:.4g}")
    if not even and not got > 0:
        fail(f"2x2 max pooling moved by ({dy}, {dx}) (odd) should give more than 0, got 0")


def test_equivariance_error_leaves_the_images_unchanged(exercise):
    images = np.random.default_rng(4).random((2, 10, 10)).astype(np.float32)
    before = images.copy()
    call(exercise, "equivariance_error", max_pool, images, 1, 2, 1)
    if not np.array_equal(images, before):
        fail("equivariance_error changed the images it was given")


# --- accuracy_under_shift ----------------------------------------------------------------------


def column_of_the_pixel(images):
    """A fake predict: one-hot of the column of each image's brightest pixel (a class per
    column)."""
    columns = images.reshape(len(images), images.shape[1], -1).max(axis=1).argmax(axis=1)
    return np.eye(images.shape[2], dtype=np.float32)[columns]


def test_accuracy_under_shift_of_a_fake_predict(exercise):
    # Four 10x10 images with one pixel lit in column c; the labels are c + 1 for one image and
    # c + 2 for three, so a move of 1 to the right is right once, a move of 2 three times.
    columns = np.array([1, 3, 0, 4])
    images = np.zeros((4, 10, 10), dtype=np.float32)
    images[np.arange(4), [2, 5, 7, 4], columns] = 1.0
    labels = columns + np.array([1, 2, 2, 2])
    shifts = [0, 1, 2, (0, 2), (2, 0), (1, 1), 3]
    expected = [0.0, 0.25, 0.75, 0.75, 0.0, 0.25, 0.0]
    got = call(exercise, "accuracy_under_shift", column_of_the_pixel, images, labels, shifts)
    if not isinstance(got, list) or len(got) != len(shifts):
        fail(f"accuracy_under_shift should return a list of {len(shifts)} floats, got {got!r}")
    if not all(isinstance(value, float) for value in got):
        fail(f"accuracy_under_shift should return floats, got {[type(v).__name__ for v in got]}")
    if not np.allclose(got, expected):
        said = f"for the shifts {shifts} it gave {got}, not {expected}"
        if np.allclose(got[4], 0.75):
            fail(f"{said}: (2, 0) moves down, not right (a pair is (dy, dx))")
        if np.allclose(got[1:3], [0.0, 0.0]):
            fail(f"{said}: an int d moves d pixels to the right, (0, d)")
        fail(said)


def test_accuracy_under_shift_takes_the_largest_probability_of_each_row(exercise):
    # Four images, four classes: the answers are the rows' argmax, 2, 0, 3 and 1 (the
    # columns' argmax would be 1, 3, 0 and 2).
    probabilities = np.array(
        [[0.1, 0.2, 0.6, 0.1], [0.5, 0.1, 0.1, 0.3], [0.2, 0.1, 0.3, 0.4], [0.1, 0.7, 0.1, 0.1]],
        dtype=np.float32,
    )
    images = np.zeros((4, 5, 5))
    for labels, expected in [([2, 0, 3, 1], 1.0), ([2, 0, 0, 0], 0.5), ([1, 3, 0, 2], 0.0)]:
        got = call(
            exercise, "accuracy_under_shift", lambda x: probabilities, images, np.array(labels), [0]
        )
        if np.allclose(got, [expected]):
            continue
        said = f"with probabilities {rows(probabilities)} and labels {labels}, the accuracy is "
        said += f"{expected:.4g}, got {got}"
        if np.allclose(got, [np.mean(np.array([2, 0, 3, 1]) == np.argmax(labels))]):
            fail(
                f"{said}: the labels are the classes already, integers (N,), not one-hot rows; "
                "compare each answer with its label, not with an argmax of the labels"
            )
        fail(
            f"{said}: each image's answer is the largest of its own row (argmax along axis 1), "
            "compared with its label (an integer)"
        )


def test_accuracy_under_shift_gives_predict_the_moved_images(exercise):
    seen = []

    def predict(images):
        seen.append(images.copy())
        return np.tile(np.eye(10, dtype=np.float32)[[0]], (len(images), 1))

    images = np.random.default_rng(5).random((5, 8, 8, 1)).astype(np.float32)
    before = images.copy()
    got = call(exercise, "accuracy_under_shift", predict, images, np.zeros(5, dtype=int), [(1, -2)])
    if len(seen) != 1 or not np.array_equal(seen[0], moved_by_hand(images, 1, -2)):
        fail("accuracy_under_shift should call predict once per shift with the images moved by it")
    if seen[0].dtype != images.dtype or not np.array_equal(images, before):
        fail("accuracy_under_shift should keep the images' dtype and leave them unchanged")
    if not np.allclose(got, [1.0]):
        fail(f"every answer is 0 and so is every label: the accuracy is 1.0, got {got}")


def test_the_three_functions_are_your_own_code(exercise):
    # The three run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call TensorFlow, Keras, PyTorch, JAX or the course's library.
    images = np.random.default_rng(6).random((2, 12, 12))
    exercise.shift(images, 1, 1)
    exercise.equivariance_error(max_pool, images, 2, 0, 1)
    exercise.accuracy_under_shift(column_of_the_pixel, images, np.zeros(2, dtype=int), [0, 1])
