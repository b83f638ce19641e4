"""A user's picture of a digit -> a 28x28 MNIST-style digit, made the way MNIST itself was made.

MNIST digits are white on black, scaled so that the longer side of the digit is 20 pixels (with
antialiasing), and placed in a 28x28 field so that their center of mass is at the center.
A model trained on MNIST only recognizes digits prepared the same way, so a photo or a drawing
goes through the same steps: grayscale, polarity, background removal (lighting that changes
across the paper included), crop, fit 20x20, center of mass to (14, 14).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

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


def prepare_digit(gray: np.ndarray, *, name: str = "The image") -> np.ndarray:
    """Turn a grayscale picture of one digit into a uint8 (28, 28) MNIST-style digit.

    `gray` is 2-D: uint8 (0..255), uint16 (0..65535) or float in [0, 1]; either polarity. The
    result is white on black, its ink fits a 20x20 box and its center of mass is at (14, 14).
    Raises ImageError if the picture is blank; `name` is how that message calls the picture
    (`load_digit` gives the file's path, the lab "The drawing").
    """
    field = _place(_fit_box(_ink(gray, name)))
    # Shrinking a thin stroke dims it; stretch so the brightest pixel is white, like MNIST's.
    return np.round(field * (255 / field.max())).astype(np.uint8)


# --- reading a picture file ----------------------------------------------------------------


class TooManyPixelsError(ImageError):
    """A picture whose header declares more than MAX_PIXELS pixels: refused before decoding."""

    def __init__(self, message: str, width: int, height: int) -> None:
        super().__init__(message)
        self.width, self.height = width, height


class NotAnImageError(ImageError):
    """A file that no image format (of those allowed) recognises."""


class DamagedImageError(ImageError):
    """An image file whose pixels cannot be decoded; `reason` is the decoder's error."""

    def __init__(self, message: str, reason: BaseException) -> None:
        super().__init__(message)
        self.reason = reason


def read_picture(
    source: Path | BinaryIO, name: str, *, formats: Sequence[str] | None = None
) -> np.ndarray:
    """Decode a picture file (a path, or a binary file object) into a 2-D grayscale array whose
    longer side is at most WORKING_SIDE, ready for `prepare_digit`.

    The size the header declares is checked before a single pixel is decoded (a PNG "bomb" of a
    few kilobytes can declare gigapixels), against MAX_PIXELS and without touching Pillow's own
    process-wide limit, so any number of threads may read pictures at once (the lab does).
    `formats` restricts the formats tried (Pillow's names: "PNG", "JPEG"); `name` is how the
    messages call the picture. Raises TooManyPixelsError, NotAnImageError or DamagedImageError,
    each an ImageError with a one-line message and the facts a caller may word its own way.
    """
    from PIL import Image, UnidentifiedImageError

    allowed = [kind.upper() for kind in formats] if formats is not None else None
    with contextlib.ExitStack() as stack:
        file = source if hasattr(source, "read") else stack.enter_context(open(source, "rb"))
        try:
            size = _declared_size(file, allowed)
            if size is not None:
                _check_size(*size, name)
            with Image.open(file, formats=allowed) as image:
                _check_size(*image.size, name)  # the format that opened it is the one to trust
                image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced scale
                image.load()  # decode now, so a truncated file fails here
                return _grayscale(_shrunk(image))
        except UnidentifiedImageError:
            raise NotAnImageError(
                f"Cannot read {name}: it is not an image file; give a {FORMATS} image of a digit."
            ) from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            # Damaged files raise OSError, ValueError or SyntaxError depending on the decoder.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DamagedImageError(
                f"Cannot read {name}: the image is damaged or unsupported ({reason}); "
                f"give a {FORMATS} image of a digit.",
                error,
            ) from None


def _declared_size(file: BinaryIO, formats: Sequence[str] | None) -> tuple[int, int] | None:
    """The (width, height) a picture's header declares, or None if no format recognises it.

    `Image.open` reads the same header, but then applies Pillow's bomb guard: it warns past
    `Image.MAX_IMAGE_PIXELS`, or fails with a message about DOS attacks, and that limit is one
    global for the whole process, which no thread may change for itself. So the header is read
    here the way `Image.open` reads it (each registered format's check of the first bytes, then
    its reader, which reads the header only), and the caller applies MAX_PIXELS, a lower limit
    in a student's words, before `Image.open` ever sees the picture.
    """
    import struct

    from PIL import Image

    Image.init()  # every format registered, as Image.open does before giving up
    file.seek(0)
    prefix = file.read(16)
    for kind in formats if formats is not None else list(Image.ID):
        if kind not in Image.OPEN:
            continue
        reader, accept = Image.OPEN[kind]
        accepted = not accept or accept(prefix)
        if not accepted or isinstance(accepted, str):  # a str is a reason it was not accepted
            continue
        file.seek(0)
        try:
            return reader(file, "").size
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # not this format after all: Image.open tries the next one too
        except Exception:  # a damaged header: Image.open raises the same error, worded there
            return None
        finally:
            file.seek(0)
    return None


def _check_size(width: int, height: int, name: str) -> None:
    """Refuse a picture whose pixel count could exhaust memory once decoded (a PNG "bomb")."""
    if width * height > MAX_PIXELS:
        raise TooManyPixelsError(
            f"Cannot read {name}: it is {width:,} x {height:,} pixels, more than the "
            f"{MAX_PIXELS // 1_000_000} megapixels a digit needs; crop or shrink it first.",
            width,
            height,
        )


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
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ImageError(f"Cannot read {path}: it {what}; give a {FORMATS} image of a digit.")
    try:
        path.open("rb").close()  # a file we may not open is not a damaged image
    except OSError as error:
        raise ImageError(f"Cannot read {path} ({error.strerror or error}).") from None
    return prepare_digit(read_picture(path, str(path)), name=str(path))
