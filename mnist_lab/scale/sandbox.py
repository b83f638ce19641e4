"""Run one exercise's tests against one student's file, in a fresh process with limits.

The grader calls this once per (student, exercise). The student's file is never imported here:
its syntax is checked by compiling its text, then pytest runs in a new process group, in a
temporary folder holding only that file, the exercise tests' conftest and the one test file,
with an environment built from scratch (a temporary HOME, none of the instructor's variables)
and TensorFlow's threads pinned. The whole group is killed when the wall-clock budget runs out
or its memory (the sum of its processes' RSS) passes the limit; the score comes from pytest's
junit-xml report. RLIMIT_AS is not used: TensorFlow reserves far more virtual memory than it
uses, so an address-space limit breaks it.

These limits protect a batch from a student's mistakes (a loop, a blow-up, a crash), not from a
malicious student: the tests run as the grader's user. Untrusted code belongs in containers.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import psutil

from mnist_lab.course.exercises.catalog import Exercise
from mnist_lab.course.exercises.checking import pytest_command
from mnist_lab.course.exercises.results import Failure, plain_message, summarize_junit

POLL_S = 0.2  # how often the memory of the process group is measured
# The only variables of the grader's environment a test process sees (when they are set).
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES")
# TensorFlow's thread pools, and numpy's BLAS: one grading process takes `threads` cores.
THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
)  # fmt: skip
# An exception as pytest prints it: "E   NameError: ...", "path.py:1: KeyboardInterrupt".
_EXCEPTION_LINE = re.compile(
    r"^(?:E\s+|\S+:\d+: )?(?P<line>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*)$"
)
_DECORATION = re.compile(r"^(?:[=!_\-]{3,}.*|\(.*\)|\d+ (?:error|failed|passed).*|no tests ran.*)$")


@dataclass(frozen=True)
class TestsOutcome:
    """What one exercise's tests said of one student's file.

    `error` says in one line why nothing could be counted (then `passed` is 0); `failures` are
    the failing tests in the same plain words as `mnist-lab exercises check`.
    """

    __test__ = False  # not a pytest test class, despite its name

    passed: int
    total: int
    failures: tuple[Failure, ...]
    error: str | None
    seconds: float
    notes: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()  # every test that ran, passed or not, by its junit name

    @property
    def score(self) -> float:
        """Partial credit: passed tests over tests (0.0 when nothing was counted)."""
        return self.passed / self.total if self.total else 0.0

    def __repr__(self) -> str:
        what = self.error or f"{self.passed}/{self.total} passed"
        return f"TestsOutcome({what}, {self.seconds:.1f} s)"


def run_exercise_tests(
    exercise: Exercise,
    student_file: Path | None,
    *,
    tests_file: Path | None = None,
    timeout: float = 120,
    memory_mb: int = 4096,
    data_dir: Path | None = None,
    threads: int = 1,
    earlier: Sequence[Path] | None = None,
) -> TestsOutcome:
    """Run `tests_file` (the exercise's public tests by default) against `student_file`.

    A hidden test file has the public one's name and is run the same way. Nothing raises for
    what the student wrote: a missing file, a syntax error, a loop, a blow-up or a crash is the
    outcome's `error`. `earlier` are the student's files of the exercises this one imports (its
    `own_code.uses`), copied beside it; by default, those found beside `student_file`.
    """
    start = time.monotonic()
    tests_file = tests_file or exercise.tests

    def outcome(error: str) -> TestsOutcome:
        return TestsOutcome(0, 0, (), error, time.monotonic() - start)

    if student_file is None or not student_file.is_file():
        return outcome(f"no file {exercise.file.name} in the submission")
    source = student_file.read_bytes()
    problem = syntax_error(source, exercise.file.name)
    if problem:
        return outcome(problem)
    data = Path(data_dir) if data_dir is not None else _instructor_data_dir()
    with _sandbox("exercises", "tests") as (sandbox, private):
        (sandbox / "exercises" / exercise.file.name).write_bytes(source)
        for used in used_files(exercise, student_file) if earlier is None else earlier:
            shutil.copyfile(used, sandbox / "exercises" / used.name)
        shutil.copyfile(exercise.tests.parent / "conftest.py", sandbox / "tests" / "conftest.py")
        manifest = exercise.tests.parent.parent / "manifest.toml"  # the own-code rule is in it
        if manifest.is_file():
            shutil.copyfile(manifest, sandbox / "manifest.toml")
        shutil.copyfile(tests_file, sandbox / "tests" / tests_file.name)
        report, log = private / "report.xml", private / "output.txt"
        command = pytest_command([f"tests/{tests_file.name}"], report, sandbox / "tests")
        env = sandbox_env(sandbox, data, threads)
        with log.open("wb") as output:
            code, stopped = _run_limited(command, sandbox, env, output, timeout, memory_mb)
        if stopped:
            return outcome(stopped)
        text = log.read_text(encoding="utf-8", errors="replace")
        try:
            root = ElementTree.parse(report).getroot()  # read once, for all three
            total, failures, notes = summarize_junit(root)
            setup = common_setup_error(root)
            names = tuple(case.get("name", "?") for case in root.iter("testcase"))
        except (OSError, ParseError):
            return outcome(f"the tests could not run: {last_line(text, code)}")
    seconds = time.monotonic() - start
    collection = any(failure.message == "collection failure" for failure in failures)
    if collection or total == 0:
        return TestsOutcome(0, 0, (), f"the tests could not run: {last_line(text)}", seconds)
    if setup:  # the file itself did not import: one reason, not one failure per test
        return TestsOutcome(0, total, failures, f"the tests could not run: {setup}", seconds)
    return TestsOutcome(total - len(failures), total, failures, None, seconds, notes, names)


@contextlib.contextmanager
def _sandbox(*folders: str) -> Iterator[tuple[Path, Path]]:
    """A fresh sandbox folder (with `folders`, home/ and tmp/) and, beside it, a private folder
    for what only the grader reads (the report, the log); both removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mnist-lab-sandbox-") as scratch:
        sandbox, private = Path(scratch) / "run", Path(scratch) / "grader"
        for folder in (*folders, "home", "tmp"):
            (sandbox / folder).mkdir(parents=True)
        private.mkdir()
        yield sandbox, private


def common_setup_error(root: ElementTree.Element) -> str | None:
    """The one error every test of a parsed report failed on at setup (the student's file did
    not import: a NameError, an ImportError), in plain words; None if the tests ran."""
    messages = set()
    for case in root.iter("testcase"):
        error = case.find("error")
        message = "" if error is None else error.get("message", "")
        if not message.startswith("failed on setup"):
            return None
        messages.add(message)
    if len(messages) != 1:
        return None
    return plain_message(messages.pop()).splitlines()[0]


def syntax_error(source: bytes, name: str) -> str | None:
    """Why the file does not compile, as "SyntaxError on line N: ...", or None.

    Compiling reads the text and runs none of it, so this is safe in the grader's process.
    """
    try:
        compile(source, name, "exec", dont_inherit=True)
    except SyntaxError as error:  # IndentationError and TabError too
        where = f" on line {error.lineno}" if error.lineno else ""
        return f"SyntaxError{where}: {error.msg}"
    except ValueError as error:  # null bytes, before Python 3.12
        return f"SyntaxError: {error}"
    except (RecursionError, MemoryError):
        return "SyntaxError: the file is nested too deeply to compile"
    return None


def used_files(exercise: Exercise, student_file: Path) -> list[Path]:
    """The files of the exercises `exercise` imports (its `own_code.uses`) beside
    `student_file`: the student's own, never the course's."""
    uses = exercise.own_code.uses if exercise.own_code is not None else ()
    folder = student_file.parent
    return [path for number in uses for path in sorted(folder.glob(f"ex{number:02d}_*.py"))]


def sandbox_env(sandbox: Path, data: Path, threads: int) -> dict[str, str]:
    """The test process's whole environment: a whitelist, never a copy of the grader's."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    exercises_dir = str(sandbox / "exercises")
    env.update(
        HOME=str(sandbox / "home"),
        TMPDIR=str(sandbox / "tmp"),
        MNIST_LAB_EXERCISES_DIR=exercises_dir,
        MNIST_LAB_PLUGINS=exercises_dir,
        MNIST_LAB_DATA=str(data),
        CI="1",  # the exercises' conftest derandomizes hypothesis: the same examples every run
        HYPOTHESIS_STORAGE_DIRECTORY=str(sandbox / "tmp" / "hypothesis"),
        PYTHONDONTWRITEBYTECODE="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        # The tests run with the grader's own mnist_lab (its own-code rule), wherever it is.
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    return env


def last_line(output: str, code: int | None = None) -> str:
    """The line that says why pytest did not run: the last exception it printed, else the
    last line that is not a separator or a count."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        found = _EXCEPTION_LINE.match(line)
        if found:
            return found["line"]
    for line in reversed(lines):
        if not _DECORATION.match(line):
            return line
    ended = f" with exit code {code}" if code is not None else ""
    return f"pytest ended{ended}, printing nothing and writing no report"


def _instructor_data_dir() -> Path:
    from mnist_lab.data import data_dir

    return data_dir().resolve()


def _run_limited(
    command: list[str], cwd: Path, env: dict[str, str], output, timeout: float, memory_mb: int
) -> tuple[int | None, str | None]:
    """Run `command` in a new process group: its exit code, and why it was stopped (or None).

    Whatever way it ends, the whole group is killed afterwards: nothing a student's file
    started outlives its tests.
    """
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    group = process.pid  # a new session: the group's id is the leader's pid
    deadline = time.monotonic() + timeout
    limit = memory_mb * 1024 * 1024
    code = reason = None
    try:
        while True:
            try:
                code = process.wait(timeout=max(0.0, min(POLL_S, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                if code < 0:
                    reason = f"the tests could not run: pytest was killed by {_signal_name(-code)}"
                break
            if time.monotonic() >= deadline:
                reason = f"timed out after {timeout:g} s"
                break
            if group_rss(group) > limit:
                reason = f"used more than {memory_mb:,} MB of memory"
                break
    finally:
        _kill_group(process)
        process.wait()
    return code, reason


def group_rss(group: int) -> int:
    """The resident memory of every process in the process group `group`, in bytes."""
    total = 0
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group:
                total += process.memory_info().rss
        except (psutil.Error, OSError):  # it ended while we looked
            continue
    return total


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the leader's process group, and its descendants that left the group (setsid)."""
    group, strays = process.pid, []
    if process.returncode is None:  # not reaped yet, so its pid is still its own
        with contextlib.suppress(psutil.Error):
            strays = psutil.Process(group).children(recursive=True)
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(group, signal.SIGKILL)
    for process in strays:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --- a student's own model --------------------------------------------------------------------

RESULT_MARK = "MNIST_LAB_MODEL_RESULT "
# Run inside the sandbox: find the models the student's files register and train "my-model"
# (else the first one) by the capstone's rule (`mnist_lab.scale.capstone`): its recipe, at most
# `epochs` of it, once per seed; a recipe over the capstone's budget of epochs is not trained.
_TRAIN_SCRIPT = f"""
import json, sys
from mnist_lab.course import capstone
from mnist_lab.models import registry
from mnist_lab.scale.capstone import train_seeds
epochs, limit, seeds = json.loads(sys.argv[1])
names = [n for n in registry.list_models() if registry.model_info(n).source == "exercise"]
if not names:
    print({RESULT_MARK!r} + json.dumps(None))
    sys.exit(0)
name = capstone.MODEL if capstone.MODEL in names else names[0]
asked = registry.model_info(name).recipe.epochs
if asked > capstone.MAX_EPOCHS:
    error = (f"its recipe asks for {{asked}} epochs, over the capstone's budget of "
             f"{{capstone.MAX_EPOCHS}}: not trained")
    print({RESULT_MARK!r} + json.dumps({{"model": name, "error": error}}))
    sys.exit(0)
runs = train_seeds(name, seeds, out="runs", epochs=min(asked, epochs), limit=limit)
if runs[-1].stopped_by_safety:
    error = (f"the training of seed {{runs[-1].seed}} ran past {{capstone.SAFETY_MINUTES}} "
             "minutes and was stopped (a guard against a runaway, not the grade rule)")
    print({RESULT_MARK!r} + json.dumps({{"model": name, "error": error}}))
    sys.exit(0)
val = [run.val_accuracy for run in runs]
print({RESULT_MARK!r} + json.dumps({{
    "model": name, "val_accuracy": capstone.mean_accuracy(val), "val_accuracies": val,
    "test_accuracy": capstone.mean_accuracy([run.test_accuracy for run in runs]),
    "params": runs[0].params, "epochs": runs[0].epochs, "seeds": [run.seed for run in runs],
    "train_seconds": sum(run.train_seconds for run in runs)}}))
"""


@dataclass(frozen=True)
class ModelOutcome:
    """The student's model trained on the capstone's seeds: the mean of their validation (and
    test) accuracies, each seed's validation accuracy, or why there are none."""

    model: str | None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    params: int | None = None
    epochs: int | None = None
    train_seconds: float | None = None
    error: str | None = None
    seeds: tuple[int, ...] | None = None
    val_accuracies: tuple[float, ...] | None = None


def train_student_model(
    files: dict[str, bytes],
    *,
    epochs: int,
    limit: int | None,
    seeds: Sequence[int] = (0, 1),
    timeout: float = 600,
    memory_mb: int = 4096,
    data_dir: Path | None = None,
    threads: int = 1,
) -> ModelOutcome | None:
    """Train the model the student's files register ("my-model", else the first) by its recipe,
    at most `epochs` of it, once per seed of `seeds`, in the same kind of sandbox as the tests;
    None when no file registers one. A recipe over the capstone's budget is not trained.

    A file is looked at only if its text calls `register_model`, as the registry does, and one
    with a syntax error is left out of the sandbox.
    """
    registering = {
        name: source
        for name, source in files.items()
        if b"register_model" in source and syntax_error(source, name) is None
    }
    if not registering:
        return None
    data = Path(data_dir) if data_dir is not None else _instructor_data_dir()
    with _sandbox("exercises") as (sandbox, private):
        for name, source in registering.items():
            (sandbox / "exercises" / name).write_bytes(source)
        log = private / "output.txt"
        options = json.dumps([epochs, limit, list(seeds)])
        command = [sys.executable, "-c", _TRAIN_SCRIPT, options]
        with log.open("wb") as output:
            code, stopped = _run_limited(
                command, sandbox, sandbox_env(sandbox, data, threads), output, timeout, memory_mb
            )
        text = log.read_text(encoding="utf-8", errors="replace")
    if stopped:
        return ModelOutcome(None, error=stopped.replace("the tests", "the training"))
    results = [line for line in text.splitlines() if line.startswith(RESULT_MARK)]
    if code != 0 or not results:
        return ModelOutcome(None, error=f"the model could not train: {last_line(text, code)}")
    found = json.loads(results[-1].removeprefix(RESULT_MARK))
    if found is None:
        return None
    return ModelOutcome(**{k: tuple(v) if isinstance(v, list) else v for k, v in found.items()})
