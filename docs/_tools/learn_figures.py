"""The figures and numbers of track 3 ("How a CNN learns"), made by running its solutions.

`make docs-assets` runs `python docs/_tools/learn_figures.py`, which writes into
docs/assets/generated/:

- ex23_optimizer_paths.png: the paths of exercise 23's `sgd_step`, `momentum_step` and
  `adam_step` (the reference solution in mnist_lab/course/solutions/) on a 2-D loss surface, a
  long narrow valley, from the same start for the same number of steps;
- learn_facts.json: `learn.*` facts the pages quote (each optimizer's loss after those steps,
  the steps it took to bring the loss below a threshold), with `learn.date` and
  `learn.command`.

The valley, the start and the rates are constants below: the figure shows what a student who
passes exercise 23 will get with them. It takes a second; no data, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.solutions import ex23_optimizers as optimizers

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
PATHS_PNG, FACTS_JSON = "ex23_optimizer_paths.png", "learn_facts.json"
COMMAND = "python docs/_tools/learn_figures.py"

# The loss 0.5 * (x**2 + STEEP * y**2): a valley 50 times steeper across (y) than along (x).
STEEP = 50.0
START = np.array([-4.5, 1.2])
STEPS = 80
THRESHOLD = 0.01  # "reached the floor": the loss below this
SGD_RATE = 0.038  # just under 2 / STEEP = 0.04, where SGD diverges across the valley
MOMENTUM_RATE, MOMENTUM = 0.01, 0.9
ADAM_RATE = 0.1


def loss(w: np.ndarray) -> float:
    """The valley's loss at w = (x, y)."""
    return float(0.5 * (w[0] ** 2 + STEEP * w[1] ** 2))


def gradient(w: np.ndarray) -> np.ndarray:
    return np.array([w[0], STEEP * w[1]])


def path(step: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """The points (STEPS + 1, 2) visited from START; `step(w, g, t)` gives the next w."""
    points = [START.copy()]
    for t in range(1, STEPS + 1):
        points.append(step(points[-1], gradient(points[-1]), t))
    return np.array(points)


def optimizer_paths() -> dict[str, np.ndarray]:
    """The three optimizers' paths, by the name the figure gives them."""
    state: dict[str, np.ndarray] = {"velocity": np.zeros(2), "m": np.zeros(2), "v": np.zeros(2)}

    def momentum(w: np.ndarray, g: np.ndarray, t: int) -> np.ndarray:
        w, state["velocity"] = optimizers.momentum_step(
            w, g, state["velocity"], MOMENTUM_RATE, MOMENTUM
        )
        return w

    def adam(w: np.ndarray, g: np.ndarray, t: int) -> np.ndarray:
        w, state["m"], state["v"] = optimizers.adam_step(w, g, state["m"], state["v"], t, ADAM_RATE)
        return w

    return {
        f"SGD (lr {SGD_RATE:g})": path(lambda w, g, t: optimizers.sgd_step(w, g, SGD_RATE)),
        f"momentum (lr {MOMENTUM_RATE:g}, {MOMENTUM:g})": path(momentum),
        f"Adam (lr {ADAM_RATE:g})": path(adam),
    }


def paths_figure(paths: dict[str, np.ndarray]):
    """The loss's contours and each path on them, without pyplot."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.2), layout="constrained")
    axes = figure.subplots()
    xs, ys = np.meshgrid(np.linspace(-5, 5, 300), np.linspace(-1.6, 1.6, 200))
    axes.contour(xs, ys, 0.5 * (xs**2 + STEEP * ys**2), levels=np.geomspace(0.01, 60, 14))
    for (name, points), style in zip(paths.items(), ["o-", "s-", "^-"], strict=True):
        axes.plot(points[:, 0], points[:, 1], style, markersize=3, linewidth=1, label=name)
    axes.plot([0], [0], "k*", markersize=12, label="minimum")
    axes.set_xlabel("w[0] (the gentle direction)")
    axes.set_ylabel("w[1] (the steep direction)")
    axes.set_title(f"{STEPS} steps from the same start on 0.5 (w0² + {STEEP:g} w1²)")
    axes.legend(loc="lower right", fontsize=8)
    return figure


def first_below(points: np.ndarray) -> str:
    """The first step whose loss is below THRESHOLD, or a sentence that says it never was."""
    for t, point in enumerate(points):
        if loss(point) < THRESHOLD:
            return str(t)
    return f"more than {STEPS}"


def path_facts(paths: dict[str, np.ndarray]) -> dict[str, str]:
    """The `learn.ex23.*` facts of the three paths (in the order of optimizer_paths)."""
    facts = {"learn.ex23.start_loss": f"{loss(START):.3g}"}
    for key, points in zip(["sgd", "momentum", "adam"], paths.values(), strict=True):
        facts[f"learn.ex23.{key}.final_loss"] = f"{loss(points[-1]):.2g}"
        facts[f"learn.ex23.{key}.steps_below"] = first_below(points)
    return facts


def main() -> None:
    from mnist_lab.evaluation.plots import save_figure

    paths = optimizer_paths()
    save_figure(paths_figure(paths), OUT / PATHS_PNG)
    facts = {"learn.date": datetime.now(timezone.utc).date().isoformat(), "learn.command": COMMAND}
    write_json_atomic(OUT / FACTS_JSON, facts | path_facts(paths))
    print(f"wrote {OUT / PATHS_PNG} and {OUT / FACTS_JSON}")


if __name__ == "__main__":
    main()
