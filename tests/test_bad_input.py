"""Bad input, everywhere: every CLI command answers a mistake with one line and changes nothing.

For each command (train, list, benchmark, evaluate, predict, data fetch|import|info, exercises
list|check|hint|watch|reset|solution) the cases below check what a student sees when an option is
mistyped or out of range, a name or number does not exist, a path is missing or unreadable, an
output folder cannot be made or written, or the disk is full: exactly one line `Error: ...` on
stderr, exit 2 for Click's usage errors and 1 for ours, no traceback, and no existing run, model,
cache or exercise file changed (a SHA-256 snapshot of the test's folder, before and after).

Tests may run as root, where chmod stops no read or write, so unreadable files, locked folders
and full disks are simulated in-process (`break_io`); commands run through typer's CliRunner.
`runs`, `data verify` and `train --resume` have their own tests.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from mnist_lab.cli import app
from mnist_lab.course import exercises
from mnist_lab.data import FILES, IMPORT_HINT, SOURCE_RECORD, data_dir
from mnist_lab.data.idx import to_idx_bytes
from mnist_lab.models import registry

ROOT = Path(__file__).resolve().parents[1]
REAL_OPEN = io.open  # snapshots read with it, whatever a test has broken
CATALOG = exercises.load_catalog(ROOT)
EX3 = exercises.find(CATALOG, 3)
NUMBERS = ", ".join(str(exercise.number) for exercise in CATALOG)
runner = CliRunner()


def table(*rows: Any) -> list[Any]:
    """Parametrize rows, each named by its first column (the case), not by its long message."""
    named = []
    for row in rows:
        values, marks, given = (
            (row.values, row.marks, row.id) if hasattr(row, "marks") else (row, (), None)
        )
        first = values[0]
        case = " ".join(first) if isinstance(first, list) else str(first)
        named.append(pytest.param(*values, marks=marks, id=given or case))
    return named


# --- running a command and reading its answer ---------------------------------------------------


def invoke(*args: str) -> Result:
    """Run `mnist-lab ARGS` in-process, named as a student types it (for the '--help' hints)."""
    return runner.invoke(app, list(args), prog_name="mnist-lab")


class Prefix(str):
    """Only the start of the message is fixed: the rest is a third party's words (Keras, zip)."""


class Naming:
    """The message must contain each part and none of `without`; the exact words are left to
    whoever fixes the bug."""

    def __init__(self, *parts: str, without: tuple[str, ...] = ()) -> None:
        self.parts, self.without = parts, without

    def __repr__(self) -> str:
        return f"Naming{self.parts}" + (f" without {self.without}" if self.without else "")

    def format(self, **places: Any) -> Naming:
        parts = (part.format(**places) for part in self.parts)
        return Naming(*parts, without=tuple(part.format(**places) for part in self.without))


Expected = str | Naming


def fill(expected: Expected, **places: Any) -> Expected:
    """A table's message with its {placeholders} filled, keeping its kind (str, Prefix, Naming)."""
    if isinstance(expected, Naming):
        return expected.format(**places)
    return type(expected)(expected.format(**places))


def assert_error(result: Result, expected: Expected, code: int = 1) -> str:
    """Exactly one line `Error: ...` on stderr, the exit code, no traceback, box or usage dump.

    `expected` is the message after 'Error: ': a str is the whole message, a Prefix its start,
    a Naming the parts it must (not) contain. Returns the message.
    """
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}\n{output}"
    )
    assert result.exit_code == code, output
    for noise in ("Traceback", "╭", "│", "Usage:"):
        assert noise not in output, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("Error: "), lines[0]
    message = lines[0].removeprefix("Error: ")
    if isinstance(expected, Prefix):
        assert message.startswith(expected), message
    elif isinstance(expected, Naming):
        for part in expected.parts:
            assert part in message, f"{part!r} not in {message!r}"
        for part in expected.without:
            assert part not in message, f"{part!r} in {message!r}"
    else:
        assert message == expected
    return message


# --- proving that nothing changed ------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under `root`: relative path -> SHA-256 of its bytes, or '<dir>'."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_dir():
            state[key] = "<dir>"
        else:
            with REAL_OPEN(path, "rb") as file:
                state[key] = hashlib.sha256(file.read()).hexdigest()
    return state


def assert_unchanged(
    before: Mapping[str, str], after: Mapping[str, str], new: Collection[str] = ()
) -> None:
    """Every path that existed is byte-identical; the only new paths are those in `new`."""
    changed = sorted(path for path in before if after.get(path) != before[path])
    assert not changed, f"changed or removed by a failed command: {changed}"
    extra = sorted(set(after) - set(before) - set(new))
    assert not extra, f"created by a failed command: {extra}"


# --- simulated I/O failures -------------------------------------------------------------------

FULL_DISK, DENIED = "full-disk", "denied"
REASONS = {FULL_DISK: os.strerror(errno.ENOSPC), DENIED: os.strerror(errno.EACCES)}


def break_io(
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    fault: str,
    *,
    writes: bool = False,
    reads: bool = False,
    mkdirs: bool = False,
    names: Collection[str] = (),
) -> None:
    """Make file operations under `root` fail as a full disk or a denied permission does for a
    user who is not root (chmod cannot, for root).

    FULL_DISK: a file opened for writing is created (or truncated) and its first write fails
    with ENOSPC, which, as write(2) reports it, names no file. DENIED: the open (or mkdir) fails
    with EACCES naming the path. `writes`: opening a file for writing, and the rename that
    commits an atomic write (mnist_lab.core.fileio) for writers that bypass open(); `reads`: opening
    one for reading; `mkdirs`: creating a folder. With `names`, only files of those names (and
    the temporary files atomic writes use for them) fail.
    """
    real_open, real_replace, real_mkdir = io.open, os.replace, os.mkdir
    base = os.path.realpath(root)

    def named(name: str) -> bool:
        return any(
            name == wanted
            or name.startswith(f".{Path(wanted).stem}.")
            and name.endswith(f".part{Path(wanted).suffix}")
            for wanted in names
        )

    def hit(path: Any) -> bool:
        if isinstance(path, int):
            return False
        full = os.path.realpath(os.fsdecode(path))
        inside = full == base or full.startswith(base + os.sep)
        return inside and (not names or named(os.path.basename(full)))

    def error(path: Any) -> OSError:
        if fault == FULL_DISK:
            return OSError(errno.ENOSPC, REASONS[FULL_DISK])
        return PermissionError(errno.EACCES, REASONS[DENIED], os.fsdecode(path))

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writing = any(flag in mode for flag in "wax+")
        if ((writing and writes) or (not writing and reads)) and hit(file):
            if fault == FULL_DISK:
                real_open(file, mode, *args, **kwargs).close()  # created or truncated: then full
            raise error(file)
        return real_open(file, mode, *args, **kwargs)

    def fake_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if writes and hit(dst):
            raise error(dst)
        real_replace(src, dst, *args, **kwargs)

    def fake_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if hit(path):
            raise error(path)
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "replace", fake_replace)
    if mkdirs:
        monkeypatch.setattr(os, "mkdir", fake_mkdir)


def must_not_run(*args: Any, **kwargs: Any) -> None:
    """Stands in for training: a bad option must be rejected before anything is trained."""
    raise AssertionError("the command went on to train: the bad input was not rejected first")


# --- fixtures and the things they hold ---------------------------------------------------------


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own empty folder: a command that wrongly writes runs/, benchmarks/
    or .mnist-lab/ into the current folder writes there (and is caught), never into the project."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def finished_run(trained_runs: dict[str, Path]) -> Path:
    """A real finished run, read-only: the shared reference run (each test damages a copy)."""
    return trained_runs["reference"]


@pytest.fixture
def run(finished_run: Path, workspace: Path) -> Path:
    """This test's own copy of the finished run, in runs/ of its folder, free to be damaged."""
    copy = workspace / "runs" / finished_run.name
    shutil.copytree(finished_run, copy)
    return copy


@pytest.fixture
def cache(workspace: Path) -> Path:
    """A valid MNIST cache (a copy of the user's), as a student has after 'data fetch'."""
    folder = workspace / "cache"
    folder.mkdir()
    for name in (*FILES, SOURCE_RECORD):
        shutil.copy(data_dir() / name, folder / name)
    return folder


@pytest.fixture
def course(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the course (manifest, tests, original stubs) with the student's own version of
    exercise 3, which a reset must keep; the current folder is its root."""
    root = workspace / "course"
    shutil.copytree(ROOT / "exercises" / "tests", root / "exercises" / "tests")
    shutil.copy(ROOT / "exercises" / "manifest.toml", root / "exercises" / "manifest.toml")
    for exercise in CATALOG:
        (root / "exercises" / exercise.file.name).write_text(exercises.stub_text(exercise))
    (root / "exercises" / EX3.file.name).write_text("# my own attempt at exercise 3\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(root / "exercises"))
    return root


def models() -> str:
    """The registry's listing, as errors about model names end."""
    return f"Registered models: {', '.join(registry.list_models())} (see 'mnist-lab list')."


def digit_png(path: Path) -> Path:
    """A drawn digit: a dark stroke on white paper, as a student's picture of a 1."""
    from PIL import Image

    pixels = np.full((60, 60), 255, dtype=np.uint8)
    pixels[10:50, 27:33] = 0
    Image.fromarray(pixels).save(path)
    return path


def a_file(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An output folder given as an existing regular file."""
    (workspace / "taken").write_text("a file where the output folder should go\n")
    return workspace / "taken"


def beneath_a_file(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An output folder to create inside a regular file."""
    return a_file(workspace, monkeypatch) / "out"


def denied_folder(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An output folder to create in a folder that refuses it (Permission denied)."""
    (workspace / "locked").mkdir()
    break_io(monkeypatch, workspace / "locked", DENIED, mkdirs=True)
    return workspace / "locked" / "out"


OUTPUT_FOLDERS = {"a-file": a_file, "beneath-a-file": beneath_a_file, "denied": denied_folder}
DATA_IS_A_FILE = "The data folder {data} is a file; give a folder (or remove the file)."


# --- Click's usage errors: exit 2, one line pointing to --help -----------------------------------

INVALID = "Invalid value for '{}': "
EXTRA = "Got unexpected extra argument(s) ({})."


def command_path(args: list[str]) -> str:
    """'mnist-lab' and the (sub)commands that `args` name, as Click's '--help' hint says them."""
    words, group = ["mnist-lab"], get_command(app)
    for arg in args:
        command = getattr(group, "commands", {}).get(arg)
        if command is None:
            break
        words.append(arg)
        group = command
    return " ".join(words)


@pytest.mark.parametrize(
    ("args", "prefix"),
    table(
        ("nosuch", "No such command 'nosuch'."),
        ("train reference --epochs abc", INVALID.format("--epochs")),
        ("train reference --batch-size 1.5", INVALID.format("--batch-size")),
        ("train reference --seed x", INVALID.format("--seed")),
        ("train reference --validation-split half", INVALID.format("--validation-split")),
        ("train reference --limit 1e3", INVALID.format("--limit")),
        ("train reference --bogus", "No such option: --bogus"),
        ("train reference extra", EXTRA.format("extra")),
        pytest.param("train reference --out", "Option '--out' requires an argument."),
        ("list --bogus", "No such option: --bogus."),
        pytest.param("list --json=yes", "Option '--json' does not take a value."),
        ("benchmark reference --repeats two", INVALID.format("--repeats")),
        ("benchmark reference --epochs x", INVALID.format("--epochs")),
        ("benchmark reference --seed 1.5", INVALID.format("--seed")),
        ("benchmark reference --limit many", INVALID.format("--limit")),
        ("evaluate", "Missing argument 'run'."),
        ("evaluate a b", EXTRA.format("b")),
        pytest.param(
            "evaluate a --data-dir",
            "Option '--data-dir' requires an argument.",
        ),
        ("predict", "Missing argument 'run'."),
        ("predict runs/x", "Missing argument 'images'."),
        ("data nosuch", "No such command 'nosuch'."),
        ("data fetch extra", EXTRA.format("extra")),
        ("data import", "Missing argument 'path'."),
        ("data info --bogus", "No such option: --bogus."),
        ("exercises nosuch", "No such command 'nosuch'."),
        ("exercises list --all", "No such option: --all."),
        ("exercises check abc", INVALID.format("number")),
        ("exercises check -1", "No such option: -1."),
        ("exercises hint 1.5", INVALID.format("number")),
        ("exercises reset two", INVALID.format("number")),
        ("exercises reset 1 2", EXTRA.format("2")),
        ("exercises solution", "Missing argument 'number'."),
        ("exercises solution x", INVALID.format("number")),
        ("exercises watch now", INVALID.format("number")),
        ("exercises watch 1 2", EXTRA.format("2")),
    ),
)
def test_usage_errors_are_one_line_pointing_to_help(
    args: str, prefix: str, workspace: Path
) -> None:
    result = invoke(*args.split())
    message = assert_error(result, Prefix(prefix), code=2)
    assert message.endswith(f" See '{command_path(args.split())} --help'."), message
    assert result.stdout == ""
    assert list(workspace.iterdir()) == []


# --- train -------------------------------------------------------------------------------------

# Options are named as they are typed ('--batch-size'), never by their Python names.
EPOCHS = "The '--epochs' option must be an int >= 1. Got {} instead."
BATCH = "The '--batch-size' option must be an int >= 1 and <= 60000. Got {} instead."
SEED = "The '--seed' option must be an int >= 0 and <= 4294967295. Got {} instead."
SPLIT = "The '--validation-split' option must be a float in (0, 1), exclusive. Got {} instead."
LIMIT = "The '--limit' option must be an int >= the batch size ({}) and <= 60000. Got {} instead."


@pytest.mark.parametrize(
    ("args", "message"),
    table(
        pytest.param(
            [],
            "Give a model to train (see 'mnist-lab list'), or --resume RUN to continue a run.",
            id="no-model-name",
        ),
        pytest.param([""], "Unknown model ''. {models}", id="empty-model-name"),
        (["Reference"], "Unknown model 'Reference'. Did you mean 'reference'? {models}"),
        (["ref*"], Prefix("Unknown model 'ref*'.")),
        (["reference", "--epochs", "-3"], EPOCHS.format(-3)),
        (["reference", "--batch-size", "-1"], BATCH.format(-1)),
        (["reference", "--seed", "-1"], SEED.format(-1)),
        (["reference", "--validation-split", "-0.1"], SPLIT.format(-0.1)),
        (["reference", "--validation-split", "nan"], SPLIT.format("nan")),
        (["reference", "--validation-split", "inf"], SPLIT.format("inf")),
        (["reference", "--limit", "0"], LIMIT.format(128, 0)),
        (["reference", "--limit", "60001"], LIMIT.format(128, 60001)),
        (["reference", "--limit", "200", "--batch-size", "256"], LIMIT.format(256, 200)),
        pytest.param(
            ["reference", "--batch-size", "100000"],
            Naming("'--batch-size'", "100000"),
            id="batch-size-above-the-training-set",
        ),
        pytest.param(
            ["reference", "--seed", str(2**32)],
            Naming("'--seed'", str(2**32)),
            id="seed-above-2**32-1",
        ),
        pytest.param(
            ["reference", "--limit", "256", "--validation-split", "0.001"],
            Naming("'--validation-split'", "0.001"),
            id="validation-set-empty",
        ),
        pytest.param(
            ["reference", "--limit", "256", "--validation-split", "0.999"],
            Naming("'--validation-split'", "0.999"),
            id="training-set-empty",
        ),
    ),
)
def test_train_rejects_bad_options_before_training(
    args: list[str], message: Expected, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mnist_lab.training.train", must_not_run)
    result = invoke("train", *args, "--out", str(workspace / "runs"))
    assert_error(result, fill(message, models=models()))
    assert result.stdout == ""
    assert list(workspace.iterdir()) == []


CANNOT_CREATE = (
    "Cannot create a {what} folder in {out} ({reason}); choose another folder with --out."
)
IS_A_FILE = "Cannot create a {what} folder in {out}: it is a file; choose a folder with --out."


def create_error(where: str, what: str, out: Path) -> str:
    """What train and benchmark say when their --out folder cannot be made (runs.py's words)."""
    if where == "a-file":
        return IS_A_FILE.format(what=what, out=out)
    reason = "Not a directory" if where == "beneath-a-file" else "Permission denied"
    return CANNOT_CREATE.format(what=what, out=out, reason=reason)


@pytest.mark.parametrize("where", list(OUTPUT_FOLDERS))
def test_train_into_an_output_folder_that_cannot_be_made(
    where: str, run: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data is loaded, then no run folder can be made: one line, the finished run intact."""
    out = OUTPUT_FOLDERS[where](workspace, monkeypatch)
    before = snapshot(workspace)
    result = invoke("train", "reference", "--epochs", "1", "--limit", "256", "--out", str(out))
    assert_error(result, create_error(where, "run", out))
    assert_unchanged(before, snapshot(workspace))


@pytest.mark.parametrize(
    ("damage", "message"),
    table(
        ("a-file", DATA_IS_A_FILE),
        (
            "unreadable",
            "Cannot read {data}/train-images-idx3-ubyte (Permission denied); check its "
            "permissions, or run 'mnist-lab data fetch --force' to fetch it again.",
        ),
        (
            "missing-offline",
            f"Could not fetch MNIST from any source (no source was configured); {IMPORT_HINT}.",
        ),
    ),
)
def test_train_with_data_that_cannot_be_read(
    damage: str, message: str, cache: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data folder that is a file, a cache file that cannot be read, or no cache and no network:
    one line, nothing trained or written (but the cache folder it had to create, and its lock)."""
    # Offline: no source answers.
    monkeypatch.setattr("mnist_lab.data.fetching.default_sources", list)
    data, new = cache, []
    if damage == "a-file":
        data = workspace / "data.txt"
        data.write_text("not a folder\n")
    elif damage == "unreadable":
        break_io(monkeypatch, cache / "train-images-idx3-ubyte", DENIED, reads=True)
    else:
        data, new = workspace / "nodata", ["nodata", "nodata/.lock"]
    before = snapshot(workspace)
    result = invoke("train", "reference", "--limit", "256", "--data-dir", str(data))
    assert_error(result, message.format(data=data))
    assert_unchanged(before, snapshot(workspace), new=new)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        pytest.param(
            (),
            Naming("Cannot write ", "/config.json (No space left on device)."),
            id="every-write",
        ),
        pytest.param(
            ("model.keras",),
            Naming("Training stopped after 1 of 1 epochs", "model.keras", REASONS[FULL_DISK]),
            id="model.keras",
        ),
    ],
)
def test_train_on_a_full_disk(
    names: tuple[str, ...],
    message: Naming,
    run: Path,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real tiny training whose writes fail with ENOSPC (every write, or only the model's):
    one line naming the file, the finished run beside it untouched, and a single new run folder
    holding no model.keras and no half-written temporary file (no file at all when no write
    succeeded)."""
    out = run.parent
    before = snapshot(workspace)
    break_io(monkeypatch, out, FULL_DISK, writes=True, names=names)
    args = ["--epochs", "1", "--limit", "256", "--batch-size", "128", "--out", str(out)]
    result = invoke("train", "reference", *args)
    assert_error(result, message)
    after = snapshot(workspace)
    new = sorted(set(after) - set(before))
    folders = {path.split("/")[1] for path in new}
    assert len(folders) == 1 and folders.pop().startswith("reference-"), new
    assert not any(path.endswith("model.keras") or ".part" in path for path in new), new
    if not names:
        assert [after[path] for path in new] == ["<dir>"], new
    assert_unchanged(before, after, new=new)


# --- benchmark ---------------------------------------------------------------------------------

REPEATS = "The '--repeats' option must be an int >= 1. Got {} instead."


@pytest.mark.parametrize(
    ("args", "message"),
    table(
        (
            ["nope", "refrence"],
            "No model matches the patterns 'nope', 'refrence'. Did you mean 'reference'? {models}",
        ),
        (["reference", "zz*"], "No model matches the pattern 'zz*'. {models}"),
        (["reference", "--epochs", "0"], EPOCHS.format(0)),
        (["reference", "--epochs", "-2"], EPOCHS.format(-2)),
        (["reference", "--repeats", "-1"], REPEATS.format(-1)),
        (["reference", "--seed", "-1"], SEED.format(-1)),
        (["reference", "--limit", "5"], LIMIT.format(128, 5)),
        (["reference", "--limit", "60001"], LIMIT.format(128, 60001)),
    ),
)
def test_benchmark_rejects_bad_input_before_training(
    args: list[str], message: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mnist_lab.training.train", must_not_run)
    result = invoke("benchmark", *args, "--out", str(workspace / "benchmarks"))
    assert_error(result, message.format(models=models()))
    assert result.stdout == ""
    assert list(workspace.iterdir()) == []


def test_benchmark_without_models_names_both_ways_to_call_it(workspace: Path) -> None:
    result = invoke("benchmark")
    assert_error(
        result,
        "Name at least one model or pattern to benchmark (see 'mnist-lab list'), or continue "
        "a benchmark with --resume BENCHMARK_DIR.",
    )
    assert list(workspace.iterdir()) == []


@pytest.mark.parametrize("where", list(OUTPUT_FOLDERS))
def test_benchmark_into_an_output_folder_that_cannot_be_made(
    where: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mnist_lab.training.train", must_not_run)
    out = OUTPUT_FOLDERS[where](workspace, monkeypatch)
    before = snapshot(workspace)
    result = invoke("benchmark", "reference", "--epochs", "1", "--limit", "256", "--out", str(out))
    assert_error(result, create_error(where, "benchmark", out))
    assert_unchanged(before, snapshot(workspace))


def test_benchmark_with_a_data_folder_that_is_a_file(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mnist_lab.training.train", must_not_run)
    data = workspace / "data.txt"
    data.write_text("not a folder\n")
    result = invoke("benchmark", "reference", "--data-dir", str(data), "--out", "benchmarks")
    assert_error(result, DATA_IS_A_FILE.format(data=data))
    assert [path.name for path in workspace.iterdir()] == ["data.txt"]


# --- evaluate ----------------------------------------------------------------------------------

NOT_A_RUN = "{path} is not a run folder: it {what}; runs are in runs/ (see 'mnist-lab train')."
NOT_A_MODEL = Prefix("{run}/model.keras is not a readable Keras model (")


def damage_run(run: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Damage this test's copy of the run as `how` says; return the path to give the command."""
    model = run / "model.keras"
    if how == "a-file":
        (run.parent / "notes.txt").write_text("not a run\n")
        return run.parent / "notes.txt"
    if how in ("no-model", "no-model-nor-state"):
        model.unlink()
        if how == "no-model-nor-state":  # a run folder of an older mnist-lab, without state.json
            (run / "state.json").unlink()
    elif how == "model-is-a-folder":
        model.unlink()
        model.mkdir()
    elif how == "model-random-bytes":
        model.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "model-text":
        model.write_text("this is not a model\n")
    elif how == "model-unreadable":
        break_io(monkeypatch, model, DENIED, reads=True)
    elif how == "config-damaged":
        (run / "config.json").write_text("{not json")
    elif how == "config-missing":
        (run / "config.json").unlink()
    return run


LOST_MODEL = Naming("{run}", "model.keras", without=("--resume",))
MODEL_UNREADABLE = Naming("{run}/model.keras", REASONS[DENIED])


@pytest.mark.parametrize(
    ("how", "message"),
    table(
        ("a-file", NOT_A_RUN.format(path="{runs}/notes.txt", what="is a file")),
        pytest.param("no-model", LOST_MODEL),
        pytest.param("model-is-a-folder", LOST_MODEL),
        ("no-model-nor-state", NOT_A_RUN.format(path="{run}", what="has no model.keras")),
        ("model-random-bytes", NOT_A_MODEL),
        ("model-text", NOT_A_MODEL),
        pytest.param("model-unreadable", MODEL_UNREADABLE),
        (
            "config-damaged",
            "Cannot read {run}/config.json: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1).",
        ),
        ("config-missing", "{run}/config.json does not exist; is {run} a finished run?"),
    ),
)
def test_evaluate_rejects_a_run_it_cannot_read(
    how: str, message: Expected, run: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = damage_run(run, how, monkeypatch)
    before = snapshot(workspace)
    result = invoke("evaluate", str(target))
    text = assert_error(result, fill(message, run=run, runs=run.parent))
    if isinstance(message, Prefix):
        assert text.endswith("; train the run again with 'mnist-lab train'."), text
    assert_unchanged(before, snapshot(workspace))


def test_evaluate_with_a_data_folder_that_is_a_file(run: Path, workspace: Path) -> None:
    data = workspace / "data.txt"
    data.write_text("not a folder\n")
    before = snapshot(workspace)
    result = invoke("evaluate", str(run), "--data-dir", str(data))
    assert_error(result, DATA_IS_A_FILE.format(data=data))
    assert_unchanged(before, snapshot(workspace))


@pytest.mark.parametrize("fault", [FULL_DISK, DENIED])
def test_evaluate_cannot_write_its_report(
    fault: str, run: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a read-only run folder: one line, and not one file of the run changed or
    added (no half-written report, no temporary file)."""
    before = snapshot(workspace)
    break_io(monkeypatch, run, fault, writes=True)
    result = invoke("evaluate", str(run))
    assert_error(
        result,
        f"Cannot write the report into {run} ({REASONS[fault]}); "
        "check that the run folder is writable.",
    )
    assert_unchanged(before, snapshot(workspace))


# --- predict -----------------------------------------------------------------------------------

GIVE_AN_IMAGE = "give a PNG or JPEG image of a digit."


@pytest.mark.parametrize(
    ("how", "message"),
    table(
        ("image-is-a-folder", f"Cannot read {{image}}: it is a folder; {GIVE_AN_IMAGE}"),
        ("image-missing", f"Cannot read {{image}}: it does not exist; {GIVE_AN_IMAGE}"),
        ("image-truncated", Prefix("Cannot read {image}: the image is damaged or unsupported (")),
        ("image-random-bytes", f"Cannot read {{image}}: it is not an image file; {GIVE_AN_IMAGE}"),
        (
            "image-blank",
            "{image} contains no digit: it is blank (no pixel stands out from the background); "
            "draw a dark digit on a light background or a light one on a dark background.",
        ),
        pytest.param(
            "image-unreadable",
            Naming("Cannot read {image}", REASONS[DENIED], without=("damaged",)),
        ),
        ("run-missing", NOT_A_RUN.format(path="{runs}/missing", what="does not exist")),
        ("run-is-a-file", NOT_A_RUN.format(path="{image}", what="is a file")),
        ("model-random-bytes", NOT_A_MODEL),
        pytest.param("model-unreadable", MODEL_UNREADABLE),
    ),
)
def test_predict_rejects_what_it_cannot_read(
    how: str, message: Expected, run: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bad picture is the second of two: the error names it, and no answer is printed for
    the first (every picture is read before the model runs)."""
    good = digit_png(workspace / "one.png")
    image, target = workspace / "bad.png", run
    if how == "image-is-a-folder":
        image.mkdir()
    elif how == "image-truncated":
        image.write_bytes(digit_png(workspace / "whole.png").read_bytes()[:80])
    elif how == "image-random-bytes":
        image.write_bytes(np.random.default_rng(1).bytes(2048))
    elif how == "image-blank":
        from PIL import Image

        Image.new("L", (40, 40), 255).save(image)
    elif how != "image-missing":
        shutil.copy(good, image)
        if how == "image-unreadable":
            break_io(monkeypatch, image, DENIED, reads=True)
        elif how == "run-missing":
            target = run.parent / "missing"
        elif how == "run-is-a-file":
            target = image
        else:
            target = damage_run(run, how, monkeypatch)
    before = snapshot(workspace)
    result = invoke("predict", str(target), str(good), str(image))
    assert_error(result, fill(message, image=image, run=run, runs=run.parent))
    assert result.stdout == ""
    assert_unchanged(before, snapshot(workspace))


# --- data fetch, import, info ------------------------------------------------------------------

NO_DATA_FOLDER = "Cannot create the data folder {{data}} ({}); choose another with --data-dir or "
DATA_FOLDER_ERRORS = {
    "a-file": DATA_IS_A_FILE,
    "beneath-a-file": NO_DATA_FOLDER.format("Not a directory") + "$MNIST_LAB_DATA.",
    "denied": NO_DATA_FOLDER.format("Permission denied") + "$MNIST_LAB_DATA.",
}


@pytest.mark.parametrize("where", list(OUTPUT_FOLDERS))
@pytest.mark.parametrize("command", ["fetch", "import"])
def test_data_into_a_folder_that_cannot_be_made(
    command: str, where: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mnist_lab.data.fetching.default_sources", list)  # never the network
    folder = OUTPUT_FOLDERS[where](workspace, monkeypatch)
    args = ["import", str(data_dir())] if command == "import" else ["fetch"]
    before = snapshot(workspace)
    result = invoke("data", *args, "--data-dir", str(folder))
    assert_error(result, DATA_FOLDER_ERRORS[where].format(data=folder))
    assert_unchanged(before, snapshot(workspace))


class Offline:
    """A source that cannot be reached, as every download is on a train without network."""

    name = "offline mirror"

    def fetch(self, workdir: Path) -> dict[str, bytes]:
        raise OSError("Network is unreachable")


def test_forced_fetch_offline_keeps_the_valid_cache(
    cache: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fetching names each source it tries on stderr (by design), then one error line; the
    valid cache stays as it was (its lock file is the only new file)."""
    monkeypatch.setattr("mnist_lab.data.fetching.default_sources", lambda: [Offline()])
    before = snapshot(workspace)
    result = invoke("data", "fetch", "--force", "--data-dir", str(cache))
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "Fetching MNIST: trying offline mirror...",
        "  failed: Network is unreachable",
        "Error: Could not fetch MNIST from any source (offline mirror: Network is unreachable); "
        f"{IMPORT_HINT}.",
    ]
    assert_unchanged(before, snapshot(workspace), new=["cache/.lock"])


def import_source(workspace: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Something a student might give to 'data import' instead of MNIST."""
    fake = {
        name: to_idx_bytes(np.zeros((2, 28, 28) if "images" in name else 2, np.uint8))
        for name in FILES
    }
    source = workspace / "download"
    if how == "text-file":
        source = workspace / "notes.txt"
        source.write_text("MNIST is at the usual place\n")
    elif how == "single-file":
        source = workspace / "train-images-idx3-ubyte"
        source.write_bytes(fake["train-images-idx3-ubyte"])
    elif how in ("empty-folder", "folder-for-a-file", "not-mnist", "unreadable-file"):
        source.mkdir()
        if how != "empty-folder":
            for name, data in fake.items():
                (source / name).write_bytes(data)
        if how == "folder-for-a-file":
            (source / "train-images-idx3-ubyte").unlink()
            (source / "train-images-idx3-ubyte").mkdir()
        if how == "unreadable-file":
            break_io(monkeypatch, source / "train-images-idx3-ubyte", DENIED, reads=True)
    elif how == "damaged-npz":
        source = workspace / "mnist.npz"
        source.write_bytes(np.random.default_rng(2).bytes(1000))
    elif how == "truncated-tar":
        source = workspace / "mnist.tar.gz"
        rng = np.random.default_rng(3)
        with tarfile.open(source, "w:gz") as archive:
            for name in FILES:
                member = workspace / name
                member.write_bytes(rng.bytes(20_000))  # incompressible: the cut lands mid-member
                archive.add(member, arcname=f"mnist/{name}")
                member.unlink()
        source.write_bytes(source.read_bytes()[:30_000])
    return source


LACKS = "{{source}} lacks {} (raw or .gz)."


@pytest.mark.parametrize(
    ("how", "message"),
    table(
        (
            "text-file",
            "{source} is neither a folder, a .tar/.tgz/.zip archive nor an .npz file of MNIST.",
        ),
        ("single-file", "{source} is a single MNIST file; give the folder that holds all four."),
        ("empty-folder", LACKS.format(", ".join(FILES))),
        ("folder-for-a-file", LACKS.format("train-images-idx3-ubyte")),
        ("damaged-npz", Prefix("{source} is not a readable .npz file (")),
        ("truncated-tar", Prefix("{source} is a damaged archive (")),
        (
            "not-mnist",
            "train-images-idx3-ubyte from local files at {source} does not match the SHA-256 of "
            "the original: these are not the original MNIST files, so they were not imported.",
        ),
        ("unreadable-file", Naming("{source}/train-images-idx3-ubyte", REASONS[DENIED])),
    ),
)
def test_data_import_rejects_what_is_not_mnist(
    how: str, message: Expected, cache: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The existing valid cache is left exactly as it was (its lock file is the only new file)."""
    source = import_source(workspace, how, monkeypatch)
    before = snapshot(workspace)
    result = invoke("data", "import", str(source), "--data-dir", str(cache))
    assert_error(result, fill(message, source=source))
    assert_unchanged(before, snapshot(workspace), new=["cache/.lock"])


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            FULL_DISK,
        ),
        DENIED,
    ],
)
def test_data_import_into_a_cache_that_cannot_be_written(
    fault: str, cache: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing the real files over a valid cache when no write succeeds: one line naming the
    cache and the reason, and the cache as it was (its lock file is the only new file)."""
    before = snapshot(workspace)
    break_io(monkeypatch, cache, fault, writes=True)
    result = invoke("data", "import", str(data_dir()), "--data-dir", str(cache))
    assert_error(result, Naming(str(cache), REASONS[fault]))
    assert_unchanged(before, snapshot(workspace), new=["cache/.lock"])


@pytest.mark.parametrize(
    ("how", "message"),
    table(
        ("a-file", DATA_IS_A_FILE),
        pytest.param(
            "source-record-damaged",
            Naming("{data}/source.json"),
        ),
        ("source-record-unreadable", Naming("{data}/source.json", REASONS[DENIED])),
    ),
)
def test_data_info_reports_what_it_cannot_read(
    how: str, message: Expected, cache: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = cache
    if how == "a-file":
        data = workspace / "data.txt"
        data.write_text("not a folder\n")
    elif how == "source-record-damaged":
        (cache / SOURCE_RECORD).write_text('{"source": "Keras do')
    elif how == "source-record-unreadable":
        break_io(monkeypatch, cache / SOURCE_RECORD, DENIED, reads=True)
    before = snapshot(workspace)
    result = invoke("data", "info", "--data-dir", str(data))
    assert_error(result, fill(message, data=data))
    assert_unchanged(before, snapshot(workspace))


# --- exercises ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", ["list", "check 1", "check --all", "hint", "reset 1", "solution 1", "watch"]
)
def test_exercises_outside_a_course_say_where_to_run(args: str, workspace: Path) -> None:
    result = invoke("exercises", *args.split())
    assert_error(
        result,
        f"No exercises here: exercises/manifest.toml was not found in {Path.cwd().resolve()} or "
        "its parents; run 'mnist-lab exercises' inside the course folder (the clone of mnist-lab).",
    )
    assert list(workspace.iterdir()) == []


AFTER_LAST = str(len(CATALOG) + 1)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "0"],
        ["check", "--", "-1"],
        ["check", AFTER_LAST],
        ["hint", "0"],
        ["hint", "--", "-3"],
        ["hint", AFTER_LAST],
        ["reset", "0"],
        ["reset", "99"],
        ["solution", "0"],
        ["solution", AFTER_LAST],
    ],
    ids=" ".join,
)
def test_exercise_numbers_out_of_range(args: list[str], course: Path, workspace: Path) -> None:
    """No check runs, no hint is counted as shown, no file is reset or backed up."""
    before = snapshot(workspace)
    result = invoke("exercises", *args)
    assert_error(result, f"There is no exercise {args[-1]}; the exercises are {NUMBERS}.")
    assert_unchanged(before, snapshot(workspace))


def break_manifest(course: Path, how: str) -> None:
    manifest = course / "exercises" / "manifest.toml"
    text = manifest.read_text()
    if how == "not-toml":
        manifest.write_text(text + "\n[[exercise]\nnumber = \n")
    elif how == "entry-without-file":
        manifest.write_text(text.replace('file = "ex01_data.py"\n', "", 1))
    elif how == "number-not-a-number":
        manifest.write_text(text.replace("number = 1\n", 'number = "one"\n', 1))


@pytest.mark.parametrize(
    ("how", "message"),
    table(
        ("not-toml", Prefix("Cannot read {manifest}: ")),
        pytest.param(
            "entry-without-file",
            Naming("{manifest}", "file"),
        ),
        pytest.param(
            "number-not-a-number",
            Naming("{manifest}", "number"),
        ),
    ),
)
def test_exercises_with_a_broken_manifest(
    how: str, message: Expected, course: Path, workspace: Path
) -> None:
    break_manifest(course, how)
    before = snapshot(workspace)
    result = invoke("exercises", "list")
    assert_error(result, fill(message, manifest=course / "exercises" / "manifest.toml"))
    assert_unchanged(before, snapshot(workspace))


def test_exercises_list_with_an_unreadable_exercise_file(
    course: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = course / "exercises" / CATALOG[0].file.name
    before = snapshot(workspace)
    break_io(monkeypatch, target, DENIED, reads=True)
    result = invoke("exercises", "list")
    assert_error(result, f"Cannot read {target}: Permission denied.")
    assert_unchanged(before, snapshot(workspace))


@pytest.mark.parametrize(
    ("how", "reason"),
    table(
        pytest.param("full-disk", REASONS[FULL_DISK]),
        pytest.param("read-only", REASONS[DENIED]),
        ("unreadable", REASONS[DENIED]),
        pytest.param("is-a-folder", os.strerror(errno.EISDIR)),
    ),
)
@pytest.mark.parametrize("which", ["reset 3", "reset --all"])
def test_exercises_reset_that_cannot_read_or_write(
    which: str,
    how: str,
    reason: str,
    course: Path,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The student's own version of exercise 3 is never lost: unchanged, and no backup or
    temporary file left beside it (the earlier exercises of --all are stubs: nothing to do)."""
    target = course / "exercises" / EX3.file.name
    if how == "is-a-folder":
        target.unlink()
        target.mkdir()
        (target / "notes.txt").write_text("a folder where the exercise should be\n")
    before = snapshot(workspace)
    if how == "unreadable":
        break_io(monkeypatch, target, DENIED, reads=True)
    elif how in ("full-disk", "read-only"):
        fault = FULL_DISK if how == "full-disk" else DENIED
        break_io(monkeypatch, course / "exercises", fault, writes=True)
    result = invoke("exercises", *which.split())
    assert_error(result, Naming(str(target), reason))
    assert_unchanged(before, snapshot(workspace))


@pytest.mark.parametrize(
    ("how", "reason"),
    table(
        pytest.param(
            "full-disk",
            REASONS[FULL_DISK],
        ),
        ("state-folder-is-a-file", "is a file, not a folder"),
    ),
)
def test_exercises_hint_that_cannot_save_progress(
    how: str, reason: str, course: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint counter cannot be saved: one line naming .mnist-lab/, and nothing changed."""
    state = course / ".mnist-lab"
    if how == "full-disk":
        state.mkdir()
    else:
        state.write_text("not a folder\n")
    before = snapshot(workspace)
    if how == "full-disk":
        break_io(monkeypatch, state, FULL_DISK, writes=True)
    result = invoke("exercises", "hint", "2")
    assert_error(result, Naming(str(state), reason))
    assert_unchanged(before, snapshot(workspace))
