"""Choose `fast` on validation accuracy: train every candidate over three seeds and rank them.

Usage: .venv/bin/python tests/perf/choose_fast.py [--seeds 0,1,2] [--render]

Each candidate (a network in the notation of `sweep.py` and a one-cycle Adam recipe) trains on
the seeded stratified split of `mnist-lab train`; only its validation accuracy is read. The rule:
among the candidates whose final validation accuracy averages at least 99.0% over the seeds, the
one with the least mean training time is chosen (if none does, the most accurate on
validation). Results go to docs/results/fast_candidates.json and fast_candidates.md with the
command, date and machine; docs/zoo.md includes the table.
Timings are only comparable within one run of this script (the machine's speed varies).
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime
from pathlib import Path

from sweep import TARGET, run_candidate

from mnist_lab.backend import start_tensorflow
from mnist_lab.benchmark import describe_machine, machine_info
from mnist_lab.markdown import markdown_table

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
JSON, MD = RESULTS / "fast_candidates.json", RESULTS / "fast_candidates.md"
COMMAND = "python tests/perf/choose_fast.py"

# (spec, epochs, batch size, peak learning rate); the registered `fast` is the first.
CANDIDATES: list[tuple[str, int, int, float]] = [
    ("n,c:16:5,p:2,c:32:3,p:2,f", 2, 256, 2e-2),
    ("n,c:16:5,p:2,c:32:3,p:2,f", 2, 256, 1e-2),
    ("n,c:24:5,p:2,c:32:3,p:2,f", 2, 256, 2e-2),
    ("n,c:24:5,p:2,c:32:3,p:2,f", 2, 256, 1e-2),
    ("n,c:24:5,p:2,c:48:3,p:2,f", 2, 256, 2e-2),
    ("n,c:24:5,p:2,c:48:3,p:2,f", 2, 256, 1e-2),
    ("n,c:16:5,p:2,c:32:3,p:2,f", 3, 256, 2e-2),
    ("n,c:24:5,p:2,c:48:3,p:2,f", 3, 256, 1e-2),
    ("c:24:5,p:2,c:48:3,p:2,f", 3, 256, 5e-3),
    ("n,c:24:5,p:2,f", 2, 256, 5e-3),
    ("n,c:24:5,p:2,c:48:3,p:2,f", 4, 256, 1e-2),
    ("n,c:32:5,p:2,c:64:3,p:2,f", 3, 256, 1e-2),
    ("n,c:24:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 1e-2),
    ("n,c:24:5,p:2,c:48:3,p:2,f,d:128", 3, 256, 1e-2),
]


def summarize(runs: list[dict]) -> dict:
    """One row per candidate: mean and spread of final validation accuracy, seconds, reach."""
    finals = [r["val_accuracy_final"] for r in runs]
    reached = [r["seconds_to_99_val"] for r in runs if r["seconds_to_99_val"] is not None]
    first = runs[0]
    return {
        "spec": first["spec"],
        "epochs": first["epochs"],
        "batch_size": first["batch_size"],
        "learning_rate": first["learning_rate"],
        "params": first["params"],
        "seeds": [r["seed"] for r in runs],
        "val_accuracy_mean": statistics.fmean(finals),
        "val_accuracy_min": min(finals),
        "val_accuracy_max": max(finals),
        "train_seconds_mean": statistics.fmean(r["train_seconds"] for r in runs),
        "reached_99": len(reached),
        "seconds_to_99_val_mean": statistics.fmean(reached) if reached else None,
    }


def choose(rows: list[dict]) -> dict:
    """The rule: mean final validation accuracy >= 99.0%, then the least mean training time;
    if no candidate reaches 99.0%, the one with the highest mean validation accuracy."""
    # Accuracies are counts of 6,000 images: a mean of exactly 99.0% must not fail by a
    # floating-point hair (5,935 + 5,933 + 5,952 of 18,000 is 0.99, summed as 0.98999...).
    passing = [row for row in rows if row["val_accuracy_mean"] >= TARGET - 1e-9]
    if not passing:
        return max(rows, key=lambda row: row["val_accuracy_mean"])
    return min(passing, key=lambda row: row["train_seconds_mean"])


def markdown(results: dict) -> str:
    rows = sorted(results["candidates"], key=lambda row: row["train_seconds_mean"])
    chosen = results.get("chosen")
    table = markdown_table(
        [
            "network",
            "params",
            "epochs",
            "batch",
            "peak LR",
            "training s (mean)",
            "val accuracy (mean, min-max)",
            "reached 99% val",
        ],
        "lrrrrrrr",
        [
            [
                ("**chosen** " if row["spec_key"] == chosen else "") + f"`{row['spec']}`",
                f"{row['params']:,}",
                str(row["epochs"]),
                str(row["batch_size"]),
                f"{row['learning_rate']:g}",
                f"{row['train_seconds_mean']:.1f}",
                f"{row['val_accuracy_mean']:.2%} ({row['val_accuracy_min']:.2%}-"
                f"{row['val_accuracy_max']:.2%})",
                f"{row['reached_99']} of {len(row['seeds'])}",
            ]
            for row in rows
        ],
    )
    seeds = ", ".join(str(s) for s in results["seeds"])
    return "\n".join(
        [
            table,
            f"Validation accuracy after the last epoch on the seeded stratified split (6,000 "
            f"images), seeds {seeds}; one-cycle Adam (20% warm-up). Rule: mean validation "
            "accuracy >= 99.0%, then the least mean training time (if none reaches it, the highest "
            "mean validation accuracy). No test accuracy was read. "
            f"Measured by `{COMMAND}` on {results['date'][:10]}; machine: "
            f"{describe_machine(results['machine'])}.",
            "",
        ]
    )


def key(spec: str, epochs: int, batch: int, rate: float) -> str:
    return f"{spec} {epochs}ep b{batch} lr{rate:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from .json")
    args = parser.parse_args()
    if args.render:
        results = json.loads(JSON.read_text())
        results["chosen"] = choose(results["candidates"])["spec_key"]
        JSON.write_text(json.dumps(results, indent=2) + "\n")
        MD.write_text(markdown(results))
        return
    from mnist_lab.data import load_mnist

    start_tensorflow()
    dataset = load_mnist()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "seeds": seeds,
        "candidates": [],
    }
    for index, (spec, epochs, batch, rate) in enumerate(CANDIDATES, start=1):
        runs = []
        for seed in seeds:
            runs.append(run_candidate(spec, epochs, batch, rate, seed, dataset))
            print(json.dumps(runs[-1]), flush=True)
        row = {**summarize(runs), "spec_key": key(spec, epochs, batch, rate), "runs": runs}
        results["candidates"].append(row)
        print(
            f"[{index}/{len(CANDIDATES)}] {row['spec_key']}: val {row['val_accuracy_mean']:.2%} "
            f"in {row['train_seconds_mean']:.1f} s",
            flush=True,
        )
    results["chosen"] = choose(results["candidates"])["spec_key"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    JSON.write_text(json.dumps(results, indent=2) + "\n")
    MD.write_text(markdown(results))
    print(f"Chosen: {results['chosen']}. Wrote {MD}")


if __name__ == "__main__":
    main()
