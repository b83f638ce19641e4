"""Benchmark: one leaderboard of several models trained on the same data, seeds and machine."""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
from datetime import datetime

import pytest
from matplotlib.image import imread

from mnist_lab.core import hardware, runs
from mnist_lab.core.errors import ConfigError, RunError
from mnist_lab.models.compiling import compile_with_defaults
from mnist_lab.scale import benchmark as bench

ROW_KEYS = {
    "name",
    "params",
    "epochs",
    "repeats",
    "train_seconds_mean",
    "train_seconds_std",
    "seconds_per_epoch",
    "val_accuracy_mean",
    "val_accuracy_std",
    "test_accuracy_mean",
    "test_accuracy_std",
    "test_loss_mean",
    "test_loss_std",
    "test_crossentropy_mean",
    "test_crossentropy_std",
    "reached_99",
    "epoch_to_99",
    "seconds_to_99",
    "images_per_second",
    "latency_ms",
    "runs",
    "failed",
    "errors",
}
MACHINE_KEYS = {"cpu", "amx_bf16", "cores", "python", "tensorflow", "keras", "gpus"}


def dense_model():
    """Flatten and one softmax layer: 7,850 parameters."""
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    return compile_with_defaults(model, learning_rate=0.01)  # a few steps must be enough


def conv_model():
    """Four 3x3 filters, pooling and a softmax layer: 6,810 parameters."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    return compile_with_defaults(model, learning_rate=0.01)


@pytest.fixture
def two_models(clean_registry, monkeypatch):
    """A registry holding only the two tiny models, so messages that list it are stable."""
    monkeypatch.setattr(clean_registry, "_MODELS", {})
    clean_registry.register_model("bench-dense")(dense_model)
    clean_registry.register_model("bench-conv")(conv_model)
    return clean_registry


def history(val_accuracy, seconds):
    """A history.json as training writes it, from validation accuracies and epoch seconds."""
    return [
        {
            "epoch": i + 1,
            "accuracy": 0.9,
            "loss": 0.3,
            "val_accuracy": a,
            "val_loss": 0.2,
            "seconds": s,
        }
        for i, (a, s) in enumerate(zip(val_accuracy, seconds, strict=True))
    ]


# --- time to 99% ------------------------------------------------------------------------------


def test_time_to_accuracy_is_the_first_epoch_and_its_cumulative_seconds():
    rows = history([0.95, 0.985, 0.991, 0.993, 0.98], [2.0, 1.5, 1.25, 1.0, 1.0])
    assert bench.time_to_accuracy(rows) == (3, 4.75)
    assert bench.time_to_accuracy(rows, target=0.95) == (1, 2.0)
    assert bench.time_to_accuracy(history([0.98, 0.99], [1.0, 1.0])) == (2, 2.0)  # 99% counts


def test_time_to_accuracy_never_reached_is_none():
    assert bench.time_to_accuracy(history([0.95, 0.989, 0.9899], [1.0, 1.0, 1.0])) is None
    assert bench.time_to_accuracy([]) is None


def test_summarize_runs_averages_over_repeats(tmp_path):
    stamp = datetime(2026, 1, 2, 3, 4, 5)
    made = []
    for seed, (accuracy, loss, seconds, val) in enumerate(
        [(0.98, 0.06, 10.0, [0.97, 0.992]), (0.99, 0.04, 12.0, [0.98, 0.985])]
    ):
        run = runs.create_run(tmp_path, "m", now=stamp)
        run.write(runs.HISTORY, history(val, [seconds / 2, seconds / 2]))
        metrics = {"model": "m", "test_accuracy": accuracy, "test_loss": loss}
        metrics |= {"test_crossentropy": loss / 2}
        metrics |= {"val_accuracy": val[-1]}
        metrics |= {"train_seconds": seconds, "seconds_per_epoch": seconds / 2}
        run.write(runs.METRICS, metrics | {"params": 123, "epochs": 2, "seed": seed})
        made.append(run)

    row = bench.summarize_runs(made)
    assert set(row) == ROW_KEYS
    assert (row["name"], row["params"], row["epochs"], row["repeats"]) == ("m", 123, 2, 2)
    assert row["runs"] == ["m-20260102-030405", "m-20260102-030405-2"]
    assert (row["train_seconds_mean"], row["train_seconds_std"]) == (11.0, 1.0)
    assert row["seconds_per_epoch"] == 5.5
    assert row["test_accuracy_mean"] == pytest.approx(0.985)
    assert row["test_accuracy_std"] == pytest.approx(0.005)
    assert row["test_loss_mean"] == pytest.approx(0.05)
    assert row["test_loss_std"] == pytest.approx(0.01)
    assert row["test_crossentropy_mean"] == pytest.approx(0.025)
    assert row["test_crossentropy_std"] == pytest.approx(0.005)
    assert row["val_accuracy_mean"] == pytest.approx((0.992 + 0.985) / 2)
    assert row["val_accuracy_std"] == pytest.approx(0.0035)
    # Only the first repeat reached 99% (at epoch 2, after 5 + 5 s): the mean is over it alone,
    # and the row says so.
    assert (row["epoch_to_99"], row["seconds_to_99"], row["reached_99"]) == (2, 10.0, 1)


def test_summarize_runs_of_runs_that_predate_the_crossentropy_leaves_it_none(tmp_path):
    """A run from before `test_crossentropy` was recorded (a resumed benchmark may hold one):
    the row has no plain cross-entropy rather than a mean over some repeats."""
    made = []
    for seed, recorded in enumerate([{"test_crossentropy": 0.03}, {}]):
        run = runs.create_run(tmp_path, "m", now=datetime(2026, 1, 2, 3, 4, 5))
        run.write(runs.HISTORY, history([0.97, 0.98], [1.0, 1.0]))
        metrics = {"model": "m", "test_accuracy": 0.98, "test_loss": 0.05, "val_accuracy": 0.98}
        metrics |= {"train_seconds": 2.0, "seconds_per_epoch": 1.0, "params": 1, "epochs": 2}
        run.write(runs.METRICS, metrics | {"seed": seed} | recorded)
        made.append(run)
    row = bench.summarize_runs(made)
    assert (row["test_crossentropy_mean"], row["test_crossentropy_std"]) == (None, None)
    assert bench.summarize_runs(made[:1])["test_crossentropy_mean"] == pytest.approx(0.03)


# --- formatting -------------------------------------------------------------------------------


def leaderboard_row(**changes):
    row = {
        "name": "reference",
        "params": 225_034,
        "epochs": 5,
        "repeats": 3,
        "train_seconds_mean": 47.23,
        "train_seconds_std": 0.31,
        "seconds_per_epoch": 9.446,
        "val_accuracy_mean": 0.98917,
        "val_accuracy_std": 0.00101,
        "test_accuracy_mean": 0.99123,
        "test_accuracy_std": 0.00049,
        "test_loss_mean": 0.53701,
        "test_loss_std": 0.0012,
        "test_crossentropy_mean": 0.02503,
        "test_crossentropy_std": 0.0009,
        "reached_99": 3,
        "epoch_to_99": 3.5,
        "seconds_to_99": 30.04,
        "images_per_second": 12345.6,
        "latency_ms": 1.2345,
        "runs": [],
    }
    return row | changes


def test_format_leaderboard_cells():
    rows = [leaderboard_row(), leaderboard_row(name="a|b", repeats=1, epoch_to_99=None)]
    rows[1] |= {"seconds_to_99": None, "epoch_to_99": None}
    first, second = bench.format_leaderboard(rows)
    assert len(first) == len(bench.LEADERBOARD_COLUMNS)
    assert first == [
        "1",
        "reference",
        "225,034",
        "5",
        "98.92% ± 0.10",
        "99.12% ± 0.05",
        "0.0250 ± 0.0009",  # the plain cross-entropy, not the (smoothed) test loss
        "47.2 ± 0.3",
        "9.4",
        "3.5",
        "30.0",
        "12,346",
        "1.23",
    ]
    # One repeat has no spread to show; a target never reached shows a dash.
    assert second[:2] == ["2", "a|b"]
    assert second[4:11] == [
        "98.92%",
        "99.12%",
        "0.0250",
        "47.2",
        "9.4",
        bench.MISSING,
        bench.MISSING,
    ]


def test_format_leaderboard_says_how_many_repeats_reached_99():
    """A mean over the repeats that reached 99% says how many did: never "2.0" for 2 of 3."""
    (cells,) = bench.format_leaderboard([leaderboard_row(reached_99=2)])
    titles = [title for title, _ in bench.LEADERBOARD_COLUMNS]
    assert cells[titles.index("Epoch to 99% val")] == "3.5 (2 of 3)"
    assert cells[titles.index("s to 99% val")] == "30.0 (2 of 3)"


def test_a_leaderboard_from_before_the_crossentropy_is_still_read():
    """Rows of an old leaderboard.json have a test loss but no plain cross-entropy: the column
    shows a dash, never the test loss under the cross-entropy's name."""
    old = leaderboard_row()
    del old["test_crossentropy_mean"], old["test_crossentropy_std"]
    (cells,) = bench.format_leaderboard([old])
    titles = [title for title, _ in bench.LEADERBOARD_COLUMNS]
    assert "Test loss" not in titles
    assert cells[titles.index("Test cross-entropy")] == bench.MISSING
    assert cells[titles.index("Test accuracy")] == "99.12% ± 0.05"


def test_describe_machine():
    machine = {"cpu": "Some CPU", "cores": 2, "python": "3.12.3", "tensorflow": "2.21.0"}
    machine |= {"keras": "3.13.0", "gpus": []}
    assert bench.describe_machine(machine) == (
        "Some CPU, 2 logical cores, no GPU; Python 3.12.3, TensorFlow 2.21.0, Keras 3.13.0"
    )
    assert "cores, GPU A, GPU B;" in bench.describe_machine(machine | {"gpus": ["GPU A", "GPU B"]})
    assert bench.describe_machine(machine | {"amx_bf16": True}).startswith(
        "Some CPU with AMX-BF16, 2 logical cores"
    )
    assert bench.describe_machine(machine | {"amx_bf16": False}).startswith("Some CPU without AMX,")


def test_machine_info_asks_the_hardware_module(monkeypatch):
    """The cores recorded are those this process may use (a CPU limit makes them fewer than the
    machine's), and the CPU is named as core.hardware names it."""
    from mnist_lab.scale.machine import machine_info

    monkeypatch.setattr(hardware, "usable_cores", lambda: 3)
    monkeypatch.setattr(hardware, "cpu_model", lambda: "Some CPU")
    monkeypatch.setattr(hardware, "cpu_has_amx_bf16", lambda: True)
    monkeypatch.setattr(hardware, "gpu_names", lambda: ["GPU A"])
    machine = machine_info()
    assert set(machine) == MACHINE_KEYS
    assert (machine["cores"], machine["cpu"], machine["amx_bf16"]) == (3, "Some CPU", True)
    assert machine["gpus"] == ["GPU A"]
    assert bench.describe_machine(machine).startswith(
        "Some CPU with AMX-BF16, 3 logical cores, GPU A;"
    )


# --- options and folders ----------------------------------------------------------------------


@pytest.mark.parametrize("repeats", [0, -1, True, 1.5, None])
def test_repeats_must_be_an_int_of_at_least_one(repeats, tmp_path):
    with pytest.raises(ConfigError) as caught:
        bench.benchmark(["reference"], repeats=repeats, out=tmp_path / "b")
    assert (
        str(caught.value) == f"The 'repeats' option must be an int >= 1. Got {repeats!r} instead."
    )
    assert not (tmp_path / "b").exists()


def test_patterns_that_match_nothing_are_named(two_models, tmp_path):
    listing = "Registered models: bench-conv, bench-dense (see 'mnist-lab list')."
    with pytest.raises(bench.BenchmarkError) as caught:
        bench.benchmark(["nothing-*"], out=tmp_path / "b")
    assert str(caught.value) == f"No model matches the pattern 'nothing-*'. {listing}"
    with pytest.raises(bench.BenchmarkError) as caught:
        bench.benchmark(["bench-*", "bench-dnse", "zz"], out=tmp_path / "b")
    assert str(caught.value) == (
        f"No model matches the patterns 'bench-dnse', 'zz'. Did you mean 'bench-dense'? {listing}"
    )
    with pytest.raises(bench.BenchmarkError) as caught:
        bench.benchmark([], out=tmp_path / "b")
    assert str(caught.value) == f"Name at least one model or pattern to benchmark. {listing}"
    assert not (tmp_path / "b").exists()
    assert bench.resolve_models(["bench-*", "bench-conv"]) == ["bench-conv", "bench-dense"]
    assert bench.resolve_models("bench-dense") == ["bench-dense"]


def test_benchmarks_started_in_the_same_second_get_their_own_folders(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = bench.create_folder(tmp_path / "benchmarks", now)
    (first / "leaderboard.json").write_text("{}")
    second = bench.create_folder(tmp_path / "benchmarks", now)
    third = bench.create_folder(tmp_path / "benchmarks", now)
    assert [first.name, second.name, third.name] == [
        "20260102-030405",
        "20260102-030405-2",
        "20260102-030405-3",
    ]
    assert (first / "leaderboard.json").read_text() == "{}"
    assert not any(second.iterdir())


def test_a_benchmark_folder_in_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(
        RunError,
        match=r"^Cannot create a benchmark folder in .*/file: it is a file; choose a folder",
    ):
        bench.create_folder(blocker)
    assert blocker.read_text() == "not a folder"


# --- a real benchmark -------------------------------------------------------------------------


def test_benchmark_of_two_models_writes_a_ranked_leaderboard(two_models, mnist, tmp_path):
    events = []
    result = bench.benchmark(
        ["bench-*"],
        epochs=2,
        repeats=2,
        seed=3,
        limit=512,
        out=tmp_path / "benchmarks",
        dataset=mnist,
        on_progress=events.append,
    )
    path = result.path
    assert path.parent == tmp_path / "benchmarks"
    assert re.fullmatch(r"\d{8}-\d{6}", path.name)
    files = sorted(p.name for p in path.iterdir() if p.is_file())
    assert files == [
        "accuracy_vs_time.png",
        "curves.png",
        "leaderboard.json",
        "leaderboard.md",
        "plan.json",
    ]

    # leaderboard.json: the documented keys, two rows, best validation accuracy first.
    board = json.loads((path / "leaderboard.json").read_text())
    assert set(board) == {"created", "machine", "executor", "config", "models"}
    assert board["executor"] == {"name": "in-process", "workers": 1}
    assert datetime.fromisoformat(board["created"]).strftime("%Y%m%d-%H%M%S") == path.name
    assert board["config"] == {
        "patterns": ["bench-*"],
        "epochs": 2,
        "repeats": 2,
        "seed": 3,
        "limit": 512,
    }
    assert set(board["machine"]) == MACHINE_KEYS
    assert board["machine"]["cores"] == hardware.usable_cores()
    assert board["machine"]["keras"].startswith("3.") and board["machine"]["cpu"]
    assert isinstance(board["machine"]["gpus"], list)
    rows = board["models"]
    assert rows == list(result.rows)
    assert [set(row) for row in rows] == [ROW_KEYS, ROW_KEYS]
    assert {row["name"] for row in rows} == {"bench-dense", "bench-conv"}
    assert rows[0]["val_accuracy_mean"] >= rows[1]["val_accuracy_mean"]

    for row in rows:
        assert row["params"] == {"bench-dense": 7_850, "bench-conv": 6_810}[row["name"]]
        assert (row["epochs"], row["repeats"]) == (2, 2)
        assert 0.5 < row["test_accuracy_mean"] < 1 and 0 < row["test_loss_mean"] < 3
        keys = ("train_seconds_std", "test_accuracy_std", "test_loss_std", "test_crossentropy_std")
        for key in keys:
            assert row[key] >= 0
        assert row["images_per_second"] > 0 and row["latency_ms"] > 0
        # Each repeat's run folder is inside the benchmark, trained with seed + repeat.
        assert len(row["runs"]) == 2
        model_runs = [runs.Run(path / name) for name in row["runs"]]
        assert all(name.startswith(row["name"] + "-") for name in row["runs"])
        assert [run.config["seed"] for run in model_runs] == [3, 4]
        metrics = [run.metrics for run in model_runs]
        assert [m["train_size"] + m["validation_size"] for m in metrics] == [512, 512]
        assert row["test_accuracy_mean"] == pytest.approx(
            statistics.fmean(m["test_accuracy"] for m in metrics)
        )
        assert row["val_accuracy_mean"] == pytest.approx(
            statistics.fmean(m["val_accuracy"] for m in metrics)
        )
        assert row["test_crossentropy_mean"] == pytest.approx(
            statistics.fmean(m["test_crossentropy"] for m in metrics)
        )
        assert row["train_seconds_mean"] == pytest.approx(
            statistics.fmean(m["train_seconds"] for m in metrics), abs=1e-3
        )
        assert math.isclose(
            row["seconds_per_epoch"], row["train_seconds_mean"] / 2, rel_tol=0.02, abs_tol=0.002
        )
        reached = [bench.time_to_accuracy(run.history) for run in model_runs]
        assert row["reached_99"] == sum(hit is not None for hit in reached)
        if not any(reached):  # tiny models on 512 images: 99% is out of reach
            assert row["epoch_to_99"] is None and row["seconds_to_99"] is None

    # leaderboard.md: the same rows, human-formatted, and the machine.
    markdown = (path / "leaderboard.md").read_text()
    header = "| " + " | ".join(title for title, _ in bench.LEADERBOARD_COLUMNS) + " |"
    assert header in markdown
    for cells in bench.format_leaderboard(rows):
        assert "| " + " | ".join(cells) + " |" in markdown
    assert f"Machine: {bench.describe_machine(board['machine'])}." in markdown
    assert bench.CROSSENTROPY_NOTE in markdown
    # The caption says what the runs trained on, from their own split: never "all 60,000".
    splits = [
        json.loads((path / name / "metrics.json").read_text())
        for row in rows
        for name in row["runs"]
    ]
    assert all(m["train_size"] + m["validation_size"] == 512 for m in splits)

    def span(key: str) -> str:
        low, high = min(m[key] for m in splits), max(m[key] for m in splits)
        return f"{low:,}" if low == high else f"{low:,} to {high:,}"

    assert (
        f"deviation of 2 repeats (seeds 3 to 4), epochs: 2, on {span('train_size')} of 512 "
        f"drawn from MNIST's 60,000 training images ({span('validation_size')} held out for "
        "validation)"
    ) in markdown
    pattern = r"\| 1 \| bench-\w+ \| [\d,]+ \| 2 \| \d+\.\d\d% ± \d+\.\d\d \| \d+\.\d\d% ± "
    assert re.search(pattern, markdown)

    for figure in ("curves.png", "accuracy_vs_time.png"):
        image = imread(path / figure)
        assert image.ndim == 3 and image.std() > 0.05, figure

    # Progress: each epoch of each run, with its validation accuracy...
    epochs_done = [e for e in events if e["event"] == "epoch_done"]
    assert [(e["key"], e["epoch"], e["epochs"]) for e in epochs_done] == [
        (f"{name} seed {seed}", epoch, 2)
        for name in ("bench-conv", "bench-dense")
        for seed in (3, 4)
        for epoch in (1, 2)
    ]
    assert all(0 <= e["val_accuracy"] <= 1 for e in epochs_done)
    # ...each run in order, in this process, then each model's timings; elapsed never goes back.
    elapsed = [e["elapsed"] for e in events]
    assert elapsed == sorted(elapsed)
    events = [e for e in events if e["event"] != "epoch_done"]
    seen = [(e["event"], e.get("key") or e.get("name")) for e in events]
    keys = ["bench-conv seed 3", "bench-conv seed 4", "bench-dense seed 3", "bench-dense seed 4"]
    assert seen == [
        ("start", None),
        *[(kind, key) for key in keys for kind in ("task_start", "task_done")],
        ("speed", "bench-conv"),
        ("speed", "bench-dense"),
        ("done", None),
    ]
    start = events[0]
    assert start["models"] == ["bench-conv", "bench-dense"] and start["repeats"] == 2
    assert (start["executor"], start["workers"], start["total"]) == ("in-process", 1, 4)
    finished = [e for e in events if e["event"] == "task_done"]
    assert [(e["done"], e["running"], e["failed"]) for e in finished] == [
        (1, 0, 0),
        (2, 0, 0),
        (3, 0, 0),
        (4, 0, 0),
    ]
    assert [e["running"] for e in events if e["event"] == "task_start"] == [1, 1, 1, 1]
    assert finished[0]["run"] in {name for row in rows for name in row["runs"]}
    assert all(e["ok"] and e["error"] is None for e in finished)
    assert events[0]["path"] == events[-1]["path"] == str(path)
    # Every run records where it trained.
    for row in rows:
        for name in row["runs"]:
            metrics = runs.Run(path / name).metrics
            assert metrics["executor"] == "in-process"
            assert metrics["worker"].startswith("in-process@")


def test_importing_the_benchmark_module_does_not_import_tensorflow():
    code = (
        "import sys, mnist_lab.scale.benchmark\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_interrupted_benchmark_keeps_the_finished_runs_and_resumes(two_models, mnist, tmp_path):
    """Ctrl-C in the second model: the first model's run stays; --resume trains only the rest."""

    def stop_in_the_second_model(event: dict) -> None:
        if event["event"] == "epoch_done" and event["key"].startswith("bench-dense"):
            raise KeyboardInterrupt

    with pytest.raises(bench.BenchmarkInterrupted) as caught:
        bench.benchmark(
            ["bench-dense", "bench-conv"],
            epochs=2,
            limit=512,
            out=tmp_path / "benchmarks",
            dataset=mnist,
            on_progress=stop_in_the_second_model,
        )
    (path,) = (tmp_path / "benchmarks").iterdir()
    assert str(caught.value) == (
        f"the benchmark stopped with 1 of 2 runs finished; {path} keeps them. "
        f"Continue with: mnist-lab benchmark --resume {path}"
    )
    assert (caught.value.prefix, caught.value.exit_code) == ("Interrupted", 130)

    def states():
        return {
            folder.name.rsplit("-", 2)[0]: json.loads((folder / "state.json").read_text())
            for folder in path.iterdir()
            if folder.is_dir()
        }

    before = states()
    assert {name: state["state"] for name, state in before.items()} == {
        "bench-conv": "completed",
        "bench-dense": "interrupted",
    }  # names sorted
    assert before["bench-dense"]["epochs_done"] == 1
    (conv_run,) = path.glob("bench-conv-*")
    conv_metrics = (conv_run / "metrics.json").read_bytes()
    assert not (path / "leaderboard.json").exists()

    events = []
    result = bench.resume_benchmark(path, dataset=mnist, on_progress=events.append)
    assert result.path == path
    started = [e["key"] for e in events if e["event"] == "task_start"]
    assert started == ["bench-dense seed 0"]  # only what was missing
    epochs = [e["epoch"] for e in events if e["event"] == "epoch_done"]
    assert epochs == [2]  # continued from its last completed epoch
    assert (conv_run / "metrics.json").read_bytes() == conv_metrics  # the finished run untouched
    assert {name: state["state"] for name, state in states().items()} == {
        "bench-conv": "completed",
        "bench-dense": "completed",
    }
    board = json.loads((path / "leaderboard.json").read_text())
    assert sorted(row["name"] for row in board["models"]) == ["bench-conv", "bench-dense"]
    assert all(row["epochs"] == 2 and row["failed"] == 0 for row in board["models"])

    # Once complete, resuming trains nothing and writes the same leaderboard again.
    events.clear()
    again = bench.resume_benchmark(path, dataset=mnist, on_progress=events.append)
    assert [e for e in events if e["event"] == "task_start"] == []
    assert [row["runs"] for row in again.rows] == [row["runs"] for row in result.rows]


def test_resume_needs_a_benchmark_folder(tmp_path):
    with pytest.raises(bench.BenchmarkError, match=r"^.*/nowhere is not a benchmark folder"):
        bench.resume_benchmark(tmp_path / "nowhere")
    with pytest.raises(
        bench.BenchmarkError,
        match=r"is not a benchmark folder that can be resumed \(it has no plan.json\); start a new",
    ):
        bench.resume_benchmark(tmp_path)


def test_a_broken_model_is_reported_in_the_leaderboard_and_never_stops_the_others(
    two_models, mnist, tmp_path
):
    def broken():
        raise RuntimeError("this model is broken on purpose")

    two_models.register_model("bench-broken")(broken)
    result = bench.benchmark(
        ["bench-*"], epochs=1, limit=512, out=tmp_path / "benchmarks", dataset=mnist
    )
    names = [row["name"] for row in result.rows]
    assert sorted(names[:2]) == ["bench-conv", "bench-dense"] and names[2] == "bench-broken"
    broken_row = result.rows[-1]
    assert broken_row["name"] == "bench-broken" and broken_row["val_accuracy_mean"] is None
    assert broken_row["failed"] == 1 and broken_row["runs"] == []
    assert "this model is broken on purpose" in broken_row["errors"][0]
    assert all(row["failed"] == 0 and len(row["runs"]) == 1 for row in result.rows[:2])
    cells = bench.format_leaderboard(result.rows)[-1]
    assert cells[:5] == ["3", "bench-broken", "—", "—", "failed (1 of 1 runs)"]
    markdown = (result.path / "leaderboard.md").read_text()
    assert "Failed runs:\n\n- bench-broken: 1 run failed: " in markdown
