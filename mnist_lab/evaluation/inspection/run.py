"""Inspect a finished run (`mnist-lab inspect`): load its model, choose the digits, write the
three figures into the run folder and return what they show.

Only these inspection figures are written; a run's own files are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import ConfigError, RunError
from mnist_lab.evaluation.inspection.digits import figure_paths, picture_digits, split_digit
from mnist_lab.evaluation.inspection.figures import FigureWriter
from mnist_lab.evaluation.inspection.inspector import Inspector
from mnist_lab.evaluation.splits import VALIDATION, check_split


def inspect_run(
    run_path: str | Path,
    images: Sequence[str | Path] = (),
    *,
    index: int | None = None,
    split: str | None = None,
    dataset: Any = None,
) -> dict[str, Any]:
    """Write a run's filters.png, feature_maps.png and saliency.png; return what they show.

    The digits looked at are the pictures `images` (prepared as `mnist-lab predict` prepares
    them) or else image `index` (default 0) of the run's `split`: 'validation' (the default,
    the images the run held out, from its own seed: where error analysis looks) or 'test' (a
    look at the final score's images; it chooses nothing). With several pictures, each gets
    feature_maps-NAME.png and saliency-NAME.png (NAME from its file name). Only these inspection
    figures are written; a run's own files are never touched.
    Returns {"run", "model", "layers" (layer_table), "digits": [{"source", "label", "digit",
    "probability", "saliency_of", "files"}], "files" (every path written, as strings)}.
    `dataset` defaults to load_mnist() from the run's data folder.
    """
    from mnist_lab.core import runs
    from mnist_lab.evaluation.reports import load_run_model

    for option, value in (("index", index), ("split", split)):
        if images and value is not None:
            raise ConfigError(
                f"The '{option}' option chooses a validation or test image: give it or "
                "pictures, not both.",
                option=option,
            )
    split = check_split(VALIDATION if split is None else split)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ConfigError(
            f"The 'index' option must be an int >= 0. Got {index!r} instead.", option="index"
        )
    path = Path(run_path).expanduser()
    pictures = picture_digits(images)  # read first: a bad file is reported before the model
    model = load_run_model(path)
    name = _run_model_name(runs.Run(path), path)
    inspector = Inspector(model, name=name)
    inspector.require_convolutions()
    digits = pictures or [split_digit(runs.Run(path), split, index or 0, dataset)]
    targets = figure_paths(path, digits, [Path(p) for p in images])

    writer = FigureWriter(inspector, name, path)
    writer.filters(targets["filters"])
    seen = [
        writer.digit(digit, maps_path, saliency_path)
        for digit, (maps_path, saliency_path) in zip(digits, targets["digits"], strict=True)
    ]
    return {
        "run": str(path),
        "model": name,
        "layers": inspector.layer_table(),
        "digits": seen,
        "files": writer.written,
    }


def _run_model_name(run: Any, path: Path) -> str:
    try:
        return str(run.config.get("model", path.name))
    except RunError:
        return path.name
