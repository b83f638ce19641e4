"""Train on several devices: choose them, split the CPU when there is no GPU, build the strategy.

`tf.distribute.MirroredStrategy` keeps one copy of the model on each device (a replica), gives
each replica its share of every batch and averages their gradients before each step, so that N
replicas fit batches of N times the per-replica batch size.

With GPUs, the first N are used. Without one, TensorFlow sees a single CPU device that already
runs its operations on every core; it can be split into N logical devices, which runs exactly
the multi-device code path (the tests use it) but is not faster: the cores were already shared.
The split must happen before TensorFlow's runtime starts (its first tensor), once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnist_lab.core import hardware
from mnist_lab.core.errors import ConfigError, MnistLabError

ALL = "all"  # every GPU; on a machine without GPUs, one logical CPU device per core


class DeviceError(MnistLabError):
    """The devices asked for cannot be made in this process."""


@dataclass(frozen=True)
class Placement:
    """The devices one training runs on; `logical_cpus` when they are parts of a split CPU."""

    devices: tuple[str, ...]
    logical_cpus: bool

    @property
    def replicas(self) -> int:
        return len(self.devices)


def count_all() -> int:
    """What `--devices all` means: every GPU or, without one, one logical device per core.

    One device per core is the most a split CPU can sensibly be given: it is for testing the
    multi-device path, and never faster than one device.
    """
    return hardware.gpu_count() or hardware.usable_cores()


def place(count: int) -> Placement:
    """Choose `count` devices: the first `count` GPUs, or `count` logical CPU devices.

    Called again in the same process with the same count, it gives the same placement.
    """
    gpus = hardware.gpu_count()  # (starts TensorFlow, not yet its runtime)
    if gpus:
        if count > gpus:
            raise ConfigError(
                f"The 'devices' option must be at most {gpus}, the number of GPUs of this "
                f"machine. Got {count!r} instead.",
                option="devices",
            )
        return Placement(tuple(f"/gpu:{index}" for index in range(count)), logical_cpus=False)
    _split_cpu(count)
    return Placement(tuple(f"/cpu:{index}" for index in range(count)), logical_cpus=True)


def _split_cpu(count: int) -> None:
    """Make `count` logical CPU devices, unless TensorFlow already runs with another number."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:  # the runtime started: its devices are fixed for this process's life
        have = len(tf.config.list_logical_devices("CPU"))
        if have != count:
            raise DeviceError(
                f"Cannot split the CPU into {count} logical devices: TensorFlow already runs in "
                f"this process with {have} CPU device{'s' * (have != 1)}; train on {count} "
                f"devices in a new process ('mnist-lab train MODEL --devices {count}')."
            ) from None


def mirrored(placement: Placement) -> Any:
    """A MirroredStrategy over the placement's devices (build and compile in its scope)."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=list(placement.devices))


def device_names(strategy: Any) -> list[str]:
    """The strategy's devices by their full names, as TensorFlow reports them."""
    return list(strategy.extended.worker_devices)
