"""Choose `fast` on validation accuracy: train every candidate over three seeds and rank them.

Usage: .venv/bin/python tests/perf/choose_fast.py [--seeds 0,1,2] [--add] [--render]

Each candidate (a network in the notation of `sweep.py` and a one-cycle Adam recipe) trains on
the seeded stratified split of `mnist-lab train`; only its validation accuracy is read. The rule:
among the candidates whose final validation accuracy averages at least 99.0% over the seeds, the
one with the least mean training time in plain-Keras reference epochs is chosen (if none does,
the most accurate on validation). `--add` trains only the candidates not yet in the results and
adds them; each session is timed against its own plain-Keras yardstick, since the machine's
speed drifts. Results go to docs/results/fast_candidates.json and fast_candidates.md with the
command, date and machine; docs/zoo.md includes the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime
from pathlib import Path

from sweep import TARGET, run_candidate
from targets import plain_keras_seconds_per_epoch

from mnist_lab.core.backend import start_tensorflow
from mnist_lab.core.markdown import markdown_table
from mnist_lab.models.recipes import DEFAULT_BETA_1, DEFAULT_BETA_2
from mnist_lab.scale.machine import describe_machine, machine_info

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
JSON, MD = RESULTS / "fast_candidates.json", RESULTS / "fast_candidates.md"
COMMAND = "python tests/perf/choose_fast.py"

# (spec, epochs, batch size, peak learning rate, warm-up, label smoothing[, Adam's betas]). Round 1
# (2026-11-30, fast_candidates_round1.md) varied the network at 20% warm-up without smoothing;
# round 2 crops the empty border (`k:2`), tries one epoch, smoothing and longer warm-ups. The
# registered `fast` of round 1 comes first.
DEFAULT_BETAS = (DEFAULT_BETA_1, DEFAULT_BETA_2)  # Keras's, as a recipe has them
FAST_BETAS = (0.7, 0.9)  # the published one-epoch recipe's
CANDIDATES: list[tuple] = [
    ("n,c:24:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 1e-2, 0.2, 0.0),
    ("n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1e-2, 0.2, 0.0),
    ("n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1e-2, 0.2, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 1, 256, 1e-2, 0.2, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 1, 256, 1.5e-2, 0.3, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 1, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 1, 128, 1e-2, 0.3, 0.1),
    ("n,k:2,c:32:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1e-2, 0.2, 0.1),
    ("n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:512", 1, 256, 1e-2, 0.2, 0.1),
    ("n,k:4,c:32:5,p:2,c:48:3,p:2,f,d:256", 1, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,cb:24:5,p:2,cb:32:3,p:2,f,d:256", 1, 256, 3e-2, 0.2, 0.1),
    ("n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 1e-2, 0.3, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 2, 256, 1.5e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:32:5:2,c:48:3:2,f,d:256", 2, 256, 1e-2, 0.2, 0.1),
    ("n,k:2,c:24:5,p:2,c:48:3,p:2,f,d:256", 2, 512, 2e-2, 0.2, 0.1),
    # Round 3: around the first of round 2 to reach 99.0% (16 and 32 channels, two epochs).
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 512, 3e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:128", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:12:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:24:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:16:3,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 384, 2.5e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 3e-2, 0.3, 0.15),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1.5e-2, 0.3, 0.1),
    # Round 4: still cheaper two-epoch networks, timed in a quiet session.
    ("n,k:2,c:12:5,p:2,c:24:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:12:5,p:2,c:32:3,p:2,f,d:128", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:16:5,p:2,c:24:3,p:2,f,d:128", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:8:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1),
    ("n,k:2,c:12:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 3e-2, 0.3, 0.15),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 128, 1e-2, 0.3, 0.1),
    # Round 5: Adam's betas (0.7, 0.9), which follow a short one-cycle schedule more closely,
    # on one-epoch networks and on the chosen two-epoch one; `s:2` (space to depth) gives the
    # first convolution 4 input channels, which the CPU computes faster than 1.
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1.5e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 256, 1.5e-2, 0.2, 0.1, FAST_BETAS),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 160, 1.2e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 1, 128, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:12:5,p:2,c:32:3,p:2,f,d:256", 2, 256, 2e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256", 2, 512, 3e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,s:2,c:32:3,p:2,c:64:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    # Round 6: a 6x6 convolution of stride 2 computes what space to depth and a 3x3 convolution
    # do (each output sees a 6x6 patch, two pixels apart) as one ordinary layer; its neighbours.
    ("n,k:2,c:32:6:2,p:2,c:64:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:24:6:2,p:2,c:64:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:64:3,f,d:128", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:64:3,f,d:256", 2, 256, 1.5e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:64:3,f,d:256", 2, 384, 1.5e-2, 0.3, 0.1, FAST_BETAS),
    # Round 7: the chosen network's epochs are cheap enough to try one epoch of smaller
    # batches (more steps), and two of larger ones (fewer).
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 1, 128, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 1, 96, 8e-3, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 1, 160, 1.2e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:64:3,f,d:256", 1, 128, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:48:6:2,p:2,c:64:3,f,d:256", 1, 128, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 2, 512, 2e-2, 0.3, 0.1, FAST_BETAS),
    # Round 8: cheaper neighbours of the chosen network, and batches between 256 and 512.
    ("n,k:2,c:24:6:2,p:2,c:48:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:32:3,f,d:256", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:128", 2, 256, 1e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 2, 384, 1.5e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 2, 320, 1.2e-2, 0.3, 0.1, FAST_BETAS),
    ("n,k:2,c:32:6:2,p:2,c:48:3,f,d:256", 2, 256, 1.5e-2, 0.3, 0.15, FAST_BETAS),
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
        "warmup": first["warmup"],
        "label_smoothing": first["label_smoothing"],
        "betas": first.get("betas", list(DEFAULT_BETAS)),
        "params": first["params"],
        "seeds": [r["seed"] for r in runs],
        "val_accuracy_mean": statistics.fmean(finals),
        "val_accuracy_min": min(finals),
        "val_accuracy_max": max(finals),
        "train_seconds_mean": statistics.fmean(r["train_seconds"] for r in runs),
        "reached_99": len(reached),
        "seconds_to_99_val_mean": statistics.fmean(reached) if reached else None,
    }


def reference_epochs(row: dict) -> float:
    """A candidate's mean training time in plain-Keras reference epochs of its own session."""
    return row["train_seconds_mean"] / row["plain_keras_epoch"]


def choose(rows: list[dict]) -> dict:
    """The rule: mean final validation accuracy >= 99.0%, then the least mean training time in
    reference epochs (comparable across sessions, unlike seconds); if no candidate reaches
    99.0%, the one with the highest mean validation accuracy."""
    # Accuracies are counts of 6,000 images: a mean of exactly 99.0% must not fail by a
    # floating-point hair (5,935 + 5,933 + 5,952 of 18,000 is 0.99, summed as 0.98999...).
    passing = [row for row in rows if row["val_accuracy_mean"] >= TARGET - 1e-9]
    if not passing:
        return max(rows, key=lambda row: row["val_accuracy_mean"])
    return min(passing, key=reference_epochs)


def markdown(results: dict) -> str:
    rows = sorted(results["candidates"], key=reference_epochs)
    chosen = results.get("chosen")
    table = markdown_table(
        [
            "network",
            "params",
            "epochs",
            "batch",
            "peak LR",
            "warm-up",
            "smoothing",
            "Adam betas",
            "training s (mean)",
            "in reference epochs",
            "val accuracy (mean, min-max)",
            "reached 99% val",
        ],
        "lrrrrrrrrrrr",
        [
            [
                ("**chosen** " if row["spec_key"] == chosen else "") + f"`{row['spec']}`",
                f"{row['params']:,}",
                str(row["epochs"]),
                str(row["batch_size"]),
                f"{row['learning_rate']:g}",
                f"{row.get('warmup', 0.2):.0%}",
                f"{row.get('label_smoothing', 0.0):g}",
                "{:g}, {:g}".format(*row.get("betas", DEFAULT_BETAS)),
                f"{row['train_seconds_mean']:.1f}",
                f"{reference_epochs(row):.2f}",
                f"{row['val_accuracy_mean']:.2%} ({row['val_accuracy_min']:.2%}-"
                f"{row['val_accuracy_max']:.2%})",
                f"{row['reached_99']} of {len(row['seeds'])}",
            ]
            for row in rows
        ],
    )
    seeds = ", ".join(str(s) for s in results["seeds"])
    yardsticks = "; ".join(
        f"{session['date'][:16].replace('T', ' ')}: {session['plain_keras_epoch_before']:.2f} "
        f"and {session['plain_keras_epoch_after']:.2f} s"
        for session in results["sessions"]
    )
    return "\n".join(
        [
            table,
            f"Validation accuracy after the last epoch on the seeded stratified split (6,000 "
            f"images), seeds {seeds}; one-cycle Adam (a linear warm-up, then a cosine to zero). "
            "`k:2` crops 2 pixels of the empty border on each side (24x24). Rule: mean validation "
            "accuracy >= 99.0%, then the least mean training time in reference epochs (if none "
            "reaches it, the highest "
            "mean validation accuracy). No test accuracy was read. *In reference epochs*: the "
            "training seconds over one epoch of the reference in plain Keras (batch 128), the "
            f"mean of one measured before and one after the candidates of each session "
            f"({yardsticks}). "
            f"Measured by `{COMMAND}` on {results['date'][:10]}; machine: "
            f"{describe_machine(results['machine'])}.",
            "",
        ]
    )


def key(
    spec: str,
    epochs: int,
    batch: int,
    rate: float,
    warmup: float,
    smoothing: float,
    betas: tuple[float, float] = DEFAULT_BETAS,
) -> str:
    text = f"{spec} {epochs}ep b{batch} lr{rate:g} w{warmup:g} ls{smoothing:g}"
    return text if tuple(betas) == DEFAULT_BETAS else text + " betas{:g},{:g}".format(*betas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from .json")
    parser.add_argument(
        "--add",
        action="store_true",
        help="train only the candidates not yet in the .json, and add them to it",
    )
    args = parser.parse_args()
    if args.render:
        results = json.loads(JSON.read_text())
        results["chosen"] = choose(results["candidates"])["spec_key"]
        JSON.write_text(json.dumps(results, indent=2) + "\n")
        MD.write_text(markdown(results))
        return
    from mnist_lab.data import load_mnist
    from mnist_lab.training import TrainConfig, prepare

    start_tensorflow()
    dataset = load_mnist()
    seeds = [int(s) for s in args.seeds.split(",")]
    now = datetime.now().isoformat(timespec="seconds")
    if args.add and JSON.is_file():
        results = json.loads(JSON.read_text())
        if results["seeds"] != seeds:
            raise SystemExit(f"{JSON} was measured on seeds {results['seeds']}: use the same.")
    else:
        results = {"date": now, "machine": machine_info(), "seeds": seeds, "candidates": []}
    done = {row["spec_key"] for row in results["candidates"]}
    todo = [candidate for candidate in CANDIDATES if key(*candidate) not in done]
    reference_data = prepare(dataset, TrainConfig(model="reference", batch_size=128))
    before = plain_keras_seconds_per_epoch(reference_data, epochs=3)
    print(f"plain-Keras reference epoch: {before:.2f} s", flush=True)
    session = []
    for index, candidate in enumerate(todo, start=1):
        spec, epochs, batch, rate, warmup, smoothing, *rest = candidate
        betas = rest[0] if rest else DEFAULT_BETAS
        runs = []
        for seed in seeds:
            runs.append(
                run_candidate(
                    spec,
                    epochs,
                    batch,
                    rate,
                    seed,
                    dataset,
                    warmup=warmup,
                    label_smoothing=smoothing,
                    betas=betas,
                )
            )
            print(json.dumps(runs[-1]), flush=True)
        row = {**summarize(runs), "spec_key": key(*candidate), "measured": now, "runs": runs}
        session.append(row)
        print(
            f"[{index}/{len(todo)}] {row['spec_key']}: val {row['val_accuracy_mean']:.2%} "
            f"in {row['train_seconds_mean']:.1f} s",
            flush=True,
        )
    after = plain_keras_seconds_per_epoch(reference_data, epochs=3)
    # Each session's candidates are timed against its own yardstick: the machine's speed drifts.
    for row in session:
        row["plain_keras_epoch"] = (before + after) / 2
    results["candidates"] += session
    results.setdefault("sessions", []).append(
        {"date": now, "plain_keras_epoch_before": before, "plain_keras_epoch_after": after}
    )
    results["chosen"] = choose(results["candidates"])["spec_key"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    JSON.write_text(json.dumps(results, indent=2) + "\n")
    MD.write_text(markdown(results))
    print(f"Chosen: {results['chosen']}. Wrote {MD}")


if __name__ == "__main__":
    main()
