"""The figures of an inspection, drawn and written into a run folder: the first layer's filters,
and for each digit its feature maps and its saliency.

`FigureWriter` remembers every path it wrote, and turns a folder it cannot write into one
RunError that says what to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnist_lab.core.errors import RunError
from mnist_lab.evaluation import plots
from mnist_lab.evaluation.inspection.digits import Digit
from mnist_lab.evaluation.inspection.inspector import Inspector

CHANNELS_SHOWN = 16  # feature maps per layer in the figure: enough to see what a layer does


class FigureWriter:
    """Draws one model's inspection figures and saves them into the run folder `path`."""

    def __init__(self, inspector: Inspector, name: str, path: Path) -> None:
        self.inspector = inspector
        self.name = name
        self.path = path
        self.written: list[str] = []

    def __repr__(self) -> str:
        return f"FigureWriter({self.name!r}, {str(self.path)!r})"

    def save(self, figure: Any, target: Path) -> None:
        """Save one figure at `target`; RunError if the run folder cannot be written."""
        try:
            self.written.append(str(plots.save_figure(figure, target)))
        except OSError as error:
            raise RunError(
                f"Cannot write the figures into {self.path} ({error.strerror or error}); "
                "check that the run folder is writable."
            ) from None

    def filters(self, target: Path) -> None:
        """The first convolution's filters, titled with the layer's name and kernel size."""
        filters = self.inspector.first_layer_filters()
        kernel = "x".join(str(size) for size in filters.shape[:2])
        about = f"the {filters.shape[-1]} filters of its first convolution"
        title = f"{self.name}: {about} ({self.inspector.conv_names[0]}, {kernel})"
        self.save(plots.filters_figure(filters, title=title), target)

    def digit(self, digit: Digit, maps_path: Path, saliency_path: Path) -> dict[str, Any]:
        """One digit's feature maps and saliency; returns what they show (see `inspect_run`)."""
        look = self.inspector.look(digit.pixels)
        known = f" (true {digit.label})" if digit.label is not None else ""
        answer = f"predicted {look.digit} ({look.probability:.2%})"
        title = f"{self.name} on {digit.source}{known}: {answer}"
        self.save(
            plots.feature_maps_figure(
                look.feature_maps, digit.pixels, channels=CHANNELS_SHOWN, title=title
            ),
            maps_path,
        )
        self.save(
            plots.saliency_figure(
                digit.pixels,
                look.saliency,
                look.digit,
                look.probability,
                label=digit.label,
                title=f"{self.name} on {digit.source}",
                of=look.saliency_of,
            ),
            saliency_path,
        )
        return {
            "source": digit.source,
            "label": digit.label,
            "digit": look.digit,
            "probability": look.probability,
            "saliency_of": look.saliency_of,
            "files": [str(maps_path), str(saliency_path)],
        }
