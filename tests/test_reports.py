"""Reports: evaluate a real (tiny) run on the test set and on its own validation images, and
recognize digits saved as image files."""

from __future__ import annotations

import json
import re
import shutil

import keras
import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from mnist_lab import data as mnist_data
from mnist_lab.core.errors import RunError
from mnist_lab.data.images import ImageError
from mnist_lab.evaluation.reports import evaluate_run, load_run_model, predict_images, save_seen

REPORT_FILES = ["confusion_matrix.png", "misclassified.png", "per_class.json"]
PER_CLASS_KEYS = {"precision", "recall", "f1", "support", "accuracy"}


@pytest.fixture(scope="module")
def run(tmp_path_factory, copy_trained_run):
    """A real run, long enough (2 epochs on 8,192 images, ~97%) to read digits reliably: this
    module's copy of the shared reference run."""
    from mnist_lab.runs import Run

    return Run(copy_trained_run("reference", tmp_path_factory.mktemp("runs")))


def snapshot(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.fixture(scope="module")
def evaluated(run, mnist):
    """The report of `run`, with the run folder's files before and after."""
    before = snapshot(run.path)
    report = evaluate_run(run.path, dataset=mnist)
    return report, before, snapshot(run.path)


def test_evaluate_run_adds_three_files_and_changes_no_other(run, evaluated):
    report, before, after = evaluated
    assert sorted(after) == sorted([*before, *REPORT_FILES])
    assert {name: after[name] for name in before} == before
    assert report["files"] == {
        "confusion_matrix": str(run.path / "confusion_matrix.png"),
        "misclassified": str(run.path / "misclassified.png"),
        "per_class": str(run.path / "per_class.json"),
    }
    confusion_png = imread(run.path / "confusion_matrix.png")
    assert confusion_png.shape[:2] == (600, 700) and confusion_png.std() > 0.05
    gallery_png = imread(run.path / "misclassified.png")
    assert gallery_png.shape[:2] == (720, 1120)  # 4 rows of 8 digits, with the title


def test_evaluate_run_accuracy_matches_the_training_metrics(run, evaluated, mnist):
    report, _, _ = evaluated
    assert report["test_accuracy"] == pytest.approx(run.metrics["test_accuracy"], abs=1e-4)
    assert 0.9 < report["test_accuracy"] < 1
    assert report["test_size"] == 10_000 and report["model"] == "reference"
    assert report["errors"] == round((1 - report["test_accuracy"]) * 10_000)
    confusion = np.array(report["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert confusion.sum() - np.trace(confusion) == report["errors"]
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(mnist.test.labels))


def test_evaluate_run_names_the_most_confused_pairs(evaluated):
    report, _, _ = evaluated
    confusion = np.array(report["confusion_matrix"])
    off_diagonal = confusion - np.diag(np.diag(confusion))
    pairs = report["most_confused"]
    assert len(pairs) == 3
    assert [count for _, _, count in pairs] == sorted(off_diagonal.ravel())[::-1][:3]
    for true, predicted, count in pairs:
        assert true != predicted and confusion[true, predicted] == count


def test_per_class_json_holds_the_documented_keys(run, evaluated):
    report, _, _ = evaluated
    saved = json.loads((run.path / "per_class.json").read_text())
    assert set(saved) == {
        "model",
        "split",
        "test_accuracy",
        "test_size",
        "errors",
        "most_confused",
        "per_class",
        "confusion_matrix",
    }
    assert list(saved["per_class"]) == [str(digit) for digit in range(10)]
    for digit, row in saved["per_class"].items():
        assert set(row) == PER_CLASS_KEYS
        assert row["accuracy"] == row["recall"]
        assert row["support"] == sum(saved["confusion_matrix"][int(digit)])
    assert saved["test_accuracy"] == report["test_accuracy"] and saved["split"] == "test"
    assert saved["per_class"] == report["per_class"]
    assert saved["most_confused"] == [list(pair) for pair in report["most_confused"]]


def test_evaluate_run_loads_the_data_of_the_run_when_none_is_given(
    run, mnist, tmp_path, monkeypatch
):
    copy = tmp_path / run.path.name
    shutil.copytree(run.path, copy)
    folders = []

    def load_mnist(folder=None):
        folders.append(folder)
        return mnist

    monkeypatch.setattr(mnist_data, "load_mnist", load_mnist)
    report = evaluate_run(copy)
    assert folders == [run.config["data_dir"]]
    assert report["run"] == str(copy)
    assert set(REPORT_FILES) <= {path.name for path in copy.iterdir()}


# --- error analysis on validation --------------------------------------------------------------

VALIDATION_FILES = [
    "confusion_matrix-validation.png",
    "misclassified-validation.png",
    "per_class-validation.json",
]


@pytest.fixture(scope="module")
def validated(run, mnist, tmp_path_factory):
    """A copy of the run evaluated on the test set, then on validation: the folder's files
    before and after the validation report, and the report."""
    copy = shutil.copytree(run.path, tmp_path_factory.mktemp("validated") / run.path.name)
    evaluate_run(copy, dataset=mnist)
    before = snapshot(copy)
    report = evaluate_run(copy, dataset=mnist, split="validation")
    return copy, before, report, snapshot(copy)


def test_evaluate_on_validation_writes_its_own_files_and_keeps_the_test_ones(validated):
    copy, before, report, after = validated
    assert sorted(after) == sorted([*before, *VALIDATION_FILES])
    assert {name: after[name] for name in before} == before  # the test report is untouched
    assert report["files"] == {
        "confusion_matrix": str(copy / "confusion_matrix-validation.png"),
        "misclassified": str(copy / "misclassified-validation.png"),
        "per_class": str(copy / "per_class-validation.json"),
    }
    saved = json.loads((copy / "per_class-validation.json").read_text())
    assert saved["split"] == "validation" and "test_accuracy" not in saved
    assert saved["validation_accuracy"] == report["validation_accuracy"]
    assert imread(copy / "misclassified-validation.png").shape[:2] == (720, 1120)


def test_validation_is_the_runs_own_held_out_images(run, validated, mnist):
    """The images are exactly those the run validated on: training's own split of them gives
    the same arrays, and the model's accuracy on them is the one train recorded."""
    from mnist_lab.evaluation.splits import run_split
    from mnist_lab.training import TrainConfig, prepare

    _, _, report, _ = validated
    metrics = run.metrics
    assert report["validation_size"] == metrics["validation_size"] == 819  # of --limit 8192
    assert report["validation_accuracy"] == pytest.approx(metrics["val_accuracy"], abs=1e-6)
    config = TrainConfig(**{k: v for k, v in run.config.items() if k != "recipe"})
    split = run_split(run, "validation", mnist)
    np.testing.assert_array_equal(
        split.images[..., None] / np.float32(255), prepare(mnist, config).x_val
    )
    np.testing.assert_array_equal(split.images, mnist.train.images[split.mnist_indices])
    confusion = np.array(report["confusion_matrix"])
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(split.labels, minlength=10))


def test_evaluate_split_validation_from_the_command_line(copy_trained_run, tmp_path):
    from typer.testing import CliRunner

    from mnist_lab.cli import app

    copy = copy_trained_run("reference", tmp_path)  # a copy never evaluated
    result = CliRunner().invoke(app, ["evaluate", str(copy), "--split", "validation"])
    assert result.exit_code == 0, result.output
    saved = json.loads((copy / "per_class-validation.json").read_text())
    assert f"reference: validation accuracy {saved['validation_accuracy']:.2%}" in result.stdout
    assert f"({saved['errors']:,} of 819 validation images wrong)" in result.stdout
    assert (
        "Wrote confusion_matrix-validation.png, misclassified-validation.png, "
        "per_class-validation.json" in result.stdout
    )
    assert not (copy / "per_class.json").exists()  # the test set was not looked at


def test_a_bad_split_is_one_line_saying_what_to_give(run, tmp_path):
    from typer.testing import CliRunner

    from mnist_lab.cli import app
    from mnist_lab.core.errors import ConfigError

    result = CliRunner().invoke(app, ["evaluate", str(run.path), "--split", "train"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: The '--split' option must be 'validation' (the images the run held out: look "
        "there to decide what to change) or 'test' (the final score). Got 'train' instead."
    ]
    with pytest.raises(ConfigError, match=r"^The 'split' option must be 'validation' "):
        evaluate_run(run.path, split="val")


@pytest.fixture(scope="module")
def drawings(run, mnist, tmp_path_factory):
    """Test digits the model reads right, upscaled and saved black-on-white as PNG files."""
    model = load_run_model(run.path)
    images, labels = mnist.test.images[:200], mnist.test.labels[:200]
    probabilities = model.predict(images[..., None] / np.float32(255), verbose=0)
    chosen = {}
    for index, label in enumerate(labels):
        if probabilities[index].argmax() == label and probabilities[index].max() > 0.95:
            chosen.setdefault(int(label), index)
    folder = tmp_path_factory.mktemp("drawings")
    paths = {}
    for label in (0, 3, 7):
        drawing = Image.fromarray(255 - images[chosen[label]]).resize((200, 200), Image.BICUBIC)
        paths[label] = folder / f"digit-{label}.png"
        drawing.save(paths[label])
    return paths


def test_predict_images_reads_each_drawing_right(run, drawings):
    results = predict_images(run.path, list(drawings.values()))
    assert [result["path"] for result in results] == [str(path) for path in drawings.values()]
    assert [result["digit"] for result in results] == list(drawings)
    for result in results:
        assert set(result) == {"path", "digit", "top3"}
        digits = [digit for digit, _ in result["top3"]]
        probabilities = [probability for _, probability in result["top3"]]
        assert digits[0] == result["digit"] and len(set(digits)) == 3
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-5
        assert all(isinstance(d, int) and isinstance(p, float) for d, p in result["top3"])


def test_predict_images_reports_a_bad_image_before_loading_the_model(tmp_path):
    with pytest.raises(ImageError, match=r"^Cannot read .*missing\.png: it does not exist"):
        predict_images(tmp_path / "no-run", [tmp_path / "missing.png"])


def test_not_a_run_folder_is_a_clear_error(tmp_path):
    gone = re.escape(str(tmp_path / "gone"))
    hint = r"runs are in runs/ \(see 'mnist-lab train'\)\.$"
    with pytest.raises(
        RunError,
        match=rf"^{gone} is not a run folder: it does not exist; {hint}",
    ):
        load_run_model(tmp_path / "gone")
    with pytest.raises(
        RunError,
        match=rf"^{re.escape(str(tmp_path))} is not a run folder: it has no model\.keras; {hint}",
    ):
        load_run_model(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match=rf"is not a run folder: it is a file; {hint}"):
        evaluate_run(tmp_path / "file")


def test_a_garbage_model_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"\x00 these bytes are not a Keras model \xff")
    with pytest.raises(RunError) as caught:
        load_run_model(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'model.keras'} is not a readable Keras model (")
    assert message.endswith("); train the run again with 'mnist-lab train'.")
    assert "\n" not in message


def test_a_model_that_would_run_code_is_refused(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Lambda(lambda x: x * 2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.save(tmp_path / "model.keras")
    with pytest.raises(RunError) as caught:
        load_run_model(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'model.keras'} was not loaded: it holds Python code (such as a Lambda "
        "layer) that safe mode refuses to run; rebuild the model without it and train again."
    )


def test_predict_images_shows_the_28x28_input_the_model_saw(run, drawings, tmp_path):
    """`show` saves each prepared digit, enlarged 10x without blur, and never replaces one."""
    from mnist_lab.data.images import load_digit

    copy = tmp_path / run.path.name
    shutil.copytree(run.path, copy)
    path = drawings[3]
    first, second = (predict_images(copy, [path], show=True)[0] for _ in range(2))
    assert first["seen"] == str(copy / "seen" / "digit-3.png")
    assert second["seen"] == str(copy / "seen" / "digit-3-2.png")
    saved = np.asarray(Image.open(first["seen"]))
    assert saved.shape == (280, 280) and saved.dtype == np.uint8
    np.testing.assert_array_equal(saved[::10, ::10], load_digit(path))
    assert "seen" not in predict_images(copy, [path])[0]


def test_save_seen_never_replaces_a_picture_and_says_when_every_name_is_taken(tmp_path):
    digit = np.zeros((28, 28), dtype=np.uint8)
    folder = tmp_path / "seen"
    folder.mkdir()
    (folder / "d.png").write_bytes(b"mine")
    assert save_seen(digit, folder, "d") == folder / "d-2.png"
    assert (folder / "d.png").read_bytes() == b"mine"
    for attempt in range(3, 1000):
        (folder / f"d-{attempt}.png").touch()
    with pytest.raises(RunError, match=re.escape(f"Too many pictures named d in {folder}.")):
        save_seen(digit, folder, "d")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(RunError, match=re.escape(f"Cannot write into {tmp_path / 'file'} (")):
        save_seen(digit, tmp_path / "file", "d")
