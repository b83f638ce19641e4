"""The `make bench` scripts: never collected as tests, and honest about missed targets."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from mnist_lab.registry import import_path

PERF = Path(__file__).resolve().parent / "perf"


@pytest.mark.parametrize("script", sorted(PERF.glob("*.py")), ids=lambda path: path.name)
def test_perf_scripts_name_nothing_like_a_test(script):
    """pytest must never collect a script that trains for minutes: no file or name looks like
    a test (and tests/conftest.py ignores the folder besides)."""
    assert not script.name.startswith("test_") and not script.stem.endswith("_test")
    tree = ast.parse(script.read_text())
    names = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
    ]
    assert [name for name in names if name.lower().startswith("test")] == []


def fast_run(seed, test, val, seconds, to_99):
    return {
        "model": "fast",
        "seed": seed,
        "epochs": 3,
        "train_seconds": seconds,
        "val_accuracy_per_epoch": [0.98, 0.989, val],
        "val_accuracy": val,
        "epoch_to_99_val": None if to_99 is None else 3,
        "seconds_to_99_val": to_99,
        "test_accuracy": test,
    }


def results(**changes):
    fast = [fast_run(0, 0.991, 0.9905, 8.0, 8.0), fast_run(1, 0.990, 0.9902, 9.0, 9.0)]
    fast.append(fast_run(2, 0.992, 0.9901, 10.0, 10.0))
    reference = fast_run(0, 0.989, 0.988, 80.0, None) | {"model": "reference", "epochs": 8}
    best = {"train_seconds": 600.0, "test_accuracy": 0.9965, "val_accuracy": 0.995}
    base = {
        "date": "2026-11-30T10:00:00",
        "machine": {"cpu": "CPU", "cores": 2, "python": "3.11", "tensorflow": "2.21"}
        | {"keras": "3.15", "gpus": []},
        "overhead": {
            "plain_keras_seconds_per_epoch": 9.0,
            "mnist_lab_seconds_per_epoch": 9.2,
            "ratio": 1.022,
        },
        "fast": {
            "runs": fast,
            "test_accuracy_mean": 0.991,
            "val_accuracy_mean": 0.9903,
            "train_seconds_mean": 9.0,
            "train_seconds_max": 10.0,
        },
        "reference": reference,
        "best": best,
    }
    return base | changes


@pytest.fixture
def targets_module(tmp_path, monkeypatch):
    module = import_path(PERF / "targets.py", "mnist_lab_perf_targets")
    monkeypatch.setattr(module, "RESULTS", tmp_path)
    yield module
    sys.modules.pop("mnist_lab_perf_targets", None)


def test_every_target_met_exits_zero(targets_module, tmp_path, monkeypatch, capsys):
    (tmp_path / "targets.json").write_text(json.dumps(results()))
    monkeypatch.setattr(sys, "argv", ["targets.py", "--render"])
    targets_module.main()
    table = (tmp_path / "targets.md").read_text()
    assert "**missed**" not in table and table.count("| met |") == 6
    assert "at least 9x: `reference` did not reach 99% in 8 epochs (80 s, best 98.90%)" in table
    assert "`fast` after 9.0 s (3 of 3 seeds)" in table
    assert "chosen on validation accuracy" in table
    assert capsys.readouterr().err == ""


def test_each_missed_target_is_one_line_and_exit_1(targets_module, tmp_path, monkeypatch, capsys):
    """Two misses: fast's test accuracy, and a seed of fast that never reached 99% validation
    accuracy, which makes the speed-up unproven however fast the others were."""
    slow = results()
    slow["fast"]["test_accuracy_mean"] = 0.9894
    slow["fast"]["runs"][1] = fast_run(1, 0.988, 0.9876, 9.0, None)
    (tmp_path / "targets.json").write_text(json.dumps(slow))
    monkeypatch.setattr(sys, "argv", ["targets.py", "--render"])
    with pytest.raises(SystemExit) as caught:
        targets_module.main()
    assert caught.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "missed: `fast` test accuracy, mean of 3 seeds: 98.94% (validation 99.03%) (goal >= 99.0%)",
        "missed: `fast` sooner to 99% validation accuracy than `reference`: at least 9x: "
        "`reference` did not reach 99% in 8 epochs (80 s, best 98.90%); `fast` after 9.0 s "
        "(2 of 3 seeds) (goal >= 4x, every seed)",
    ]
    assert (tmp_path / "targets.md").read_text().count("**missed**") == 2
