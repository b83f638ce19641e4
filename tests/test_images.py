"""Images: a drawn or photographed digit becomes a 28x28 MNIST-style digit, as MNIST was made."""

from __future__ import annotations

import io
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mnist_lab.core.errors import MnistLabError
from mnist_lab.data.images import (
    DamagedImageError,
    ImageError,
    NotAnImageError,
    TooManyPixelsError,
    load_digit,
    prepare_digit,
    read_picture,
)


def draw_seven(
    size=(320, 240), left=100, top=40, height=150, stroke=14, ink=0, paper=255
) -> np.ndarray:
    """A "7" (bar and diagonal) on a canvas, as a uint8 grayscale array."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    width = int(height * 0.7)
    draw.line([(left, top), (left + width, top)], fill=ink, width=stroke)
    draw.line([(left + width, top), (left + width // 3, top + height)], fill=ink, width=stroke)
    return np.asarray(image)


def center_of_mass(digit: np.ndarray) -> tuple[float, float]:
    weights = digit.astype(np.float64)
    rows = (weights.sum(axis=1) * np.arange(28)).sum() / weights.sum()
    cols = (weights.sum(axis=0) * np.arange(28)).sum() / weights.sum()
    return rows, cols


def ink_box(digit: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_black_on_white_and_white_on_black_give_the_same_digit():
    dark_ink = prepare_digit(draw_seven(ink=0, paper=255))
    light_ink = prepare_digit(draw_seven(ink=255, paper=0))
    assert dark_ink.shape == (28, 28) and dark_ink.dtype == np.uint8
    assert np.abs(dark_ink.astype(int) - light_ink.astype(int)).max() <= 1
    # White digit on black: the frame is black and the brightest pixel is white.
    assert dark_ink[0].max() == 0 and dark_ink[:, 0].max() == 0 and dark_ink.max() == 255


def test_gray_paper_and_gray_ink_are_stretched_to_black_and_white():
    faint = prepare_digit(draw_seven(ink=90, paper=200))
    crisp = prepare_digit(draw_seven(ink=0, paper=255))
    assert np.abs(faint.astype(int) - crisp.astype(int)).max() <= 2


@settings(max_examples=40)
@given(
    height=st.integers(24, 200),
    stroke=st.integers(3, 20),
    across=st.floats(0, 1),
    down=st.floats(0, 1),
)
def test_digit_fits_20x20_with_its_center_of_mass_at_14_14(height, stroke, across, down):
    size = (400, 300)
    width = int(height * 0.7)
    left = stroke + int(across * (size[0] - width - 2 * stroke))
    top = stroke + int(down * (size[1] - height - 2 * stroke))
    digit = prepare_digit(draw_seven(size, left, top, height, stroke))
    rows, cols = ink_box(digit)
    assert max(rows, cols) in (19, 20) and min(rows, cols) <= 20
    row, col = center_of_mass(digit)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_a_float_image_works_like_its_uint8_twin():
    seven = draw_seven()
    np.testing.assert_array_equal(prepare_digit(seven / 255.0), prepare_digit(seven))


@pytest.mark.parametrize("fill", [0, 255, 128])
def test_a_blank_image_is_an_error(fill):
    with pytest.raises(ImageError, match=r"^The image contains no digit: it is blank"):
        prepare_digit(np.full((60, 40), fill, dtype=np.uint8))


def test_noise_alone_is_blank_too():
    noise = np.random.default_rng(0).integers(250, 256, size=(50, 50)).astype(np.uint8)
    with pytest.raises(ImageError, match="contains no digit: it is blank"):
        prepare_digit(noise)


@pytest.mark.parametrize(
    ("gray", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), r"expects a 2-D grayscale image .* got shape \(4, 4, 3\)"),
        (np.zeros((4, 4), np.int64), "expects uint8, uint16 or float pixels, got dtype int64"),
        (np.full((4, 4), 255.0), r"expects float pixels in \[0, 1\], got values from 255.0"),
    ],
)
def test_prepare_digit_rejects_arrays_it_cannot_read(gray, message):
    with pytest.raises(ValueError, match=message):
        prepare_digit(gray)


# --- files ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    return draw_seven()


@pytest.fixture(scope="module")
def expected(seven) -> np.ndarray:
    return prepare_digit(seven)


def save_as(seven: np.ndarray, path, mode: str) -> None:
    """Save the drawing in one of the modes and formats people's files come in."""
    image = Image.fromarray(seven)
    if mode == "RGBA":  # black ink on a transparent canvas (what drawing apps export)
        image = Image.new("RGBA", image.size, (0, 0, 0, 0))
        image.putalpha(Image.fromarray(255 - seven))
    elif mode == "I;16":  # 16-bit grayscale PNG
        image = Image.fromarray(seven.astype(np.uint16) * 257)
    elif mode != "L":
        image = image.convert(mode)
    image.save(path)


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("L", "png"), ("RGB", "png"), ("P", "png"), ("RGBA", "png"), ("I;16", "png"), ("1", "png")],
)
def test_load_digit_reads_png_of_any_mode(tmp_path, seven, expected, mode, suffix):
    path = tmp_path / f"seven-{mode.replace(';', '')}.{suffix}"
    save_as(seven, path, mode)
    if mode == "I;16":
        assert Image.open(path).mode.startswith("I")  # it really is 16-bit on disk
    digit = load_digit(path)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert np.abs(digit.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_load_digit_reads_jpeg(tmp_path, seven, expected, mode):
    path = tmp_path / "seven.jpg"
    Image.fromarray(seven).convert(mode).save(path, quality=85)
    assert correlation(load_digit(path), expected) > 0.98


def test_a_real_mnist_digit_survives_upscaling_inversion_and_jpeg(tmp_path, mnist):
    for index in range(5):
        original = mnist.test.images[index]
        drawing = Image.fromarray(255 - original).resize((200, 200), Image.Resampling.BICUBIC)
        path = tmp_path / f"mnist-{index}.jpg"
        drawing.save(path, quality=90)
        digit = load_digit(path)
        assert correlation(digit, original) > 0.9, index
        row, col = center_of_mass(digit)
        assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_load_digit_names_a_blank_file(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(path)
    with pytest.raises(
        ImageError, match=rf"^{re.escape(str(path))} contains no digit: it is blank"
    ):
        load_digit(path)


def test_load_digit_errors_name_the_file_and_the_formats(tmp_path, seven):
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    truncated = tmp_path / "truncated.png"
    save_as(seven, truncated, "L")
    truncated.write_bytes(truncated.read_bytes()[:300])
    cases = {
        text: f"Cannot read {text}: it is not an image file; give a PNG or JPEG image of a digit.",
        tmp_path / "missing.png": f"Cannot read {tmp_path / 'missing.png'}: it does not exist; "
        "give a PNG or JPEG image of a digit.",
        tmp_path: f"Cannot read {tmp_path}: it is a folder; give a PNG or JPEG image of a digit.",
    }
    for path, message in cases.items():
        with pytest.raises(ImageError) as caught:
            load_digit(path)
        assert str(caught.value) == message
    with pytest.raises(ImageError) as caught:
        load_digit(truncated)
    message = str(caught.value)
    assert message.startswith(f"Cannot read {truncated}: the image is damaged or unsupported (")
    assert message.endswith("); give a PNG or JPEG image of a digit.")
    assert "\n" not in message and isinstance(caught.value, MnistLabError)


def lit_from_one_side(drawing: np.ndarray, darkest: int = 170, brightest: int = 250) -> np.ndarray:
    """The drawing photographed under a lamp: the paper goes from `darkest` on the left to
    `brightest` on the right, and the ink darkens with it."""
    light = np.linspace(darkest / 255, brightest / 255, drawing.shape[1])[None, :]
    return np.round(drawing.astype(np.float64) * light).astype(np.uint8)


@pytest.mark.parametrize(("darkest", "brightest"), [(170, 250), (250, 170), (120, 255)])
def test_a_lighting_gradient_across_the_paper_is_not_ink(darkest, brightest):
    """The darker side of unevenly lit paper stays background: the digit is the same 7."""
    crisp = prepare_digit(draw_seven())
    lit = lit_from_one_side(draw_seven(), darkest, brightest)
    assert lit[:, 0].max() <= darkest and lit[:, -1].min() >= brightest - 1  # really uneven
    digit = prepare_digit(lit)
    assert correlation(digit, crisp) > 0.97
    assert ink_box(digit) == ink_box(crisp)


def test_a_lighting_gradient_from_top_to_bottom_too():
    crisp = prepare_digit(draw_seven())
    lit = lit_from_one_side(draw_seven().T).T
    assert correlation(prepare_digit(lit), crisp) > 0.97


def test_a_stroke_touching_the_frame_does_not_tilt_the_paper():
    """Ink on the edge is left out of the background's fit, so the paper stays flat."""
    crisp = prepare_digit(draw_seven(top=0))
    assert ink_box(crisp)[0] == 20 or ink_box(crisp)[1] == 20


def png_header_only(path, width: int, height: int) -> None:
    """A PNG that declares width x height pixels but holds none: what a decompression bomb's
    header says before its few kilobytes would decode to gigabytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


def test_a_picture_of_too_many_pixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    png_header_only(path, 12_000, 12_000)
    with pytest.raises(ImageError) as caught:
        load_digit(path)
    assert str(caught.value) == (
        f"Cannot read {path}: it is 12,000 x 12,000 pixels, more than the 64 megapixels a "
        "digit needs; crop or shrink it first."
    )


def test_a_large_picture_is_shrunk_first_and_gives_the_same_digit(tmp_path, seven, expected):
    path = tmp_path / "big.png"
    Image.fromarray(seven).resize((3200, 2400), Image.Resampling.NEAREST).save(path)
    assert correlation(load_digit(path), expected) > 0.98


def test_a_picture_past_pillows_own_limit_gets_the_same_one_line(tmp_path):
    path = tmp_path / "huge.png"
    png_header_only(path, 20_000, 20_000)  # twice Pillow's limit: it would raise its own error
    with pytest.raises(ImageError, match=r"it is 20,000 x 20,000 pixels, more than the 64 "):
        load_digit(path)


def test_the_size_check_never_turns_off_pillows_guard_for_other_threads(tmp_path, seven, expected):
    """The lab reads pictures from its request threads: checking one picture's size must never
    change Pillow's process-wide decompression-bomb limit, not even for a moment."""
    big, small = tmp_path / "bomb.png", tmp_path / "seven.png"
    png_header_only(big, 12_000, 12_000)
    Image.fromarray(seven).save(small)
    too_big = (
        f"Cannot read {big}: it is 12,000 x 12,000 pixels, more than the 64 megapixels a "
        "digit needs; crop or shrink it first."
    )
    limit = Image.MAX_IMAGE_PIXELS
    seen: set = set()
    done = threading.Event()

    def watch() -> None:  # samples the global while the others read
        while not done.is_set():
            seen.add(Image.MAX_IMAGE_PIXELS)

    def read(index: int) -> tuple[str, object]:
        try:
            return "digit", load_digit(big if index % 2 else small)
        except ImageError as error:
            return "refused", str(error)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(read, range(400)))
    finally:
        done.set()
        watcher.join()
    after = Image.MAX_IMAGE_PIXELS
    assert seen == {limit}, f"Pillow's limit was changed during the run: {seen}"
    assert after == limit
    for index, (kind, value) in enumerate(results):
        if index % 2:
            assert (kind, value) == ("refused", too_big), index
        else:
            assert kind == "digit" and np.array_equal(value, expected), index


def test_a_picture_between_pillows_warning_and_its_error_is_refused_without_a_warning(tmp_path):
    path = tmp_path / "large.png"
    png_header_only(path, 10_000, 10_000)  # past Pillow's warning limit, below its error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TooManyPixelsError, match=r"it is 10,000 x 10,000 pixels, more "):
            load_digit(path)
    assert [str(warning.message) for warning in caught] == []


def test_read_picture_reads_a_file_object_and_gives_the_facts_to_word_its_own_way(tmp_path, seven):
    buffer = io.BytesIO()
    Image.fromarray(seven).save(buffer, format="PNG")
    gray = read_picture(io.BytesIO(buffer.getvalue()), "the drawing", formats=("PNG", "JPEG"))
    assert np.array_equal(gray, seven)

    gif = io.BytesIO()
    Image.fromarray(seven).save(gif, format="GIF")
    with pytest.raises(NotAnImageError, match="^Cannot read the drawing: it is not an image"):
        read_picture(io.BytesIO(gif.getvalue()), "the drawing", formats=("PNG", "JPEG"))
    assert read_picture(io.BytesIO(gif.getvalue()), "the drawing").shape == seven.shape

    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, 9_000, 8_000)
    with pytest.raises(TooManyPixelsError) as too_many:
        read_picture(io.BytesIO(bomb.read_bytes()), "the drawing")
    assert (too_many.value.width, too_many.value.height) == (9_000, 8_000)

    with pytest.raises(DamagedImageError) as damaged:
        read_picture(io.BytesIO(buffer.getvalue()[:-200]), "the drawing")
    assert str(damaged.value).startswith("Cannot read the drawing: the image is damaged or ")
    assert isinstance(damaged.value.reason, OSError)
