"""Exercise 25's figure compares like with like: the Keras copy computes the numpy network's
function, trains on the same batches in the same order, and the committed facts are the tool's.

docs/_tools/numpy_cnn_figures.py trains the solution and its Keras copy for minutes; here both
train one epoch on 64 digits, so the test takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy_cnn_figures as tool
import pytest
import site_facts

GENERATED = Path(__file__).resolve().parents[1] / "docs" / "assets" / "generated"


@pytest.fixture(scope="module")
def cnn():
    return tool.solution()


@pytest.fixture(scope="module")
def tiny_split(mnist_arrays):
    (x_train, y_train), _ = mnist_arrays
    images = (x_train[:160].astype(np.float32) / 255)[..., None]
    labels = y_train[:160].astype(np.int64)
    return images[:64], labels[:64], images[64:], labels[64:]


@pytest.fixture(scope="module")
def mnist_arrays():
    from mnist_lab import load_mnist

    return load_mnist()


def test_the_keras_copy_computes_the_numpy_networks_logits(cnn, tiny_split):
    params = cnn.init_params(0)
    logits, _ = cnn.forward(params, tiny_split[0][:8])
    copied = tool.keras_model(params)(tiny_split[0][:8]).numpy()
    np.testing.assert_allclose(copied, logits, rtol=1e-4, atol=1e-5)


def test_both_runs_see_the_same_batches_and_learn_the_same(cnn, tiny_split):
    params = cnn.init_params(0)
    kept = {name: value.copy() for name, value in params.items()}
    ours = tool.numpy_run(cnn, params, tiny_split, epochs=1)
    theirs = tool.keras_run(params, tiny_split, epochs=1)
    assert all(np.array_equal(params[name], kept[name]) for name in params), "weights changed"
    assert len(ours["losses"]) == len(theirs["losses"]) == 2  # 64 images in batches of 32
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)
    assert ours["val_accuracy"] == pytest.approx(theirs["val_accuracy"], abs=0.02)
    assert cnn.loss_and_gradients.__name__ == "loss_and_gradients", "the recorder stayed"


def test_the_figure_and_the_facts_of_two_runs():
    run = {"losses": [2.3, 1.0, 0.5, 0.4], "val_accuracy": [0.9, 0.95, 0.97], "seconds": [2, 3, 4]}
    figure = tool.figure_of({"numpy": run, "keras": run}, batches_per_epoch=2)
    assert [len(axes.get_lines()) for axes in figure.axes] == [2, 2]
    facts = tool.facts_of({"numpy": run, "keras": run}, 64)
    assert facts["numpy_cnn.numpy.val_accuracy"] == "97.00%"
    assert facts["numpy_cnn.keras.val_accuracy.1"] == "90.00%"
    assert facts["numpy_cnn.numpy.seconds_per_epoch"] == "3"
    assert facts["numpy_cnn.im2col.shape"] == "21,632 x 9"  # 32 images x 26 x 26 positions


def test_the_committed_facts_come_from_the_tool_and_reach_the_site():
    committed = json.loads((GENERATED / tool.FACTS_JSON).read_text())
    assert committed["numpy_cnn.command"] == tool.COMMAND
    assert committed["numpy_cnn.train_images"] == "54,000"
    assert (GENERATED / tool.FIGURE_PNG).is_file()
    assert site_facts.all_facts()["numpy_cnn.date"] == committed["numpy_cnn.date"]
