"""The MNIST cache folder: where it is, what it must hold (the four files and their SHA-256),
how files are installed into it, and the record of where they came from.

Every file is checked against the SHA-256 of the original before it is written, written under a
temporary name and renamed into place, so the cache never holds a file that failed the check or
half a file. A lock keeps two processes from filling it at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from mnist_lab.core.errors import DataError
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic

DATA_DIR_ENV = "MNIST_LAB_DATA"
SOURCE_RECORD = "source.json"

# The original MNIST files, uncompressed, and their SHA-256 digests.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def data_dir(override: str | Path | None = None) -> Path:
    """The cache folder: `override`, else $MNIST_LAB_DATA, else the user's cache folder."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("mnist-lab")) / "mnist"


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of `data` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def canonical_name(filename: str) -> str | None:
    """Map a file name as found in the wild to its MNIST name, or None if it is not one.

    Accepts the original names, the dotted variant (`train-images.idx3-ubyte`) and `.gz`.
    """
    name = filename.lower()
    name = name.removesuffix(".gz").replace(".", "-")
    return name if name in FILES else None


def require_folder(folder: Path) -> None:
    """Raise DataError when the cache folder is a file (an absent folder is fine)."""
    if folder.exists() and not folder.is_dir():
        raise DataError(f"The data folder {folder} is a file; give a folder (or remove the file).")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the cache's lock so that two processes never fetch into it at once."""
    from filelock import FileLock

    require_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"Cannot create the data folder {folder} ({error.strerror}); "
            f"choose another with --data-dir or ${DATA_DIR_ENV}."
        ) from None
    with FileLock(str(folder / ".lock")):
        yield


def file_report(folder: Path) -> dict[str, dict[str, str | None]]:
    """Each cached file's state ('ok', 'missing', 'unreadable' or 'corrupt': a SHA-256
    mismatch), the SHA-256 computed from the file on disk (None if it cannot be read) and the
    original's."""
    report: dict[str, dict[str, str | None]] = {}
    for name, digest in FILES.items():
        path = folder / name
        state, computed = "missing", None
        if path.is_file():
            try:
                computed = sha256_hex(path.read_bytes())
                state = "ok" if computed == digest else "corrupt"
            except OSError:
                state = "unreadable"
        report[name] = {"state": state, "sha256": computed, "expected_sha256": digest}
    return report


def file_states(folder: Path) -> dict[str, str]:
    """Each cached file's state: 'ok', 'missing', 'unreadable' or 'corrupt' (SHA-256 mismatch)."""
    return {name: str(entry["state"]) for name, entry in file_report(folder).items()}


def install(files: dict[str, bytes], folder: Path, source: str) -> None:
    """Verify every file against its digest, then rename each into the cache and record
    `source` (with the time) as where they came from. Hold `locked(folder)` around it."""
    for name, digest in FILES.items():
        if sha256_hex(files[name]) != digest:
            raise DataError(f"{name} from {source} does not match the SHA-256 of the original")
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = {"source": source, "fetched_at": fetched_at}
    target = folder
    try:
        for name in FILES:
            target = folder / name
            write_bytes_atomic(target, files[name])
        target = folder / SOURCE_RECORD
        write_json_atomic(target, record)
    except OSError as error:  # each file is replaced whole or not at all
        raise DataError(
            f"Cannot write {target} into the MNIST cache ({error.strerror or error}); free some "
            f"disk space, or choose another folder with --data-dir or ${DATA_DIR_ENV}."
        ) from None


def source_record(folder: Path) -> dict:
    """Where the cached files came from and when (`source`, `fetched_at`); {} before any fetch."""
    record_path = folder / SOURCE_RECORD
    try:
        return json.loads(record_path.read_text()) if record_path.is_file() else {}
    except (OSError, ValueError) as error:
        reason = (error.strerror or str(error)) if isinstance(error, OSError) else "not valid JSON"
        raise DataError(
            f"Cannot read {record_path} ({reason}); run 'mnist-lab data fetch --force' to "
            "fetch the data again and rewrite it."
        ) from None
