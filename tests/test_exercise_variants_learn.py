"""Track 3's tests judge gradients and steps, not our solution: the classic mistakes fail.

Each case builds a plausible first draft from an exercise's reference solution by substitution
(a one-sided difference, an arrays' floor forgotten, a bias gradient averaged, a ReLU open at
0, a summed loss, the log of a softmax, a forgotten ReLU in the backward pass, a flipped kernel,
a stride ignored, overlapping windows overwritten, "same" padding split the wrong way, a pooling
gradient sent to every tied maximum or the last one, zero padding that wins, Adam without its
bias correction or with epsilon in the wrong place, PyTorch's velocity, a step made in place, a
call into TensorFlow), runs only the tests that must catch it in a fresh pytest process (the
command line of `exercises.run_tests`), and checks that each fails with a message that names the
mistake. The solution itself passes every test in tests/test_exercises_cli.py.

A failing test of exercises 20-22 imports TensorFlow to say what went wrong (3 to 4 s of a 5 s
run), so drafts of different exercises share a process: a run holds at most one draft of each
exercise, as a student's exercises/ holds one file of each (tests/exercise_runs.py). Thirteen runs
became three (2026-12-06, 2 busy cores: 49 s of CPU became 18 s); they go two at a time. The
drafts of exercises 24, 26 and 27 (tests/drafts_ex24.py, drafts_ex26.py, drafts_ex27.py) join
these runs: 23 drafts in four runs. Exercise 25's drafts cannot: it imports the student's
earlier exercises from the same folder, so a broken draft beside it would change its verdict.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import drafts_ex24
import drafts_ex26
import drafts_ex27
import pytest
from exercise_runs import Draft, rounds, run_together

WORKERS = 2  # the course's machine: 2 cores


DRAFTS = {
    "ex18-one-sided-difference-and-no-floor": Draft(
        18,
        (
            (
                "gradient[index] = (float(f(up)) - float(f(down))) / (2 * eps)",
                "gradient[index] = (float(f(up)) - float(f(x))) / eps",
            ),
            ("np.maximum(np.abs(a) + np.abs(b), FLOOR)", "np.abs(a) + np.abs(b)"),
        ),
        {
            "test_numerical_gradient_is_the_central_difference": (
                "that is the one-sided difference (f(x + eps) - f(x)) / eps",
                "(f(x + eps) - f(x - eps)) / (2 * eps)",
            ),
            "test_relative_error_of_two_zeros_is_zero": ("0 / 0 is nan", "max(|a| + |b|, 1e-8)"),
        },
    ),
    "ex18-x-nudged-in-place-and-a-mean": Draft(
        18,
        (
            (
                "        up, down = x.copy(), x.copy()  # the caller's x is never touched\n"
                "        up[index] += eps\n        down[index] -= eps\n"
                "        gradient[index] = (float(f(up)) - float(f(down))) / (2 * eps)\n",
                "        old = x[index]\n        x[index] = old + eps\n        high = float(f(x))\n"
                "        x[index] = old - eps\n"
                "        gradient[index] = (high - float(f(x))) / (2 * eps)\n",
            ),
            ("return float(np.max(np.abs(a - b)", "return float(np.mean(np.abs(a - b)"),
        ),
        {
            "test_numerical_gradient_returns_float64_and_leaves_x_unchanged": (
                "numerical_gradient changed the x it was given",
                "put each number back exactly as it was",
            ),
            "test_relative_error_is_the_largest_not_the_mean": ("not the mean",),
        },
    ),
    "ex19-mean-bias-gradient-and-relu-open-at-0": Draft(
        19,
        (
            ("    db = dout.sum(axis=0)\n", "    db = dout.mean(axis=0)\n"),
            ("np.asarray(x) > 0", "np.asarray(x) >= 0"),
        ),
        {
            "test_dense_backward_of_a_hand_example": (
                "db is [0, 1.25] where it should be [0, 2.5]",
                "2 times too small for a batch of 2",
            ),
            "test_relu_backward_of_a_hand_example": (
                "at x = 0 with dout = -2 it gave -2",
                "TensorFlow takes 0",
            ),
        },
    ),
    "ex19-transposed-kernel-gradient-and-relu-gated-by-dout": Draft(
        19,
        (
            ("dw = x.T.astype(dout.dtype) @ dout", "dw = (x.T.astype(dout.dtype) @ dout).T"),
            ("np.asarray(x) > 0", "dout > 0"),
        ),
        {
            "test_dense_backward_of_a_hand_example": (
                "dw should have the shape (3, 2), got (2, 3)",
                "x.T @ dout, (D, N) @ (N, M)",
            ),
            "test_relu_backward_of_a_hand_example": ("not of dout",),
        },
    ),
    "ex20-summed-loss-log-of-softmax-no-relu-backward": Draft(
        20,
        (
            ("loss = float(-np.mean(", "loss = float(-np.sum("),
            ("    dz /= count\n", ""),
            (
                "log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
                "log_probabilities = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))",
            ),
            ("dh = np.where(h > 0, da, 0).astype(x.dtype)", "dh = da"),
        ),
        {
            "test_backprop_of_a_batch_is_the_mean_of_its_images": (
                "2 times 1.38629 for a batch of 2",
                "the mean over the batch, not the sum",
            ),
            "test_backprop_of_a_hand_example": ("Did the gradient pass through the ReLU?",),
            "test_backprop_is_finite_for_logits_of_1e4": (
                "log(softmax(z))",
                "Compute the log-softmax from the logits",
            ),
        },
    ),
    "ex21-flipped-kernel-and-stride-ignored": Draft(
        21,
        (
            (
                "dpadded[:, rows, cols, :] += dout @ kernels[i, j].T",
                "dpadded[:, rows, cols, :] += dout @ kernels[-1 - i, -1 - j].T",
            ),
            (
                "seen = images[:, rows, cols, :]",
                "seen = images[:, i : i + out_height, j : j + out_width, :]",
            ),
        ),
        {
            "test_conv2d_backward_of_a_hand_example": (
                "that is the gradient of a flipped kernel",
                "Keras's convolution does not flip its kernel",
            ),
            "test_conv2d_backward_with_stride_2_by_hand": (
                "the stride is ignored",
                "(y * 2 + i, x * 2 + j)",
            ),
        },
    ),
    "ex21-padding-split-wrong-and-windows-overwritten": Draft(
        21,
        (
            (
                "top, left = pad_rows // 2, pad_cols // 2",
                "top, left = pad_rows - pad_rows // 2, pad_cols - pad_cols // 2",
            ),
            ("dpadded[:, rows, cols, :] += dout", "dpadded[:, rows, cols, :] = dout"),
        ),
        {
            "test_conv2d_backward_same_padding_by_hand": (
                "the padding is split the wrong way",
                "the smaller half before (top, left)",
            ),
            "test_conv2d_backward_with_stride_2_by_hand": (
                "wrong only at pixels under several windows",
                "+=, never =",
            ),
        },
    ),
    "ex22-every-tied-maximum-and-padding-split-wrong": Draft(
        22,
        (
            (
                "+= np.where(winner == i * pool_size + j, dout, 0)",
                "+= np.where(images[:, rows, cols, :] == best, dout, 0)",
            ),
            (
                "top, left = pad_rows // 2, pad_cols // 2",
                "top, left = pad_rows - pad_rows // 2, pad_cols - pad_cols // 2",
            ),
        ),
        {
            "test_max_pool2d_backward_of_tied_windows_by_hand": (
                "the gradient went to every tied maximum of a window",
                "the first maximum in row-major order",
            ),
            "test_max_pool2d_backward_same_padding_by_hand": (
                "the padding is split the wrong way",
            ),
        },
    ),
    "ex22-last-maximum-and-windows-overwritten": Draft(
        22,
        (
            ("larger = seen > best", "larger = seen >= best"),
            ("dpadded[:, rows, cols, :] += np.where(", "dpadded[:, rows, cols, :] = np.where("),
        ),
        {
            "test_max_pool2d_backward_of_tied_windows_by_hand": (
                "the gradient went to the last tied maximum of a window",
                "(>, not >=)",
            ),
            "test_max_pool2d_backward_of_overlapping_windows_by_hand": (
                "wrong only at pixels under several windows",
                "+=, never =",
            ),
        },
    ),
    "ex22-zero-padding-wins": Draft(
        22,
        (("constant_values=-np.inf", "constant_values=0"),),
        {
            "test_max_pool2d_backward_same_padding_by_hand": (
                "the padding won",
                "Pad with -inf",
            ),
        },
    ),
    "ex23-adam-without-bias-correction-pytorch-velocity-in-place": Draft(
        23,
        (
            ("rate = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)", "rate = lr"),
            (
                "velocity = (momentum * np.asarray(velocity) - lr * np.asarray(g))",
                "velocity = (momentum * np.asarray(velocity) + np.asarray(g))",
            ),
            (
                "return (w + velocity).astype(w.dtype), velocity",
                "return w - lr * velocity, velocity",
            ),
            (
                "return (w - lr * np.asarray(g)).astype(w.dtype)",
                "w -= lr * np.asarray(g)\n    return w",
            ),
        ),
        {
            "test_adam_first_step_moves_every_weight_by_about_lr": (
                "that is Adam without its bias correction",
            ),
            "test_momentum_step_of_a_hand_example": (
                "after step 1, velocity is [1] where Keras's is [-0.1]",
                "though w is right",
            ),
            "test_the_steps_leave_their_arguments_unchanged": ("sgd_step changed an array",),
        },
    ),
    "ex23-epsilon-under-the-square-root-sgd-from-tensorflow": Draft(
        23,
        (
            ("rate * m / (np.sqrt(v) + epsilon)", "rate * m / np.sqrt(v + epsilon)"),
            (
                "    return (w - lr * np.asarray(g)).astype(w.dtype)\n",
                "    import tensorflow as tf\n\n    return (tf.constant(w) - lr * g).numpy()\n",
            ),
        ),
        {
            "test_adam_of_tiny_gradients_adds_epsilon_to_sqrt_v": (
                "epsilon is added to sqrt(v), not to v under the square root",
            ),
            "test_the_three_steps_are_your_own_code": (
                "exercise 23 asks for your own optimizers: tf.constant was called "
                "(ex23_optimizers.py, line",
            ),
        },
    ),
    "ex23-textbook-adam": Draft(
        23,
        (
            ("rate = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)", "rate = lr / (1 - beta1**t)"),
            (
                "rate * m / (np.sqrt(v) + epsilon)",
                "rate * m / (np.sqrt(v / (1 - beta2**t)) + epsilon)",
            ),
        ),
        {
            "test_adam_of_tiny_gradients_adds_epsilon_to_sqrt_v": ("that is the textbook form",),
        },
    ),
}

# Exercises 24, 26 and 27 keep their drafts in modules of their own; they share the runs.
DRAFTS |= drafts_ex24.DRAFTS | drafts_ex26.DRAFTS | drafts_ex27.DRAFTS


def check(drafts: dict[str, Draft]) -> dict[str, dict[str, str]]:
    """The failure message of each test each draft ran, by test (a passing test is absent), by
    draft: the drafts (one of each exercise at most) checked in one pytest process."""
    messages = run_together([(d.number, d.text(), list(d.told)) for d in drafts.values()])
    return {
        name: {test: messages[test] for test in draft.told if test in messages}
        for name, draft in drafts.items()
    }


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, str]]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        runs = [pool.submit(check, drafts) for drafts in rounds(DRAFTS, lambda d: d.number)]
        return {name: told for run in runs for name, told in run.result().items()}


@pytest.mark.parametrize("name", list(DRAFTS))
def test_a_classic_mistake_fails_and_is_named(verdicts, name):
    told = verdicts[name]
    for test, phrases in DRAFTS[name].told.items():
        assert test in told, f"{name}: {test} passed"
        for phrase in phrases:
            assert phrase in told[test], (name, test, told[test])
