"""Chapter 2's exercises: model solutions pass, typical slips fail with a message that does not
give the value away, malformed answers raise, and None or a think exercise is not judged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from mapping_lib.exercises import chapter2
from mapping_lib.exercises.registry import check


def _sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def graph_gradient() -> float:
    a, b = chapter2.GRAPH_POINT
    s = _sigmoid(a * b)
    return s * (1 - s) * b * (a + b) + s


def neuron_gradient() -> tuple[float, float]:
    """(dL/dW2, y) of the seed neuron with target 0."""
    y = _sigmoid(0.1 * 1 + 0.2 * 2 + 0.3)
    return 2 * (y - 0) * y * (1 - y) * 2, y


def stable_rate() -> float:
    return 2 / np.linalg.eigvalsh(np.array([[2.0, 1.0], [1.0, 4.0]])).max()


def dense_backward(x, kernel, delta):
    return delta @ kernel.T, x.T @ delta, delta.sum(axis=0)


def softmax_cross_entropy_gradient(logits, labels):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True) - labels) / len(logits)


def adam_step(theta, g, m, s, t, eta, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * g
    s = beta_2 * s + (1 - beta_2) * g**2
    alpha = eta * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return theta - alpha * m / (np.sqrt(s) + epsilon), m, s


def _wrong(exercise_id: str, answer, *fragments: str, hidden: float | None = None) -> str:
    verdict = check(exercise_id, answer)
    assert verdict.correct is False, verdict
    for fragment in fragments:
        assert fragment in verdict.message, verdict
    if hidden is not None:
        assert f"{hidden:.3g}" not in verdict.message and f"{hidden:g}" not in verdict.message
    return verdict.message


def test_model_solutions_are_right() -> None:
    assert check("2.1", graph_gradient()).correct is True
    assert check("2.2", neuron_gradient()[0]).correct is True
    assert check("2.3", dense_backward).correct is True
    assert check("2.4", softmax_cross_entropy_gradient).correct is True
    assert check("2.6", stable_rate()).correct is True
    verdict = check("2.7", adam_step)
    assert verdict.correct is True and str(verdict) == (
        "✓ right (2.7): right at every step of 2 walks"
    )


def test_the_checkers_agree_with_the_closed_forms_and_tensorflow() -> None:
    a = tf.Variable(chapter2.GRAPH_POINT[0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        f = tf.sigmoid(a * chapter2.GRAPH_POINT[1]) * (a + chapter2.GRAPH_POINT[1])
    assert float(tape.gradient(f, a)) == pytest.approx(graph_gradient(), rel=1e-12)


def test_one_path_of_a_node_used_twice_is_named() -> None:
    a, b = chapter2.GRAPH_POINT
    s = _sigmoid(a * b)
    hidden = graph_gradient()
    _wrong("2.1", s, "through a + b alone", hidden=hidden)
    _wrong("2.1", s * (1 - s) * b * (a + b), "through σ(a·b) alone", hidden=hidden)
    _wrong("2.1", -hidden, "too small (check the sign)")


def test_neuron_slips_are_named() -> None:
    expected, y = neuron_gradient()
    _wrong("2.2", 2 * y * 2, "without the sigmoid's local derivative", hidden=expected)
    _wrong("2.2", expected / 2, "with a factor 2 missing", hidden=expected)
    _wrong("2.2", 2 * y * y * (1 - y), "the input x2", hidden=expected)
    _wrong("2.2", 10.0, "too large", hidden=expected)


def test_learning_rate_slips_are_named() -> None:
    expected = stable_rate()
    _wrong("2.6", 0.5, "largest diagonal entry", hidden=expected)
    _wrong("2.6", 2 / (3 - math.sqrt(2)), "shallowest curvature", hidden=expected)
    _wrong("2.6", expected / 2, "too small", hidden=expected)


def test_dense_mistakes_say_which_case_and_gradient_fail() -> None:
    def mean_bias(x, kernel, delta):
        return delta @ kernel.T, x.T @ delta, delta.mean(axis=0)

    def untransposed(x, kernel, delta):
        return delta @ kernel.T, delta.T @ x, delta.sum(axis=0)

    _wrong("2.3", mean_bias, "for a batch of 4, 3 inputs, 2 units, dL/db", "off by up to")
    _wrong("2.3", untransposed, "dL/dW the result has shape (2, 3), expected (3, 2)")
    _wrong("2.3", lambda x, kernel, delta: None, "returned None")
    _wrong("2.3", lambda x, kernel, delta: delta @ kernel.T, "must return a tuple of 3 arrays")
    _wrong("2.3", lambda x, kernel, delta: 1 / 0, "raised ZeroDivisionError: division by zero")


def test_cross_entropy_mistakes_say_which_case_fails() -> None:
    def no_mean(logits, labels):
        return softmax_cross_entropy_gradient(logits, labels) * len(logits)

    def unstable(logits, labels):
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True) - labels) / len(logits)

    def wrong_sign(logits, labels):
        return -softmax_cross_entropy_gradient(logits, labels)

    _wrong("2.4", no_mean, "for a batch of 5 with 3 classes, dL/dZ the result is off by")
    _wrong("2.4", unstable, "for a batch of 3 with logits near 1000", "not finite")
    _wrong("2.4", wrong_sign, "for a batch of 5 with 3 classes")


def test_adam_mistakes_say_which_step_fails() -> None:
    def no_bias_correction(theta, g, m, s, t, eta, beta_1, beta_2, epsilon):
        m = beta_1 * m + (1 - beta_1) * g
        s = beta_2 * s + (1 - beta_2) * g**2
        return theta - eta * m / (np.sqrt(s) + epsilon), m, s

    def plain_descent(theta, g, m, s, t, eta, beta_1, beta_2, epsilon):
        return theta - eta * g, m, s

    _wrong("2.7", no_bias_correction, "for step 1 with eta=0.1", "theta the result is off by")
    _wrong("2.7", plain_descent, "for step 1 with eta=0.1")
    _wrong("2.7", lambda *args: args[0], "must return a tuple of 3 arrays")


@pytest.mark.parametrize("exercise_id", ["2.1", "2.2", "2.6"])
def test_compute_answers_must_be_numbers(exercise_id: str) -> None:
    with pytest.raises(TypeError, match=f"the answer to {exercise_id} must be a number"):
        check(exercise_id, "0.5")
    with pytest.raises(ValueError, match="finite number"):
        check(exercise_id, float("inf"))


@pytest.mark.parametrize(
    ("exercise_id", "signature"),
    [
        ("2.3", "x, kernel, delta"),
        ("2.4", "logits, labels"),
        ("2.7", ", ".join(chapter2.ADAM_ARGS)),
    ],
)
def test_code_answers_must_be_functions_with_the_right_arguments(
    exercise_id: str, signature: str
) -> None:
    with pytest.raises(TypeError, match=f"the answer to {exercise_id} must be a function"):
        check(exercise_id, 3.0)
    with pytest.raises(TypeError, match=rf"must be a function taking \({signature}\)"):
        check(exercise_id, lambda only_one: only_one)


@pytest.mark.parametrize("exercise_id", ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"])
def test_none_and_think_exercises_are_not_judged(exercise_id: str) -> None:
    assert check(exercise_id, None).correct is None
    if exercise_id in ("2.5", "2.8"):
        assert check(exercise_id, "because h squared").correct is None


def stack_deltas(z_values, kernels, top_delta):
    deltas = [top_delta]
    for layer in range(len(kernels) - 1, 0, -1):
        deltas.insert(0, (deltas[0] @ kernels[layer].T) * (z_values[layer - 1] > 0))
    return deltas


def test_the_initialisation_and_recursion_exercises() -> None:
    he_std = math.sqrt(2 / 288)
    assert check("2.9", he_std).correct is True
    _wrong("2.9", 2 / 288, "variance, not the standard deviation", hidden=he_std)
    _wrong("2.9", math.sqrt(1 / 288), "tanh layers, not ReLU", hidden=he_std)
    _wrong("2.9", math.sqrt(2 / (288 + 576)), "Xavier", hidden=he_std)
    _wrong("2.9", math.sqrt(2 / 9), "one channel", hidden=he_std)
    assert check("2.10", stack_deltas).correct is True

    def no_slope(z_values, kernels, top_delta):
        deltas = [top_delta]
        for layer in range(len(kernels) - 1, 0, -1):
            deltas.insert(0, deltas[0] @ kernels[layer].T)
        return deltas

    _wrong("2.10", no_slope, "delta of layer 1")
    _wrong("2.10", lambda z_values, kernels, top_delta: [top_delta], "must return a tuple of")
    _wrong("2.10", lambda z_values, kernels, top_delta: None, "returned None")
    with pytest.raises(TypeError, match="z_values, kernels, top_delta"):
        check("2.10", lambda z, k: None)
