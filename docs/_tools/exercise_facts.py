"""The numbers the exercise pages quote, measured by running the exercises' reference solutions.

`make docs-assets` runs `python docs/_tools/exercise_facts.py`, which writes into
docs/assets/generated/:

- exercise_facts.json: `exercises.NN.*` facts for the pages (for example
  `exercises.12.plain.final_val_loss`), each exercise with its `.date`, `.machine` and `.seconds`,
  and `exercises.command`: when, where, how long and how;
- ex14_sweep.md: exercise 14's learning-rate sweep as a table, and ex17_momentum.md: exercise
  17's table of moving averages, for the pages to include.

Each experiment is the one the exercise's slow test runs (same digits, seeds, epochs and
models), done with the solution in `mnist_lab/course/solutions/`, so a page shows what a student
who passes will see. Exercise 12 also trains the regularizations its page compares. On 2 cores
it takes a few minutes; `--only 17` (or any list of numbers) redoes some and keeps the rest.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from chapter_runs import reference
from measuring import load_module, load_solution, parse_only, remeasure

from mnist_lab.core.fileio import write_bytes_atomic
from mnist_lab.core.markdown import markdown_table

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
FACTS_JSON, SWEEP_MD, MOMENTUM_MD = "exercise_facts.json", "ex14_sweep.md", "ex17_momentum.md"
COMMAND = "python docs/_tools/exercise_facts.py"
SEED = 0


def _percent(value: float) -> str:
    return f"{value:.2%}"


def _rate(value: float) -> str:
    """A learning rate as the page writes it: 1e-5, 1e-2, 0.3, 1."""
    power = math.log10(value)
    return f"1e{round(power)}" if value < 1 and power == round(power) else f"{value:g}"


def _times(value: float) -> str:
    """A ratio as the page reads it: 150, 10, 1.3."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


# --- exercise 5 ------------------------------------------------------------------------------


def exercise_5(mnist: Any) -> dict[str, str]:
    """The solution's `train` on the first 6,000 images, scored on the next 2,000 (the test)."""
    import keras

    from mnist_lab.course.solutions.ex04_reference_cnn import build_reference
    from mnist_lab.preprocess import normalize, one_hot

    solution = load_solution("ex05_train")
    train_images, held_out, epochs, batch = 6000, 2000, 3, 32  # the test's sizes
    keras.utils.set_random_seed(SEED)
    model = build_reference()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = normalize(mnist.train.images[:train_images])
    y = one_hot(mnist.train.labels[:train_images])
    solution.train(model, x, y, epochs=epochs, batch_size=batch)
    rows = slice(train_images, train_images + held_out)
    predicted = model.predict(normalize(mnist.train.images[rows]), verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predicted == mnist.train.labels[rows]))
    return {"exercises.05.held_out_accuracy": _percent(accuracy)}


# --- exercise 12 -----------------------------------------------------------------------------


def _validation_loss(model: Any, x_val: np.ndarray, y_val: np.ndarray) -> float:
    """The crossentropy on the digits given (an L2 penalty is not part of it)."""
    probabilities = np.clip(model.predict(x_val, batch_size=500, verbose=0), 1e-7, 1 - 1e-7)
    return float(-np.mean(np.log(np.sum(probabilities * y_val, axis=1))))


def exercise_12(mnist: Any) -> dict[str, str]:
    """The plain reference on 1,000 digits, the solution's dropout, and three other choices."""
    import keras

    solution = load_solution("ex12_overfitting")
    tests = load_module(ROOT / "exercises" / "tests" / "test_ex12_overfitting.py", "_ex12_tests")
    x, y, x_val, y_val = solution.overfitting_data(*mnist.train, seed=SEED)
    x_held, y_held = tests.held_out_data(mnist)  # the digits the check judges networks on
    plain, history = solution.train_plain(x, y, x_val, y_val, seed=SEED)
    plain_held = _validation_loss(plain, x_held, y_held)
    best = solution.best_epoch(history)
    facts = {
        "exercises.12.epochs": str(len(history["loss"])),
        "exercises.12.plain.final_train_loss": f"{history['loss'][-1]:.4f}",
        "exercises.12.plain.best_val_loss": f"{min(history['val_loss']):.3f}",
        "exercises.12.plain.best_epoch": str(best),
        "exercises.12.plain.final_val_loss": f"{_validation_loss(plain, x_val, y_val):.3f}",
        "exercises.12.plain.held_out_loss": f"{plain_held:.3f}",
        "exercises.12.held_out": f"{len(y_held):,}",
        "exercises.12.plain.gap": f"{solution.generalization_gap(history):.3f}",
    }

    def record(name: str, model: Any, epochs: int) -> None:
        held = _validation_loss(model, x_held, y_held)
        change = 1 - held / plain_held  # what the check compares
        word = "lower" if change >= 0 else "higher"
        facts[f"exercises.12.{name}.final_val_loss"] = (
            f"{_validation_loss(model, x_val, y_val):.3f}"
        )
        facts[f"exercises.12.{name}.held_out_loss"] = f"{held:.3f}"
        facts[f"exercises.12.{name}.change"] = f"{abs(change):.0%} {word}"
        facts[f"exercises.12.{name}.epochs"] = str(epochs)

    def fit(name: str, model: Any, callbacks: Sequence[Any] = ()) -> None:
        result = model.fit(
            x, y, validation_data=(x_val, y_val), epochs=solution.EPOCHS,
            batch_size=solution.BATCH_SIZE, verbose=0, callbacks=list(callbacks),
        )  # fmt: skip
        record(name, model, len(result.history["loss"]))

    keras.utils.set_random_seed(SEED)
    model = solution.compile_for_experiment(solution.build_regularized_model())
    dropout = solution.regularized_fit(model, x, y, x_val, y_val, seed=SEED)
    record("dropout", model, len(dropout["loss"]))
    for name, build, callbacks in (
        ("augmentation", lambda: reference(augment=True), ()),
        ("l2", lambda: reference(l2=1e-3), ()),
        (
            "early_stopping",
            reference,
            (keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),),
        ),
    ):
        keras.utils.set_random_seed(SEED)
        fit(name, solution.compile_for_experiment(build()), callbacks)
    return facts


# --- exercise 13 -----------------------------------------------------------------------------


def exercise_13(mnist: Any) -> dict[str, str]:
    """A small CNN with and without the solution's augmentation, on digits as they are and moved."""
    import keras

    from mnist_lab.preprocess import normalize, one_hot, stratified_split

    tests = load_module(ROOT / "exercises" / "tests" / "test_ex13_augmentation.py", "_ex13_tests")
    solution = load_solution("ex13_augmentation")
    rng = np.random.default_rng(SEED)
    pool = np.sort(rng.permutation(len(mnist.train.labels))[: tests.POOL])
    labels = mnist.train.labels[pool]
    train_idx, val_idx = stratified_split(labels, tests.VALIDATION_FRACTION, SEED)
    x, y = normalize(mnist.train.images[pool]), one_hot(labels)
    x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    x_moved = tests.moved_by(x_val, SEED)
    keras.utils.set_random_seed(SEED)
    plain = tests.small_cnn()
    plain.fit(x_train, y_train, epochs=tests.EPOCHS, batch_size=tests.BATCH_SIZE, verbose=0)
    keras.utils.set_random_seed(SEED)
    augmented = tests.small_cnn()
    solution.train_augmented(
        augmented, x_train, y_train, x_val, y_val,
        epochs=tests.EPOCHS, batch_size=tests.BATCH_SIZE, seed=SEED,
    )  # fmt: skip
    facts = {
        "exercises.13.train_digits": f"{len(x_train):,}",
        "exercises.13.validation_digits": f"{len(x_val):,}",
    }
    for name, model in (("plain", plain), ("augmented", augmented)):
        facts[f"exercises.13.{name}.as_they_are"] = _percent(
            model.evaluate(x_val, y_val, verbose=0)[1]
        )
        facts[f"exercises.13.{name}.moved"] = _percent(model.evaluate(x_moved, y_val, verbose=0)[1])
    return facts


# --- exercise 14 -----------------------------------------------------------------------------


def exercise_14(mnist: Any, out: Path) -> dict[str, str]:
    """The solution's sweep from 1e-5 to 1, as the test runs it; its table into ex14_sweep.md."""
    from mnist_lab.preprocess import normalize, one_hot, stratified_split

    tests = load_module(ROOT / "exercises" / "tests" / "test_ex14_learning_rate.py", "_ex14_tests")
    solution = load_solution("ex14_learning_rate")
    rng = np.random.default_rng(SEED)
    pool = np.sort(rng.permutation(len(mnist.train.labels))[: tests.POOL])
    labels = mnist.train.labels[pool]
    train_idx, val_idx = stratified_split(labels, tests.VALIDATION_FRACTION, SEED)
    x, y = normalize(mnist.train.images[pool]), one_hot(labels)
    rates = solution.learning_rates(1e-5, 1.0, 6)
    results = solution.sweep(
        rates, tests.small_cnn, x[train_idx], y[train_idx], x[val_idx], y[val_idx],
        epochs=1, batch_size=tests.BATCH_SIZE, seed=SEED,
    )  # fmt: skip
    chosen = solution.choose_rate(results)
    rows = [
        [
            _rate(row["rate"]),
            f"{row['loss']:.3g}",
            _percent(row["val_accuracy"]),
            ("yes" if row["diverged"] else "no") + (": chosen" if row["rate"] == chosen else ""),
        ]
        for row in results
    ]
    table = markdown_table(
        ["rate", "training loss", "validation accuracy", "diverged"], "rrrl", rows
    )
    write_bytes_atomic(out / SWEEP_MD, table.encode("utf-8"))
    facts = {
        "exercises.14.chosen": _rate(chosen),
        "exercises.14.train_digits": f"{len(train_idx):,}",
        "exercises.14.validation_digits": f"{len(val_idx):,}",
    }
    for row in results:
        key = f"exercises.14.rate{_rate(row['rate'])}"
        facts[f"{key}.val_accuracy"] = _percent(row["val_accuracy"])
        facts[f"{key}.loss"] = f"{row['loss']:.3g}"
    return facts


# --- exercise 15 -----------------------------------------------------------------------------


def exercise_15(mnist: Any) -> dict[str, str]:
    """The broken script as shipped and the fixed one: the accuracy each prints, and the
    fixed model's loss before any training."""
    import contextlib
    import io

    import keras

    facts = {}
    from mnist_lab.course.exercises import find, load_catalog
    from mnist_lab.course.exercises.stubs import solution_text, stub_text

    # The script as shipped and as fixed, both from the solution file, which holds the fix and
    # the bug side by side (a student's copy in exercises/ may be half fixed).
    exercise = find(load_catalog(ROOT), 15)
    with tempfile.TemporaryDirectory() as folder:
        modules = {}
        for name, text in (("shipped", stub_text(exercise)), ("fixed", solution_text(exercise))):
            (Path(folder) / f"ex15_{name}.py").write_text(text, encoding="utf-8")
            modules[name] = load_module(Path(folder) / f"ex15_{name}.py", f"_ex15_{name}")
    shipped, fixed = modules["shipped"], modules["fixed"]
    for name, module in (("shipped", shipped), ("fixed", fixed)):
        with contextlib.redirect_stdout(io.StringIO()):
            history = module.main()
        facts[f"exercises.15.{name}.val_accuracy"] = _percent(history.history["val_accuracy"][-1])
    keras.utils.set_random_seed(SEED)
    x_train, y_train, _, _ = fixed.load_data()
    model = fixed.compile_model(fixed.build_model())
    loss = model.evaluate(x_train[:500], y_train[:500], verbose=0)[0]
    facts["exercises.15.fixed.step_0_loss"] = f"{loss:.2f}"
    return facts


# --- exercise 17 -----------------------------------------------------------------------------

MOMENTA = (0.99, 0.9, 0.8)  # Keras's default, a middle one, and the zoo's bn-cnn's
START, BATCH_VARIANCE, EPSILON = 1.0, 0.005, 1e-3  # the page's example: a first layer's variance
SHORT_STEPS = 29  # tests/test_models.py: 4,096 images, 10% held out, batches of 128
EPOCH_STEPS = 422  # one epoch of bn-cnn: 54,000 images in batches of 128


def exercise_17(out: Path) -> dict[str, str]:
    """The moving averages of exercise 17's page, from the solution's functions; the table
    into ex17_momentum.md."""
    solution = load_solution("ex17_batch_norm")
    after, forget = solution.moving_average_after, solution.steps_to_forget
    within = 0.1 * BATCH_VARIANCE / (START - BATCH_VARIANCE)  # within 10% of the batch's
    facts = {
        "exercises.17.short_steps": str(SHORT_STEPS),
        "exercises.17.epoch_steps": str(EPOCH_STEPS),
    }
    rows = []
    for momentum in MOMENTA:
        short = after(START, BATCH_VARIANCE, momentum, SHORT_STEPS)
        epoch = after(START, BATCH_VARIANCE, momentum, EPOCH_STEPS)
        too_small = math.sqrt((short + EPSILON) / (BATCH_VARIANCE + EPSILON))
        key = f"exercises.17.m{momentum:g}"
        facts |= {
            f"{key}.start_weight": f"{momentum**SHORT_STEPS:.3g}",
            f"{key}.variance": f"{short:.3g}",
            f"{key}.too_large": _times(short / BATCH_VARIANCE),
            f"{key}.output_too_small": f"{too_small:.3g}",
            f"{key}.forget_99": str(forget(momentum, 0.01)),
            f"{key}.within_10": str(forget(momentum, within)),
            f"{key}.epoch_variance": f"{epoch:.3g}",
            f"{key}.epoch_too_large": _times(epoch / BATCH_VARIANCE),
        }
        name = {0.99: "0.99 (Keras)", 0.8: "0.8 (`bn-cnn`)"}.get(momentum, f"{momentum:g}")
        rows.append(
            [
                name,
                f"{1 / (1 - momentum):.0f}",
                facts[f"{key}.start_weight"],
                f"{facts[f'{key}.variance']}, {facts[f'{key}.too_large']} times too large",
                facts[f"{key}.forget_99"],
                facts[f"{key}.within_10"],
            ]
        )
    header = [
        "momentum",
        "batches averaged, about",
        f"start's weight after {SHORT_STEPS} steps",
        f"moving variance after {SHORT_STEPS} steps",
        "steps to forget all but a hundredth of the start",
        f"steps until within a tenth of {BATCH_VARIANCE:g}",
    ]
    table = markdown_table(header, "rrrrrr", rows)
    write_bytes_atomic(out / MOMENTUM_MD, table.encode("utf-8"))
    return facts


# --- all of it --------------------------------------------------------------------------------

EXERCISES: dict[int, Callable[[Any, Path], dict[str, str]]] = {
    5: lambda mnist, out: exercise_5(mnist),
    12: lambda mnist, out: exercise_12(mnist),
    13: lambda mnist, out: exercise_13(mnist),
    14: exercise_14,
    15: lambda mnist, out: exercise_15(mnist),
    17: lambda mnist, out: exercise_17(out),
}


def generate(out: Path = OUT, only: Sequence[int] = tuple(EXERCISES)) -> dict[str, str]:
    """Measure the exercises `only` into `out`, keep the other exercises' facts; return all."""
    return remeasure(
        EXERCISES, only, out=out, facts_json=FACTS_JSON, prefix="exercises", what="exercise",
        command=COMMAND,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_only(
        argv, command=COMMAND, doc=__doc__, out=OUT, choices=EXERCISES, what="exercises"
    )
    generate(args.out, args.only)


if __name__ == "__main__":
    main()
