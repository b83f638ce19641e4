"""Matplotlib figures of training, drawn without pyplot so no window or GUI backend is needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnist_lab.core.fileio import atomic_path

CURVES = (("accuracy", "Accuracy"), ("loss", "Loss"))


def curves_figure(history: Sequence[dict[str, float]], title: str = ""):
    """A figure with accuracy and loss per epoch, training and validation, side by side."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4), layout="constrained")
    for axes, (key, label) in zip(figure.subplots(1, 2), CURVES, strict=True):
        axes.plot(epochs, [row[key] for row in history], "o-", label="training")
        axes.plot(epochs, [row[f"val_{key}"] for row in history], "s--", label="validation")
        axes.set_title(label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def save_figure(figure, path: str | Path) -> Path:
    """Save a figure as PNG through a temporary file, so a reader never sees half an image."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path


def confusion_matrix_figure(confusion, title: str = ""):
    """A heatmap of a confusion matrix with the count written in each cell.

    Colours follow a log scale, so the few mistakes stay visible next to the thousand correct
    answers on the diagonal; each count is written in white on dark cells, black on light ones.
    """
    import numpy as np
    from matplotlib.colors import SymLogNorm
    from matplotlib.figure import Figure

    confusion = np.asarray(confusion)
    classes = range(confusion.shape[0])
    norm = SymLogNorm(linthresh=1, vmin=0, vmax=max(int(confusion.max()), 1), base=10)
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(confusion, cmap="Blues", norm=norm)
    for (row, col), count in np.ndenumerate(confusion):
        colour = "white" if norm(count) > 0.6 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(classes)
    axes.set_yticks(classes)
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    figure.colorbar(image, ax=axes, label="images (log scale)")
    if title:
        axes.set_title(title)
    return figure


def gallery_figure(images, captions: Sequence[str], columns: int = 8, title: str = ""):
    """A grid of 28x28 grayscale images, each with its caption above it (e.g. "true 4 → 9")."""
    import math

    import numpy as np
    from matplotlib.figure import Figure

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if len(images) != len(captions):
        raise ValueError(
            f"gallery_figure needs one caption per image, got {len(images)} images "
            f"and {len(captions)} captions."
        )
    if len(images) and images.ndim != 3:
        raise ValueError(f"gallery_figure expects images (N, 28, 28), got shape {images.shape}.")
    if columns < 1:
        raise ValueError(f"columns must be an int >= 1, got {columns}.")
    white = 255 if np.issubdtype(images.dtype, np.integer) else 1.0
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(
        figsize=(1.4 * columns, 1.7 * rows + (0.4 if title else 0)), layout="constrained"
    )
    grid = np.asarray(figure.subplots(rows, columns, squeeze=False))
    for index, axes in enumerate(grid.flat):
        if index >= len(images):
            axes.set_axis_off()
            continue
        axes.imshow(images[index], cmap="gray", vmin=0, vmax=white)
        axes.set_title(captions[index], fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    if not len(images):
        grid.flat[0].text(0.5, 0.5, "nothing to show", ha="center", va="center")
    if title:
        figure.suptitle(title)
    return figure


OVERLAY = (("val_accuracy", "Validation accuracy"), ("val_loss", "Validation loss"))


def overlay_figure(histories: dict[str, Sequence[dict[str, float]]], title: str = ""):
    """Validation accuracy and loss per epoch of several models, one line each, to compare them."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    panels = figure.subplots(1, 2, sharex=True)
    for axes, (key, label) in zip(panels, OVERLAY, strict=True):
        for name, history in histories.items():
            axes.plot(
                [row["epoch"] for row in history], [row[key] for row in history], "o-", label=name
            )
        axes.set_title(label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(label.lower())
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if histories:
            axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def accuracy_vs_time_figure(points: Sequence[tuple[str, float, float]], title: str = ""):
    """Validation accuracy (in %) against training seconds, one named point per model: the
    trade-off the course chooses by (the test set is kept for the one final score)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 5), layout="constrained")
    axes = figure.subplots()
    seconds = [point[1] for point in points]
    percent = [100 * point[2] for point in points]
    axes.plot(seconds, percent, "o", linestyle="none")
    for (name, _, _), x, y in zip(points, seconds, percent, strict=True):
        axes.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points")
    axes.set_xlabel("training time (seconds)")
    axes.set_ylabel("validation accuracy (%)")
    axes.margins(x=0.2, y=0.15)  # room for the names beside the points
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title)
    return figure


# --- inside a CNN (mnist_lab.evaluation.inspection) ------------------------------------------


def filters_figure(filters, *, columns: int = 8, title: str = ""):
    """A convolution's filters (kh, kw, C, F) side by side, `columns` to a row, as one image.

    Red is a positive weight (ink there raises the filter's answer), blue a negative one, on one
    scale centred at 0 for all filters, with its colour bar. A filter's number is its row's
    label plus its column's. A filter over several input channels shows its first channel (a
    first layer of MNIST has only one).
    """
    import numpy as np
    from matplotlib.figure import Figure

    filters = np.asarray(filters, dtype=np.float64)
    if filters.ndim != 4:
        raise ValueError(
            f"filters_figure expects filters (kh, kw, C, F), got shape {filters.shape}."
        )
    if columns < 1:
        raise ValueError(f"columns must be an int >= 1, got {columns}.")
    count = filters.shape[-1]
    columns = max(1, min(columns, count))
    mosaic, centres = _tiles(filters[:, :, 0, :], columns)
    limit = float(np.abs(filters).max()) or 1.0
    rows = len(centres[0])
    figure = Figure(figsize=(0.75 * columns + 1.8, 0.75 * rows + 1.0), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(mosaic, cmap=_with_blank("RdBu_r"), vmin=-limit, vmax=limit)
    axes.set_xticks(centres[1], [f"+{column}" for column in range(columns)])
    axes.set_yticks(centres[0], [str(row * columns) for row in range(rows)])
    axes.tick_params(length=0)
    axes.set_xlabel("filter number: the row's plus the column's")
    for side in axes.spines.values():
        side.set_visible(False)
    figure.colorbar(image, ax=axes, label="weight", shrink=0.8)
    if title:
        figure.suptitle(title)
    return figure


def feature_maps_figure(maps, image=None, *, channels: int = 16, title: str = ""):
    """Every convolution's feature maps for one image: a labelled row per layer.

    `maps` maps a layer's name to its output (height, width, channels) for one image, in the
    order the network runs them (as `inspection.Look.feature_maps`). Each row shows the first
    `channels` maps side by side, numbered, on one colour scale per layer, so a channel that
    stays dark did not answer. `image`, if given, is drawn first: the input the layers saw.
    """
    import numpy as np
    from matplotlib.figure import Figure

    if channels < 1:
        raise ValueError(f"channels must be an int >= 1, got {channels}.")
    maps = {name: np.asarray(values, dtype=np.float64) for name, values in maps.items()}
    for name, values in maps.items():
        if values.ndim != 3:
            raise ValueError(
                f"feature_maps_figure expects each layer's maps as (height, width, channels) "
                f"for one image; '{name}' has shape {values.shape}."
            )
    if not maps:
        raise ValueError("feature_maps_figure needs the maps of at least one layer.")
    columns = min(channels, max(values.shape[-1] for values in maps.values()))
    rows = len(maps) + (image is not None)
    figure = Figure(
        figsize=(1.0 * columns, 1.45 * rows + (0.4 if title else 0)), layout="constrained"
    )
    panels = np.atleast_1d(figure.subplots(rows, 1))
    if image is not None:
        pixels = np.asarray(image).reshape(28, 28)
        white = 255 if np.issubdtype(pixels.dtype, np.integer) else 1.0
        _row_of_tiles(panels[0], pixels[..., np.newaxis] / white, columns, "gray", 0, 1)
        panels[0].set_xticks([])
        panels[0].set_title("input, 28x28", loc="left", fontsize=10)
    for axes, (name, values) in zip(panels[rows - len(maps) :], maps.items(), strict=True):
        height, width, count = values.shape
        shown = values[..., : min(count, columns)]
        low, high = float(shown.min()), float(shown.max())
        _row_of_tiles(axes, shown, columns, "viridis", low, high if high > low else low + 1)
        which = f", the first {shown.shape[-1]}" if shown.shape[-1] < count else ""
        axes.set_title(
            f"{name}: {height}x{width}, {count} channels{which}", loc="left", fontsize=10
        )
    if title:
        figure.suptitle(title)
    return figure


def _row_of_tiles(axes, images, columns: int, cmap: str, low: float, high: float) -> None:
    """Images (h, w, n) side by side in one axes, as wide as `columns` of them, numbered."""
    import numpy as np

    height, width, count = images.shape
    mosaic, centres = _tiles(images, count)
    gap = _gap(height, width)
    blank = np.full((height, (columns - count) * (width + gap)), np.nan)
    axes.imshow(np.hstack([mosaic, blank]), cmap=_with_blank(cmap), vmin=low, vmax=high)
    axes.set_xticks(centres[1], [str(channel) for channel in range(count)], fontsize=7)
    axes.set_yticks([])
    axes.tick_params(length=0)
    for side in axes.spines.values():
        side.set_visible(False)


def _tiles(images, columns: int):
    """Images (h, w, n) laid out `columns` to a row with a blank (NaN) gap between them; also
    the tiles' centres, (row centres, column centres), in the mosaic's pixels."""
    import math

    import numpy as np

    height, width, count = images.shape
    gap = _gap(height, width)
    rows = math.ceil(count / columns)
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for index in range(count):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        mosaic[top : top + height, left : left + width] = images[..., index]
    centres = (
        [row * (height + gap) + (height - 1) / 2 for row in range(rows)],
        [column * (width + gap) + (width - 1) / 2 for column in range(columns)],
    )
    return mosaic, centres


def _gap(height: int, width: int) -> int:
    """The blank between two tiles: a pixel for a 3x3 filter, two for a 26x26 map."""
    return max(1, round(max(height, width) / 12))


def _with_blank(name: str):
    """A colour map that leaves blank (NaN) pixels, the gaps between tiles, transparent."""
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=(0, 0, 0, 0))


def saliency_figure(
    image,
    saliency,
    digit: int,
    probability: float,
    *,
    label=None,
    title: str = "",
    of: str = "logit",
):
    """Which pixels a model's answer depends on: the digit, then its saliency over it.

    `saliency` (28, 28) is d logit(digit) / d pixel (`inspection.saliency`; `of` names what it
    is the gradient of, "logit" or "log-probability", for the colour bar). It is drawn over the
    digit, dimmed to gray, in red where more ink would raise the score of `digit` and in blue
    where it would lower it, more opaque where larger, with a colour bar. The title gives the
    predicted `digit` and its `probability`, and the true `label` if known.
    """
    import numpy as np
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    pixels = np.asarray(image).reshape(28, 28)
    gradient = np.asarray(saliency, dtype=np.float64)
    if gradient.shape != (28, 28):
        raise ValueError(f"saliency_figure expects a (28, 28) saliency, got {gradient.shape}.")
    white = 255 if np.issubdtype(pixels.dtype, np.integer) else 1.0
    limit = float(np.abs(gradient).max()) or 1.0
    norm = Normalize(vmin=-limit, vmax=limit)
    colours = ScalarMappable(norm=norm, cmap="RdBu_r")
    overlay = colours.to_rgba(gradient)
    overlay[..., 3] = np.clip(np.abs(gradient) / limit, 0, 1) ** 0.7 * 0.9

    figure = Figure(figsize=(7.5, 3.9), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.imshow(pixels, cmap="gray", vmin=0, vmax=white)
    right.imshow(pixels, cmap="gray", vmin=0, vmax=2 * white)  # dimmed: the colours stand out
    right.imshow(overlay)
    for axes in (left, right):
        axes.set_xticks([])
        axes.set_yticks([])
    left.set_title("input")
    right.set_title("saliency over the input")
    score = f"log p({digit})" if of == "log-probability" else f"logit({digit})"
    figure.colorbar(colours, ax=right, label=f"d {score} / d pixel", shrink=0.9)
    answer = f"predicted {digit} ({probability:.2%})"
    if label is not None:
        answer += f", true {label}"
    figure.suptitle(f"{title}: {answer}" if title else answer)
    return figure
