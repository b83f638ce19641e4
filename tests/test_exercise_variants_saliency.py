"""Exercise 16's saliency tests judge the gradient, not one way of writing it.

The saliency the course asked for before, the gradient of the digit's probability, fails every
saliency test, each saying that it is the probability's gradient and why the logit's is wanted
(on a confident network, that it is nearly zero); the logits computed another way than the
reference solution's (a copy of the head without its softmax) pass.
"""

from __future__ import annotations

from pathlib import Path

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = exercises.Exercise(
    16,
    "looking-inside",
    "Looking inside",
    ROOT / "exercises" / "ex16_looking_inside.py",
    ROOT / "exercises" / "tests" / "test_ex16_looking_inside.py",
    "docs/exercises/16-looking-inside.md",
)
# What the solution writes for the logit; the probability instead; the logit written otherwise.
LOGIT = (
    "        logits = keras.ops.matmul(body(x, training=False), head.kernel) + head.bias\n"
    "        logit = logits[0, digit]\n"
)
PROBABILITY = "        logit = model(x, training=False)[0, digit]  # the probability, in fact\n"
HEAD_COPY = (
    "        linear = keras.layers.Dense(head.units)  # the head without its softmax\n"
    "        features = body(x, training=False)\n"
    "        linear.build(features.shape)\n"
    "        linear.set_weights(head.get_weights())\n"
    "        logit = linear(features)[0, digit]\n"
)
JUDGED = [
    "test_saliency_equals_the_librarys",
    "test_saliency_on_a_functional_model_and_another_image",
    "test_saliency_of_a_confident_network_is_the_logits_gradient",
]


def checked(folder: Path, written: str) -> exercises.CheckResult:
    """Exercise 16's saliency tests on the solution with its logit written as `written`."""
    text = EXERCISE.solution.read_text()
    assert text.count(LOGIT) == 1, "the solution no longer computes the logit this way"
    (folder / EXERCISE.file.name).write_text(text.replace(LOGIT, written))
    return exercises.run_tests(EXERCISE, folder, only=JUDGED)


def test_the_probabilitys_gradient_fails_and_is_told_why(tmp_path):
    result = checked(tmp_path, PROBABILITY)
    assert result.total == 5, result.output[-2000:]
    failures = {failure.test: failure.message for failure in result.failures}
    assert len(failures) == 5, failures
    for test, message in failures.items():
        if test.startswith("test_saliency_of_a_confident_network"):
            assert "a saturated softmax hides which pixels matter" in message, message
            assert "Take the gradient of the logit" in message, message
        else:
            assert "should be d logit(" in message and "'s probability: take its logit" in message


def test_the_logits_gradient_written_another_way_passes(tmp_path):
    result = checked(tmp_path, HEAD_COPY)
    assert result.total == 5, result.output[-2000:]
    assert result.passed, [(failure.test, failure.message) for failure in result.failures]
