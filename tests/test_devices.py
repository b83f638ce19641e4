"""Training on several devices: the option's checks, and a real run on 2 logical CPU devices.

The test process has TensorFlow running on one CPU device already, and a CPU can only be split
before TensorFlow starts, so the 2-device run is a fresh `mnist-lab train` process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.core.errors import ConfigError
from mnist_lab.training import TrainConfig, prepare, resolve, train
from mnist_lab.training.batches import even_batch
from mnist_lab.training.building import strategy_for
from mnist_lab.training.devices import DeviceError

CPUS = [
    "/job:localhost/replica:0/task:0/device:CPU:0",
    "/job:localhost/replica:0/task:0/device:CPU:1",
]


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "2"])
def test_devices_must_be_an_int_of_at_least_one(value):
    message = f"The 'devices' option must be an int >= 1. Got {value!r} instead."
    with pytest.raises(ConfigError, match=f"^{message.replace('.', '[.]')}$") as caught:
        TrainConfig(model="mlp", devices=value).validate()
    assert str(caught.value) == message and caught.value.option == "devices"


@pytest.mark.parametrize(
    ("devices", "limit", "message"),
    [
        (
            8,
            512,
            "The 'devices' option needs one global batch of 1,024 training images (8 devices of "
            "128), but 461 are left for training; give fewer devices or more images. "
            "Got 8 instead.",
        ),
        (  # 570 images: 57 for validation, 513 for training = 2 batches of 256 and 1 image
            2,
            570,
            "The 'devices' option splits the last batch of each epoch (1 of the 513 training "
            "images) across 2 devices, leaving a device without an image; train on a few more "
            "or fewer images. Got 2 instead.",
        ),
    ],
)
def test_every_device_gets_images_from_every_batch(devices, limit, message):
    with pytest.raises(ConfigError) as caught:
        resolve(TrainConfig(model="mlp", devices=devices, limit=limit))
    assert str(caught.value) == message


def test_devices_ask_the_machine_through_core_hardware(monkeypatch):
    """`--devices all` and the GPU check count what `core.hardware` counts (no GPU here)."""
    from mnist_lab.core import hardware
    from mnist_lab.training import devices

    monkeypatch.setattr(hardware, "gpu_count", lambda: 0)
    monkeypatch.setattr(hardware, "usable_cores", lambda: 3)
    assert devices.count_all() == 3
    monkeypatch.setattr(hardware, "gpu_count", lambda: 2)
    assert devices.count_all() == 2
    with pytest.raises(ConfigError) as caught:
        devices.place(3)
    assert str(caught.value) == (
        "The 'devices' option must be at most 2, the number of GPUs of this machine. Got 3 instead."
    )


def test_one_device_is_todays_training_without_a_strategy():
    assert strategy_for(resolve(TrainConfig(model="mlp"))) is None
    assert strategy_for(resolve(TrainConfig(model="mlp", devices=1))) is None


@pytest.mark.parametrize(
    ("images", "batch", "replicas", "expected"),
    [
        (10_000, 1024, 1, 1024),  # one device: the batch asked for
        (51, 5, 1, 5),
        (10_000, 1024, 3, 1023),  # a multiple of the replicas
        (52, 128, 2, 52),  # one batch, split evenly
        (51, 128, 2, 48),  # 50 would leave a last batch of 1 image for 2 replicas
        (102, 1024, 3, 102),
    ],
)
def test_evaluation_batches_split_evenly_and_reach_every_replica(images, batch, replicas, expected):
    size = even_batch(images, batch, replicas)
    assert size == expected
    assert size % replicas == 0 and images % size in (0, *range(replicas, size))


def test_a_process_already_running_tensorflow_cannot_split_its_cpu(mnist, tmp_path):
    import tensorflow as tf

    tf.constant(0)  # the runtime starts with its one CPU device
    with pytest.raises(DeviceError) as caught:
        train(TrainConfig(model="mlp", devices=2, limit=512, out=str(tmp_path)), dataset=mnist)
    assert str(caught.value) == (
        "Cannot split the CPU into 2 logical devices: TensorFlow already runs in this process "
        "with 1 CPU device; train on 2 devices in a new process "
        "('mnist-lab train MODEL --devices 2')."
    )
    assert list(tmp_path.iterdir()) == []  # no run folder is made


@pytest.mark.parametrize("text", ["0", "x", "-1", "1.5", "²"])
def test_cli_rejects_bad_devices_in_one_line(text, tmp_path):
    result = CliRunner().invoke(app, ["train", "mlp", "--devices", text, "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The '--devices' option must be a whole number >= 1 or 'all'. Got {text!r} "
        "instead.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_cli_resume_keeps_the_devices_of_the_run(tmp_path):
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path), "--devices", "2"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --resume continues a run with the options it started with; drop --devices.\n"
    )


@pytest.fixture(scope="module")
def two_device_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """lenet5 (no dropout: the replicas draw no random numbers) for one epoch on 2 logical CPUs."""
    out = tmp_path_factory.mktemp("runs")
    result = subprocess.run(
        [sys.executable, "-m", "mnist_lab", "train", "lenet5", "--devices", "2"]
        + ["--batch-size", "64", "--epochs", "1", "--limit", "1024", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    runs = list(out.iterdir())
    return result, runs[0] if len(runs) == 1 else out


def test_two_logical_devices_train_and_record_the_replicas(two_device_run):
    result, run = two_device_run
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Training 'lenet5' for 1 epoch on 1,024 training images (10% held out for validation), "
        "batch size 64, seed 0.",
        "No GPU found: made 2 logical CPU devices, useful for testing the multi-device path "
        "only: it is not faster than one device on a CPU.",
        "2 replicas (/cpu:0, /cpu:1): a global batch of 128 (64 per replica).",
    ]
    assert " s of training on 2 replicas, " in lines[-2]
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["replicas"], metrics["global_batch_size"], metrics["devices"]) == (2, 128, CPUS)
    config = json.loads((run / "config.json").read_text())
    assert (config["devices"], config["batch_size"]) == (2, 64)  # the batch stays per device
    assert [row["epoch"] for row in json.loads((run / "history.json").read_text())] == [1]
    assert json.loads((run / "state.json").read_text())["state"] == "completed"


def test_two_replicas_learn_what_one_device_learns_from_the_same_global_batch(
    two_device_run, mnist, tmp_path
):
    """2 replicas of 64 average their gradients: one device with batches of 128 takes the same
    steps, up to the order of float additions."""
    _, run = two_device_run
    two = json.loads((run / "metrics.json").read_text())
    config = TrainConfig(model="lenet5", epochs=1, limit=1024, batch_size=128, out=str(tmp_path))
    one = train(config, dataset=mnist, verbose=0).metrics
    assert one["replicas"] == 1 and one["global_batch_size"] == 128 and "devices" not in one
    assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
    assert two["val_accuracy"] == pytest.approx(one["val_accuracy"], abs=1 / 102)  # one image
    assert two["test_accuracy"] == pytest.approx(one["test_accuracy"], abs=1e-3)
    # Keras's figure from the 2 replicas is the saved model's own, scored on one device.
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    data = prepare(mnist, config)
    predictions = model.predict(data.x_val, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == data.y_val.argmax(axis=1)))
    assert two["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)
