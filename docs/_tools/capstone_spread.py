"""How much the capstone's reference solution varies from seed to seed: the measurement behind
exercise 8's threshold (`mnist_lab.course.capstone`).

`python docs/_tools/capstone_spread.py` trains mnist_lab/course/solutions/ex08_my_model.py as
the check trains a student's model (`mnist_lab.scale.capstone.train_seed`: its recipe, as
`mnist-lab train my-model --seed S` does) for seeds 0..N-1 (`--seeds`, 8 by default), and
writes docs/results/capstone_spread.json: each seed's validation accuracy, epochs and seconds,
their mean and standard deviation, the bounds a fair threshold must stay under (the threshold
itself is chosen in mnist_lab/course/capstone.py), the date, the machine and this command.
docs/_tools/results_facts.py turns it into `results.capstone_spread.*` facts for exercise 8's
page. On 2 busy cores a seed took 3 to 6 minutes (2026-12-06).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTION = ROOT / "mnist_lab" / "course" / "solutions" / "ex08_my_model.py"
OUT = ROOT / "docs" / "results" / "capstone_spread.json"
COMMAND = "python docs/_tools/capstone_spread.py"


def measure(seeds: int, out: Path = OUT, limit: int | None = None) -> dict:
    """Train the solution for seeds 0..`seeds`-1, write what was measured to `out`, return it.

    `limit` (fewer images) only tries the script out; the committed file never uses it.
    """
    # The solution registers "my-model" when the registry looks in this file, as it looks in a
    # student's exercises/ folder.
    os.environ["MNIST_LAB_PLUGINS"] = str(SOLUTION)
    from mnist_lab.core.fileio import write_json_atomic
    from mnist_lab.course import capstone
    from mnist_lab.data import load_mnist
    from mnist_lab.models import registry
    from mnist_lab.scale.capstone import train_seed
    from mnist_lab.scale.machine import machine_info

    origin = registry.model_info(capstone.MODEL).origin
    if not origin.startswith(str(SOLUTION)):
        sys.exit(f"'{capstone.MODEL}' comes from {origin}, not from {SOLUTION}.")
    mnist = load_mnist()
    runs = []
    with tempfile.TemporaryDirectory(prefix="capstone-spread-") as folder:
        for seed in range(seeds):
            run = train_seed(capstone.MODEL, seed, out=folder, dataset=mnist, limit=limit)
            runs.append({key: value for key, value in asdict(run).items() if key != "path"})
            print(f"seed {seed}: {run.val_accuracy:.4f} validation, {run.epochs} epochs, "
                  f"{run.train_seconds:.0f} s", flush=True)  # fmt: skip
    accuracies = [run["val_accuracy"] for run in runs]
    mean = statistics.fmean(accuracies)
    sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    two, one = capstone.two_seed_bound(mean, sd), capstone.one_seed_bound(mean, sd)
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": COMMAND
        + (f" --seeds {seeds}" if seeds != 8 else "")
        + (f" --limit {limit}" if limit else ""),
        "machine": machine_info(),
        "model": capstone.MODEL,
        "recipe_epochs": registry.model_info(capstone.MODEL).recipe.epochs,
        "limit": limit,
        "runs": runs,
        "mean": mean,
        "sd": sd,
        "z": capstone.Z,
        "two_seed_bound": two,
        "one_seed_bound": one,
        "two_seed_bound_rounded": capstone.round_down(two),
        "one_seed_bound_rounded": capstone.round_down(one),
    }
    write_json_atomic(out, result)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 (default: 8)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON file (default: {OUT})")
    parser.add_argument("--limit", type=int, default=None, help="fewer images: a try-out only")
    args = parser.parse_args(argv)
    result = measure(args.seeds, args.out, args.limit)
    print(
        f"mean {result['mean']:.4%}, sd {result['sd']:.4%}; 2-seed bound "
        f"{result['two_seed_bound']:.4%}, 1-seed bound {result['one_seed_bound']:.4%}"
    )


if __name__ == "__main__":
    main()
