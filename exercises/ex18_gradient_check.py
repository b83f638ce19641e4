"""Exercise 18: the gradient check, the test every backward pass must pass.

Training moves each weight against its gradient, so a wrong gradient trains a network quietly
wrongly: the loss still falls a little, and nothing crashes. The one reliable test of a gradient
written by hand is to compare it with the definition of a derivative. Nudge one number of x by
a small eps up and down, and the slope of f between the two points is

    (f(x + eps) - f(x - eps)) / (2 * eps)

the central difference. Its error shrinks like eps**2 (the one-sided (f(x + eps) - f(x)) / eps
errs like eps, a thousand times more at eps = 1e-5). Too small an eps is no better: f is
computed to about 1e-16 of its size in float64, and that rounding is divided by 2 * eps. At
eps = 1e-5 both errors are about 1e-10 in float64, so a right gradient agrees to 1e-6 or better.
In float32 (exercise 9 computes in float32) f is rounded to about 1e-7 of its size, and the
difference quotient is only good to about 1e-2: check gradients in float64.

Two numbers agree when their relative error, |a - b| / (|a| + |b|), is small; the floor of 1e-8
in the denominator keeps two zeros from giving 0 / 0.

The tests compare your numerical gradient with the gradient TensorFlow computes by automatic
differentiation (tf.GradientTape) on functions and shapes that hypothesis draws. The exercises
that follow check your backward passes against GradientTape too; use numerical_gradient
yourself while you write them.

Write the two functions below in numpy, then run `mnist-lab exercises check 18`.

Course page: docs/exercises/18-gradient-check.md
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FLOOR = 1e-8  # the smallest denominator of relative_error: two zeros agree exactly


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """The gradient of the scalar function `f` at `x` by central differences, shaped like x.

    Each entry is (f(x + eps e_i) - f(x - eps e_i)) / (2 * eps), where e_i is 1 at entry i and
    0 elsewhere. `x` is a float64 array of any shape; it is the same after the call as before,
    and the result has its dtype.
    """
    # TODO: for each entry of x, evaluate f at a copy of x nudged by +eps and by -eps there, and divide the difference by 2 * eps
    raise NotImplementedError("Exercise 18: for each entry of x, evaluate f at a copy of x nudged by +eps and by -eps there, and divide the difference by 2 * eps. Run 'mnist-lab exercises hint 18' for a hint.")


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The largest |a - b| / max(|a| + |b|, 1e-8) over the entries of two arrays of one shape."""
    # TODO: divide |a - b| by |a| + |b| (at least 1e-8) entry by entry and return the largest as a float
    raise NotImplementedError("Exercise 18: divide |a - b| by |a| + |b| (at least 1e-8) entry by entry and return the largest as a float. Run 'mnist-lab exercises hint 18' for a hint.")
