"""How fast a trained model predicts: images per second in batches, and one image's latency.

Training seconds say what a model costs to make; these say what it costs to use, which is what
the lab's live predictions feel. Both are measured after a warm-up, so tracing is not counted.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from mnist_lab.scale.benchmark.errors import BenchmarkError

INFERENCE_BATCH = 1024
LATENCY_CALLS = 50


def measure_speed(model_path: str | Path, images: Any) -> tuple[float, float]:
    """Images per second predicting `images` at batch 1024, and the median milliseconds of one
    single-image call; each measured after a warm-up, so tracing is not counted."""
    import keras
    import numpy as np

    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise BenchmarkError(
            f"Cannot load {model_path} to time it ({first}); a custom layer must be registered "
            "with @keras.saving.register_keras_serializable()."
        ) from None
    model.predict(images, batch_size=INFERENCE_BATCH, verbose=0)  # warm-up: traces the function
    started = time.perf_counter()
    model.predict(images, batch_size=INFERENCE_BATCH, verbose=0)
    images_per_second = len(images) / (time.perf_counter() - started)

    one = images[:1]
    np.asarray(model(one, training=False))  # warm-up
    calls = []
    for _ in range(LATENCY_CALLS):
        started = time.perf_counter()
        np.asarray(model(one, training=False))  # to numpy: the answer is there, not queued
        calls.append(time.perf_counter() - started)
    return images_per_second, statistics.median(calls) * 1000
