"""mapping_lib.initialisation: the variance rules, and a deep stack's sizes following them."""

from __future__ import annotations

import numpy as np
import pytest

from mapping_lib import initialisation


def test_the_three_rules() -> None:
    assert initialisation.weight_variance("lecun", 100) == pytest.approx(0.01)
    assert initialisation.weight_variance("xavier", 100, 300) == pytest.approx(2 / 400)
    assert initialisation.weight_variance("he", 288) == pytest.approx(2 / 288)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="scheme"):
        initialisation.weight_variance("glorot", 10)
    with pytest.raises(ValueError, match="fan_out"):
        initialisation.weight_variance("xavier", 10)
    with pytest.raises(ValueError, match="fan_in"):
        initialisation.weight_variance("he", 0)
    x = np.ones((4, 8))
    with pytest.raises(ValueError, match="activation"):
        initialisation.layer_statistics("sigmoid", 0.1, x, 3, seed=0)
    with pytest.raises(ValueError, match="variance"):
        initialisation.layer_statistics("relu", -1.0, x, 3, seed=0)
    with pytest.raises(ValueError, match="x must have rank 2"):
        initialisation.layer_statistics("relu", 0.1, np.ones(8), 3, seed=0)


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_relu_sizes_change_by_the_predicted_factor_per_layer(factor: float) -> None:
    # ReLU with Var[w] = factor * 2/n multiplies the size by sqrt(factor) per layer, both ways.
    width, depth = 128, 8
    x = np.random.default_rng(0).normal(size=(256, width))
    variance = factor * initialisation.weight_variance("he", width)
    stats = initialisation.layer_statistics("relu", variance, x, depth, seed=1)
    assert stats.activation_std.shape == stats.gradient_std.shape == (depth,)
    forward = (stats.activation_std[-1] / stats.activation_std[0]) ** (1 / (depth - 1))
    backward = (stats.gradient_std[0] / stats.gradient_std[-1]) ** (1 / (depth - 1))
    assert forward == pytest.approx(np.sqrt(factor), rel=0.08)
    assert backward == pytest.approx(np.sqrt(factor), rel=0.12)


def test_a_linear_stack_with_lecun_weights_keeps_the_size() -> None:
    width = 64
    x = np.random.default_rng(2).normal(size=(512, width))
    variance = initialisation.weight_variance("lecun", width)
    stats = initialisation.layer_statistics("linear", variance, x, 4, seed=3)
    np.testing.assert_allclose(stats.activation_std, 1.0, rtol=0.25)
    np.testing.assert_allclose(stats.gradient_std, 1.0, rtol=0.25)
