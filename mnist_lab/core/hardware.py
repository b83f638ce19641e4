"""The machine, asked in one place: usable cores, the CPU and its bfloat16 support, the GPUs.

Precision ("auto" means bfloat16 where the hardware is fast at it), devices (one logical CPU
device per core) and the benchmark's record of where a timing was taken all ask here, so they
agree. Cores are those this process may run on (`sched_getaffinity`), not the machine's: in a
container or a batch job with a CPU limit `os.cpu_count()` overstates them.

Nothing here starts TensorFlow except the GPU questions, which need it to list devices.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
BFLOAT16_GPU_CAPABILITY = (8, 0)  # Ampere: the first NVIDIA GPUs with bfloat16 arithmetic


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's under a CPU limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def cpuinfo_field(name: str, cpuinfo: Path = CPUINFO) -> str:
    """The first non-empty value of `name` in Linux's CPU description ("" where there is none,
    or no /proc/cpuinfo at all)."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == name and value.strip():
                    return value.strip()
    except OSError:
        pass
    return ""


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (none where there is no /proc/cpuinfo)."""
    return frozenset(cpuinfo_field("flags", cpuinfo).split())


def cpu_has_amx_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether the CPU multiplies bfloat16 matrices in hardware (Intel AMX, Sapphire Rapids on)."""
    return "amx_bf16" in cpu_flags(cpuinfo)


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's name as the system gives it, e.g. "AMD EPYC 7B13"."""
    return (
        cpuinfo_field("model name", cpuinfo)
        or platform.processor()
        or platform.machine()
        or "unknown CPU"
    )


def _gpu_devices() -> list[Any]:
    from mnist_lab.core.backend import start_tensorflow

    start_tensorflow()
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def _gpu_details(device: Any) -> dict[str, Any]:
    import tensorflow as tf

    try:
        return dict(tf.config.experimental.get_device_details(device))
    except Exception:  # details are a nicety; the device itself always exists
        return {}


def gpu_count() -> int:
    """The GPUs TensorFlow can use (listing them does not start its runtime)."""
    return len(_gpu_devices())


def gpu_names() -> list[str]:
    """Each GPU's model name where TensorFlow knows it, its device name otherwise."""
    return [_gpu_details(gpu).get("device_name") or gpu.name for gpu in _gpu_devices()]


def gpus_support_bfloat16() -> bool:
    """Whether there is a GPU and every one computes in bfloat16 (compute capability >= 8.0)."""
    gpus = _gpu_devices()
    if not gpus:
        return False
    for gpu in gpus:
        capability = _gpu_details(gpu).get("compute_capability")
        if capability is None or tuple(capability) < BFLOAT16_GPU_CAPABILITY:
            return False  # no details: do not guess that it is fast
    return True
