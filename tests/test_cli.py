"""The CLI through typer's test runner: exit codes, output, and one clear line for bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from mnist_lab.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def assert_one_line_error(result, message: str) -> None:
    """A user error: exit 1, exactly one line on stderr, starting with 'Error: ', no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"Error: {message}" or lines[-1].startswith(f"Error: {message}")
    assert len([line for line in lines if line.startswith("Error:")]) == 1
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "list", "data"):
        assert command in result.stdout


def test_list_shows_the_reference_with_its_parameters():
    result = invoke("list")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if " reference " in line)
    assert "225,034" in row and "built-in" in row


def test_list_json_for_scripts():
    result = invoke("list", "--json", "ref*")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert [m["name"] for m in payload["models"]] == ["reference", "reference-dropout"]
    assert [m["params"] for m in payload["models"]] == [225_034, 225_034]
    assert payload["models"][0]["recipe"] == "5 epochs, batch 128, adam 0.001"
    assert payload["models"][0]["source"] == "built-in"
    assert payload["broken"] == {}


def test_list_with_no_match_says_so():
    result = invoke("list", "nothing-like-this*")
    assert result.exit_code == 0
    assert "No model matches nothing-like-this*." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["refrence"], "Unknown model 'refrence'. Did you mean 'reference'?"),
        (
            ["reference", "--epochs", "0"],
            "The '--epochs' option must be an int >= 1. Got 0 instead.",
        ),
        (
            ["reference", "--batch-size", "0"],
            "The '--batch-size' option must be an int >= 1 and <= 60000. Got 0 instead.",
        ),
        (
            ["reference", "--validation-split", "0"],
            "The '--validation-split' option must be a float in (0, 1), exclusive. "
            "Got 0.0 instead.",
        ),
        (
            ["reference", "--validation-split", "1.5"],
            "The '--validation-split' option must be a float in (0, 1), exclusive. "
            "Got 1.5 instead.",
        ),
        (
            ["reference", "--limit", "64"],
            "The '--limit' option must be an int >= the batch size (128) and <= 60000. "
            "Got 64 instead.",
        ),
    ],
)
def test_train_rejects_bad_input_with_one_line(tmp_path, args, message):
    result = invoke("train", *args, "--out", str(tmp_path / "runs"))
    assert_one_line_error(result, message)
    assert not (tmp_path / "runs").exists()


def test_train_rejects_a_data_folder_without_valid_mnist(tmp_path):
    from mnist_lab.data import FILES

    data = tmp_path / "data"
    data.mkdir()
    for name in FILES:
        (data / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    result = invoke("train", "reference", "--data-dir", str(data), "--out", str(tmp_path / "runs"))
    assert_one_line_error(result, f"{data / 'train-images-idx3-ubyte'} is corrupt")
    assert "mnist-lab data fetch --force" in result.stderr
    assert not (tmp_path / "runs").exists()
    assert (
        data / "train-images-idx3-ubyte"
    ).read_bytes() == b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"


def test_train_rejects_a_data_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("x")
    result = invoke("train", "reference", "--data-dir", str(blocker), "--out", str(tmp_path))
    assert_one_line_error(result, f"The data folder {blocker} is a file")


def test_train_writes_a_run_and_reports_test_metrics(tmp_path):
    out = tmp_path / "runs"
    result = invoke("train", "reference", "--epochs", "1", "--limit", "512", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Training 'reference' for 1 epoch on 512 training images" in result.stdout
    assert "Test accuracy: " in result.stdout
    (run,) = out.iterdir()
    assert f"Run saved in {run}/" in result.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"Test accuracy: {metrics['test_accuracy']:.2%}" in result.stdout


def test_data_info_shows_source_checksums_and_class_counts():
    result = invoke("data", "info")
    assert result.exit_code == 0
    assert "train-images-idx3-ubyte  ok       sha256 ba891046e6505d7a" in result.stdout
    assert "5,923" in result.stdout and "60,000" in result.stdout and "10,000" in result.stdout
    payload = json.loads(invoke("data", "info", "--json").stdout)
    assert payload["class_counts"]["test"][0] == 980
    assert set(payload["files"]) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    }


def test_data_info_on_an_empty_folder_says_how_to_fetch(tmp_path):
    result = invoke("data", "info", "--data-dir", str(tmp_path))
    assert result.exit_code == 0
    missing = [line for line in result.stdout.splitlines() if line.endswith(" missing")]
    assert len(missing) == 4, result.stdout
    assert "sha256" not in result.stdout  # a missing file has no hash to show
    assert "Run 'mnist-lab data fetch'" in result.stdout


def test_data_info_prints_the_computed_hash_and_the_expected_one_where_they_differ(monkeypatch):
    """The CLI's side of data_info's contract: 'sha256' is computed from the file (None when it
    is missing), 'expected_sha256' is the original's."""
    good, bad, original = "ab12" * 16, "9f00" * 16, "1b2c" * 16
    info = {
        "folder": "/cache",
        "source": "a test",
        "fetched_at": None,
        "files": {
            "train-images-idx3-ubyte": {"state": "ok", "sha256": good, "expected_sha256": good},
            "train-labels-idx1-ubyte": {"state": "missing", "sha256": None},
            "t10k-labels-idx1-ubyte": {
                "state": "corrupt",
                "sha256": bad,
                "expected_sha256": original,
            },
        },
        "class_counts": None,
    }
    monkeypatch.setattr("mnist_lab.data.data_info", lambda folder=None: info)
    result = invoke("data", "info")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"  train-images-idx3-ubyte  ok       sha256 {good}" in lines
    assert "  train-labels-idx1-ubyte  missing" in lines
    assert f"  t10k-labels-idx1-ubyte   corrupt  sha256 {bad} (expected {original})" in lines


def test_data_fetch_on_a_valid_cache_changes_nothing():
    from mnist_lab.data import data_dir

    before = (data_dir() / "train-images-idx3-ubyte").stat().st_mtime_ns
    result = invoke("data", "fetch")
    assert result.exit_code == 0
    assert f"MNIST is ready in {data_dir()}" in result.stdout
    assert (data_dir() / "train-images-idx3-ubyte").stat().st_mtime_ns == before


def test_data_import_reports_a_missing_path(tmp_path):
    result = invoke("data", "import", str(tmp_path / "nope"), "--data-dir", str(tmp_path / "d"))
    assert_one_line_error(result, f"{tmp_path / 'nope'} does not exist")


def test_data_import_copies_a_folder_into_the_cache(tmp_path):
    from mnist_lab.data import data_dir

    target = tmp_path / "cache"
    result = invoke("data", "import", str(data_dir()), "--data-dir", str(target))
    assert result.exit_code == 0, result.output
    assert f"it is ready in {target}" in result.stdout
    assert json.loads((target / "source.json").read_text())["source"].startswith("local files")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, copy_trained_run):
    """This module's copy of the shared reference run (2 epochs on 8,192 images)."""
    return copy_trained_run("reference", tmp_path_factory.mktemp("cli-runs"))


def test_evaluate_writes_the_report_files_and_prints_a_summary(trained_run):
    before = {p.name: p.read_bytes() for p in trained_run.iterdir() if p.is_file()}
    result = invoke("evaluate", str(trained_run))
    assert result.exit_code == 0, result.output
    per_class = json.loads((trained_run / "per_class.json").read_text())
    assert f"reference: test accuracy {per_class['test_accuracy']:.2%}" in result.stdout
    assert f"({per_class['errors']:,} of 10,000 test images wrong)" in result.stdout
    assert "Most confused: " in result.stdout and "Per digit" in result.stdout
    assert "Wrote confusion_matrix.png, misclassified.png, per_class.json" in result.stdout
    assert {p.name: p.read_bytes() for p in trained_run.iterdir() if p.name in before} == before


def test_predict_reads_a_drawn_digit(trained_run, mnist, tmp_path):
    from PIL import Image

    index = int(np.flatnonzero(mnist.test.labels == 3)[0])
    drawing = Image.fromarray(255 - mnist.test.images[index]).resize((240, 240))
    drawing.save(tmp_path / "three.jpg")
    result = invoke("predict", str(trained_run), str(tmp_path / "three.jpg"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{tmp_path / 'three.jpg'}: 3   (3: ")


def test_predict_show_saves_what_the_model_saw(trained_run, mnist, tmp_path):
    import shutil

    from PIL import Image

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    Image.fromarray(255 - mnist.test.images[0]).resize((240, 240)).save(tmp_path / "d.png")
    result = invoke("predict", str(run), str(tmp_path / "d.png"), "--show")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == f"  the model saw {run / 'seen' / 'd.png'}"
    assert Image.open(run / "seen" / "d.png").size == (280, 280)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["benchmark", "no-such-model*"], "No model matches the pattern 'no-such-model*'."),
        (
            ["benchmark", "reference", "--repeats", "0"],
            "The '--repeats' option must be an int >= 1.",
        ),
        (["evaluate", "{tmp}/missing"], "{tmp}/missing is not a run folder: it does not exist"),
        (["predict", "{tmp}/missing", "{tmp}/x.png"], "Cannot read {tmp}/x.png"),
    ],
)
def test_benchmark_evaluate_predict_reject_bad_input(tmp_path, args, message):
    args = [arg.format(tmp=tmp_path) for arg in args]
    result = invoke(*args)
    assert_one_line_error(result, message.format(tmp=tmp_path))


def test_predict_rejects_a_file_that_is_not_an_image(trained_run, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    result = invoke("predict", str(trained_run), str(text))
    assert_one_line_error(result, f"Cannot read {text}: it is not an image file")


def test_benchmark_prints_progress_and_the_leaderboard(tmp_path):
    out = tmp_path / "benchmarks"
    args = ["reference", "--epochs", "1", "--limit", "512", "--out", str(out)]
    result = invoke("benchmark", *args)
    assert result.exit_code == 0, result.output
    assert "Benchmarking 1 model (reference), 1 repeat(s) each." in result.stdout
    assert "Training 1 run in this process, one after another." in result.stdout
    assert "[0/1 done, 1 running] reference seed 0  epoch 1/1  val accuracy " in result.stdout
    assert re.search(
        r"\[1/1 done, 0 running\] reference seed 0  val accuracy \d+\.\d\d% after [\d.]+ s of "
        r"training  0:\d\d elapsed",
        result.stdout,
    )
    assert "Runs trained one after another in one process." in result.stdout
    assert "Leaderboard (best validation accuracy first)" in result.stdout
    (folder,) = out.iterdir()
    assert f"Saved in {folder}/" in result.stdout
    assert (folder / "leaderboard.md").is_file()


@pytest.mark.parametrize(
    ("args", "typed", "field"),
    [
        (["train", "reference", "--epochs", "0"], "--epochs", "epochs"),
        (["train", "reference", "--batch-size", "0"], "--batch-size", "batch_size"),
        (["train", "reference", "--seed", "-1"], "--seed", "seed"),
        (
            ["train", "reference", "--validation-split", "0"],
            "--validation-split",
            "validation_split",
        ),
        (["train", "reference", "--limit", "1"], "--limit", "limit"),
        (["benchmark", "reference", "--repeats", "0"], "--repeats", "repeats"),
        (["benchmark", "reference", "--epochs", "0"], "--epochs", "epochs"),
        (["benchmark", "reference", "--seed", "-1"], "--seed", "seed"),
        (["benchmark", "reference", "--limit", "1"], "--limit", "limit"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_errors_name_options_as_they_are_typed(tmp_path, args, typed, field):
    """The library's ConfigError knows its option's Python name; the CLI spells it as typed."""
    result = invoke(*args, "--out", str(tmp_path / "out"))
    assert_one_line_error(result, f"The '{typed}' option must be ")
    if typed.removeprefix("--") != field:
        assert f"'{field}'" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_python_callers_read_the_option_names_they_pass():
    from mnist_lab.core.errors import ConfigError
    from mnist_lab.scale.benchmark import check_repeats
    from mnist_lab.training import TrainConfig

    with pytest.raises(ConfigError, match=r"^The 'batch_size' option must be ") as caught:
        TrainConfig(model="reference", batch_size=0).validate()
    assert caught.value.option == "batch_size"
    assert caught.value.naming("--batch-size").startswith("The '--batch-size' option must be ")
    with pytest.raises(ConfigError, match=r"^The 'repeats' option must be ") as caught:
        check_repeats(0)
    assert caught.value.option == "repeats"


def test_every_command_answers_errors_in_one_line():
    """A command declared without cls=OneLineCommand would print typer's boxed errors and
    tracebacks: every command and group of the app uses the one-line classes."""
    import typer.main

    from mnist_lab.cli.common import OneLineCommand, OneLineGroup

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    commands = dict(walk(typer.main.get_command(app), "mnist-lab"))
    assert {"mnist-lab train", "mnist-lab data info", "mnist-lab exercises check"} <= set(commands)
    for path, command in commands.items():
        kind = OneLineGroup if hasattr(command, "commands") else OneLineCommand
        assert isinstance(command, kind), f"{path} is a {type(command).__name__}"


def test_a_bare_group_shows_its_help_and_succeeds():
    for args in ([], ["data"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.stdout and result.stderr == ""


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_batch_progress_on_a_terminal_is_one_rich_display():
    """Runs done of total, running and failed, the latest epoch and its val accuracy, elapsed."""
    import io

    from rich.console import Console

    from mnist_lab.cli.progress import batch_progress

    def counts(done, running, failed=0):
        return {"done": done, "running": running, "failed": failed, "total": 3}

    events = [
        {"event": "start", "executor": "dask-local", "workers": 2, **counts(0, 0)},
        {"event": "task_start", "key": "reference seed 0", **counts(0, 1)},
        {"event": "task_start", "key": "mlp seed 0", **counts(0, 2)},
        {"event": "epoch_done", "key": "reference seed 0", "epoch": 1, "epochs": 1}
        | {"val_accuracy": 0.9, **counts(0, 2)},
        {"event": "task_done", "key": "reference seed 0", "ok": True, "error": None}
        | {"val_accuracy": 0.97, "train_seconds": 3.0, **counts(1, 1)},
        {"event": "task_done", "key": "broken seed 0", "ok": False, "error": "ValueError: no"}
        | {"val_accuracy": None, "train_seconds": None, **counts(2, 1, 1)},
        {"event": "epoch_done", "key": "mlp seed 0", "epoch": 1, "epochs": 2}
        | {"val_accuracy": 0.9123, **counts(2, 1, 1)},
    ]
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=150)
    with batch_progress(console, "Runs") as on_progress:
        for elapsed, event in enumerate(events):
            on_progress({**event, "elapsed": float(elapsed)})
    shown = ANSI.sub("", screen.getvalue())
    assert "Training 3 runs on 2 Dask workers (dask-local)." in shown
    assert (
        "[1/3 done, 1 running] reference seed 0  val accuracy 97.00% after 3.0 s of training"
        in shown
    )
    assert "[2/3 done, 1 running, 1 failed] broken seed 0  FAILED: ValueError: no" in shown
    last = shown.splitlines()[-1]
    assert re.search(
        r"Runs .* 2/3 1 running, 1 failed mlp seed 0 +epoch 1/2 +val accuracy 91\.23% "
        r"\d:\d\d:\d\d",
        last,
    ), last
    assert "val accuracy 90.00%  0:00" not in shown  # no plain epoch lines on a terminal


def test_exercise_progress_is_rich_on_a_terminal_and_plain_in_a_pipe(monkeypatch, capsys):
    from mnist_lab.cli.exercises import print_progress

    print_progress(3, 8)
    assert capsys.readouterr().out == f"Progress: {'█' * 12}{'░' * 20} 3 of 8 done\n"
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's own switch: this output is a terminal
    print_progress(3, 8)
    shown = ANSI.sub("", capsys.readouterr().out)
    assert shown.startswith("Progress: ━") and shown.rstrip().endswith(" 3 of 8 done")
    assert "░" not in shown


def test_resume_names_the_options_it_cannot_take_as_typed(tmp_path):
    args = ["reference", "--resume", str(tmp_path), "--batch-size", "64", "--validation-split"]
    result = invoke("train", *args, "0.2")
    assert_one_line_error(
        result,
        "--resume continues a run with the options it started with; "
        "drop MODEL, --batch-size, --validation-split.",
    )
