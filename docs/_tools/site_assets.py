"""The course site's figures, tables and numbers, made by running the real code.

`make docs-assets` runs `python docs/_tools/site_assets.py`, which writes into
docs/assets/generated/:

- from the data: a grid of sample digits, the class distribution and what `normalize` does to
  the pixels, with a table of images per digit;
- from one benchmark of the zoo (`BENCHMARK_MODELS`, each with its own recipe): the
  leaderboard, its curves and its accuracy-against-time plot; its `reference` run gives the
  training curves, and `evaluate_run` on that run gives the confusion matrix, the most
  confident mistakes and the per-digit table; `mnist-lab inspect`'s library on that run gives
  the filters, the feature maps of test digit 0 and the saliency of the most confident mistake
  (chapter 8, "Inside the CNN");
- facts.json, the numbers the pages quote (`{{ fact NAME }}` in the markdown, see docs/hooks.py),
  and provenance.json/.md, the command, date and machine that produced all of it.

The benchmark is the expensive part (several minutes), so its outputs are committed and the
site build only reads them. Tables that are cheap to compute (the zoo, the reference's layers,
the CLI) are made at build time instead, by `docs/_tools/site_tables.py`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table

OUT = Path("docs/assets/generated")
COMMAND = "make docs-assets"
MODULE_COMMAND = "python docs/_tools/site_assets.py"
# Every built-in model but `best`, which trains for minutes where these take seconds (its time is
# in docs/results/targets.md, from `make bench`).
BENCHMARK_MODELS = (
    "mlp", "reference", "reference-dropout", "lenet5", "bn-cnn", "fast", "keras-convnet",
)  # fmt: skip
SAMPLES_PER_DIGIT = 12
SEED = 0

SAMPLES_PNG, DISTRIBUTION_PNG, PIXELS_PNG, COUNTS_MD = (
    "samples.png",
    "class_distribution.png",
    "pixels.png",
    "dataset_counts.md",
)
CURVES_PNG, CONFUSION_PNG, MISTAKES_PNG, PER_CLASS_MD = (
    "reference_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    "per_class.md",
)
BENCH_CURVES_PNG, BENCH_TIME_PNG, LEADERBOARD_MD, LEADERBOARD_JSON = (
    "benchmark_curves.png",
    "accuracy_vs_time.png",
    "leaderboard.md",
    "leaderboard.json",
)
INSIDE_FILTERS_PNG, INSIDE_MAPS_PNG, INSIDE_SALIENCY_PNG = (
    "inside_filters.png",
    "inside_feature_maps.png",
    "inside_saliency.png",
)
INSIDE_DIGIT = 0  # the test digit whose feature maps chapter 8 shows
FACTS_JSON, PROVENANCE_JSON, PROVENANCE_MD = "facts.json", "provenance.json", "provenance.md"


def _write_text(path: Path, text: str) -> Path:
    write_bytes_atomic(path, text.encode("utf-8"))
    return path


def _percent(value: float) -> str:
    return f"{value:.2%}"


# --- the data ---------------------------------------------------------------------------------


def samples_figure(images: np.ndarray, labels: np.ndarray, per_digit: int = SAMPLES_PER_DIGIT):
    """One row per digit of its first `per_digit` training images: how varied handwriting is."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(per_digit * 0.6, 10 * 0.62), layout="constrained")
    grid = figure.subplots(10, per_digit, gridspec_kw={"wspace": 0.02, "hspace": 0.02})
    for digit in range(10):
        picks = np.flatnonzero(labels == digit)[:per_digit]
        for column, axes in enumerate(grid[digit]):
            axes.imshow(images[picks[column]], cmap="gray", vmin=0, vmax=255)
            axes.set_xticks([])
            axes.set_yticks([])
            for spine in axes.spines.values():
                spine.set_visible(False)
        grid[digit][0].set_ylabel(str(digit), rotation=0, labelpad=12, fontsize=12, va="center")
    figure.suptitle(f"The first {per_digit} training images of each digit")
    return figure


def distribution_figure(train_counts: np.ndarray, test_counts: np.ndarray):
    """Images per digit in both splits, side by side: MNIST is nearly, not exactly, balanced."""
    from matplotlib.figure import Figure

    digits = np.arange(10)
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    for axes, counts, name in zip(
        figure.subplots(1, 2), (train_counts, test_counts), ("training", "test"), strict=True
    ):
        bars = axes.bar(digits, counts, color="#3f6fb5")
        axes.bar_label(bars, fontsize=7, padding=2)
        axes.axhline(counts.mean(), color="black", linestyle="--", linewidth=1, label="mean")
        axes.set_xticks(digits)
        axes.set_xlabel("digit")
        axes.set_ylabel("images")
        axes.set_title(f"{name} set: {counts.sum():,} images")
        axes.margins(y=0.12)
        axes.legend(loc="lower right")
    return figure


def pixels_figure(image: np.ndarray, label: int, all_pixels: np.ndarray):
    """One digit before and after `normalize`, and the histogram of every training pixel."""
    from matplotlib.figure import Figure

    from mnist_lab.data.preprocess import normalize

    scaled = normalize(image[np.newaxis])[0, ..., 0]
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    raw_axes, scaled_axes, histogram = figure.subplots(1, 3)
    for axes, picture, vmax, title in (
        (raw_axes, image, 255, f"a {label} as stored: uint8, 0 to 255"),
        (scaled_axes, scaled, 1.0, "after normalize: float32, 0.0 to 1.0"),
    ):
        shown = axes.imshow(picture, cmap="gray", vmin=0, vmax=vmax)
        figure.colorbar(shown, ax=axes, shrink=0.85)
        axes.set_title(title, fontsize=10)
        axes.set_xticks([0, 27])
        axes.set_yticks([0, 27])
    histogram.hist(all_pixels, bins=64, range=(0, 256), color="#3f6fb5", log=True)
    histogram.set_title("every training pixel (log scale)", fontsize=10)
    histogram.set_xlabel("pixel value")
    histogram.set_ylabel("pixels")
    return figure


def dataset_assets(dataset: Any, out: Path) -> dict[str, str]:
    """Write the data's figures and table into `out`; return the facts the pages quote."""
    from mnist_lab.evaluation.plots import save_figure

    (x_train, y_train), (x_test, y_test) = dataset
    train_counts = np.bincount(y_train, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    save_figure(samples_figure(x_train, y_train), out / SAMPLES_PNG)
    save_figure(distribution_figure(train_counts, test_counts), out / DISTRIBUTION_PNG)
    save_figure(pixels_figure(x_train[0], int(y_train[0]), x_train.ravel()), out / PIXELS_PNG)
    _write_text(out / COUNTS_MD, counts_table(train_counts, test_counts))

    most, least = int(train_counts.argmax()), int(train_counts.argmin())
    return {
        "dataset.train_images": f"{len(y_train):,}",
        "dataset.test_images": f"{len(y_test):,}",
        "dataset.most_common_digit": str(most),
        "dataset.most_common_count": f"{train_counts[most]:,}",
        "dataset.least_common_digit": str(least),
        "dataset.least_common_count": f"{train_counts[least]:,}",
        "dataset.zero_pixels": _percent(float(np.mean(x_train == 0))),
        "dataset.pixel_mean": f"{x_train.mean():.1f}",
        "dataset.pixel_std": f"{x_train.std():.1f}",
        "dataset.first_label": str(int(y_train[0])),
    }


def counts_table(train_counts: np.ndarray, test_counts: np.ndarray) -> str:
    """Images per digit in each split, with each digit's share of its split."""
    rows = [
        [
            str(digit),
            f"{train_counts[digit]:,}",
            _percent(train_counts[digit] / train_counts.sum()),
            f"{test_counts[digit]:,}",
            _percent(test_counts[digit] / test_counts.sum()),
        ]
        for digit in range(10)
    ]
    rows.append(["all", f"{train_counts.sum():,}", "100.00%", f"{test_counts.sum():,}", "100.00%"])
    header = ["digit", "training images", "share", "test images", "share"]
    return markdown_table(header, "lrrrr", rows)


# --- the benchmark and its reference run --------------------------------------------------------


def per_class_table(per_class: dict[str, dict[str, float]]) -> str:
    """Precision, recall and test images of each digit, from evaluate_run's per_class.json."""
    rows = [
        [
            digit,
            str(metrics["support"]),
            _percent(metrics["precision"]),
            _percent(metrics["recall"]),
            f"{metrics['f1']:.4f}",
        ]
        for digit, metrics in per_class.items()
    ]
    return markdown_table(["digit", "test images", "precision", "recall", "F1"], "lrrrr", rows)


def leaderboard_snippet(markdown: str) -> str:
    """The benchmark's leaderboard.md without its title, which names a temporary folder."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip() + "\n"


def _reference_facts(metrics: dict[str, Any], history: list[dict], report: dict) -> dict[str, str]:
    last = history[-1]
    best_loss = min(history, key=lambda row: row["val_loss"])
    per_class = report["per_class"]
    recall = {digit: values["recall"] for digit, values in per_class.items()}
    worst, best = min(recall, key=recall.get), max(recall, key=recall.get)
    true, predicted, count = report["most_confused"][0]
    facts = {
        "reference.test_accuracy": _percent(metrics["test_accuracy"]),
        "reference.test_loss": f"{metrics['test_loss']:.4f}",
        "reference.epochs": str(metrics["epochs"]),
        "reference.train_seconds": f"{metrics['train_seconds']:.1f}",
        "reference.seconds_per_epoch": f"{metrics['seconds_per_epoch']:.1f}",
        "reference.train_size": f"{metrics['train_size']:,}",
        "reference.validation_size": f"{metrics['validation_size']:,}",
        "reference.first_accuracy": _percent(history[0]["accuracy"]),
        "reference.first_val_accuracy": _percent(history[0]["val_accuracy"]),
        "reference.best_val_loss": f"{best_loss['val_loss']:.4f}",
        "reference.best_val_loss_epoch": str(best_loss["epoch"]),
        "reference.final_accuracy": _percent(last["accuracy"]),
        "reference.final_val_accuracy": _percent(last["val_accuracy"]),
        "reference.final_loss": f"{last['loss']:.4f}",
        "reference.final_val_loss": f"{last['val_loss']:.4f}",
        "reference.errors": f"{report['errors']:,}",
        "reference.confused_true": str(true),
        "reference.confused_predicted": str(predicted),
        "reference.confused_count": str(count),
        "reference.worst_digit": worst,
        "reference.worst_recall": _percent(recall[worst]),
        "reference.best_digit": best,
        "reference.best_recall": _percent(recall[best]),
    }
    if "val_accuracy" in metrics:  # the saved model's validation accuracy (newer runs record it)
        facts["reference.val_accuracy"] = _percent(metrics["val_accuracy"])
    return facts


def _leaderboard_facts(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The leaderboard's numbers the pages quote; `rows` are in the benchmark's order.

    The benchmark ranks by validation accuracy (leaderboards from before it recorded one, by
    test accuracy), so "top" is the first row; each row's test accuracy is quoted beside it.
    """
    facts = {
        "bench.models": ", ".join(f"`{row['name']}`" for row in rows),
        "bench.count": str(len(rows)),
        "bench.top": rows[0]["name"],
        "bench.top_accuracy": _percent(rows[0]["test_accuracy_mean"]),
    }
    reached = [f"`{row['name']}`" for row in rows if row["epoch_to_99"] is not None]
    facts["bench.reached_99"] = ", ".join(reached) or "none of them"
    facts["bench.bottom"] = rows[-1]["name"]
    facts["bench.bottom_accuracy"] = _percent(rows[-1]["test_accuracy_mean"])
    fastest = min(rows, key=lambda row: row["train_seconds_mean"])
    facts["bench.fastest"] = fastest["name"]
    facts["bench.fastest_seconds"] = f"{fastest['train_seconds_mean']:.1f}"
    if "val_accuracy_mean" in rows[0]:
        facts["bench.top_val_accuracy"] = _percent(rows[0]["val_accuracy_mean"])
    for row in rows:
        prefix = f"bench.{row['name']}"
        if "val_accuracy_mean" in row:
            facts[f"{prefix}.val_accuracy"] = _percent(row["val_accuracy_mean"])
        facts[f"{prefix}.test_accuracy"] = _percent(row["test_accuracy_mean"])
        facts[f"{prefix}.train_seconds"] = f"{row['train_seconds_mean']:.1f}"
        facts[f"{prefix}.params"] = f"{row['params']:,}"
        facts[f"{prefix}.epochs"] = str(row["epochs"])
    return facts


def benchmark_assets(
    dataset: Any, out: Path, work: Path, models: Sequence[str] = BENCHMARK_MODELS
) -> tuple[dict[str, str], dict[str, Any]]:
    """Benchmark `models`, evaluate the reference run; write figures and tables into `out`.

    Returns the facts the pages quote and the machine the benchmark measured.
    """
    from mnist_lab.core import runs
    from mnist_lab.evaluation import reports
    from mnist_lab.scale.benchmark import ACCURACY_VS_TIME, CURVES, LEADERBOARD_MD, benchmark

    def progress(event: dict[str, Any]) -> None:
        if event["event"] == "task_done" and event["ok"]:
            print(
                f"  {event['key']}: {event['test_accuracy']:.2%} in {event['train_seconds']:.1f} s"
                f" ({event['elapsed']:.0f} s so far)",
                flush=True,
            )

    result = benchmark(list(models), seed=SEED, out=work, dataset=dataset, on_progress=progress)
    shutil.copyfile(result.path / CURVES, out / BENCH_CURVES_PNG)
    shutil.copyfile(result.path / ACCURACY_VS_TIME, out / BENCH_TIME_PNG)
    board = (result.path / LEADERBOARD_MD).read_text(encoding="utf-8")
    _write_text(out / LEADERBOARD_MD, leaderboard_snippet(board))
    write_json_atomic(
        out / LEADERBOARD_JSON,
        {"created": result.created, "machine": result.machine, "models": list(result.rows)},
    )
    facts = _leaderboard_facts(result.rows)

    if "reference" in models:
        row = next(row for row in result.rows if row["name"] == "reference")
        run = runs.Run(result.path / row["runs"][0])
        report = reports.evaluate_run(run.path, dataset=dataset)
        shutil.copyfile(run.path / runs.CURVES, out / CURVES_PNG)
        shutil.copyfile(run.path / reports.CONFUSION_PNG, out / CONFUSION_PNG)
        shutil.copyfile(run.path / reports.MISTAKES_PNG, out / MISTAKES_PNG)
        _write_text(out / PER_CLASS_MD, per_class_table(report["per_class"]))
        facts |= _reference_facts(run.metrics, run.history, report)
        facts |= inside_assets(run.path, dataset, out)
    return facts, result.machine


def inside_assets(run_path: Path, dataset: Any, out: Path) -> dict[str, str]:
    """Chapter 8's figures, by `mnist-lab inspect`'s own function on the reference run: the
    filters and the feature maps of test digit INSIDE_DIGIT, then the saliency of the run's most
    confident mistake on the test set (a look at one image; nothing is chosen by it)."""
    from mnist_lab import evaluation
    from mnist_lab.data.preprocess import normalize
    from mnist_lab.evaluation import inspection
    from mnist_lab.evaluation.reports import load_run_model

    seen = inspection.inspect_run(run_path, index=INSIDE_DIGIT, split="test", dataset=dataset)
    shutil.copyfile(run_path / inspection.FILTERS_PNG, out / INSIDE_FILTERS_PNG)
    shutil.copyfile(run_path / inspection.FEATURE_MAPS_PNG, out / INSIDE_MAPS_PNG)
    digit = seen["digits"][0]

    test_images, labels = dataset.test
    model = load_run_model(run_path)
    probabilities = np.asarray(model.predict(normalize(test_images), batch_size=1024, verbose=0))
    mistake = int(evaluation.worst_mistakes(probabilities, labels, k=1)[0])
    inspected = inspection.inspect_run(run_path, index=mistake, split="test", dataset=dataset)
    wrong = inspected["digits"][0]
    shutil.copyfile(run_path / inspection.SALIENCY_PNG, out / INSIDE_SALIENCY_PNG)
    return {
        "inside.digit_index": str(INSIDE_DIGIT),
        "inside.digit_label": str(digit["label"]),
        "inside.digit_predicted": str(digit["digit"]),
        "inside.mistake_index": str(mistake),
        "inside.mistake_label": str(wrong["label"]),
        "inside.mistake_predicted": str(wrong["digit"]),
        "inside.mistake_probability": _percent(wrong["probability"]),
    }


# --- provenance -------------------------------------------------------------------------------


def provenance_snippet(provenance: dict[str, Any]) -> str:
    """The note under the figures: which command made them, when, where and how long it took."""
    minutes = provenance["seconds"] / 60
    return (
        f"Figures and numbers generated by `{provenance['command']}` "
        f"(`{provenance['module_command']}`) on {provenance['date']} in {minutes:.1f} minutes, "
        f"on {provenance['machine_line']}.\n"
    )


def write_provenance(
    out: Path, machine: dict[str, Any], seconds: float, models: Sequence[str] = BENCHMARK_MODELS
) -> dict[str, Any]:
    """Write provenance.json and provenance.md, naming the command, date and machine."""
    from mnist_lab.scale.benchmark import describe_machine

    provenance = {
        "command": COMMAND,
        "module_command": MODULE_COMMAND,
        "date": datetime.now(timezone.utc).date().isoformat(),
        "seconds": round(seconds, 1),
        "benchmark_models": list(models),
        "machine": machine,
        "machine_line": describe_machine(machine),
    }
    write_json_atomic(out / PROVENANCE_JSON, provenance)
    _write_text(out / PROVENANCE_MD, provenance_snippet(provenance))
    return provenance


def generate(out: Path = OUT, models: Sequence[str] = BENCHMARK_MODELS) -> dict[str, Any]:
    """Make every asset of the site into `out`; return the provenance."""
    from mnist_lab.data import load_mnist

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_mnist()
    print("The data: samples, class distribution, pixels", flush=True)
    facts = dataset_assets(dataset, out)
    print(f"A benchmark of {', '.join(models)} (several minutes)", flush=True)
    with tempfile.TemporaryDirectory(prefix="mnist-lab-site-") as work:
        bench_facts, machine = benchmark_assets(dataset, out, Path(work), models)
    facts |= bench_facts
    provenance = write_provenance(out, machine, time.perf_counter() - started, models)
    facts |= {
        "generated.date": provenance["date"],
        "generated.machine": provenance["machine_line"],
        "generated.minutes": f"{provenance['seconds'] / 60:.1f}",
    }
    write_json_atomic(out / FACTS_JSON, dict(sorted(facts.items())))
    return provenance


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=MODULE_COMMAND, description="Regenerate the course site's figures and tables."
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"target folder (default: {OUT})")
    args = parser.parse_args(argv)
    provenance = generate(args.out)
    print(json.dumps({"out": str(args.out), "seconds": provenance["seconds"]}))


if __name__ == "__main__":
    main()
