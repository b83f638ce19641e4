"""Exercise 9, a convolution by hand: output sizes and conv2d, compared with Keras's Conv2D.

Hand-computed examples first (their numbers are in the tests, to follow with a pencil), then a
Keras Conv2D holding the same kernels and bias, on tricky cases and on shapes drawn at random.
A mismatch is explained when it looks like a known mistake: a flipped kernel (a true
convolution), a missing bias, rows and columns swapped, "same" padding split the wrong way
(the output is shifted), an output size rounded the wrong way or a stride ignored.
"""

import functools
import math
import numbers

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex09_convolution.py"
ATOL = 1e-4  # float32 sums of up to a few hundred products

FLIPPED = (
    "your output equals a true convolution, with the kernel flipped; Keras's Conv2D (like every "
    "deep-learning framework) slides the kernel unflipped: cross-correlation. Kernel offset "
    "(i, j) meets pixel (y * stride + i, x * stride + j)"
)
# What a mistake is called when one small example fits several.
SHORT = {
    "flipped": "a flipped kernel (a true convolution; Keras slides it unflipped)",
    "no bias": "a missing bias",
    "bias twice": "a bias added twice",
    "swapped": "the kernel's rows and columns swapped",
    "shifted": "padding on the wrong side (a shifted output)",
}


# --- Keras, the reference ---------------------------------------------------------------------


@functools.cache
def keras_layer(kernel_height, kernel_width, channels, filters, stride, padding):
    """One Keras Conv2D per configuration, built once; its weights are set before each call."""
    layer = keras.layers.Conv2D(
        filters, (kernel_height, kernel_width), strides=stride, padding=padding
    )
    layer.build((None, None, None, channels))
    return layer


def keras_conv2d(images, kernels, bias, stride=1, padding="valid"):
    """What keras.layers.Conv2D gives for these images, kernels and bias."""
    kernel_height, kernel_width, channels, filters = kernels.shape
    layer = keras_layer(kernel_height, kernel_width, channels, filters, stride, padding)
    layer.set_weights([np.ascontiguousarray(kernels), np.asarray(bias, dtype=np.float32)])
    return np.asarray(layer(images))


def keras_output_size(size, kernel, stride, padding):
    layer = keras.layers.Conv2D(1, (kernel, 1), strides=(stride, 1), padding=padding)
    return layer.compute_output_shape((None, size, 1, 1))[1]


def output_size(size, kernel, stride, padding):
    """Keras's rule, written out (checked against Keras by test_conv_output_size_matches_keras)."""
    return (size - kernel) // stride + 1 if padding == "valid" else math.ceil(size / stride)


def same_padding(size, kernel, stride):
    """TensorFlow's "same" padding of one side: (before, after), the smaller half before."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# --- what a mismatch means (kept under pytest's 500 characters of a failure message) ---------


def size_rule(size, kernel, stride, padding):
    """How Keras computes one side of the output, with the numbers of this case."""
    if padding == "valid":
        return (
            f"'valid': (size - kernel) // stride + 1 = ({size} - {kernel}) // {stride} + 1 = "
            f"{(size - kernel) // stride + 1}"
        )
    return f"'same': ceil(size / stride) = ceil({size} / {stride}) = {math.ceil(size / stride)}"


def size_mistake(got, size, kernel, stride, padding):
    """The likeliest reason for an output size `got` that differs from Keras's, or ''."""
    valid, same = (size - kernel) // stride + 1, math.ceil(size / stride)
    ignored = f"that is the size for stride 1: is the stride ({stride}) ignored?"
    if padding == "valid":
        guesses = [
            (
                math.ceil((size - kernel) / stride) + 1,
                "rounded up (ceil) instead of down (floor): a last window that would stick out "
                "past the edge is dropped",
            ),
            (size - kernel + 1, ignored),
            (same, "that is the 'same' size, but 'valid' adds no padding"),
            (valid - 1, "one short: the + 1 counts the first position"),
            (valid + 1, "one too many: the last window would run past the edge"),
        ]
    else:
        guesses = [
            (size, ignored),
            (size // stride, f"rounded down: 'same' rounds {size} / {stride} up (ceil)"),
            (valid, "that is the 'valid' size: 'same' pads the image with zeros first"),
        ]
        if got > same:
            guesses.append((got, "too many: pad only (out - 1) * stride + kernel - size in all"))
    # The first that fits, the likeliest first (a small example can fit several).
    return next((reason for then, reason in guesses if then == got), "")


def describe(images, kernels, stride, padding):
    return f"images {images.shape}, kernels {kernels.shape}, stride {stride}, padding {padding!r}"


def check_shape(got, images, kernels, stride, padding):
    """Fail with a sentence about each axis when conv2d's output shape is not Keras's."""
    count, height, width, _ = images.shape
    kernel_height, kernel_width, _, filters = kernels.shape
    sides = [("height", height, kernel_height), ("width", width, kernel_width)]
    want = (count, *(output_size(n, k, stride, padding) for _, n, k in sides), filters)
    if got.shape == want:
        return
    if got.ndim != 4:
        problems = [f"it should have 4 axes, (N, H_out, W_out, F), not {got.ndim}"]
    else:
        problems = []
        if got.shape[0] != count:
            problems.append(f"the first axis should hold the {count} image(s)")
        wrong = [
            (name, got.shape[axis], want[axis], size, kernel)
            for axis, (name, size, kernel) in enumerate(sides, start=1)
            if got.shape[axis] != want[axis]
        ]
        if len(wrong) == 2 and wrong[0][1:] == wrong[1][1:]:  # the same numbers on both sides
            wrong = [("height and width", *wrong[0][1:])]
        sizes = [
            f"{name} {size_got} instead of {size_want} ({size_rule(size, kernel, stride, padding)})"
            for name, size_got, size_want, size, kernel in wrong
        ]
        reasons = [
            size_mistake(size_got, size, kernel, stride, padding)
            for _, size_got, _, size, kernel in wrong
        ]
        if len(set(reasons)) == 1:  # one reason for both sides: say it once
            problems.append(" and ".join(sizes) + (f": {reasons[0]}" if reasons[0] else ""))
        else:
            problems += [
                f"{size}: {why}" if why else size for size, why in zip(sizes, reasons, strict=True)
            ]
        if got.shape[3] != filters:
            problems.append(f"the last axis should hold one channel per filter, {filters}")
    pytest.fail(
        f"conv2d returned shape {got.shape}, but Keras's Conv2D gives {want} for "
        f"{describe(images, kernels, stride, padding)}: " + "; ".join(problems),
        pytrace=False,
    )


def shift_mistake(got, images, kernels, bias, stride, padding):
    """If `got` is Keras's output for another padding before the image, say which; else ''."""
    kernel_height, kernel_width = kernels.shape[:2]
    # One stride-1 convolution over a generously padded image holds every shifted output.
    margin = ((0, 0), (kernel_height, kernel_height), (kernel_width, kernel_width), (0, 0))
    every = keras_conv2d(np.pad(images, margin), kernels, bias)
    height, width = images.shape[1:3]
    if padding == "same":
        top, bottom = same_padding(height, kernel_height, stride)
        left, right = same_padding(width, kernel_width, stride)
    else:
        top = bottom = left = right = 0
    for rows in range(kernel_height + 1):
        for cols in range(kernel_width + 1):
            if (rows, cols) == (top, left):
                continue
            start_row, start_col = kernel_height - rows, kernel_width - cols
            shifted = every[:, start_row::stride, start_col::stride][
                :, : got.shape[1], : got.shape[2]
            ]
            if shifted.shape != got.shape or not np.allclose(got, shifted, atol=ATOL):
                continue
            padded = f"{rows} row(s) of zeros above and {cols} column(s) on the left"
            if padding == "valid":
                return f"your output is shifted: it matches {padded}, but 'valid' pads nothing"
            return (
                f"your output is shifted: it matches {padded}, but TensorFlow's 'same' pads "
                f"{top} above, {bottom} below, {left} left, {right} right here (of the (out - 1) "
                "* stride + kernel - size pixels, the smaller half goes before, the larger after)"
            )
    return ""


def check_values(got, images, kernels, bias, stride, padding, want=None):
    """Fail with what differs, and why when it looks like a known mistake."""
    check_shape(got, images, kernels, stride, padding)
    if want is None:
        want = keras_conv2d(images, kernels, bias, stride, padding)
    if np.allclose(got, want, atol=ATOL):
        return

    def equals(other):
        return other.shape == got.shape and np.allclose(got, other, atol=ATOL)

    kernel_height, kernel_width = kernels.shape[:2]
    reasons = {}
    if equals(keras_conv2d(images, kernels[::-1, ::-1], bias, stride, padding)):
        reasons["flipped"] = FLIPPED
    if equals(want - bias):
        reasons["no bias"] = "the bias is missing: add bias[f] to every value of output channel f"
    if equals(want + bias):
        reasons["bias twice"] = "the bias was added twice"
    if kernel_height == kernel_width > 1 and equals(
        keras_conv2d(images, kernels.transpose(1, 0, 2, 3), bias, stride, padding)
    ):
        reasons["swapped"] = (
            "the kernel's rows and columns are swapped: kernels[i, j] moves i rows down and "
            "j columns across"
        )
    shifted = shift_mistake(got, images, kernels, bias, stride, padding)
    if shifted:
        reasons["shifted"] = shifted
    if not reasons:
        reason = (
            "none of the usual mistakes (flipped kernel, missing bias, shifted padding) explains "
            "it: compare your code with the tests' hand-computed examples"
        )
    elif len(reasons) == 1:
        (reason,) = reasons.values()
    else:
        reason = "this small example fits several mistakes: " + " or ".join(
            SHORT[name] for name in reasons
        )
    worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
    image, row, col, filt = (int(i) for i in worst)
    pytest.fail(
        f"conv2d differs from Keras's Conv2D: {reason}. For "
        f"{describe(images, kernels, stride, padding)}, at image {image}, row {row}, column "
        f"{col}, filter {filt}, Keras gives {want[worst]:.4g} and yours {got[worst]:.4g}.",
        pytrace=False,
    )


def run_conv2d(exercise, images, kernels, bias, stride=1, padding="valid"):
    """The student's conv2d on copies of the inputs, as a numpy array.

    An error other than the stub's NotImplementedError is reported with the case and the
    output shape Keras gives, so a slice that does not fit the output can be traced.
    """
    try:
        return np.asarray(
            exercise.conv2d(
                images.copy(), kernels.copy(), bias.copy(), stride=stride, padding=padding
            )
        )
    except NotImplementedError:
        raise
    except ImportError as error:  # a missing package, not a slice that does not fit
        pytest.fail(
            f"conv2d raised {type(error).__name__}: {str(error).strip()}. Exercise 9 "
            "asks for numpy only: remove that import, or install the package if you meant it.",
            pytrace=False,
        )
    except Exception as error:
        want = keras_conv2d(images, kernels, bias, stride, padding).shape
        pytest.fail(
            f"conv2d raised {type(error).__name__}: {str(error).strip()}, for "
            f"{describe(images, kernels, stride, padding)}, where Keras's Conv2D gives shape "
            f"{want}: do your slices and your output have that size?",
            pytrace=False,
        )


def as_images(*rows_per_channel):
    """One image (1, H, W, C) from C lists of rows."""
    return np.stack([np.array(rows, dtype=np.float32) for rows in rows_per_channel], -1)[None]


def random_case(seed, shape, kernel_shape):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal(shape).astype(np.float32)
    kernels = rng.standard_normal(kernel_shape).astype(np.float32)
    bias = rng.standard_normal(kernel_shape[-1]).astype(np.float32)
    return images, kernels, bias


# --- conv_output_size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [
        (28, 3, 1, "valid", 26),
        (28, 3, 1, "same", 28),
        (28, 5, 2, "valid", 12),
        (28, 5, 2, "same", 14),
        (5, 2, 2, "valid", 2),
        (7, 2, 3, "same", 3),
        (4, 6, 1, "same", 4),
    ],
    ids=[
        "28-3x3",
        "28-3x3-same",
        "28-5x5-stride2",
        "28-5x5-stride2-same",
        "5-2x2-stride2",
        "7-2x2-stride3-same",
        "kernel-larger-than-image-same",
    ],
)
def test_conv_output_size_of_hand_examples(exercise, size, kernel, stride, padding, expected):
    got = exercise.conv_output_size(size, kernel, stride, padding)
    if got == expected:
        return
    reason = size_mistake(got, size, kernel, stride, padding)
    pytest.fail(
        f"conv_output_size({size}, {kernel}, {stride}, {padding!r}) should be {expected} "
        f"({size_rule(size, kernel, stride, padding)}), but it returned {got!r}"
        + (f": {reason}" if reason else ""),
        pytrace=False,
    )


def test_conv_output_size_returns_a_whole_number(exercise):
    for args in [(28, 3, 1, "valid"), (28, 3, 2, "same"), (9, 2, 3, "valid")]:
        got = exercise.conv_output_size(*args)
        assert isinstance(got, numbers.Integral) and not isinstance(got, bool), (
            f"conv_output_size{args} should return a whole number (an int), but it returned "
            f"{got!r} ({type(got).__name__}): use // (floor division) or math.ceil, not /"
        )


@settings(max_examples=40, report_multiple_bugs=False)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
)
def test_conv_output_size_matches_keras(exercise, size, kernel, stride, padding):
    if padding == "valid" and kernel > size:
        kernel = size  # Keras refuses a window that never fits
    want = keras_output_size(size, kernel, stride, padding)
    got = exercise.conv_output_size(size, kernel, stride, padding)
    reason = size_mistake(got, size, kernel, stride, padding)
    assert got == want, (
        f"conv_output_size({size}, {kernel}, {stride}, {padding!r}) should be {want} like Keras's "
        f"Conv2D ({size_rule(size, kernel, stride, padding)}), but it returned {got!r}"
        + (f": {reason}" if reason else "")
    )


# --- conv2d by hand ---------------------------------------------------------------------------

IMAGE_3X3 = as_images([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
KERNEL_2X2 = np.array([[1, 2], [3, 4]], dtype=np.float32)[:, :, None, None]
NO_BIAS = np.zeros(1, dtype=np.float32)


def test_conv2d_of_a_3x3_image_and_a_2x2_kernel_by_hand(exercise):
    # The image 1 2 3 and the kernel 1 2: the top-left output is 1*1 + 2*2 + 4*3 + 5*4 = 37,
    #           4 5 6                 3 4  the top-right 2*1 + 3*2 + 5*3 + 6*4 = 47,
    #           7 8 9                      then 67 and 77 on the second row.
    got = run_conv2d(exercise, IMAGE_3X3, KERNEL_2X2, NO_BIAS)
    want = np.array([[37, 47], [67, 77]], dtype=np.float32)[None, :, :, None]
    check_values(got, IMAGE_3X3, KERNEL_2X2, NO_BIAS, 1, "valid", want)


def test_conv2d_adds_one_bias_per_filter_by_hand(exercise):
    # Two 1x1 filters: 2 * pixel + 0.5 and -1 * pixel + 10.
    images = as_images([[1, 2], [3, 4]])
    kernels = np.array([2, -1], dtype=np.float32).reshape(1, 1, 1, 2)
    bias = np.array([0.5, 10], dtype=np.float32)
    got = run_conv2d(exercise, images, kernels, bias)
    want = np.stack([[[2.5, 4.5], [6.5, 8.5]], [[9, 8], [7, 6]]], -1)[None].astype(np.float32)
    check_values(got, images, kernels, bias, 1, "valid", want)


def test_conv2d_sums_over_the_input_channels_by_hand(exercise):
    # One pixel with two channels (1 and 2), three 1x1 filters: each filter f gives
    # 1 * kernels[0, 0, 0, f] + 2 * kernels[0, 0, 1, f]: 1*1 + 2*0 = 1, 1*0 + 2*1 = 2, 1*3 - 2 = 1.
    images = as_images([[1]], [[2]])
    kernels = np.array([[1, 0, 3], [0, 1, -1]], dtype=np.float32).reshape(1, 1, 2, 3)
    bias = np.zeros(3, dtype=np.float32)
    got = run_conv2d(exercise, images, kernels, bias)
    want = np.array([1, 2, 1], dtype=np.float32).reshape(1, 1, 1, 3)
    check_values(got, images, kernels, bias, 1, "valid", want)


def test_conv2d_with_stride_2_by_hand(exercise):
    # The pixels 0..15 in a 4x4 image; a 2x2 kernel of ones moving 2 pixels at a time sums each
    # 2x2 block: 0+1+4+5 = 10, 2+3+6+7 = 18, 8+9+12+13 = 42, 10+11+14+15 = 50.
    images = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    kernels = np.ones((2, 2, 1, 1), dtype=np.float32)
    got = run_conv2d(exercise, images, kernels, NO_BIAS, stride=2)
    want = np.array([[10, 18], [42, 50]], dtype=np.float32)[None, :, :, None]
    check_values(got, images, kernels, NO_BIAS, 2, "valid", want)


def test_conv2d_same_padding_of_an_even_kernel_by_hand(exercise):
    # "same" keeps 3x3. The padding needed is (3 - 1) * 1 + 2 - 3 = 1 row and 1 column:
    # TensorFlow puts 0 before and 1 after (a row of zeros below, a column on the right).
    # The last column: 3*1 + 6*3 = 21, 6*1 + 9*3 = 33, 9*1 = 9; the last row: 7*1 + 8*2 = 23,
    # 8*1 + 9*2 = 26.
    got = run_conv2d(exercise, IMAGE_3X3, KERNEL_2X2, NO_BIAS, padding="same")
    want = np.array([[37, 47, 21], [67, 77, 33], [23, 26, 9]], dtype=np.float32)[None, ..., None]
    check_values(got, IMAGE_3X3, KERNEL_2X2, NO_BIAS, 1, "same", want)


def test_conv2d_same_padding_with_stride_2_by_hand(exercise):
    # The pixels 0..15 in a 4x4 image, a 3x3 kernel of ones, stride 2: ceil(4 / 2) = 2 outputs a
    # side. The padding needed is (2 - 1) * 2 + 3 - 4 = 1: none before, one row (column) after,
    # although the kernel is odd. Windows start at rows and columns 0 and 2:
    # 0+1+2+4+5+6+8+9+10 = 45, 2+3+6+7+10+11 = 39, 8+9+10+12+13+14 = 66, 10+11+14+15 = 50.
    images = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    kernels = np.ones((3, 3, 1, 1), dtype=np.float32)
    got = run_conv2d(exercise, images, kernels, NO_BIAS, stride=2, padding="same")
    want = np.array([[45, 39], [66, 50]], dtype=np.float32)[None, :, :, None]
    check_values(got, images, kernels, NO_BIAS, 2, "same", want)


# --- conv2d against Keras ---------------------------------------------------------------------

TRICKY = {  # name: (image shape, kernel shape, stride, padding)
    "rectangular-kernel-3-channels": ((2, 6, 9, 3), (2, 3, 3, 2), 2, "valid"),
    "stride-3-drops-the-last-pixels": ((1, 8, 8, 1), (3, 3, 1, 2), 3, "valid"),
    "even-kernel-same": ((1, 5, 6, 2), (2, 2, 2, 3), 1, "same"),
    "even-kernel-stride-2-same": ((1, 7, 8, 1), (4, 2, 1, 2), 2, "same"),
    "odd-kernel-stride-2-uneven-same": ((2, 6, 6, 2), (3, 3, 2, 1), 2, "same"),
    "kernel-larger-than-image-same": ((1, 2, 3, 1), (4, 4, 1, 1), 1, "same"),
}


@pytest.mark.parametrize("case", TRICKY)
def test_conv2d_matches_keras_on_tricky_cases(exercise, case):
    shape, kernel_shape, stride, padding = TRICKY[case]
    images, kernels, bias = random_case(sorted(TRICKY).index(case), shape, kernel_shape)
    got = run_conv2d(exercise, images, kernels, bias, stride, padding)
    check_values(got, images, kernels, bias, stride, padding)


@st.composite
def conv_cases(draw):
    """Images, kernels, bias, stride and padding: small, rectangular, odd and even kernels."""
    padding = draw(st.sampled_from(["valid", "same"]))
    stride = draw(st.integers(1, 3))
    kernel_height, kernel_width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    if padding == "valid":  # the kernel must fit at least once
        height = draw(st.integers(kernel_height, kernel_height + 8))
        width = draw(st.integers(kernel_width, kernel_width + 8))
    else:
        height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    count = draw(st.integers(1, 2))
    channels, filters = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    images, kernels, bias = random_case(
        seed, (count, height, width, channels), (kernel_height, kernel_width, channels, filters)
    )
    return images, kernels, bias, stride, padding


@settings(max_examples=40, report_multiple_bugs=False)
@given(case=conv_cases())
def test_conv2d_matches_keras(exercise, case):
    images, kernels, bias, stride, padding = case
    got = run_conv2d(exercise, images, kernels, bias, stride, padding)
    check_values(got, images, kernels, bias, stride, padding)


def test_conv2d_returns_float32(exercise):
    images, kernels, bias = random_case(0, (1, 5, 5, 2), (3, 3, 2, 2))
    got = run_conv2d(exercise, images, kernels, bias)
    assert got.dtype == np.float32, (
        f"conv2d should return float32 like Keras's Conv2D, but it returned {got.dtype}: "
        "np.zeros and np.empty make float64 unless given dtype=np.float32"
    )


def test_conv2d_is_your_own_numpy_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call TensorFlow, Keras, SciPy, PyTorch or JAX, however reached.
    images, kernels, bias = random_case(1, (1, 4, 4, 1), (2, 2, 1, 1))
    exercise.conv_output_size(4, 2, 1, "valid")
    exercise.conv2d(images, kernels, bias)
