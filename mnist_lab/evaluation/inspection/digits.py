"""Which digits `inspect_run` looks at, and the files their figures go to.

The digits are the user's pictures (prepared as `mnist-lab predict` prepares them) or one image
of a split of MNIST as the run saw it: its validation images (the default: where error analysis
looks) or the test set. One digit's figures take the plain names (feature_maps.png,
saliency.png); several get feature_maps-NAME.png and saliency-NAME.png, NAME from the picture's
file name, numbered -2, -3... when two pictures share one. A figure never replaces a picture
being inspected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.errors import ConfigError, RunError
from mnist_lab.core.naming import unused_name
from mnist_lab.evaluation.splits import VALIDATION, run_split

FILTERS_PNG, FEATURE_MAPS_PNG, SALIENCY_PNG = "filters.png", "feature_maps.png", "saliency.png"


@dataclass
class Digit:
    """One image to look at: its pixels, where it came from, its label if known, and the stem
    of its figures' names when there are several."""

    pixels: np.ndarray = field(repr=False)
    source: str
    label: int | None
    stem: str


def picture_digits(paths: Sequence[str | Path]) -> list[Digit]:
    """The user's pictures as digits, each prepared as `mnist-lab predict` prepares it."""
    from mnist_lab.data import images as image_files

    return [Digit(image_files.load_digit(p), str(p), None, Path(p).stem) for p in paths]


def split_digit(run: Any, split: str, index: int, dataset: Any) -> Digit:
    """Image `index` of the run's `split` ('validation': the images it held out, from its own
    seed; or 'test'). `dataset` defaults to load_mnist() from the run's data folder; ConfigError
    if the split has no such image, saying which indices it has."""
    chosen = run_split(run, split, dataset)
    if index >= len(chosen):
        held = (
            f"this run held out {len(chosen):,} validation images"
            if split == VALIDATION
            else f"the test set has {len(chosen):,} images"
        )
        raise ConfigError(
            f"The 'index' option must be an int from 0 to {len(chosen) - 1} ({held}). "
            f"Got {index} instead.",
            option="index",
        )
    return Digit(
        chosen.images[index],
        f"{split} image {index}",
        int(chosen.labels[index]),
        f"{split}-{index}",
    )


def figure_paths(path: Path, digits: list[Digit], pictures: list[Path]) -> dict[str, Any]:
    """Where each figure goes: {"filters": path, "digits": [(feature maps, saliency), ...]},
    the plain names for one digit, NAME-suffixed ones for several.

    Raises RunError if a figure would replace one of the `pictures` being inspected.
    """
    if len(digits) == 1:
        pairs = [(path / FEATURE_MAPS_PNG, path / SALIENCY_PNG)]
    else:
        pairs, used = [], set()
        for digit in digits:
            stem = unused_name(digit.stem, used)
            used.add(stem)
            pairs.append((path / f"feature_maps-{stem}.png", path / f"saliency-{stem}.png"))
    inputs = {picture.expanduser().resolve() for picture in pictures}
    for target in [path / FILTERS_PNG, *(file for pair in pairs for file in pair)]:
        if target.resolve() in inputs:
            raise RunError(
                f"{target} is one of the pictures to inspect and would be replaced by a figure; "
                "copy the picture out of the run folder first."
            )
    return {"filters": path / FILTERS_PNG, "digits": pairs}
