"""The lab's JSON API through Starlette's TestClient, on a real (tiny) run: the runs it lists,
a drawing recognised as `mnist-lab predict` recognises the same picture, pixels, epochs, a burst
of requests, and every error with its status and its sentence."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from mnist_lab.core import runs
from mnist_lab.core.errors import RunError
from mnist_lab.data import images
from mnist_lab.evaluation.reports import predict_images
from mnist_lab.lab import create_app, inputs, servable_runs
from mnist_lab.lab.catalog import run_names
from mnist_lab.lab.errors import LabError
from mnist_lab.lab.inputs import MAX_BODY
from mnist_lab.training import TrainConfig, train

DIGIT = 0  # MNIST test image 0, a 7


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist):
    """A reference run and an mlp run of one epoch on 512 images, and a copy of the reference run
    that kept epoch 1's weights (the untrained model's, so that they answer differently from the
    final ones) and a damaged file for epoch 2."""
    from mnist_lab.evaluation.reports import load_run_model
    from mnist_lab.models import registry

    out = tmp_path_factory.mktemp("lab-runs")
    run, mlp = (
        train(
            TrainConfig(model=name, epochs=1, limit=512, out=str(out), seed=0, keep_epochs=False),
            dataset=mnist,
            verbose=0,
        ).path
        for name in ("reference", "mlp")
    )
    epochs = shutil.copytree(run, out / "with-epochs")
    (epochs / runs.EPOCHS_DIR).mkdir(exist_ok=True)
    untrained = load_run_model(run)
    untrained.set_weights(registry.create_model("reference").get_weights())
    untrained.save_weights(epochs / runs.EPOCHS_DIR / runs.epoch_weights_name(1))
    (epochs / runs.EPOCHS_DIR / runs.epoch_weights_name(2)).write_bytes(b"not an h5 file")
    return {"run": run, "mlp": mlp, "epochs": epochs, "untrained": untrained, "out": out}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A folder that looks like a completed run but whose model.keras is not a Keras file."""
    folder = tmp_path_factory.mktemp("broken") / "broken-run"
    folder.mkdir()
    (folder / runs.CONFIG).write_text(json.dumps({"model": "reference"}))
    (folder / runs.METRICS).write_text(json.dumps({"test_accuracy": 0.5}))
    (folder / runs.MODEL).write_bytes(b"not a zip file")
    return folder


@pytest.fixture(scope="module")
def client(trained, broken):
    app = create_app([trained["run"], trained["epochs"], broken, trained["mlp"]])
    with TestClient(app) as client:
        yield client


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def drawing(mnist, index: int = DIGIT, size: int = 280) -> Image.Image:
    """A test digit as a user's drawing: black on white, enlarged."""
    return Image.fromarray(255 - mnist.test.images[index]).resize((size, size))


def data_url(picture: Image.Image, kind: str = "png") -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format=kind.upper())
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode()


def assert_error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}


# --- listing ---------------------------------------------------------------------------------


def test_runs_lists_the_served_runs_with_their_summaries(client, trained):
    response = client.get("/api/runs")
    assert response.status_code == 200
    listed = {run["name"]: run for run in response.json()}
    assert list(listed) == [trained["run"].name, "with-epochs", "broken-run", trained["mlp"].name]
    first = listed[trained["run"].name]
    metrics = json.loads((trained["run"] / runs.METRICS).read_text())
    assert first["model"] == "reference"
    assert first["test_accuracy"] == metrics["test_accuracy"]
    assert first["epochs"] == 1
    assert first["date"]  # the state's last update, ISO 8601
    assert (first["epoch_weights"], first["kept_epochs"]) == (False, [])
    with_epochs = listed["with-epochs"]
    assert (with_epochs["epoch_weights"], with_epochs["kept_epochs"]) == (True, [1, 2])


def test_servable_runs_keeps_completed_runs_once(trained, tmp_path):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / runs.CONFIG).write_text("{}")
    shutil.copytree(trained["out"], tmp_path / "runs")
    shutil.copytree(unfinished, tmp_path / "runs" / "unfinished")
    copied = tmp_path / "runs" / "with-epochs"
    found = servable_runs(tmp_path / "runs", [trained["run"], copied])  # the copy is listed once
    names = [trained["run"].name, trained["mlp"].name, "with-epochs", trained["run"].name]
    assert sorted(p.name for p in found) == sorted(names)
    assert found[-1] == trained["run"]
    assert servable_runs(None, [trained["run"], trained["run"]]) == [trained["run"]]
    assert servable_runs(tmp_path / "nothing") == []
    message = (
        f"{unfinished} is not a completed run (it has no metrics.json and model.keras); "
        "'mnist-lab runs' lists the runs and 'mnist-lab train reference' trains one."
    )
    with pytest.raises(RunError, match=re.escape(message)):
        servable_runs(None, [unfinished])


# --- predictions -----------------------------------------------------------------------------


def test_a_drawing_is_recognised_as_predict_recognises_the_same_picture(client, trained, mnist):
    path = trained["out"].parent / "drawing.png"
    drawing(mnist).save(path)
    expected = predict_images(trained["run"], [path])[0]
    before = snapshot(trained["run"])
    response = client.post(
        "/api/predict", json={"run": trained["run"].name, "image": data_url(drawing(mnist))}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["digit"] == expected["digit"]
    for digit, probability in expected["top3"]:
        assert answer["probabilities"][digit] == pytest.approx(probability, abs=2e-4)
    assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-3)
    seen = images.load_digit(path) / 255
    np.testing.assert_allclose(answer["input"], seen, atol=1e-4)
    assert [layer["shape"] for layer in answer["layers"]] == [[26, 26, 32], [11, 11, 64]]
    assert np.asarray(answer["layers"][0]["maps"]).shape == (16, 26, 26)
    assert np.asarray(answer["layers"][1]["maps"]).shape == (16, 11, 11)
    assert answer["filters"]["shape"] == [3, 3, 1, 32]
    assert np.asarray(answer["filters"]["kernels"]).shape == (32, 3, 3)
    saliency = np.asarray(answer["saliency"])
    assert saliency.shape == (28, 28) and np.abs(saliency).max() == pytest.approx(1)
    assert answer["saliency_scale"] > 0 and answer["saliency_of"] == "logit"
    assert (answer["run"], answer["model"], answer["epoch"]) == (
        trained["run"].name,
        "reference",
        None,
    )
    assert snapshot(trained["run"]) == before  # the server never writes into a run


def test_floats_are_rounded_to_keep_the_json_small(client, trained, mnist):
    response = client.post(
        "/api/predict", json={"run": trained["run"].name, "image": data_url(drawing(mnist))}
    )
    answer = response.json()
    numbers = np.concatenate(
        [np.ravel(answer[key]) for key in ("probabilities", "input", "saliency")]
        + [np.ravel(layer["maps"]) for layer in answer["layers"]]
        + [np.ravel(answer["filters"]["kernels"])]
    )
    np.testing.assert_array_equal(numbers, np.round(numbers, 4))
    assert len(response.content) < 200_000


def test_pixels_are_the_network_input_as_they_are(client, trained, mnist):
    from mnist_lab.evaluation.reports import load_run_model

    pixels = mnist.test.images[DIGIT] / 255
    response = client.post(
        "/api/predict", json={"run": trained["run"].name, "pixels": pixels.tolist()}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = load_run_model(trained["run"]).predict(pixels[None, ..., None], verbose=0)[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=2e-4)
    np.testing.assert_allclose(answer["input"], pixels, atol=1e-4)


def test_an_epoch_shows_that_epochs_weights_and_then_the_final_ones_again(client, trained, mnist):
    pixels = (mnist.test.images[DIGIT] / 255).tolist()
    name = "with-epochs"

    def ask(**extra):
        response = client.post("/api/predict", json={"run": name, "pixels": pixels, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    final = ask()
    early = ask(epoch=1)
    untrained = trained["untrained"].predict(np.asarray(pixels)[None, ..., None], verbose=0)[0]
    np.testing.assert_allclose(early["probabilities"], untrained, atol=2e-4)
    assert early["epoch"] == 1
    assert early["filters"]["kernels"] != final["filters"]["kernels"]
    assert ask()["probabilities"] == final["probabilities"]


def test_damaged_epoch_weights_are_500_and_the_final_weights_stay(client, mnist):
    pixels = (mnist.test.images[DIGIT] / 255).tolist()
    final = client.post("/api/predict", json={"run": "with-epochs", "pixels": pixels}).json()
    response = client.post(
        "/api/predict", json={"run": "with-epochs", "pixels": pixels, "epoch": 2}
    )
    assert response.status_code == 500
    assert response.json()["error"].startswith(
        "The weights of epoch 2 of run 'with-epochs' cannot be loaded ("
    )
    again = client.post("/api/predict", json={"run": "with-epochs", "pixels": pixels}).json()
    assert again["probabilities"] == final["probabilities"]


def test_a_model_without_convolutions_answers_without_maps_or_filters(client, trained, mnist):
    pixels = (mnist.test.images[DIGIT] / 255).tolist()
    response = client.post("/api/predict", json={"run": trained["mlp"].name, "pixels": pixels})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["model"], answer["layers"], answer["filters"]) == ("mlp", [], None)
    assert len(answer["probabilities"]) == 10
    assert np.asarray(answer["saliency"]).shape == (28, 28)


def test_a_burst_of_requests_is_all_answered(client, trained, mnist):
    bodies = [
        {"run": name, "pixels": (mnist.test.images[i % 10] / 255).tolist(), **extra}
        for i in range(200)
        for name, extra in [[(trained["run"].name, {}), ("with-epochs", {"epoch": 1})][i % 2]]
    ]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda body: client.post("/api/predict", json=body), bodies))
    assert [r.status_code for r in responses] == [200] * 200
    assert client.get("/api/runs").status_code == 200


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nope", "../etc", "/etc/passwd", "..", "with-epochs/../x", ""])
def test_a_run_that_is_not_listed_is_404(client, trained, name):
    response = client.post("/api/predict", json={"run": name, "pixels": [[0.5] * 28] * 28})
    known = f"{trained['run'].name}, with-epochs, broken-run, {trained['mlp'].name}"
    assert_error(response, 404, f"There is no run named {name!r} here (the runs: {known}).")


def test_a_model_that_fails_to_load_is_500_for_that_run_only(client, trained):
    pixels = [[0.5] * 28] * 28
    response = client.post("/api/predict", json={"run": "broken-run", "pixels": pixels})
    assert response.status_code == 500
    message = response.json()["error"]
    assert message.startswith("The run 'broken-run' cannot be loaded: ")
    assert "model.keras is not a readable Keras model" in message
    ok = client.post("/api/predict", json={"run": trained["run"].name, "pixels": pixels})
    assert ok.status_code == 200


def test_a_body_over_1_mb_is_413(client, trained):
    big = json.dumps({"run": trained["run"].name, "image": "x" * MAX_BODY})
    too_big = f"The request is larger than {MAX_BODY:,} bytes; send a smaller image."
    assert_error(client.post("/api/predict", content=big), 413, too_big)

    def chunks():  # no Content-Length: the limit holds on what arrives
        yield big.encode()[:600_000]
        yield big.encode()[600_000:]

    assert_error(client.post("/api/predict", content=chunks()), 413, too_big)


def test_a_decompression_bomb_is_413_before_it_is_decoded(client, trained):
    # 8001 x 8001 one-bit pixels: a PNG of a few kilobytes, 64 megapixels once decoded.
    bomb = data_url(Image.new("1", (8001, 8001), 1))
    assert len(bomb) < MAX_BODY
    response = client.post("/api/predict", json={"run": trained["run"].name, "image": bomb})
    assert_error(
        response,
        413,
        "The image is 8,001 x 8,001 pixels, more than the 64 megapixels a digit needs.",
    )


def test_pictures_read_from_many_threads_leave_pillows_guard_alone(mnist):
    """The server reads drawings in its threads: the size check never changes Pillow's limit."""
    bomb, seven = data_url(Image.new("1", (8001, 8001), 1)), data_url(drawing(mnist))
    expected = inputs.digit_from_data_url(seven)
    limit, seen, done = Image.MAX_IMAGE_PIXELS, set(), threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.add(Image.MAX_IMAGE_PIXELS)

    def read(index: int):
        try:
            return inputs.digit_from_data_url(bomb if index % 2 else seven)
        except LabError as error:
            return error.status, str(error)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(read, range(64)))
    finally:
        done.set()
        watcher.join()
    after = Image.MAX_IMAGE_PIXELS
    assert (seen, after) == ({limit}, limit)
    too_big = "The image is 8,001 x 8,001 pixels, more than the 64 megapixels a digit needs."
    assert results[1::2] == [(413, too_big)] * 32
    assert all(np.array_equal(result, expected) for result in results[::2])


def test_runs_with_the_same_folder_name_get_numbered_names(trained, tmp_path):
    copies = [tmp_path / folder / trained["run"].name for folder in ("a", "b")]
    for copy in copies:
        shutil.copytree(trained["run"], copy)
    named = run_names([trained["run"], *copies])
    name = trained["run"].name
    assert named == {name: trained["run"], f"{name}-2": copies[0], f"{name}-3": copies[1]}
    app = create_app([trained["run"], *copies])
    assert list(app.state.lab.runs) == [name, f"{name}-2", f"{name}-3"]


BAD_REQUESTS = [
    (b"not json", 'The request body is not JSON; send {"run": NAME, "image": DATA_URL}.'),
    (b"[1, 2]", 'The request body must be a JSON object such as {"run": NAME, ...}.'),
    (
        {"run": 7, "pixels": [[0.5] * 28] * 28},
        "The 'run' field must be the name of a run from GET /api/runs.",
    ),
    ({}, "Send the digit as 'image' (a data URL) or 'pixels' (28x28)."),
    (
        {"image": "data:image/png;base64,AAAA", "pixels": [[0.5] * 28] * 28},
        "Send 'image' or 'pixels', not both.",
    ),
    (
        {"image": "http://example.com/7.png"},
        "The 'image' field must be a data URL: data:image/png;base64,... (or jpeg).",
    ),
    (
        {"image": "data:image/png;base64,@@@"},
        "The 'image' field is not valid base64 after 'base64,'.",
    ),
    (
        {"image": "data:image/png;base64," + base64.b64encode(b"hello world!").decode()},
        "The 'image' field is not a PNG or JPEG image.",
    ),
    (
        {"pixels": [[0.5] * 28] * 27},
        "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1. Got 27 items instead.",
    ),
    (
        {"pixels": [[0.5] * 28] * 27 + [[0.5] * 3]},
        "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1. Got a row of 3 items "
        "instead.",
    ),
    (
        {"pixels": [[0.5] * 28] * 27 + [["a"] * 28]},
        "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1. Got a value that is not a "
        "number.",
    ),
    (
        {"pixels": [[0.5] * 28] * 27 + [[255] * 28]},
        "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1. Got values from 0.5 to "
        "255.0.",
    ),
    ({"pixels": [[0] * 28] * 28}, "The pixels are blank: draw a digit first."),
    (
        {"pixels": [[0.5] * 28] * 27 + [[10**400] * 28]},
        "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1. Got a number too large for "
        "a float.",
    ),
    (b"[" * 100_000, 'The request body is not JSON; send {"run": NAME, "image": DATA_URL}.'),
    (
        {"image": "data:image/png;base64," + base64.b64encode(b"GIF89a" + bytes(40)).decode()},
        "The 'image' field is not a PNG or JPEG image.",
    ),
    (
        {"pixels": [[0.5] * 28] * 28, "epoch": 0},
        "The 'epoch' field must be an int >= 1. Got 0 instead.",
    ),
    (
        {"pixels": [[0.5] * 28] * 28, "epoch": "1"},
        "The 'epoch' field must be an int >= 1. Got '1' instead.",
    ),
    (
        {"pixels": [[0.5] * 28] * 28, "epoch": 1},
        "The run 'RUN' has no weights for epoch 1: it kept no epochs.",
    ),
    (
        {"pixels": [[0.5] * 28] * 28, "epoch": 3, "run": "with-epochs"},
        "The run 'with-epochs' has no weights for epoch 3: it kept epochs 1, 2.",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_REQUESTS)
def test_a_bad_request_is_400_with_a_sentence(client, trained, body, message):
    name = trained["run"].name
    if isinstance(body, dict):
        body = json.dumps({"run": name} | body)
    response = client.post("/api/predict", content=body)
    assert_error(response, 400, message.replace("'RUN'", repr(name)))


def test_an_empty_canvas_is_400(client, trained):
    blank = data_url(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    response = client.post("/api/predict", json={"run": trained["run"].name, "image": blank})
    assert response.status_code == 400
    assert response.json()["error"].startswith("The drawing contains no digit: it is blank")


def test_unknown_paths_and_methods_answer_json(client):
    assert_error(
        client.get("/api/nothing"),
        404,
        "There is nothing at /api/nothing; the page is at / and the API is /api/runs, "
        "/api/predict and /api/validation-digit.",
    )
    assert_error(client.get("/api/predict"), 405, "/api/predict does not answer GET requests.")


def test_importing_the_lab_does_not_import_tensorflow():
    probe = (
        "import sys, mnist_lab.lab\nprint('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
