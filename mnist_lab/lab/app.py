"""The lab's JSON API on Starlette: the routes, and the one shape of their errors.

GET  /              -> the page (static/index.html; its script and style under /static/).
GET  /api/runs     -> [{"name", "model", "test_accuracy", "epochs", "date", "epoch_weights",
                        "kept_epochs"}], one per served run, in the order given.
POST /api/predict  {"run": NAME, "image": "data:image/png;base64,..." | "pixels": 28x28 in [0, 1],
                    "epoch": N (optional)} -> {"run", "model", "epoch", "digit", "probability",
                    "probabilities", "input", "layers", "filters", "saliency", "saliency_scale",
                    "saliency_of"}: the saliency is the gradient of the digit's logit
                    ("logit"), or of its log-probability for a model without a softmax Dense
                    head ("log-probability").
GET  /api/validation-digit?run=NAME&wrong=0|1 -> {"pixels": 28x28 in [0, 1], "label", "index",
                    "split": "validation"}: a random image of the run's validation split (the
                    images it held out, from its own seed; `index` counts in that split, as
                    `mnist-lab inspect --index` does), with wrong=1 one that the run's final
                    model gets wrong. Error analysis looks at validation: the test set chooses
                    nothing.
GET  /api/test-digit -> the same as /api/validation-digit: its old name, kept for scripts that
                    call it (it answered test images before; the page now asks for validation).

The routes only read the request and call the `Lab` (answers.py) in a worker thread. Every error
is {"error": "one sentence"} with its status: 404 for a run that is not served (catalog.py), 413
for a body over 1 MB or a picture above images.MAX_PIXELS and 400 for anything else a client got
wrong (inputs.py), 500 for a run whose model cannot be loaded (model_cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mnist_lab.core.errors import first_line
from mnist_lab.lab.answers import Lab
from mnist_lab.lab.errors import LabError
from mnist_lab.lab.inputs import parse_json, read_body

STATIC = Path(__file__).parent / "static"  # the page: index.html, lab.js, lab.css


def create_app(run_folders: Sequence[str | Path]) -> Starlette:
    """The lab's ASGI application serving the given run folders (see `servable_runs`)."""
    lab = Lab([Path(folder) for folder in run_folders])

    async def api_runs(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(lab.list_runs))

    async def api_predict(request: Request) -> JSONResponse:
        payload = parse_json(await read_body(request))
        return JSONResponse(await run_in_threadpool(lab.predict, payload))

    async def api_validation_digit(request: Request) -> JSONResponse:
        run, wrong = request.query_params.get("run"), request.query_params.get("wrong", "0")
        return JSONResponse(await run_in_threadpool(lab.validation_digit, run, wrong))

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def lab_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, LabError)
        return JSONResponse({"error": str(error)}, status_code=error.status)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        messages = {
            404: f"There is nothing at {request.url.path}; the page is at / and the API is "
            "/api/runs, /api/predict and /api/validation-digit.",
            405: f"{request.url.path} does not answer {request.method} requests.",
        }
        message = messages.get(error.status_code, str(error.detail))
        return JSONResponse({"error": message}, status_code=error.status_code)

    async def server_error(request: Request, error: Exception) -> JSONResponse:
        message = f"The lab failed on this request ({first_line(error, with_type=True)})."
        return JSONResponse({"error": message}, status_code=500)

    app = Starlette(
        routes=[
            Route("/api/runs", api_runs, methods=["GET"]),
            Route("/api/predict", api_predict, methods=["POST"]),
            Route("/api/validation-digit", api_validation_digit, methods=["GET"]),
            Route("/api/test-digit", api_validation_digit, methods=["GET"]),  # the old name
            Route("/", page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={
            LabError: lab_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.lab = lab
    return app
