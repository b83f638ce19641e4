"""The figure and numbers of exercise 26 (equivariance), made by running its solution.

`make docs-assets` runs `python docs/_tools/shift_figures.py`, which trains the reference CNN and
its global-average-pooling variant (the helpers of exercise 26's reference solution, in
mnist_lab/course/solutions/) on the 54,000 training images of the seeded stratified split, then
writes into docs/assets/generated/:

- ex26_accuracy_under_shift.png: each network's accuracy on the 6,000 validation images moved
  0 to 8 pixels to the right (the validation split, never the test set);
- shift_facts.json: the `shift.*` facts the page quotes (each point of both curves, the
  equivariance error of the reference's first convolution and of its first pooling for moves of
  1 to 4 pixels, the epochs), with `shift.date` and `shift.command`.

Both networks train for EPOCHS epochs from seed 0, here, every time (a finished run in runs/
is not used: the page compares two networks trained the same way). Three epochs: the reference
is then near the validation accuracy of its 5-epoch recipe (the page quotes both), the shape of
the curves, which is what the page is about, is set by the architecture rather than by the last
fraction of a percent, and the whole tool takes about 2.5 minutes on 2 cores (2026-12-06).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.solutions import ex26_equivariance as solution

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
CURVES_PNG, FACTS_JSON = "ex26_accuracy_under_shift.png", "shift_facts.json"
COMMAND = "python docs/_tools/shift_figures.py"

EPOCHS, SEED = 3, 0
MOVES = list(range(9))  # pixels to the right: 0 to 8, a third of the digit's width
ERROR_MOVES = [1, 2, 3, 4]  # odd and even, for the pooling's stride of 2
ERROR_IMAGES = 1000  # validation images the equivariance errors are measured on
KEYS = {"reference": "reference", "global average pooling": "gap"}


def curves(models: dict[str, Any], x_val: Any, y_val: Any) -> dict[str, list[float]]:
    """Each model's validation accuracy for the images moved right by each of MOVES."""
    return {
        name: solution.accuracy_under_shift(solution.predictor(model), x_val, y_val, MOVES)
        for name, model in models.items()
    }


def errors(model: Any, images: Any) -> dict[str, list[float]]:
    """The equivariance error of the model's first convolution and first pooling, for moves
    of ERROR_MOVES pixels to the right."""
    return {
        name: [solution.equivariance_error(maps, images, 0, d) for d in ERROR_MOVES]
        for name, maps in solution.first_block_maps(model).items()
    }


def curves_figure(measured: dict[str, list[float]]):
    """Accuracy against the move, one line per network, without pyplot."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.subplots()
    for (name, accuracies), style in zip(measured.items(), ["o-", "s-"], strict=False):
        axes.plot(MOVES, [100 * a for a in accuracies], style, label=name)
    axes.set_xlabel("digits moved right by (pixels)")
    axes.set_ylabel("validation accuracy (%)")
    axes.set_xticks(MOVES)
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.set_title("Accuracy on moved validation digits")
    axes.legend(loc="lower left")
    return figure


def shift_facts(
    measured: dict[str, list[float]], errors_of: dict[str, list[float]], epochs: int
) -> dict[str, str]:
    """The `shift.*` facts of the curves and the errors (without date and command)."""
    facts = {"shift.epochs": str(epochs)}
    for name, accuracies in measured.items():
        for move, accuracy in zip(MOVES, accuracies, strict=True):
            facts[f"shift.{KEYS[name]}.accuracy.{move}"] = f"{100 * accuracy:.1f}%"
    for name, values in errors_of.items():
        for move, value in zip(ERROR_MOVES, values, strict=True):
            facts[f"shift.{name}.error.{move}"] = f"{value:.2g}"
    return facts


def run(epochs: int = EPOCHS, limit: int | None = None) -> tuple[dict[str, str], Any]:
    """Train both networks, measure them; (facts, figure). `limit` keeps that many training
    and validation images (a quick test of this tool), None all of them."""
    x, y, x_val, y_val = solution.shift_split()
    if limit is not None:
        x, y, x_val, y_val = x[:limit], y[:limit], x_val[:limit], y_val[:limit]
    data = (x, y, x_val, y_val)
    models = solution.reference_and_gap(data, epochs=epochs, seed=SEED, runs_dir=None)
    measured = curves(models, x_val, y_val)
    errors_of = errors(models["reference"], x_val[:ERROR_IMAGES])
    return shift_facts(measured, errors_of, epochs), curves_figure(measured)


def main(argv: list[str] | None = None) -> None:
    from mnist_lab.core.backend import start_tensorflow
    from mnist_lab.evaluation.plots import save_figure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the folder to write into")
    options = parser.parse_args(argv)
    start_tensorflow()
    facts, figure = run()
    save_figure(figure, options.out / CURVES_PNG)
    stamp = {"shift.date": datetime.now(timezone.utc).date().isoformat(), "shift.command": COMMAND}
    write_json_atomic(options.out / FACTS_JSON, stamp | facts)
    print(f"wrote {options.out / CURVES_PNG} and {options.out / FACTS_JSON}")


if __name__ == "__main__":
    main()
