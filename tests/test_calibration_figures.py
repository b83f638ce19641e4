"""Exercise 27's page numbers and figure: the generator's measurement, its facts, the helpers.

docs/_tools/calibration_figures.py measures a trained run (minutes: `make docs-assets`); these
tests run its measurement on synthetic logits instead (a known temperature comes back, the
halves never share an image), check that the committed facts hold every name the page quotes
and that the site reads them, and check exercise 27's given helpers on a tiny Keras model and a
tiny run folder: the logits are the last Dense layer's pre-activation (their softmax is the
model's output), taken on the run's own validation images.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import calibration_figures
import numpy as np
import pytest
import site_facts

from mnist_lab.course.solutions import ex27_calibration as calibration

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "assets" / "generated"
PAGE = ROOT / "docs" / "exercises" / "27-calibration.md"


def synthetic(images: int, temperature: float, seed: int = 0):
    """Logits z * temperature for 10 classes, labels drawn from softmax(z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(images, 10)) * 3
    cumulative = calibration.softmax(z).cumsum(axis=1)
    labels = np.minimum((cumulative < rng.random(images)[:, None]).sum(axis=1), 9)
    return z * temperature, labels


def test_the_halves_split_the_validation_images_in_two_stratified_parts():
    labels = np.repeat(np.arange(10), 60)
    fit, report = calibration.calibration_halves(labels)
    assert len(fit) == len(report) == 300
    assert not set(fit) & set(report) and set(fit) | set(report) == set(range(600))
    assert np.array_equal(np.bincount(labels[report]), np.full(10, 30))


def test_the_measurement_fits_on_one_half_and_reports_on_the_other():
    logits, labels = synthetic(4000, 2.0)
    measured = calibration_figures.measure(logits, labels)
    assert measured["fit_images"] == measured["report_images"] == 2000
    assert measured["temperature"] == pytest.approx(2.0, rel=0.1)
    assert measured["nll_after"] < measured["nll_before"]
    # an overconfident network (logits twice too large) is calibrated by T
    assert measured["ece_after"] < measured["ece_before"]
    assert measured["confidence_before"] > measured["confidence_after"]
    _, report = calibration.calibration_halves(labels)
    assert np.array_equal(measured["labels"], labels[report])
    facts = calibration_figures.calibration_facts(
        measured, {"model": "reference", "epochs": 5, "seed": 0}
    )
    assert facts["calibration.run"] == "`reference` trained for 5 epochs at seed 0"
    assert facts["calibration.direction"].startswith("above 1: the run was overconfident")
    assert facts["calibration.fit_images"] == "2,000"


def test_the_figure_puts_the_two_diagrams_side_by_side():
    logits, labels = synthetic(600, 1.5)
    figure = calibration_figures.before_after_figure(calibration_figures.measure(logits, labels))
    width, height = figure.get_size_inches() * figure.dpi
    assert round(width) == 1000 and round(height) == 500  # two 5-inch diagrams at 100 dpi


def test_the_ece_verdict_weighs_the_change_against_the_sampling_spread():
    assert calibration_figures.ece_verdict(0.010, 0.011, 0.001).startswith("moved by less")
    assert calibration_figures.ece_verdict(0.010, 0.005, 0.001).startswith("fell by more")
    assert calibration_figures.ece_verdict(0.005, 0.010, 0.001).startswith("rose by more")


def test_the_committed_facts_hold_what_the_page_quotes_and_the_site_reads_them():
    committed = json.loads((GENERATED / calibration_figures.FACTS_JSON).read_text())
    quoted = set(re.findall(r"\{\{ fact (calibration\.[\w.]+) \}\}", PAGE.read_text()))
    assert quoted and quoted <= set(committed), sorted(quoted - set(committed))
    assert committed["calibration.command"].startswith("`python docs/_tools/calibration_figures")
    assert (GENERATED / calibration_figures.FIGURE_PNG).is_file()
    assert site_facts.all_facts()["calibration.temperature"] == committed["calibration.temperature"]


def tiny_model():
    """Flatten -> Dense 8 (ReLU) -> Dense 10 (softmax), seeded."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_the_logits_are_the_last_dense_layers_pre_activation_on_the_runs_validation(
    tmp_path, capsys
):
    from mnist_lab.core import runs
    from mnist_lab.data import load_mnist
    from mnist_lab.evaluation.splits import split_indices
    from mnist_lab.preprocess import normalize

    model = tiny_model()
    run = tmp_path / "tiny-run"
    run.mkdir()
    model.save(run / runs.MODEL)
    config = {"model": "tiny", "epochs": 1, "seed": 3, "validation_split": 0.1, "limit": 200}
    (run / runs.CONFIG).write_text(json.dumps(config))
    logits, labels = calibration.validation_logits(run)

    images, all_labels = load_mnist().train
    _, validation = split_indices(all_labels, 0.1, 3, 200)  # the run's own split
    assert np.array_equal(labels, all_labels[validation]) and len(labels) == 20
    assert logits.shape == (20, 10) and logits.dtype == np.float64
    probabilities = model.predict(normalize(images[validation]), verbose=0)
    assert np.allclose(calibration.softmax(logits), probabilities, atol=1e-6)

    calibration.main([str(run)])  # the script a student runs on a run of theirs
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("T fitted on 10 validation images: ")
    assert printed[1].startswith("ECE on the other 10: ")


def test_a_model_without_a_dense_layer_has_no_logits_to_give():
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Softmax()], name="no_dense")
    with pytest.raises(ValueError, match="no_dense has no Dense layer among its layers"):
        calibration.last_dense_logits(model, np.zeros((2, 4)))


def test_the_script_says_what_is_wrong_in_one_line(tmp_path):
    missing = tmp_path / "no-run"
    with pytest.raises(SystemExit) as raised:
        calibration.main([str(missing)])
    assert str(raised.value) == (
        f"{missing} is not a run folder: it does not exist; runs are in runs/ "
        "(see 'mnist-lab train')."
    )
    with pytest.raises(SystemExit, match="usage: python exercises/ex27_calibration.py RUN"):
        calibration.main([])
