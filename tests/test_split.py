"""The captions of a leaderboard and a sweep say what the runs trained on, from the runs."""

from __future__ import annotations

import json
from pathlib import Path

from mnist_lab.scale.split import describe_split


def _run(folder: Path, name: str, metrics: dict | None) -> str:
    (folder / name).mkdir(parents=True)
    if metrics is not None:
        (folder / name / "metrics.json").write_text(json.dumps(metrics))
    return name


def test_the_full_split_names_the_images_trained_on_and_held_out(tmp_path):
    names = [
        _run(tmp_path, f"reference-{seed}", {"train_size": 54000, "validation_size": 6000})
        for seed in range(3)
    ]
    assert describe_split(tmp_path, names, None) == (
        "on 54,000 of MNIST's 60,000 training images (6,000 held out for validation)"
    )


def test_a_limit_drawn_per_seed_gives_the_span_of_the_splits(tmp_path):
    names = [
        _run(tmp_path, "a", {"train_size": 4499, "validation_size": 501}),
        _run(tmp_path, "b", {"train_size": 4502, "validation_size": 498}),
    ]
    assert describe_split(tmp_path, names, 5000) == (
        "on 4,499 to 4,502 of 5,000 drawn from MNIST's 60,000 training images "
        "(498 to 501 held out for validation)"
    )


def test_runs_without_sizes_never_claim_all_60000_images(tmp_path):
    names = [_run(tmp_path, "old", {"test_accuracy": 0.99}), _run(tmp_path, "broken", None)]
    text = describe_split(tmp_path, names, None)
    assert text == "on MNIST's 60,000 training images, part of them held out for validation"
    assert "all" not in text
