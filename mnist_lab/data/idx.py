"""The IDX file format of the original MNIST files: read and write, raw or gzip.

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian. The reader checks
every part of that before it trusts a byte, because a truncated download must never become a
silently shorter dataset.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from mnist_lab.core.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

# IDX dtype codes and the big-endian numpy dtypes they stand for.
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES: dict[str, int] = {dtype.newbyteorder("=").str: code for code, dtype in DTYPES.items()}


class IdxError(DataError, ValueError):
    """The bytes are not a valid IDX file."""


def gunzip_if_needed(data: bytes, name: str) -> bytes:
    """Decompress gzip bytes (recognized by their magic number); return other bytes unchanged."""
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise IdxError(f"{name} is a damaged gzip file ({error}).") from None


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes (raw or gzip) into a native-endian array, validating the whole layout."""
    data = gunzip_if_needed(data, name)
    if len(data) < 4:
        raise IdxError(f"{name} is too short to be an IDX file: {len(data)} bytes, need 4 or more.")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IdxError(
            f"{name} is not an IDX file: its magic number must start with two zero bytes, "
            f"got {data[:2].hex()}."
        )
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise IdxError(f"{name} has an unknown IDX dtype code 0x{code:02X} (known: {known}).")
    if ndim == 0:
        raise IdxError(f"{name} declares 0 dimensions; an IDX array needs at least 1.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxError(
            f"{name} is truncated inside its header: {ndim} dimensions need {header_size} bytes, "
            f"the file has {len(data)}."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise IdxError(
            f"{name} is {problem}: shape {shape} of {dtype.name} needs {expected} bytes of data, "
            f"found {found}."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed whatever its name) into a numpy array."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise IdxError(f"Cannot read {path}: {error.strerror or error}.") from None
    return parse_idx(data, name=str(path))


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as raw IDX bytes; the dtype must be one IDX knows."""
    array = np.asarray(array)
    code = CODES.get(array.dtype.newbyteorder("=").str)
    if code is None:
        known = ", ".join(dtype.newbyteorder("=").name for dtype in DTYPES.values())
        raise IdxError(f"IDX cannot store dtype {array.dtype.name} (it stores: {known}).")
    if array.ndim == 0 or array.ndim > 255:
        raise IdxError(f"IDX stores 1 to 255 dimensions, got {array.ndim}.")
    if any(size >= 2**32 for size in array.shape):
        raise IdxError(f"IDX dimensions must be below 2**32, got shape {array.shape}.")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file; gzip it when `compress` is true or the name ends in .gz."""
    path = Path(path)
    data = to_idx_bytes(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
