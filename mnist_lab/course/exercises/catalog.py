"""The catalog: which exercises exist, in which order and track, with their files and hints.

Everything else in the exercise track starts from an `Exercise` of this catalog, read from
exercises/manifest.toml (rustlings' one manifest: each exercise's file, tests and hints, in
order). The reference solutions ship inside the package, beside this subpackage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_lab.core.errors import MnistLabError

MANIFEST = Path("exercises") / "manifest.toml"
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
# A hint's rung on the ladder, in the order they are climbed: a question that makes the student
# think, the idea with a pointer to the course chapter, then near-code (earned by failing).
RUNGS = ("question", "idea", "code")


class ExerciseError(MnistLabError):
    """An exercise could not be found, checked, reset or shown."""


@dataclass(frozen=True)
class Hint:
    """One hint, the tests it helps with (empty: any) and its rung, one of `RUNGS`."""

    text: str
    tests: tuple[str, ...] = ()
    rung: str = "question"


@dataclass(frozen=True)
class OwnCodeRule:
    """What an exercise asks the student to write, and so forbids their code to call.

    `asks` ends the sentence "exercise N asks for ..." ("your own convolution"); `functions` are
    the names the student writes, watched while they run; `forbids` are dotted names of
    packages, modules, functions or classes (the course's solutions are always forbidden);
    `given` names the file's ready-made helpers, whose calls stay allowed. `uses` numbers the
    earlier exercises whose files, beside this one, it imports: their code counts as the
    student's own (the solution of exercise 25 imports the other solutions), a check carries
    them, and each must pass first.
    """

    asks: str
    functions: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()
    given: tuple[str, ...] = ()
    uses: tuple[int, ...] = ()


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
    own_code: OwnCodeRule | None = None
    check_minutes: int | None = None  # how long its check may run; None: the usual limit

    def __repr__(self) -> str:
        return f"Exercise({self.number}, {self.name!r}, {self.file.name!r})"

    @property
    def solution(self) -> Path:
        """The shipped reference solution, with its parts marked (see `stubs`)."""
        return SOLUTIONS / self.file.name


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


def read_source(path: Path) -> str:
    """The text of an exercise's file or solution, or an ExerciseError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExerciseError(f"Cannot read {path}: {error.strerror or error}.") from None


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
    """Every exercise of the manifest of the course at `root` (found from the current folder
    if None), in order, each with its track."""
    return read_catalog((root or project_root()) / MANIFEST)


def read_catalog(manifest: Path) -> list[Exercise]:
    """Every exercise of the manifest file `manifest`, in order, each with its track.

    The manifest's [[track]] entries name the tracks in order; an exercise names its track, and
    one that names none belongs to the first. The catalog keeps the manifest's order, not the
    numbers' (exercise 8, the capstone, comes after the inside track). Files and tests are
    relative to its folder.
    """
    folder = manifest.parent
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
                hints=_hints(entry, manifest),
                track=track,
                own_code=_own_code_rule(entry, manifest),
                check_minutes=_check_minutes(entry, manifest),
            )
        )
    return catalog


def _check_minutes(entry: dict[str, Any], manifest: Path) -> int | None:
    """The exercise's `check_minutes` (a check that trains for long needs more than the usual
    limit, or the limit, not the exercise's rule, would decide on a slow laptop)."""
    value = entry.get("check_minutes")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ExerciseError(
            f"{manifest}: exercise {entry['number']}'s check_minutes must be a whole number of "
            f"minutes above 0, got {value!r}."
        )
    return value


def _hints(entry: dict[str, Any], manifest: Path) -> tuple[Hint, ...]:
    """The exercise's hints, each with its rung; rungs must climb the ladder in `RUNGS` order,
    starting from a question, or the manifest is malformed (one line says where)."""
    hints, climbed = [], 0
    for position, table in enumerate(entry.get("hints", []), start=1):
        where = f"{manifest}: exercise {entry['number']}'s hint {position}"
        if not isinstance(table, dict) or not isinstance(table.get("text"), str):
            raise ExerciseError(f'{where} needs text = "..." (what the hint says).')
        rung = table.get("rung")
        if rung not in RUNGS:
            names = ", ".join(repr(name) for name in RUNGS)
            raise ExerciseError(f"{where} has rung = {rung!r}; give it one of {names}.")
        order = ", then ".join(repr(name) for name in RUNGS)
        if position == 1 and rung != RUNGS[0]:
            raise ExerciseError(f"{where} has rung = {rung!r}: the ladder starts with a question.")
        if RUNGS.index(rung) < climbed:
            raise ExerciseError(
                f"{where} is rung {rung!r} after rung {RUNGS[climbed]!r}: hints go {order}; "
                "reorder them."
            )
        tests = table.get("tests", [])
        if not isinstance(tests, list) or not all(isinstance(test, str) for test in tests):
            raise ExerciseError(f"{where}: tests must be a list of test names, got {tests!r}.")
        climbed = RUNGS.index(rung)
        hints.append(Hint(table["text"], tuple(tests), rung))
    return tuple(hints)


def _own_code_rule(entry: dict[str, Any], manifest: Path) -> OwnCodeRule | None:
    """The exercise's `own_code` table as a rule, or None; a malformed one is an error."""
    table = entry.get("own_code")
    if table is None:
        return None
    where = f"{manifest}: exercise {entry['number']}'s own_code"
    if not isinstance(table, dict) or not isinstance(table.get("asks"), str):
        raise ExerciseError(f'{where} needs asks = "..." (what the exercise asks for).')
    lists = {}
    for key in ("functions", "forbids", "given"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ExerciseError(f"{where}.{key} must be a list of names, got {value!r}.")
        lists[key] = tuple(value)
    uses = table.get("uses", [])
    if not isinstance(uses, list) or not all(
        isinstance(number, int) and not isinstance(number, bool) for number in uses
    ):
        raise ExerciseError(f"{where}.uses must be a list of exercise numbers, got {uses!r}.")
    return OwnCodeRule(table["asks"], **lists, uses=tuple(uses))


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
