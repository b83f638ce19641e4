"""Measure how many trainings per minute each executor gets through on this machine.

Eight `fast` trainings (seeds 0-7, the full training set, the model's own recipe) are run three
ways, one after another in this one script so that the ratios compare like with like:

1. serial: `benchmark fast --repeats 8` in this process (`--workers 1`, the default);
2. a local cluster: the same with `--workers 2` (a Dask LocalCluster of 2 worker processes,
   TensorFlow pinned to cores/2 threads in each);
3. a real cluster: a `dask scheduler` and two `dask worker` processes started here on
   127.0.0.1, reached with `--scheduler`.

Each figure is the wall time of the whole `benchmark` call (cluster start, data transfer, every
training, the leaderboard), as a user waits for it. Results go to docs/results/throughput.json
and throughput.md with the machine and date. Run: `.venv/bin/python tests/perf/throughput.py`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from mnist_lab.core.markdown import markdown_table
from mnist_lab.data import load_mnist
from mnist_lab.scale.benchmark import benchmark
from mnist_lab.scale.machine import describe_machine, machine_info

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
MODEL, RUNS = "fast", 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A `dask scheduler` and `workers` `dask worker` processes on 127.0.0.1."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    processes = [subprocess.Popen(scheduler, start_new_session=True, **quiet)]
    worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    processes += [subprocess.Popen(worker, start_new_session=True, **quiet) for _ in range(workers)]
    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(workers, timeout=60)
            return address, processes
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stop_cluster(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)


def measure(name: str, dataset, out: Path, **where) -> dict:
    print(f"{name}: {RUNS} {MODEL} trainings ...", flush=True)
    started = time.perf_counter()
    result = benchmark([MODEL], repeats=RUNS, seed=0, out=out, dataset=dataset, **where)
    wall = time.perf_counter() - started
    (row,) = result.rows
    metrics = [json.loads((result.path / run / "metrics.json").read_text()) for run in row["runs"]]
    workers = sorted({m["worker"] for m in metrics})
    figures = {
        "how": name,
        "executor": result.executor,
        "wall_seconds": round(wall, 1),
        "runs_per_minute": round(RUNS / wall * 60, 2),
        "train_seconds_mean": round(statistics.fmean(m["train_seconds"] for m in metrics), 2),
        "test_accuracy_mean": round(row["test_accuracy_mean"], 4),
        "workers_used": len(workers),
        "failed": row["failed"],
    }
    print(f"  {figures}", flush=True)
    return figures


def main() -> int:
    dataset = load_mnist()
    with tempfile.TemporaryDirectory(prefix="mnist-lab-throughput-") as tmp:
        out = Path(tmp)
        rows = [measure("serial (--workers 1)", dataset, out)]
        rows.append(measure("local cluster (--workers 2)", dataset, out, workers=2))
        address, processes = start_cluster(2)
        try:
            rows.append(measure("dask scheduler + 2 dask workers", dataset, out, scheduler=address))
        finally:
            stop_cluster(processes)
    serial = rows[0]["wall_seconds"]
    for row in rows:
        row["speedup_over_serial"] = round(serial / row["wall_seconds"], 2)
    machine = machine_info()
    created = datetime.now().isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.json").write_text(
        json.dumps({"created": created, "machine": machine, "runs": rows}, indent=2) + "\n"
    )
    table = markdown_table(
        ["How", "Wall s", "Runs/min", "Speed-up", "Train s per run", "Test accuracy"],
        "lrrrrr",
        [
            [
                row["how"],
                f"{row['wall_seconds']:.1f}",
                f"{row['runs_per_minute']:.2f}",
                f"{row['speedup_over_serial']:.2f}x",
                f"{row['train_seconds_mean']:.1f}",
                f"{row['test_accuracy_mean']:.2%}",
            ]
            for row in rows
        ],
    )
    (RESULTS / "throughput.md").write_text(
        f"{RUNS} `{MODEL}` trainings (seeds 0-{RUNS - 1}), measured by "
        f"`tests/perf/throughput.py` on {created[:10]}.\n\n{table}\n"
        f"Machine: {describe_machine(machine)}.\n"
    )
    print((RESULTS / "throughput.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
