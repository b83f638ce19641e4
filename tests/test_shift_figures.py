"""Exercise 26's figure and facts: what docs/_tools/shift_figures.py measures and writes.

The facts and the figure are checked on made-up curves (exact names and values), the whole tool
once on a tiny run (a few random images, one epoch: the convolution's error is 0 and the
pooling's is 0 for even moves only, whatever the weights), and the committed facts file is
checked to hold every fact the page quotes, with its command, and to reach the site's facts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shift_figures
import site_facts

GENERATED = Path(__file__).resolve().parents[1] / "docs" / "assets" / "generated"
MEASURED = {
    "reference": [0.99, 0.98, 0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1],
    "global average pooling": [0.95, 0.94, 0.93, 0.9, 0.85, 0.8, 0.7, 0.65, 0.6],
}
ERRORS = {"convolution": [0.0, 0.0, 1.2e-8, 0.0], "pooling": [0.351, 0.0, 0.3333, 0.0]}


def test_the_facts_give_every_point_of_both_curves_and_every_error():
    facts = shift_figures.shift_facts(MEASURED, ERRORS, epochs=3)
    assert facts["shift.epochs"] == "3"
    assert facts["shift.reference.accuracy.0"] == "99.0%"
    assert facts["shift.gap.accuracy.8"] == "60.0%"
    assert facts["shift.convolution.error.3"] == "1.2e-08"
    assert facts["shift.pooling.error.1"] == "0.35"
    assert facts["shift.pooling.error.2"] == "0"
    assert len(facts) == 1 + 2 * len(shift_figures.MOVES) + 2 * len(shift_figures.ERROR_MOVES)


def test_the_figure_draws_one_line_per_network_in_percent():
    figure = shift_figures.curves_figure(MEASURED)
    (axes,) = figure.axes
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == ["reference", "global average pooling"]
    assert list(lines[0].get_xdata()) == shift_figures.MOVES
    assert np.allclose(lines[1].get_ydata(), [100 * a for a in MEASURED["global average pooling"]])
    assert axes.get_xlabel() == "digits moved right by (pixels)"


def test_a_tiny_run_measures_both_networks(monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.random((64, 28, 28, 1)) > 0.8).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    monkeypatch.setattr(shift_figures.solution, "shift_split", lambda: (x, y, x[:48], y[:48]))
    facts, figure = shift_figures.run(epochs=1, limit=48)
    assert set(facts) == set(shift_figures.shift_facts(MEASURED, ERRORS, 1))
    # The first convolution moves with its input; the 2x2 pooling only with even moves.
    assert [float(facts[f"shift.convolution.error.{d}"]) for d in (1, 2, 3, 4)] == pytest.approx(
        [0, 0, 0, 0], abs=1e-6
    )
    pooling = [float(facts[f"shift.pooling.error.{d}"]) for d in (1, 2, 3, 4)]
    assert pooling[0] > 0 and pooling[2] > 0
    assert pooling[1] == pytest.approx(0, abs=1e-6) and pooling[3] == pytest.approx(0, abs=1e-6)
    assert len(figure.axes[0].get_lines()) == 2


def make_run(runs, name, state="completed", keras_file=True, **config):
    folder = runs / name
    folder.mkdir(parents=True)
    settings = {"model": "reference", "seed": 0, "validation_split": 0.1, "limit": None}
    (folder / "config.json").write_text(json.dumps(settings | config))
    (folder / "state.json").write_text(json.dumps({"state": state, "epochs_done": 5}))
    if keras_file:
        (folder / "model.keras").write_bytes(b"")
    return folder


def test_the_exercise_loads_only_a_finished_reference_run_of_the_same_split(tmp_path):
    find = shift_figures.solution.finished_reference_run
    runs = tmp_path / "runs"
    assert find(runs) is None  # no runs folder
    make_run(runs, "a-seed-1", seed=1)
    make_run(runs, "b-limited", limit=1000)
    make_run(runs, "c-augmented", overrides={"augmentation": {"shift": 0.1}})
    make_run(runs, "d-interrupted", state="interrupted")
    make_run(runs, "e-no-model", keras_file=False)
    make_run(runs, "f-fast", model="fast")
    assert find(runs) is None
    chosen = make_run(runs, "g-right")
    assert find(runs) == chosen


def test_the_committed_facts_are_complete_and_reach_the_site():
    committed = json.loads((GENERATED / shift_figures.FACTS_JSON).read_text())
    expected = set(shift_figures.shift_facts(MEASURED, ERRORS, 3)) | {"shift.date", "shift.command"}
    assert set(committed) == expected
    assert committed["shift.command"] == "python docs/_tools/shift_figures.py"
    assert committed["shift.epochs"] == str(shift_figures.EPOCHS)
    assert (GENERATED / shift_figures.CURVES_PNG).is_file()
    facts = site_facts.all_facts()
    assert {key: facts[key] for key in committed} == committed
