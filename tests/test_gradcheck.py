"""Gradient checking: the checker itself must be right, and must catch wrong gradients."""

import keras
import numpy as np
import pytest

from mapping_lib.gradcheck import check_layer, numerical_gradient, relative_error
from mapping_lib.layers import Dense


def test_numerical_gradient_of_a_cubic():
    x = np.random.default_rng(0).normal(size=(3, 2))
    untouched = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v**3), x)
    assert relative_error(grad, 3 * x**2) < 1e-8
    np.testing.assert_array_equal(x, untouched)


def test_numerical_gradient_works_in_float64_for_float32_input():
    # In float32, eps = 1e-6 would vanish below the spacing of numbers near 1.
    x = np.array([1.0, 2.0], dtype=np.float32)
    grad = numerical_gradient(lambda v: np.sum(v**2), x)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2.0, 4.0], rtol=1e-8)


def test_relative_error_values():
    a = np.array([1.0, 2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == 1.0
    assert relative_error(a, [1.0, 2.1]) == pytest.approx(0.1 / 4.1)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_report_for_a_correct_layer():
    x = np.random.default_rng(1).normal(size=(3, 4))
    report = check_layer(Dense(2, "tanh", dtype="float64"), x)
    assert list(report.vs_tape) == list(report.vs_numeric) == ["input", "kernel", "bias"]
    assert report.ok(1e-6)
    assert report.max_error < 1e-6
    assert "kernel" in str(report) and "GradientTape" in str(report)


class _SignFlippedBias(Dense):
    """A planted mistake: the bias gradient comes back with the wrong sign."""

    def backward(self, upstream):
        grad_input = super().backward(upstream)
        object.__setattr__(self, "grads", [self.grads[0], -self.grads[1]])
        return grad_input


class _SlightlyScaledInput(Dense):
    """A subtle planted mistake: the input gradient is 0.01 % too large."""

    def backward(self, upstream):
        return super().backward(upstream) * 1.0001


def test_a_wrong_weight_gradient_is_caught():
    x = np.random.default_rng(2).normal(size=(3, 4))
    report = check_layer(_SignFlippedBias(2, dtype="float64"), x)
    assert not report.ok()
    assert report.vs_tape["bias"] > 0.5 and report.vs_numeric["bias"] > 0.5
    assert report.vs_tape["input"] < 1e-6 and report.vs_tape["kernel"] < 1e-6


def test_a_subtly_wrong_input_gradient_is_caught():
    x = np.random.default_rng(3).normal(size=(3, 4))
    report = check_layer(_SlightlyScaledInput(2, "sigmoid", dtype="float64"), x)
    assert not report.ok(1e-6)
    assert 1e-6 < report.vs_numeric["input"] < 1e-3


class _MissingBiasGradient(Dense):
    def backward(self, upstream):
        grad_input = super().backward(upstream)
        object.__setattr__(self, "grads", self.grads[:1])
        return grad_input


def test_bad_input_is_named():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"layer must compute in float64.*got float32"):
        check_layer(Dense(2), x)
    with pytest.raises(TypeError, match=r"layer must have a backward\(\) method.*Dense"):
        check_layer(keras.layers.Dense(2, dtype="float64"), x)
    with pytest.raises(ValueError, match=r"upstream must have the layer's output shape \(2, 2\)"):
        check_layer(Dense(2, dtype="float64"), x, upstream=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"x must contain only finite numbers"):
        check_layer(Dense(2, dtype="float64"), [[1.0, np.nan]])
    with pytest.raises(ValueError, match=r"layer.grads must hold one gradient per trainable"):
        check_layer(_MissingBiasGradient(2, dtype="float64"), x)
    with pytest.raises(ValueError, match=r"eps must be a positive number, got 0"):
        numerical_gradient(np.sum, x, eps=0)
    with pytest.raises(TypeError, match=r"f must be a callable"):
        numerical_gradient("sum", x)
    with pytest.raises(ValueError, match=r"a and b must have the same shape"):
        relative_error(np.ones(3), np.ones(4))
    report = check_layer(Dense(2, dtype="float64"), x)
    with pytest.raises(ValueError, match=r"tol must be a positive number"):
        report.ok(-1e-6)
