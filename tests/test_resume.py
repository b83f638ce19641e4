"""Interrupted, failed and resumed runs; `mnist-lab runs`; signals stop cleanly, never mid-save."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from filelock import FileLock
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.core import runs
from mnist_lab.core.errors import RunError, TrainingInterrupted
from mnist_lab.training import TrainConfig, interrupts, resume, train

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its SHA-256, to prove that nothing changed."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def stop_at_epoch(epoch: int, error: BaseException):
    """A Keras callback that raises `error` when epoch `epoch` (0-based) begins."""

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            if current == epoch:
                raise error

    return Stop()


def quick_config(out: Path, epochs: int = 3) -> TrainConfig:
    return TrainConfig(model="reference", epochs=epochs, limit=1024, out=str(out), seed=2)


def interrupted_run(out: Path, mnist, epochs: int, stop_at: int) -> Path:
    """The folder of a quick run stopped, as by Ctrl-C, when epoch `stop_at` (0-based) begins."""
    with pytest.raises(TrainingInterrupted):
        train(
            quick_config(out, epochs=epochs),
            dataset=mnist,
            verbose=0,
            callbacks=[stop_at_epoch(stop_at, KeyboardInterrupt())],
        )
    (folder,) = out.iterdir()
    return folder


# --- in-process stops -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, mnist) -> runs.Run:
    """A 3-epoch run stopped (as by Ctrl-C) when its second epoch begins."""
    out = tmp_path_factory.mktemp("runs")
    with pytest.raises(TrainingInterrupted) as caught:
        train(
            quick_config(out),
            dataset=mnist,
            verbose=0,
            callbacks=[stop_at_epoch(1, KeyboardInterrupt())],
        )
    run = runs.Run(Path(caught.value.run_path))
    assert str(caught.value) == (
        f"training stopped after 1 of 3 epochs; {run.path} keeps epoch 1's checkpoint. "
        f"Resume with: mnist-lab train --resume {run.path}"
    )
    return run


def test_an_interrupted_run_keeps_its_last_epoch(interrupted):
    files = sorted(p.name for p in interrupted.path.iterdir())
    assert files == [
        "checkpoint", "config.json", "curves.png", "epochs", "history.json", "state.json",
    ]  # fmt: skip
    assert sorted(p.name for p in (interrupted.path / "checkpoint").iterdir()) == [
        "latest.weights.h5",
        "training_metadata.json",
    ]
    state = interrupted.state
    assert (state["state"], state["epochs_done"], state["epochs"]) == ("interrupted", 1, 3)
    assert [row["epoch"] for row in interrupted.history] == [1]


def test_evaluate_on_an_unfinished_run_says_how_to_finish_it(interrupted):
    if interrupted.state["state"] == "completed":
        pytest.skip("the interrupted run was already resumed")
    result = runner.invoke(app, ["evaluate", str(interrupted.path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {interrupted.path} has no model.keras yet: its training is interrupted after "
        f"1 of 3 epochs; finish it with 'mnist-lab train --resume {interrupted.path}'."
    )


def test_resume_continues_from_the_checkpoint_to_the_end(interrupted, mnist, tmp_path):
    """The resumed run appends epochs 2 and 3 and starts from epoch 1's weights, not anew."""
    first_epoch = interrupted.history[0]
    run = resume(interrupted.path, dataset=mnist, verbose=0)
    assert run.path == interrupted.path
    history = run.history
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[0] == first_epoch
    assert history[1]["accuracy"] > first_epoch["accuracy"]  # it went on learning
    assert run.state["state"] == "completed" and run.state["epochs_done"] == 3
    assert not (run.path / "checkpoint").exists()
    assert run.metrics["epochs"] == 3
    assert run.metrics["train_seconds"] == pytest.approx(sum(r["seconds"] for r in history), 1e-3)
    uninterrupted = train(quick_config(tmp_path), dataset=mnist, verbose=0)
    assert len(uninterrupted.history) == len(history)
    assert abs(uninterrupted.metrics["test_accuracy"] - run.metrics["test_accuracy"]) < 0.05


def test_resuming_a_completed_run_says_so_and_changes_nothing(interrupted, mnist):
    if interrupted.state["state"] != "completed":
        resume(interrupted.path, dataset=mnist, verbose=0)
    before = snapshot(interrupted.path)
    result = runner.invoke(app, ["train", "--resume", str(interrupted.path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        "(3 of 3 epochs, test accuracy "
        + (f"{interrupted.metrics['test_accuracy']:.2%}); nothing to resume.")
    )
    assert snapshot(interrupted.path) == before


def test_a_failing_run_records_why_and_can_be_resumed(tmp_path, mnist):
    with pytest.raises(RuntimeError, match="disk on fire"):
        train(
            quick_config(tmp_path, epochs=2),
            dataset=mnist,
            verbose=0,
            callbacks=[stop_at_epoch(1, RuntimeError("disk on fire"))],
        )
    (folder,) = tmp_path.iterdir()
    state = runs.Run(folder).state
    assert (state["state"], state["epochs_done"]) == ("failed", 1)
    assert state["error"] == "RuntimeError: disk on fire"
    assert (folder / "curves.png").is_file() and (folder / "checkpoint").is_dir()
    run = resume(folder, dataset=mnist, verbose=0)
    assert [row["epoch"] for row in run.history] == [1, 2]
    assert run.state["state"] == "completed"


def test_a_full_disk_mid_run_fails_in_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    """The second epoch's history cannot be written: the run keeps epoch 1 and resumes."""
    from mnist_lab.core import fileio

    real_write = fileio.write_bytes_atomic
    writes = []

    def full_disk_on_the_second_history(target: Path, data: bytes) -> None:
        if Path(target).name == "history.json":
            writes.append(target)
            if len(writes) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real_write(target, data)

    monkeypatch.setattr(fileio, "write_bytes_atomic", full_disk_on_the_second_history)
    out = tmp_path / "runs"
    args = ["train", "reference", "--epochs", "3", "--limit", "1024", "--out", str(out)]
    result = runner.invoke(app, args)
    (folder,) = out.iterdir()
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"Error: Training stopped after 1 of 3 epochs: Cannot write {folder / 'history.json'} "
        "(No space left on device). Once fixed, resume with: mnist-lab train --resume "
        f"{folder}"
    )
    assert runs.Run(folder).state["state"] == "failed"
    assert [row["epoch"] for row in runs.Run(folder).history] == [1]

    monkeypatch.setattr(fileio, "write_bytes_atomic", real_write)
    resumed = runner.invoke(app, ["train", "--resume", str(folder)])
    assert resumed.exit_code == 0, resumed.output
    assert [row["epoch"] for row in runs.Run(folder).history] == [1, 2, 3]


def test_a_damaged_checkpoint_falls_back_to_the_epoch_before(tmp_path, mnist):
    """Keras keeps the previous checkpoint too; the history follows the one restored."""
    folder = interrupted_run(tmp_path, mnist, epochs=3, stop_at=2)
    weights = folder / "checkpoint" / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # as if the laptop died mid-save
    run = resume(folder, dataset=mnist, verbose=0)
    assert [row["epoch"] for row in run.history] == [1, 2, 3]
    assert run.state["state"] == "completed"


def test_a_run_in_training_elsewhere_is_not_resumed(tmp_path, mnist):
    folder = interrupted_run(tmp_path, mnist, epochs=2, stop_at=1)
    with FileLock(folder / ".lock"):  # as a second mnist-lab process would hold it
        before = snapshot(folder)
        with pytest.raises(RunError, match="is being trained by another mnist-lab process"):
            resume(folder, dataset=mnist, verbose=0)
        assert snapshot(folder) == before


def test_a_changed_recipe_refuses_to_resume(tmp_path, mnist):
    folder = interrupted_run(tmp_path, mnist, epochs=2, stop_at=1)
    config = json.loads((folder / "config.json").read_text())
    config["recipe"]["learning_rate"] = 0.5
    (folder / "config.json").write_text(json.dumps(config))
    before = snapshot(folder)
    with pytest.raises(RunError, match="The training recipe of 'reference' changed since"):
        resume(folder, dataset=mnist, verbose=0)
    assert snapshot(folder) == before


# --- signals --------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stop_signals_raise_keyboard_interrupt_but_wait_for_a_save(signum):
    before = {s: signal.getsignal(s) for s in interrupts.STOP_SIGNALS}
    finished_saving = False
    with pytest.raises(KeyboardInterrupt), interrupts.stop_signals(), interrupts.saving():
        os.kill(os.getpid(), signum)
        time.sleep(0.05)  # the handler has run by now, and deferred the stop
        finished_saving = True
    assert finished_saving
    with pytest.raises(KeyboardInterrupt), interrupts.stop_signals():
        os.kill(os.getpid(), signum)
        time.sleep(1)
        pytest.fail("the signal did not stop the block")
    assert {s: signal.getsignal(s) for s in interrupts.STOP_SIGNALS} == before


def wait_for_epochs(folder: Path, epochs: int, process: subprocess.Popen, timeout: float) -> Path:
    """The run folder under `folder` once its state records `epochs` done epochs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for state in folder.glob("*/state.json"):
            try:
                if json.loads(state.read_text())["epochs_done"] >= epochs:
                    return state.parent
            except (json.JSONDecodeError, KeyError):
                pass  # being replaced this instant
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no epoch finished: {process.communicate()}")


def test_ctrl_c_after_the_first_epoch_then_resume_to_the_end(tmp_path):
    """The issue's check: a real `mnist-lab train`, SIGINT after epoch 1, then --resume."""
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "mnist_lab", "train", "reference", "--epochs", "4"]
    command += ["--limit", "6000", "--out", str(out)]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    folder = wait_for_epochs(out, 1, process, timeout=240)
    interrupted_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - interrupted_at < 10, "Ctrl-C took too long to stop the run"
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("Interrupted: training stopped after ")
    assert f"Resume with: mnist-lab train --resume {folder}" in stderr
    assert "Traceback" not in stderr
    state = json.loads((folder / "state.json").read_text())
    assert state["state"] == "interrupted" and state["epochs_done"] in (1, 2)
    assert len(json.loads((folder / "history.json").read_text())) == state["epochs_done"]
    assert (folder / "curves.png").is_file() and (folder / "checkpoint").is_dir()

    resumed = subprocess.run(
        [sys.executable, "-m", "mnist_lab", "train", "--resume", str(folder)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming 'reference' in {folder}: {state['epochs_done']} of 4 epochs" in (
        resumed.stdout
    )
    history = json.loads((folder / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]  # an uninterrupted run's length
    assert json.loads((folder / "state.json").read_text())["state"] == "completed"
    assert (folder / "model.keras").is_file() and (folder / "metrics.json").is_file()


# --- the CLI: mnist-lab runs, train --resume and data verify ----------------------------------


def test_runs_lists_every_run_with_its_state(interrupted, tmp_path):
    out = interrupted.path.parent
    odd = out / "not-a-run"
    odd.mkdir(exist_ok=True)
    result = runner.invoke(app, ["runs", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    listed = {Path(row["run"]).name: row for row in json.loads(result.stdout)}
    assert "not-a-run" not in listed
    row = listed[interrupted.path.name]
    assert row["model"] == "reference" and row["epochs"] == 3
    assert row["state"] in ("interrupted", "completed")
    table = runner.invoke(app, ["runs", "--out", str(out)])
    assert table.exit_code == 0 and interrupted.path.name in table.stdout
    empty = runner.invoke(app, ["runs", "--out", str(tmp_path / "none")])
    assert empty.exit_code == 0
    assert "No runs in" in empty.stdout and "mnist-lab train reference" in empty.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train"], "Give a model to train (see 'mnist-lab list'), or --resume RUN to continue"),
        (["train", "--resume", "{missing}"], "{missing} is not a run folder (no such folder)"),
        (["train", "--resume", "{empty}"], "{empty} is not a run folder (it has no config.json)"),
        (
            ["train", "reference", "--resume", "{run}", "--epochs", "5"],
            "--resume continues a run with the options it started with; drop MODEL, --epochs.",
        ),
        (["runs", "--out", "{file}"], "{file} is a file, not a folder of runs"),
        (["data", "verify", "--data-dir", "{file}"], "The data folder {file} is a file"),
    ],
)
def test_bad_input_to_the_new_commands(interrupted, tmp_path, args, message):
    paths = {
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path),
        "run": str(interrupted.path),
        "file": str(tmp_path / "a-file"),
    }
    (tmp_path / "a-file").write_text("not a folder")
    before = snapshot(interrupted.path)
    result = runner.invoke(app, [arg.format(**paths) for arg in args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: " + message.format(**paths))
    assert snapshot(interrupted.path) == before


def test_data_verify_reports_each_file(tmp_path, mnist):
    from mnist_lab.data import FILES
    from mnist_lab.data.idx import to_idx_bytes

    arrays = [mnist.train.images, mnist.train.labels, mnist.test.images, mnist.test.labels]
    for name, array in zip(FILES, arrays, strict=True):
        (tmp_path / name).write_bytes(to_idx_bytes(array))
    ok = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.count(" ok\n") == 4 and "All four files match the originals." in ok.stdout

    damaged = tmp_path / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(damaged.read_bytes()[:-1])  # truncated by one byte
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    bad = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "  t10k-labels-idx1-ubyte   corrupt\n" in bad.stdout
    assert "  train-labels-idx1-ubyte  missing\n" in bad.stdout
    assert bad.stderr.strip() == (
        "Error: 2 of 4 files are missing or damaged (train-labels-idx1-ubyte missing, "
        "t10k-labels-idx1-ubyte corrupt); run 'mnist-lab data fetch' to fetch them again, "
        "or 'mnist-lab data import PATH' to restore them."
    )
