"""What a request to the lab sends, checked: the body's size and JSON, the run's epoch, and the
digit, a drawing (a PNG or JPEG data URL) or 28x28 pixels, turned into the network's input.

A drawing goes through the same preparation as `mnist-lab predict` (mnist_lab.data.images);
pixels are the network's input as they are. Anything wrong is a LabError: 413 for a body over
MAX_BODY or a picture above images.MAX_PIXELS (read from its header, before it is decoded), 400
for anything else a client got wrong.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request

from mnist_lab.core import runs
from mnist_lab.core.errors import ImageError, first_line
from mnist_lab.data import images
from mnist_lab.lab.errors import LabError

MAX_BODY = 1_000_000  # bytes: a 280x280 canvas as a PNG data URL is a few tens of kilobytes
DATA_URL_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,")
FORMATS = ("PNG", "JPEG")  # what a data URL may hold (Pillow's names)


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY, by its Content-Length or by what arrives."""
    too_big = LabError(413, f"The request is larger than {MAX_BODY:,} bytes; send a smaller image.")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise LabError(400, "The Content-Length header is not a number of bytes.")
        if int(length) > MAX_BODY:
            raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_big
    return bytes(body)


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or LabError 400."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise LabError(
            400, 'The request body is not JSON; send {"run": NAME, "image": DATA_URL}.'
        ) from None
    if not isinstance(payload, dict):
        raise LabError(400, 'The request body must be a JSON object such as {"run": NAME, ...}.')
    return payload


def requested_epoch(payload: dict[str, Any], name: str, folder: Path) -> int | None:
    """The payload's 'epoch' (None: the final weights), one whose weights the run kept."""
    epoch = payload.get("epoch")
    if epoch is None:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise LabError(400, f"The 'epoch' field must be an int >= 1. Got {epoch!r} instead.")
    kept = sorted(runs.Run(folder).epoch_weights)
    if epoch not in kept:
        which = f"it kept epochs {', '.join(map(str, kept))}" if kept else "it kept no epochs"
        raise LabError(400, f"The run '{name}' has no weights for epoch {epoch}: {which}.")
    return epoch


def digit_from_data_url(url: Any) -> np.ndarray:
    """A PNG or JPEG data URL -> the uint8 (28, 28) digit `mnist-lab predict` would see."""
    if not isinstance(url, str) or not url.startswith(DATA_URL_PREFIXES):
        raise LabError(
            400, "The 'image' field must be a data URL: data:image/png;base64,... (or jpeg)."
        )
    try:
        data = base64.b64decode(url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise LabError(400, "The 'image' field is not valid base64 after 'base64,'.") from None
    try:
        gray = images.read_picture(io.BytesIO(data), "the image", formats=FORMATS)
    except images.TooManyPixelsError as error:  # from the header, before decoding
        raise LabError(
            413,
            f"The image is {error.width:,} x {error.height:,} pixels, more than the "
            f"{images.MAX_PIXELS // 1_000_000} megapixels a digit needs.",
        ) from None
    except images.NotAnImageError:
        raise LabError(400, "The 'image' field is not a PNG or JPEG image.") from None
    except images.DamagedImageError as error:
        raise LabError(
            400, f"The image is damaged or unsupported ({first_line(error.reason)})."
        ) from None
    try:
        return images.prepare_digit(gray, name="The drawing")
    except ImageError as error:
        raise LabError(400, str(error)) from None


def input_from_pixels(pixels: Any) -> np.ndarray:
    """28x28 numbers in [0, 1] -> the float32 (28, 28) network input, as they are."""
    rule = "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1"
    if not isinstance(pixels, list) or len(pixels) != images.SIZE:
        raise LabError(400, f"{rule}. Got {_shape_of(pixels)} instead.")
    for row in pixels:
        if not isinstance(row, list) or len(row) != images.SIZE:
            raise LabError(400, f"{rule}. Got a row of {_shape_of(row)} instead.")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise LabError(400, f"{rule}. Got a value that is not a number.")
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except OverflowError:
        raise LabError(400, f"{rule}. Got a number too large for a float.") from None
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise LabError(400, f"{rule}. Got values from {array.min()} to {array.max()}.")
    if array.max() < images.MIN_CONTRAST:
        raise LabError(400, "The pixels are blank: draw a digit first.")
    return array.astype(np.float32)


def _shape_of(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} items"
    return f"a {type(value).__name__}"
