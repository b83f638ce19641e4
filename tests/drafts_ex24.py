"""Exercise 24's held-back drafts: plausible first drafts built from the reference solution by
substitution (He's normal truncated without Keras's correction of its stddev, not truncated at
all, or clipped at two standard deviations; Glorot's limit from fan_in alone; a convolution's
fan_in without its receptive field; numbers drawn from np.random's global state instead of the
rng given). tests/test_exercise_variants_learn.py checks that each fails, with a message that
names the mistake; none of the tests they run imports TensorFlow.
"""

from __future__ import annotations

from exercise_runs import Draft

DRAFTS = {
    "ex24-he-without-correction-glorot-from-fan-in": Draft(
        24,
        (
            (
                "stddev = np.sqrt(2.0 / fan_in) / TRUNCATED_STD",
                "stddev = np.sqrt(2.0 / fan_in)",
            ),
            (
                "limit = np.sqrt(6.0 / (fan_in + fan_out))",
                "limit = np.sqrt(6.0 / fan_in)",
            ),
        ),
        {
            "test_he_normal_has_the_variance_2_over_fan_in": (
                "that is the normal truncated without Keras's correction",
                "stddev = sqrt(2 / fan_in) / 0.8796",
            ),
            "test_glorot_uniform_has_the_variance_2_over_fan_in_plus_fan_out": (
                "that is 2 / fan_in, the limit of sqrt(6 / fan_in)",
                "sqrt(6 / (fan_in + fan_out))",
            ),
        },
    ),
    "ex24-he-untruncated-conv-fan-in-without-field": Draft(
        24,
        (
            (
                "stddev = np.sqrt(2.0 / fan_in) / TRUNCATED_STD",
                "stddev = np.sqrt(2.0 / fan_in)",
            ),
            ("    while outside.any():", "    while False:"),
            (
                "return shape[-2] * receptive_field, shape[-1] * receptive_field",
                "return shape[-2], shape[-1] * receptive_field",
            ),
        ),
        {
            "test_he_normal_is_truncated_at_two_standard_deviations": (
                "he_normal((784, 256), rng)",
                "lie beyond two standard deviations",
                "Keras's He normal is truncated",
            ),
            "test_fans_of_hand_examples": (
                "fan_in_and_out((3, 3, 1, 32)) gave (1, 288), not (9, 288)",
                "the receptive field is missing",
            ),
        },
    ),
    "ex24-he-clipped-from-np-random": Draft(
        24,
        (
            (
                "values = rng.standard_normal(tuple(shape))",
                "values = np.clip(np.random.standard_normal(tuple(shape)), -2.0, 2.0)",
            ),
            (
                "values[outside] = rng.standard_normal(int(outside.sum()))",
                "values[outside] = np.random.standard_normal(int(outside.sum()))",
            ),
        ),
        {
            "test_he_normal_is_truncated_at_two_standard_deviations": (
                "of the values are between 1.95 and 2",
                "not clipped to 2",
            ),
            "test_the_same_seed_gives_the_same_weights": (
                "he_normal gave different weights for two rngs of the same seed",
            ),
            "test_different_seeds_give_different_weights_from_the_rng_given": (
                "he_normal never drew from the rng it was given",
            ),
        },
    ),
}
