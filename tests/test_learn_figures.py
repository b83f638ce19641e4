"""Track 3's figure and facts come from the reference solution, and the committed ones are current.

docs/_tools/learn_figures.py runs exercise 23's solution on a narrow valley; these tests check
that its SGD path is plain gradient descent on that valley (closed form), that the committed
learn_facts.json holds what the tool computes today (so the page's numbers match its figure),
and that the site's facts include them.
"""

from __future__ import annotations

import json
from pathlib import Path

import learn_figures
import numpy as np
import site_facts

GENERATED = Path(__file__).resolve().parents[1] / "docs" / "assets" / "generated"


def test_each_path_starts_at_the_start_and_takes_every_step():
    for name, points in learn_figures.optimizer_paths().items():
        assert points.shape == (learn_figures.STEPS + 1, 2), name
        assert np.array_equal(points[0], learn_figures.START), name


def test_the_sgd_path_is_gradient_descent_on_the_valley():
    # Along each axis of the valley, SGD multiplies the distance by 1 - lr * curvature.
    sgd = next(iter(learn_figures.optimizer_paths().values()))
    steps = np.arange(learn_figures.STEPS + 1)
    rate, steep = learn_figures.SGD_RATE, learn_figures.STEEP
    expected = np.stack(
        [
            learn_figures.START[0] * (1 - rate) ** steps,
            learn_figures.START[1] * (1 - rate * steep) ** steps,
        ],
        axis=1,
    )
    assert np.allclose(sgd, expected, rtol=1e-12, atol=1e-15)


def test_the_committed_facts_are_what_the_tool_computes():
    committed = json.loads((GENERATED / learn_figures.FACTS_JSON).read_text())
    computed = learn_figures.path_facts(learn_figures.optimizer_paths())
    assert {k: v for k, v in committed.items() if k.startswith("learn.ex23.")} == computed
    assert committed["learn.command"] == "python docs/_tools/learn_figures.py"
    assert (GENERATED / learn_figures.PATHS_PNG).is_file()


def test_the_figure_draws_three_paths_and_the_minimum():
    figure = learn_figures.paths_figure(learn_figures.optimizer_paths())
    (axes,) = figure.axes
    labels = [line.get_label() for line in axes.get_lines()]
    assert labels == ["SGD (lr 0.038)", "momentum (lr 0.01, 0.9)", "Adam (lr 0.1)", "minimum"]


def test_the_site_quotes_the_learn_facts():
    facts = site_facts.all_facts()
    assert facts["learn.ex23.start_loss"] == "46.1"
    assert set(learn_figures.path_facts(learn_figures.optimizer_paths())) <= set(facts)
