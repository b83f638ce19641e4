"""Exercise 10, max pooling by hand: max_pool2d compared with Keras's MaxPooling2D.

Hand-computed examples first (their numbers are in the tests), then a Keras MaxPooling2D on
tricky cases and on shapes drawn at random. A mismatch is explained when it looks like a known
mistake: an output size rounded up for "valid", a stride that does not default to the pool
size, zero padding that wins over negative pixels, channels pooled together, average pooling,
or "same" padding split the wrong way (the output is shifted).
"""

import functools
import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex10_pooling.py"
ATOL = 1e-6  # a maximum is one of the pixels: no rounding at all


# --- Keras, the reference ---------------------------------------------------------------------


@functools.cache
def keras_layer(kind, pool_size, stride, padding):
    return kind(pool_size, strides=stride, padding=padding)


def keras_pool(images, pool_size=2, stride=None, padding="valid", kind=keras.layers.MaxPooling2D):
    """What keras.layers.MaxPooling2D (or another pooling layer) gives for these images."""
    return np.asarray(keras_layer(kind, pool_size, stride, padding)(images))


def same_padding(size, pool_size, stride):
    """TensorFlow's "same" padding of one side: (before, after), the smaller half before."""
    total = max((math.ceil(size / stride) - 1) * stride + pool_size - size, 0)
    return total // 2, total - total // 2


# --- what a mismatch means (kept under pytest's 500 characters of a failure message) ---------

# What a mistake is called when one small example fits several.
SHORT = {
    "zero padding": "zero padding that wins over negative pixels",
    "average": "average pooling",
    "channels": "channels pooled together",
    "shifted": "padding on the wrong side (a shifted output)",
}


def output_size(size, pool_size, stride, padding):
    """Keras's rule, written out (the tests compare whole outputs with Keras's)."""
    return (size - pool_size) // stride + 1 if padding == "valid" else math.ceil(size / stride)


def size_rule(size, pool_size, stride, padding):
    """How Keras computes one side of the output, with the numbers of this case."""
    if padding == "valid":
        return (
            f"'valid': (size - pool_size) // stride + 1 = ({size} - {pool_size}) // {stride} + 1 "
            f"= {(size - pool_size) // stride + 1}"
        )
    return f"'same': ceil(size / stride) = ceil({size} / {stride}) = {math.ceil(size / stride)}"


def size_mistake(got, size, pool_size, stride, padding, stride_given):
    """The likeliest reason for an output size `got` that differs from Keras's, or ''."""
    stride_1 = output_size(size, pool_size, 1, padding)
    if stride_given:
        ignored = f"that is the size for stride 1: is the stride ({stride}) ignored?"
    else:
        ignored = (
            f"that is the size for stride 1, but with no stride given the stride is the pool "
            f"size ({pool_size})"
        )
    if padding == "valid":
        guesses = [
            (
                math.ceil((size - pool_size) / stride) + 1,
                "the output size was rounded up (ceil) instead of down (floor): 'valid' drops "
                "the last window that would stick out past the edge",
            ),
            (stride_1, ignored),
            (math.ceil(size / stride), "that is the 'same' size, but 'valid' adds no padding"),
        ]
    else:
        guesses = [
            (stride_1, ignored),
            (size // stride, f"rounded down: 'same' rounds {size} / {stride} up (ceil)"),
            ((size - pool_size) // stride + 1, "that is the 'valid' size: 'same' pads first"),
        ]
    # The first that fits, the likeliest first (a small example can fit several).
    return next((reason for then, reason in guesses if then == got), "")


def describe(images, pool_size, stride, padding):
    stride_text = "no stride" if stride is None else f"stride {stride}"
    return f"images {images.shape}, pool_size {pool_size}, {stride_text}, padding {padding!r}"


def check_shape(got, images, pool_size, stride, padding):
    """Fail with a sentence about each axis when max_pool2d's output shape is not Keras's."""
    count, height, width, channels = images.shape
    step = pool_size if stride is None else stride
    sides = [("height", height), ("width", width)]
    want = (count, *(output_size(n, pool_size, step, padding) for _, n in sides), channels)
    if got.shape == want:
        return
    if got.ndim != 4:
        problems = [f"it should have 4 axes, (N, H_out, W_out, C), not {got.ndim}"]
    else:
        problems = []
        if got.shape[0] != count:
            problems.append(f"the first axis should hold the {count} image(s)")
        wrong = [
            (name, got.shape[axis], want[axis], size)
            for axis, (name, size) in enumerate(sides, start=1)
            if got.shape[axis] != want[axis]
        ]
        if len(wrong) == 2 and wrong[0][1:] == wrong[1][1:]:  # the same numbers on both sides
            wrong = [("height and width", *wrong[0][1:])]
        sizes = [
            f"{name} {size_got} instead of {size_want} "
            f"({size_rule(size, pool_size, step, padding)})"
            for name, size_got, size_want, size in wrong
        ]
        reasons = [
            size_mistake(size_got, size, pool_size, step, padding, stride is not None)
            for _, size_got, _, size in wrong
        ]
        if len(set(reasons)) == 1:  # one reason for both sides: say it once
            problems.append(" and ".join(sizes) + (f": {reasons[0]}" if reasons[0] else ""))
        else:
            problems += [
                f"{size}: {why}" if why else size for size, why in zip(sizes, reasons, strict=True)
            ]
        if got.shape[3] != channels:
            problems.append(f"the last axis should keep the {channels} channel(s)")
    pytest.fail(
        f"max_pool2d returned shape {got.shape}, but Keras's MaxPooling2D gives {want} for "
        f"{describe(images, pool_size, stride, padding)}: " + "; ".join(problems),
        pytrace=False,
    )


def shift_mistake(got, images, pool_size, stride, padding):
    """If `got` is Keras's output for another padding before the image, say which; else ''."""
    step = pool_size if stride is None else stride
    # One stride-1 pooling over an image padded with -inf all around holds every shifted output.
    margin = ((0, 0), (pool_size, pool_size), (pool_size, pool_size), (0, 0))
    every = keras_pool(np.pad(images, margin, constant_values=-np.inf), pool_size, 1)
    height, width = images.shape[1:3]
    if padding == "same":
        top, bottom = same_padding(height, pool_size, step)
        left, right = same_padding(width, pool_size, step)
    else:
        top = bottom = left = right = 0
    for rows in range(pool_size + 1):
        for cols in range(pool_size + 1):
            if (rows, cols) == (top, left):
                continue
            start_row, start_col = pool_size - rows, pool_size - cols
            shifted = every[:, start_row::step, start_col::step][:, : got.shape[1], : got.shape[2]]
            if shifted.shape != got.shape or not np.allclose(got, shifted, atol=ATOL):
                continue
            padded = f"{rows} row(s) of padding above and {cols} column(s) on the left"
            if padding == "valid":
                return f"your output is shifted: it matches {padded}, but 'valid' pads nothing"
            return (
                f"your output is shifted: it matches {padded}, but TensorFlow's 'same' pads "
                f"{top} above, {bottom} below, {left} left, {right} right here (of the (out - 1) "
                "* stride + pool_size - size pixels, the smaller half goes before, the larger "
                "after)"
            )
    return ""


def check_values(got, images, pool_size, stride, padding, want=None):
    """Fail with what differs, and why when it looks like a known mistake."""
    check_shape(got, images, pool_size, stride, padding)
    if want is None:
        want = keras_pool(images, pool_size, stride, padding)
    if np.allclose(got, want, atol=ATOL):
        return

    def equals(other):
        return other.shape == got.shape and np.allclose(got, other, atol=ATOL)

    step = pool_size if stride is None else stride
    reasons = {}
    if padding == "same":
        (top, bottom), (left, right) = (
            same_padding(size, pool_size, step) for size in images.shape[1:3]
        )
        zeros = np.pad(images, ((0, 0), (top, bottom), (left, right), (0, 0)))
        if equals(keras_pool(zeros, pool_size, stride, "valid")):
            reasons["zero padding"] = (
                "the padding won: your output equals pooling an image padded with zeros, and 0 "
                "beats every negative pixel. Keras's padding never wins: pad with -np.inf"
            )
    if equals(keras_pool(images, pool_size, stride, padding, keras.layers.AveragePooling2D)):
        reasons["average"] = "your output is each window's average: max pooling keeps its maximum"
    if images.shape[3] > 1 and equals(np.broadcast_to(want.max(axis=3, keepdims=True), got.shape)):
        reasons["channels"] = (
            "the channels were pooled together: take the maximum over each window's rows and "
            "columns (axes 1 and 2), each channel on its own"
        )
    shifted = shift_mistake(got, images, pool_size, stride, padding)
    if shifted:
        reasons["shifted"] = shifted
    if not reasons:
        reason = (
            "none of the usual mistakes (zero padding, channels mixed, shifted windows) explains "
            "it: compare your code with the tests' hand-computed examples"
        )
    elif len(reasons) == 1:
        (reason,) = reasons.values()
    else:
        reason = "this small example fits several mistakes: " + " or ".join(
            SHORT[name] for name in reasons
        )
    worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
    image, row, col, channel = (int(i) for i in worst)
    pytest.fail(
        f"max_pool2d differs from Keras's MaxPooling2D: {reason}. For "
        f"{describe(images, pool_size, stride, padding)}, at image {image}, row {row}, column "
        f"{col}, channel {channel}, Keras gives {want[worst]:.4g} and yours {got[worst]:.4g}.",
        pytrace=False,
    )


def run_pool(exercise, images, pool_size=2, stride=None, padding="valid"):
    """The student's max_pool2d on a copy of the images (stride left out when None).

    An error other than the stub's NotImplementedError is reported with the case and the
    output shape Keras gives, so a slice that does not fit the output can be traced.
    """
    options = {"padding": padding} if stride is None else {"stride": stride, "padding": padding}
    try:
        return np.asarray(exercise.max_pool2d(images.copy(), pool_size, **options))
    except NotImplementedError:
        raise
    except ImportError as error:  # a missing package, not a slice that does not fit
        pytest.fail(
            f"max_pool2d raised {type(error).__name__}: {str(error).strip()}. Exercise 10 "
            "asks for numpy only: remove that import, or install the package if you meant it.",
            pytrace=False,
        )
    except Exception as error:
        want = keras_pool(images, pool_size, stride, padding).shape
        pytest.fail(
            f"max_pool2d raised {type(error).__name__}: {str(error).strip()}, for "
            f"{describe(images, pool_size, stride, padding)}, where Keras's MaxPooling2D gives "
            f"shape {want}: do your slices and your output have that size?",
            pytrace=False,
        )


def one_image(rows):
    """One single-channel image (1, H, W, 1) from a list of rows."""
    return np.array(rows, dtype=np.float32)[None, :, :, None]


def random_images(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- by hand ------------------------------------------------------------------------------------


def test_max_pool2d_of_a_4x4_image_by_hand(exercise):
    # 1 3 | 2 4
    # 5 6 | 1 0    ->   6 4
    # ----+----         7 9
    # 7 2 | 9 8
    # 3 4 | 6 5
    images = one_image([[1, 3, 2, 4], [5, 6, 1, 0], [7, 2, 9, 8], [3, 4, 6, 5]])
    got = run_pool(exercise, images, 2)
    check_values(got, images, 2, None, "valid", one_image([[6, 4], [7, 9]]))


def test_max_pool2d_pools_each_channel_on_its_own_by_hand(exercise):
    # Channel 0 holds 1 5 / 2 0, channel 1 holds 9 -1 / 3 4: their maxima are 5 and 9.
    images = np.stack([[[1, 5], [2, 0]], [[9, -1], [3, 4]]], -1)[None].astype(np.float32)
    got = run_pool(exercise, images, 2)
    check_values(got, images, 2, None, "valid", np.array([5, 9], np.float32).reshape(1, 1, 1, 2))


def test_max_pool2d_stride_defaults_to_the_pool_size_by_hand(exercise):
    # The pixels 0..35 in a 6x6 image, 3x3 windows and no stride given: the windows sit side by
    # side at rows and columns 0 and 3; each maximum is its window's bottom-right pixel.
    images = np.arange(36, dtype=np.float32).reshape(1, 6, 6, 1)
    got = run_pool(exercise, images, 3)
    check_values(got, images, 3, None, "valid", one_image([[14, 17], [32, 35]]))


def test_max_pool2d_valid_rounds_the_output_size_down_by_hand(exercise):
    # The pixels 0..24 in a 5x5 image, 2x2 windows: (5 - 2) // 2 + 1 = 2 windows a side, at 0 and
    # 2; the last row and column (4) are in no window. The maxima: 6, 8, 16, 18.
    images = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    got = run_pool(exercise, images, 2)
    check_values(got, images, 2, None, "valid", one_image([[6, 8], [16, 18]]))


def test_max_pool2d_same_padding_by_hand(exercise):
    # The same 5x5 image with "same": ceil(5 / 2) = 3 windows a side. The padding needed is
    # (3 - 1) * 2 + 2 - 5 = 1: none before, one row below and one column on the right, so the
    # last windows hold only row (column) 4 of the image.
    images = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    got = run_pool(exercise, images, 2, padding="same")
    want = one_image([[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    check_values(got, images, 2, None, "same", want)


def test_max_pool2d_same_padding_never_wins_over_negative_pixels(exercise):
    # The pixels -1..-25: each maximum is its window's top-left pixel, even in the last row and
    # column, whose windows hang over the padding.
    images = -np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)
    got = run_pool(exercise, images, 2, padding="same")
    want = one_image([[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]])
    check_values(got, images, 2, None, "same", want)


# --- against Keras ----------------------------------------------------------------------------

TRICKY = {  # name: (image shape, pool size, stride, padding)
    "overlapping-3x3-stride-2": ((2, 7, 9, 2), 3, 2, "valid"),
    "gaps-2x2-stride-3": ((1, 8, 7, 1), 2, 3, "valid"),
    "3x3-stride-1-same": ((1, 5, 6, 3), 3, 1, "same"),
    "odd-sizes-stride-2-same": ((1, 7, 5, 2), 2, 2, "same"),
    "pool-larger-than-image-same": ((1, 2, 3, 1), 4, None, "same"),
    "negative-pixels-3x3-same": ((1, 4, 5, 2), 3, None, "same"),
}


@pytest.mark.parametrize("case", TRICKY)
def test_max_pool2d_matches_keras_on_tricky_cases(exercise, case):
    shape, pool_size, stride, padding = TRICKY[case]
    images = random_images(sorted(TRICKY).index(case), shape)
    if case.startswith("negative"):
        images = -np.abs(images) - 1
    got = run_pool(exercise, images, pool_size, stride, padding)
    check_values(got, images, pool_size, stride, padding)


@st.composite
def pool_cases(draw):
    """Images, pool size, stride (sometimes none) and padding: small and rectangular."""
    padding = draw(st.sampled_from(["valid", "same"]))
    pool_size = draw(st.integers(1, 4))
    stride = draw(st.none() | st.integers(1, 3))
    low = pool_size if padding == "valid" else 1  # a "valid" window must fit at least once
    height, width = draw(st.integers(low, low + 8)), draw(st.integers(low, low + 8))
    shape = (draw(st.integers(1, 2)), height, width, draw(st.integers(1, 3)))
    images = random_images(draw(st.integers(0, 2**32 - 1)), shape)
    return images, pool_size, stride, padding


@settings(max_examples=40, report_multiple_bugs=False)
@given(case=pool_cases())
def test_max_pool2d_matches_keras(exercise, case):
    images, pool_size, stride, padding = case
    got = run_pool(exercise, images, pool_size, stride, padding)
    check_values(got, images, pool_size, stride, padding)


def test_max_pool2d_keeps_float32(exercise):
    got = run_pool(exercise, random_images(0, (1, 5, 5, 1)), 2, padding="same")
    assert got.dtype == np.float32, (
        f"max_pool2d should return float32 images like Keras's MaxPooling2D, but it returned "
        f"{got.dtype}: np.full and np.zeros make float64 unless given dtype=images.dtype"
    )


def test_max_pool2d_is_your_own_numpy_code(exercise):
    # It runs under the own-code rule of the manifest, as in every test: this one fails alone
    # when it calls TensorFlow, Keras, SciPy, scikit-image, PyTorch or JAX, however reached.
    exercise.max_pool2d(random_images(1, (1, 4, 4, 1)))
