"""`mnist-lab lab`: draw a digit in the browser and watch your own runs think."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mnist_lab.cli.common import OneLineCommand, OneLineGroup
from mnist_lab.core.errors import MnistLabError

app = typer.Typer(cls=OneLineGroup)


@app.command("lab", cls=OneLineCommand)
def lab_command(
    run_folders: Annotated[
        Optional[list[Path]],  # noqa: UP045  (typer needs Optional on Python 3.10)
        typer.Argument(
            metavar="RUN",
            help="Run folders to serve besides the completed runs under --runs.",
            show_default=False,
        ),
    ] = None,
    runs_dir: Annotated[
        Path, typer.Option("--runs", help="Folder of runs: its completed runs are served.")
    ] = Path("runs"),
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; any but 127.0.0.1 opens the lab to your network."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the address without opening a browser.")
    ] = False,
) -> None:
    """Draw a digit in the browser and watch your runs think, layer by layer and epoch by epoch.

    A local page shows what each run makes of your drawing: the 28x28 input it sees, its ten
    probabilities, every convolution's feature maps, the first layer's filters and the saliency.
    Ctrl-C stops it.

    The page's API: GET /api/runs lists the runs served (name, model, test accuracy, epochs,
    kept epoch weights); POST /api/predict takes {"run": NAME, "image": "data:image/png;base64,..."
    or "pixels": 28x28 numbers in [0, 1], "epoch": N (optional)} and answers the digit, the ten
    probabilities, the 28x28 input the network saw, every convolution's feature maps, the first
    layer's filters and the saliency; GET /api/validation-digit?run=NAME&wrong=1 gives one of
    the run's validation digits (one it gets wrong) as pixels (/api/test-digit is its old
    name). Errors answer {"error": "..."} with a 4xx status.
    """
    from mnist_lab.lab.catalog import servable_runs
    from mnist_lab.lab.server import check_address, is_local, serve

    check_address(host, port)  # a taken port or an unknown host is said before anything else
    folders = servable_runs(runs_dir, run_folders or ())
    if not folders:
        raise MnistLabError(
            f"No completed run to serve in {runs_dir}/: train one with 'mnist-lab train "
            "reference' (about a minute), or name a run folder."
        )
    if not is_local(host):
        typer.echo(
            f"Warning: listening on {host}: anyone who can reach this machine on port {port} can "
            "use the lab and its runs' models.",
            err=True,
        )

    def ready(address: str) -> None:
        count = f"{len(folders)} run{'s' * (len(folders) != 1)}"
        typer.echo(f"The lab serves {count} at {address}  (Ctrl-C stops it)")

    serve(folders, host, port, open_browser=not no_browser, on_ready=ready)
    typer.echo("The lab stopped.")
