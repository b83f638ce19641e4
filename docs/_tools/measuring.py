"""What the docs' measuring tools share: numbered experiments measured again into a facts file.

exercise_facts.py (one experiment per exercise) and chapter_figures.py (one per chapter) each
keep a JSON file of `PREFIX.NN.*` facts; `--only` measures some again and keeps the others',
and every experiment records its own date, machine and seconds.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mnist_lab.core.fileio import write_json_atomic

Experiment = Callable[[Any, Path], dict[str, str]]  # (mnist, out folder) -> facts


def load_module(path: Path, name: str) -> Any:
    """A module from a file (an exercise's test module, a variant of exercise 15's script)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_solution(name: str) -> Any:
    """An exercise's reference solution, as the package ships it."""
    return importlib.import_module(f"mnist_lab.course.solutions.{name}")


def remeasure(
    experiments: Mapping[int, Experiment],
    only: Sequence[int],
    *,
    out: Path,
    facts_json: str,
    prefix: str,
    what: str,
    command: str,
) -> dict[str, str]:
    """Run the experiments `only` into `out`, keep the others' facts in `facts_json`; return
    all. Each one's facts are `PREFIX.NN.*`, with its own date, machine and seconds."""
    from mnist_lab.data import load_mnist
    from mnist_lab.scale.machine import describe_machine, machine_info

    path = out / facts_json
    facts = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    mnist = load_mnist()
    machine = describe_machine(machine_info())
    for number in only:
        print(f"{what} {number}", flush=True)
        own = f"{prefix}.{number:02d}."
        facts = {key: value for key, value in facts.items() if not key.startswith(own)}
        started = time.perf_counter()
        facts |= experiments[number](mnist, out)
        facts |= {  # each experiment's own provenance: `--only` measures some again
            f"{own}date": datetime.now(timezone.utc).date().isoformat(),
            f"{own}machine": machine,
            f"{own}seconds": f"{time.perf_counter() - started:.0f}",
        }
    facts[f"{prefix}.command"] = f"`{command}`"  # shown as code on the page
    write_json_atomic(path, dict(sorted(facts.items())))
    return facts


def parse_only(
    argv: Sequence[str] | None, *, command: str, doc: str, out: Path, choices: Sequence[int],
    what: str,
) -> argparse.Namespace:  # fmt: skip
    """`--out DIR` and `--only N [N ...]` (default: all `choices`)."""
    parser = argparse.ArgumentParser(prog=command, description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=out, help=f"target folder (default: {out})")
    parser.add_argument(
        "--only", type=int, nargs="+", choices=sorted(choices), default=sorted(choices),
        help=f"the {what} to measure again (the others' facts are kept)",
    )  # fmt: skip
    return parser.parse_args(argv)
