"""`mnist-lab lab`: the runs it serves, its one-line errors, and a real start and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.lab import server

runner = CliRunner()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory, copy_trained_run) -> Path:
    """A folder holding one completed mlp run (a copy of the shared one)."""
    out = tmp_path_factory.mktemp("lab-runs")
    copy_trained_run("mlp", out)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_a_completed_run_it_says_how_to_train_one(tmp_path):
    result = runner.invoke(app, ["lab", "--runs", str(tmp_path), "--no-browser"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: No completed run to serve in {tmp_path}/: train one with 'mnist-lab train "
        "reference' (about a minute), or name a run folder.\n"
    )


def test_a_named_folder_that_is_not_a_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["lab", str(tmp_path), "--runs", str(tmp_path), "--no-browser"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path} is not a completed run")
    assert len(result.stderr.splitlines()) == 1


def test_a_port_in_use_or_out_of_range_is_one_line(runs_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["lab", "--runs", str(runs_dir), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Port {port} on 127.0.0.1 is already in use (another 'mnist-lab lab'?): stop it, "
        f"or choose another port with --port {port + 1}.\n"
    )
    result = runner.invoke(app, ["lab", "--runs", str(runs_dir), "--port", "70000"])
    assert result.stderr == (
        "Error: The '--port' option must be an int from 1 to 65535. Got 70000 instead.\n"
    )


def test_another_host_is_served_with_a_warning(runs_dir, monkeypatch):
    served = {}

    def fake_serve(folders, host, port, *, open_browser, on_ready):
        served.update(folders=folders, host=host, port=port, open_browser=open_browser)
        on_ready(server.url(host, port))

    monkeypatch.setattr(server, "serve", fake_serve)
    port = free_port()
    options = ["--runs", str(runs_dir), "--host", "0.0.0.0", "--port", str(port)]
    result = runner.invoke(app, ["lab", *options])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"Warning: listening on 0.0.0.0: anyone who can reach this machine on port {port} can "
        "use the lab and its runs' models.\n"
    )
    assert result.stdout == (
        f"The lab serves 1 run at http://127.0.0.1:{port}/  (Ctrl-C stops it)\nThe lab stopped.\n"
    )
    assert served["open_browser"] is True and served["host"] == "0.0.0.0"
    assert [folder.parent for folder in served["folders"]] == [runs_dir]


def test_the_lab_starts_answers_and_stops_cleanly_on_ctrl_c(runs_dir, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "mnist_lab", "lab", "--runs", str(runs_dir), "--port",
               str(port), "--no-browser"]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        first = process.stdout.readline()
        assert first == f"The lab serves 1 run at http://127.0.0.1:{port}/  (Ctrl-C stops it)\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=30) as answer:
            listed = json.load(answer)
        assert [run["model"] for run in listed] == ["mlp"]
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert stdout == "The lab stopped.\n"
    assert "Traceback" not in stderr
