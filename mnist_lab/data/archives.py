"""The four MNIST files out of the forms people have them in: Keras's mnist.npz, a tar or zip
archive of the IDX files (raw or gzip), or of an mnist.npz.

Nothing here is checked against the originals yet: `cache.install` does that before anything is
written, whatever the files came from.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from mnist_lab.core.errors import DataError
from mnist_lab.data.cache import FILES, canonical_name
from mnist_lab.data.idx import gunzip_if_needed, to_idx_bytes

# Where each file lives in Keras's mnist.npz.
NPZ_KEYS: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_npz(data: bytes, name: str) -> dict[str, bytes]:
    """Read a Keras `mnist.npz` (named `name` in errors) and return its arrays as IDX bytes."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = sorted(set(NPZ_KEYS) - set(npz.files))
            if missing:
                raise DataError(f"{name} is not Keras's mnist.npz: it has no {', '.join(missing)}.")
            return _arrays_to_files({key: npz[key] for key in NPZ_KEYS})
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise DataError(f"{name} is not a readable .npz file ({error}).") from None


def _arrays_to_files(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Encode Keras-style arrays (x_train, ...) as the IDX files they came from."""
    return {NPZ_KEYS[key]: to_idx_bytes(array) for key, array in arrays.items()}


def require_all_four(found: dict[str, bytes], where: str) -> dict[str, bytes]:
    """Return `found` if it holds all four MNIST files; raise DataError naming those missing."""
    missing = [name for name in FILES if name not in found]
    if missing:
        raise DataError(f"{where} lacks {', '.join(missing)} (raw or .gz).")
    return found


def files_from_archive(path: Path) -> dict[str, bytes]:
    """Pull the four MNIST files (raw or gzip, or an mnist.npz) out of a tar or zip archive."""
    members: dict[str, bytes] = {}
    npz: bytes | None = None
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    base = Path(info.filename).name
                    if name := canonical_name(base):
                        data = archive.read(info)
                        members[name] = gunzip_if_needed(data, f"{info.filename} in {path}")
                    elif base.endswith(".npz"):
                        npz = archive.read(info)
        else:
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    base = Path(member.name).name
                    if not member.isfile():
                        continue
                    if name := canonical_name(base):
                        data = archive.extractfile(member).read()  # type: ignore[union-attr]
                        members[name] = gunzip_if_needed(data, f"{member.name} in {path}")
                    elif base.endswith(".npz"):
                        npz = archive.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path} is a damaged archive ({error}).") from None
    if not members and npz is not None:
        return read_npz(npz, name=f"the .npz inside {path}")
    return require_all_four(members, where=str(path))
