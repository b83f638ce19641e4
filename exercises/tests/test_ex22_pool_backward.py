"""Exercise 22, max pooling's backward pass: compared with tf.GradientTape.

Hand examples pin down TensorFlow's routing: windows of tied pixels (all 0, as MNIST's
background; two 9s; three 5s) send their whole gradient to the first maximum in row-major order,
overlapping windows add up what they send to a pixel that won several of them, and "same"
padding never wins, split as exercise 10 splits it. A draft that sends the gradient to every tied
maximum, shares it between them, picks the last one, overwrites instead of adding, lets zero
padding win or splits the padding the wrong way is told so by name. Then `tf.GradientTape` on
`tf.nn.max_pool2d` in float64 (relative error at most 1e-6) and float32 on shapes that
hypothesis draws, full of ties (square pools of 1 to 4, strides 1 to 3, 1 to 4 channels, both
paddings), and on real MNIST digits.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex22_pool_backward.py"
TOLERANCE = 1e-6  # float64's relative error


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
    """The largest relative error |a - b| / max(|a| + |b|, 1e-8); 0 for empty arrays."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), 1e-8)))


def output_size(size: int, pool: int, stride: int, padding: str) -> int:
    return (size - pool) // stride + 1 if padding == "valid" else -(-size // stride)


def padding_of(size: int, pool: int, stride: int, padding: str) -> tuple[int, int]:
    """(before, after): TensorFlow's padding on one side, the smaller half before."""
    if padding == "valid":
        return 0, 0
    total = max((output_size(size, pool, stride, padding) - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


def tape_pool(dout, images, pool, stride, padding) -> np.ndarray:
    """TensorFlow's gradient of max_pool2d(images) with respect to the images, given dout."""
    variable = tf.Variable(images)
    with tf.GradientTape() as tape:
        y = tf.nn.max_pool2d(variable, pool, stride, padding.upper())
    return tape.gradient(y, variable, output_gradients=tf.constant(dout)).numpy()


def routed(dout, images, pool, stride, padding, ties="first", swap=False, fill=-np.inf):
    """The gradient as a draft routes it, window by window: to the first, the last or every
    tied maximum, or shared between them; with the padding split the other way (`swap`) or
    filled with `fill`."""
    _, height, width, _ = images.shape
    rows, cols = padding_of(height, pool, stride, padding), padding_of(width, pool, stride, padding)
    if swap:
        rows, cols = rows[::-1], cols[::-1]
    padded = np.pad(images.astype(np.float64), ((0, 0), rows, cols, (0, 0)), constant_values=fill)
    gradient = np.zeros(padded.shape)
    for n, y, x, c in np.ndindex(dout.shape):
        window = padded[n, y * stride : y * stride + pool, x * stride : x * stride + pool, c]
        tied = np.argwhere(window == window.max())  # row-major order
        chosen = {"first": tied[:1], "last": tied[-1:]}.get(ties, tied)
        for i, j in chosen:
            share = dout[n, y, x, c] / (len(tied) if ties == "share" else 1)
            gradient[n, y * stride + i, x * stride + j, c] += share
    return gradient[:, rows[0] : rows[0] + height, cols[0] : cols[0] + width, :]


def covered(images, pool, stride, padding) -> np.ndarray:
    """How many windows cover each pixel, of the images' shape."""
    (_, height, width, _) = images.shape
    rows, cols = padding_of(height, pool, stride, padding), padding_of(width, pool, stride, padding)
    count = np.zeros((height + sum(rows), width + sum(cols)))
    for y in range(output_size(height, pool, stride, padding)):
        for x in range(output_size(width, pool, stride, padding)):
            count[y * stride : y * stride + pool, x * stride : x * stride + pool] += 1
    count = count[rows[0] : rows[0] + height, cols[0] : cols[0] + width]
    return np.broadcast_to(count[None, :, :, None], images.shape)


MISTAKES = (  # (how a draft routes, what it is told), tried in this order
    (
        {"swap": True},
        "the padding is split the wrong way: TensorFlow puts the smaller half before (top, left), "
        "as exercise 10",
    ),
    (
        {"fill": 0.0},
        "the padding won: a window of negative pixels sent its gradient to the padding. Pad "
        "with -inf, a value every pixel beats",
    ),
    (
        {"ties": "every"},
        "the gradient went to every tied maximum of a window: TensorFlow sends it to one pixel, "
        "the first maximum in row-major order (top row first, left to right)",
    ),
    (
        {"ties": "share"},
        "the gradient was shared between the tied maxima of a window: TensorFlow sends all of it "
        "to one pixel, the first maximum in row-major order",
    ),
    (
        {"ties": "last"},
        "the gradient went to the last tied maximum of a window: TensorFlow takes the first in "
        "row-major order; a later pixel wins only when it is strictly larger (>, not >=)",
    ),
)


def pool_problem(got, dout, images, pool, stride, padding, tolerance) -> str | None:
    """What is wrong with dimages, in plain words; None if nothing."""
    expected = tape_pool(dout, images, pool, stride, padding)
    error = worst(got, expected)
    if error <= tolerance:
        return None
    said = (
        f"dimages is {show(np.squeeze(got))} where TensorFlow's is {show(np.squeeze(expected))} "
        f"(relative error {error:.1g})"
    )
    for how, told in MISTAKES:
        draft = routed(dout, images, pool, stride, padding, **how)
        if worst(draft, expected) > tolerance and worst(got, draft) <= tolerance:
            return f"{said}: {told}"
    alone = covered(images, pool, stride, padding) <= 1
    if worst(got[alone], expected[alone]) <= tolerance:
        return (
            f"{said}: wrong only at pixels under several windows (stride {stride} is smaller "
            f"than the pool of {pool}). A pixel that won several windows gets the sum of their "
            "gradients: +=, never ="
        )
    return f"{said}: each window sends its dout to the pixel that won it, and 0 to the others"


def pool_of(exercise, dout, images, pool, stride, padding) -> np.ndarray:
    """The exercise's dimages, checked for shape and dtype, its arguments unchanged."""
    given = [dout.copy(), images.copy()]
    result = exercise.max_pool2d_backward(*given, pool_size=pool, stride=stride, padding=padding)
    if not (np.array_equal(given[0], dout) and np.array_equal(given[1], images)):
        fail("max_pool2d_backward changed its arguments: compute a new array instead")
    if result is None:
        fail("max_pool2d_backward returned None: did you forget to return dimages?")
    result = np.asarray(result)
    if result.shape != images.shape:
        fail(
            f"dimages should have the images' shape {images.shape}, got {result.shape}: one "
            "number per pixel; drop the padding's rows and columns"
        )
    if result.dtype != dout.dtype:
        fail(f"dimages should be {dout.dtype}, dout's dtype, got {result.dtype}")
    return result


def hand_case(exercise, image, dout, pool, stride, padding, expected):
    """Check a hand example of one image and one channel, given in 2-D."""
    images = np.asarray(image, dtype=float)[None, :, :, None]
    dout = np.asarray(dout, dtype=float)[None, :, :, None]
    got = pool_of(exercise, dout, images, pool, stride, padding)
    if worst(got, np.asarray(expected, dtype=float)[None, :, :, None]) > 1e-12:
        problem = pool_problem(got, dout, images, pool, stride or pool, padding, 1e-12)
        fail(
            f"for the image {show(image)} (pool {pool}, stride {stride}, padding {padding!r}) "
            f"and dout {show(dout[0, ..., 0])}, {problem}"
        )


def test_max_pool2d_backward_of_tied_windows_by_hand(exercise):
    # top left: four 0s (MNIST's background); bottom left: two 9s; bottom right: three 5s
    hand_case(
        exercise,
        [[0, 0, 1, 2], [0, 0, 3, 7], [4, 9, 5, 5], [6, 9, 5, 1]],
        [[1, 2], [3, 4]],
        2,
        None,
        "valid",
        [[1, 0, 0, 0], [0, 0, 0, 2], [0, 3, 4, 0], [0, 0, 0, 0]],
    )


def test_max_pool2d_backward_of_overlapping_windows_by_hand(exercise):
    # a 2x2 pool at stride 1: the 9 wins all four windows and gets 1 + 2 + 3 + 4
    hand_case(
        exercise,
        [[1, 2, 1], [2, 9, 2], [1, 2, 1]],
        [[1, 2], [3, 4]],
        2,
        1,
        "valid",
        [[0, 0, 0], [0, 10, 0], [0, 0, 0]],
    )


def test_max_pool2d_backward_same_padding_by_hand(exercise):
    # a 3x3 pool at stride 2 over 4x4 negative pixels: 1 row and 1 column of padding, after
    hand_case(
        exercise,
        [[-3, -1, -4, -7], [-5, -9, -2, -6], [-5, -3, -5, -8], [-9, -7, -9, -3]],
        [[1, 2], [3, 4]],
        3,
        2,
        "same",
        [[0, 1, 0, 0], [0, 0, 2, 0], [0, 3, 0, 0], [0, 0, 0, 4]],
    )


@st.composite
def pool_cases(draw):
    """A seed, the images' shape, pool, stride and padding, and whether the pixels tie."""
    padding = draw(st.sampled_from(["valid", "same"]))
    pool = draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    if padding == "valid":  # the pool must fit at least once
        height, width = draw(st.integers(pool, pool + 7)), draw(st.integers(pool, pool + 7))
    else:
        height, width = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    shape = (draw(st.integers(1, 2)), height, width, draw(st.integers(1, 4)))
    return draw(st.integers(0, 2**32 - 1)), shape, pool, stride, padding, draw(st.booleans())


def drawn(case, dtype):
    """(dout, images, pool, stride, padding) of a drawn case: with ties, pixels of 0, 1 and 2,
    half of them 0 (MNIST's background), negative in one case out of three."""
    seed, shape, pool, stride, padding, ties = case
    rng = np.random.default_rng(seed)
    if ties:
        images = rng.integers(0, 3, size=shape) * (rng.random(shape) < 0.5)
        images = images * (-1 if seed % 3 == 0 else 1)
    else:
        images = rng.normal(size=shape)
    step = pool if stride is None else stride
    out = [output_size(size, pool, step, padding) for size in shape[1:3]]
    dout = rng.normal(size=(shape[0], *out, shape[3]))
    return dout.astype(dtype), images.astype(dtype), pool, stride, padding


@settings(max_examples=30, report_multiple_bugs=False)
@given(case=pool_cases())
def test_max_pool2d_backward_matches_gradient_tape_in_float64(exercise, case):
    dout, images, pool, stride, padding = drawn(case, np.float64)
    got = pool_of(exercise, dout, images, pool, stride, padding)
    problem = pool_problem(got, dout, images, pool, stride or pool, padding, TOLERANCE)
    assert problem is None, (
        f"compared with tf.GradientTape (float64) on images {images.shape}, pool {pool}, stride "
        f"{stride} and padding {padding!r}, {problem}"
    )


@settings(max_examples=10, report_multiple_bugs=False)
@given(case=pool_cases())
def test_max_pool2d_backward_matches_gradient_tape_in_float32(exercise, case):
    dout, images, pool, stride, padding = drawn(case, np.float32)
    got = pool_of(exercise, dout, images, pool, stride, padding)
    expected = tape_pool(dout, images, pool, stride or pool, padding)
    # a pixel that won several windows sums their gradients, rounded at about 1e-7 in float32
    close = np.allclose(got, expected, rtol=1e-5, atol=1e-6)
    problem = (
        None if close else pool_problem(got, dout, images, pool, stride or pool, padding, 1e-5)
    )
    assert problem is None, (
        f"compared with tf.GradientTape (float32) on images {images.shape}, pool {pool}, stride "
        f"{stride} and padding {padding!r}, {problem or 'the gradients differ'}"
    )


def test_max_pool2d_backward_on_mnist_digits(exercise, mnist):
    # Real digits: most windows are all 0, the background, and the strokes saturate at 1.
    (x_train, _), _ = mnist
    images = (x_train[:4, :, :, None] / 255.0).astype(np.float64)
    rng = np.random.default_rng(0)
    for pool, stride, padding in ((2, None, "valid"), (3, 1, "same"), (3, 2, "valid")):
        out = output_size(28, pool, stride or pool, padding)
        dout = rng.normal(size=(4, out, out, 1))
        got = pool_of(exercise, dout, images, pool, stride, padding)
        problem = pool_problem(got, dout, images, pool, stride or pool, padding, TOLERANCE)
        assert problem is None, (
            f"on 4 MNIST digits (pool {pool}, stride {stride}, padding {padding!r}), {problem}"
        )


def test_max_pool2d_backward_is_your_own_code(exercise):
    # It runs under the own-code rule of the manifest, as in every test: this one fails alone
    # when it calls TensorFlow, Keras or the course's library, however reached.
    exercise.max_pool2d_backward(np.ones((1, 2, 2, 1)), np.ones((1, 4, 4, 1)))
