"""Exercise 11's tests judge the numbers, not one way of writing them.

A first draft with one plausible mistake in each function (a softmax that does not subtract the
maximum, a loss summed rather than averaged and never clipped, a gradient not divided by the
batch size) fails, each test naming its own mistake, and so does a log-softmax taken as the log
of the softmax, or a loss from logits that goes through the clipped probabilities; an
implementation written differently from the reference solution (log-sum-exp, take_along_axis)
passes every test. The page's statement that Keras computes the loss of a softmax output from
its logits is checked here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = Path(__file__).resolve().parent / "exercise_variants"
EXERCISE = exercises.Exercise(
    11,
    "softmax",
    "Softmax and cross-entropy",
    ROOT / "exercises" / "ex11_softmax.py",
    ROOT / "exercises" / "tests" / "test_ex11_softmax.py",
    "docs/exercises/11-softmax.md",
)

# (what the solution writes, the mistake): one in each function.
MISTAKES = [
    (  # softmax: no maximum subtracted
        "    shifted = logits - logits.max(axis=1, keepdims=True)  # every exponent <= 0: no "
        "overflow\n    exps = np.exp(shifted)\n",
        "    exps = np.exp(logits)\n",
    ),
    (  # cross_entropy: no clip
        "clipped = np.clip(np.asarray(probabilities), EPSILON, 1 - EPSILON)",
        "clipped = np.asarray(probabilities)",
    ),
    (  # cross_entropy: the sum over the batch
        "return float(np.mean(-np.log(picked)))",
        "return float(np.sum(-np.log(picked)))",
    ),
    (  # the gradient: not divided by N
        "return (probabilities - one_hot) / count",
        "return probabilities - one_hot",
    ),
]
JUDGED = [
    "test_softmax_of_a_hand_example",
    "test_softmax_survives_large_logits",
    "test_softmax_subtracts_each_rows_own_maximum",
    "test_cross_entropy_of_a_hand_example",
    "test_cross_entropy_clips_a_probability_of_zero",
    "test_gradient_of_a_hand_example",
]


def checked(folder: Path, text: str, only=()) -> exercises.CheckResult:
    """Exercise 11's tests run on a file holding `text`."""
    (folder / EXERCISE.file.name).write_text(text)
    return exercises.run_tests(EXERCISE, folder, only=only)


@pytest.fixture(scope="module")
def first_draft(tmp_path_factory) -> dict[str, str]:
    """The failures of the solution with the four mistakes, by test."""
    text = EXERCISE.solution.read_text()
    for right, wrong in MISTAKES:
        assert text.count(right) == 1, f"the solution no longer writes {right!r}"
        text = text.replace(right, wrong)
    result = checked(tmp_path_factory.mktemp("ex11-draft"), text, only=JUDGED)
    assert result.total == len(JUDGED), result.output[-2000:]
    return {failure.test: failure.message for failure in result.failures}


def test_a_naive_softmax_is_told_that_exp_overflows(first_draft):
    for test, row in [
        ("test_softmax_survives_large_logits", "[1000, 0, -1000]"),
        ("test_softmax_subtracts_each_rows_own_maximum", "[1000, 0, 0]"),
    ]:
        assert first_draft.get(test, "").startswith(
            f"softmax of the row {row} gave [nan, 0, 0]: exp(1000) is inf in floating point "
            "(float64 overflows above exp(709), float32 above exp(88)), and inf / inf is nan. "
            "Subtract each row's own maximum"
        ), first_draft
    # On tame logits a naive softmax is right: the tests say why it fails, not merely that.
    assert "test_softmax_of_a_hand_example" not in first_draft


def test_a_summed_unclipped_loss_is_told_both(first_draft):
    assert first_draft["test_cross_entropy_of_a_hand_example"].endswith(
        "cross_entropy gave 2.34341 where Keras gives 0.585852, 4 times too much for a batch of "
        "4: that is the sum of the per-image losses; the loss is their mean"
    )
    assert first_draft["test_cross_entropy_clips_a_probability_of_zero"].endswith(
        "cross_entropy gave inf where Keras gives 8.40562: a probability of 0 was given to a "
        "label, and log(0) is -inf. Clip the probabilities to [1e-7, 1 - 1e-7] first, as Keras "
        "does: np.clip(p, 1e-7, 1 - 1e-7)"
    )


def test_a_gradient_not_divided_by_the_batch_size_is_told_so(first_draft):
    assert first_draft["test_gradient_of_a_hand_example"] == (
        "for 2 images of 4 classes with zero logits, the gradient is 2 times too large for a "
        "batch of 2: the loss is the mean over the batch, so its gradient is "
        "(softmax - one_hot) / N"
    )


# (what the solution writes, the mistake): the log-softmax and the loss from logits of a first
# draft that goes through the probabilities.
THROUGH_PROBABILITIES = [
    (
        "    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))"
        "  # the sum is >= 1\n",
        "    return np.log(softmax(logits))\n",
    ),
    (
        "    picked = log_softmax(logits)[np.arange(len(labels)), labels]\n"
        "    return float(np.mean(-picked))\n",
        "    return cross_entropy(softmax(logits), labels)\n",
    ),
]
FROM_LOGITS = [
    "test_log_softmax_is_finite_for_logits_of_1e4",
    "test_cross_entropy_from_logits_needs_no_clip",
]


def test_a_log_softmax_through_the_probabilities_is_told_why_it_fails(tmp_path):
    text = EXERCISE.solution.read_text()
    for right, wrong in THROUGH_PROBABILITIES:
        assert text.count(right) == 1, f"the solution no longer writes {right!r}"
        text = text.replace(right, wrong)
    result = checked(tmp_path, text, only=FROM_LOGITS)
    told = {failure.test: failure.message for failure in result.failures}
    assert set(told) == set(FROM_LOGITS), result.output[-2000:]
    assert told["test_log_softmax_is_finite_for_logits_of_1e4"].startswith(
        "log_softmax of the row [1e+04, 0, -1e+04] gave [0, -inf, -inf], where the answer is "
        "[0, -1e+04, -2e+04]: was it np.log(softmax(z))? Probabilities such as exp(-1e4) "
        "underflow to 0, and log(0) is -inf."
    ), told
    assert told["test_cross_entropy_from_logits_needs_no_clip"].endswith(
        "cross_entropy_from_logits gave 16.1181 where Keras gives 15000: that is the loss of "
        "clipped probabilities (a sure and wrong image costs -log(1e-7) = 16.1181 at most). "
        "From the logits no clip is needed: -log_softmax(logits)[label] is finite and exact"
    ), told


def test_keras_computes_the_loss_of_a_softmax_output_from_its_logits():
    """What the page says: a model ending in a softmax layer is trained on the loss of its
    logits (TensorFlow backend), not on clipped probabilities; probabilities handed to the loss
    as numbers are clipped."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.array([[1e4, 0.0], [0.0, 0.0]]), np.zeros(2)])
    model.compile(loss="categorical_crossentropy")
    sure_and_wrong = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])  # logits [1e4, 0], label 1
    assert model.evaluate(*sure_and_wrong, verbose=0) == pytest.approx(1e4)
    probabilities = model.predict(sure_and_wrong[0], verbose=0)
    clipped = keras.losses.categorical_crossentropy(sure_and_wrong[1], probabilities)
    assert float(clipped[0]) == pytest.approx(-np.log(1e-7), rel=1e-5)


def test_an_independent_correct_implementation_passes(tmp_path):
    result = checked(tmp_path, (VARIANTS / "ex11_logsumexp.py").read_text())
    assert result.total >= 19, result.output[-2000:]
    assert result.passed, [(failure.test, failure.message) for failure in result.failures]
