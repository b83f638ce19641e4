"""Chapters 9 to 11: their figures and numbers are made by docs/_tools/chapter_figures.py.

Each chapter shows figures from real (small) trainings and quotes only generated facts. These
tests check that every figure a chapter shows is a PNG the tool drew (and that every figure the
tool draws is shown), that every table it includes is the tool's, that every number is a fact
with its date and command, that the tables agree with the facts, that the tool builds exercise
15's variants exactly as the exercise derives its stub. tests/test_chapters_site.py opens the
built chapters in Chromium.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import chapter_figures
import numpy as np
import pytest
import site_facts
from hypothesis import given, settings
from hypothesis import strategies as st
from test_page_numbers import typed_numbers

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "assets" / "generated"
CHAPTERS = {
    9: ("docs/course/09-regularization.md", "9. Regularization and augmentation"),
    10: (
        "docs/course/10-learning-rate.md",
        "10. The learning rate, schedules and batch normalization",
    ),
    11: ("docs/course/11-debugging.md", "11. Debugging a network"),
}
FIGURE = re.compile(r"!\[[^\]]*\]\(\.\./assets/generated/(?P<name>[^)]+)\)")
SNIPPET = re.compile(r'^--8<-- "docs/assets/generated/(?P<name>[^"]+)"', re.M)
FACT = re.compile(r"\{\{\s*fact\s+(?P<name>[\w.\-]+)\s*\}\}")


def _markdown(number: int) -> str:
    return (ROOT / CHAPTERS[number][0]).read_text(encoding="utf-8")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --- the pages and the generated files --------------------------------------------------------


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_each_chapter_shows_exactly_the_figures_the_tool_draws_for_it(number):
    shown = [match["name"] for match in FIGURE.finditer(_markdown(number))]
    assert sorted(shown) == sorted(chapter_figures.FIGURES[number])
    for name in shown:
        path = GENERATED / name
        width, height = _png_size(path)
        assert width >= 600 and height >= 300, (name, width, height)
        assert b"Matplotlib" in path.read_bytes()[:4096], f"{name} was not drawn by matplotlib"


def test_every_figure_and_table_the_tool_writes_is_committed_and_shown():
    shown = {
        match["name"]
        for number in CHAPTERS
        for pattern in (FIGURE, SNIPPET)
        for match in pattern.finditer(_markdown(number))
    }
    written = {name for names in chapter_figures.FIGURES.values() for name in names}
    written |= {chapter_figures.BUGS_MD, chapter_figures.UPDATES_MD}
    assert written <= shown
    assert all((GENERATED / name).is_file() for name in written)


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_every_number_of_a_chapter_is_a_fact_with_its_date_and_command(number):
    markdown = _markdown(number)
    facts = site_facts.all_facts()
    names = {match["name"] for match in FACT.finditer(markdown)}
    assert names, "a chapter of measured runs quotes its facts"
    assert names <= set(facts), sorted(names - set(facts))
    for name in (f"chapters.{number:02d}.date", "chapters.command"):
        assert name in names, f"chapter {number} must say when and how: {{{{ fact {name} }}}}"
    assert "one seed" in " ".join(markdown.split()) or "seed 0" in markdown
    assert typed_numbers(markdown) == []


def test_the_chapter_facts_say_when_where_and_how_long():
    facts = json.loads((GENERATED / chapter_figures.FACTS_JSON).read_text(encoding="utf-8"))
    assert facts["chapters.command"] == f"`{chapter_figures.COMMAND}`"
    for number in CHAPTERS:
        prefix = f"chapters.{number:02d}."
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", facts[prefix + "date"])
        assert "logical cores" in facts[prefix + "machine"]
        assert int(facts[prefix + "seconds"]) > 0
    assert all(name.startswith("chapters.") for name in facts)


def test_the_site_s_facts_include_the_chapter_facts():
    chapters = json.loads((GENERATED / chapter_figures.FACTS_JSON).read_text(encoding="utf-8"))
    facts = site_facts.all_facts()
    assert {name: facts[name] for name in chapters} == chapters


def test_the_bug_table_agrees_with_the_facts():
    facts = site_facts.all_facts()
    rows = (GENERATED / chapter_figures.BUGS_MD).read_text(encoding="utf-8").splitlines()[2:]
    names = []
    for row in rows:
        name, step_0, total, last, accuracy = [cell.strip() for cell in row.strip("|").split("|")]
        key = f"chapters.11.{name.replace(' ', '_')}"
        assert [step_0, total, last, accuracy] == [
            facts[f"{key}.step_0_loss"], facts[f"{key}.output_sum"],
            facts[f"{key}.final_loss"], facts[f"{key}.val_accuracy"],
        ]  # fmt: skip
        names.append(name)
    assert names == ["fixed", "shipped"] + [name for _, name in chapter_figures.BUG_NAMES]


def test_the_nav_lists_the_three_chapters_under_the_course():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("- The course:")[1]
    nav = nav.split("\n  - ")[0]
    for path, title in CHAPTERS.values():
        assert f'"{title}": {path.removeprefix("docs/")}' in nav


# --- the tool's own pieces --------------------------------------------------------------------


def test_script_variants_are_the_exercise_s_stub_and_solution_and_one_bug_each():
    from mnist_lab.course.exercises import find, load_catalog
    from mnist_lab.course.exercises.stubs import solution_text, stub_text

    exercise = find(load_catalog(ROOT), 15)
    source = (ROOT / "mnist_lab" / "course" / "solutions" / "ex15_debugging.py").read_text()
    variants = chapter_figures.script_variants(source)
    assert variants["shipped"] == stub_text(exercise)
    assert variants["fixed"] == solution_text(exercise)
    assert list(variants) == ["fixed", "shipped"] + [name for _, name in chapter_figures.BUG_NAMES]
    fixed_lines = set(variants["fixed"].splitlines())
    for _, name in chapter_figures.BUG_NAMES:  # each differs from the fix in its own lines only
        extra = [line for line in variants[name].splitlines() if line not in fixed_lines]
        assert extra and all(line in variants["shipped"].splitlines() for line in extra), name


def test_script_variants_on_a_hand_made_script():
    text = (
        "A = 1\n# SOLUTION\nB = 2\n# BUGGY\nB = 20\n# END SOLUTION\n"
        "    # SOLUTION\n    C = 3\n    # BUGGY\n    C = 1 / 255\n    # END SOLUTION\nD = 4\n"
    )
    variants = chapter_figures.script_variants(text.replace("B = 20", "LEARNING_RATE = 20"))
    assert variants["fixed"] == "A = 1\nB = 2\n    C = 3\nD = 4\n"
    assert variants["shipped"] == "A = 1\nLEARNING_RATE = 20\n    C = 1 / 255\nD = 4\n"
    assert variants["learning rate 10"] == "A = 1\nLEARNING_RATE = 20\n    C = 3\nD = 4\n"
    assert variants["scaled twice"] == "A = 1\nB = 2\n    C = 1 / 255\nD = 4\n"
    with pytest.raises(LookupError, match="bug 1 has no name"):
        chapter_figures.script_variants(text)


@pytest.mark.parametrize(
    ("rate", "written"),
    [(1e-5, "1e-5"), (1e-3, "1e-3"), (10**-1.5, "3.2e-2"), (10**-0.5, "3.2e-1"), (1.0, "1")],
)
def test_rates_are_written_as_the_pages_write_them(rate, written):
    assert chapter_figures.rate_text(rate) == written


def test_the_smoothing_is_a_running_mean():
    import chapter_plots

    values = np.array([4.0, 2.0, 6.0, 0.0, 8.0])
    assert chapter_plots.smooth(values, 2).tolist() == [4.0, 3.0, 4.0, 3.0, 4.0]
    assert chapter_plots.smooth(values, 1).tolist() == values.tolist()


def test_one_step_of_the_fixed_script_moves_the_weights_as_the_committed_table_says(tmp_path):
    """The update sizes of chapter 11, measured again: the table is what the tool measures."""
    import chapter_runs

    source = (ROOT / "mnist_lab" / "course" / "solutions" / "ex15_debugging.py").read_text()
    path = tmp_path / "ch11_fixed.py"
    path.write_text(chapter_figures.script_variants(source)["fixed"], encoding="utf-8")
    module = chapter_figures.load_module(path, "_ch11_fixed_for_test")
    sizes = chapter_runs.update_sizes(module, chapter_figures.SEED)
    rows = (GENERATED / chapter_figures.UPDATES_MD).read_text().splitlines()[2:]
    committed = {row.split("|")[1].strip(): float(row.split("|")[2]) for row in rows}
    assert list(committed) == list(sizes)
    for layer, size in sizes.items():
        assert size == pytest.approx(committed[layer], rel=0.06), layer


def _keras_early_stopping(losses: list[float], patience: int) -> tuple[int, int]:
    """What Keras's own EarlyStopping does on these validation losses: (stopped, kept)."""
    import keras

    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    model.stop_training = False  # what `fit` sets before the first epoch
    callback.set_model(model)
    callback.on_train_begin()
    stopped = len(losses)
    for epoch, loss in enumerate(losses):
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            stopped = epoch + 1
            break
    return stopped, callback.best_epoch + 1


@pytest.mark.parametrize(
    "losses",
    [
        [0.9, 0.5, 0.6, 0.7, 0.8, 0.1],  # stops at the bump, before the best
        [0.9, 0.8, 0.7, 0.6],  # never stops
        [0.5, 0.5, 0.5, 0.5],  # an equal loss is no improvement
        [0.3, 0.4, 0.2, 0.25, 0.21, 0.22, 0.19],
    ],
)
def test_early_stopping_stops_and_keeps_where_keras_s_callback_does(losses):
    assert chapter_figures.early_stopping(losses, 3) == _keras_early_stopping(losses, 3)


@settings(max_examples=25)
@given(
    st.lists(st.integers(1, 9).map(lambda n: n / 10), min_size=1, max_size=12),
    st.integers(1, 4),
)
def test_early_stopping_agrees_with_keras_on_drawn_losses(losses, patience):
    assert chapter_figures.early_stopping(losses, patience) == _keras_early_stopping(
        losses, patience
    )


def test_chapter_10_s_schedule_code_warms_up_then_decays_to_0():
    """The page's Keras code, run as written: 0 at step 0, the peak after the warm-up, 0 at the
    end, and the cosine's half-way point half-way through the decay."""
    import keras

    code = re.search(r"```python\n(?P<code>.*?)```", _markdown(10), re.S)["code"]
    scope = {"keras": keras, "total_steps": 110, "warmup_steps": 10}
    exec(code, scope)  # noqa: S102 (the page's own example)
    rate = scope["rate"]
    assert float(rate(0)) == 0.0
    assert float(rate(5)) == pytest.approx(5e-3)
    assert float(rate(10)) == pytest.approx(1e-2)
    assert float(rate(60)) == pytest.approx(5e-3)
    assert float(rate(110)) == pytest.approx(0.0, abs=1e-9)
    assert isinstance(scope["optimizer"], keras.optimizers.Adam)
