"""Activations: forward values from NumPy formulas, slopes from GradientTape and differences."""

import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import activations
from mapping_lib.gradcheck import numerical_gradient, relative_error


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# Each activation next to an independent NumPy version of its forward pass.
CASES = {
    "sigmoid": (activations.sigmoid, lambda z: 1 / (1 + np.exp(-z))),
    "tanh": (activations.tanh, np.tanh),
    "relu": (activations.relu, lambda z: np.maximum(z, 0)),
    "leaky_relu": (activations.leaky_relu(0.2), lambda z: np.where(z > 0, z, 0.2 * z)),
    "softmax": (activations.softmax, _softmax),
    "linear": (activations.linear, lambda z: z),
}


@pytest.fixture
def z_and_upstream():
    rng = np.random.default_rng(7)
    return rng.normal(size=(4, 5)) * 2, rng.normal(size=(4, 5))


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_numpy_formula(name, z_and_upstream):
    activation, reference = CASES[name]
    z, _ = z_and_upstream
    np.testing.assert_allclose(activation(z).numpy(), reference(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", CASES)
def test_backward_matches_tape_and_central_differences(name, z_and_upstream):
    activation, _ = CASES[name]
    z, upstream = z_and_upstream
    z_tensor = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z_tensor)
        a = activation(z_tensor)
    by_tape = tape.gradient(a, z_tensor, output_gradients=upstream)
    by_hand = activation.backward(z_tensor, a, tf.constant(upstream))
    numeric = numerical_gradient(lambda v: tf.reduce_sum(upstream * activation(v)), z)
    assert relative_error(by_hand, by_tape) < 1e-6
    assert relative_error(by_hand, numeric) < 1e-6


@pytest.mark.parametrize("name", CASES)
def test_derivative_is_the_jacobian_diagonal(name, z_and_upstream):
    activation, _ = CASES[name]
    z = tf.constant(z_and_upstream[0])
    with tf.GradientTape() as tape:
        tape.watch(z)
        a = activation(z)
    diagonal = tf.linalg.diag_part(tape.batch_jacobian(a, z))
    assert relative_error(activation.derivative(z), diagonal) < 1e-12


def test_softmax_backward_needs_more_than_the_diagonal(z_and_upstream):
    z, upstream = (tf.constant(v) for v in z_and_upstream)
    a = activations.softmax(z)
    diagonal_only = upstream * activations.softmax.derivative(z)
    assert relative_error(activations.softmax.backward(z, a, upstream), diagonal_only) > 0.1


def test_kinks_take_the_same_slope_as_tensorflow():
    z = tf.constant([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(activations.relu.derivative(z), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(activations.leaky_relu(0.1).derivative(z), [0.1, 0.1, 1.0])


def test_float64_stays_float64():
    z = tf.constant([[0.5, -0.5]], dtype=tf.float64)
    for activation, _ in CASES.values():
        assert activation(z).dtype == tf.float64
        assert activation.derivative(z).dtype == tf.float64


def test_get_resolves_names_instances_none_and_configs():
    assert activations.get("relu") is activations.relu
    assert activations.get(None) is activations.linear
    custom = activations.leaky_relu(0.3)
    assert activations.get(custom) is custom
    assert activations.get(custom.get_config()) == custom
    assert activations.get("leaky_relu") == activations.leaky_relu(0.01)
    assert activations.get("leaky_relu") != custom
    assert activations.get(activations.softmax.get_config()) is activations.softmax
    assert repr(custom) == "Activation('leaky_relu', alpha=0.3)"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: activations.get("relux"),
            ValueError,
            r"activation must be one of .*'relu'.*'relux'",
        ),
        (lambda: activations.get({"alpha": 0.1}), ValueError, r"activation must be one of .*None"),
        (
            lambda: activations.get({"name": "relu", "alpha": 0.1}),
            TypeError,
            r"activation 'relu' takes no parameters, got \{'alpha': 0.1\}",
        ),
        (lambda: activations.get(3), TypeError, r"activation must be a name.*got int 3"),
        (lambda: activations.leaky_relu(-0.1), ValueError, r"alpha must be a non-negative"),
        (lambda: activations.leaky_relu("0.1"), TypeError, r"alpha must be a non-negative"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
