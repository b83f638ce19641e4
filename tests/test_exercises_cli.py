"""The exercise track end to end: the shipped stubs fail their tests, the solutions pass them,
and `mnist-lab exercises` lists, checks, hints, resets and shows solutions in a course copy.

Every test works on copies in a temporary folder, so a student's own work in exercises/ never
changes what this suite sees (and is never touched by it).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
runner = CliRunner()


def write_solution(course: Path, number: int) -> Path:
    exercise = exercises.find(CATALOG, number)
    target = course / "exercises" / exercise.file.name
    target.write_text(exercises.solution_text(exercise))
    return target


def test_every_exercise_is_complete_in_the_catalog():
    assert sorted(exercise.number for exercise in CATALOG) == list(range(1, len(CATALOG) + 1))
    assert len(CATALOG) >= 8
    for exercise in CATALOG:
        assert exercise.solution.is_file(), exercise
        assert exercise.tests.is_file(), exercise
        assert (ROOT / exercise.page).is_file(), exercise
        assert 2 <= len(exercise.hints) <= 3, exercise
        stub = exercises.stub_text(exercise)
        if is_debugging(exercise):  # the stub is the broken script, with no sign of the bugs
            assert stub != exercise.solution.read_text(), exercise
            assert "NotImplementedError" not in stub and "# BUGGY" not in stub, exercise
        else:
            assert "# TODO:" in stub and "raise NotImplementedError" in stub, exercise
        assert "# SOLUTION" not in stub, exercise


def is_debugging(exercise) -> bool:
    """A debugging exercise ships broken code to fix instead of parts to write."""
    return "# BUGGY" in exercise.solution.read_text()


def test_the_tracks_group_the_catalog_in_order():
    grouped = exercises.tracks(CATALOG)
    assert [track.name for track, _ in grouped] == ["classic", "inside", "learn", "capstone"]
    assert [exercise.number for _, members in grouped for exercise in members] == [
        exercise.number for exercise in CATALOG
    ]
    classic, inside, learn, capstone = (members for _, members in grouped)
    assert [exercise.number for exercise in classic] == list(range(1, 8))
    assert len(inside) >= 9 and inside[0].number == 9
    # how a CNN learns: from the gradient check on, in the order of the numbers
    assert [e.number for e in learn] == list(range(18, 28))
    assert [e.number for e in learn] == sorted(e.number for e in learn)
    # the capstone comes last, after every other track, whatever its number
    assert [exercise.number for exercise in capstone] == [8]
    assert CATALOG[-1].number == 8


def test_no_stray_files_in_exercises():
    expected = {exercise.file.name for exercise in CATALOG} | {"manifest.toml", "README.md"}
    shipped = {p.name for p in (ROOT / "exercises").iterdir() if p.is_file()}
    stray = {name for name in shipped - expected if ".backup-" not in name}
    assert not stray, f"files in exercises/ that no exercise owns: {sorted(stray)}"


@pytest.mark.skipif(not os.environ.get("CI"), reason="authoring check; a student's edits differ")
@pytest.mark.parametrize("exercise", CATALOG, ids=lambda e: e.file.stem)
def test_shipped_stub_is_derived_from_its_solution(exercise):
    assert (ROOT / "exercises" / exercise.file.name).read_text() == exercises.stub_text(exercise)


# Exercise 8's solution trains its model twice (seeds 0 and 1) on the full training set (about
# 10 to 15 minutes on 2 cores), exercise 25's its numpy CNN for 3 epochs (minutes): `make
# test-slow` checks them, `make test` the others (each well under a minute).
TRAINS_FOR_MINUTES = {8, 25}


@pytest.mark.parametrize(
    "exercise",
    [
        pytest.param(e, marks=[pytest.mark.slow] if e.number in TRAINS_FOR_MINUTES else [])
        for e in CATALOG
    ],
    ids=lambda e: e.file.stem,
)
def test_stub_fails_every_test_and_solution_passes_them_all(exercise, tmp_path):
    """The honesty of the track: no test passes by accident, no exercise is impossible."""
    stub_dir, solution_dir = tmp_path / "stub", tmp_path / "solution"
    for folder, text in (
        (stub_dir, exercises.stub_text(exercise)),
        (solution_dir, exercises.solution_text(exercise)),
    ):
        folder.mkdir()
        (folder / exercise.file.name).write_text(text)
        for number in exercise.own_code.uses if exercise.own_code else ():  # imported by it
            used = exercises.find(CATALOG, number)
            (folder / used.file.name).write_text(exercises.solution_text(used))

    # Both runs at once: each is mostly a fresh interpreter importing TensorFlow, one core each.
    with ThreadPoolExecutor(max_workers=2) as pool:
        stub_run = pool.submit(exercises.run_tests, exercise, stub_dir)
        solution_run = pool.submit(exercises.run_tests, exercise, solution_dir)
        stub, solution = stub_run.result(), solution_run.result()
    assert stub.total > 0 and len(stub.failures) == stub.total, (stub.total, stub.failures)
    if not is_debugging(exercise):  # every failure is the stub's own raise
        assert all(
            "NotImplementedError" in f.message or "Exercise" in f.message for f in stub.failures
        ), stub.failures

    assert solution.passed, (solution.failures, solution.output[-2000:])
    assert solution.total == stub.total


def invoke(*args: str):
    return runner.invoke(app, ["exercises", *args])


def test_a_fresh_course_lists_every_exercise_as_not_started(course):
    result = invoke()
    assert result.exit_code == 0, result.output
    assert result.stdout.count("· not started") == len(CATALOG)
    for index, (track, members) in enumerate(exercises.tracks(CATALOG), start=1):
        assert f"Track {index}: {track.title}" in result.stdout
        assert f"0 of {len(members)} done" in result.stdout
    assert f"Progress: {'░' * 32} 0 of {len(CATALOG)} done" in result.stdout
    assert "Next: exercise 1 (" in result.stdout


def test_check_explains_a_wrong_normalize_and_passes_a_right_one(course):
    target = write_solution(course, 2)
    right = target.read_text()
    target.write_text(right.replace("255", "256"))
    wrong = invoke("check", "2")
    assert wrong.exit_code == 1
    assert "✗ Exercise 2 (" in wrong.stdout and "tests fail." in wrong.stdout
    assert "Hint: " in wrong.stdout

    target.write_text(right)
    good = invoke("check", "2")
    assert good.exit_code == 0, good.output
    assert "✓ Exercise 2 (" in good.stdout and "passes all" in good.stdout
    assert "Next: exercise 3 (" in good.stdout  # the track goes on, though 1 is not done

    listing = invoke("list")
    assert "✓ done" in listing.stdout and f" 1 of {len(CATALOG)} done" in listing.stdout


def test_hints_come_one_at_a_time_then_all(course):
    exercise = exercises.find(CATALOG, 2)
    question, idea, code = (hint.text for hint in exercise.hints)
    first = invoke("hint", "2")
    assert first.stdout.startswith(f"Hint 1 of {len(exercise.hints)} for exercise 2: ")
    assert "Run 'mnist-lab exercises hint 2' again for the next one." in first.stdout
    second = invoke("hint", "2")
    assert second.stdout.startswith(f"Hint 2 of {len(exercise.hints)} for exercise 2: ")
    every = invoke("hint", "2", "--all")
    assert every.stdout.count("for exercise 2: ") == len(exercise.hints)
    assert code in every.stdout  # --all is the student's explicit choice: every rung


def test_hint_keeps_near_code_until_a_check_failed_twice_on_the_same_test(course):
    question, idea, code = (hint.text for hint in exercises.find(CATALOG, 2).hints)
    locked = (
        "The near-code hint unlocks once 'mnist-lab exercises check 2' has failed 2 times on the "
        "same test; 'mnist-lab exercises hint 2 --all' shows every hint now.\n"
    )
    invoke("hint", "2")
    assert invoke("hint", "2").stdout == f"Hint 2 of 3 for exercise 2: {idea}\n{locked}"
    assert invoke("hint", "2").stdout == f"Hint 2 of 3 for exercise 2: {idea}\n{locked}"
    write_solution(course, 2).write_text("raise ValueError('not yet')\n")
    invoke("check", "2")
    assert code not in invoke("hint", "2").stdout  # one failed check is not enough
    invoke("check", "2")
    assert invoke("hint", "2").stdout == f"Hint 3 of 3 for exercise 2: {code}\n"


def test_hint_help_says_how_the_ladder_goes():
    result = invoke("hint", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    ladder = "a question, then the idea, then near-code once a check has failed twice on the same"
    assert ladder in text
    assert "Show every hint at once, near-code included." in text


def ladder_lines(result) -> tuple[str, str]:
    """The hint beside a failure and the line under it."""
    lines = result.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("Hint: "))
    return lines[index].removeprefix("Hint: "), lines[index + 1]


def test_check_shows_the_failing_tests_hint_at_the_rung_it_earned(course):
    """Question, then idea, then near-code: each check that fails on the same test climbs one
    rung; a different failing test starts at its own question."""
    question, idea, code = (hint.text for hint in exercises.find(CATALOG, 2).hints)
    target = write_solution(course, 2)
    right = target.read_text()
    # check_images accepts any dtype: the tests of a float input fail.
    target.write_text(right.replace("if images.dtype != np.uint8:", "if False:"))
    test = "test_normalize_refuses_images_normalized_twice"  # the first of those that fail
    rungs = [ladder_lines(invoke("check", "2")) for _ in range(3)]
    assert rungs[0] == (
        question,
        f"  (A question for {test}. If the next check fails on it too, the idea; near-code once "
        "checks have failed on it 2 times. 'mnist-lab exercises hint 2 --all' shows all now.)",
    )
    assert rungs[1] == (
        idea,
        f"  (The idea for {test}. If the next check fails on it too: near-code. "
        "'mnist-lab exercises hint 2 --all' shows all now.)",
    )
    assert rungs[2] == (code, f"  (Near-code for {test}: earlier checks failed on it 2 times.)")
    # now only a test that never failed fails: its ladder starts at the question
    target.write_text(right.replace("scaled[..., np.newaxis]", "scaled"))
    other = invoke("check", "2")
    assert ladder_lines(other) == (
        question,
        "  (A question for test_normalize_keeps_a_channel_axis. If the next check fails on it "
        "too, the idea; near-code once checks have failed on it 2 times. 'mnist-lab exercises "
        "hint 2 --all' shows all now.)",
    )
    progress = json.loads((course / ".mnist-lab" / "progress.json").read_text())
    assert progress["2"]["failures"][test] == 3
    assert progress["2"]["failures"]["test_normalize_keeps_a_channel_axis"] == 1


def test_check_reads_a_progress_file_written_before_the_ladder(course):
    """A course started before failures were counted keeps working: every count starts at 0."""
    question, idea, _ = (hint.text for hint in exercises.find(CATALOG, 2).hints)
    (course / ".mnist-lab").mkdir()
    old = {"2": {"hints_shown": 2, "fingerprint": "0" * 64, "state": "failing"}}
    (course / ".mnist-lab" / "progress.json").write_text(json.dumps(old))
    write_solution(course, 2).write_text("raise ValueError('not yet')\n")
    result = invoke("check", "2")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ladder_lines(result)[0] == idea  # the idea was read already: shown, never near-code
    entry = json.loads((course / ".mnist-lab" / "progress.json").read_text())["2"]
    assert entry["hints_shown"] == 2 and set(entry["failures"].values()) == {1}


def test_check_shows_a_failures_whole_message(course):
    target = write_solution(course, 6)
    target.write_text(
        target.read_text().replace("np.add.at(confusion,", "np.subtract.at(confusion,")
    )
    result = invoke("check", "6")
    assert result.exit_code == 1
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index("- test_confusion_matrix_of_a_hand_example: expected")
    assert lines[start + 1 : start + 5] == ["[[1 1 0]", "[0 1 0]", "[1 0 2]]", "got"]
    assert lines[start + 5] == "[[-1 -1  0]"
    assert result.stdout.rstrip().endswith("add --verbose for pytest's own report.")


def test_check_verbose_adds_pytests_own_report(course):
    result = invoke("check", "2", "--verbose")
    assert result.exit_code == 1
    assert "short test summary info" in result.stdout  # pytest's own words
    assert "FAILED " in result.stdout and "NotImplementedError" in result.stdout
    assert "✗ Exercise 2 (" in result.stdout


def test_watch_takes_the_exercise_to_start_with(course, monkeypatch):
    def interrupted(folder, polling):
        raise KeyboardInterrupt

    monkeypatch.setattr(exercises, "wait_for_change", interrupted)
    monkeypatch.setenv("MNIST_LAB_WATCH_POLLING", "1")
    result = invoke("watch", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("✗ Exercise 3 (")


def test_solution_opens_only_after_the_exercise_passes(course):
    closed = invoke("solution", "2")
    assert closed.exit_code == 1
    assert "opens once your version passes" in closed.stderr
    write_solution(course, 2)
    assert invoke("check", "2").exit_code == 0
    opened = invoke("solution", "2")
    assert opened.exit_code == 0
    assert opened.stdout.strip() == exercises.solution_text(exercises.find(CATALOG, 2)).strip()
    assert "# SOLUTION" not in opened.stdout and "np.float32(255)" in opened.stdout


def test_reset_restores_the_stub_and_keeps_a_backup(course):
    target = write_solution(course, 3)
    mine = target.read_text()
    result = invoke("reset", "3")
    assert result.exit_code == 0
    (backup,) = (course / "exercises").glob("ex03*.backup-*.py.txt")
    assert backup.read_text() == mine
    assert target.read_text() == exercises.stub_text(exercises.find(CATALOG, 3))
    assert "your version is kept in" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "99"], "There is no exercise 99; the exercises are 1, 2, 3"),
        (["reset"], "Say which exercise to reset (e.g. 'reset 2'), or --all for every one."),
    ],
)
def test_bad_exercise_input_is_one_clear_line(course, args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {message}")
    assert "Traceback" not in result.output


def test_outside_a_course_the_error_says_where_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke()
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No exercises here: exercises/manifest.toml")


def test_a_students_model_joins_the_registry_and_trains(course, clean_registry):
    """Exercise 8 done: the student's model is listed (source: exercise) and trains."""
    write_solution(course, 8)
    clean_registry.discover(force=True)
    listing = runner.invoke(app, ["list", "--json", "my-model"])
    assert listing.exit_code == 0, listing.output
    (row,) = json.loads(listing.stdout)["models"]
    assert row["source"] == "exercise"
    assert row["origin"].startswith(str(course / "exercises" / "ex08_my_model.py"))
    out = course / "runs"
    trained = runner.invoke(
        app, ["train", "my-model", "--epochs", "1", "--limit", "1024", "--out", str(out)]
    )
    assert trained.exit_code == 0, trained.output
    assert "Test accuracy: " in trained.stdout
    assert len(list(out.iterdir())) == 1


def test_watch_checks_the_current_exercise_and_stops_cleanly_on_ctrl_c(course, monkeypatch):
    def interrupted(folder, polling):
        raise KeyboardInterrupt

    monkeypatch.setattr(exercises, "wait_for_change", interrupted)
    monkeypatch.setenv("MNIST_LAB_WATCH_POLLING", "1")
    result = invoke("watch")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Watching exercises/ by polling every 0.5 s (MNIST_LAB_WATCH_POLLING is set). "
        "Press Ctrl-C to stop."
    )
    assert lines[1].startswith("✗ Exercise 1 (")
    assert lines[-1] == (
        "Stopped watching. Your progress is saved; 'mnist-lab exercises' shows it."
    )
