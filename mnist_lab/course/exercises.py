"""The exercise track: the catalog, each exercise's state, checks, hints, resets and solutions.

An exercise is a file under exercises/ that a student completes until its tests pass. The
catalog (exercises/manifest.toml) lists them in order with their tests and hints. Reference
solutions ship inside the package (mnist_lab/course/solutions/) with the parts a student writes
marked; the shipped stub is derived from the solution by replacing each marked part with a
`raise NotImplementedError(...)`, so a stub and its solution can never drift apart. A debugging
exercise ships broken code instead: its blocks hold the fix, then `# BUGGY`, then what the stub
shows in its place.

Checks run pytest in a separate process (a student's code may hang, crash or print) and their
results are cached by the content of the exercise and its tests, so listing the track does not
run again what did not change. Progress (results and hints shown) lives in .mnist-lab/ at the
project's root, never inside the student's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import MnistLabError
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic

MANIFEST = Path("exercises") / "manifest.toml"
STATE_DIR = ".mnist-lab"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
DONE, FAILING, NOT_STARTED = "done", "failing", "not started"
CHECK_TIMEOUT_S = 900

_SOLUTION_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)# SOLUTION[ \t]*\n(?P<fix>.*?)"
    r"(?:^[ \t]*# BUGGY[ \t]*\n(?P<buggy>.*?))?^[ \t]*# END SOLUTION[ \t]*\n",
    re.M | re.S,
)
_TODO = re.compile(r"^[ \t]*# TODO: (?P<text>.+?)\s*$", re.M)


class ExerciseError(MnistLabError):
    """An exercise could not be found, checked, reset or shown."""


@dataclass(frozen=True)
class Hint:
    """One hint, and the tests it helps with (empty: any)."""

    text: str
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Track:
    """A sequence of exercises with one goal (the classic project; inside the CNN)."""

    name: str
    title: str
    summary: str = ""


@dataclass(frozen=True)
class Exercise:
    """One entry of the catalog; paths are absolute."""

    number: int
    name: str
    title: str
    file: Path
    tests: Path
    page: str
    hints: tuple[Hint, ...] = field(default_factory=tuple)
    track: Track = Track("", "Exercises")

    def __repr__(self) -> str:
        return f"Exercise({self.number}, {self.name!r}, {self.file.name!r})"

    @property
    def solution(self) -> Path:
        return SOLUTIONS / self.file.name


@dataclass(frozen=True)
class Failure:
    """One failing test, in plain words: its name and what it said."""

    test: str
    message: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of running one exercise's tests.

    `output` is pytest's own console output (for a verbose report); `notes` are what passing
    tests chose to report (exercise 8: the accuracy reached); `hints_shown` is how many hints
    the student had seen when the check ran, which bounds the hint shown beside a failure.
    """

    exercise: Exercise
    passed: bool
    failures: tuple[Failure, ...]
    total: int
    output: str = ""
    notes: tuple[str, ...] = ()
    hints_shown: int = 0

    @property
    def state(self) -> str:
        return DONE if self.passed else FAILING


# --- the catalog --------------------------------------------------------------------------------


def project_root(start: Path | None = None) -> Path:
    """The folder holding exercises/manifest.toml: the current folder or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    raise ExerciseError(
        f"No exercises here: {MANIFEST} was not found in {here} or its parents; "
        "run 'mnist-lab exercises' inside the course folder (the clone of mnist-lab)."
    )


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ExerciseError(f"Cannot read {path}: {error}.") from None


def load_catalog(root: Path | None = None) -> list[Exercise]:
    """Every exercise of the manifest, in order, each with its track.

    The manifest's [[track]] entries name the tracks in order; an exercise names its track, and
    one that names none belongs to the first.
    """
    root = root or project_root()
    folder = root / MANIFEST.parent
    manifest = root / MANIFEST
    restore = "restore it from the course (git checkout exercises/manifest.toml)"
    content = _load_toml(manifest)
    tracks = {
        entry["name"]: Track(
            entry["name"], entry.get("title", entry["name"]), entry.get("summary", "")
        )
        for entry in content.get("track", [])
        if "name" in entry
    }
    default = next(iter(tracks.values()), Exercise.track)
    catalog = []
    for position, entry in enumerate(content.get("exercise", []), start=1):
        missing = [key for key in ("number", "name", "title", "file", "tests") if key not in entry]
        if missing:
            raise ExerciseError(
                f"{manifest}: exercise entry {position} has no {missing[0]!r} field; {restore}."
            )
        if isinstance(entry["number"], bool) or not isinstance(entry["number"], int):
            raise ExerciseError(
                f"{manifest}: exercise entry {position} has number = {entry['number']!r}, not a "
                f"whole number; {restore}."
            )
        track = tracks.get(entry["track"]) if "track" in entry else default
        if track is None:
            known = ", ".join(repr(name) for name in tracks) or "none"
            raise ExerciseError(
                f"{manifest}: exercise {entry['number']} names the track {entry['track']!r}, "
                f"which no [[track]] entry defines (they are {known}); {restore}."
            )
        catalog.append(
            Exercise(
                number=entry["number"],
                name=entry["name"],
                title=entry["title"],
                file=folder / entry["file"],
                tests=folder / entry["tests"],
                page=entry.get("page", ""),
                hints=tuple(
                    Hint(hint["text"], tuple(hint.get("tests", ())))
                    for hint in entry.get("hints", [])
                ),
                track=track,
            )
        )
    return sorted(catalog, key=lambda exercise: exercise.number)


def tracks(catalog: list[Exercise]) -> list[tuple[Track, list[Exercise]]]:
    """The catalog grouped by track, tracks in the order of their first exercise."""
    grouped: dict[Track, list[Exercise]] = {}
    for exercise in catalog:
        grouped.setdefault(exercise.track, []).append(exercise)
    return list(grouped.items())


def find(catalog: list[Exercise], number: int) -> Exercise:
    """The exercise numbered `number`, or an error that says which numbers exist."""
    for exercise in catalog:
        if exercise.number == number:
            return exercise
    numbers = ", ".join(str(exercise.number) for exercise in catalog)
    raise ExerciseError(f"There is no exercise {number}; the exercises are {numbers}.")


# --- stubs and solutions ---------------------------------------------------------------------


def derive_stub(solution: str, number: int) -> str:
    """The student's starting file: each `# SOLUTION ... # END SOLUTION` block becomes a raise.

    The raise repeats the `# TODO:` line above the block, so the error says what to do. A block
    with a `# BUGGY` line becomes the lines after it instead: the broken code a debugging
    exercise starts from, with nothing to say where the bug is.
    """

    def replace(match: re.Match[str]) -> str:
        if match["buggy"] is not None:
            return match["buggy"]
        todos = _TODO.findall(solution[: match.start()])
        what = todos[-1].rstrip(".") if todos else "write this part"
        message = f"Exercise {number}: {what}. Run 'mnist-lab exercises hint {number}' for a hint."
        return f"{match['indent']}raise NotImplementedError({message!r})\n"

    return _SOLUTION_BLOCK.sub(replace, solution)


def stub_text(exercise: Exercise) -> str:
    """The original stub of an exercise, derived from its shipped solution."""
    return derive_stub(_read(exercise.solution), exercise.number)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExerciseError(f"Cannot read {path}: {error.strerror or error}.") from None


# --- progress ----------------------------------------------------------------------------------


def _state_file(root: Path) -> Path:
    return root / STATE_DIR / "progress.json"


def load_progress(root: Path) -> dict[str, Any]:
    """Cached results and hints shown, per exercise number (as a string)."""
    try:
        return json.loads(_state_file(root).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def save_progress(root: Path, progress: dict[str, Any]) -> None:
    try:
        (root / STATE_DIR).mkdir(exist_ok=True)
        write_json_atomic(_state_file(root), progress)
    except FileExistsError:
        raise ExerciseError(
            f"Cannot save your progress: {root / STATE_DIR} is a file, not a folder; "
            "move it away and try again."
        ) from None
    except OSError as error:
        raise ExerciseError(
            f"Cannot save your progress in {_state_file(root)}: {error.strerror or error}; "
            "free some disk space or check the folder's permissions."
        ) from None


def fingerprint(exercise: Exercise) -> str:
    """What a cached result depends on: the student's file and the exercise's tests."""
    digest = hashlib.sha256()
    for path in (exercise.file, exercise.tests):
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


# --- checking ----------------------------------------------------------------------------------


_TRUNCATED = re.compile(r"\n?\[\+\d+ more lines?; full report in element text\]\s*$")
_SETUP_ERROR = re.compile(r'failed on (?:setup|teardown) with "(?P<error>.*)"', re.S)


def _plain(message: str) -> str:
    """A pytest failure message in plain words: the test's own message, every line of it.

    pytest reports `assert ..., message` as "AssertionError: " and the message (its further
    lines indented by two spaces), then its own "assert ..." introspection, which is dropped;
    `pytest.fail(...)` as "Failed: ..."; an error in a fixture as 'failed on setup with "..."'.
    A bare `assert` keeps pytest's introspection, the only words it has.
    """
    text = _TRUNCATED.sub("", message).strip("\n")
    text = text.split("\nFailing test case:", 1)[0]  # hypothesis's example: in --verbose
    setup = _SETUP_ERROR.fullmatch(text)
    if setup:
        text = setup["error"]
    if text.startswith("AssertionError: "):
        first, *rest = text.removeprefix("AssertionError: ").splitlines()
        kept = [first]
        for line in rest:
            if line and not line.startswith("  "):  # pytest's own "assert ..." lines follow
                break
            kept.append(line[2:])
        text = "\n".join(kept)
    elif text.startswith("assert "):  # pytest's introspection, its further lines indented
        first, *rest = text.removeprefix("assert ").splitlines()
        rest = [line.removeprefix("  ") for line in rest if "Use -v to get" not in line]
        text = "\n".join([first, *rest])
    else:
        text = text.removeprefix("Failed: ")
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return text or "the test failed without a message"


def run_tests(
    exercise: Exercise,
    exercises_dir: Path,
    timeout: float = CHECK_TIMEOUT_S,
    *,
    only: Iterable[str] = (),
) -> CheckResult:
    """Run the exercise's tests against the copy of its file in `exercises_dir`.

    `only` names the tests to run (all of them when empty).
    """
    targets = [f"{exercise.tests}::{name}" for name in only] or [str(exercise.tests)]
    with tempfile.TemporaryDirectory(prefix="mnist-lab-check-") as scratch:
        report = Path(scratch) / "report.xml"
        command = [
            sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider",
            f"--junitxml={report}", "-o", "junit_family=xunit1",
            "--rootdir", str(exercise.tests.parent),
        ]  # fmt: skip
        # The copy under test is also where models register from (exercise 8 adds one).
        env = {
            **os.environ,
            "MNIST_LAB_EXERCISES_DIR": str(exercises_dir),
            "MNIST_LAB_PLUGINS": str(exercises_dir),
        }
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env
            )
        except subprocess.TimeoutExpired as stopped:
            failure = Failure(
                "(all)", f"the tests did not finish in {timeout:.0f} s: is a loop stuck?"
            )
            return CheckResult(exercise, False, (failure,), 0, _text(stopped))
        output = completed.stdout + completed.stderr
        if not report.is_file():
            lines = output.strip().splitlines()
            failure = Failure("(all)", lines[-1] if lines else "pytest did not run")
            return CheckResult(exercise, False, (failure,), 0, output)
        total, failures, notes = read_junit(report)
    passed = completed.returncode == 0 and total > 0 and not failures
    return CheckResult(exercise, passed, failures, total, output, notes)


def read_junit(report: Path) -> tuple[int, tuple[Failure, ...], tuple[str, ...]]:
    """(tests, failures in plain words, notes) of a pytest junit-xml report (xunit1)."""
    return summarize_junit(ElementTree.parse(report).getroot())


def summarize_junit(root: Any) -> tuple[int, tuple[Failure, ...], tuple[str, ...]]:
    """`read_junit` of an already parsed report. Shared by `check` and the grader's sandbox,
    so both say a failure in the same words."""
    failures, notes, total = [], [], 0
    for case in root.iter("testcase"):
        total += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            message = problem.get("message", "")
            if _TRUNCATED.search(message):  # pytest shortens long messages: read them whole
                message = _raised(problem.text or "") or message
            failures.append(Failure(case.get("name", "?"), _plain(message)))
        # What a test reports even when it passes (the exercises' `note` fixture).
        notes += [p.get("value", "") for p in case.iter("property") if p.get("name") == "note"]
    return total, tuple(failures), tuple(notes)


def _raised(report: str) -> str:
    """The exception of a test's full report: pytest's "E   " lines, without the prefix."""
    lines = [line[4:] if line.startswith("E   ") else line[1:].lstrip() for line in
             report.splitlines() if line.startswith("E ") or line == "E"]  # fmt: skip
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _text(stopped: subprocess.TimeoutExpired) -> str:
    """What a process stopped at its timeout had printed so far."""
    parts = (stopped.stdout, stopped.stderr)
    return "".join(p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in parts)


def check(exercise: Exercise, root: Path) -> CheckResult:
    """Run an exercise's tests against the student's file and remember the outcome.

    The result also carries how many hints the student has seen, so `hint_for` keeps to them.
    """
    result = run_tests(exercise, exercise.file.parent)
    progress = load_progress(root)
    entry = progress.setdefault(str(exercise.number), {})
    entry.update(fingerprint=fingerprint(exercise), state=result.state)
    save_progress(root, progress)
    return replace(result, hints_shown=_hints_shown(entry))


def state(exercise: Exercise, root: Path, progress: dict[str, Any] | None = None) -> str | None:
    """done, failing or not started, from the file and the cache; None if it needs a check."""
    if not exercise.file.is_file() or _read(exercise.file) == stub_text(exercise):
        return NOT_STARTED
    entry = (progress if progress is not None else load_progress(root)).get(str(exercise.number))
    if entry and entry.get("fingerprint") == fingerprint(exercise):
        return entry["state"]
    return None


def hint_for(result: CheckResult) -> Hint | None:
    """The hint to show beside a failed check, never past the next one the student has not seen.

    Hints go from a question to a pointer, and `next_hint` gives them one at a time: a check
    keeps to that ladder. Among the hints already shown and the next one, it picks the latest
    meant for the first failing test it can help with (a hint without tests helps with any);
    else the first hint, the opening question.
    """
    hints = result.exercise.hints
    if not hints:
        return None
    ladder = hints[: result.hints_shown + 1]
    for failure in result.failures:
        test = failure.test.split("[", 1)[0]  # parametrized tests report as name[case]
        meant = [hint for hint in ladder if not hint.tests or test in hint.tests]
        if meant:
            return meant[-1]
    return hints[0]


def _hints_shown(entry: dict[str, Any]) -> int:
    try:
        return max(int(entry.get("hints_shown", 0)), 0)
    except (TypeError, ValueError):  # a hand-edited progress file: start the ladder again
        return 0


def next_hint(exercise: Exercise, root: Path) -> tuple[int, Hint]:
    """The next hint not yet shown (the last one again once all were shown); remembers it."""
    if not exercise.hints:
        raise ExerciseError(f"Exercise {exercise.number} has no hints.")
    progress = load_progress(root)
    entry = progress.setdefault(str(exercise.number), {})
    shown = min(_hints_shown(entry), len(exercise.hints) - 1)
    entry["hints_shown"] = shown + 1
    save_progress(root, progress)
    return shown + 1, exercise.hints[shown]


# --- reset and solution ------------------------------------------------------------------------


def reset(exercise: Exercise, now: datetime | None = None) -> Path | None:
    """Restore the original stub, keeping the student's version as a timestamped backup.

    Returns the backup's path, or None when the file was already the stub (nothing to keep).
    """
    stub = stub_text(exercise)
    backup = None
    if exercise.file.is_file():
        current = exercise.file.read_bytes()
        if current.decode("utf-8", errors="replace") == stub:
            return None
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        backup = exercise.file.with_name(f"{exercise.file.stem}.backup-{stamp}.py.txt")
        counter = 2
        while backup.exists():
            backup = exercise.file.with_name(
                f"{exercise.file.stem}.backup-{stamp}-{counter}.py.txt"
            )
            counter += 1
    try:
        if backup is not None:
            write_bytes_atomic(backup, current)
        write_bytes_atomic(exercise.file, stub.encode("utf-8"))
    except OSError as error:  # the student's file is untouched: the writes are atomic
        if backup is not None:
            backup.unlink(missing_ok=True)
        raise ExerciseError(
            f"Cannot reset {exercise.file}: {error.strerror or error}; your version is "
            "unchanged. Free some disk space or check the folder's permissions, then try again."
        ) from None
    return backup


def solution(exercise: Exercise, root: Path) -> str:
    """The reference solution, once the student's own version passes (without the markers and
    the broken code a debugging exercise started from)."""
    if state(exercise, root) != DONE:
        raise ExerciseError(
            f"The solution of exercise {exercise.number} opens once your version passes: "
            f"run 'mnist-lab exercises check {exercise.number}' first."
        )
    return solution_text(exercise)


def solution_text(exercise: Exercise) -> str:
    """The shipped solution as a student would write it: the markers and the broken code of a
    debugging exercise taken out."""
    return _SOLUTION_BLOCK.sub(lambda match: match["fix"], _read(exercise.solution))


# --- the track as a whole ----------------------------------------------------------------------


def statuses(
    catalog: list[Exercise], root: Path, on_check: Any = None
) -> list[tuple[Exercise, str]]:
    """Each exercise with its state; a file changed since its last check is checked again.

    `on_check(exercise)` is called before each such check, so a caller can say why it waits.
    """
    progress = load_progress(root)
    result = []
    for exercise in catalog:
        known = state(exercise, root, progress)
        if known is None:
            if on_check is not None:
                on_check(exercise)
            known = check(exercise, root).state
        result.append((exercise, known))
    return result


def next_pending(states: list[tuple[Exercise, str]]) -> Exercise | None:
    """The first exercise that is not done, or None when the track is complete."""
    return next((exercise for exercise, known in states if known != DONE), None)


# --- watching ----------------------------------------------------------------------------------

NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "drvfs", "fuse.sshfs", "v9fs"}


def _filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding `path`, from /proc/mounts (Linux), else None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    resolved = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and resolved.startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


def polling_reason(folder: Path) -> str | None:
    """Why file events would not arrive from `folder` (so watching must poll), or None."""
    import platform

    if os.environ.get("MNIST_LAB_WATCH_POLLING"):
        return "MNIST_LAB_WATCH_POLLING is set"
    if "microsoft" in platform.uname().release.lower():
        return "this is WSL, where file events from Windows editors do not arrive"
    kind = _filesystem_type(folder)
    if kind in NETWORK_FILESYSTEMS:
        return f"{folder} is on a network filesystem ({kind})"
    return None


def wait_for_change(folder: Path, polling: bool) -> set[Path]:
    """Block until a .py file under `folder` is saved; return the changed files."""
    from watchfiles import watch

    for changes in watch(folder, force_polling=polling, poll_delay_ms=500, debounce=400):
        changed = {Path(path) for _, path in changes if path.endswith(".py")}
        if changed:
            return changed
    return set()
