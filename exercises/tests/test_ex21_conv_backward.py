"""Exercise 21, the convolution's backward pass: compared with tf.GradientTape.

Hand examples (a 2x2 kernel that is not symmetric, so a flipped kernel cannot pass; a 3x3 kernel
at stride 2 over overlapping windows; "same" padding of odd size, so a split the wrong way cannot
pass) pin down the usual mistakes, each told by name: a kernel flipped, the stride forgotten in
the kernel gradient, overlapping windows overwriting each other's share instead of adding up,
the padding split the wrong way, a bias gradient averaged. Then `tf.GradientTape` on
`tf.nn.conv2d` in float64 (relative error at most 1e-6) and in float32 (judged on float32's
scale) on shapes that hypothesis draws: rectangular images and kernels, 1 to 4 channels and
filters, strides 1 to 3, both paddings.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex21_conv_backward.py"
TOLERANCE = 1e-6  # float64's relative error
NAMES = ("dimages", "dkernels", "dbias")


def fail(message: str):
    """Fail with `message` alone (an AssertionError: the check shows it without hypothesis's
    example)."""
    raise AssertionError(message)


def show(values, most: int = 6) -> str:
    """An array written short, on one line: 4 significant digits, `most` values per axis."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return f"{float(values):.4g}"
    shown = [show(value, most) for value in values[:most]]
    return "[" + ", ".join(shown + ["..."] * (len(values) > most)) + "]"


def worst(got, expected) -> float:
    """The largest relative error |a - b| / max(|a| + |b|, 1e-8)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), 1e-8)))


def padding_of(size: int, kernel: int, stride: int, out: int, padding: str) -> tuple[int, int]:
    """(before, after): TensorFlow's zeros on one side, the smaller half before."""
    if padding == "valid":
        return 0, 0
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tape_conv(dout, images, kernels, stride, padding, pads=None):
    """TensorFlow's (dimages, dkernels, dbias) of conv2d(images, kernels) + bias, given dout;
    `pads` ((top, bottom), (left, right)) replaces TensorFlow's own padding."""
    variables = [
        tf.Variable(images),
        tf.Variable(kernels),
        tf.Variable(np.zeros(kernels.shape[3], dout.dtype)),
    ]
    how = padding.upper() if pads is None else [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(variables[0], variables[1], stride, how) + variables[2]
    gradients = tape.gradient(y, variables, output_gradients=tf.constant(dout))
    return [g.numpy() for g in gradients]


def conv_of(exercise, dout, images, kernels, stride, padding):
    """The exercise's (dimages, dkernels, dbias), checked for shapes and dtype, its arguments
    unchanged."""
    given = [dout.copy(), images.copy(), kernels.copy()]
    result = exercise.conv2d_backward(*given, stride=stride, padding=padding)
    if not isinstance(result, tuple | list) or len(result) != 3:
        fail(
            "conv2d_backward should return three arrays (dimages, dkernels, dbias), got "
            f"{type(result).__name__}"
        )
    for name, before, after in zip(
        ["dout", "images", "kernels"], [dout, images, kernels], given, strict=True
    ):
        if not np.array_equal(before, after):
            fail(f"conv2d_backward changed its argument {name}: compute new arrays instead")
    shapes = {"dimages": images.shape, "dkernels": kernels.shape, "dbias": (kernels.shape[3],)}
    why = {
        "dimages": ": one number per pixel of the images; drop the padding's rows and columns",
        "dkernels": ": one number per number of the kernels",
        "dbias": ": one number per filter, dout summed over the batch and every position",
    }
    arrays = []
    for name, value in zip(NAMES, result, strict=True):
        if value is None:
            fail(f"{name} is None: did you forget to return it?")
        array = np.asarray(value)
        if array.shape != shapes[name]:
            fail(f"{name} should have the shape {shapes[name]}, got {array.shape}{why[name]}")
        if array.dtype != dout.dtype:
            fail(f"{name} should be {dout.dtype}, dout's dtype, got {array.dtype}")
        arrays.append(array)
    return arrays


def ignoring_the_stride(dout, images, kernels, stride, padding) -> np.ndarray:
    """dkernels as a draft that slides one pixel at a time in the backward pass computes it."""
    out_height, out_width = dout.shape[1:3]
    height, width = images.shape[1:3]
    kernel_height, kernel_width = kernels.shape[:2]
    rows = padding_of(height, kernel_height, stride, out_height, padding)
    cols = padding_of(width, kernel_width, stride, out_width, padding)
    padded = np.pad(images.astype(np.float64), ((0, 0), rows, cols, (0, 0)))
    dkernels = np.zeros(kernels.shape)
    for i in range(kernel_height):
        for j in range(kernel_width):
            seen = padded[:, i : i + out_height, j : j + out_width, :]
            if seen.shape[1:3] == dout.shape[1:3]:
                dkernels[i, j] = np.tensordot(seen, dout, axes=([0, 1, 2], [0, 1, 2]))
    return dkernels


def conv_problem(got, dout, images, kernels, stride, padding, tolerance) -> str | None:
    """What is wrong with (dimages, dkernels, dbias), in plain words; None if nothing."""
    expected = tape_conv(dout, images, kernels, stride, padding)
    if all(worst(g, e) <= tolerance for g, e in zip(got, expected, strict=True)):
        return None
    dimages, dkernels, dbias = got
    out_height, out_width = dout.shape[1:3]
    rows = padding_of(images.shape[1], kernels.shape[0], stride, out_height, padding)
    cols = padding_of(images.shape[2], kernels.shape[1], stride, out_width, padding)
    if padding == "same" and (rows[0] != rows[1] or cols[0] != cols[1]):
        swapped = tape_conv(dout, images, kernels, stride, padding, (rows[::-1], cols[::-1]))
        if all(worst(g, s) <= tolerance for g, s in zip(got, swapped, strict=True)):
            return (
                f"the padding is split the wrong way: TensorFlow pads {rows} rows and {cols} "
                "columns (before, after), the smaller half before (top, left), as exercise 9"
            )
    # the bias first, then the kernels: their mistakes are the simplest to tell apart
    for name, mine, right in reversed(list(zip(NAMES, got, expected, strict=True))):
        error = worst(mine, right)
        if error <= tolerance:
            continue
        said = (
            f"{name} is {show(np.squeeze(mine))} where it should be {show(np.squeeze(right))} "
            f"(relative error {error:.1g})"
        )
        if name == "dbias":
            if worst(mine * (dout.size // dout.shape[3]), right) <= tolerance:
                return f"{said}: that is a mean; the bias is added at every position, so sum dout"
            return f"{said}: dbias[f] is dout[..., f] summed over the batch and every position"
        if name == "dkernels":
            if (
                stride > 1
                and worst(mine, ignoring_the_stride(dout, images, kernels, stride, padding))
                <= tolerance
            ):
                return (
                    f"{said}: the stride is ignored. At output position (y, x), kernel offset "
                    f"(i, j) met pixel (y * {stride} + i, x * {stride} + j): take every "
                    f"{stride}th pixel from offset (i, j)"
                )
            return (
                f"{said}: dkernels[i, j, c, f] sums, over the batch and the output positions, "
                "the pixel offset (i, j) met there times dout"
            )
        flipped = tape_conv(dout, images, kernels[::-1, ::-1].copy(), stride, padding)[0]
        if worst(mine, flipped) <= tolerance:
            return (
                f"{said}: that is the gradient of a flipped kernel. Keras's convolution does not "
                "flip its kernel: the pixel at offset (i, j) of a window was multiplied by "
                "kernels[i, j], so dout goes back to it times kernels[i, j]"
            )
        ones = np.ones(dout.shape[:3] + (1,))
        covers = tape_conv(
            ones,
            np.zeros(images.shape[:3] + (1,)),
            np.ones(kernels.shape[:2] + (1, 1)),
            stride,
            padding,
        )[0][..., 0]
        alone = np.broadcast_to((covers <= 1)[..., None], mine.shape)
        if worst(mine[alone], right[alone]) <= tolerance:
            return (
                f"{said}: wrong only at pixels under several windows (stride {stride} is smaller "
                "than the kernel). Each window adds its share to them: +=, never ="
            )
        return (
            f"{said}: every output position sends dout back to each pixel under its window, "
            "times the kernel number that multiplied it"
        )
    return None


def hand_case(exercise, images, kernels, dout, stride, padding, expected):
    """Check a hand example with one channel and one filter, given in 2-D."""
    images, dout = images[None, :, :, None], dout[None, :, :, None]
    kernels = kernels[:, :, None, None]
    got = conv_of(exercise, dout, images, kernels, stride, padding)
    for name, mine, right in zip(NAMES, got, expected, strict=True):
        right = np.asarray(right, dtype=float).reshape(mine.shape)
        if worst(mine, right) > 1e-12:  # the hand's numbers, before TensorFlow's
            problem = conv_problem(got, dout, images, kernels, stride, padding, 1e-12)
            fail(
                f"for the hand example (stride {stride}, padding {padding!r}), "
                f"{problem or f'{name} is {show(np.squeeze(mine))}, not {show(np.squeeze(right))}'}"
            )


def test_conv2d_backward_of_a_hand_example(exercise):
    hand_case(
        exercise,
        np.arange(1.0, 10.0).reshape(3, 3),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.array([[1.0, -1.0], [2.0, 0.5]]),
        1,
        "valid",
        (
            [[1.0, 1.0, -2.0], [5.0, 5.5, -3.0], [6.0, 9.5, 2.0]],
            [[9.5, 12.0], [17.0, 19.5]],
            [2.5],
        ),
    )


def test_conv2d_backward_with_stride_2_by_hand(exercise):
    hand_case(
        exercise,
        np.array(
            [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9], [3, 2, 3, 8, 4], [6, 2, 6, 4, 3]],
            dtype=float,
        ),
        np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, 1.0, 3.0]]),
        np.array([[1.0, 2.0], [-1.0, 3.0]]),
        2,
        "valid",
        (
            [
                [1.0, 0.0, 1.0, 0.0, -2.0],
                [2.0, 1.0, 4.0, 2.0, 0.0],
                [-1.0, 1.0, 7.0, 2.0, 3.0],
                [-2.0, -1.0, 6.0, 3.0, 0.0],
                [0.0, -1.0, -3.0, 3.0, 9.0],
            ],
            [[33.0, 16.0, 32.0], [27.0, 34.0, 21.0], [35.0, 32.0, 30.0]],
            [5.0],
        ),
    )


def test_conv2d_backward_same_padding_by_hand(exercise):
    # 3 pixels, a 2-pixel kernel at stride 2: 2 outputs, 1 row and 1 column of zeros, all after
    hand_case(
        exercise,
        np.arange(1.0, 10.0).reshape(3, 3),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.array([[1.0, -1.0], [2.0, 0.5]]),
        2,
        "same",
        (
            [[1.0, 2.0, -1.0], [3.0, 4.0, -3.0], [2.0, 4.0, 0.5]],
            [[16.5, 18.0], [-2.0, 5.0]],
            [2.5],
        ),
    )


@st.composite
def conv_cases(draw):
    """A seed, shapes, stride and padding: small, rectangular, odd and even kernels."""
    padding = draw(st.sampled_from(["valid", "same"]))
    stride = draw(st.integers(1, 3))
    kernel_height, kernel_width = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if padding == "valid":  # the kernel must fit at least once
        height = draw(st.integers(kernel_height, kernel_height + 7))
        width = draw(st.integers(kernel_width, kernel_width + 7))
    else:
        height, width = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    count = draw(st.integers(1, 2))
    channels, filters = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    shapes = (count, height, width, channels), (kernel_height, kernel_width, channels, filters)
    return seed, shapes, stride, padding


def drawn(case, dtype):
    """(dout, images, kernels, stride, padding) of a drawn case, in `dtype`."""
    seed, (image_shape, kernel_shape), stride, padding = case
    rng = np.random.default_rng(seed)
    images = rng.normal(size=image_shape).astype(dtype)
    kernels = rng.normal(size=kernel_shape).astype(dtype)
    out = [
        (size - kernel) // stride + 1 if padding == "valid" else -(-size // stride)
        for size, kernel in zip(image_shape[1:3], kernel_shape[:2], strict=True)
    ]
    dout = rng.normal(size=(image_shape[0], *out, kernel_shape[3])).astype(dtype)
    return dout, images, kernels, stride, padding


@settings(max_examples=25, report_multiple_bugs=False)
@given(case=conv_cases())
def test_conv2d_backward_matches_gradient_tape_in_float64(exercise, case):
    dout, images, kernels, stride, padding = drawn(case, np.float64)
    got = conv_of(exercise, dout, images, kernels, stride, padding)
    problem = conv_problem(got, dout, images, kernels, stride, padding, TOLERANCE)
    assert problem is None, (
        f"compared with tf.GradientTape (float64) on images {images.shape}, kernels "
        f"{kernels.shape}, stride {stride} and padding {padding!r}, {problem}"
    )


@settings(max_examples=10, report_multiple_bugs=False)
@given(case=conv_cases())
def test_conv2d_backward_matches_gradient_tape_in_float32(exercise, case):
    dout, images, kernels, stride, padding = drawn(case, np.float32)
    got = conv_of(exercise, dout, images, kernels, stride, padding)
    expected = tape_conv(dout, images, kernels, stride, padding)
    # float32 sums round at about 1e-7 of the largest term: judged on that scale
    close = all(
        np.allclose(g, e, rtol=1e-4, atol=1e-5 * (np.abs(e).max() + 1e-3))
        for g, e in zip(got, expected, strict=True)
    )
    problem = None if close else conv_problem(got, dout, images, kernels, stride, padding, 1e-4)
    assert problem is None, (
        f"compared with tf.GradientTape (float32) on images {images.shape}, kernels "
        f"{kernels.shape}, stride {stride} and padding {padding!r}, "
        f"{problem or 'the gradients differ by more than float32 rounds'}"
    )


def test_conv2d_backward_is_your_own_code(exercise):
    # It runs under the own-code rule of the manifest, as in every test: this one fails alone
    # when it calls TensorFlow, Keras or the course's library, however reached.
    exercise.conv2d_backward(np.ones((1, 3, 3, 2)), np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 2)))
