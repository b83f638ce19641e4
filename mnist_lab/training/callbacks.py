"""The Keras callbacks of a run: the recorder that keeps its folder resumable, the warping switch.

The recorder writes each epoch's row of history.json, Keras's checkpoint, the run's state and,
when asked, the epoch's weights, all as one save that Ctrl-C cannot cut in half. The switch
turns the augmentation off for a recipe's last, clean epochs.
"""

from __future__ import annotations

import os
import time
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import RunError
from mnist_lab.training import interrupts


def run_recorder(
    run: runs.Run, history: list[dict[str, float]], epochs: int, *, keep_epochs: bool = False
) -> Any:
    """A Keras callback that keeps the run folder resumable after every epoch.

    At each epoch's end it saves Keras's own BackupAndRestore checkpoint (weights, optimizer
    state and epoch, with the previous one kept in case the newest is damaged), appends the
    epoch to history.json and records the state, all inside `interrupts.saving()` so Ctrl-C
    never leaves them half-written or out of step. On a resumed run, Keras restores the
    checkpoint when the fit begins (the previous one if the newest is damaged) and continues
    from the next epoch; the history is trimmed to the restored epoch, since a failed write
    (a full disk) can leave it one epoch ahead. An epoch's seconds include its checkpoint.
    With `keep_epochs`, each epoch's weights are also kept in the run's epochs/ folder.
    """
    import keras

    class RunRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.backup = keras.callbacks.BackupAndRestore(
                str(run.path / runs.CHECKPOINT), double_checkpoint=True, delete_checkpoint=False
            )

        def set_model(self, model) -> None:
            super().set_model(model)
            self.backup.set_model(model)

        def on_train_begin(self, logs=None) -> None:
            self.backup.on_train_begin(logs)  # restores the checkpoint, or the one before it
            del history[run.checkpoint_epoch :]  # epochs after it are trained again

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            with interrupts.saving():
                row = _history_row(epoch, logs or {}, time.perf_counter() - self.started)
                run.write(runs.HISTORY, [*history, row])
                history.append(row)
                self.backup.on_epoch_end(epoch, logs)
                if keep_epochs:
                    _save_epoch_weights(self.model, run, epoch + 1)
                run.set_state(runs.RUNNING, len(history), epochs)

    return RunRecorder()


def _history_row(epoch: int, logs: dict[str, Any], seconds: float) -> dict[str, float]:
    return {
        "epoch": epoch + 1,
        "accuracy": float(logs["accuracy"]),
        "loss": float(logs["loss"]),
        "val_accuracy": float(logs["val_accuracy"]),
        "val_loss": float(logs["val_loss"]),
        "seconds": round(seconds, 3),
    }


def _save_epoch_weights(model: Any, run: runs.Run, epoch: int) -> None:
    """Keep one epoch's weights, written under a temporary name and renamed into place."""
    folder = run.path / runs.EPOCHS_DIR
    target = folder / runs.epoch_weights_name(epoch)
    partial = folder / f".partial-{target.name}"  # Keras wants the .weights.h5 ending
    try:
        folder.mkdir(exist_ok=True)
        model.save_weights(partial)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RunError(
            f"Cannot keep the weights of epoch {epoch} in {folder} ({error.strerror or error}); "
            "free some disk space, or train with --no-keep-epochs."
        ) from None


def warping_switch(warping: Any, first_clean: int) -> Any:
    """A Keras callback that turns `warping` off from epoch `first_clean` (counted from 0) on.

    It sets the switch at every epoch's start, a resumed run's first epoch included, and Keras
    draws an epoch's first batch only after that.
    """
    import keras

    class WarpingSwitch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None) -> None:
            warping.assign(epoch < first_clean)

    return WarpingSwitch()
