"""Exercise 24: He and Glorot initialization, drawn as Keras draws them.

A network learns only if its first forward and backward passes neither fade to zero nor blow
up. A layer of independent random weights multiplies the mean square of what passes through it
by fan_in * var(w) on the way forward and by fan_out * var(w) on the way back (a ReLU then
halves it), so the variance of the initial weights must shrink as the layer gets wider:

- fan_in and fan_out: how many numbers each output adds up, and how many outputs each input
  feeds. A dense kernel (D, M) has fan_in D and fan_out M. A convolution kernel (kh, kw, C, F)
  adds kh * kw * C numbers into each output (its receptive field times the channels), and each
  input pixel feeds kh * kw * F outputs: Keras multiplies both channel counts by kh * kw.
- He (Kaiming) normal, for ReLU layers: variance 2 / fan_in (ReLU zeroes half of each layer's
  output, the 2 makes up for it). Keras draws it from a normal truncated at two standard
  deviations (a value beyond is drawn again), which narrows the spread: a standard normal cut to
  [-2, 2] has the standard deviation TRUNCATED_STD below. So Keras starts from
      stddev = sqrt(2 / fan_in) / TRUNCATED_STD
  and the values it keeps, all within 2 * stddev, have exactly the variance 2 / fan_in.
- Glorot (Xavier) uniform, Keras's default: uniform on [-limit, limit] with
      limit = sqrt(6 / (fan_in + fan_out)),
  the variance limit**2 / 3 = 2 / (fan_in + fan_out), a compromise between forward and back.

Draw every random number from the `rng` you are given (a numpy Generator, e.g.
np.random.default_rng(0)), never from np.random's global functions: the same seed then gives
the same weights, and nothing else in the program changes them. Both initializers return float32
arrays of exactly the shape given (float32 is what Keras layers hold).

Write the three functions below in numpy, then run `mnist-lab exercises check 24`.

Course page: docs/exercises/24-initialization.md
"""

from __future__ import annotations

import numpy as np

# The standard deviation of a standard normal truncated to [-2, 2] (Keras's constant).
TRUNCATED_STD = 0.87962566103423978


def fan_in_and_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a dense kernel (D, M) or a convolution kernel (kh, kw, C, F), as
    Keras computes them: the last two axes are the channels in and out, every axis before them
    is the receptive field, which multiplies both."""
    # TODO: multiply the axes before the last two (the receptive field, 1 for a dense kernel), and multiply it by the channels in (shape[-2]) and out (shape[-1])
    # SOLUTION
    shape = tuple(int(size) for size in shape)
    receptive_field = int(np.prod(shape[:-2]))  # kh * kw for a convolution, 1 for a dense kernel
    return shape[-2] * receptive_field, shape[-1] * receptive_field
    # END SOLUTION


def he_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """He normal weights of this shape, float32: a normal truncated at two standard deviations,
    stddev = sqrt(2 / fan_in) / TRUNCATED_STD, so the variance is 2 / fan_in (Keras's
    HeNormal). Every number comes from rng."""
    # TODO: draw standard normals from rng, draw again every one beyond 2 in size, and scale them by sqrt(2 / fan_in) / TRUNCATED_STD
    # SOLUTION
    fan_in, _ = fan_in_and_out(shape)
    stddev = np.sqrt(2.0 / fan_in) / TRUNCATED_STD
    values = rng.standard_normal(tuple(shape))
    outside = np.abs(values) > 2.0
    while outside.any():  # about 4.6% of the draws at first, and 4.6% of those again
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (stddev * values).astype(np.float32)
    # END SOLUTION


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Glorot uniform weights of this shape, float32: uniform on [-limit, limit] with
    limit = sqrt(6 / (fan_in + fan_out)) (Keras's GlorotUniform). Every number comes from rng."""
    # TODO: draw uniforms from rng on [-limit, limit] with limit = sqrt(6 / (fan_in + fan_out))
    # SOLUTION
    fan_in, fan_out = fan_in_and_out(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=tuple(shape)).astype(np.float32)
    # END SOLUTION
