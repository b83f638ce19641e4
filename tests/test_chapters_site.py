"""Chapters 9 to 11 in the built site, in Chromium: each renders with its figures loaded.

The site is built strictly and served by tests/test_site.py's fixtures (imported: this module is
skipped, or fails in CI, exactly as that one is when the `docs` extra or Chromium is missing).
"""

from __future__ import annotations

import chapter_figures
import pytest
import site_facts
from test_chapters import CHAPTERS
from test_site import browser, built_site, page, site_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.site


def _slug(path: str) -> str:
    return path.removeprefix("docs/course/").removesuffix(".md")


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_each_chapter_renders_with_its_figures_loaded(page, site_url, number):  # noqa: F811
    path, title = CHAPTERS[number]
    page.goto(site_url + f"course/{_slug(path)}/", wait_until="load")
    assert page.locator("article h1").inner_text().replace("¶", "").strip() == title
    images = page.locator("article img").evaluate_all(
        "images => images.map(i => [i.src.split('/').pop(), i.complete && i.naturalWidth > 0])"
    )
    assert sorted(name for name, _ in images) == sorted(chapter_figures.FIGURES[number])
    assert all(loaded for _, loaded in images), images
    assert page.locator("article figcaption").count() == len(chapter_figures.FIGURES[number])
    text = page.inner_text("article")
    assert "{{" not in text and "--8<--" not in text
    assert chapter_figures.COMMAND in text
    assert site_facts.all_facts()[f"chapters.{number:02d}.date"] in text


def test_the_course_index_and_the_nav_link_the_three_chapters(page, site_url):  # noqa: F811
    page.goto(site_url + "course/", wait_until="load")
    for path, title in CHAPTERS.values():
        assert page.locator(f"article a[href*='{_slug(path)}']").count() >= 1, title
        nav = page.locator("nav.md-nav--primary").get_by_text(title, exact=True)
        assert nav.count() == 1, title


def test_the_debugging_chapter_shows_the_tool_s_tables(page, site_url):  # noqa: F811
    page.goto(site_url + "course/11-debugging/", wait_until="load")
    headers = page.locator("article table th").all_inner_texts()
    assert "loss at step 0" in headers and "layer's kernel" in headers
    facts = site_facts.all_facts()
    cells = page.locator("article table td").all_inner_texts()
    assert facts["chapters.11.shipped.step_0_loss"] in cells
    assert facts["chapters.11.update.shipped.first"] in cells
