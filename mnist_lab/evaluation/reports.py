"""Look inside a finished run: what its model gets wrong on a split of MNIST, and what it says on
yours.

`evaluate_run` adds three files to a run folder (confusion_matrix.png, misclassified.png,
per_class.json for the test set; confusion_matrix-validation.png, misclassified-validation.png,
per_class-validation.json for the run's validation images) and never touches the others: the
test set's files are the final score, the validation files are where error analysis looks.
`predict_images` reads digits from image files, prepared as MNIST was (see
mnist_lab.data.images), and returns the model's top answers; with `show=True` it also saves the
28x28 image the model saw into the run's `seen/` folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab import evaluation
from mnist_lab.core import runs
from mnist_lab.core.errors import RunError, first_line
from mnist_lab.core.fileio import atomic_path, write_json_atomic
from mnist_lab.core.naming import claim_file
from mnist_lab.data import images, preprocess
from mnist_lab.evaluation import plots
from mnist_lab.evaluation.splits import TEST, check_split, run_split

CONFUSION_PNG, MISTAKES_PNG, PER_CLASS_JSON = (
    "confusion_matrix.png",
    "misclassified.png",
    "per_class.json",
)
BATCH_SIZE = 1024
GALLERY_SIZE = 32
TOP = 3
RUN_HINT = "runs are in runs/ (see 'mnist-lab train')"
SEEN = "seen"  # the run's folder of the 28x28 inputs `predict --show` saved
SEEN_SCALE = 10  # each of the 28x28 pixels as a 10x10 square: visible, and still exact


def load_run_model(run_path: str | Path) -> Any:
    """Load a run's model.keras in Keras's safe mode: a file that would run code is refused."""
    path = Path(run_path).expanduser()
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise RunError(f"{path} is not a run folder: it {what}; {RUN_HINT}.")
    model_path = path / runs.MODEL
    if not model_path.is_file():
        raise RunError(_why_no_model(runs.Run(path)))
    try:
        model_path.open("rb").close()  # Keras would call a file it may not open "not found"
    except OSError as error:
        raise RunError(f"Cannot read {model_path} ({error.strerror or error}).") from None

    from mnist_lab.models import registry

    registry.discover()  # starts TensorFlow quietly; registers custom layers of student models
    import keras

    try:
        return keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, KeyError, OSError... for bad files
        if "safe_mode" in str(error):
            raise RunError(
                f"{model_path} was not loaded: it holds Python code (such as a Lambda layer) "
                "that safe mode refuses to run; rebuild the model without it and train again."
            ) from None
        raise RunError(
            f"{model_path} is not a readable Keras model ({first_line(error)}); "
            "train the run again with 'mnist-lab train'."
        ) from None


def _why_no_model(run: runs.Run) -> str:
    """Why a folder has no model.keras, and what to do: finish the run, train again, or look
    elsewhere (it is not a run)."""
    if not (run.path / runs.STATE).is_file():
        return f"{run.path} is not a run folder: it has no {runs.MODEL}; {RUN_HINT}."
    state = run.state
    if state["state"] != runs.COMPLETED:
        return (
            f"{run.path} has no {runs.MODEL} yet: its training is {state['state']} after "
            f"{state['epochs_done']} of {state['epochs']} epochs; finish it with "
            f"'mnist-lab train --resume {run.path}'."
        )
    return (
        f"{run.path / runs.MODEL} is missing (the run completed, but the file was moved or "
        f"deleted); train the model again with 'mnist-lab train {run.config['model']}'."
    )


def report_files(split: str) -> tuple[str, str, str]:
    """The confusion matrix, gallery and per-digit file names of a split's report: the plain
    names for the test set, '-validation' ones for validation (never overwriting each other)."""
    names = (CONFUSION_PNG, MISTAKES_PNG, PER_CLASS_JSON)
    if check_split(split) == TEST:
        return names
    first, second, third = (f"{Path(n).stem}-{split}{Path(n).suffix}" for n in names)
    return first, second, third


def predict_probabilities(model: Any, digits: np.ndarray) -> np.ndarray:
    """A run's model's probabilities (N, 10) for uint8 digits (N, 28, 28), in batches.

    Raises RunError if the model does not answer 10 probabilities per image (not an MNIST
    classifier). `evaluate_run`, `predict_images` and the lab's wrong digits all use it.
    """
    probabilities = np.asarray(
        model.predict(preprocess.normalize(digits), batch_size=BATCH_SIZE, verbose=0)
    )
    if probabilities.shape != (len(digits), preprocess.NUM_CLASSES):
        raise RunError(
            f"The run's model gives outputs of shape {probabilities.shape[1:]} per image instead "
            "of 10 probabilities; it is not an MNIST classifier."
        )
    return probabilities


def most_confused(confusion: np.ndarray, count: int = TOP) -> list[tuple[int, int, int]]:
    """The `count` largest mistakes as (true, predicted, images), largest first, then by digits."""
    mistakes = [
        (int(true), int(predicted), int(confusion[true, predicted]))
        for true, predicted in zip(*np.nonzero(confusion), strict=True)
        if true != predicted
    ]
    return sorted(mistakes, key=lambda cell: (-cell[2], cell[0], cell[1]))[:count]


def evaluate_run(run_path: str | Path, dataset: Any = None, *, split: str = TEST) -> dict[str, Any]:
    """Evaluate a run's model on a split of MNIST and add its report files to the run.

    `split` is 'test' (the 10,000 test images: the final score, which chooses nothing) or
    'validation' (the images the run held out, from its own seed: where to look before changing
    anything). Writes the split's `report_files`: the confusion matrix, the 32 most confident
    mistakes and the per-digit metrics {"model", "split", "SPLIT_accuracy", "SPLIT_size",
    "errors", "most_confused", "per_class" (see evaluation.per_class_metrics),
    "confusion_matrix" (rows: true digits)}, SPLIT being 'test' or 'validation'.
    Returns the same facts plus "run" and "files", the paths written (as strings).
    `dataset` defaults to load_mnist() from the run's data folder.
    """
    split = check_split(split)
    path = Path(run_path).expanduser()
    run = runs.Run(path)
    model = load_run_model(path)
    chosen = run_split(run, split, dataset)
    images, labels = chosen.images, chosen.labels

    probabilities = predict_probabilities(model, images)
    predictions = probabilities.argmax(axis=1)
    confusion = evaluation.confusion_matrix(labels, predictions)
    errors = int(len(labels) - np.trace(confusion))
    accuracy = float(np.trace(confusion) / max(len(labels), 1))
    name = _model_name(run, path)
    report = {
        "model": name,
        "split": split,
        f"{split}_accuracy": accuracy,
        f"{split}_size": len(labels),
        "errors": errors,
        "most_confused": most_confused(confusion),
        "per_class": evaluation.per_class_metrics(confusion),
        "confusion_matrix": confusion.tolist(),
    }

    worst = evaluation.worst_mistakes(probabilities, labels, k=GALLERY_SIZE)
    captions = [
        f"true {labels[i]} → {predictions[i]}\n{probabilities[i, predictions[i]]:.0%}"
        for i in worst
    ]
    counted = f"{len(labels):,} {split} images"
    confusion_title = f"{name}: {accuracy:.2%} of {counted} right, {errors} wrong"
    gallery_title = (
        f"{name}: the {len(worst)} most confident mistakes on {split} images (true → predicted)"
    )
    confusion_png, mistakes_png, per_class_json = report_files(split)
    try:
        written = {
            "confusion_matrix": plots.save_figure(
                plots.confusion_matrix_figure(confusion, title=confusion_title),
                path / confusion_png,
            ),
            "misclassified": plots.save_figure(
                plots.gallery_figure(images[worst], captions, title=gallery_title),
                path / mistakes_png,
            ),
        }
        write_json_atomic(path / per_class_json, report)
    except OSError as error:
        raise RunError(
            f"Cannot write the report into {path} ({error.strerror or error}); "
            "check that the run folder is writable."
        ) from None
    written["per_class"] = path / per_class_json
    return {
        "run": str(path),
        **report,
        "files": {key: str(file) for key, file in written.items()},
    }


def _model_name(run: runs.Run, path: Path) -> str:
    """The registered name from the run's config, else the folder name."""
    try:
        return str(run.config.get("model", path.name))
    except RunError:
        return path.name


def predict_images(
    run_path: str | Path, paths: Sequence[str | Path], *, show: bool = False
) -> list[dict[str, Any]]:
    """Recognize the digit in each image file with a run's model (loaded once).

    Each result is {"path", "digit", "top3": [(digit, probability), ...]}, most likely first.
    The images are read first, so a bad file is reported before the model is loaded. With
    `show`, the 28x28 digit the model saw is saved as RUN/seen/NAME.png (each pixel a 10x10
    square; an existing file is never replaced) and its path is the result's "seen".
    """
    digits = [images.load_digit(image_path) for image_path in paths]
    model = load_run_model(run_path)
    if not digits:
        return []
    probabilities = predict_probabilities(model, np.stack(digits))
    results = []
    for image_path, prepared, row in zip(paths, digits, probabilities, strict=True):
        ranked = np.argsort(-row, kind="stable")[:TOP]
        result: dict[str, Any] = {
            "path": str(image_path),
            "digit": int(ranked[0]),
            "top3": [(int(digit), float(row[digit])) for digit in ranked],
        }
        if show:
            result["seen"] = str(save_seen(prepared, Path(run_path) / SEEN, Path(image_path).stem))
        results.append(result)
    return results


def save_seen(digit: np.ndarray, folder: Path, stem: str) -> Path:
    """Save a 28x28 uint8 digit, enlarged without blurring, as a new PNG in `folder`.

    The file is `stem.png`, else `stem-2.png`, `stem-3.png`...: an existing file is never replaced.
    """
    from PIL import Image

    try:
        folder.mkdir(exist_ok=True)
        try:
            target = claim_file(folder, stem, ".png")  # claims the name: nothing is ever replaced
        except FileExistsError:  # every numbered name is taken
            raise RunError(f"Too many pictures named {stem} in {folder}.") from None
        size = (digit.shape[1] * SEEN_SCALE, digit.shape[0] * SEEN_SCALE)
        enlarged = Image.fromarray(digit).resize(size, Image.Resampling.NEAREST)
        with atomic_path(target) as tmp:
            enlarged.save(tmp)
        return target
    except OSError as error:
        raise RunError(f"Cannot write into {folder} ({error.strerror or error}).") from None
