"""A user's picture of a digit -> a 28x28 MNIST-style digit, made the way MNIST itself was made.

MNIST digits are white on black, scaled so that the longer side of the digit is 20 pixels (with
antialiasing), and placed in a 28x28 field so that their center of mass is at the center.
A model trained on MNIST only recognizes digits prepared the same way, so a photo or a drawing
goes through the same steps: grayscale, polarity, background removal (lighting that changes
across the paper included), crop, fit 20x20, center of mass to (14, 14).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mnist_lab.core.errors import ImageError

SIZE = 28  # the MNIST field
BOX = 20  # the longer side of the digit inside it
CENTER = 14.0  # where MNIST puts the center of mass (row and column, in pixel indices)
INK_THRESHOLD = 0.2  # a pixel is ink if it is at least this share of the brightest one
MIN_CONTRAST = 0.1  # below this (on a 0..1 scale) the image is taken as blank
FORMATS = "PNG or JPEG"
MAX_PIXELS = 64_000_000  # 8000 x 8000: far above any camera's digit, far below a memory bomb
WORKING_SIDE = 1024  # larger pictures are shrunk to this longer side before any arithmetic


def _as_unit_float(gray: np.ndarray) -> np.ndarray:
    """Grayscale pixels as float64 in [0, 1]: uint8 / 255, uint16 / 65535, floats as they are."""
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(
            f"prepare_digit expects a 2-D grayscale image (height, width), got shape {gray.shape}; "
            "convert a color image to grayscale first (load_digit does it for files)."
        )
    if gray.dtype == np.bool_:
        return gray.astype(np.float64)
    if gray.dtype in (np.uint8, np.uint16):
        return gray.astype(np.float64) / np.iinfo(gray.dtype).max
    if np.issubdtype(gray.dtype, np.floating):
        if not np.all(np.isfinite(gray)) or gray.min() < 0 or gray.max() > 1:
            raise ValueError(
                "prepare_digit expects float pixels in [0, 1], got values from "
                f"{gray.min()} to {gray.max()}; divide 0..255 pixels by 255 first."
            )
        return gray.astype(np.float64)
    raise ValueError(
        f"prepare_digit expects uint8, uint16 or float pixels, got dtype {gray.dtype}; "
        "convert 0..255 values with .astype(np.uint8)."
    )


def _border(image: np.ndarray) -> np.ndarray:
    """The pixels of the outer frame: where the background shows in any sane picture."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def _background(image: np.ndarray) -> np.ndarray:
    """The paper's brightness at every pixel: a plane fitted to the frame's pixels.

    A desk lamp or a window lights a sheet unevenly, from one side to the other; a plane
    follows that, where one level for the whole sheet would leave its darker side as ink. The
    fit is done twice, the second time without the frame pixels the first left far above it
    (a stroke touching the edge).
    """
    rows, cols = np.indices(image.shape)
    frame = np.zeros(image.shape, dtype=bool)
    frame[[0, -1], :] = frame[:, [0, -1]] = True
    design = np.stack([np.ones(frame.sum()), rows[frame], cols[frame]], axis=1)
    values = image[frame]
    keep = np.ones(len(values), dtype=bool)
    for _ in range(2):
        coefficients = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
        residuals = values - design @ coefficients
        keep = residuals <= np.quantile(residuals, 0.8) + 1e-9
    return coefficients[0] + coefficients[1] * rows + coefficients[2] * cols


def _ink(gray: np.ndarray, name: str) -> np.ndarray:
    """White-on-black ink in [0, 1] with the background at 0, or ImageError if there is none."""
    image = _as_unit_float(gray)
    border = _border(image)
    # Drawings are mostly dark ink on white paper: a bright frame means the digit is dark.
    if np.median(border) > (image.min() + image.max()) / 2:
        # Paper reflects the light that falls on it, and so does ink: dividing by the paper's
        # brightness makes unevenly lit paper white everywhere and the ink equally dark.
        paper = 1.0 - _background(1.0 - image)
        ink = 1.0 - image / np.clip(paper, 1e-3, None)
    else:  # a light digit on a dark ground (a screen, chalk): what glows above the ground
        ink = image - _background(image)
    ink = np.clip(ink, 0.0, None)
    if ink.max() < MIN_CONTRAST:
        raise ImageError(
            f"{name} contains no digit: it is blank (no pixel stands out from the background); "
            "draw a dark digit on a light background or a light one on a dark background."
        )
    return ink / ink.max()


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Crop the ink to its bounding box and resize it so its longer side is BOX pixels."""
    from PIL import Image

    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Lanczos in float: antialiased when shrinking, smooth when enlarging, no 8-bit rounding.
    resized = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, None)


def _center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """The intensity-weighted mean (row, column) of an image."""
    total = image.sum()
    rows = (image.sum(axis=1) * np.arange(image.shape[0])).sum() / total
    cols = (image.sum(axis=0) * np.arange(image.shape[1])).sum() / total
    return float(rows), float(cols)


def _place(digit: np.ndarray) -> np.ndarray:
    """Put the digit in a 28x28 field with its center of mass at (14, 14), as MNIST did.

    The shift is a whole number of pixels (as in MNIST), and is limited so that no ink is ever
    pushed off the field; only a very lopsided digit ends up more than 1 px off center.
    """
    height, width = digit.shape
    row, col = _center_of_mass(digit)
    top = min(max(round(CENTER - row), 0), SIZE - height)
    left = min(max(round(CENTER - col), 0), SIZE - width)
    field = np.zeros((SIZE, SIZE))
    field[top : top + height, left : left + width] = digit
    return field


def _prepare(gray: np.ndarray, name: str) -> np.ndarray:
    field = _place(_fit_box(_ink(gray, name)))
    # Shrinking a thin stroke dims it; stretch so the brightest pixel is white, like MNIST's.
    return np.round(field * (255 / field.max())).astype(np.uint8)


def prepare_digit(gray: np.ndarray) -> np.ndarray:
    """Turn a grayscale picture of one digit into a uint8 (28, 28) MNIST-style digit.

    `gray` is 2-D: uint8 (0..255), uint16 (0..65535) or float in [0, 1]; either polarity. The
    result is white on black, its ink fits a 20x20 box and its center of mass is at (14, 14).
    Raises ImageError if the picture is blank.
    """
    return _prepare(gray, "The image")


def _grayscale(image) -> np.ndarray:
    """A PIL image of any mode as a 2-D uint8 or uint16 array; transparency shows as white."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)  # phone photos are stored sideways with a rotate tag
    if image.mode.startswith("I"):  # 16-bit grayscale PNG: keep its full range
        pixels = np.asarray(image, dtype=np.int64)
        return np.clip(pixels, 0, 65535).astype(np.uint16)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        # A digit drawn on a transparent canvas: what the user saw was on white.
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _check_size(image, path: Path) -> None:
    """Refuse a picture whose pixel count could exhaust memory once decoded (a PNG "bomb")."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"Cannot read {path}: it is {width:,} x {height:,} pixels, more than the "
            f"{MAX_PIXELS // 1_000_000} megapixels a digit needs; crop or shrink it first."
        )


@contextlib.contextmanager
def _own_size_check() -> Iterator[None]:
    """Pillow's own bomb guard warns, or fails with a message about DOS attacks; `_check_size`
    says it in a student's words instead, at a lower limit."""
    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _shrunk(image):
    """The picture with its longer side at most WORKING_SIDE: the digit ends up 20 pixels tall,
    so more detail only costs memory and time."""
    from PIL import Image

    if max(image.size) <= WORKING_SIDE:
        return image
    scale = WORKING_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX)


def load_digit(path: str | Path) -> np.ndarray:
    """Read a PNG or JPEG of one digit (any size or mode) as a uint8 (28, 28) MNIST-style digit."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ImageError(f"Cannot read {path}: it {what}; give a {FORMATS} image of a digit.")
    try:
        path.open("rb").close()  # a file we may not open is not a damaged image
    except OSError as error:
        raise ImageError(f"Cannot read {path} ({error.strerror or error}).") from None
    try:
        with _own_size_check(), Image.open(path) as image:
            _check_size(image, path)  # from the header, before a single pixel is decoded
            image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced scale
            image.load()  # decode now, so a truncated file fails here
            gray = _grayscale(_shrunk(image))
    except UnidentifiedImageError:
        raise ImageError(
            f"Cannot read {path}: it is not an image file; give a {FORMATS} image of a digit."
        ) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        # Damaged files raise OSError, ValueError or SyntaxError depending on the decoder.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageError(
            f"Cannot read {path}: the image is damaged or unsupported ({reason}); "
            f"give a {FORMATS} image of a digit."
        ) from None
    return _prepare(gray, str(path))
