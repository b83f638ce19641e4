"""Many trainings at once: a real LocalCluster, a real `dask scheduler` with `dask worker`s,
a worker killed mid-benchmark, Ctrl-C and --resume, and the one-line errors of bad input.

Every cluster here is real and listens on 127.0.0.1 only, as Dask's own tests start theirs.
Models come from the zoo (the workers are other processes: a model registered inside this test
process would not exist there), trained for one or two epochs on a few hundred images.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_lab.cli import app
from mnist_lab.core import hardware, runs
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale import benchmark as bench
from mnist_lab.scale import executors
from mnist_lab.scale.executors import ExecutorError, TrainingTask, dask_cluster, open_executor
from mnist_lab.training import TrainConfig

LIMIT = 600  # images per run: enough for a few steps, few enough for seconds


def leaderboard(path: Path) -> dict:
    return json.loads((path / "leaderboard.json").read_text())


def run_metrics(path: Path) -> list[dict]:
    return [
        runs.Run(folder).metrics
        for folder in sorted(path.iterdir())
        if (folder / "metrics.json").is_file()
    ]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workers", "scheduler", "message"),
    [
        (0, None, "The 'workers' option must be an int >= 1 and <= {cores} (this machine's"),
        (10_000, None, "The 'workers' option must be an int >= 1 and <= {cores} (this machine's"),
        (2, "tcp://127.0.0.1:8786", "Give either 'workers' (a local cluster) or a scheduler"),
    ],
)
def test_bad_worker_counts_are_one_line(workers, scheduler, message):
    with pytest.raises(ConfigError) as caught:
        executors.check_workers(workers, scheduler)
    assert str(caught.value).startswith(message.format(cores=hardware.usable_cores()))
    assert caught.value.option == "workers"


def test_the_worker_limit_is_the_cores_this_process_may_use(monkeypatch):
    """Under a CPU limit (a container, a batch job) the usable cores, not the machine's, bound
    the workers and each local worker's thread share."""
    from mnist_lab.scale.executors import threads

    monkeypatch.setattr(hardware, "usable_cores", lambda: 3)
    executors.check_workers(3, None)
    with pytest.raises(ConfigError, match=r"^The 'workers' option must be an int >= 1 and <= 3 "):
        executors.check_workers(4, None)
    assert threads.local_share(2) == 1 and threads.local_share(1) == 3
    assert threads.host_share("tcp://10.0.0.5:40123", {"tcp://10.0.0.5": 3}) == 1


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--workers", "0"],
            "Error: The '--workers' option must be an int >= 1 and <= {cores} (this machine's "
            "logical cores). Got 0 instead.",
        ),
        (
            ["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
            "Error: Give either '--workers' (a local cluster) or a scheduler address (an "
            "existing cluster), not both: the cluster at tcp://127.0.0.1:8786 has its own workers.",
        ),
    ],
)
def test_the_cli_refuses_bad_workers_in_one_line(args, line, tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, ["benchmark", "mlp", "--limit", "600", "--out", str(tmp_path), *args]
    )
    assert result.exit_code != 0
    assert result.stderr.strip() == line.format(cores=hardware.usable_cores())
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_an_unreachable_scheduler_names_the_address_and_what_to_start(monkeypatch, tmp_path):
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 1)
    address = f"tcp://127.0.0.1:{free_port()}"
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, ["benchmark", "mlp", "--limit", "600", "--out", str(tmp_path)],
        env={"MNIST_LAB_SCHEDULER": address},
    )  # fmt: skip
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: Cannot reach the Dask scheduler at {address} (")
    assert line.endswith(
        "Start one with 'dask scheduler' and at least one 'dask worker ADDRESS --nthreads 1' in "
        "this project's environment, or leave out --scheduler (and $MNIST_LAB_SCHEDULER) to "
        "train here."
    )


@pytest.mark.parametrize(
    ("args", "dropped"),
    [
        (["mlp"], "the model names"),
        (["--epochs", "2", "--seed", "1"], "--epochs, --seed"),
        (["mlp", "--out", "elsewhere"], "the model names, --out"),
    ],
)
def test_resume_with_models_or_options_is_refused(args, dropped, tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["benchmark", *args, "--resume", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: --resume continues {tmp_path} with the models and options it was started "
        f"with; leave out {dropped}."
    )


# --- a local cluster: Ctrl-C, then --resume -------------------------------------------------


def test_a_local_cluster_of_two_stops_on_ctrl_c_and_resumes(mnist, tmp_path):
    """Two worker processes share four runs; Ctrl-C after the first keeps it, --resume trains
    only the three missing, and every run says which worker trained it."""

    def stop_after_the_first_run(event: dict) -> None:
        if event["event"] == "task_done":
            raise KeyboardInterrupt

    started = time.perf_counter()
    with pytest.raises(bench.BenchmarkInterrupted) as caught:
        bench.benchmark(
            ["mlp"],
            epochs=1,
            repeats=4,
            limit=LIMIT,
            out=tmp_path,
            dataset=mnist,
            workers=2,
            on_progress=stop_after_the_first_run,
        )
    (path,) = tmp_path.iterdir()
    assert str(caught.value) == (
        f"the benchmark stopped with 1 of 4 runs finished; {path} keeps them. "
        f"Continue with: mnist-lab benchmark --resume {path}"
    )
    (kept,) = run_metrics(path)
    assert kept["executor"] == "dask-local" and kept["worker"].startswith("tcp://127.0.0.1:")
    assert not (path / "leaderboard.json").exists()
    assert time.perf_counter() - started < 120  # the cluster closed rather than finishing

    events: list[dict] = []
    result = bench.resume_benchmark(path, dataset=mnist, workers=2, on_progress=events.append)
    assert result.path == path
    assert len([e for e in events if e["event"] == "task_start"]) >= 3  # a rerun may add one
    missing = [f"mlp seed {seed}" for seed in range(4) if seed != kept["seed"]]
    assert sorted({e["key"] for e in events if e["event"] == "task_done"}) == missing
    board = leaderboard(path)
    assert board["executor"] == {"name": "dask-local", "workers": 2}
    (row,) = board["models"]
    assert (row["repeats"], row["failed"]) == (4, 0)
    metrics = run_metrics(path)
    assert sorted(m["seed"] for m in metrics) == [0, 1, 2, 3]
    assert {m["executor"] for m in metrics} == {"dask-local"}
    assert all(re.fullmatch(r"tcp://127\.0\.0\.1:\d+", m["worker"]) for m in metrics)
    assert all(m["train_size"] + m["validation_size"] == LIMIT for m in metrics)
    # The runs came back from the workers' temporary folders whole.
    for folder in path.iterdir():
        if folder.is_dir():
            assert {"config.json", "history.json", "metrics.json", "model.keras"} <= {
                p.name for p in folder.iterdir()
            }
            assert runs.Run(folder).state["state"] == runs.COMPLETED


def test_ctrl_c_in_a_terminal_stops_a_local_cluster_quietly(tmp_path):
    """Ctrl-C reaches every process of the terminal's group, workers included: only the client
    answers, with one line, exit 130 and no worker's traceback; --resume then says what it had."""
    out = tmp_path / "benchmarks"
    command = [sys.executable, "-m", "mnist_lab", "benchmark", "mlp", "--repeats", "4"]
    command += ["--epochs", "50", "--limit", str(LIMIT), "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    epochs_seen = 0
    for line in process.stdout:  # wait until the workers train
        epochs_seen += " epoch " in line
        if epochs_seen == 2:
            break
    os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    (path,) = out.iterdir()
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith("Interrupted: the benchmark stopped with 0 of 4 runs finished; ")
    )
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert [p.name for p in path.iterdir()] == ["plan.json"]  # nothing half-done came back


def test_executor_results_match_an_in_process_training(mnist, tmp_path):
    """The same config and seed trained on a worker and here give the same history: tasks carry
    configs, and the scattered dataset is the same data."""
    task = TrainingTask("mlp seed 5", TrainConfig("mlp", epochs=1, limit=LIMIT, seed=5))
    histories = {}
    for workers in (1, 2):
        with open_executor(workers) as executor:
            (result,) = executor.map([task], tmp_path / str(workers), mnist)
        assert result.ok, result.error
        histories[workers] = result.run.history
    here, there = histories[1][0], histories[2][0]
    assert here["val_accuracy"] == pytest.approx(there["val_accuracy"], abs=0.02)
    assert here["loss"] == pytest.approx(there["loss"], rel=0.05)


# --- a real cluster: `dask scheduler` and two `dask worker`s ----------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dask_command() -> list[str]:
    script = Path(sys.executable).with_name("dask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dask"]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "a dask process exited early"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


@pytest.fixture
def real_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed one stays dead)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    common = {"stdout": subprocess.DEVNULL, "start_new_session": True}
    processes = []
    try:
        scheduler = subprocess.Popen(
            [*dask_command(), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
            + ["--no-dashboard"],
            stderr=(logs / "scheduler.log").open("w"),
            **common,
        )
        processes.append(scheduler)
        wait_for_port(port, scheduler)
        workers = {}
        for index in (1, 2):
            worker_port = free_port()
            worker = subprocess.Popen(
                [*dask_command(), "worker", address, "--no-nanny", "--nthreads", "1"]
                + ["--host", "127.0.0.1", "--worker-port", str(worker_port), "--no-dashboard"],
                stderr=(logs / f"worker-{index}.log").open("w"),
                **common,
            )
            processes.append(worker)
            workers[f"tcp://127.0.0.1:{worker_port}"] = worker
        for worker_address, worker in workers.items():
            wait_for_port(int(worker_address.rsplit(":", 1)[1]), worker)
        from distributed import Client

        with Client(address, timeout=30) as client:  # both registered, not just listening
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        stop_process_groups(processes)


def stop_process_groups(processes: list[subprocess.Popen], grace_s: float = 3.0) -> None:
    """SIGTERM every group, then SIGKILL what is left after one shared grace period: a worker
    that imported TensorFlow can take 20 s to exit on SIGTERM, and these tests do not test that."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_a_worker_killed_mid_benchmark_loses_no_run(real_cluster, mnist, tmp_path):
    """Four runs on a hand-started scheduler with two workers; one worker is killed with SIGKILL
    in the middle of its second run. The scheduler reruns that run on the other worker: the
    leaderboard is complete and the runs record both workers."""
    address, workers = real_cluster
    started_on: dict[str, str] = {}
    finished_on: dict[str, int] = dict.fromkeys(workers, 0)
    killed: list[str] = []

    def kill_one_worker_mid_run(event: dict) -> None:
        if event["event"] == "task_start":
            started_on[event["key"]] = event["worker"]
        elif event["event"] == "task_done" and event["ok"]:
            finished_on[event["worker"]] += 1
        elif event["event"] == "epoch_done" and not killed and event["epoch"] == 1:
            victim = started_on[event["key"]]
            if finished_on[victim] >= 1:  # its second run: one of its runs is already home
                os.kill(workers[victim].pid, signal.SIGKILL)
                killed.append(victim)

    result = bench.benchmark(
        ["mlp"],
        epochs=2,
        repeats=4,
        limit=LIMIT,
        out=tmp_path / "benchmarks",
        dataset=mnist,
        scheduler=address,
        on_progress=kill_one_worker_mid_run,
    )
    assert killed, "no worker was killed: the test did not test anything"
    assert workers[killed[0]].wait(timeout=10) == -signal.SIGKILL
    (row,) = result.rows
    assert (row["repeats"], row["failed"], row["errors"]) == (4, 0, []), row["errors"]
    assert result.executor == {"name": "dask", "workers": 2}
    metrics = run_metrics(result.path)
    assert sorted(m["seed"] for m in metrics) == [0, 1, 2, 3]
    assert {m["executor"] for m in metrics} == {"dask"}
    assert {m["worker"] for m in metrics} == set(workers)  # both workers trained runs
    assert all(m["epochs"] == 2 for m in metrics)


def test_the_cli_runs_a_benchmark_on_a_real_cluster(real_cluster, tmp_path):
    from typer.testing import CliRunner

    address, workers = real_cluster
    out = tmp_path / "benchmarks"
    result = CliRunner().invoke(
        app,
        ["benchmark", "mlp", "reference", "--epochs", "1", "--limit", str(LIMIT)]
        + ["--out", str(out), "--scheduler", address],
    )
    assert result.exit_code == 0, result.output
    assert "Training 2 runs on 2 Dask workers (dask)." in result.stdout
    assert "Runs trained on a Dask cluster of 2 workers." in result.stdout
    (path,) = out.iterdir()
    assert {m["worker"] for m in run_metrics(path)} <= set(workers)
    assert sorted(row["name"] for row in leaderboard(path)["models"]) == ["mlp", "reference"]


def test_a_scheduler_without_workers_or_with_crowded_ones_says_what_to_start(tmp_path, monkeypatch):
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 1)
    port = free_port()
    scheduler = subprocess.Popen(
        [*dask_command(), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
        + ["--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, scheduler)
        address = f"tcp://127.0.0.1:{port}"
        with pytest.raises(ExecutorError) as caught, open_executor(scheduler=address):
            pass
        assert str(caught.value) == (
            f"The Dask scheduler at {address} has no workers; start one with "
            f"'dask worker {address} --nthreads 1' in this project's environment."
        )
        worker_port = free_port()
        worker = subprocess.Popen(
            [*dask_command(), "worker", address, "--no-nanny", "--nthreads", "2"]
            + ["--host", "127.0.0.1", "--worker-port", str(worker_port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(worker_port, worker)
        from distributed import Client

        with Client(address, timeout=30) as client:  # registered, not just listening
            client.wait_for_workers(1, timeout=60)
        with pytest.raises(ExecutorError) as caught, open_executor(scheduler=address):
            pass
        assert str(caught.value) == (
            f"The Dask worker at tcp://127.0.0.1:{worker_port} runs 2 threads, so it would train "
            f"several runs at once in one process; restart it with 'dask worker {address} "
            "--nthreads 1'."
        )
    finally:
        stop_process_groups([p for p in (scheduler, locals().get("worker")) if p is not None])
