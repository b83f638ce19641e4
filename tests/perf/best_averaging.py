"""What averaging would give `best`, measured on validation from finished runs.

Usage: .venv/bin/python tests/perf/best_averaging.py RUN [RUN ...] [--last 5]

Each RUN is a finished `best` run that kept its epochs' weights (`make bench` keeps them; so
does `mnist-lab train best --keep-epochs`). Without training anything, it scores on the run's
own seeded validation split:

- test-time augmentation: the softmax averaged over the image and copies shifted by one pixel
  (4 and 8 neighbours) or turned by 6 degrees each way;
- an ensemble of the last epochs: their softmax outputs averaged;
- weight averaging of the last epochs (SWA): their weights averaged into one network, with the
  batch-norm statistics as averaged and re-estimated on training images (`precise_bn`).

These are the averaging candidates the issue names for `best`; every figure is a validation
accuracy, the test set is never read. Results go to docs/results/best_averaging.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime
from pathlib import Path

import numpy as np

from mnist_lab.core.backend import start_tensorflow
from mnist_lab.core.markdown import markdown_table
from mnist_lab.scale.machine import describe_machine, machine_info

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
JSON, MD = RESULTS / "best_averaging.json", RESULTS / "best_averaging.md"
COMMAND = "python tests/perf/best_averaging.py"
SHIFTS_4 = ((0, 1), (0, -1), (1, 0), (-1, 0))
SHIFTS_8 = (*SHIFTS_4, (1, 1), (1, -1), (-1, 1), (-1, -1))
TURN_DEGREES = 6


def shifted(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The images moved by whole pixels; MNIST's border is empty, so rolling adds no ink."""
    return np.roll(images, (rows, cols), axis=(1, 2))


def turned(images: np.ndarray, degrees: float) -> np.ndarray:
    """The images rotated by exactly `degrees` about their centre (empty corners filled black)."""
    import keras

    turn = degrees / 360  # Keras takes a fraction of a full turn
    rotate = keras.layers.RandomRotation((turn, turn), fill_mode="constant")
    return np.asarray(rotate(images, training=True))


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def averaged_weights(model, files: list[Path]) -> list[np.ndarray]:
    """The element-wise mean of the weights saved in `files` (the model is left as the last)."""
    total = None
    for file in files:
        model.load_weights(file)
        weights = model.get_weights()
        total = weights if total is None else [t + w for t, w in zip(total, weights, strict=True)]
    return [t / len(files) for t in total]


def measure_run(path: Path, dataset, last: int) -> dict:
    from mnist_lab.core import runs
    from mnist_lab.evaluation.reports import load_run_model
    from mnist_lab.training import TrainConfig, precise_bn, prepare

    run = runs.open_run(path)
    config = run.config
    kept = run.epoch_weights
    if len(kept) < last:
        raise SystemExit(f"{path} kept {len(kept)} epochs' weights; --last {last} needs more.")
    data = prepare(
        dataset,
        TrainConfig(
            model=config["model"],
            seed=config["seed"],
            validation_split=config["validation_split"],
            limit=config["limit"],
        ),
    )
    labels = data.y_val.argmax(axis=1)
    model = load_run_model(path)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(images, batch_size=1000, verbose=0)

    plain = predict(data.x_val)
    views4 = [predict(shifted(data.x_val, *shift)) for shift in SHIFTS_4]
    views8 = views4 + [predict(shifted(data.x_val, *shift)) for shift in SHIFTS_8[4:]]
    turns = [predict(turned(data.x_val, sign * TURN_DEGREES)) for sign in (-1, 1)]
    final = sorted(kept)[-last:]
    snapshots = []
    for epoch in final:
        model.load_weights(kept[epoch])
        snapshots.append(predict(data.x_val))
    model.set_weights(averaged_weights(model, [kept[epoch] for epoch in final]))
    swa = accuracy(predict(data.x_val), labels)
    precise_bn.recalibrate(model, data.x_train, seed=config["seed"])
    swa_precise = accuracy(predict(data.x_val), labels)
    return {
        "run": str(path),
        "seed": config["seed"],
        "epochs": len(run.history),
        "final": accuracy(plain, labels),
        "shift_4": accuracy(np.mean([plain, *views4], axis=0), labels),
        "shift_8": accuracy(np.mean([plain, *views8], axis=0), labels),
        "turns": accuracy(np.mean([plain, *turns], axis=0), labels),
        "all_views": accuracy(np.mean([plain, *views8, *turns], axis=0), labels),
        "epoch_ensemble": accuracy(np.mean(snapshots, axis=0), labels),
        "swa": swa,
        "swa_precise_bn": swa_precise,
        "last": last,
    }


COLUMNS = {
    "final": "the trained model",
    "shift_4": "+ 4 one-pixel shifts",
    "shift_8": "+ 8 one-pixel shifts",
    "turns": "+ turns of ±6°",
    "all_views": "+ all 10 views",
    "epoch_ensemble": "ensemble of the last epochs",
    "swa": "weights of the last epochs averaged",
    "swa_precise_bn": "averaged, BN re-estimated",
}


def points(change: float) -> str:
    """A change of accuracy in points, '+0.017'; a change that rounds to nothing is '+0.000'."""
    return f"{round(change * 100, 3) or 0.0:+.3f}"


def markdown(results: dict) -> str:
    rows = results["runs"]
    table = markdown_table(
        ["what is scored", *[f"seed {row['seed']}" for row in rows], "mean", "change"],
        "l" + "r" * (len(rows) + 2),
        [
            [
                title,
                *[f"{row[key]:.2%}" for row in rows],
                f"{statistics.fmean(row[key] for row in rows):.2%}",
                points(statistics.fmean(row[key] - row["final"] for row in rows)),
            ]
            for key, title in COLUMNS.items()
        ],
    )
    last = rows[0]["last"]
    return "\n".join(
        [
            table,
            f"Validation accuracy (6,000 images of each run's seeded stratified split) of "
            f"finished `best` runs of {rows[0]['epochs']} epochs; *change* is the mean change "
            f"in points against the trained model. Test-time views are averaged softmax "
            f"outputs; the last {last} epochs' weights are the ones the runs kept. No test "
            f"accuracy was read. Measured by `{COMMAND}` on {results['date'][:10]} from the "
            f"runs of `make bench`; machine: {describe_machine(results['machine'])}.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--last", type=int, default=5, help="epochs averaged (default 5)")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from .json")
    args = parser.parse_args()
    if args.render:
        MD.write_text(markdown(json.loads(JSON.read_text())))
        return
    if not args.runs:
        raise SystemExit("Name at least one finished `best` run that kept its epochs.")
    from mnist_lab.data import load_mnist

    start_tensorflow()
    dataset = load_mnist()
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "runs": [],
    }
    for path in args.runs:
        results["runs"].append(measure_run(path, dataset, args.last))
        print(json.dumps(results["runs"][-1]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    JSON.write_text(json.dumps(results, indent=2) + "\n")
    MD.write_text(markdown(results))
    print(f"Wrote {MD}")


if __name__ == "__main__":
    main()
