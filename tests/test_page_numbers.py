"""No page of the course types a measured number: every percentage and duration is generated.

A number typed into a page is true the day it is typed and stale the day the code or the
machine changes. So the pages quote measurements with `{{ fact NAME }}` (docs/hooks.py) and
thresholds and defaults with `{{ const NAME }}`, and this test reads every page's markdown (and
the README's, outside its generated block), drops the markers and the code, and fails on any
percentage, duration or accuracy difference in points that is left. The few numbers that are
true by arithmetic, not measured, are allowed one by one below, each with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Made by commands, never typed: the generated snippets and the results of `make bench`.
GENERATED = (DOCS / "assets" / "generated", DOCS / "results")
README_BLOCK = re.compile(r"<!-- facts:begin[^>]*-->.*?<!-- facts:end -->", re.S)

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}).*?^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S
)
_DROPPED = (
    _FENCE,  # fenced code blocks: commands and their output, shown as written
    re.compile(r"<!--.*?-->", re.S),  # comments
    re.compile(r"(`+).*?(?<!`)\1(?!`)", re.S),  # inline code
    re.compile(r"\{\{.*?\}\}", re.S),  # the markers: what they give is generated
    re.compile(r"^--8<--.*$", re.M),  # included snippets (generated, checked where made)
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),  # addresses
)
NUMBER = r"\d[\d,]*(?:\.\d+)?"
TYPED = re.compile(
    rf"{NUMBER}\s*%"  # a percentage
    rf"|{NUMBER}\s*(?:ms|seconds?|secs?|minutes?|mins?|hours?)\b"  # a duration
    rf"|{NUMBER}\s+s\b"  # seconds, as "47 s" (not the plural of a digit, "5s")
    rf"|{NUMBER}\s+points?\b"  # a difference of accuracies
    rf"|{NUMBER}x\b"  # a speed-up, "1.88x" (not a size, "28x28", nor a product, "3 x 3")
)

# (page, the phrase that holds the number, why it may be typed). Keep it short: a number that
# was measured belongs in a fact, a threshold in a const.
ALLOWED: tuple[tuple[str, str, str], ...] = (
    (
        "docs/course/01-dataset.md",
        "If 90% of\nthe images were 1s, a model that always answers 1 would score 90%",
        "a made-up dataset, to show why the class balance matters",
    ),
    (
        "docs/course/01-dataset.md",
        "a blind guess scores about 10%",
        "one digit in ten: arithmetic, not a measurement",
    ),
    (
        "docs/course/04-training.md",
        "A blind\n  guess of 10% each",
        "ten digits, a tenth each: the loss of a uniform guess, ln 10",
    ),
    (
        "docs/course/05-evaluation.md",
        "a model\nthat is right 99% of the time scores, on 10,000 test images, within about "
        "0.2 points of 99%",
        "a worked example of the binomial standard error, computed in the sentence",
    ),
)


def stripped(markdown: str) -> str:
    """The page's prose: no code, no comments, no markers, no link targets."""
    for pattern in _DROPPED:
        markdown = pattern.sub(" ", markdown)
    return markdown


def typed_numbers(markdown: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Every percentage, duration or points difference typed into `markdown`, each with the
    words around it, except inside an allowed phrase."""
    prose = stripped(markdown)
    spans = [
        (match.start(), match.end())
        for phrase in allowed
        for match in re.finditer(re.escape(phrase), prose)
    ]
    found = []
    for match in TYPED.finditer(prose):
        if any(start <= match.start() and match.end() <= end for start, end in spans):
            continue
        context = " ".join(prose[max(0, match.start() - 50) : match.end() + 20].split())
        found.append(f"{match.group(0)!r} in '... {context} ...'")
    return found


def pages() -> list[Path]:
    return sorted(
        path
        for path in DOCS.rglob("*.md")
        if not any(folder in path.parents for folder in GENERATED)
    )


def _allowed_for(name: str) -> tuple[str, ...]:
    return tuple(phrase for page, phrase, _ in ALLOWED if page == name)


@pytest.mark.parametrize("page", pages(), ids=lambda path: str(path.relative_to(DOCS)))
def test_no_page_types_a_measured_number(page):
    name = str(page.relative_to(ROOT))
    found = typed_numbers(page.read_text(encoding="utf-8"), _allowed_for(name))
    assert not found, (
        f"{name} types numbers by hand; quote a measurement with {{{{ fact NAME }}}} and a "
        "threshold or default with {{ const NAME }} (docs/hooks.py): " + "; ".join(found)
    )


def test_the_readme_types_no_measured_number_outside_its_generated_block():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_BLOCK.search(readme), "README.md lost its <!-- facts:begin --> block"
    found = typed_numbers(README_BLOCK.sub(" ", readme))
    assert not found, (
        "README.md types numbers by hand outside its facts block; put them in the block that "
        "`python docs/_tools/readme_facts.py` writes: " + "; ".join(found)
    )


def test_every_allowed_phrase_is_still_on_its_page():
    """An allowance whose sentence changed would silently allow nothing, or the wrong thing."""
    for page, phrase, reason in ALLOWED:
        assert reason, page
        assert phrase in stripped((ROOT / page).read_text(encoding="utf-8")), (page, phrase)


@pytest.mark.parametrize(
    ("markdown", "typed"),
    [
        ("The reference reached 98.9% after 47 s of training.", ["98.9%", "47 s"]),
        (
            "It took 5 minutes, then 7.1 min, then 120 seconds.",
            ["5 minutes", "7.1 min", "120 seconds"],
        ),
        ("Two workers were 1.88x faster, 0.06 points short.", ["1.88x", "0.06 points"]),
        ("A 12.5 % share, 300 ms to answer.", ["12.5 %", "300 ms"]),
    ],
)
def test_a_planted_number_fails(markdown, typed):
    found = typed_numbers(markdown)
    assert [entry.split("'")[1] for entry in found] == typed


@pytest.mark.parametrize(
    "markdown",
    [
        "It reached {{ fact reference.test_accuracy }} in {{ fact reference.train_seconds }} s.",
        "The budget is {{ const grade.timeout }}; `--timeout 120` sets it.",
        "```text\nTest accuracy: 98.90%   (47.2 s of training)\n```",
        "A 28x28 image of 5s and 9s, batch 128, seed 0, Adam at 1e-3, 3x3 kernels.",
        "<!-- 99% -->See [the run](runs/20261130-101500/) and https://example.org/99%.",
    ],
)
def test_markers_code_and_plain_counts_are_not_typed_numbers(markdown):
    assert typed_numbers(markdown) == []
