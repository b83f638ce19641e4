"""The machine: the CPU's flags and name read from Linux's description, and the cores we may use."""

from __future__ import annotations

import os

import pytest

from mnist_lab.core import hardware

AMX_CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8
"""
AMD_CPUINFO = """processor\t: 0
model name\t: AMD EPYC 7R13 Processor
flags\t\t: fpu sse2 avx2 fma
"""


@pytest.mark.parametrize(("text", "has_amx"), [(AMX_CPUINFO, True), (AMD_CPUINFO, False)])
def test_amx_is_read_from_the_cpus_flags(tmp_path, text, has_amx):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    assert hardware.cpu_has_amx_bf16(cpuinfo) is has_amx
    assert hardware.cpu_flags(tmp_path / "missing") == frozenset()


def test_cpuinfo_fields_and_the_cpus_name(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t:\nmodel name\t: AMD EPYC 7R13 Processor\n")
    assert hardware.cpuinfo_field("model name", cpuinfo) == "AMD EPYC 7R13 Processor"
    assert hardware.cpuinfo_field("flags", cpuinfo) == ""
    assert hardware.cpu_model(cpuinfo) == "AMD EPYC 7R13 Processor"
    assert hardware.cpu_model(tmp_path / "missing")  # never empty, even without /proc/cpuinfo


def test_usable_cores_are_those_this_process_may_run_on():
    cores = hardware.usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))
