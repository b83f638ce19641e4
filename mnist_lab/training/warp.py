"""Random warps of training digits, made in one resampling: rotation, shift, zoom and elastic.

Every resampling between pixels blurs a digit a little. Keras's RandomRotation,
RandomTranslation and RandomZoom each resample, so a digit that passed all three came out
softer than any validation or test digit, and a network with batch normalization learns the
statistics of soft digits. Here the three affine changes and the elastic distortion add up to
one displacement field per image, and the image is sampled through it once.

The elastic distortion (Simard, Steinkraus and Platt, 2003) moves each pixel by a smooth random
field, white noise blurred by a Gaussian, so nearby pixels move together and a stroke bends
rather than breaks: a wider loop, a leaning stem, the variation between writers that a rotation
cannot make. (Keras's own RandomElasticTransform draws one field per batch inside `tf.data`
and moves both axes by the same field.)
"""

from __future__ import annotations

import math
from typing import Any

SIGMA = 4.0  # pixels: the smoothness of the elastic field, Simard et al.'s value for MNIST


def gaussian_kernel(sigma: float) -> list[float]:
    """A normalized 1-D Gaussian, 4 sigma wide on each side."""
    radius = math.ceil(4 * sigma)
    weights = [math.exp(-0.5 * (i / sigma) ** 2) for i in range(-radius, radius + 1)]
    total = sum(weights)
    return [w / total for w in weights]


def noise_gain(sigma: float) -> float:
    """The standard deviation of unit white noise after the 2-D blur: sum(g_i^2) for the
    separable kernel g. A blurred field divided by it moves pixels by 1 (root mean square)."""
    return sum(w * w for w in gaussian_kernel(sigma))


def affine_field(turn: Any, size: Any, move_r: Any, move_c: Any, height: int, width: int) -> Any:
    """The displacement (N, H, W, 2: rows, columns) that samples each output pixel from the
    point turned by `turn` radians and scaled by `size` about the centre, then moved by
    (`move_r`, `move_c`) pixels; each argument holds one value per image. A size above 1
    samples a wider area, so the digit comes out smaller."""
    import tensorflow as tf

    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32) - (height - 1) / 2,
        tf.range(width, dtype=tf.float32) - (width - 1) / 2,
        indexing="ij",
    )
    cos = (tf.cos(turn) * size)[:, None, None]
    sin = (tf.sin(turn) * size)[:, None, None]
    source_r = cos * rows - sin * cols + tf.convert_to_tensor(move_r)[:, None, None]
    source_c = sin * rows + cos * cols + tf.convert_to_tensor(move_c)[:, None, None]
    return tf.stack([source_r - rows, source_c - cols], axis=-1)


def elastic_field(noise: Any, pixels: float, sigma: float = SIGMA) -> Any:
    """White `noise` (N, H, W, 2) blurred by a Gaussian of `sigma` pixels and scaled so that
    pixels move by `pixels` (root mean square)."""
    import tensorflow as tf

    kernel = tf.constant(gaussian_kernel(sigma), dtype=tf.float32)
    down, across = tf.reshape(kernel, (-1, 1, 1, 1)), tf.reshape(kernel, (1, -1, 1, 1))
    blurred = []
    for axis in range(2):  # rows, then columns: conv2d blurs one channel at a time
        channel = noise[..., axis : axis + 1]
        channel = tf.nn.conv2d(channel, down, strides=1, padding="SAME")
        blurred.append(tf.nn.conv2d(channel, across, strides=1, padding="SAME"))
    return tf.concat(blurred, axis=-1) * (pixels / noise_gain(sigma))


def distort(images: Any, field: Any) -> Any:
    """`images` (N, H, W, C) sampled bilinearly at each pixel plus `field` (N, H, W, 2: rows,
    columns); points outside the image read 0, MNIST's empty background."""
    import tensorflow as tf

    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    grid_r, grid_c = tf.meshgrid(
        tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij"
    )
    r = grid_r[None] + field[..., 0]
    c = grid_c[None] + field[..., 1]
    r0, c0 = tf.floor(r), tf.floor(c)
    wr, wc = (r - r0)[..., None], (c - c0)[..., None]
    batch = tf.broadcast_to(tf.range(n)[:, None, None], tf.shape(r))
    last_r, last_c = tf.cast(h - 1, tf.float32), tf.cast(w - 1, tf.float32)

    def at(rows: Any, cols: Any) -> Any:
        inside = (rows >= 0) & (rows <= last_r) & (cols >= 0) & (cols <= last_c)
        rows_i = tf.clip_by_value(tf.cast(rows, tf.int32), 0, h - 1)
        cols_i = tf.clip_by_value(tf.cast(cols, tf.int32), 0, w - 1)
        values = tf.gather_nd(images, tf.stack([batch, rows_i, cols_i], axis=-1))
        return values * tf.cast(inside, images.dtype)[..., None]

    top = at(r0, c0) * (1 - wc) + at(r0, c0 + 1) * wc
    bottom = at(r0 + 1, c0) * (1 - wc) + at(r0 + 1, c0 + 1) * wc
    return top * (1 - wr) + bottom * wr


def make_warp_layer(
    rotation: float = 0.0,
    shift: float = 0.0,
    zoom: float = 0.0,
    elastic: float = 0.0,
    seed: int | None = None,
) -> Any:
    """A Keras layer that warps a batch of (N, H, W, C) images in training, each its own way:
    turned by up to `rotation` degrees, moved by up to `shift` and scaled by up to `zoom` (as
    fractions of the size), and distorted by `elastic` pixels (root mean square). Each amount
    is drawn uniformly between minus and plus its limit. Out of training it changes nothing."""
    import keras
    import tensorflow as tf

    max_turn = math.radians(rotation)

    class RandomWarp(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, images: Any, training: bool = True) -> Any:
            if not training:
                return images
            shape = tf.shape(images)
            n, h, w = shape[0], images.shape[1], images.shape[2]
            u = keras.random.uniform((n, 4), -1.0, 1.0, seed=self.seed_generator)
            turn, size = u[:, 0] * max_turn, 1.0 + u[:, 1] * zoom
            field = affine_field(turn, size, u[:, 2] * shift * h, u[:, 3] * shift * w, h, w)
            if elastic:
                noise = keras.random.normal((n, h, w, 2), seed=self.seed_generator)
                field += elastic_field(noise, elastic)
            return distort(images, field)

    # float32 whatever the global policy: under mixed_bfloat16 Keras would hand the layer
    # bfloat16 images, and the sampling weights of a bfloat16 digit lose its grey levels.
    return RandomWarp(name="random_warp", dtype="float32")
