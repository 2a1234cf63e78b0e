"""Chapter 3's exercises: model solutions pass, typical mistakes fail with a useful message that
does not give the answer away, malformed answers raise, None and think exercises are not judged."""

import numpy as np
import pytest
import tensorflow as tf

import mapping_lib.exercises.chapter3 as ch3
from mapping_lib.exercises.registry import EXERCISES, check
from mapping_lib.widgets.sliding_window import window_geometry


def receptive_field(stack):
    r, j = 1, 1
    for k, s in stack:
        r, j = r + (k - 1) * j, j * s
    return r, j


def max_pool_backward(x, upstream):
    h, w = upstream.shape
    windows = x[: 2 * h, : 2 * w].reshape(h, 2, w, 2).transpose(0, 2, 1, 3).reshape(h, w, 4)
    mask = np.eye(4)[windows.argmax(axis=-1)] * upstream[..., None]
    grad = np.zeros(x.shape)
    grad[: 2 * h, : 2 * w] = mask.reshape(h, w, 2, 2).transpose(0, 2, 1, 3).reshape(2 * h, 2 * w)
    return grad


def conv2d_matmul(x, kernel, stride):
    kh, kw, c, f = kernel.shape
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    rows = [
        x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :].reshape(n, -1)
        for i in range(oh)
        for j in range(ow)
    ]
    return (np.stack(rows, axis=1) @ kernel.reshape(-1, f)).reshape(n, oh, ow, f)


CONV1D = np.correlate(ch3.SIGNAL, ch3.KERNEL_1D, mode="valid")
SIZE = window_geometry(**ch3.DILATED).output_size
RATIO = (14 * 14 * 32 + 1) * 14 * 14 * 64 / ((3 * 3 * 32 + 1) * 64)
SOLUTIONS = {
    "3.1": CONV1D.tolist(),
    "3.2": SIZE,
    "3.3": RATIO,
    "3.5": receptive_field,
    "3.6": max_pool_backward,
    "3.7": conv2d_matmul,
    "3.9": (256 + 1) * 64,
}


def test_chapter_3_has_ten_exercises_of_all_kinds():
    ids = [key for key in EXERCISES if key.startswith("3.")]
    assert ids == [f"3.{k}" for k in range(1, 11)]
    kinds = [EXERCISES[key].kind for key in ids]
    assert all(kinds.count(kind) >= 2 for kind in ("compute", "code", "think"))


def test_the_expected_values_agree_with_independent_computations():
    by_tf = tf.nn.conv1d(ch3.SIGNAL[None, :, None], ch3.KERNEL_1D[:, None, None], 1, "VALID")
    assert np.allclose(by_tf.numpy().ravel(), CONV1D)
    x = tf.zeros((1, 11, 11, 1))
    # a strided convolution is the stride-1 one subsampled (TensorFlow's CPU kernels without
    # oneDNN refuse stride > 1 together with dilation > 1)
    dilated = tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), tf.ones((3, 3, 1, 1)), 1,
                           "VALID", dilations=2)[:, ::2, ::2]  # fmt: skip
    assert dilated.shape[1] == SIZE
    assert receptive_field(ch3.SEED_STACK) == (10, 4)  # the chapter's table


def _footprint(stack, unit, size=48):
    # the input rows one unit's gradient reaches (the chapter's check, along one axis)
    x = tf.zeros((1, size, size, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for k, s in stack:
            h = tf.nn.avg_pool2d(h, k, s, "VALID")
        target = h[0, unit, 0, 0]
    rows = np.nonzero(tape.gradient(target, x)[0, :, 0, 0].numpy())[0]
    return rows.min(), rows.max()


@pytest.mark.parametrize("case", ch3.STACKS)
def test_the_receptive_field_checker_agrees_with_gradients(case):
    stack = ch3.STACKS[case]
    (first, last), (second, _) = _footprint(stack, 0), _footprint(stack, 1)
    assert ch3._receptive_field(stack) == (last - first + 1, second - first)


@pytest.mark.parametrize("exercise_id", SOLUTIONS)
def test_the_model_solution_passes(exercise_id):
    verdict = check(exercise_id, SOLUTIONS[exercise_id])
    assert verdict.correct is True, verdict.message


def _undilated(_):
    return window_geometry(**{**ch3.DILATED, "dilation": 1}).output_size


def naive_mask(x, upstream):  # every maximum of a window gets the gradient: ties break it
    h, w = upstream.shape
    top = x[: 2 * h, : 2 * w]
    big = np.kron(top.reshape(h, 2, w, 2).max(axis=(1, 3)), np.ones((2, 2)))
    grad = np.zeros(x.shape)
    grad[: 2 * h, : 2 * w] = (top == big) * np.kron(upstream, np.ones((2, 2)))
    return grad


def pool_everything(x, upstream):  # the upstream spread evenly: average pooling's gradient
    return np.kron(upstream, np.full((2, 2), 0.25))


HIDDEN = {
    "3.1": str(CONV1D.astype(int).tolist()),
    "3.2": str(SIZE),
    "3.3": f"{RATIO:.0f}",
    "3.9": str((256 + 1) * 64),
}
WRONG = {  # exercise id -> (wrong answer, words the message must contain)
    "3.1": (np.convolve(ch3.SIGNAL, ch3.KERNEL_1D, mode="valid"), "flipped"),
    "3.1-length": (np.correlate(ch3.SIGNAL, ch3.KERNEL_1D, mode="same"), "positions"),
    "3.1-values": (CONV1D + [0, 1, 0, 0], "positions [1]"),
    "3.2": (_undilated(None), "dilated"),
    "3.2-small": (SIZE - 1, "too small"),
    "3.3": ((14 * 14 * 32) * 14 * 14 * 64 / (9 * 32 * 64), "biases"),
    "3.3-count": ((3 * 3 * 32 + 1) * 64, "ratio"),
    "3.3-valid": ((14 * 14 * 32 + 1) * 12 * 12 * 64 / ((3 * 3 * 32 + 1) * 64), "too small"),
    "3.5": (lambda stack: (1 + sum(k - 1 for k, _ in stack), 1), "seed CNN"),
    "3.5-type": (lambda stack: "10, 4", "pair of ints"),
    "3.5-raises": (lambda stack: dict(stack)["r"], "raised KeyError"),
    "3.6": (naive_mask, "two equal maxima"),
    "3.6-avg": (pool_everything, "4x4 example"),
    "3.6-none": (lambda x, upstream: None, "returned None"),
    "3.7": (lambda x, k, s: tf.nn.conv2d(x, k, 1, "VALID"), "shape"),
    "3.7-raises": (lambda x, k, s: x @ k, "raised"),
    "3.7-bias": (lambda x, k, s: conv2d_matmul(x, k, s) + 0.1, "off by up to 0.1"),
    "3.9": (256 * 64, "biases"),
    "3.9-image": (14 * 14 * 257 * 64, "size of the image"),
    "3.9-small": (257 * 32, "too small"),
}


@pytest.mark.parametrize("case", WRONG)
def test_a_typical_mistake_fails_with_a_reason(case):
    exercise_id = case.split("-")[0]
    answer, words = WRONG[case]
    verdict = check(exercise_id, answer)
    assert verdict.correct is False
    assert words in verdict.message, verdict.message
    shown = verdict.message  # the reader's own number may appear, the expected one not
    if isinstance(answer, int | float):
        shown = shown.replace(f"{answer:g}", "")
    assert HIDDEN.get(exercise_id, "\0") not in shown, verdict.message


MALFORMED = [
    ("3.1", "5, -1"),
    ("3.1", 7),
    ("3.1", [[1, 2], [3, 4]]),
    ("3.2", "five"),
    ("3.2", 4.5),
    ("3.2", float("inf")),
    ("3.3", [1.0]),
    ("3.5", 10),
    ("3.5", lambda: (1, 1)),
    ("3.6", np.zeros((2, 2))),
    ("3.6", lambda x: x),
    ("3.7", lambda x, kernel: x),
    ("3.9", "many"),
]


@pytest.mark.parametrize(("exercise_id", "answer"), MALFORMED)
def test_a_malformed_answer_raises(exercise_id, answer):
    with pytest.raises((TypeError, ValueError), match=exercise_id):
        check(exercise_id, answer)


@pytest.mark.parametrize("exercise_id", [f"3.{k}" for k in range(1, 11)])
def test_none_and_think_exercises_are_not_judged(exercise_id):
    verdict = check(exercise_id, None)
    assert verdict.correct is None
    if EXERCISES[exercise_id].kind == "think":
        assert check(exercise_id, "my answer").correct is None
        assert "model answer" in verdict.message
    else:
        assert "no answer yet" in verdict.message
