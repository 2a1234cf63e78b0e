"""Exercises of Chapter 1, *Everything is a mapping* (``notebooks/01_mapping.ipynb``).

Every checker computes its expected value itself, with NumPy, TensorFlow or the library, from
fixed inputs (no randomness without a fixed seed), so its verdicts are the same everywhere.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from mapping_lib import activations, layers, losses
from mapping_lib.exercises.registry import (
    callable_answer,
    close_to,
    exercise,
    number,
    same_array,
)

# --- shared by the code exercises -----------------------------------------------------------


def _require_arguments(exercise_id: str, function: Callable, names: str) -> None:
    """A TypeError unless ``function`` can be called with the positional arguments ``names``."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some builtins have no signature: let the call decide
        return
    count = len(names.split(", "))
    try:
        signature.bind(*range(count))
    except TypeError:
        raise TypeError(
            f"the answer to {exercise_id} must be a function of ({names}), "
            f"got one with the signature {signature}"
        ) from None


def _call(function: Callable, *args: Any) -> tuple[Any, str | None]:
    """``function(*args)``, or (None, why) when it raises."""
    try:
        return function(*args), None
    except Exception as error:  # the reader's code may raise anything: report it
        return None, f"{type(error).__name__}: {error}"


# --- 1.1 to 1.3: a neuron, a network's size, a chain of sigmoids -----------------------------

NEURON_W, NEURON_B, NEURON_X = np.array([1.0, -2.0]), 0.5, np.array([-1.0, 0.5])


@exercise("1.1", "compute", "distance of a point from a neuron's decision line")
def check_distance(answer: Any) -> tuple[bool, str]:
    """The distance |w.x + b| / ||w|| of NEURON_X from the line w.x + b = 0."""
    value = number("1.1", answer)
    z = float(NEURON_W @ NEURON_X + NEURON_B)
    expected = abs(z) / float(np.linalg.norm(NEURON_W))
    if value < 0:
        return False, "a distance is never negative (which side the point lies on is the sign of z)"
    if math.isclose(value, abs(z), rel_tol=1e-3):
        return False, "that is |z|, not yet a distance: z grows by ||w|| per unit step along w"
    return close_to(value, expected)


NETWORK_SIZES = (784, 256, 128, 10)


@exercise("1.2", "compute", "parameters of a 784-256-128-10 dense network")
def check_parameters(answer: Any) -> tuple[bool, str]:
    """The number of weights and biases of dense layers 784 -> 256 -> 128 -> 10."""
    value = number("1.2", answer)
    pairs = list(zip(NETWORK_SIZES, NETWORK_SIZES[1:]))
    weights = sum(n_in * n_out for n_in, n_out in pairs)
    expected = weights + sum(n_out for _, n_out in pairs)
    if value != int(value):
        return False, f"{value:g} is not a whole number; a parameter count is"
    if value == expected:
        return True, "that is the count: n m weights plus m biases per layer"
    if value == weights:
        return False, f"{value:g} counts the weights but not the biases"
    if value == expected + NETWORK_SIZES[0]:
        return False, f"{value:g} gives the input layer biases too; inputs have no parameters"
    return False, f"{value:g} is {'too large' if value > expected else 'too small'}"


CHAIN_DEPTH = 3


@exercise("1.3", "compute", "the slope of three sigmoids in a row, at input 0")
def check_sigmoid_chain(answer: Any) -> tuple[bool, str]:
    """d(output)/d(input) of sigmoid(sigmoid(sigmoid(x))) at x = 0, by GradientTape."""
    value = number("1.3", answer)
    start = tf.constant(0.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(start)
        h = start
        for _ in range(CHAIN_DEPTH):
            h = activations.sigmoid(h)
    expected = float(tape.gradient(h, start))
    if math.isclose(value, 0.25**CHAIN_DEPTH, rel_tol=1e-3):
        return False, (
            "that is the bound (1/4)^3, reached only if every sigmoid sees z = 0; "
            "which input does the second sigmoid see?"
        )
    return close_to(value, expected, rel=2e-3)


# --- 1.4: a network as a composition -------------------------------------------------------


def _network(sizes: tuple[int, ...], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(n_in, n_out)), rng.normal(size=n_out))
        for n_in, n_out in zip(sizes, sizes[1:])
    ]


def _library_forward(x: np.ndarray, params: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The same network from the library's ``Dense`` layers: tanh hidden layers, linear output."""
    h = tf.constant(x, dtype=tf.float32)
    for index, (kernel, bias) in enumerate(params):
        last = index == len(params) - 1
        layer = layers.Dense(kernel.shape[1], activation=None if last else "tanh")
        layer.build((None, kernel.shape[0]))
        layer.set_weights([kernel.astype("float32"), bias.astype("float32")])
        h = layer(h)
    return h.numpy().astype(np.float64)


FORWARD_CASES = (  # (what the case is, layer sizes, batch size, seed)
    ("the 2-3-2-1 network on 5 points", (2, 3, 2, 1), 5, 0),
    ("a 4-8-8-3 network on 3 points", (4, 8, 8, 3), 3, 1),
    ("a 2-3-1 network on a batch of one point", (2, 3, 1), 1, 2),
    ("a network without hidden layer (2-1)", (2, 1), 4, 3),
)


@exercise("1.4", "code", "forward(x, params): a dense network as a composition of layers")
def check_forward(answer: Any) -> tuple[bool, str]:
    """Compare the reader's forward pass with the library's Dense layers on FORWARD_CASES."""
    forward = callable_answer("1.4", answer)
    _require_arguments("1.4", forward, "x, params")
    for case, sizes, batch, seed in FORWARD_CASES:
        params = _network(sizes, seed)
        x = np.random.default_rng(100 + seed).normal(size=(batch, sizes[0]))
        got, error = _call(forward, x.copy(), [(w.copy(), b.copy()) for w, b in params])
        if error:
            return False, f"for {case} your function raised {error}"
        if got is None:
            return False, f"for {case} your function returned None (is it still the placeholder?)"
        expected = _library_forward(x, params)
        wrong = same_array("1.4", got, expected, case, atol=1e-4)
        if wrong:
            if np.shape(got) == expected.shape and np.allclose(got, np.tanh(expected), atol=1e-4):
                return False, f"for {case} tanh is applied to the output too; it is a logit"
            return wrong
    return True, "agrees with the library's Dense layers on every test network"


# --- 1.5: cross-entropy from logits --------------------------------------------------------

CROSS_ENTROPY_CASES = (  # (what the case is, logits, labels)
    ("the chapter's two examples", [[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], [0, 1]),
    (
        "a batch of four, three classes",
        [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [-2.0, 4.0, 1.0], [0.3, 0.3, -0.3]],
        [2, 1, 1, 0],
    ),
    ("logits near +1000", [[1000.0, 999.0, 1001.0], [1002.0, 1000.0, 1000.5]], [0, 2]),
    ("a confident mistake, logits (0, 800) with label 0", [[0.0, 800.0]], [0]),
)


@exercise("1.5", "code", "cross_entropy(logits, labels): sparse cross-entropy from logits")
def check_cross_entropy(answer: Any) -> tuple[bool, str]:
    """Compare the reader's mean cross-entropy with the library's from-logits loss."""
    cross_entropy = callable_answer("1.5", answer)
    _require_arguments("1.5", cross_entropy, "logits, labels")
    reference = losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    for case, logits, labels in CROSS_ENTROPY_CASES:
        logits, labels = np.array(logits), np.array(labels)
        got, error = _call(cross_entropy, logits.copy(), labels.copy())
        if error:
            return False, f"for {case} your function raised {error}"
        if got is None:
            return False, f"for {case} your function returned None (is it still the placeholder?)"
        try:
            got = np.asarray(got)
        except (TypeError, ValueError):
            got = np.asarray(None)
        if got.dtype.kind not in "iuf":
            return False, f"for {case} your function returned {got.dtype} values, not a number"
        got = got.astype(np.float64)
        expected = float(reference(labels, logits))
        if got.shape == labels.shape and len(labels) > 1:
            return False, f"for {case} it returns one loss per example; expected their mean"
        if got.size != 1:
            return False, f"for {case} the result has shape {got.shape}, expected one number"
        value = float(got.reshape(()))
        if not math.isfinite(value):
            return False, f"for {case} the result is {value}: is exp overflowing?"
        if len(labels) > 1 and math.isclose(value, expected * len(labels), rel_tol=1e-5):
            return False, f"for {case} it returns the sum over the batch, not the mean"
        if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-6):
            direction = "too large" if value > expected else "too small"
            return False, f"for {case} the result is {direction}"
    return True, "agrees with the library's loss, also where exp would overflow"


# --- 1.6: softmax applied twice ------------------------------------------------------------

FLOOR_CLASSES = 4


def _softmax_twice_floor(classes: int) -> float:
    """The loss of a one-hot probability row fed to a from-logits loss (the best case)."""
    scores = tf.one_hot([0], classes, dtype=tf.float64)  # softmax output of a perfect model
    return float(tf.nn.sparse_softmax_cross_entropy_with_logits([0], scores)[0])


@exercise("1.6", "compute", "the lowest loss when softmax is applied twice, four classes")
def check_softmax_twice(answer: Any) -> tuple[bool, str]:
    """The infimum of the from-logits loss over softmax outputs, for FLOOR_CLASSES classes."""
    value = number("1.6", answer)
    expected = _softmax_twice_floor(FLOOR_CLASSES)
    if math.isclose(value, _softmax_twice_floor(10), rel_tol=1e-3):
        return False, "that is the floor for 10 classes, as in the chapter; here there are 4"
    if math.isclose(value, math.log(FLOOR_CLASSES), rel_tol=1e-3):
        return False, "that is the loss of equal scores; a confident model does better"
    return close_to(value, expected)


# --- 1.9: cross-entropy as maximum likelihood ---------------------------------------------

LIKELIHOOD_LABELS = np.array([1, 0, 0, 1])
LIKELIHOOD_P = np.array([0.9, 0.4, 0.2, 0.7])  # the model's probability of class 1


def _bernoulli_probabilities(p_true: np.ndarray) -> np.ndarray:
    """The probability the model gives each observed label, with ``p_true`` as P(class 1)."""
    return np.where(LIKELIHOOD_LABELS == 1, p_true, 1 - p_true)


@exercise("1.9", "compute", "the mean negative log-likelihood of four labels")
def check_likelihood(answer: Any) -> tuple[bool, str]:
    """-mean(log P(y_i)) under the Bernoulli model: the binary cross-entropy, from Keras."""
    value = number("1.9", answer)
    labels = LIKELIHOOD_LABELS.astype("float32")[:, None]
    expected = float(
        tf.keras.losses.BinaryCrossentropy()(labels, LIKELIHOOD_P.astype("float32")[:, None])
    )
    observed = _bernoulli_probabilities(LIKELIHOOD_P)
    mistakes = {
        "that is the likelihood itself; take its logarithm": float(np.prod(observed)),
        "that is the sum over the examples; the loss is their mean": float(-np.log(observed).sum()),
        "that uses the probability of class 1 for every example; for a label 0 it is 1 - p": float(
            -np.log(LIKELIHOOD_P).mean()
        ),
        "that uses log base 10; cross-entropy uses the natural logarithm": float(
            -np.log10(observed).mean()
        ),
    }
    for message, wrong in mistakes.items():
        if math.isclose(value, wrong, rel_tol=1e-3):
            return False, message
    return close_to(value, expected, rel=1e-4)


# --- 1.7, 1.8 and 1.10: think --------------------------------------------------------------------


@exercise("1.7", "think", "why no single neuron computes XOR, and how one hidden layer does")
def xor_model_answer() -> None:
    """Four inequalities contradict; an OR unit and an AND unit make XOR linearly separable."""


@exercise("1.8", "think", "why the circle network needs three units in its first hidden layer")
def warp_model_answer() -> None:
    """Continuous one-to-one maps of the plane cannot free the disk from the ring."""


@exercise("1.10", "think", "which initial weights break the symmetry between hidden units")
def symmetry_model_answer() -> None:
    """Different output weights break it; all-zero weights freeze a tanh network."""
