"""Thresholds and defaults the pages quote, read from the code that applies them.

A page that types "99.0%" or "120 s" goes stale the day the code changes; `{{ const NAME }}`
(docs/hooks.py) reads the number from the assignment that the code itself uses, here, at every
build. Each name says where its number lives. The files are parsed, never imported, so no page
starts TensorFlow for a threshold and a test file's imports do not matter.

A value is a literal, a tuple of literals or a small arithmetic of them, assigned at module level
(`NAME = 0.99`, `A, B = 2, 0.97`) or as a class field's default (`TrainConfig.validation_split`).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


class ConstError(LookupError):
    """A const name the table does not know, or a number its file no longer assigns."""


def percent(decimals: int = 0) -> Callable[[Any], str]:
    """0.99 -> "99%" (or "99.0%" with one decimal)."""
    return lambda value: f"{value * 100:.{decimals}f}%"


def points(value: Any) -> str:
    """0.05 of accuracy -> "5 points" (of percentage)."""
    return f"{value * 100:g} points"


def seconds(value: Any) -> str:
    return f"{value:g} s"


def minutes(value: Any) -> str:
    return f"{value:g} minutes"


def seconds_as_minutes(value: Any) -> str:
    return minutes(value / 60)


def count(value: Any) -> str:
    return f"{value:,}"


def plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def megabytes(value: Any) -> str:
    return f"{value:,} MB"


def joined(each: Callable[[Any], str]) -> Callable[[Sequence[Any]], str]:
    """(0.99, 0.995, 0.997) -> "99.0%, 99.5% and 99.7%"."""

    def join(values: Sequence[Any]) -> str:
        words = [each(value) for value in values]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    return join


def seed_range(values: Sequence[int]) -> str:
    """(0, 1, 2, 3, 4) -> "0 to 4"; (0, 1) -> "0 and 1"."""
    values = list(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]} to {values[-1]}"
    return joined(str)(values)


@dataclass(frozen=True)
class Const:
    """One quoted number: the file that assigns it, the name it is assigned to, its format."""

    path: str
    name: str
    show: Callable[[Any], str] = plain


GRADING = "mnist_lab/scale/grading/running.py"
CAPSTONE = "mnist_lab/course/capstone.py"  # exercise 8's rule, which `grade` applies too
TARGETS = "tests/perf/targets.py"
EX05 = "exercises/tests/test_ex05_train.py"
EX12, EX13 = "exercises/tests/test_ex12_overfitting.py", "exercises/tests/test_ex13_augmentation.py"
EX15 = "exercises/tests/test_ex15_debugging.py"
EX25 = "exercises/tests/test_ex25_numpy_cnn.py"

CONSTS: dict[str, Const] = {
    # training
    "train.validation_split": Const(
        "mnist_lab/training/config.py", "TrainConfig.validation_split", percent()
    ),
    "train.keep_epochs_max_params": Const(
        "mnist_lab/training/config.py", "KEEP_EPOCHS_MAX_PARAMS", count
    ),
    "benchmark.target_accuracy": Const("mnist_lab/scale/scores.py", "TARGET_ACCURACY", percent()),
    # tests/perf/choose_fast.py's rule is this accuracy too (its TARGET is TARGET_ACCURACY)
    "fast.design_accuracy": Const("mnist_lab/scale/scores.py", "TARGET_ACCURACY", percent(1)),
    # grading
    "grade.timeout": Const(GRADING, "DEFAULT_TIMEOUT_S", seconds),
    "grade.memory": Const(GRADING, "DEFAULT_MEMORY_MB", megabytes),
    "grade.model_epochs": Const(CAPSTONE, "MAX_EPOCHS"),  # DEFAULT_MODEL_EPOCHS
    "grade.model_target": Const(CAPSTONE, "MIN_MEAN_VALIDATION_ACCURACY", percent(2)),
    "grade.model_target_note": Const(CAPSTONE, "MIN_MEAN_VALIDATION_ACCURACY", percent(2)),
    "grade.model_timeout": Const(
        "mnist_lab/scale/grading/student.py", "MODEL_TIMEOUT_S", seconds_as_minutes
    ),
    "perf.grading_class.timeout": Const("tests/perf/grading_class.py", "TIMEOUT_S", seconds),
    "perf.throughput.runs": Const("tests/perf/throughput.py", "RUNS"),
    # the performance targets of `make bench`
    "targets.thresholds": Const(TARGETS, "THRESHOLDS", joined(percent(1))),
    "targets.seeds": Const(TARGETS, "SEEDS", seed_range),
    "targets.fast_seeds": Const(TARGETS, "FAST_SEEDS", seed_range),
    "targets.best_seeds": Const(TARGETS, "BEST_TARGET_SEEDS", seed_range),
    "targets.fast_ratio": Const(TARGETS, "FAST_RATIO"),
    "targets.fast_ratio_aim": Const(TARGETS, "FAST_RATIO_AIM"),
    "targets.best_accuracy": Const(TARGETS, "BEST_ACCURACY", percent(2)),
    "targets.best_accuracy_aim": Const(TARGETS, "BEST_ACCURACY_AIM", percent(2)),
    "targets.best_minutes": Const(TARGETS, "BEST_MINUTES", minutes),
    "choose_best.margin": Const("tests/perf/choose_best.py", "MARGIN", points),
    # the exercises' checks
    "exercise5.min_accuracy": Const(EX05, "MIN_ACCURACY", percent()),
    "exercise8.min_mean_val_accuracy": Const(CAPSTONE, "MIN_MEAN_VALIDATION_ACCURACY", percent(2)),
    "exercise8.max_epochs": Const(CAPSTONE, "MAX_EPOCHS"),
    "exercise8.seeds": Const(CAPSTONE, "SEEDS", seed_range),
    "exercise8.z": Const(CAPSTONE, "Z", plain),
    "exercise8.safety_minutes": Const(CAPSTONE, "SAFETY_MINUTES", minutes),
    "exercise12.lower_by": Const(EX12, "LOWER_BY", percent()),
    "exercise12.held_out": Const(EX12, "HELD_OUT", count),
    "exercise12.memorized_z": Const(EX12, "MEMORIZED_Z", plain),
    "exercise13.margin": Const(EX13, "MARGIN", points),
    "exercise13.move": Const(EX13, "MOVE"),
    "exercise15.min_accuracy": Const(EX15, "MIN_ACCURACY", percent()),
    "exercise15.validation_fraction": Const(
        "mnist_lab/course/solutions/ex15_debugging.py", "VALIDATION_FRACTION", percent()
    ),
    "exercise15.max_step": Const(EX15, "MAX_STEP"),
    "exercise15.min_step": Const(EX15, "MIN_STEP"),
    "exercise15.step_0_tolerance": Const(EX15, "STEP_0_TOLERANCE"),
    "exercise25.target": Const(EX25, "TARGET", percent(1)),
    "exercise25.epochs": Const(EX25, "EPOCHS"),
}

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


def _evaluate(node: ast.expr) -> Any:
    """A literal, a tuple of them, or + - * / ** of them: what a constant is assigned."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(item) for item in node.elts)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError(f"not a constant: {ast.unparse(node)}")


def _assignments(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Every `NAME = value`, `A, B = x, y` and `name: type = value` of one body."""
    found: dict[str, ast.expr] = {}
    for statement in body:
        annotated = isinstance(statement, ast.AnnAssign) and statement.value is not None
        if annotated and isinstance(statement.target, ast.Name):
            found[statement.target.id] = statement.value
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            if isinstance(target, ast.Name):
                found[target.id] = statement.value
            elif isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple):
                for name, value in zip(target.elts, statement.value.elts, strict=False):
                    if isinstance(name, ast.Name):
                        found[name.id] = value
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            for name, value in _assignments(statement.body).items():
                found[f"{statement.name}.{name}"] = value
    return found


def read_value(path: str, name: str, root: Path = ROOT) -> Any:
    """The value `name` is assigned in the file `path` (relative to the project root)."""
    source = (root / path).read_text(encoding="utf-8")
    found = _assignments(ast.parse(source, filename=path).body)
    if name not in found:
        raise ConstError(f"{path} no longer assigns {name}")
    try:
        return _evaluate(found[name])
    except ValueError as error:
        raise ConstError(f"{path}: {name}: {error}") from None


def const(name: str, root: Path = ROOT) -> str:
    """The page's text for the const `name`, read from the code now."""
    if name not in CONSTS:
        known = ", ".join(sorted(CONSTS))
        raise ConstError(f"unknown const '{name}' (docs/_tools/site_consts.py knows: {known})")
    entry = CONSTS[name]
    return entry.show(read_value(entry.path, entry.name, root))
