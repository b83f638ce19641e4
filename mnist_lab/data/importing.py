"""Import MNIST files the user has (`mnist-lab data import PATH`): a folder or an archive of the
IDX files, raw or gzip, or Keras's mnist.npz; the way in when no download source answers.

They pass the same SHA-256 check as a download before anything is written to the cache.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.core.errors import DataError
from mnist_lab.data.archives import files_from_archive, read_npz, require_all_four
from mnist_lab.data.cache import canonical_name, data_dir, install, locked
from mnist_lab.data.idx import gunzip_if_needed


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
                return read_npz(npz[0].read_bytes(), name=str(npz[0]))
            return require_all_four(found, where=str(path))
        if not path.is_file():  # a device, a pipe or a socket: reading it could never end
            raise DataError(
                f"{path} is not a regular file or a folder; give a folder, an archive or an "
                "mnist.npz."
            )
        if path.suffix == ".npz":
            return read_npz(path.read_bytes(), name=str(path))
        if tarfile.is_tarfile(path) or zipfile.is_zipfile(path):
            return files_from_archive(path)
        if canonical_name(path.name):
            raise DataError(f"{path} is a single MNIST file; give the folder that holds all four.")
        raise DataError(
            f"{path} is neither a folder, a .tar/.tgz/.zip archive nor an .npz file of MNIST."
        )


def import_mnist(path: str | Path, folder: str | Path | None = None) -> Path:
    """Verify the MNIST files at `path` (folder, archive or .npz) and copy them into the cache."""
    source = LocalSource(Path(path))
    folder = data_dir(folder)
    with locked(folder), tempfile.TemporaryDirectory(dir=folder, prefix=".import-") as scratch:
        files = source.fetch(Path(scratch))
        try:
            install(files, folder, source.name)
        except DataError as error:
            raise DataError(
                f"{error}: these are not the original MNIST files, so they were not imported."
            ) from None
    return folder
