"""The exercises of Chapter 1: model solutions pass, typical mistakes fail with a useful
message that does not give the answer away, malformed answers raise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mapping_lib.exercises import EXERCISES, check
from mapping_lib.exercises import chapter1 as ch1

IDS = [f"1.{k}" for k in range(1, 11)]


def _distance() -> float:
    return abs(ch1.NEURON_W @ ch1.NEURON_X + ch1.NEURON_B) / np.linalg.norm(ch1.NEURON_W)


def _parameters() -> int:
    sizes = ch1.NETWORK_SIZES
    return sum(n * m + m for n, m in zip(sizes, sizes[1:]))


def _chain_slope() -> float:
    h, slope = 0.0, 1.0
    for _ in range(3):
        s = 1 / (1 + np.exp(-h))
        slope, h = slope * s * (1 - s), s
    return slope


def forward(x, params):
    h = x
    for index, (w, b) in enumerate(params):
        h = h @ w + b
        if index < len(params) - 1:
            h = np.tanh(h)
    return h


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


SOLUTIONS = {
    "1.1": _distance(),
    "1.2": _parameters(),
    "1.3": _chain_slope(),
    "1.4": forward,
    "1.5": cross_entropy,
    "1.6": math.log(1 + 3 / math.e),
    "1.9": -np.mean(np.log([0.9, 0.6, 0.8, 0.7])),
}


def _assert_hidden(message: str, value: float) -> None:
    """The message must not contain the expected value in any common rounding."""
    for digits in (2, 3, 4, 6):
        assert f"{value:.{digits}f}" not in message, message
    assert f"{value:g}" not in message, message


def test_all_registered_with_kinds():
    assert [EXERCISES[i].kind for i in IDS] == [
        "compute", "compute", "compute", "code", "code", "compute", "think", "think",
        "compute", "think",
    ]  # fmt: skip


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_model_solution_passes(exercise_id):
    verdict = check(exercise_id, SOLUTIONS[exercise_id])
    assert verdict.correct is True, str(verdict)


@pytest.mark.parametrize("exercise_id", IDS)
def test_none_is_no_answer_yet(exercise_id):
    assert check(exercise_id, None).correct is None


@pytest.mark.parametrize("exercise_id", ["1.7", "1.8", "1.10"])
def test_think_exercises_have_no_verdict(exercise_id):
    verdict = check(exercise_id, "some text")
    assert verdict.correct is None and "model answer" in verdict.message


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "says"),
    [
        ("1.1", abs(ch1.NEURON_W @ ch1.NEURON_X + ch1.NEURON_B), "|z|"),
        ("1.1", -_distance(), "never negative"),
        ("1.1", 2 * _distance(), "too large"),
        ("1.2", _parameters() - 256 - 128 - 10, "not the biases"),
        ("1.2", _parameters() + 784, "input layer"),
        ("1.2", _parameters() - 1, "too small"),
        ("1.2", 1.5, "whole number"),
        ("1.3", 0.25**3, "bound"),
        ("1.3", 0.25 * 0.25, "too large"),
        ("1.6", math.log(1 + 9 / math.e), "10 classes"),
        ("1.6", math.log(4), "equal scores"),
        ("1.6", 0.0, "too small"),
        ("1.9", 0.9 * 0.6 * 0.8 * 0.7, "likelihood itself"),
        ("1.9", -np.sum(np.log([0.9, 0.6, 0.8, 0.7])), "sum over the examples"),
        ("1.9", -np.mean(np.log([0.9, 0.4, 0.2, 0.7])), "for a label 0 it is 1 - p"),
        ("1.9", -np.mean(np.log10([0.9, 0.6, 0.8, 0.7])), "natural logarithm"),
        ("1.9", 1.0, "too large"),
    ],
)
def test_wrong_numbers_fail_without_the_answer(exercise_id, wrong, says):
    verdict = check(exercise_id, wrong)
    assert verdict.correct is False and says in verdict.message, str(verdict)
    expected = SOLUTIONS[exercise_id]
    if not float(expected).is_integer():
        _assert_hidden(verdict.message, expected)
    else:
        assert str(int(expected)) not in verdict.message


def _forward_tanh_everywhere(x, params):
    h = x
    for w, b in params:
        h = np.tanh(h @ w + b)
    return h


def _forward_transposed(x, params):
    return forward(x, [(w, b) for w, b in params]).T


def _forward_raises(x, params):
    raise RuntimeError("not done")


def _cross_entropy_naive(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels]).mean()


def _cross_entropy_per_example(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def _cross_entropy_sum(logits, labels):
    return cross_entropy(logits, labels) * len(labels)


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "says"),
    [
        ("1.4", _forward_tanh_everywhere, "tanh is applied to the output"),
        ("1.4", _forward_transposed, "shape"),
        ("1.4", _forward_raises, "RuntimeError: not done"),
        ("1.4", lambda x, params: None, "returned None"),
        ("1.5", _cross_entropy_naive, "logits near +1000"),
        ("1.5", _cross_entropy_per_example, "one loss per example"),
        ("1.5", _cross_entropy_sum, "sum over the batch"),
        ("1.5", lambda logits, labels: "0.5", "not a number"),
        ("1.5", lambda logits, labels: None, "returned None"),
    ],
)
def test_wrong_functions_fail_with_reason(exercise_id, wrong, says):
    with np.errstate(all="ignore"):
        verdict = check(exercise_id, wrong)
    assert verdict.correct is False and says in verdict.message, str(verdict)


def test_naive_cross_entropy_is_caught_at_the_overflow():
    # Right on ordinary logits: the first two cases pass, the overflow case fails.
    with np.errstate(all="ignore"):
        message = check("1.5", _cross_entropy_naive).message
    assert "logits near +1000" in message and "exp" in message


@pytest.mark.parametrize(
    ("exercise_id", "malformed", "error"),
    [
        ("1.1", "0.5", TypeError),
        ("1.1", True, TypeError),
        ("1.1", float("nan"), ValueError),
        ("1.2", [235146], TypeError),
        ("1.3", "small", TypeError),
        ("1.6", float("inf"), ValueError),
        ("1.9", "0.3", TypeError),
        ("1.4", 3.0, TypeError),
        ("1.4", lambda x: x, TypeError),
        ("1.5", np.array([1.0]), TypeError),
        ("1.5", lambda logits: logits, TypeError),
    ],
)
def test_malformed_answers_raise(exercise_id, malformed, error):
    with pytest.raises(error, match=exercise_id):
        check(exercise_id, malformed)


def test_verdicts_are_deterministic():
    first = [str(check(i, SOLUTIONS[i])) for i in sorted(SOLUTIONS)]
    assert first == [str(check(i, SOLUTIONS[i])) for i in sorted(SOLUTIONS)]
