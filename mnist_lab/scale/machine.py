"""The machine a timing belongs to, as a benchmark, a sweep and the perf scripts record it.

Seconds mean little without the machine they were measured on, so every leaderboard and sweep
keeps this record beside its numbers. The questions themselves are asked of
`mnist_lab.core.hardware`, so precision, devices and these records agree.
"""

from __future__ import annotations

import platform
from typing import Any

from mnist_lab.core import hardware


def machine_info() -> dict[str, Any]:
    """The machine the timings belong to: CPU (and whether it has AMX for bfloat16), cores,
    versions and GPUs. `cores` counts the cores this process may use (`usable_cores`), which a
    container or a batch job's CPU limit makes fewer than the machine has."""
    gpus = hardware.gpu_names()  # starts TensorFlow quietly
    import keras
    import tensorflow as tf

    return {
        "cpu": hardware.cpu_model(),
        "amx_bf16": hardware.cpu_has_amx_bf16(),
        "cores": hardware.usable_cores(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": gpus,
    }


def describe_machine(machine: dict[str, Any]) -> str:
    """One line naming the machine, so a reader knows what the seconds were measured on."""
    gpus = ", ".join(machine["gpus"]) or "no GPU"
    amx = {True: " with AMX-BF16", False: " without AMX"}.get(machine.get("amx_bf16"), "")
    return (
        f"{machine['cpu']}{amx}, {machine['cores']} logical cores, {gpus}; "
        f"Python {machine['python']}, "
        f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}"
    )
