"""The figures and numbers of chapters 9 to 11, measured by small real trainings.

`make docs-assets` runs `python docs/_tools/chapter_figures.py`, which writes into
docs/assets/generated/ the figures named in `FIGURES` (drawn by chapter_plots.py), two tables
(`BUGS_MD`, `UPDATES_MD`) and chapter_facts.json: `chapters.NN.*` facts, each chapter with its
`.date`, `.machine` and `.seconds`, and `chapters.command`.

Every experiment is small on purpose (a few thousand digits, a few epochs, seed 0, about a
minute per chapter on 2 cores), and the pages say so: one seed and one horizon show what
happened in this run, not a law. The experiments reuse the exercises' reference solutions
(`mnist_lab/course/solutions/`), so a chapter shows what its exercise practises:

- chapter 9: exercise 12's plain network and three regularized ones, epoch by epoch, judged on
  exercise 12's held-out digits; exercise 13's augmentation applied to a few digits;
- chapter 10: exercise 14's sweep with two rates per decade; a constant rate against warm-up
  and cosine decay; a small CNN with and without batch normalization at a high rate of SGD, and
  batch normalization's moving averages at two momenta;
- chapter 11: exercise 15's script as shipped, fixed, and with one bug at a time; the loss at
  step 0, one small batch overfitted, and the size of one step against the weights.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import chapter_plots as plots
import chapter_runs as runs
import numpy as np
from measuring import load_module, load_solution, parse_only, remeasure

from mnist_lab.core.fileio import write_bytes_atomic
from mnist_lab.core.markdown import markdown_table

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
FACTS_JSON, BUGS_MD, UPDATES_MD = "chapter_facts.json", "ch11_bugs.md", "ch11_updates.md"
FIGURES = {
    9: ("ch09_curves.png", "ch09_augmented.png"),
    10: ("ch10_lr_range.png", "ch10_schedules.png", "ch10_batch_norm.png"),
    11: ("ch11_bugs.png", "ch11_overfit_batch.png"),
}
COMMAND = "python docs/_tools/chapter_figures.py"
SEED = 0
LN10 = math.log(10)


def _percent(value: float) -> str:
    return f"{value:.2%}"


def _loss(value: float) -> str:
    """A loss as the pages write it: 3 significant digits, or what went wrong."""
    return f"{value:.3g}" if math.isfinite(value) else "nan"


def rate_text(value: float) -> str:
    """A learning rate: 1e-3 for a power of ten, 3.2e-3 between."""
    mantissa, power = f"{value:.1e}".split("e")
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa}e{int(power)}" if int(power) else mantissa


# --- chapter 9: regularization and augmentation ------------------------------------------------

PATIENCE = 3  # exercise 12's page tries early stopping with this patience
LOWEST = {"plain": "the plain network's", "dropout": "dropout's",
          "augmentation": "augmentation's", "l2": "the L2 penalty's"}  # fmt: skip


def early_stopping(losses: Sequence[float], patience: int) -> tuple[int, int]:
    """(the epoch it stops after, the epoch whose weights it keeps), counted from 1, as Keras's
    `EarlyStopping(patience=..., restore_best_weights=True)` would on these validation losses."""
    best, kept, wait = math.inf, 0, 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, kept, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, kept
    return len(losses), kept


def chapter_9(mnist: Any, out: Path) -> dict[str, str]:
    """Exercise 12's plain network against dropout, augmentation and an L2 penalty, per epoch."""
    solution = load_solution("ex12_overfitting")
    tests = load_module(ROOT / "exercises" / "tests" / "test_ex12_overfitting.py", "_ch9_ex12")
    data = solution.overfitting_data(*mnist.train, seed=SEED)
    x_held, y_held = tests.held_out_data(mnist)
    histories = runs.regularization_runs(solution, data, (x_held, y_held), SEED)
    plain = histories["plain"]
    best = int(np.argmin(plain["val_crossentropy"])) + 1
    lowest = min(histories, key=lambda name: histories[name]["held_out_loss"])
    facts = {
        "chapters.09.train_digits": f"{len(data[0]):,}",
        "chapters.09.validation_digits": f"{len(data[2]):,}",
        "chapters.09.held_out_digits": f"{len(y_held):,}",
        "chapters.09.epochs": str(len(plain["loss"])),
        "chapters.09.plain.best_epoch": str(best),
        "chapters.09.plain.best_val_loss": f"{min(plain['val_crossentropy']):.3f}",
        "chapters.09.lowest_held_out": LOWEST[lowest],
    }
    for name, history in histories.items():
        key = f"chapters.09.{name}"
        facts[f"{key}.final_loss"] = f"{history['loss'][-1]:.3f}"
        facts[f"{key}.final_val_loss"] = f"{history['val_crossentropy'][-1]:.3f}"
        facts[f"{key}.keras_val_loss"] = f"{history['val_loss'][-1]:.3f}"
        facts[f"{key}.held_out_loss"] = f"{history['held_out_loss']:.3f}"
        facts[f"{key}.held_out_accuracy"] = _percent(history["held_out_accuracy"])
    stopped, kept = early_stopping(plain["val_crossentropy"], PATIENCE)
    facts |= {
        "chapters.09.early_stopping.patience": str(PATIENCE),
        "chapters.09.early_stopping.stopped": str(stopped),
        "chapters.09.early_stopping.kept": str(kept),
        "chapters.09.early_stopping.kept_val_loss": f"{plain['val_crossentropy'][kept - 1]:.3f}",
        "chapters.09.early_stopping.note": (
            "the epoch of its lowest validation loss"
            if kept == best
            else f"not its best: the validation loss went lower later, in epoch {best}, and a "
            f"patience of {PATIENCE} stopped at an earlier bump"
        ),
    }
    plots.save(plots.regularization_curves(histories, best, kept), out / FIGURES[9][0])
    augmentation = load_solution("ex13_augmentation")
    digits = data[2][:6]  # validation digits: what they look like, nothing is trained here
    versions = [augmentation.augment(digits, SEED + k) for k in range(7)]
    plots.save(plots.augmented_grid(digits, versions), out / FIGURES[9][1])
    facts["chapters.09.augment.max_shift"] = str(augmentation.MAX_SHIFT)
    facts["chapters.09.augment.max_degrees"] = f"{augmentation.MAX_DEGREES:g}"
    return facts


# --- chapter 10: the learning rate, schedules and batch normalization -------------------------


def chapter_10(mnist: Any, out: Path) -> dict[str, str]:
    """A learning-rate range on a log axis, a schedule against a constant rate, batch norm."""
    tests = load_module(ROOT / "exercises" / "tests" / "test_ex14_learning_rate.py", "_ch10_ex14")
    solution = load_solution("ex14_learning_rate")
    x, y, x_val, y_val = runs.pool_split(mnist, tests.POOL, tests.VALIDATION_FRACTION, SEED)
    rates = solution.learning_rates(1e-5, 1.0, 11)  # two per decade
    results = solution.sweep(
        rates, tests.small_cnn, x, y, x_val, y_val,
        epochs=1, batch_size=tests.BATCH_SIZE, seed=SEED,
    )  # fmt: skip
    chosen = solution.choose_rate(results)
    plots.save(plots.learning_rate_range(results, LN10), out / FIGURES[10][0])
    stable = max((row for row in results if not row["diverged"]), key=lambda row: row["rate"])
    best = next(row for row in results if row["rate"] == chosen)
    facts = {
        "chapters.10.sweep.train_digits": f"{len(x):,}",
        "chapters.10.sweep.validation_digits": f"{len(x_val):,}",
        "chapters.10.sweep.count": str(len(rates)),
        "chapters.10.sweep.chosen": rate_text(chosen),
        "chapters.10.sweep.chosen_val_accuracy": _percent(best["val_accuracy"]),
        "chapters.10.sweep.largest_stable": rate_text(stable["rate"]),
        "chapters.10.sweep.largest_stable_val_accuracy": _percent(stable["val_accuracy"]),
        "chapters.10.sweep.smallest_diverged": rate_text(
            min((row["rate"] for row in results if row["diverged"]), default=math.inf)
        ),
    }
    for row in results:
        key = f"chapters.10.sweep.rate{rate_text(row['rate'])}"
        facts[f"{key}.loss"] = _loss(row["loss"])
        facts[f"{key}.val_accuracy"] = _percent(row["val_accuracy"])

    data = runs.pool_split(mnist, runs.SCHEDULE_POOL, 1 / 6, SEED)
    schedules = runs.schedule_runs(data, SEED)
    plots.save(plots.schedules(schedules), out / FIGURES[10][1])
    facts |= {
        "chapters.10.schedule.train_digits": f"{len(data[0]):,}",
        "chapters.10.schedule.validation_digits": f"{len(data[2]):,}",
        "chapters.10.schedule.epochs": str(runs.SCHEDULE_EPOCHS),
        "chapters.10.schedule.peak": rate_text(runs.SCHEDULE_PEAK),
        "chapters.10.schedule.warmup_steps": str(schedules["warmup"]["warmup_steps"]),
        "chapters.10.schedule.steps": str(len(schedules["warmup"]["rates"])),
    }
    for name, run in schedules.items():
        key = f"chapters.10.schedule.{name}"
        facts[f"{key}.first_epoch_val_accuracy"] = _percent(run["val_accuracy"][0])
        facts[f"{key}.val_accuracy"] = _percent(run["val_accuracy"][-1])
        facts[f"{key}.val_loss"] = _loss(run["val_loss"][-1])
        facts[f"{key}.max_step_loss"] = _loss(max(run["step_loss"]))

    norm = runs.batch_norm_runs(data, SEED)
    plots.save(plots.batch_norm(norm, LN10), out / FIGURES[10][2])
    facts |= {
        "chapters.10.bn.rate": f"{runs.BN_RATE:g}",
        "chapters.10.bn.epochs": str(runs.BN_EPOCHS),
        "chapters.10.bn.momentum_rate": rate_text(runs.BN_ADAM_RATE),
    }
    for name, run in norm.items():
        key = f"chapters.10.bn.{name}"
        facts[f"{key}.final_loss"] = _loss(run["loss"][-1])
        facts[f"{key}.val_accuracy"] = _percent(run["val_accuracy"][-1])
        if "train_mode_val_accuracy" in run:
            facts[f"{key}.train_mode_val_accuracy"] = _percent(run["train_mode_val_accuracy"])
    return facts


# --- chapter 11: debugging a network ----------------------------------------------------------

_BLOCK = re.compile(
    r"^[ \t]*# SOLUTION[ \t]*\n(?P<fix>.*?)^[ \t]*# BUGGY[ \t]*\n(?P<buggy>.*?)"
    r"^[ \t]*# END SOLUTION[ \t]*\n",
    re.M | re.S,
)
# A short name for each of exercise 15's bugs, found by a piece of its buggy line.
BUG_NAMES = (
    ("LEARNING_RATE", "learning rate 10"),
    ("shuffle", "two shuffles"),
    ("/ 255", "scaled twice"),
    ("Dense(10)", "no softmax"),
)


def script_variants(solution: str) -> dict[str, str]:
    """Exercise 15's script fixed, as shipped, and fixed but for one bug, by the bug's name."""
    blocks = list(_BLOCK.finditer(solution))

    def with_bugs(buggy: set[int]) -> str:
        parts, end = [], 0
        for index, block in enumerate(blocks):
            parts += [solution[end : block.start()], block["buggy" if index in buggy else "fix"]]
            end = block.end()
        return "".join(parts) + solution[end:]

    variants = {"fixed": with_bugs(set()), "shipped": with_bugs(set(range(len(blocks))))}
    for index, block in enumerate(blocks):
        names = [name for piece, name in BUG_NAMES if piece in block["buggy"]]
        if len(names) != 1:
            raise LookupError(f"exercise 15's bug {index + 1} has no name: {block['buggy']!r}")
        variants[names[0]] = with_bugs({index})
    return variants


def chapter_11(mnist: Any, out: Path) -> dict[str, str]:
    """Exercise 15's script as shipped, fixed and with each bug alone: its first steps."""
    source = ROOT / "mnist_lab" / "course" / "solutions" / "ex15_debugging.py"
    variants = script_variants(source.read_text(encoding="utf-8"))
    modules = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, text in variants.items():
            path = Path(folder) / f"ch11_{name.replace(' ', '_')}.py"
            path.write_text(text, encoding="utf-8")
            modules[name] = load_module(path, f"_ch11_{name.replace(' ', '_')}")
    results = {name: runs.script_run(module, SEED) for name, module in modules.items()}
    plots.save(plots.bug_curves(results, LN10), out / FIGURES[11][0])
    overfit = {name: runs.overfit_batch(modules[name], SEED) for name in ("fixed", "shipped")}
    plots.save(plots.overfit_batch(overfit, LN10), out / FIGURES[11][1])
    facts = {
        "chapters.11.ln10": f"{LN10:.3f}",
        "chapters.11.steps": str(runs.SCRIPT_STEPS),
        "chapters.11.batch": str(runs.SCRIPT_BATCH),
        "chapters.11.overfit.images": str(runs.OVERFIT_IMAGES),
        "chapters.11.overfit.steps": str(runs.OVERFIT_STEPS),
    }
    rows = []
    for name, run in results.items():
        key = f"chapters.11.{name.replace(' ', '_')}"
        facts[f"{key}.step_0_loss"] = _loss(run["step_0_loss"])
        facts[f"{key}.final_loss"] = _loss(run["step_loss"][-1])
        facts[f"{key}.val_accuracy"] = _percent(run["val_accuracy"])
        facts[f"{key}.max_loss"] = _loss(max(run["step_loss"]))
        facts[f"{key}.output_sum"] = f"{run['output_sum']:.3g}"
        rows.append(
            [name, _loss(run["step_0_loss"]), f"{run['output_sum']:.3g}",
             _loss(run["step_loss"][-1]), _percent(run["val_accuracy"])]
        )  # fmt: skip
    header = ["script", "loss at step 0", "first output's sum", "loss, last step",
              "validation accuracy"]  # fmt: skip
    table = markdown_table(header, "lrrrr", rows)
    write_bytes_atomic(out / BUGS_MD, table.encode("utf-8"))
    for name, run in overfit.items():
        facts[f"chapters.11.overfit.{name}.final_loss"] = _loss(run[-1])
    updates = {name: runs.update_sizes(modules[name], SEED) for name in ("fixed", "shipped")}
    rows = [
        [layer, f"{fixed:.2g}", f"{updates['shipped'][layer]:.2g}"]
        for layer, fixed in updates["fixed"].items()
    ]
    table = markdown_table(["layer's kernel", "fixed", "as shipped"], "lrr", rows)
    write_bytes_atomic(out / UPDATES_MD, table.encode("utf-8"))
    for name, sizes in updates.items():
        facts[f"chapters.11.update.{name}.first"] = f"{next(iter(sizes.values())):.2g}"
        facts[f"chapters.11.update.{name}.largest"] = f"{max(sizes.values()):.2g}"
    return facts


# --- all of it --------------------------------------------------------------------------------

CHAPTERS: dict[int, Callable[[Any, Path], dict[str, str]]] = {
    9: chapter_9,
    10: chapter_10,
    11: chapter_11,
}


def generate(out: Path = OUT, only: Sequence[int] = tuple(CHAPTERS)) -> dict[str, str]:
    """Measure the chapters `only` into `out`, keep the other chapters' facts; return all."""
    return remeasure(
        CHAPTERS, only, out=out, facts_json=FACTS_JSON, prefix="chapters", what="chapter",
        command=COMMAND,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_only(
        argv, command=COMMAND, doc=__doc__, out=OUT, choices=CHAPTERS, what="chapters"
    )
    generate(args.out, args.only)


if __name__ == "__main__":
    main()
