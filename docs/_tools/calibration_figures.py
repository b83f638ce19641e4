"""Exercise 27's numbers and figure: a real run's calibration, before and after temperature scaling.

`make docs-assets` runs `python docs/_tools/calibration_figures.py`, which trains the reference
as `mnist-lab train reference` does (its recipe: 5 epochs, seed 0; about a minute of training on
2 cores) into a temporary folder, or with `--run RUN` reuses a finished run, and writes into
docs/assets/generated/:

- ex27_reliability.png: the reliability diagrams of exercise 27's `reliability_figure` (the
  reference solution in mnist_lab/course/solutions/) before and after temperature scaling,
  side by side;
- calibration_facts.json: `calibration.*` facts the page quotes (the temperature, the ECE and
  the negative log-likelihood before and after, the halves' sizes), with the run, the date, the
  machine and the command.

The ML rule of the course holds: the logits are those of the run's own validation images
(exercise 27's given `validation_logits`), split in two stratified halves; T is fitted on the
first and everything is reported on the second, images T never saw. The test set is not read.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.solutions import ex27_calibration as calibration

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
FIGURE_PNG, FACTS_JSON = "ex27_reliability.png", "calibration_facts.json"
COMMAND = "python docs/_tools/calibration_figures.py"
BINS = 15
RESAMPLES = 200  # bootstrap resamples of the reported half, for the ECE's sampling spread


def train_reference(work: Path) -> Path:
    """A run of the reference as `mnist-lab train reference --out WORK` makes it."""
    from mnist_lab.training import TrainConfig, train

    return train(TrainConfig(model="reference", out=str(work)), verbose=2).path


def nll(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean negative log-likelihood of the labels (probabilities of 0 are clipped)."""
    chosen = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.maximum(chosen, 1e-300))))


def ece_spread(probabilities: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """The standard deviation of the ECE over bootstrap resamples of the images: how much of
    a difference between two ECEs on this many images is sampling error."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(RESAMPLES):
        drawn = rng.integers(0, len(labels), len(labels))
        values.append(
            calibration.expected_calibration_error(probabilities[drawn], labels[drawn], BINS)
        )
    return float(np.std(values))


def ece_verdict(before: float, after: float, spread: float) -> str:
    """How the ECE moved, judged against its sampling spread."""
    if abs(after - before) < 2 * spread:
        return (
            "moved by less than twice its sampling spread: on this many images, with this few "
            "mistakes, the ECE cannot tell the two apart"
        )
    return f"{'fell' if after < before else 'rose'} by more than twice its sampling spread"


def measure(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """T fitted on the first stratified half of the validation images; the second half's
    probabilities, ECE and NLL before and after dividing its logits by T."""
    fit, report = calibration.calibration_halves(labels)
    temperature = calibration.fit_temperature(logits[fit], labels[fit])
    before = calibration.softmax(logits[report])
    after = calibration.softmax(logits[report] / temperature)
    labels = labels[report]
    return {
        "fit_images": len(fit),
        "report_images": len(report),
        "temperature": temperature,
        "before": before,
        "after": after,
        "labels": labels,
        "accuracy": float(np.mean(before.argmax(axis=1) == labels)),
        "ece_before": calibration.expected_calibration_error(before, labels, BINS),
        "ece_after": calibration.expected_calibration_error(after, labels, BINS),
        "nll_before": nll(before, labels),
        "nll_after": nll(after, labels),
        "confidence_before": float(before.max(axis=1).mean()),
        "confidence_after": float(after.max(axis=1).mean()),
        "top_bin_share": float(np.mean(before.max(axis=1) > (BINS - 1) / BINS)),
        "mistakes": int(np.sum(before.argmax(axis=1) != labels)),
        "ece_spread": ece_spread(before, labels),
    }


def direction(temperature: float) -> str:
    """What T says about the run, in the page's words."""
    if temperature > 1:
        return (
            "above 1: the run was overconfident, and dividing its logits by T softens its "
            "probabilities"
        )
    return (
        "below 1: the run was underconfident, and dividing its logits by T sharpens its "
        "probabilities"
    )


def calibration_facts(measured: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """The `calibration.*` facts of one measurement, of the run whose config.json is `config`."""
    return {
        "calibration.run": (
            f"`{config['model']}` trained for {config['epochs']} epochs at seed {config['seed']}"
        ),
        "calibration.validation_images": f"{measured['fit_images'] + measured['report_images']:,}",
        "calibration.fit_images": f"{measured['fit_images']:,}",
        "calibration.report_images": f"{measured['report_images']:,}",
        "calibration.bins": str(BINS),
        "calibration.temperature": f"{measured['temperature']:.3f}",
        "calibration.direction": direction(measured["temperature"]),
        "calibration.accuracy": f"{measured['accuracy']:.2%}",
        "calibration.ece_before": f"{measured['ece_before']:.4f}",
        "calibration.ece_after": f"{measured['ece_after']:.4f}",
        "calibration.nll_before": f"{measured['nll_before']:.4f}",
        "calibration.nll_after": f"{measured['nll_after']:.4f}",
        "calibration.confidence_before": f"{measured['confidence_before']:.2%}",
        "calibration.confidence_after": f"{measured['confidence_after']:.2%}",
        "calibration.top_bin_share": f"{measured['top_bin_share']:.1%}",
        "calibration.mistakes": str(measured["mistakes"]),
        "calibration.ece_spread": f"{measured['ece_spread']:.4f}",
        "calibration.ece_verdict": ece_verdict(
            measured["ece_before"], measured["ece_after"], measured["ece_spread"]
        ),
    }


def _pixels(figure: Any) -> np.ndarray:
    """A figure drawn by Agg, as an RGBA array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def before_after_figure(measured: dict[str, Any]) -> Any:
    """The solution's two reliability diagrams, before and after, side by side in one figure."""
    from matplotlib.figure import Figure

    panels = []
    for key, when in (("before", "before"), ("after", f"after T = {measured['temperature']:.3f}")):
        figure = calibration.reliability_figure(measured[key], measured["labels"], BINS)
        figure.suptitle(f"{measured['report_images']:,} validation images, {when}")
        panels.append(_pixels(figure))
    height = max(panel.shape[0] for panel in panels)
    joined = np.concatenate([panel[:height] for panel in panels], axis=1)
    figure = Figure(figsize=(joined.shape[1] / 100, joined.shape[0] / 100), dpi=100)
    figure.figimage(joined, xo=0, yo=0, origin="upper")
    return figure


def main(argv: Sequence[str] | None = None) -> None:
    from mnist_lab.evaluation.plots import save_figure
    from mnist_lab.runs import open_run
    from mnist_lab.scale.machine import describe_machine, machine_info

    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run to reuse (default: train one)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"target folder (default: {OUT})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mnist-lab-calibration-") as work:
        run = args.run or train_reference(Path(work))
        logits, labels = calibration.validation_logits(run)
        config = open_run(run).config
    measured = measure(logits, labels)
    save_figure(before_after_figure(measured), args.out / FIGURE_PNG)
    facts = calibration_facts(measured, config) | {
        "calibration.date": datetime.now(timezone.utc).date().isoformat(),
        "calibration.machine": describe_machine(machine_info()),
        "calibration.seconds": f"{time.perf_counter() - started:.0f}",
        "calibration.command": f"`{COMMAND}{' --run RUN' if args.run else ''}`",
    }
    write_json_atomic(args.out / FACTS_JSON, dict(sorted(facts.items())))
    print(f"wrote {args.out / FIGURE_PNG} and {args.out / FACTS_JSON}")


if __name__ == "__main__":
    main()
