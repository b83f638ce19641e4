"""`mnist-lab inspect` through typer's test runner, on real (tiny) runs: the figures it writes,
the table it prints, the run's own validation images it looks at by default (the test set only
when asked), the run files it leaves alone, and one clear line for what it cannot do."""

from __future__ import annotations

import errno
import shutil

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.evaluation.inspection import inspect_run

runner = CliRunner()
FIGURES = ["feature_maps.png", "filters.png", "saliency.png"]
SIZES = {"filters.png": (400, 780), "feature_maps.png": (475, 1600), "saliency.png": (390, 750)}


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def assert_one_line_error(result, message: str) -> None:
    """A user error: exit 1, exactly one line on stderr, 'Error: message', no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def trained(trained_runs):
    """The shared reference and mlp runs, read-only: each test copies the one it changes."""
    return trained_runs


@pytest.fixture(scope="module")
def validation(trained, mnist):
    """The shared reference run's validation images, as training split them."""
    from mnist_lab.evaluation.splits import run_split
    from mnist_lab.runs import Run

    return run_split(Run(trained["reference"]), "validation", mnist)


@pytest.fixture
def run(trained, tmp_path):
    """A fresh copy of the reference run, so each test sees only its own figures."""
    return shutil.copytree(trained["reference"], tmp_path / "run")


def snapshot(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def save_digit(mnist, index: int, path) -> None:
    """A test digit as a user's picture: black on white, 240x240."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(255 - mnist.test.images[index]).resize((240, 240)).save(path)


def test_inspect_writes_the_three_figures_and_prints_the_layer_table(run, validation):
    before = snapshot(run)
    result = invoke("inspect", run)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Layers of reference" in lines[0]
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert [row[1:] for row in cells] == [
        ["Conv2D", "26 x 26 x 32", "320"],
        ["MaxPooling2D", "13 x 13 x 32", "0"],
        ["Conv2D", "11 x 11 x 64", "18,496"],
        ["MaxPooling2D", "5 x 5 x 64", "0"],
        ["Flatten", "1600", "0"],
        ["Dense", "128", "204,928"],
        ["Dense", "10", "1,290"],
        ["", "", "225,034"],
    ]
    assert cells[-1][0] == "total"
    label = int(validation.labels[0])  # a validation image by default, never a test one
    assert lines[-2].startswith(f"validation image 0 (true {label}): predicted ")
    assert lines[-1] == f"Wrote filters.png, feature_maps.png, saliency.png into {run}/"

    after = snapshot(run)
    assert sorted(after) == sorted([*before, *FIGURES])
    assert {name: after[name] for name in before} == before  # model.keras, metrics.json...
    for name, size in SIZES.items():
        png = imread(run / name)
        assert png.shape[:2] == size, name
        assert png.std() > 0.05, f"{name} is blank"


def test_index_looks_at_another_validation_image_and_rewrites_the_figures(run, validation):
    assert invoke("inspect", run).exit_code == 0
    first = (run / "feature_maps.png").read_bytes()
    result = invoke("inspect", run, "--index", "5")
    assert result.exit_code == 0, result.output
    assert f"validation image 5 (true {validation.labels[5]}): predicted " in result.stdout
    assert (run / "feature_maps.png").read_bytes() != first
    assert sorted(p.name for p in run.iterdir() if p.name in FIGURES) == FIGURES


def test_split_test_looks_at_a_test_image(run, mnist):
    result = invoke("inspect", run, "--split", "test", "--index", "5")
    assert result.exit_code == 0, result.output
    assert f"test image 5 (true {mnist.test.labels[5]}): predicted " in result.stdout


def test_the_validation_image_is_the_one_the_run_validated_on(run, mnist, validation):
    """Index i of --split validation is the i-th image training held out: the figure's digit is
    that training image of MNIST, and the model's answer is its answer on it."""
    from mnist_lab.evaluation.reports import load_run_model

    report = inspect_run(run, index=7, split="validation", dataset=mnist)
    (digit,) = report["digits"]
    training_index = int(validation.mnist_indices[7])
    assert digit["source"] == "validation image 7"
    assert digit["label"] == int(mnist.train.labels[training_index])
    image = mnist.train.images[training_index][None, ..., None] / np.float32(255)
    probabilities = load_run_model(run).predict(image, verbose=0)[0]
    assert digit["digit"] == int(probabilities.argmax())
    assert digit["probability"] == pytest.approx(float(probabilities.max()), rel=1e-5)


def test_one_picture_gets_the_plain_names(run, mnist, tmp_path):
    picture = tmp_path / "pictures" / "three.png"
    save_digit(mnist, int(np.flatnonzero(mnist.test.labels == 3)[0]), picture)
    result = invoke("inspect", run, picture)
    assert result.exit_code == 0, result.output
    assert f"{picture}: predicted " in result.stdout
    assert "true" not in result.stdout.splitlines()[-2]
    assert {p.name for p in run.iterdir()} >= set(FIGURES)


def test_several_pictures_each_get_their_own_figures(run, mnist, tmp_path):
    pictures = [tmp_path / "a" / "digit.png", tmp_path / "b" / "digit.png", tmp_path / "one.png"]
    for index, picture in enumerate(pictures):
        save_digit(mnist, index, picture)
    before = snapshot(run)
    result = invoke("inspect", run, *pictures)
    assert result.exit_code == 0, result.output
    written = sorted(set(snapshot(run)) - set(before))
    assert written == [
        "feature_maps-digit-2.png",
        "feature_maps-digit.png",
        "feature_maps-one.png",
        "filters.png",
        "saliency-digit-2.png",
        "saliency-digit.png",
        "saliency-one.png",
    ]
    assert result.stdout.splitlines()[-1] == (
        "Wrote filters.png, feature_maps-digit.png, saliency-digit.png, "
        "feature_maps-digit-2.png, saliency-digit-2.png, feature_maps-one.png, "
        f"saliency-one.png into {run}/"
    )
    for picture in pictures:
        assert f"{picture}: predicted " in result.stdout


def test_inspect_run_returns_what_the_figures_show(run, mnist, validation):
    report = inspect_run(run, index=2, dataset=mnist)
    assert report["model"] == "reference" and report["run"] == str(run)
    assert [row["output_shape"] for row in report["layers"] if row["conv"]] == [
        (26, 26, 32),
        (11, 11, 64),
    ]
    (digit,) = report["digits"]
    assert digit["source"] == "validation image 2" and digit["label"] == validation.labels[2]
    assert 0 <= digit["digit"] <= 9 and 0.1 <= digit["probability"] <= 1
    assert digit["saliency_of"] == "logit"  # the reference ends in a softmax Dense layer
    assert digit["files"] == [str(run / "feature_maps.png"), str(run / "saliency.png")]
    assert report["files"] == [str(run / name) for name in ("filters.png", *digit["files"])]


def test_a_run_without_convolutions_says_so_in_one_line(trained, tmp_path):
    run = shutil.copytree(trained["mlp"], tmp_path / "mlp-run")
    before = snapshot(run)
    result = invoke("inspect", run)
    assert_one_line_error(
        result,
        "The model 'mlp' has no convolution layers: there are no filters or feature maps to "
        "show; try a run of reference, best, bn-cnn, fast, keras-convnet, lenet5 or "
        "reference-dropout (a convolutional model; 'mnist-lab train reference' trains one).",
    )
    assert snapshot(run) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--index", "819"],
            "The '--index' option must be an int from 0 to 818 (this run held out 819 "
            "validation images). Got 819 instead.",
        ),
        (
            ["--split", "test", "--index", "10000"],
            "The '--index' option must be an int from 0 to 9999 (the test set has 10,000 "
            "images). Got 10000 instead.",
        ),
        (["--index", "-1"], "The '--index' option must be an int >= 0. Got -1 instead."),
        (
            ["--split", "tests"],
            "The '--split' option must be 'validation' (the images the run held out: look there "
            "to decide what to change) or 'test' (the final score). Got 'tests' instead.",
        ),
        (
            ["{tmp}/x.png", "--index", "3"],
            "The '--index' option chooses a validation or test image: give it or pictures, "
            "not both.",
        ),
        (
            ["{tmp}/x.png", "--split", "test"],
            "The '--split' option chooses a validation or test image: give it or pictures, "
            "not both.",
        ),
        (["{tmp}/x.png"], "Cannot read {tmp}/x.png: it does not exist; give a PNG or JPEG"),
    ],
)
def test_inspect_rejects_bad_input_in_one_line(run, tmp_path, args, message):
    before = snapshot(run)
    result = invoke("inspect", run, *[arg.format(tmp=tmp_path) for arg in args])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {message.format(tmp=tmp_path)}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(run) == before


def test_a_folder_that_is_not_a_run_is_named(tmp_path):
    result = invoke("inspect", tmp_path / "missing")
    assert_one_line_error(
        result,
        f"{tmp_path / 'missing'} is not a run folder: it does not exist; runs are in runs/ "
        "(see 'mnist-lab train').",
    )


def test_a_picture_is_never_replaced_by_a_figure(run, mnist):
    picture = run / "saliency.png"
    save_digit(mnist, 0, picture)
    before = snapshot(run)
    result = invoke("inspect", run, picture)
    assert_one_line_error(
        result,
        f"{picture} is one of the pictures to inspect and would be replaced by a figure; copy "
        "the picture out of the run folder first.",
    )
    assert snapshot(run) == before


def test_a_run_folder_that_cannot_be_written_is_reported(run, monkeypatch):
    from mnist_lab.evaluation import plots

    def refuse(figure, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(plots, "save_figure", refuse)
    result = invoke("inspect", run)
    assert_one_line_error(
        result,
        f"Cannot write the figures into {run} (Permission denied); check that the run folder "
        "is writable.",
    )


def test_help_says_validation_is_the_default_and_the_test_set_chooses_nothing():
    result = invoke("inspect", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "Which image of --split to look at (default 0)." in text
    assert "'validation' (default: the images this run held out, from its own seed;" in text
    assert "'test' (a look at the final score's images, which choose nothing)" in text
    assert "the digit is one of the run's validation images" in text


def test_the_app_lists_inspect():
    result = invoke("--help")
    assert "inspect" in result.stdout
