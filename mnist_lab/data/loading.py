"""MNIST as uint8 arrays from the cache, each file checked against the original on every load;
and what the cache holds (`mnist-lab data verify` and `data info`).

The first load fills the cache (`fetching.fetch_mnist`); a damaged file is reported with the
command that repairs it, never trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mnist_lab.core.errors import DataError
from mnist_lab.data.cache import (
    FILES,
    data_dir,
    file_report,
    file_states,
    require_folder,
    sha256_hex,
    source_record,
)
from mnist_lab.data.fetching import Source, fetch_mnist
from mnist_lab.data.idx import parse_idx, read_idx


class Split(NamedTuple):
    """One split of MNIST: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray


class MnistData(NamedTuple):
    """The training and test splits; unpacks like Keras: `(x, y), (x_test, y_test) = data`."""

    train: Split
    test: Split


def load_mnist(
    folder: str | Path | None = None, *, sources: Sequence[Source] | None = None
) -> MnistData:
    """Load MNIST as uint8 arrays: train (60000, 28, 28), test (10000, 28, 28), uint8 labels.

    Fetches on the first call (see `fetch_mnist`); every later call reads the cache and checks
    each file's SHA-256 (once), so a damaged cache is reported instead of being trained on.
    """
    folder = data_dir(folder)
    require_folder(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    # Each present file is read and hashed once; a damaged one is reported, never trained on.
    arrays = {
        name: _read_verified(folder / name, digest)
        for name, digest in FILES.items()
        if name not in missing
    }
    if missing:
        fetch_mnist(folder, sources=sources)
        arrays.update({name: _read_verified(folder / name, FILES[name]) for name in missing})
    return MnistData(
        train=Split(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        test=Split(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    )


def _read_verified(path: Path, digest: str) -> np.ndarray:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(
            f"Cannot read {path} ({error.strerror or error}); check its permissions, or run "
            "'mnist-lab data fetch --force' to fetch it again."
        ) from None
    if sha256_hex(data) != digest:
        raise DataError(
            f"{path} is corrupt (its SHA-256 does not match the original MNIST file); "
            "run 'mnist-lab data fetch --force' to fetch it again, "
            "or 'mnist-lab data import PATH' to restore it from your own copy."
        )
    return parse_idx(data, name=str(path))


def verify_cache(folder: str | Path | None = None) -> dict[str, str]:
    """Re-check every cached file against the original's SHA-256; see `file_states`."""
    folder = data_dir(folder)
    require_folder(folder)
    return file_states(folder)  # an absent folder holds every file as missing


def data_info(folder: str | Path | None = None) -> dict:
    """Where the cache is, where it came from, each file's state with the SHA-256 computed from it
    and the original's, and the images per class."""
    folder = data_dir(folder)
    require_folder(folder)
    files = file_report(folder)
    record = source_record(folder)
    info: dict = {
        "folder": str(folder),
        "source": record.get("source"),
        "fetched_at": record.get("fetched_at"),
        "files": files,
        "class_counts": None,
    }
    if all(entry["state"] == "ok" for entry in files.values()):
        labels = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
        info["class_counts"] = {
            split: np.bincount(read_idx(folder / name), minlength=10).tolist()
            for split, name in labels.items()
        }
    return info
