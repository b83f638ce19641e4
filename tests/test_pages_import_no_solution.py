"""No page of the course hands a student a runnable import of a reference solution.

The solutions ship inside the package (mnist_lab/course/solutions/) so the exercises' tests can
run against them; `mnist-lab exercises solution N` shows one once the student's version passes.
A page that shows `from mnist_lab.course.solutions... import ...` in a command or a snippet
gives the answer to whoever pastes it. This test reads every page under docs/ (the generated
snippets included), with each `{{ hints N }}` marker replaced by the hints it shows, and fails
on such an import anywhere in it, and on the solutions' module named inside code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
HINTS = re.compile(r"\{\{\s*hints\s+(\d+)\s*\}\}")
SOLUTIONS = r"mnist_lab\.course\.solutions"
# An import one could paste, wherever it stands: a statement, `python -m`, importlib.
IMPORT = re.compile(
    rf"from\s+{SOLUTIONS}\b[\w.]*\s+import"
    rf"|from\s+mnist_lab\.course\s+import\s+(?:[\w\s,(]*\b)?solutions\b"
    rf"|import\s+{SOLUTIONS}\b"
    rf"|-m\s+{SOLUTIONS}\b"
    rf"|import_module\(\s*f?[\"']{SOLUTIONS}"
)
# Code, fenced or inline: the solutions' module named in it is a command waiting to be run.
CODE = re.compile(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$|(`+).+?(?<!`)\3(?!`)", re.M | re.S)


def with_hints(markdown: str) -> str:
    """The page's markdown with its hint markers replaced by the hints the site shows."""
    if str(DOCS / "_tools") not in sys.path:
        sys.path.append(str(DOCS / "_tools"))
    import site_tables

    return HINTS.sub(lambda match: site_tables.hints_markdown(int(match[1]), ROOT), markdown)


def runnable_solution_imports(markdown: str) -> list[str]:
    """Each import of a solution module in `markdown`, and each code naming their module."""
    found = [match[0] for match in IMPORT.finditer(markdown)]
    found += [code[0][:80] for code in CODE.finditer(markdown) if re.search(SOLUTIONS, code[0])]
    return found


@pytest.mark.parametrize(
    "text",
    [
        # docs/exercises/17-batch-norm.md:52, before this test
        '```bash\npython -c "from mnist_lab.course.solutions.ex17_batch_norm import '
        'moving_average_after as after; print(after(1.0, 0.005, 0.99, 29))"\n```',
        "Run `from mnist_lab.course.solutions import ex02_normalize` to compare.",
        "```python\nimport mnist_lab.course.solutions.ex09_convolution as c\n```",
        "    from mnist_lab.course import solutions",
        "`python -m mnist_lab.course.solutions.ex15_debugging`",
        'importlib.import_module("mnist_lab.course.solutions.ex11_softmax")',
        "```python\nname = 'mnist_lab.course.solutions' + '.ex03_labels'\n```",
    ],
)
def test_the_scan_finds_an_import_of_a_solution(text):
    assert runnable_solution_imports(text)


@pytest.mark.parametrize(
    "text",
    [
        "The reference solutions live in mnist_lab/course/solutions/, shown by a command.",
        "`mnist-lab exercises solution 17` shows it once your version passes.",
        "```python\nfrom mnist_lab import stratified_split\n```",
    ],
)
def test_the_scan_lets_a_page_speak_of_the_solutions(text):
    assert not runnable_solution_imports(text)


def test_there_are_pages_to_scan():
    assert len(PAGES) > 30 and DOCS / "exercises" / "17-batch-norm.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(DOCS)))
def test_no_page_contains_a_runnable_import_of_a_solution(page):
    found = runnable_solution_imports(with_hints(page.read_text(encoding="utf-8")))
    assert not found, f"{page.relative_to(ROOT)} imports a reference solution: {found}"
