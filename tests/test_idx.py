"""Tests of the IDX reader and writer: a damaged file must raise IdxError, never load."""

from __future__ import annotations

import gzip
import math
import re
import struct

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mnist_lab.core.errors import DataError
from mnist_lab.data import idx
from mnist_lab.data.idx import DTYPES, IdxError, parse_idx, read_idx, to_idx_bytes, write_idx

SMALL = np.arange(6, dtype=np.uint8).reshape(2, 3)
SMALL_HEADER = b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03"
SMALL_BYTES = SMALL_HEADER + bytes(range(6))
SMALL_GZIP = gzip.compress(SMALL_BYTES, mtime=0)


@st.composite
def idx_arrays(draw):
    """Any array IDX can store: every dtype, either byte order, 1..4 small dims (0 allowed)."""
    dtype = draw(st.sampled_from(list(DTYPES.values())))
    dtype = dtype.newbyteorder(draw(st.sampled_from("<>=")))
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    return draw(arrays(dtype, shape))


def assert_same_array(result, array):
    """Same shape, native dtype of the same kind and bit-identical values (NaN payloads too)."""
    assert result.shape == array.shape
    assert result.dtype == array.dtype.newbyteorder("=")
    assert result.dtype.isnative
    assert result.tobytes() == array.astype(result.dtype).tobytes()


def expected_layout(data: bytes):
    """The shape and dtype that the (decompressed) header of `data` declares."""
    if data[:2] == idx.GZIP_MAGIC:
        data = gzip.decompress(data)
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return shape, DTYPES[data[2]], len(data) - 4 - 4 * ndim


# --- round trips ------------------------------------------------------------------------------


@given(array=idx_arrays())
def test_bytes_round_trip(array):
    """parse_idx(to_idx_bytes(a)) gives back a, whatever the dtype and byte order."""
    assert_same_array(parse_idx(to_idx_bytes(array)), array)


@given(array=idx_arrays())
def test_gzip_bytes_round_trip(array):
    """parse_idx accepts gzip bytes as well as raw ones."""
    assert_same_array(parse_idx(gzip.compress(to_idx_bytes(array))), array)


@settings(max_examples=50)
@given(array=idx_arrays(), mode=st.sampled_from(["raw", "compress", "gz-name", "gz-raw"]))
def test_file_round_trip(tmp_path_factory, array, mode):
    """write_idx then read_idx round trips, raw or gzip, by flag or by a .gz name."""
    folder = tmp_path_factory.mktemp("idx")
    name, compress = {
        "raw": ("a.idx", None),
        "compress": ("a.idx", True),
        "gz-name": ("a.idx.gz", None),
        "gz-raw": ("a.idx.gz", False),
    }[mode]
    path = write_idx(folder / name, array, compress=compress)
    assert path == folder / name
    data = path.read_bytes()
    gzipped = mode in ("compress", "gz-name")
    assert (data[:2] == b"\x1f\x8b") == gzipped
    assert (gzip.decompress(data) if gzipped else data) == to_idx_bytes(array)
    assert_same_array(read_idx(path), array)
    assert_same_array(read_idx(str(path)), array)


def test_exact_bytes_of_a_small_uint8_array():
    """The header is 00 00 08 02 then each dimension as a big-endian uint32, then the data."""
    assert to_idx_bytes(SMALL) == SMALL_BYTES
    result = parse_idx(SMALL_BYTES)
    np.testing.assert_array_equal(result, SMALL)
    assert result.dtype == np.uint8


def test_exact_bytes_of_multibyte_dtypes():
    """Values are written big-endian whatever the machine's byte order."""
    assert (
        to_idx_bytes(np.array([1, -2, 258], dtype=np.int16))
        == b"\x00\x00\x0b\x01\x00\x00\x00\x03" + b"\x00\x01\xff\xfe\x01\x02"
    )
    assert (
        to_idx_bytes(np.array([1.0], dtype=np.float32))
        == b"\x00\x00\x0d\x01\x00\x00\x00\x01" + b"\x3f\x80\x00\x00"
    )
    assert to_idx_bytes(np.array([[-1]], dtype=np.int32)) == (
        b"\x00\x00\x0c\x02\x00\x00\x00\x01\x00\x00\x00\x01" + b"\xff\xff\xff\xff"
    )


def test_write_idx_gzip_is_deterministic(tmp_path):
    """A gzip file written twice has the same bytes (mtime 0), so its digest is stable."""
    first = write_idx(tmp_path / "a.gz", SMALL).read_bytes()
    second = write_idx(tmp_path / "b.gz", SMALL).read_bytes()
    assert first == second
    assert gzip.decompress(first) == SMALL_BYTES


def test_idx_error_is_a_data_error_and_value_error():
    """Callers may catch IdxError as DataError (CLI) or ValueError (plain Python)."""
    assert issubclass(IdxError, DataError)
    assert issubclass(IdxError, ValueError)


# --- rejections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short to be an IDX file: 0 bytes, need 4 or more"),
        (b"\x00\x00\x08", "too short to be an IDX file: 3 bytes"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x00", "must start with two zero bytes, got 0100"),
        (b"\x00\x07\x08\x01\x00\x00\x00\x00", "must start with two zero bytes, got 0007"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x00", "unknown IDX dtype code 0x0A"),
        (b"\x00\x00\xff\x01\x00\x00\x00\x00", "unknown IDX dtype code 0xFF"),
        (b"\x00\x00\x08\x00", "declares 0 dimensions"),
        (
            SMALL_HEADER[:10],
            "truncated inside its header: 2 dimensions need 12 bytes, the file has 10",
        ),
        (
            SMALL_BYTES[:-1],
            "is truncated: shape (2, 3) of uint8 needs 6 bytes of data, found 5",
        ),
        (SMALL_HEADER, "is truncated: shape (2, 3) of uint8 needs 6 bytes of data, found 0"),
        (
            SMALL_BYTES + b"\x00",
            "longer than its header says: shape (2, 3) of uint8 needs 6 bytes of data, found 7",
        ),
        (
            b"\x00\x00\x0b\x01\x00\x00\x00\x02" + b"\x00\x01\x00",
            "is truncated: shape (2,) of int16 needs 4 bytes of data, found 3",
        ),
    ],
)
def test_parse_rejects_invalid_layout(data, message):
    """Each way the layout can be wrong has its own message, naming the data."""
    with pytest.raises(IdxError, match=re.escape(message)):
        parse_idx(data)
    with pytest.raises(IdxError, match=r"^labels\.idx "):
        parse_idx(data, name="labels.idx")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda gz: gz[:-4], id="truncated-trailer"),
        pytest.param(lambda gz: gz[:12], id="truncated-stream"),
        pytest.param(lambda gz: gz[:2], id="magic-only"),
        pytest.param(lambda gz: gz[:-8] + bytes([gz[-8] ^ 0xFF]) + gz[-7:], id="bad-crc"),
        pytest.param(lambda gz: gz[:-1] + bytes([gz[-1] ^ 0x01]), id="bad-length"),
    ],
)
def test_parse_rejects_damaged_gzip(damage):
    """A damaged gzip file is an IdxError that says so, never a shorter array."""
    data = damage(gzip.compress(SMALL_BYTES, mtime=0))
    with pytest.raises(IdxError, match="is a damaged gzip file"):
        parse_idx(data, name="x.gz")


def test_gzip_of_invalid_idx_is_rejected():
    """The layout is checked after decompression too."""
    with pytest.raises(IdxError, match="longer than its header says"):
        parse_idx(gzip.compress(SMALL_BYTES + b"\x00"))


# A gzip header followed by a deflate block of the reserved type 3: zlib rejects the stream.
BAD_DEFLATE = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07"


def test_parse_rejects_damaged_deflate_stream():
    """A gzip file whose compressed data is damaged must raise IdxError too."""
    with pytest.raises(IdxError, match="is a damaged gzip file"):
        parse_idx(BAD_DEFLATE)


@pytest.mark.parametrize(
    "dtype", [np.bool_, np.complex64, np.uint16, np.uint32, np.int64, np.float16, np.uint64]
)
def test_to_idx_bytes_rejects_unsupported_dtypes(dtype):
    """Only the six IDX dtypes can be written; the message lists them."""
    with pytest.raises(
        IdxError,
        match=re.escape(
            f"IDX cannot store dtype {np.dtype(dtype).name} "
            "(it stores: uint8, int8, int16, int32, float32, float64)"
        ),
    ):
        to_idx_bytes(np.zeros(3, dtype=dtype))


def test_to_idx_bytes_rejects_strings_and_objects():
    """Non-numeric arrays are refused too."""
    with pytest.raises(IdxError, match="IDX cannot store dtype"):
        to_idx_bytes(np.array(["a", "b"]))
    with pytest.raises(IdxError, match="IDX cannot store dtype object"):
        to_idx_bytes(np.array([1, None], dtype=object))


def test_to_idx_bytes_rejects_zero_dimensions():
    """A scalar has no shape to write."""
    with pytest.raises(IdxError, match=re.escape("IDX stores 1 to 255 dimensions, got 0.")):
        to_idx_bytes(np.array(5, dtype=np.uint8))


def test_write_idx_with_bad_dtype_creates_no_file(tmp_path):
    """The encoding fails before anything is written."""
    with pytest.raises(IdxError, match="IDX cannot store dtype bool"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=bool))
    assert not (tmp_path / "a.idx").exists()


def test_read_idx_missing_path_names_it(tmp_path):
    """A missing file is an IdxError naming the path, not an OSError."""
    path = tmp_path / "nowhere" / "train-images-idx3-ubyte"
    with pytest.raises(IdxError, match=re.escape(f"Cannot read {path}: ")):
        read_idx(path)


def test_read_idx_on_a_folder_is_an_idx_error(tmp_path):
    """A folder where a file is expected is reported the same way."""
    with pytest.raises(IdxError, match=re.escape(f"Cannot read {tmp_path}")):
        read_idx(tmp_path)


def test_read_idx_names_the_file_in_layout_errors(tmp_path):
    """read_idx passes the path as the name, so the user knows which file is bad."""
    path = tmp_path / "bad.idx"
    path.write_bytes(SMALL_BYTES[:-2])
    with pytest.raises(IdxError, match=re.escape(f"{path} is truncated")):
        read_idx(path)


# --- fuzzing ----------------------------------------------------------------------------------


def check_parse(data: bytes) -> None:
    """parse_idx either raises IdxError or returns what the header declares, byte for byte."""
    try:
        result = parse_idx(data)
    except IdxError:
        return
    shape, dtype, data_size = expected_layout(data)
    assert result.shape == shape
    assert result.dtype == dtype.newbyteorder("=")
    assert result.nbytes == data_size == math.prod(shape) * dtype.itemsize


@settings(max_examples=300)
@given(data=st.binary(max_size=80))
@example(data=b"")
@example(data=b"\x00\x00\x08\x01\x00\x00\x00\x00")
@example(data=SMALL_BYTES)
def test_fuzz_random_bytes(data):
    """Arbitrary bytes never raise anything but IdxError."""
    check_parse(data)


@settings(max_examples=300)
@given(data=st.binary(min_size=4, max_size=40), code=st.sampled_from(list(DTYPES)))
def test_fuzz_random_bytes_after_a_valid_magic(data, code):
    """Past a valid magic number, a random header and data still never crash the reader."""
    check_parse(bytes([0, 0, code]) + data)


@given(array=idx_arrays(), data=st.data())
def test_fuzz_truncated_files(array, data):
    """Any strict prefix of a valid file, raw or gzip, is rejected."""
    raw = to_idx_bytes(array)
    blob = data.draw(st.sampled_from([raw, gzip.compress(raw, mtime=0)]))
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(IdxError):
        parse_idx(blob[:cut])


@given(array=idx_arrays(), data=st.data())
def test_fuzz_header_byte_flips(array, data):
    """A flipped header byte is rejected unless the new header still fits the data exactly."""
    raw = bytearray(to_idx_bytes(array))
    position = data.draw(st.integers(0, 4 + 4 * array.ndim - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    check_parse(bytes(raw))


@settings(max_examples=200)
@given(position=st.integers(0, len(SMALL_GZIP) - 1), mask=st.integers(1, 255))
@example(position=10, mask=0x55)  # the first deflate block's header turns into a reserved type
def test_fuzz_gzip_byte_flips(position, mask):
    """A flipped byte anywhere in a gzip file gives IdxError or the declared array."""
    blob = bytearray(SMALL_GZIP)
    blob[position] ^= mask
    check_parse(bytes(blob))
