"""The committed results of `make bench` and the perf scripts, as facts the pages can quote.

`tests/perf/*.py` write their measurements into docs/results/NAME.json (and a table NAME.md that
pages include). A page that retyped one of those numbers in its prose would go stale the day the
script runs again; instead it quotes `{{ fact results.NAME.... }}`, made here from the JSON at
every build. Each file also gives `results.NAME.date`, `.command` and `.machine`, so the sentence
around a number can say which command measured it, when and on what.

Only numbers are formatted here, never chosen: which row a fact names is fixed by its key (a
model, a variant's name, a seed), so a script that measures again changes the numbers, not which
runs they belong to.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "docs" / "results"
# The command that writes each results file (the script's own docstring says how).
COMMANDS = {
    "targets": "make bench",
    "best_averaging": "python tests/perf/best_averaging.py",
    "capstone_spread": "python docs/_tools/capstone_spread.py",
    "best_candidates": "python tests/perf/choose_best.py",
    "fast_candidates": "python tests/perf/choose_fast.py",
    "fast_candidates_round1": "python tests/perf/choose_fast.py",
    "grading": "python tests/perf/grading_class.py",
    "throughput": "python tests/perf/throughput.py",
}


def percent(value: float) -> str:
    return f"{value:.2%}"


def points(value: float) -> str:
    """A difference of accuracies, in points of percentage: 0.0006 -> "0.06"."""
    return f"{value * 100:.2f}"


def one_decimal(value: float) -> str:
    return f"{value:.1f}"


def two_decimals(value: float) -> str:
    return f"{value:.2f}"


def _mean(values: Iterable[float]) -> float:
    return statistics.fmean(values)


def _describe_machine(machine: dict[str, Any]) -> str:
    """The line `make bench` prints under its tables (as `mnist_lab.scale.machine` writes it)."""
    gpus = ", ".join(machine.get("gpus", [])) or "no GPU"
    amx = {True: " with AMX-BF16", False: " without AMX"}.get(machine.get("amx_bf16"), "")
    return (
        f"{machine['cpu']}{amx}, {machine['cores']} logical cores, {gpus}; "
        f"Python {machine['python']}, TensorFlow {machine['tensorflow']}, "
        f"Keras {machine['keras']}"
    )


def _provenance(name: str, data: dict[str, Any]) -> dict[str, str]:
    stamp = data.get("date") or data.get("created") or ""
    facts = {
        f"results.{name}.date": stamp[:10],
        # In backticks: the page shows it as code (a marker inside backticks stays unfilled).
        f"results.{name}.command": f"`{COMMANDS.get(name, f'docs/results/{name}.json')}`",
    }
    if "machine" in data:
        facts[f"results.{name}.machine"] = _describe_machine(data["machine"])
    return facts


# --- one function per results file ------------------------------------------------------------


def targets(data: dict[str, Any]) -> dict[str, str]:
    """Every zoo model's means over its seeds, and each seed's run; the overhead and the
    plain-Keras yardstick `fast` is timed against."""
    facts: dict[str, str] = {}
    for model, entry in data["zoo"].items():
        runs, prefix = entry["runs"], f"results.targets.{model}"
        facts[f"{prefix}.test_accuracy"] = percent(_mean(r["test_accuracy"] for r in runs))
        facts[f"{prefix}.val_accuracy"] = percent(_mean(r["val_accuracy"] for r in runs))
        facts[f"{prefix}.train_seconds"] = one_decimal(_mean(r["train_seconds"] for r in runs))
        facts[f"{prefix}.runs"] = str(len(runs))
        facts[f"{prefix}.measured"] = entry.get("measured", data["date"])[:10]
        for run in runs:
            seed = f"{prefix}.seed{run['seed']}"
            facts[f"{seed}.test_accuracy"] = percent(run["test_accuracy"])
            facts[f"{seed}.val_accuracy"] = percent(run["val_accuracy"])
            facts[f"{seed}.train_minutes"] = one_decimal(run["train_seconds"] / 60)
        seconds = [r["train_seconds"] for r in runs]
        val = [r["val_accuracy"] for r in runs]
        facts[f"{prefix}.val_accuracy_min"] = percent(min(val))
        facts[f"{prefix}.val_accuracy_max"] = percent(max(val))
        facts[f"{prefix}.train_minutes_min"] = one_decimal(min(seconds) / 60)
        facts[f"{prefix}.train_minutes_max"] = one_decimal(max(seconds) / 60)
    overhead = data["overhead"]
    facts["results.targets.overhead.plain_seconds"] = two_decimals(
        overhead["plain_keras_seconds_per_epoch"]
    )
    facts["results.targets.overhead.mnist_lab_seconds"] = two_decimals(
        overhead["mnist_lab_seconds_per_epoch"]
    )
    yardstick = data["plain_keras_epoch"]
    fast = _mean(r["train_seconds"] for r in data["zoo"]["fast"]["runs"])
    facts["results.targets.yardstick.seconds"] = two_decimals(yardstick["seconds"])
    facts["results.targets.yardstick.before"] = two_decimals(yardstick["before_seconds"])
    facts["results.targets.yardstick.after"] = two_decimals(yardstick["after_seconds"])
    facts["results.targets.fast.ratio"] = two_decimals(fast / yardstick["seconds"])
    quicker = min(yardstick["before_seconds"], yardstick["after_seconds"])
    facts["results.targets.fast.ratio_to_quicker_yardstick"] = two_decimals(fast / quicker)
    facts["results.targets.lab.median_ms"] = one_decimal(data["lab"]["median_ms"])
    return facts


def best_candidates(data: dict[str, Any]) -> dict[str, str]:
    """Each variant of `best` by its name: the last epoch's validation accuracy (the model
    without the precise-BN pass, which changes no weight), after the pass, and its minutes."""
    facts = {"results.best_candidates.chosen": data["chosen"]}
    for variant in data["variants"]:
        prefix = f"results.best_candidates.{variant['name']}"
        last = variant.get("val_accuracy_before_precise_bn", variant["val_accuracy"])
        facts[f"{prefix}.val_accuracy"] = percent(last)
        facts[f"{prefix}.val_accuracy_precise_bn"] = percent(variant["val_accuracy"])
        facts[f"{prefix}.train_minutes"] = one_decimal(variant["train_seconds"] / 60)
        facts[f"{prefix}.epochs"] = str(variant["epochs"])
    return facts


def best_averaging(data: dict[str, Any]) -> dict[str, str]:
    """Each averaging's validation accuracy per seed, and the largest change of the mean."""
    facts: dict[str, str] = {}
    kept = ("run", "seed", "epochs", "final", "last")  # not an averaging's accuracy
    views = [key for key in data["runs"][0] if key not in kept]
    for run in data["runs"]:
        for key in ("final", *views):
            facts[f"results.best_averaging.seed{run['seed']}.{key}"] = percent(run[key])
    final = _mean(run["final"] for run in data["runs"])
    change = max(abs(_mean(run[key] for run in data["runs"]) - final) for key in views)
    facts["results.best_averaging.largest_mean_change"] = points(change)
    facts["results.best_averaging.runs"] = str(len(data["runs"]))
    return facts


def _candidate_facts(prefix: str, candidate: dict[str, Any], yardstick: float | None) -> dict:
    facts = {
        f"{prefix}.val_accuracy": percent(candidate["val_accuracy_mean"]),
        f"{prefix}.train_seconds": one_decimal(candidate["train_seconds_mean"]),
        f"{prefix}.params": f"{candidate['params']:,}",
        f"{prefix}.epochs": str(candidate["epochs"]),
        f"{prefix}.reached_99": f"{candidate['reached_99']} of {len(candidate['seeds'])}",
    }
    if yardstick:
        facts[f"{prefix}.ratio"] = two_decimals(candidate["train_seconds_mean"] / yardstick)
    return facts


# Rows of the `fast` searches the zoo's page talks about, by their key in the JSON.
FAST_ROWS = {
    "smoothing": "n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:256 1ep b256 lr0.01 w0.2 ls0.1",
    "no_smoothing": "n,k:2,c:24:5,p:2,c:32:3,p:2,f,d:256 1ep b256 lr0.01 w0.2 ls0",
    "betas_before": "n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256 1ep b256 lr0.015 w0.3 ls0.1",
    "betas_after": "n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256 1ep b256 lr0.015 w0.3 ls0.1 betas0.7,0.9",
    "round4": "n,k:2,c:16:5,p:2,c:32:3,p:2,f,d:256 2ep b256 lr0.02 w0.3 ls0.1",
}
ROUND1_ROWS = {
    "chosen_by_test": "n,c:16:5,p:2,c:32:3,p:2,f 2ep b256 lr0.02",
    "three_epochs": "n,c:24:5,p:2,c:48:3,p:2,f,d:128 3ep b256 lr0.01",
}


def _fast_search(name: str, data: dict[str, Any], rows: dict[str, str]) -> dict[str, str]:
    by_key = {candidate["spec_key"]: candidate for candidate in data["candidates"]}
    facts = {f"results.{name}.candidates": str(len(data["candidates"]))}
    for label, key in (("chosen", data["chosen"]), *rows.items()):
        candidate = by_key[key]
        facts |= _candidate_facts(
            f"results.{name}.{label}", candidate, candidate.get("plain_keras_epoch")
        )
    return facts


def fast_candidates(data: dict[str, Any]) -> dict[str, str]:
    return _fast_search("fast_candidates", data, FAST_ROWS)


def fast_candidates_round1(data: dict[str, Any]) -> dict[str, str]:
    return _fast_search("fast_candidates_round1", data, ROUND1_ROWS)


def capstone_spread(data: dict[str, Any]) -> dict[str, str]:
    """Exercise 8's solution over its seeds: each seed's validation accuracy, their mean and
    standard deviation, and the bounds the capstone's threshold must stay under."""
    facts: dict[str, str] = {}
    prefix = "results.capstone_spread"
    for run in data["runs"]:
        seed = f"{prefix}.seed{run['seed']}"
        facts[f"{seed}.val_accuracy"] = percent(run["val_accuracy"])
        facts[f"{seed}.epochs"] = str(run["epochs"])
        facts[f"{seed}.train_minutes"] = one_decimal(run["train_seconds"] / 60)
    val = [run["val_accuracy"] for run in data["runs"]]
    minutes = [run["train_seconds"] / 60 for run in data["runs"]]
    seeds = [run["seed"] for run in data["runs"]]
    each = [percent(value) for value in val]
    facts[f"{prefix}.each"] = (
        ", ".join(each[:-1]) + " and " + each[-1] if len(each) > 1 else each[0]
    )
    facts[f"{prefix}.runs"] = str(len(val))
    facts[f"{prefix}.seeds"] = f"{min(seeds)} to {max(seeds)}"
    facts[f"{prefix}.epochs"] = str(data["recipe_epochs"])
    facts[f"{prefix}.mean"] = percent(data["mean"])
    facts[f"{prefix}.sd"] = points(data["sd"])
    facts[f"{prefix}.val_accuracy_min"] = percent(min(val))
    facts[f"{prefix}.val_accuracy_max"] = percent(max(val))
    facts[f"{prefix}.two_seed_bound"] = percent(data["two_seed_bound"])
    facts[f"{prefix}.one_seed_bound"] = percent(data["one_seed_bound"])
    facts[f"{prefix}.train_minutes_min"] = one_decimal(min(minutes))
    facts[f"{prefix}.train_minutes_max"] = one_decimal(max(minutes))
    facts[f"{prefix}.train_minutes_mean"] = one_decimal(_mean(minutes))
    return facts


def throughput(data: dict[str, Any]) -> dict[str, str]:
    """Each executor's row, by its executor's name, and the range of the speed-ups."""
    facts: dict[str, str] = {}
    gains = []
    for run in data["runs"]:
        prefix = f"results.throughput.{run['executor']['name']}"
        facts[f"{prefix}.wall_seconds"] = one_decimal(run["wall_seconds"])
        facts[f"{prefix}.train_seconds"] = one_decimal(run["train_seconds_mean"])
        facts[f"{prefix}.speedup"] = two_decimals(run["speedup_over_serial"])
        if run["executor"]["workers"] > 1:
            gains.append(run["speedup_over_serial"] - 1)
    facts["results.throughput.gain_min"] = f"{min(gains):.0%}"
    facts["results.throughput.gain_max"] = f"{max(gains):.0%}"
    return facts


def grading(data: dict[str, Any]) -> dict[str, str]:
    facts: dict[str, str] = {}
    serial = next(run["seconds"] for run in data["runs"] if run["workers"] == 1)
    for run in data["runs"]:
        prefix = f"results.grading.workers{run['workers']}"
        facts[f"{prefix}.seconds"] = one_decimal(run["seconds"])
        facts[f"{prefix}.speedup"] = two_decimals(serial / run["seconds"])
    return facts


READERS = {
    "targets": targets,
    "best_candidates": best_candidates,
    "best_averaging": best_averaging,
    "capstone_spread": capstone_spread,
    "fast_candidates": fast_candidates,
    "fast_candidates_round1": fast_candidates_round1,
    "throughput": throughput,
    "grading": grading,
}


def results_facts(results: Path = RESULTS) -> dict[str, str]:
    """Every fact of every docs/results/*.json that has a reader, with its provenance."""
    facts: dict[str, str] = {}
    for path in sorted(results.glob("*.json")):
        name = path.stem
        data = json.loads(path.read_text(encoding="utf-8"))
        facts |= _provenance(name, data)
        if name in READERS:
            facts |= READERS[name](data)
    return facts
