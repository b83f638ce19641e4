"""Measure the zoo's performance targets and its time-to-accuracy table, and write them into the
course site.

Run with `make bench` (about 50 minutes on a 2-core CPU; `--skip-best` keeps `best`'s runs from
the previous results and takes about 20). In one process it measures:

1. overhead: seconds per epoch of `mnist-lab train reference` against a plain Keras script that
   trains the same model on the same arrays with the same batch size (target: within 5%);
2. `fast` over seeds 0-4 (targets: mean test accuracy >= 99.0%, mean training time <= 0.45 of
   one plain-Keras reference epoch, measured before and after its runs; the aim is 0.33);
3. every other model of the zoo over seeds 0-2 with its own recipe, `best` last (targets: mean
   test accuracy of seeds 0 and 1 >= 99.70%, the aim 99.75%; each run within 15 minutes);
4. the lab's latency for one drawing.

From the same runs it writes the time-to-accuracy table: for every model, the epochs and seconds
until validation accuracy first reached 99.0%, 99.5% and 99.7% (the mean over the seeds that
reached it, and how many did) and the final accuracies. The house rule holds: every threshold is
read from validation accuracy per epoch, and the test set is scored once per run, at its end, by
`train` itself. Results go to docs/results/targets.{json,md} and time_to_accuracy.md, with the
machine and date. The script exits with status 1 and one line per missed target on stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mnist_lab.core.backend import start_tensorflow
from mnist_lab.core.markdown import markdown_table
from mnist_lab.data import load_mnist
from mnist_lab.models.registry import BUILT_IN, create_model, list_models, model_info
from mnist_lab.scale.machine import describe_machine, machine_info
from mnist_lab.scale.scores import time_to_accuracy
from mnist_lab.training import TrainConfig, prepare, train

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
THRESHOLDS = (0.99, 0.995, 0.997)  # validation accuracies of the time-to-accuracy table
SEEDS = (0, 1, 2)  # every model's, for the table
FAST_SEEDS = (0, 1, 2, 3, 4)
BEST_TARGET_SEEDS = (0, 1)
OVERHEAD_EPOCHS = 3
FAST_RATIO, FAST_RATIO_AIM = 0.45, 0.33  # of one plain-Keras reference epoch
BEST_ACCURACY, BEST_ACCURACY_AIM = 0.997, 0.9975
BEST_MINUTES = 15
MISSING = "—"


@dataclass(frozen=True)
class Target:
    """One performance target: what it is, its goal in words, what was measured, and whether
    the measurement meets the goal."""

    what: str
    goal: str
    measured: str
    met: bool


def plain_keras_seconds_per_epoch(data, epochs: int) -> float:
    """The reference trained by a plain Keras script: the floor that mnist-lab is held to, and
    the unit `fast`'s time is measured in."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=128,
        epochs=epochs,
        validation_data=(data.x_val, data.y_val),
        verbose=0,
    )
    return (time.perf_counter() - started) / epochs


def measured_run(model: str, seed: int, dataset, out: str) -> dict:
    """Train one model by its recipe, as `mnist-lab train` does: its validation curve, its
    seconds per epoch and its one test score."""
    run = train(TrainConfig(model=model, seed=seed, out=out), dataset=dataset, verbose=2)
    metrics = run.metrics
    return {
        "model": model,
        "seed": seed,
        "params": metrics["params"],
        "precision": metrics["precision"],
        "epochs": len(run.history),
        "train_seconds": metrics["train_seconds"],
        "epoch_seconds": [row["seconds"] for row in run.history],
        "val_accuracy_per_epoch": [round(row["val_accuracy"], 4) for row in run.history],
        "val_accuracy": metrics["val_accuracy"],
        "test_accuracy": metrics["test_accuracy"],
    }


def lab_latency(run_path: Path, dataset, requests: int = 50) -> dict:
    """Server time of `mnist-lab lab` for one drawing (a test digit as a 280x280 black-on-white
    PNG): prediction, every feature map and the saliency, through the ASGI test client, after
    five warm-up requests. The median and the 90th percentile of `requests` requests, in ms."""
    import base64
    import io

    from PIL import Image
    from starlette.testclient import TestClient

    from mnist_lab.lab import create_app

    picture = io.BytesIO()
    Image.fromarray(255 - dataset.test.images[0]).resize((280, 280)).save(picture, format="PNG")
    body = {
        "run": run_path.name,
        "image": "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode(),
    }
    seconds = []
    with TestClient(create_app([run_path])) as client:
        for attempt in range(5 + requests):
            started = time.perf_counter()
            answer = client.post("/api/predict", json=body)
            if attempt >= 5:
                seconds.append(time.perf_counter() - started)
            answer.raise_for_status()
    seconds.sort()
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p90_ms": round(seconds[int(0.9 * len(seconds))] * 1000, 1),
        "requests": requests,
    }


def zoo_models() -> list[str]:
    """The built-in models, `fast` first (next to its plain-Keras yardstick), `best` last."""
    names = [name for name in list_models() if model_info(name).source == BUILT_IN]
    middle = [name for name in names if name not in ("fast", "best")]
    return ["fast", *middle, "best"]


def seeds_of(model: str) -> tuple[int, ...]:
    return FAST_SEEDS if model == "fast" else SEEDS


def measure(keep: set[str], previous: dict | None) -> dict:
    """Measure everything, writing targets.json after each model so a long run is never lost;
    the models in `keep` take their runs from `previous` results instead."""
    start_tensorflow()
    dataset = load_mnist()
    data = prepare(dataset, TrainConfig(model="reference", batch_size=128))
    out = tempfile.mkdtemp(prefix="mnist-lab-targets-")
    results: dict = {"date": datetime.now().isoformat(timespec="seconds")}
    results["machine"] = machine_info()
    print(f"Machine: {describe_machine(results['machine'])}", flush=True)

    print(f"overhead: plain Keras against `train reference`, {OVERHEAD_EPOCHS} epochs each")
    create_model("reference")  # build once so both sides start warm
    plain = plain_keras_seconds_per_epoch(data, OVERHEAD_EPOCHS)
    config = TrainConfig(model="reference", epochs=OVERHEAD_EPOCHS, out=out)
    ours = train(config, dataset=dataset, verbose=0)
    results["overhead"] = {
        "plain_keras_seconds_per_epoch": round(plain, 2),
        "mnist_lab_seconds_per_epoch": ours.metrics["seconds_per_epoch"],
        "ratio": round(ours.metrics["seconds_per_epoch"] / plain, 3),
    }
    print(f"   {results['overhead']}", flush=True)
    results["lab"] = lab_latency(ours.path, dataset)
    print(f"   lab, one drawing through the reference: {results['lab']}", flush=True)

    results["zoo"] = {}
    for model in zoo_models():
        kept = (previous or {}).get("zoo", {}).get(model)
        if model in keep and kept:
            results["zoo"][model] = {**kept, "measured": kept.get("measured", previous["date"])}
            if model == "fast":  # its yardstick comes with it
                results["plain_keras_epoch"] = previous["plain_keras_epoch"]
            print(f"{model}: kept from {results['zoo'][model]['measured'][:10]}", flush=True)
            write_json(results)  # a kept model belongs in the results as much as a measured one
            continue
        runs = []
        for seed in seeds_of(model):
            runs.append(measured_run(model, seed, dataset, out))
            last = runs[-1]
            print(
                f"{model} seed {seed}: val {last['val_accuracy']:.2%}, "
                f"{last['train_seconds']:.1f} s",
                flush=True,
            )
        results["zoo"][model] = {"runs": runs, "measured": results["date"]}
        if model == "fast":  # its yardstick again, right after it: the machine's speed drifts
            after = plain_keras_seconds_per_epoch(data, OVERHEAD_EPOCHS)
            results["plain_keras_epoch"] = {
                "before_seconds": round(plain, 2),
                "after_seconds": round(after, 2),
                "seconds": round((plain + after) / 2, 3),
            }
            print(f"   plain-Keras reference epoch: {results['plain_keras_epoch']}", flush=True)
        write_json(results)
    return results


def write_json(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "targets.json").write_text(json.dumps(results, indent=2) + "\n")


# --- the targets ------------------------------------------------------------------------------


def runs_of(results: dict, model: str, seeds: tuple[int, ...] | None = None) -> list[dict]:
    runs = results["zoo"].get(model, {}).get("runs", [])
    return [run for run in runs if seeds is None or run["seed"] in seeds]


def seeds_text(runs: list[dict]) -> str:
    seeds = [run["seed"] for run in runs]
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(str(seed) for seed in seeds)


def targets(results: dict) -> list[Target]:
    """Every target with its measurement and verdict."""
    overhead = results["overhead"]
    found = [
        Target(
            "`train reference` against plain Keras, per epoch",
            "within 5%",
            f"{overhead['mnist_lab_seconds_per_epoch']:.2f} s against "
            f"{overhead['plain_keras_seconds_per_epoch']:.2f} s "
            f"({(overhead['ratio'] - 1) * 100:+.1f}%)",
            overhead["ratio"] <= 1.05,
        )
    ]
    fast = runs_of(results, "fast", FAST_SEEDS)
    if fast:
        test = statistics.fmean(run["test_accuracy"] for run in fast)
        val = statistics.fmean(run["val_accuracy"] for run in fast)
        seconds = statistics.fmean(run["train_seconds"] for run in fast)
        epoch = results["plain_keras_epoch"]
        ratio = seconds / epoch["seconds"]
        found += [
            Target(
                f"`fast` test accuracy, mean of {seeds_text(fast)}",
                ">= 99.0%",
                f"{test:.2%} (validation {val:.2%})",
                test >= 0.99,
            ),
            Target(
                "`fast` training time, in plain-Keras reference epochs",
                f"<= {FAST_RATIO:g} (aim {FAST_RATIO_AIM:g})",
                f"{ratio:.2f}: {seconds:.1f} s mean against {epoch['seconds']:.2f} s per epoch "
                f"({epoch['before_seconds']:.2f} s before its runs, "
                f"{epoch['after_seconds']:.2f} s after)",
                ratio <= FAST_RATIO,
            ),
        ]
    best = runs_of(results, "best", BEST_TARGET_SEEDS)
    if best:
        test = statistics.fmean(run["test_accuracy"] for run in best)
        val = statistics.fmean(run["val_accuracy"] for run in best)
        minutes = [run["train_seconds"] / 60 for run in best]
        found += [
            Target(
                f"`best` test accuracy, mean of {seeds_text(best)}",
                f">= {BEST_ACCURACY:.2%} (aim {BEST_ACCURACY_AIM:.2%})",
                f"{test:.2%} (validation {val:.2%})",
                test >= BEST_ACCURACY - 1e-9,
            ),
            Target(
                "`best` training time, each run",
                f"<= {BEST_MINUTES} min",
                ", ".join(f"{m:.1f}" for m in minutes) + " min",
                max(minutes) <= BEST_MINUTES,
            ),
        ]
    if "lab" in results:
        lab = results["lab"]
        found.append(
            Target(
                "`mnist-lab lab`: one drawing through the reference (prediction, feature maps, "
                "saliency)",
                "<= 30 ms median",
                f"{lab['median_ms']:.1f} ms median, {lab['p90_ms']:.1f} ms 90th percentile "
                f"({lab['requests']} requests)",
                lab["median_ms"] <= 30,
            )
        )
    return found


def kept_note(results: dict) -> str:
    kept = sorted(
        f"`{model}` from {entry['measured'][:10]}"
        for model, entry in results["zoo"].items()
        if entry.get("measured", results["date"])[:19] != results["date"][:19]
    )
    return f" (runs kept from an earlier run: {', '.join(kept)})" if kept else ""


def measured_line(results: dict) -> str:
    return (
        f"Measured by `make bench` on {results['date'][:10]}{kept_note(results)}; machine: "
        f"{describe_machine(results['machine'])}."
    )


def targets_markdown(results: dict) -> str:
    """The measured targets as a table for the course site."""
    rows = [
        (t.what, t.goal, t.measured, "met" if t.met else "**missed**") for t in targets(results)
    ]
    return "\n".join(
        [
            markdown_table(["target", "goal", "measured", ""], "llll", rows),
            "`fast` and `best` were chosen on validation accuracy (`tests/perf/choose_fast.py`, "
            "`tests/perf/choose_best.py`); each run's test accuracy is its one score on the "
            "test set, taken at its end.",
            "",
            measured_line(results),
            "",
        ]
    )


# --- the time-to-accuracy table ---------------------------------------------------------------


def reached(run: dict, threshold: float) -> tuple[int, float] | None:
    """The first epoch whose validation accuracy reached `threshold`, and the seconds until it."""
    history = [
        {"epoch": epoch, "val_accuracy": accuracy, "seconds": seconds}
        for epoch, (accuracy, seconds) in enumerate(
            zip(run["val_accuracy_per_epoch"], run["epoch_seconds"], strict=True), start=1
        )
    ]
    return time_to_accuracy(history, threshold)


def reach_cell(runs: list[dict], threshold: float) -> str:
    """'1.7 ep, 8.3 s (3 of 3)': mean epochs and seconds over the seeds that reached it."""
    hits = [hit for hit in (reached(run, threshold) for run in runs) if hit is not None]
    count = f"({len(hits)} of {len(runs)})"
    if not hits:
        return f"{MISSING} {count}"
    epochs = statistics.fmean(epoch for epoch, _ in hits)
    seconds = statistics.fmean(second for _, second in hits)
    return f"{epochs:.1f} ep, {seconds:,.1f} s {count}"


def table_rows(results: dict) -> list[dict]:
    """One row per model: the models that reached 99.0% validation accuracy first, by their mean
    time to it (over the seeds that did), then the others by final validation accuracy."""
    rows = []
    for model, entry in results["zoo"].items():
        runs = entry["runs"]
        hits = [hit for hit in (reached(run, THRESHOLDS[0]) for run in runs) if hit is not None]
        order = (
            not hits,
            statistics.fmean(seconds for _, seconds in hits) if hits else 0.0,
            -statistics.fmean(run["val_accuracy"] for run in runs),
        )
        rows.append({"model": model, "runs": runs, "order": order})
    return sorted(rows, key=lambda row: row["order"])


def table_markdown(results: dict) -> str:
    rows = []
    for row in table_rows(results):
        runs = row["runs"]
        first = runs[0]
        rows.append(
            [
                f"`{row['model']}`",
                f"{first['params']:,}",
                "/".join(sorted({run["precision"] for run in runs})),
                str(first["epochs"]),
                *(reach_cell(runs, threshold) for threshold in THRESHOLDS),
                f"{statistics.fmean(run['train_seconds'] for run in runs):,.1f}",
                f"{statistics.fmean(run['val_accuracy'] for run in runs):.2%}",
                f"{statistics.fmean(run['test_accuracy'] for run in runs):.2%}",
                seeds_text(runs).removeprefix("seeds "),
            ]
        )
    header = [
        "model",
        "params",
        "precision",
        "epochs",
        "to 99.0% val",
        "to 99.5% val",
        "to 99.7% val",
        "training s",
        "final val",
        "final test",
        "seeds",
    ]
    return "\n".join(
        [
            markdown_table(header, "lrlrlllrrrl", rows),
            "Each model trained by its own recipe (`mnist-lab train NAME --seed S`). *To 99.0% "
            "val*: the first epoch whose validation accuracy reached 99.0%, and the training "
            "seconds until its end (validation after each epoch included), averaged over the "
            "seeds that reached it; *(2 of 3)* says how many did, and — that none did within "
            "the recipe's epochs. *Final val* and *final test* are means over the seeds; each "
            "test accuracy is its run's one score on the test set, and ranks nothing. Rows are "
            "ordered by the time to 99.0% (of the seeds that reached it), then, for the models "
            "that never reached it, by final validation accuracy.",
            "",
            measured_line(results),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-best", action="store_true", help="keep best's runs from the previous results"
    )
    parser.add_argument(
        "--keep", default="", help="comma-separated models whose runs are kept from before"
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the .md files from targets.json"
    )
    args = parser.parse_args()
    path = RESULTS / "targets.json"
    previous = json.loads(path.read_text()) if path.is_file() else None
    if previous is not None and "zoo" not in previous:
        previous = None  # results from before the table: nothing to keep
    if args.render:
        if previous is None:
            sys.exit(f"No results to render: run `make bench` first to write {path}.")
        results = previous
    else:
        keep = {name for name in args.keep.split(",") if name}
        if args.skip_best:
            keep.add("best")
        results = measure(keep, previous)  # it writes targets.json after every model
    (RESULTS / "targets.md").write_text(targets_markdown(results))
    (RESULTS / "time_to_accuracy.md").write_text(table_markdown(results))
    print(f"Wrote {RESULTS / 'targets.md'} and {RESULTS / 'time_to_accuracy.md'}")
    missed = [t for t in targets(results) if not t.met]
    for target in missed:
        print(f"missed: {target.what}: {target.measured} (goal {target.goal})", file=sys.stderr)
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
