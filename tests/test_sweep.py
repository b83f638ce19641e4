"""Sweep: a grid of recipe values for one model, chosen on validation, tested for the choice."""

from __future__ import annotations

import json
import re

import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.core import hardware, runs
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale import sweep as sw

runner = CliRunner()
FIELDS = (
    "epochs, batch_size, optimizer, learning_rate, weight_decay, schedule, warmup, "
    "label_smoothing, augmentation.rotation, augmentation.shift, augmentation.zoom, "
    "augmentation.elastic, clean_epochs, "
    "precise_batch_norm, ema_momentum, beta_1, beta_2, precision"
)
EXAMPLE = "(e.g. learning_rate=1e-3,3e-3,1e-2)"


# --- the grid ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        ("learning_rate=1e-3,3e-3, 0.01", "learning_rate", (0.001, 0.003, 0.01)),
        ("weight_decay=0,1e-4", "weight_decay", (0.0, 0.0001)),
        ("batch_size=32,+64", "batch_size", (32, 64)),
        ("epochs=3", "epochs", (3,)),
        ("rotation=0,10", "augmentation.rotation", (0.0, 10.0)),
        ("augmentation.zoom=0.1", "augmentation.zoom", (0.1,)),
        ("optimizer=none,adam,SGD", "optimizer", (None, "adam", "sgd")),
        ("schedule=constant,cosine", "schedule", ("constant", "cosine")),
        ("precise_batch_norm=true,False", "precise_batch_norm", (True, False)),
    ],
)
def test_values_are_typed_by_the_kind_of_their_field(text, field, values):
    parsed_field, parsed = sw.parse_set(text)
    assert (parsed_field, parsed) == (field, values)
    assert [type(v) for v in parsed] == [type(v) for v in values]  # 0.0 not 0, True not 1


def test_the_grid_is_the_cartesian_product_first_field_outermost():
    grid = sw.parse_sets(["learning_rate=1e-3,1e-2", "batch_size=32,64,128"])
    assert grid == {"learning_rate": (0.001, 0.01), "batch_size": (32, 64, 128)}
    assert sw.expand(grid) == [
        {"learning_rate": 0.001, "batch_size": 32},
        {"learning_rate": 0.001, "batch_size": 64},
        {"learning_rate": 0.001, "batch_size": 128},
        {"learning_rate": 0.01, "batch_size": 32},
        {"learning_rate": 0.01, "batch_size": 64},
        {"learning_rate": 0.01, "batch_size": 128},
    ]
    assert sw.expand({"rotation": (0.0,)}) == [{"rotation": 0.0}]
    point = {"learning_rate": 0.001, "augmentation.rotation": 10.0, "optimizer": None}
    assert sw.label(point) == "learning_rate=0.001,rotation=10,optimizer=none"
    assert sw.task_key(point, 3) == "learning_rate=0.001,rotation=10,optimizer=none/seed-3"


def test_a_point_config_carries_its_values_as_overrides_and_as_options():
    values = {"learning_rate": 0.01, "batch_size": 64}
    config = sw.point_config("mlp", values, epochs=2, seed=1, limit=600)
    assert (config.model, config.epochs, config.batch_size, config.seed, config.limit) == (
        "mlp",
        2,
        64,
        1,
        600,
    )
    assert config.overrides == values
    config = sw.point_config("mlp", {"epochs": 3}, epochs=None, seed=0, limit=None)
    assert (config.epochs, config.batch_size, config.overrides) == (3, None, {"epochs": 3})


def test_the_log_axis_is_for_rates_spanning_ten_times():
    from mnist_lab.scale.sweep_plots import uses_log_axis

    assert uses_log_axis("learning_rate", [1e-3, 1e-2])
    assert not uses_log_axis("learning_rate", [1e-3, 5e-3])
    assert not uses_log_axis("weight_decay", [0.0, 1e-4, 1e-3])  # 0 has no logarithm
    assert not uses_log_axis("batch_size", [32, 512])


def test_the_figure_has_one_panel_per_swept_field():
    from mnist_lab.scale.sweep_plots import sweep_figure

    grid = {
        "optimizer": (None, "sgd"),
        "learning_rate": (1e-3, 1e-2),
        "precise_batch_norm": (True,),
    }
    observations = [(point, 0.9 + 0.01 * i) for i, point in enumerate(sw.expand(grid))]
    chosen = observations[-1][0]
    figure = sweep_figure(grid, observations, chosen=chosen, title="t")
    panels = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_xlabel() for axes in panels] == list(grid)
    ticks = [[tick.get_text() for tick in axes.get_xticklabels()] for axes in panels]
    assert ticks == [["none", "sgd"], ["0.001", "0.01"], ["true"]]
    assert panels[1].get_xscale() == "log"


# --- bad input, through the CLI ---------------------------------------------------------------


def invoke(tmp_path, *args: str):
    return runner.invoke(app, ["sweep", *args, "--out", str(tmp_path / "sweeps")])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["mlp", "--set", "learning_rat=1e-3"],
            f"'learning_rat' is not a recipe field. Did you mean 'learning_rate'? "
            f"The fields are: {FIELDS}.",
        ),
        (
            ["mlp", "--set", "rotaton=5"],
            f"'rotaton' is not a recipe field. Did you mean 'rotation'? The fields are: {FIELDS}.",
        ),
        (
            ["mlp", "--set", "seed=1,2"],
            "The '--seed' option is not a recipe field, so it cannot be swept; give it once. "
            f"The fields are: {FIELDS}.",
        ),
        (
            ["mlp", "--set", "batch_size=32,6.4"],
            "The recipe field 'batch_size' must be a whole number. Got '6.4' instead.",
        ),
        (
            ["mlp", "--set", "epochs=two"],
            "The recipe field 'epochs' must be a whole number. Got 'two' instead.",
        ),
        (
            ["mlp", "--set", "learning_rate=fast"],
            "The recipe field 'learning_rate' must be a finite number. Got 'fast' instead.",
        ),
        (
            ["mlp", "--set", "rotation=nan"],
            "The recipe field 'augmentation.rotation' must be a finite number. Got 'nan' instead.",
        ),
        (
            ["mlp", "--set", "optimizer=adam,adma"],
            "The recipe field 'optimizer' must be one of none, adam, adamw, sgd. "
            "Got 'adma' instead.",
        ),
        (
            ["mlp", "--set", "precise_batch_norm=yes"],
            "The recipe field 'precise_batch_norm' must be true or false. Got 'yes' instead.",
        ),
        (
            ["mlp", "--set", "learning_rate="],
            "The '--set' option must give one or more values after '=', separated by commas "
            f"{EXAMPLE}. Got 'learning_rate=' instead.",
        ),
        (
            ["mlp", "--set", "learning_rate=1e-3,,1e-2"],
            "The '--set' option must give one or more values after '=', separated by commas "
            f"{EXAMPLE}. Got 'learning_rate=1e-3,,1e-2' instead.",
        ),
        (
            ["mlp", "--set", "learning_rate"],
            f"The '--set' option must be FIELD=V1,V2,... {EXAMPLE}. Got 'learning_rate' instead.",
        ),
        (
            ["mlp", "--set", "=1,2"],
            f"The '--set' option must be FIELD=V1,V2,... {EXAMPLE}. Got '=1,2' instead.",
        ),
        (
            ["mlp", "--set", "learning_rate=1e-3,0.001"],
            "The '--set' option gives the value 0.001 of 'learning_rate' twice; give each value "
            "once. Got 'learning_rate=1e-3,0.001' instead.",
        ),
        (  # values that print alike would name the same runs
            ["mlp", "--set", "learning_rate=1e-3,1.0000001e-3"],
            "The '--set' option gives the value 0.001 of 'learning_rate' twice; give each value "
            "once. Got 'learning_rate=1e-3,1.0000001e-3' instead.",
        ),
        (
            ["mlp", "--set", "rotation=5", "--set", "augmentation.rotation=10"],
            "The '--set' option sweeps 'augmentation.rotation' twice; give all its values in one "
            "rotation=V1,V2,... Got 'augmentation.rotation=10' again.",
        ),
        (
            ["mlp", "--set", "learning_rate=1e-3,0"],
            "In the point learning_rate=0: the recipe's 'learning_rate' must be a number > 0. "
            "Got 0.0.",
        ),
        (
            ["mlp", "--set", "epochs=1,0"],
            "In the point epochs=0: the 'epochs' option must be an int >= 1. Got 0 instead.",
        ),
        (
            ["mlp", "--set", "batch_size=64,1024", "--limit", "600"],
            "The '--limit' option must be an int >= the batch size (1024) and <= 60000. "
            "Got 600 instead.",
        ),
        (
            ["mlp", "--set", "epochs=1,2", "--epochs", "3"],
            "The '--epochs' option and the grid (which sweeps epochs) both set the epochs; "
            "give one of them.",
        ),
        (
            ["mlp", "--set", "epochs=1", "--workers", "0"],
            f"The '--workers' option must be an int >= 1 and <= {hardware.usable_cores()} (this "
            "machine's logical cores). Got 0 instead.",
        ),
        (
            ["mlp", "--set", "epochs=1", "--repeats", "0"],
            "The '--repeats' option must be an int >= 1. Got 0 instead.",
        ),
        (
            ["mlpp", "--set", "epochs=1"],
            "Unknown model 'mlpp'. Did you mean 'mlp'?",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    result = invoke(tmp_path, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line == f"Error: {message}" or (
        message.startswith("Unknown model") and line.startswith(f"Error: {message} ")
    )
    assert not (tmp_path / "sweeps").exists()


def test_a_sweep_needs_a_set(tmp_path):
    result = invoke(tmp_path, "mlp")
    assert result.exit_code == 2
    assert result.stderr == "Error: Missing option '--set'. See 'root sweep --help'.\n"
    with pytest.raises(ConfigError, match=r"^The 'sets' option must name at least one recipe"):
        sw.parse_sets([])


# --- a real sweep -----------------------------------------------------------------------------


def test_a_sweep_through_the_cli_writes_its_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the rich table on one line per row
    out = tmp_path / "sweeps"
    args = ["mlp", "--set", "learning_rate=1e-3,1e-2", "--repeats", "2", "--epochs", "1"]
    result = runner.invoke(app, ["sweep", *args, "--limit", "600", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (path,) = out.iterdir()
    assert re.fullmatch(r"\d{8}-\d{6}", path.name)

    # sweep.json: the grid, the config, every point ranked on validation, the chosen first.
    board = json.loads((path / "sweep.json").read_text())
    assert set(board) == {"created", "model", "grid", "config", "machine", "chosen", "points"} | {
        "failed"
    }
    assert board["model"] == "mlp"
    assert board["grid"] == {"learning_rate": [0.001, 0.01]}
    assert board["config"] == {
        "model": "mlp",
        "epochs": 1,
        "repeats": 2,
        "seed": 0,
        "limit": 600,
        "executor": "in-process",
        "workers": 1,
    }
    points = board["points"]
    assert sorted(p["values"]["learning_rate"] for p in points) == [0.001, 0.01]
    assert points[0]["val_accuracy_mean"] >= points[1]["val_accuracy_mean"]
    assert board["chosen"] == points[0] and board["failed"] == []
    assert [p["chosen"] for p in points] == [True, False]
    assert points[1]["test_accuracy_mean"] is None  # the house rule: test for the choice only
    assert 0 < points[0]["test_accuracy_mean"] < 1
    for point in points:
        assert point["seeds"] == [0, 1] and point["repeats"] == point["tried"] == 2
        assert len(point["val_accuracies"]) == 2
        assert point["val_accuracy_mean"] == pytest.approx(sum(point["val_accuracies"]) / 2)
        for name, seed in zip(point["runs"], (0, 1), strict=True):
            run = runs.Run(path / name)
            config = run.config
            assert config["overrides"] == point["values"] and config["seed"] == seed
            assert config["recipe"]["learning_rate"] == point["values"]["learning_rate"]
            assert run.metrics["executor"] == "in-process"
            assert run.state["state"] == "completed"

    # sweep.md: the rows in rank order; the test accuracy on the chosen row only.
    markdown = (path / "sweep.md").read_text()
    rows = [line for line in markdown.splitlines() if re.match(r"\| \d \|", line)]
    assert len(rows) == 2
    cells = [row.strip("| ").split(" | ") for row in rows]
    assert [c[1] for c in cells] == [sw.format_value(p["values"]["learning_rate"]) for p in points]
    assert re.fullmatch(r"\d+\.\d\d% ± \d+\.\d\d", cells[0][-1]) and cells[1][-1] == "—"
    assert "| # | learning_rate | Val accuracy | Runs | Train s | Test accuracy |" in markdown
    assert (
        "2 points × 2 repeats (seeds 0 to 1) of mlp, epochs: 1, on 540 of 600 drawn from MNIST's "
        "60,000 training images (60 held out for validation)"
    ) in markdown  # the split as the runs trained on it, never "all 60,000"
    assert sw.TEST_RULE in markdown
    chosen = points[0]
    line = (
        f"Chosen on validation: learning_rate={sw.format_value(chosen['values']['learning_rate'])}"
        f" (val {chosen['val_accuracy_mean']:.2%} ± {chosen['val_accuracy_std'] * 100:.2f}); "
        f"its test accuracy: {chosen['test_accuracy_mean']:.2%} ± "
        f"{chosen['test_accuracy_std'] * 100:.2f}"
    )
    assert f"{line}." in markdown

    # sweep.png: a real picture.
    assert (path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path / "sweep.png")
    assert image.ndim == 3 and image.std() > 0.05
    assert sorted(p.name for p in path.iterdir() if p.is_file()) == [
        "sweep.json",
        "sweep.md",
        "sweep.png",
    ]
    assert len([p for p in path.iterdir() if p.is_dir()]) == 4

    # The CLI: progress lines, the ranked table, the choice with its test accuracy, the folder.
    assert "Training 4 runs in this process, one after another." in result.stdout
    assert "learning_rate=0.01/seed-1  epoch 1/1  val accuracy " in result.stdout
    assert "Sweep of mlp (best validation accuracy first)" in result.stdout
    assert line in result.stdout.splitlines()
    assert f"Saved in {path}/ (sweep.md, sweep.json, sweep.png and each run folder)" in (
        result.stdout
    )
    table = [row for row in result.stdout.splitlines() if re.match(r"│ [12] │", row)]
    assert [row.count("%") for row in table] == [2, 1]  # the test accuracy on the chosen row only


# --- failures and Ctrl-C ----------------------------------------------------------------------


def tiny_dense():
    """Flatten and one softmax layer: trains in a fraction of a second."""
    import keras

    return keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )


@pytest.fixture
def flaky(clean_registry):
    """'sweep-flaky': a tiny model whose second build fails, as a broken model would."""
    builds = []

    def sweep_flaky():
        builds.append(1)
        if len(builds) == 2:
            raise RuntimeError("broken on purpose")
        return tiny_dense()

    clean_registry.register_model("sweep-flaky")(sweep_flaky)
    return builds


def test_a_failed_run_is_listed_and_never_stops_the_others(flaky, mnist, tmp_path):
    result = sw.sweep(
        "sweep-flaky",
        ["learning_rate=1e-3,1e-2,3e-2"],
        epochs=1,
        limit=512,
        out=tmp_path / "sweeps",
        dataset=mnist,
    )
    assert len(flaky) == 3
    assert [row["label"] for row in result.failed] == ["learning_rate=0.01"]
    error = result.failed[0]["error"]
    assert error.startswith("ModelContractError: The model 'sweep-flaky' (defined in ")
    assert error.endswith(") failed to build: RuntimeError: broken on purpose.")
    assert sorted(row["label"] for row in result.points) == [
        "learning_rate=0.001",
        "learning_rate=0.03",
    ]
    assert repr(result).startswith(f"Sweep({str(result.path)!r}, model='sweep-flaky', points=2")
    markdown = (result.path / "sweep.md").read_text()
    assert "3 points × 1 repeat (seed 0) of sweep-flaky" in markdown
    assert f"## Failed runs\n\n- learning_rate=0.01 seed 0: {error}\n" in markdown
    board = json.loads((result.path / "sweep.json").read_text())
    assert board["failed"] == [
        {
            "label": "learning_rate=0.01",
            "values": {"learning_rate": 0.01},
            "seed": 0,
            "error": error,
            "worker": board["failed"][0]["worker"],
        }
    ]


def test_a_sweep_whose_every_run_fails_says_so_in_one_line(clean_registry, mnist, tmp_path):
    def sweep_broken():
        raise RuntimeError("broken on purpose")

    clean_registry.register_model("sweep-broken")(sweep_broken)
    with pytest.raises(sw.SweepError) as caught:
        sw.sweep("sweep-broken", ["epochs=1,2"], limit=512, out=tmp_path / "s", dataset=mnist)
    (path,) = (tmp_path / "s").iterdir()
    first = "the first: epochs=1 seed 0: ModelContractError: The model 'sweep-broken' (defined in "
    assert str(caught.value).startswith(f"Every run of the sweep failed (2 of 2); {first}")
    assert str(caught.value).endswith(
        f") failed to build: RuntimeError: broken on purpose. {path / 'sweep.md'} lists them all."
    )
    assert "- epochs=2 seed 0: ModelContractError: " in (path / "sweep.md").read_text()
    assert not (path / "sweep.png").exists()


def test_ctrl_c_keeps_the_finished_runs(clean_registry, mnist, tmp_path):
    clean_registry.register_model("sweep-dense")(tiny_dense)

    def stop_in_the_second_run(event: dict) -> None:
        if event["event"] == "epoch_done" and event["done"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(sw.SweepInterrupted) as caught:
        sw.sweep(
            "sweep-dense",
            ["learning_rate=1e-3,1e-2"],
            epochs=2,
            limit=512,
            out=tmp_path / "sweeps",
            dataset=mnist,
            on_progress=stop_in_the_second_run,
        )
    (path,) = (tmp_path / "sweeps").iterdir()
    assert str(caught.value) == (
        f"the sweep stopped after 1 of 2 runs; {path} keeps the runs finished so far but no "
        "sweep.md. Run the sweep again to compare the points."
    )
    assert (caught.value.prefix, caught.value.exit_code) == ("Interrupted", 130)
    states = sorted(runs.Run(folder).state["state"] for folder in path.iterdir())
    assert states == ["completed", "interrupted"]
