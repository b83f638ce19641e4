"""The lab's page in a real browser: the real server (uvicorn, on 127.0.0.1) serving two tiny runs,
the system's Chromium driven through Playwright drawing a 7 with the mouse, and what the page
shows; plus the page's files and the validation-digit endpoint (and its old name, test-digit)
through Starlette's TestClient.

Like the site test, the browser test skips with an install line when Playwright or Chromium is
missing, and fails instead in CI. MNIST_LAB_SCREENSHOT=1 also saves docs/assets/lab.png.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from docs_extra import in_ci, missing, reason
from starlette.testclient import TestClient

from mnist_lab.lab import create_app

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "assets" / "lab.png"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_CHROMIUM = (
    "install it with 'sudo apt install chromium' (Debian/Ubuntu) or your system's package "
    "manager, then run the tests again"
)
WAIT_MS = 20_000  # the first answer of a run loads and traces its model: a few seconds


@pytest.fixture(scope="module")
def trained(tmp_path_factory, copy_trained_run) -> dict[str, Path]:
    """A reference run and an mlp run of two epochs each, with their epoch weights: this
    module's copies of the shared runs."""
    out = tmp_path_factory.mktemp("lab-page-runs")
    return {name: copy_trained_run(name, out) for name in ("reference", "mlp")}


@pytest.fixture(scope="module")
def app(trained):
    return create_app([trained["reference"], trained["mlp"]])


# --- the page's files and the validation digits, no browser needed ----------------------------


def test_the_page_and_its_files_are_served_from_the_package(app):
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<script src="/static/lab.js"' in page.text
        for name, kind in (("lab.js", "javascript"), ("lab.css", "text/css")):
            answer = client.get(f"/static/{name}")
            assert answer.status_code == 200
            assert kind in answer.headers["content-type"]
        missing_file = client.get("/static/nothing.js")
        assert missing_file.status_code == 404
        assert "error" in missing_file.json()
        # nothing from the internet: no http(s) URL in the page, its script or its style
        for name in ("index.html", "lab.js", "lab.css"):
            text = (ROOT / "mnist_lab" / "lab" / "static" / name).read_text()
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), name


@pytest.fixture(scope="module")
def validation(trained, mnist):
    """The reference run's validation images, as training split them."""
    from mnist_lab.evaluation.splits import run_split
    from mnist_lab.runs import Run

    return run_split(Run(trained["reference"]), "validation", mnist)


def test_a_digit_to_try_is_one_of_the_runs_validation_images_and_a_wrong_one_is_wrong(
    app, trained, validation
):
    from mnist_lab.evaluation.reports import load_run_model

    with TestClient(app) as client:
        run = trained["reference"].name
        digit = client.get("/api/validation-digit", params={"run": run}).json()
        index = digit["index"]
        assert digit["split"] == "validation" and 0 <= index < len(validation) == 819
        assert digit["label"] == validation.labels[index]
        pixels = np.array(digit["pixels"])
        assert pixels.shape == (28, 28)
        np.testing.assert_allclose(pixels, validation.images[index] / 255, atol=1e-4)

        wrong = client.get("/api/validation-digit", params={"run": run, "wrong": "1"}).json()
        model = load_run_model(trained["reference"])
        image = validation.images[wrong["index"]][None].astype("float32") / 255
        assert wrong["label"] == validation.labels[wrong["index"]]
        assert np.argmax(model.predict(image, verbose=0)) != wrong["label"]


def test_the_old_test_digit_endpoint_answers_as_the_validation_one(app, trained):
    """/api/test-digit is the old name of /api/validation-digit: same generator state, same
    digit (a validation one: the page no longer draws test images to pick from)."""
    run = trained["reference"].name
    answers = {}
    with TestClient(app) as client:
        for path in ("/api/validation-digit", "/api/test-digit"):
            app.state.lab._random = np.random.default_rng(28)
            answers[path] = client.get(path, params={"run": run, "wrong": "1"}).json()
    assert answers["/api/test-digit"] == answers["/api/validation-digit"]
    assert answers["/api/test-digit"]["split"] == "validation"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"run": "../etc"}, 404, "There is no run named '../etc' here"),
        ({}, 400, "The 'run' field must be the name of a run from GET /api/runs."),
        (
            {"run": "RUN", "wrong": "2"},
            400,
            "The 'wrong' parameter must be 0 or 1. Got '2' instead.",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/api/validation-digit", "/api/test-digit"])
def test_a_bad_digit_request_gets_its_status_and_sentence(
    app, trained, params, status, message, path
):
    if params.get("run") == "RUN":  # the served reference run
        params = {**params, "run": trained["reference"].name}
    with TestClient(app) as client:
        answer = client.get(path, params=params)
    assert answer.status_code == status
    assert answer.json()["error"].startswith(message)


# --- in the browser ---------------------------------------------------------------------------


def _unavailable(why: str) -> None:
    """Skip on a student's laptop; fail in CI, where .ci/run installs what is missing."""
    if in_ci():
        pytest.fail(f"{why} (CI must have it: .ci/run installs it)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system's Chromium, headless, through Playwright (no browser is downloaded)."""
    absent = missing("playwright")
    if absent:
        _unavailable(reason(absent))
    from playwright.sync_api import sync_playwright

    executable = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if executable is None:
        _unavailable(f"chromium not found: {INSTALL_CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(app) -> Iterator[str]:
    """The real server: uvicorn on 127.0.0.1 in a background thread, stopped at the end."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def _draw_seven(page: Any) -> None:
    """A 7 across the pad with the mouse: the top bar, then the diagonal down to the left."""
    box = page.locator("#pad").bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.75, 0.2), steps=8)
    page.mouse.move(*at(0.4, 0.85), steps=10)
    page.mouse.up()


def _panel_shows_a_prediction(panel: Any) -> int:
    """The panel's digit, after checking it is the largest of its ten bars."""
    from playwright.sync_api import expect

    expect(panel.locator(".digit")).to_have_text(re.compile(r"^\d$"), timeout=WAIT_MS)
    expect(panel.locator(".bar")).to_have_count(10)
    digit = int(panel.locator(".digit").inner_text())
    values = [float(v.rstrip("%")) for v in panel.locator(".bar-value").all_inner_texts()]
    assert values[digit] == max(values)
    assert abs(sum(values) - 100) < 1
    return digit


def test_drawing_a_digit_shows_what_each_run_makes_of_it(browser, lab_url, trained):
    from playwright.sync_api import expect

    reference, mlp = trained["reference"].name, trained["mlp"].name
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(lab_url)

    # The run pickers list both runs with their model; the epoch slider has final + 2 epochs.
    expect(page.locator("#run option")).to_have_count(2)
    assert "reference" in page.locator("#run option").first.inner_text()
    expect(page.locator("#epoch-box")).to_be_visible()
    expect(page.locator("#epoch-label")).to_have_text("final")

    # A 7 drawn with the mouse: a digit, ten bars, the input and the feature maps of both convs.
    _draw_seven(page)
    panels = page.locator(".panel")
    expect(panels).to_have_count(1)
    _panel_shows_a_prediction(panels.first)
    expect(panels.first.locator(".layers canvas.map")).to_have_count(32)  # 16 per conv layer
    expect(panels.first.locator(".filters canvas.map")).to_have_count(32)  # the first conv's 32
    assert page.locator("#error").inner_text() == ""
    lit = page.evaluate(
        "() => document.querySelector('.panel canvas.input').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.some((v, i) => i % 4 === 0 && v > 200)"
    )
    assert lit, "the 28x28 input the network sees is blank"

    # The epoch slider: epoch 1's weights answer, and the panel says whose they are.
    page.locator("#epoch").fill("1")
    expect(page.locator("#epoch-label")).to_have_text("after epoch 1")
    expect(panels.first.locator(".panel-about")).to_contain_text("after epoch 1")
    _panel_shows_a_prediction(panels.first)
    page.locator("#epoch").fill("3")
    expect(page.locator("#epoch-label")).to_have_text("final")

    # Another run: the mlp has no convolution layer, and the page says so.
    page.locator("#run").select_option(mlp)
    expect(panels.first.locator(".panel-title")).to_contain_text(mlp)
    expect(panels.first.locator(".note")).to_contain_text("no convolution layer", timeout=WAIT_MS)
    _panel_shows_a_prediction(panels.first)

    # Side by side: the mlp and the reference on the same drawing.
    page.locator("#compare-on").check()
    page.locator("#compare").select_option(reference)
    expect(panels).to_have_count(2)
    expect(panels.nth(1).locator(".panel-title")).to_contain_text(reference)
    for i in range(2):
        _panel_shows_a_prediction(panels.nth(i))
    expect(panels.nth(1).locator(".layers canvas.map")).to_have_count(32, timeout=WAIT_MS)
    page.locator("#run").select_option(reference)
    page.locator("#compare").select_option(mlp)
    expect(panels.nth(1).locator(".note")).to_be_visible(timeout=WAIT_MS)
    expect(panels.first.locator(".layers canvas.map")).to_have_count(32, timeout=WAIT_MS)
    if os.environ.get("MNIST_LAB_SCREENSHOT") == "1":
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOT))

    # A validation digit instead of a drawing, then Undo and Clear.
    page.locator("#validation-digit").click()
    expect(panels.first.locator(".confidence")).to_contain_text(
        "validation image #", timeout=WAIT_MS
    )
    expect(panels.first.locator(".saliency-of")).to_have_text("logit")
    _draw_seven(page)
    expect(panels.first.locator(".confidence")).not_to_contain_text("validation image")
    page.locator("#undo").click()
    expect(panels.first.locator(".digit")).to_have_text("?")
    _draw_seven(page)
    _panel_shows_a_prediction(panels.first)
    page.locator("#clear").click()
    expect(panels.first.locator(".digit")).to_have_text("?")
    assert not errors, f"JavaScript errors: {errors}"

    # At laptop and tablet widths nothing sticks out sideways.
    for width in (1024, 768):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    # An error from the API is one line on the page (the browser logs the 400 itself).
    page.route(
        "**/api/predict",
        lambda route: route.fulfill(
            status=400, json={"error": "The drawing contains no digit: it is blank."}
        ),
    )
    _draw_seven(page)
    expect(page.locator("#error")).to_have_text("The drawing contains no digit: it is blank.")
    context.close()


def test_a_pen_or_a_finger_draws_through_pointer_events(browser, lab_url):
    """Touch and pen strokes arrive as pointer events like the mouse's: a stroke of pen events
    is drawn on the pad and answered."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(lab_url)
    expect(page.locator("#run option")).to_have_count(2)
    page.evaluate(
        """() => {
            const pad = document.querySelector('#pad');
            const box = pad.getBoundingClientRect();
            const at = (x, y, type) => pad.dispatchEvent(new PointerEvent(type, {
                pointerId: 7, pointerType: 'pen', isPrimary: true, bubbles: true, pressure: 0.5,
                clientX: box.left + x * box.width, clientY: box.top + y * box.height}));
            at(0.5, 0.15, 'pointerdown');
            for (let i = 1; i <= 20; i++) at(0.5, 0.15 + 0.035 * i, 'pointermove');
            at(0.5, 0.85, 'pointerup');
        }"""
    )
    _panel_shows_a_prediction(page.locator(".panel").first)
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
