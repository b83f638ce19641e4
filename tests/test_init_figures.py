"""Exercise 24's experiment measures what it says, and its committed facts are the site's.

docs/_tools/init_figures.py runs one forward and backward pass of its own (numpy) through a deep
ReLU stack under four initializations. On tiny stacks (a second in all): its gradients are the
central differences of its loss, zeros leave every hidden value and gradient exactly 0, a
constant initialization gives every unit of a layer the same gradient, He keeps the spread that
a normal of std 0.01 loses; the committed init_facts.json has the facts the tool writes, from
the right command, and the site quotes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import init_figures
import numpy as np
import site_facts

GENERATED = Path(__file__).resolve().parents[1] / "docs" / "assets" / "generated"


def tiny(scheme: str, depth: int = 3, width: int = 6, batch: int = 5, seed: int = 0):
    """(x, labels, layers) of a tiny stack on standard-normal inputs, in float64."""
    rng = np.random.default_rng(seed)
    x, labels = rng.standard_normal((batch, 4)), rng.integers(0, 10, batch)
    sizes = [4, *[width] * depth, init_figures.CLASSES]
    initializer = init_figures.SCHEMES[scheme][1]
    layers = init_figures.build(sizes, initializer, np.random.default_rng(seed))
    return x, labels, [(k.astype(np.float64), b.astype(np.float64)) for k, b in layers]


def test_the_gradients_are_the_central_differences_of_the_loss():
    x, labels, layers = tiny("he")
    got = init_figures.forward_backward(x, labels, layers)
    eps, worst = 1e-6, 0.0
    for index, parameters in enumerate(layers):
        for which, array in enumerate(parameters):
            for position in np.ndindex(array.shape):
                old = array[position]
                array[position] = old + eps
                up = init_figures.forward_backward(x, labels, layers).loss
                array[position] = old - eps
                down = init_figures.forward_backward(x, labels, layers).loss
                array[position] = old
                expected = (up - down) / (2 * eps)
                error = abs(got.parameter_gradients[index][which][position] - expected)
                worst = max(worst, error / max(abs(expected), 1e-6))
    assert worst < 1e-5
    # The plotted gradients are those of the pre-activations: their batch sums are dbias.
    for gradient, (_, dbias) in zip(got.gradients, got.parameter_gradients, strict=False):
        assert np.allclose(gradient.sum(axis=0), dbias, rtol=1e-12, atol=1e-15)


def test_zeros_leave_every_hidden_value_and_gradient_exactly_zero():
    x, labels, layers = tiny("zeros")
    one = init_figures.forward_backward(x, labels, layers)
    assert all(not a.any() for a in [*one.activations, *one.gradients])
    assert all(not g.any() for pair in one.parameter_gradients[:-1] for g in pair)
    dkernel, dbias = one.parameter_gradients[-1]
    assert not dkernel.any()
    # Only the output biases move: the mean of softmax (uniform, 1/10) minus the one-hot labels.
    expected = 0.1 - np.bincount(labels, minlength=10) / len(labels)
    assert np.allclose(dbias, expected, rtol=1e-12, atol=1e-15)
    assert np.isclose(one.loss, np.log(10), rtol=1e-12)


def test_the_zeros_facts_count_what_moves():
    x, labels, _ = tiny("zeros")
    facts = init_figures.spread_facts(init_figures.spreads(x, labels, depth=3, width=6))
    assert facts["init.zeros.nonzero_hidden"] == "0"
    assert facts["init.zeros.nonzero_output_kernel"] == "0"
    assert int(facts["init.zeros.nonzero_output_bias"]) == np.count_nonzero(
        0.1 - np.bincount(labels, minlength=10) / len(labels)
    )
    assert "init.zeros.activation.ratio" not in facts  # no ratio of two zeros


def test_a_constant_initialization_gives_every_unit_the_same_gradient():
    x, labels, _ = tiny("he", batch=20)
    facts = init_figures.symmetry_facts(x.astype(np.float32), labels, depth=3)
    assert facts["init.symmetry.constant.apart"] == "0"
    assert float(facts["init.symmetry.he.apart"]) > 0.1


def test_he_keeps_the_spread_that_a_small_normal_loses():
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((200, 64)).astype(np.float32), rng.integers(0, 10, 200)
    facts = init_figures.spread_facts(init_figures.spreads(x, labels, depth=8, width=64))
    assert 0.3 < float(facts["init.he.activation.ratio"]) < 3
    assert 0.3 < float(facts["init.he.gradient.ratio"]) < 3
    # std 0.01 on 64 inputs: each layer multiplies the spread by about sqrt(64 * 1e-4 / 2)
    assert float(facts["init.small.activation.ratio"]) < 1e-6
    assert float(facts["init.small.gradient.ratio"]) < 1e-6
    assert 1e-4 < float(facts["init.glorot.activation.ratio"]) < 0.5


def test_the_figure_draws_three_schemes_in_each_panel():
    x, labels, _ = tiny("he")
    figure = init_figures.spread_figure(init_figures.spreads(x, labels, depth=3, width=6))
    for axes in figure.axes:
        assert [line.get_label() for line in axes.get_lines()] == [
            "normal, std 0.01",
            "Glorot uniform",
            "He normal",
        ]
        assert axes.get_yscale() == "log"
        assert [len(line.get_xdata()) for line in axes.get_lines()] == [3, 3, 3]


def test_the_committed_facts_are_the_tools():
    committed = json.loads((GENERATED / init_figures.FACTS_JSON).read_text())
    x, labels, _ = tiny("he", batch=20)
    x = x.astype(np.float32)
    computed = init_figures.spread_facts(init_figures.spreads(x, labels, depth=3, width=6))
    computed |= init_figures.symmetry_facts(x, labels, depth=3)
    computed |= dict.fromkeys(["init.depth", "init.width", "init.batch", "init.small_std"], "")
    assert set(committed) == set(computed) | {"init.date", "init.command"}
    assert committed["init.command"] == "`python docs/_tools/init_figures.py`"
    assert committed["init.depth"] == str(init_figures.DEPTH)
    assert committed["init.width"] == str(init_figures.WIDTH)
    assert committed["init.batch"] == f"{init_figures.BATCH:,}"
    assert (GENERATED / init_figures.SPREAD_PNG).is_file()


def test_the_site_quotes_the_init_facts():
    facts = site_facts.all_facts()
    committed = json.loads((GENERATED / init_figures.FACTS_JSON).read_text())
    assert {name: facts[name] for name in committed} == committed
