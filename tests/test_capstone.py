"""The capstone's rule (mnist_lab.course.capstone), its training (mnist_lab.scale.capstone) and
the measurement its threshold was chosen on (docs/results/capstone_spread.json).

The trainings here are tiny (one epoch of the MLP on a few thousand images): they check that a
seed is trained as `mnist-lab train MODEL --seed S` trains it, not how well.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from mnist_lab.course import capstone

ROOT = Path(__file__).resolve().parents[1]
SPREAD = ROOT / "docs" / "results" / "capstone_spread.json"
TARGETS = ROOT / "docs" / "results" / "targets.json"
T = capstone.MIN_MEAN_VALIDATION_ACCURACY


def test_the_rule_judges_the_mean_of_the_seeds_not_the_luckiest():
    assert capstone.SEEDS == (0, 1)
    assert capstone.passes([T, T]) and capstone.passes([T + 0.002, T - 0.002])
    # One lucky seed cannot carry a weak one: the best seed clears the threshold, the mean not.
    assert not capstone.passes([T + 0.004, T - 0.006])
    assert not capstone.passes([T - 0.0001, T - 0.0001])
    assert capstone.mean_accuracy([0.99, 0.995]) == pytest.approx(0.9925)


def test_the_bounds_and_the_rounding():
    assert capstone.two_seed_bound(0.993, 0.001) == pytest.approx(0.993 - 2.33 * 0.001 / 2**0.5)
    assert capstone.one_seed_bound(0.993, 0.001) == pytest.approx(0.993 - 0.00233)
    assert capstone.two_seed_bound(0.993, 0.001) > capstone.one_seed_bound(0.993, 0.001)
    assert capstone.round_down(0.99137) == pytest.approx(0.9910)
    assert capstone.round_down(0.9915) == pytest.approx(0.9915)  # a multiple stays itself
    assert capstone.round_down(0.99149) == pytest.approx(0.9910)
    assert capstone.round_down(0.99137, 0.001) == pytest.approx(0.991)


def test_the_threshold_clears_the_measured_spread_and_beats_the_reference():
    """The threshold in force is under the solution's mean minus 2.33 standard deviations of a
    2-seed mean (and of one seed), measured over at least 8 seeds trained as the check trains,
    and above every seed of the reference CNN's `make bench` runs."""
    spread = json.loads(SPREAD.read_text())
    runs = spread["runs"]
    assert [run["seed"] for run in runs] == list(range(len(runs))) and len(runs) >= 8
    assert spread["limit"] is None and spread["model"] == capstone.MODEL
    assert all(run["epochs"] == spread["recipe_epochs"] <= capstone.MAX_EPOCHS for run in runs)
    assert not any(run["stopped_by_safety"] for run in runs)
    accuracies = [run["val_accuracy"] for run in runs]
    assert spread["mean"] == pytest.approx(statistics.fmean(accuracies))
    assert spread["sd"] == pytest.approx(statistics.stdev(accuracies))
    mean, sd = spread["mean"], spread["sd"]
    assert spread["two_seed_bound"] == pytest.approx(mean - 2.33 * sd / math.sqrt(2))
    assert spread["one_seed_bound"] == pytest.approx(mean - 2.33 * sd)
    threshold, two_seeds, one_seed = T, spread["two_seed_bound"], spread["one_seed_bound"]
    assert threshold <= two_seeds and threshold <= one_seed
    # As chosen: the stricter bound, rounded down to 0.05 points (it clears both).
    assert threshold == pytest.approx(capstone.round_down(one_seed))
    reference = json.loads(TARGETS.read_text())["zoo"]["reference"]["runs"]
    best_reference = max(run["val_accuracy"] for run in reference)
    assert threshold > best_reference


def test_a_seed_trains_as_mnist_lab_train_does(tmp_path, mnist):
    from typer.testing import CliRunner

    from mnist_lab.cli import app
    from mnist_lab.scale.capstone import train_seed

    run = train_seed("mlp", 1, out=str(tmp_path / "mine"), dataset=mnist, epochs=1, limit=3000)
    options = ["--seed", "1", "--epochs", "1", "--limit", "3000", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(app, ["train", "mlp", *options])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "cli").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert (run.seed, run.epochs, run.params) == (1, 1, metrics["params"])
    assert metrics["validation_size"] == 300  # VALIDATION_SPLIT of the 3,000 images
    assert run.val_accuracy == pytest.approx(metrics["val_accuracy"], abs=1e-6)
    assert run.test_accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert not run.stopped_by_safety and Path(run.path).parent == tmp_path / "mine"


def test_the_safety_stop_ends_a_runaway_training_and_says_so(tmp_path, mnist):
    from mnist_lab.scale.capstone import train_seeds

    runs = train_seeds(
        "mlp", (0, 1), out=str(tmp_path), dataset=mnist, epochs=3, limit=2000, safety_minutes=0
    )
    # Stopped in its first epoch, and the next seed is not started: it would run away too.
    assert [(run.seed, run.epochs, run.stopped_by_safety) for run in runs] == [(0, 1, True)]


def test_the_check_of_exercise_8_outlasts_its_trainings_safety_stops(monkeypatch, tmp_path):
    """The clock must not decide: `exercises check 8` may run as long as both trainings may."""
    import subprocess

    from mnist_lab.course import exercises

    exercise = exercises.find(exercises.load_catalog(ROOT), 8)
    needed = len(capstone.SEEDS) * capstone.SAFETY_MINUTES
    assert exercise.check_minutes is not None and exercise.check_minutes >= needed + 5
    seen = {}

    def run(command, **kwargs):
        seen["timeout"] = kwargs["timeout"]
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", run)
    result = exercises.run_tests(exercise, tmp_path)
    assert seen["timeout"] == exercise.check_minutes * 60
    assert result.failures[0].message.startswith(
        f"the tests did not finish in {exercise.check_minutes * 60} s"
    )
    other = exercises.find(exercises.load_catalog(ROOT), 2)
    assert other.check_minutes is None
    exercises.run_tests(other, tmp_path)
    assert seen["timeout"] == exercises.CHECK_TIMEOUT_S


@pytest.mark.parametrize("value", [0, -5, 1.5, "long", True])
def test_a_malformed_check_minutes_is_one_line(tmp_path, value):
    from mnist_lab.course import exercises
    from mnist_lab.course.exercises.catalog import read_catalog

    text = (ROOT / "exercises" / "manifest.toml").read_text()
    text = text.replace("check_minutes = 130", f"check_minutes = {json.dumps(value)}")
    (tmp_path / "manifest.toml").write_text(text)
    with pytest.raises(exercises.ExerciseError, match="check_minutes must be a whole number"):
        read_catalog(tmp_path / "manifest.toml")
