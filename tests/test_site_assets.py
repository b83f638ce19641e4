"""The committed figures and numbers of the course site agree with the data and with each other.

`make docs-assets` (docs/_tools/site_assets.py) is too slow for the test suite because it
trains models; what can be recomputed cheaply is recomputed here and compared with the committed
files, and the rest is checked for consistency (facts against the leaderboard, files present).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import site_assets

GENERATED = Path(__file__).resolve().parent.parent / site_assets.OUT
FIGURES = (
    site_assets.SAMPLES_PNG,
    site_assets.DISTRIBUTION_PNG,
    site_assets.PIXELS_PNG,
    site_assets.CURVES_PNG,
    site_assets.CONFUSION_PNG,
    site_assets.MISTAKES_PNG,
    site_assets.BENCH_CURVES_PNG,
    site_assets.BENCH_TIME_PNG,
    site_assets.INSIDE_FILTERS_PNG,
    site_assets.INSIDE_MAPS_PNG,
    site_assets.INSIDE_SALIENCY_PNG,
)


@pytest.fixture(scope="module")
def facts() -> dict[str, str]:
    return json.loads((GENERATED / site_assets.FACTS_JSON).read_text())


def test_every_figure_is_committed_as_a_small_png():
    sizes = {}
    for name in FIGURES:
        data = (GENERATED / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        sizes[name] = len(data)
    assert sum(sizes.values()) < 2_000_000, sizes


def test_chapter_8s_facts_name_real_test_digits(mnist, facts):
    labels = mnist.test.labels
    assert facts["inside.digit_label"] == str(labels[int(facts["inside.digit_index"])])
    mistake = int(facts["inside.mistake_index"])
    assert facts["inside.mistake_label"] == str(labels[mistake])
    assert facts["inside.mistake_predicted"] != facts["inside.mistake_label"]


def test_inside_assets_are_inspects_figures_of_the_run(mnist, tmp_path):
    from mnist_lab import evaluation
    from mnist_lab.data import preprocess
    from mnist_lab.evaluation.reports import load_run_model
    from mnist_lab.training import TrainConfig, train

    run = train(
        TrainConfig(model="reference", epochs=1, limit=512, out=str(tmp_path), seed=0),
        dataset=mnist,
        verbose=0,
    ).path
    out = tmp_path / "generated"
    out.mkdir()
    facts = site_assets.inside_assets(run, mnist, out)

    images, labels = mnist.test
    model = load_run_model(run)
    probabilities = model.predict(preprocess.normalize(images), verbose=0)
    mistake = int(evaluation.worst_mistakes(probabilities, labels, k=1)[0])
    assert facts["inside.mistake_index"] == str(mistake)
    assert facts["inside.mistake_label"] == str(labels[mistake])
    assert facts["inside.mistake_predicted"] == str(probabilities[mistake].argmax())
    assert facts["inside.digit_label"] == str(labels[site_assets.INSIDE_DIGIT])
    assert (out / site_assets.INSIDE_FILTERS_PNG).read_bytes() == (run / "filters.png").read_bytes()
    assert (out / site_assets.INSIDE_SALIENCY_PNG).read_bytes() == (
        run / "saliency.png"
    ).read_bytes()  # the mistake's: inspected last
    assert (out / site_assets.INSIDE_MAPS_PNG).stat().st_size > 10_000


def test_the_data_facts_and_table_match_the_data(mnist, tmp_path, facts):
    fresh = site_assets.dataset_assets(mnist, tmp_path)
    assert {key: facts[key] for key in fresh} == fresh
    committed = (GENERATED / site_assets.COUNTS_MD).read_text()
    assert (tmp_path / site_assets.COUNTS_MD).read_text() == committed
    assert facts["dataset.most_common_count"] == f"{np.bincount(mnist.train.labels).max():,}"


def test_the_leaderboard_facts_match_the_committed_leaderboard(facts):
    board = json.loads((GENERATED / site_assets.LEADERBOARD_JSON).read_text())
    rows = {row["name"]: row for row in board["models"]}
    assert sorted(rows) == sorted(site_assets.BENCHMARK_MODELS)
    assert facts["bench.top"] == board["models"][0]["name"]
    for name, row in rows.items():
        assert facts[f"bench.{name}.test_accuracy"] == f"{row['test_accuracy_mean']:.2%}"
        if "val_accuracy_mean" in row:  # leaderboards ranked by validation accuracy
            assert facts[f"bench.{name}.val_accuracy"] == f"{row['val_accuracy_mean']:.2%}"
    table = (GENERATED / site_assets.LEADERBOARD_MD).read_text()
    assert all(f"| {name} |" in table for name in rows)
    assert "Machine:" in table


def test_the_provenance_names_the_command_date_and_machine(facts):
    provenance = json.loads((GENERATED / site_assets.PROVENANCE_JSON).read_text())
    assert provenance["command"] == "make docs-assets"
    assert provenance["date"] == facts["generated.date"]
    note = (GENERATED / site_assets.PROVENANCE_MD).read_text()
    assert note == site_assets.provenance_snippet(provenance)
    assert provenance["date"] in note and provenance["machine"]["cpu"] in note


def test_leaderboard_facts_follow_the_benchmarks_order_and_quote_both_accuracies():
    def row(name, val, test, epoch_to_99):
        return {
            "name": name,
            "params": 1000,
            "epochs": 5,
            "train_seconds_mean": 10.0,
            "val_accuracy_mean": val,
            "test_accuracy_mean": test,
            "epoch_to_99": epoch_to_99,
        }

    # Ranked by validation: `a` comes first although `b` scored higher on the test set.
    facts = site_assets._leaderboard_facts(
        [row("a", 0.992, 0.989, 4), row("b", 0.990, 0.991, None)]
    )
    assert (facts["bench.top"], facts["bench.top_val_accuracy"]) == ("a", "99.20%")
    assert facts["bench.top_accuracy"] == "98.90%"  # a's test accuracy, reported beside it
    assert facts["bench.b.val_accuracy"] == "99.00%" and facts["bench.b.test_accuracy"] == "99.10%"
    assert facts["bench.reached_99"] == "`a`" and facts["bench.bottom"] == "b"


def test_per_class_table_and_leaderboard_snippet_are_well_formed():
    per_class = {
        "0": {"precision": 0.99, "recall": 0.98, "f1": 0.985, "support": 980, "accuracy": 0.98}
    }
    assert site_assets.per_class_table(per_class).splitlines()[2] == (
        "| 0 | 980 | 99.00% | 98.00% | 0.9850 |"
    )
    board = "# Benchmark 20261125-010203\n\nOne run per model.\n\n| # |\n"
    assert site_assets.leaderboard_snippet(board) == "One run per model.\n\n| # |\n"


def test_the_data_figures_show_strokes_white_as_every_figure_of_the_course(mnist):
    """255 is the stroke and 0 the background; every figure shows strokes white (the pages say
    so), as the galleries of `mnist_lab.plots` do."""
    images, labels = mnist.train
    figures = (
        site_assets.samples_figure(images[:200], labels[:200], per_digit=2),
        site_assets.pixels_figure(images[0], int(labels[0]), images[:5].ravel()),
    )
    for figure in figures:
        pictures = [picture for axes in figure.axes for picture in axes.get_images()]
        assert pictures and {picture.get_cmap().name for picture in pictures} == {"gray"}
        for picture in pictures:
            low, high = picture.get_clim()
            assert picture.cmap(picture.norm(high))[:3] == (1.0, 1.0, 1.0)  # 255 (or 1.0): white
            assert picture.cmap(picture.norm(low))[:3] == (0.0, 0.0, 0.0)  # 0: black
