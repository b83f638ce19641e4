"""The course site: built strictly from the project, then opened in a real headless browser.

The build runs once per test session (`mkdocs build --strict`: a warning, a broken link or a
missing generated number fails it). The browser tests serve the built site over HTTP (the search
runs in a web worker, which file:// URLs do not allow) and drive the system's Chromium through
Playwright. Without the `docs` extra (mkdocs, its theme and plugins, Playwright) the whole module
is skipped with one line naming the extra, and without Chromium the browser tests are skipped
with a line saying how to install it; in CI, where .ci/run installs both, either is a failure.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from docs_extra import in_ci, missing, reason

pytestmark = pytest.mark.site

# What `mkdocs build` and the browser tests import: mkdocs, the material theme, mkdocstrings
# (with its python handler), and Playwright.
DOCS_MODULES = ("mkdocs", "material", "mkdocstrings_handlers.python", "playwright")
MISSING = missing(*DOCS_MODULES)
if MISSING and not in_ci():
    pytest.skip(reason(MISSING), allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_CHROMIUM = (
    "install it with 'sudo apt install chromium' (Debian/Ubuntu) or your system's package "
    "manager, then run the tests again"
)
GENERATED = ROOT / "docs" / "assets" / "generated"


def _unavailable(why: str) -> None:
    """Skip on a student's laptop; fail in CI, where .ci/run installs what is missing."""
    if in_ci():
        pytest.fail(f"{why} (CI must have it: .ci/run installs it)")
    pytest.skip(why)


@pytest.fixture(scope="session", autouse=True)
def docs_extra_installed() -> None:
    """In CI the module is not skipped: every test of it fails with the skip's line instead."""
    if MISSING:
        pytest.fail(reason(MISSING), pytrace=False)


# --- building and serving ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session as `make docs` builds it, into a temporary folder."""
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode != 0:
        problems = [
            line for line in result.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))
        ]
        pytest.fail(
            "mkdocs build --strict failed:\n"
            + "\n".join(problems or result.stderr.splitlines()[-20:])
        )
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served over HTTP on a free port, for the session."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system's Chromium, headless, through Playwright (no browser is downloaded); closed
    with this module, since test_lab_page.py starts its own Playwright after it on the same
    xdist worker, and two at once fail ("Sync API inside the asyncio loop")."""
    from playwright.sync_api import sync_playwright

    executable = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if executable is None:
        _unavailable(f"chromium not found: {INSTALL_CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; any JavaScript error it raises fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _headings(page: Any, level: str) -> list[str]:
    """The visible text of the page's headings of one level, without permalink signs."""
    texts = page.locator(f"article {level}").all_inner_texts()
    return [text.replace("¶", "").strip() for text in texts]


def _pages_with_images(site: Path) -> list[str]:
    """Every built page that shows an image, as a path relative to the site root."""
    pages = []
    for path in site.rglob("index.html"):
        if "<img " in path.read_text(encoding="utf-8"):
            relative = path.parent.relative_to(site).as_posix()
            pages.append("" if relative == "." else relative)
    return sorted(pages)


# --- the built HTML, no browser needed --------------------------------------------------------


def _text(site: Path, page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", (site / page / "index.html").read_text()))


def test_the_zoo_table_lists_every_built_in_model_with_its_parameters(built_site):
    from site_tables import builtin_summaries

    zoo = _text(built_site, "zoo")
    for row in builtin_summaries():
        assert re.search(rf"{re.escape(row['name'])}\s+{re.escape(row['description'])}", zoo)
        assert f"{row['params']:,}" in zoo


def test_no_course_or_exercise_page_shows_a_marker_unfilled(built_site):
    # The hook leaves markers inside code as written (a page may show the syntax), so a marker
    # put in backticks by mistake reaches the reader as "{{ fact ... }}": no course page does.
    for page in sorted((built_site / "course").rglob("*.html")) + sorted(
        (built_site / "exercises").rglob("*.html")
    ):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"\{\{\s*(fact|const)\b", html), page.relative_to(built_site)


def test_the_cli_reference_has_every_command_and_option_of_the_app(built_site):
    import typer.main

    from mnist_lab.cli import app

    reference = _text(built_site, "reference/cli")

    def walk(command: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        yield prefix, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{prefix} {name}")

    commands = list(walk(typer.main.get_command(app), "mnist-lab"))
    assert len(commands) > 10
    for path, command in commands:
        assert f"$ {path} " in reference, path
        for option in (opt for param in command.params for opt in param.opts):
            if option.startswith("--"):
                assert option in reference, f"{path} {option}"


def test_every_exercise_page_shows_exactly_the_first_two_rungs_of_its_hints(built_site):
    """The question and the idea, folded; never the near-code, which `hint` shows once earned."""
    from mnist_lab.course.exercises import load_catalog

    for exercise in load_catalog(ROOT):
        page = Path(exercise.page).relative_to("docs").with_suffix("")
        text = " ".join(_text(built_site, str(page)).split())
        question, idea, code = (" ".join(hint.text.split()) for hint in exercise.hints)
        assert question[:60] in text and idea[:60] in text, exercise.number
        assert code[:60] not in text, exercise.number
        titles = re.findall(r"Hint \d of 3: (a question|the idea|[^ ]+)", text)
        assert titles == ["a question", "the idea"], (exercise.number, titles)
        assert (
            f"The last hint, near-code, is not on this page: mnist-lab exercises hint "
            f"{exercise.number} shows it once the check has failed twice on the same test."
        ) in text, exercise.number
        html_text = (built_site / page / "index.html").read_text()
        assert html_text.count('<details class="tip">') == 2, exercise.number


# --- in the browser ---------------------------------------------------------------------------


def test_home_page_renders_the_course(page, site_url):
    page.goto(site_url)
    assert _headings(page, "h1") == ["mnist-lab"]
    assert {"Start here", "What a run produces", "The course"} <= set(_headings(page, "h2"))
    assert page.locator("nav.md-nav--primary").get_by_text("7. Results").count() == 1


def test_a_chapter_page_renders_its_sections_and_figures(page, site_url):
    page.goto(site_url + "course/05-evaluation/")
    assert _headings(page, "h1") == ["5. Evaluation"]
    assert {"Accuracy", "The confusion matrix", "The worst mistakes"} <= set(_headings(page, "h2"))
    sources = page.locator("article img").evaluate_all("images => images.map(i => i.src)")
    assert any(source.endswith("/confusion_matrix.png") for source in sources)
    assert "Figures and numbers generated by make docs-assets" in page.inner_text("article")


def test_an_exercise_page_renders_instructions_and_hints(page, site_url):
    page.goto(site_url + "exercises/06-evaluate/")
    assert _headings(page, "h1") == ["Exercise 6: Evaluate"]
    assert {"What to write", "What the tests check", "Hints"} <= set(_headings(page, "h2"))
    hints = page.locator("article details.tip")
    assert hints.count() >= 2
    hints.first.locator("summary").click()
    assert hints.first.evaluate("details => details.open")


def test_the_api_page_renders_the_modules_from_their_docstrings(page, site_url):
    page.goto(site_url + "reference/api/")
    assert _headings(page, "h1") == ["Python API"]
    modules = set(_headings(page, "h2"))
    assert {"mnist_lab.models.registry", "mnist_lab.data", "mnist_lab.data.preprocess"} <= modules
    normalize = page.locator("[id='mnist_lab.data.preprocess.normalize']")
    assert "float32" in normalize.locator("xpath=..").inner_text()


def test_every_figure_of_every_page_loads(page, site_url, built_site):
    pages = _pages_with_images(built_site)
    assert {"course/01-dataset", "course/07-results", "exercises/01-data"} <= set(pages)
    loaded = set()
    for path in pages:
        page.goto(site_url + (path + "/" if path else ""), wait_until="load")
        images = page.locator("img").evaluate_all(
            "images => images.map(i => [i.src, i.complete && i.naturalWidth > 0])"
        )
        broken = [source for source, ok in images if not ok]
        assert not broken, f"{path or 'home'}: images that did not load: {broken}"
        loaded |= {source.rsplit("/", 1)[-1] for source, _ in images}
    assert {path.name for path in GENERATED.glob("*.png")} <= loaded  # each shown somewhere


def test_search_finds_normalize(page, site_url):
    page.goto(site_url)
    page.locator("input.md-search__input").click()
    page.keyboard.type("normalize")
    results = page.locator(".md-search-result__item a.md-search-result__link")
    results.first.wait_for(timeout=15_000)
    links = results.evaluate_all("links => links.map(link => link.href)")
    assert links and all(link.startswith(site_url) for link in links)
    results.first.click()
    page.wait_for_load_state()
    assert "normalize" in page.inner_text("article").lower()


def test_dark_mode_toggle_switches_the_palette(page, site_url):
    page.goto(site_url)
    body = page.locator("body")
    assert body.get_attribute("data-md-color-scheme") == "default"
    page.locator("label[title='Switch to dark mode']").click()
    assert body.get_attribute("data-md-color-scheme") == "slate"


# --- the hook, on its own ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks() -> Any:
    from mnist_lab.models.registry import import_path

    return import_path(ROOT / "docs" / "hooks.py", "mnist_lab_docs_hooks")


def _fill(hooks: Any, markdown: str) -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_path="page.md"))
    hooks.on_pre_build(None)
    return hooks.on_page_markdown(markdown, page, None, None)


def test_the_hook_fills_facts_and_leaves_markers_in_code_as_written(hooks):
    facts = json.loads((GENERATED / "facts.json").read_text())
    code = "`{{ fact nope }}`\n```\n{{ zoo_table }}\n```"
    filled = _fill(hooks, "Test {{ fact reference.test_accuracy }}; " + code)
    assert filled == f"Test {facts['reference.test_accuracy']}; " + code


def test_the_hook_fills_parameters_and_recipes_from_the_registry(hooks):
    filled = _fill(hooks, "{{ params keras-convnet }} parameters, {{ recipe keras-convnet }}")
    assert filled == "34,826 parameters, 15 epochs, batch 128, adam 0.001"


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("{{ fact no.such.fact }}", "page.md: unknown fact 'no.such.fact'"),
        ("{{ bogus }}", "page.md: unknown marker"),
        ("{{ hints 99 }}", "page.md: {{ hints 99 }}: There is no exercise 99"),
        ("{{ params no-such-model }}", "page.md: {{ params no-such-model }}: Unknown model"),
        ("{{ recipe no-such-model }}", "page.md: {{ recipe no-such-model }}: Unknown model"),
        ("{{ const no.such.const }}", "page.md: {{ const no.such.const }}: unknown const"),
    ],
)
def test_the_hook_stops_the_build_on_an_unknown_marker_fact_or_name(hooks, markdown, message):
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match=re.escape(message)):
        _fill(hooks, markdown)


def test_the_hook_indents_a_table_like_the_marker_inside_an_admonition(hooks):
    filled = _fill(hooks, '??? example "Layers"\n\n    {{ layers reference }}\nAfter.\n')
    block = filled.split("\n\n", 1)[1].split("After.")[0].rstrip("\n").splitlines()
    assert len(block) == 10  # header, rule, 7 layers, total
    assert all(line.startswith("    | ") for line in block)


def test_the_hook_fills_consts_from_the_code_and_facts_from_every_source(hooks):
    from mnist_lab.scale.grading.running import DEFAULT_TIMEOUT_S

    exercises = json.loads((GENERATED / "exercise_facts.json").read_text())
    filled = _fill(
        hooks,
        "{{ const grade.timeout }}; {{ fact exercises.12.plain.gap }}; "
        "{{ fact results.targets.date }}",
    )
    budget, gap, date = filled.split("; ")
    assert budget == f"{DEFAULT_TIMEOUT_S} s"
    assert gap == exercises["exercises.12.plain.gap"]
    assert date == json.loads((ROOT / "docs" / "results" / "targets.json").read_text())["date"][:10]


def test_a_fact_that_starts_an_indented_line_stays_inline(hooks):
    """Inside a list item, a one-line fact at the start of a line must not end the line: the
    text after it ("),") belongs to the same sentence."""
    facts = json.loads((GENERATED / "facts.json").read_text())
    filled = _fill(hooks, "- before\n  {{ fact reference.test_accuracy }}), after\n")
    assert filled == f"- before\n  {facts['reference.test_accuracy']}), after\n"
