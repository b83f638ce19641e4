"""TensorFlow starts quietly, but nothing except its known start-up chatter is ever hidden."""

from __future__ import annotations

import subprocess
import sys

from mnist_lab.core.backend import filter_startup_noise

CHATTER = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795564487.550094    2314 port.cc:153] oneDNN custom operations are on.\n"
    "I0000 00:00:1795564487.550457    2314 cudart_stub.cc:31] Could not find cuda drivers.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
    "E0000 00:00:1795564489.551111    2314 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
)


def test_filter_drops_only_the_known_start_up_lines():
    real = "UserWarning: something the student should see\nE0000 00:00:1.0 1 x.cc:1] real error\n"
    assert filter_startup_noise(CHATTER) == ""
    assert filter_startup_noise(CHATTER + real) == real
    assert filter_startup_noise(real + CHATTER) == real


def test_starting_tensorflow_leaves_stderr_clean_but_open():
    code = (
        "import sys\nfrom mnist_lab.core.backend import start_tensorflow\n"
        "start_tensorflow()\nstart_tensorflow()\n"
        "import tensorflow\nprint('ok', 'tensorflow' in sys.modules)\n"
        "sys.stderr.write('after start\\n')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "ok True\n"
    assert result.stderr == "after start\n"
