"""Every layer's output: what each layer makes of its input, from one cached function."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mapping_lib import layers
from mapping_lib.widgets import probe


@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(5)
    return keras.Sequential(
        [keras.Input((2,)), layers.Dense(3, activation="tanh"), layers.Dense(1)]
    )


def test_layer_outputs_are_the_input_then_every_layer(network):
    points = np.random.default_rng(1).normal(size=(6, 2)).astype(np.float32)
    stages = probe.layer_outputs(network, points)
    assert [stage.shape for stage in stages] == [(6, 2), (6, 3), (6, 1)]
    np.testing.assert_array_equal(stages[0], points)
    x = points
    for layer, stage in zip(network.layers, stages[1:]):
        x = np.asarray(layer(x))
        np.testing.assert_allclose(stage, x, rtol=1e-5, atol=1e-6)
    assert probe.layer_widths(network) == [2, 3, 1]


def test_a_one_layer_model_gives_its_one_output():
    single = keras.Sequential([keras.Input((2,)), layers.Dense(4)])
    stages = probe.layer_outputs(single, np.ones((3, 2)))
    assert [stage.shape for stage in stages] == [(3, 2), (3, 4)]


def test_every_layer_output_is_built_once_per_model(network):
    assert probe.every_layer_output(network) is probe.every_layer_output(network)


def test_layer_outputs_reject_bad_input(network):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        probe.layer_outputs("not a model", np.zeros((4, 2)))
    unbuilt = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="model must be built on a keras.Input"):
        probe.layer_outputs(unbuilt, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="points must have 2 columns"):
        probe.layer_outputs(network, np.zeros((4, 3)))
