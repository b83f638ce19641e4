"""The facts and consts the pages quote are read from where they were measured or set.

`{{ const NAME }}` reads a threshold from the code that applies it (docs/_tools/site_consts.py),
`{{ fact results.* }}` reads the committed results of the perf scripts
(docs/_tools/results_facts.py), `{{ fact exercises.* }}` the exercises' experiments
(docs/_tools/exercise_facts.py); docs/_tools/site_facts.py merges them.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import results_facts
import site_consts
import site_facts

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
GENERATED = ROOT / "docs" / "assets" / "generated"


# --- consts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(site_consts.CONSTS))
def test_every_const_is_still_assigned_where_the_table_says(name):
    assert site_consts.const(name)


def test_consts_are_the_values_the_code_uses():
    from mnist_lab.scale import scores
    from mnist_lab.training.config import KEEP_EPOCHS_MAX_PARAMS, TrainConfig

    assert site_consts.const("train.validation_split") == f"{TrainConfig.validation_split:.0%}"
    assert site_consts.const("benchmark.target_accuracy") == f"{scores.TARGET_ACCURACY:.0%}"
    assert site_consts.const("train.keep_epochs_max_params") == f"{KEEP_EPOCHS_MAX_PARAMS:,}"
    assert site_consts.const("grade.timeout") == "120 s"
    # MODEL_TIMEOUT_S: two seeds of the capstone's 60-minute safety stop, and 10 minutes more
    assert site_consts.const("grade.model_timeout") == "130 minutes"
    assert site_consts.const("targets.thresholds") == "99.0%, 99.5% and 99.7%"
    assert site_consts.const("targets.fast_seeds") == "0 to 4"


def test_read_value_understands_the_shapes_constants_are_written_in(tmp_path):
    (tmp_path / "m.py").write_text(
        "A, B = 2, 0.97\nC = 50 * 2**20\nD = (0.99, 0.995)\nE = -1\n"
        "class Config:\n    split: float = 0.1\n    other = 'x'\n"
        "def f():\n    HIDDEN = 3\n"
    )
    read = lambda name: site_consts.read_value("m.py", name, root=tmp_path)  # noqa: E731
    assert (read("A"), read("B"), read("C"), read("D"), read("E")) == (
        2, 0.97, 50 * 2**20, (0.99, 0.995), -1,
    )  # fmt: skip
    assert read("Config.split") == 0.1
    with pytest.raises(site_consts.ConstError, match="m.py no longer assigns HIDDEN"):
        read("HIDDEN")


def test_an_unknown_const_names_the_known_ones():
    with pytest.raises(site_consts.ConstError, match="unknown const 'nope'.*grade.timeout"):
        site_consts.const("nope")


# --- the committed results --------------------------------------------------------------------


def _json(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def test_every_results_file_gives_its_date_command_and_machine():
    facts = results_facts.results_facts()
    for path in RESULTS.glob("*.json"):
        name = path.stem
        assert name in results_facts.READERS, f"{path} has no reader in results_facts.py"
        assert facts[f"results.{name}.date"][:4].isdigit()
        assert facts[f"results.{name}.command"].startswith("`")
        assert "logical cores" in facts[f"results.{name}.machine"]


def test_targets_facts_are_the_means_of_the_runs_in_the_json():
    facts, data = results_facts.results_facts(), _json("targets")
    runs = data["zoo"]["fast"]["runs"]
    mean = statistics.fmean(run["test_accuracy"] for run in runs)
    assert facts["results.targets.fast.test_accuracy"] == f"{mean:.2%}"
    seconds = statistics.fmean(run["train_seconds"] for run in runs)
    ratio = seconds / data["plain_keras_epoch"]["seconds"]
    assert facts["results.targets.fast.ratio"] == f"{ratio:.2f}"
    best = data["zoo"]["best"]["runs"]
    assert facts["results.targets.best.train_minutes_max"] == (
        f"{max(run['train_seconds'] for run in best) / 60:.1f}"
    )


def test_best_candidates_quote_the_last_epoch_by_the_variants_name():
    facts = results_facts.results_facts()
    variant = next(v for v in _json("best_candidates")["variants"] if v["name"] == "best-sgd-0.4")
    last = variant["val_accuracy_before_precise_bn"]
    assert facts["results.best_candidates.best-sgd-0.4.val_accuracy"] == f"{last:.2%}"


def test_the_fast_rows_the_zoo_page_names_exist_and_differ_only_as_said():
    keys = {c["spec_key"] for c in _json("fast_candidates")["candidates"]}
    assert set(results_facts.FAST_ROWS.values()) <= keys
    rows = results_facts.FAST_ROWS
    assert rows["smoothing"].replace("ls0.1", "ls0") == rows["no_smoothing"]
    assert rows["betas_before"] + " betas0.7,0.9" == rows["betas_after"]


# --- merged, and the exercises' ---------------------------------------------------------------


def test_all_facts_merge_the_three_sources_without_overlap():
    facts = site_facts.all_facts()
    site = json.loads((GENERATED / "facts.json").read_text())
    exercises = json.loads((GENERATED / "exercise_facts.json").read_text())
    assert set(site) | set(exercises) <= set(facts)
    assert any(name.startswith("results.targets.") for name in facts)
    assert all(name.startswith("exercises.") for name in exercises)


def test_fill_replaces_facts_and_consts_and_refuses_unknown_facts():
    facts = {"a.b": "98.90%"}
    assert (
        site_facts.fill("{{ fact a.b }} in {{ const grade.timeout }}", facts) == "98.90% in 120 s"
    )
    with pytest.raises(site_facts.FactError, match="unknown fact 'c'"):
        site_facts.fill("{{ fact c }}", facts)


def test_exercise_17s_committed_facts_are_what_its_solution_computes_now(tmp_path):
    import exercise_facts

    committed = json.loads((GENERATED / "exercise_facts.json").read_text())
    now = exercise_facts.exercise_17(tmp_path)
    assert {name: committed[name] for name in now} == now
    assert (tmp_path / exercise_facts.MOMENTUM_MD).read_text() == (
        GENERATED / exercise_facts.MOMENTUM_MD
    ).read_text()


def test_every_measured_exercise_says_when_and_where():
    import exercise_facts

    facts = json.loads((GENERATED / "exercise_facts.json").read_text())
    for number in exercise_facts.EXERCISES:
        prefix = f"exercises.{number:02d}"
        assert facts[f"{prefix}.date"][:4].isdigit(), prefix
        assert "logical cores" in facts[f"{prefix}.machine"], prefix
