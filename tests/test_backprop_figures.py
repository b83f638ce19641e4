"""Chapter 12's backward pass: track 3's solutions chained through the reference CNN agree with
TensorFlow's tape, and the committed facts and figure are the tool's.

docs/_tools/backprop_figures.py records TensorFlow's forward pass of the reference CNN and runs
two backward passes from it, the solutions' (exercises 11, 19, 21, 22) and `tf.GradientTape`'s.
These tests run it on two random images, so they need no data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import backprop_figures
import numpy as np
import site_facts

GENERATED = Path(__file__).resolve().parents[1] / "docs" / "assets" / "generated"


def _two_images(dtype=np.float64):
    rng = np.random.default_rng(3)
    return rng.random((2, 28, 28, 1)).astype(dtype), np.array([3, 7])


def test_the_solutions_chain_to_the_tape_s_gradients_in_float64():
    images, labels = _two_images()
    errors = backprop_figures.agreement(images, labels, np.float64)
    assert set(errors) == set(backprop_figures.SHAPES) | {"scale", "loss"}
    assert max(errors[name] for name in backprop_figures.SHAPES) < 1e-7
    assert errors["scale"] < 1e-12
    assert errors["loss"] > 0


def test_every_weight_gets_a_gradient_of_its_shape_and_dtype():
    images, labels = _two_images()
    weights = backprop_figures.he_weights(np.float64)
    layers, tape, _ = backprop_figures.forward_and_tape(images, labels, weights)
    ours = backprop_figures.numpy_backward(layers, labels, weights)
    for name, shape in backprop_figures.SHAPES.items():
        assert ours[name].shape == shape == tape[name].shape, name
        assert ours[name].dtype == np.float64, name
    assert np.any(ours["k1"] != 0), "the gradient reached the first convolution"


def test_a_forgotten_relu_backward_is_caught():
    # The check is not vacuous: skipping the first ReLU's backward pass changes dk1.
    images, labels = _two_images()
    weights = backprop_figures.he_weights(np.float64)
    layers, tape, _ = backprop_figures.forward_and_tape(images, labels, weights)
    layers = dict(layers, z1=np.abs(layers["z1"]) + 1)  # every unit looks active
    ours = backprop_figures.numpy_backward(layers, labels, weights)
    assert np.max(np.abs(ours["k1"] - tape["k1"])) > 1e-3 * np.max(np.abs(tape["k1"]))


def test_the_committed_facts_are_the_tool_s_and_reach_the_site():
    committed = json.loads((GENERATED / backprop_figures.FACTS_JSON).read_text())
    assert committed["backprop.command"] == backprop_figures.COMMAND
    assert committed["backprop.batch"] == str(backprop_figures.BATCH)
    assert float(committed["backprop.float64.worst"]) < 1e-7
    assert 1e-7 < float(committed["backprop.float32.worst"]) < 0.1
    assert committed["backprop.float64.worst_weight"] in backprop_figures.SHAPES
    facts = site_facts.all_facts()
    assert all(facts[name] == value for name, value in committed.items())
    assert (GENERATED / backprop_figures.SHAPES_PNG).is_file()


def test_the_figure_draws_every_layer_forward_and_backward():
    figure = backprop_figures.shapes_figure()
    texts = [text.get_text() for text in figure.axes[0].texts]
    for label, shape, backward_by, weight_gradient in backprop_figures.STEPS:
        assert label in texts and shape in texts and backward_by in texts
        if weight_gradient:
            assert weight_gradient in texts
    assert texts.count("d(N, 26, 26, 32)") == 2  # after the first conv and after its ReLU


def test_chapter_12_shows_the_figures_of_track_3_s_tools_and_each_is_drawn():
    chapter = (
        Path(__file__).resolve().parents[1] / "docs/course/12-how-a-cnn-learns.md"
    ).read_text()
    shown = re.findall(r"!\[[^\]]*\]\(\.\./assets/generated/([^)]+)\)", chapter)
    assert shown == [
        backprop_figures.SHAPES_PNG,
        "ex24_init_spread.png",
        "ex23_optimizer_paths.png",
        "ex25_numpy_vs_keras.png",
        "ex26_accuracy_under_shift.png",
        "ex27_reliability.png",
    ]
    for name in shown:
        assert (GENERATED / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    # Every figure says which command drew it and when.
    assert chapter.count("<figcaption") == len(shown)
    for caption in re.findall(r"<figcaption.*?</figcaption>", chapter, re.S):
        assert re.search(r"\{\{ fact [\w.]+\.command \}\}, \{\{ fact [\w.]+\.date \}\}", caption)
