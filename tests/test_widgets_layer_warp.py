"""The layer-warp explorer: points and grid through the layers, bad input, redraws."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from explorer_helpers import redraws

from mapping_lib import layers
from mapping_lib.widgets import layer_warp


@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(3, activation="tanh"),
            layers.Dense(2, activation="tanh"),
            layers.Dense(1),
        ]
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, (50, 2)).astype("float32")
    y = (np.hypot(*x.T) < 2).astype("int32")
    return model, x, y


def manual_forward(model, x, depth):
    """The first ``depth`` layers computed with NumPy from the weights."""
    for layer in model.layers[:depth]:
        kernel, bias = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
        x = x @ kernel + bias
        x = np.tanh(x) if layer.activation.name == "tanh" else x
    return x


@pytest.mark.parametrize("layer", [0, 1, 2, 3])
def test_warp_pushes_points_and_grid_through_the_layers(network, layer):
    model, x, y = network
    state = layer_warp.warp(model, layer, x, y, extent=(-5, 5, -5, 5), lines=4, samples=7)
    units = [2, 3, 2, 1][layer]
    assert state.layer == layer and state.units == units
    assert state.points.shape == (50, units) and state.lines.shape == (8, 7, units)
    np.testing.assert_allclose(state.points, manual_forward(model, x, layer), atol=1e-5)
    ticks, along = np.linspace(-5, 5, 4), np.linspace(-5, 5, 7)
    horizontal = [np.stack([along, np.full(7, tick)], 1) for tick in ticks]
    vertical = [np.stack([np.full(7, tick), along], 1) for tick in ticks]
    straight = np.concatenate(horizontal + vertical)
    np.testing.assert_allclose(
        state.lines.reshape(-1, units), manual_forward(model, straight, layer), atol=1e-5
    )
    np.testing.assert_array_equal(state.labels, y)
    details = ["", "(3 units, tanh)", "(2 units, tanh)", "(1 unit, linear)"][layer]
    name = "input" if layer == 0 else f"layer {layer}: {model.layers[layer - 1].name} {details}"
    assert state.name == name
    if layer == 2:  # the last hidden layer: the output unit's line w.h + b = 0 lies in its plane
        kernel, bias = model.layers[2].get_weights()
        for h in state.readout:
            assert abs(np.dot(h, kernel[:, 0]) + bias[0]) < 1e-5
    else:
        assert state.readout is None


def test_warp_uses_the_compiled_forward_not_predict(network, monkeypatch):
    model, x, y = network

    def forbidden(*args, **kwargs):
        raise AssertionError("widgets must not call model.predict")

    monkeypatch.setattr(model, "predict", forbidden)
    assert layer_warp.warp(model, 3, x, y).points.shape == (50, 1)


def test_warp_rejects_bad_input(network):
    model, x, y = network
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.3"):
        layer_warp.warp(model, 4, x, y)
    with pytest.raises(ValueError, match="layer must be a non-negative int"):
        layer_warp.warp(model, -1, x, y)
    with pytest.raises(ValueError, match="x must have 2 columns"):
        layer_warp.warp(model, 1, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="x and y must have the same number"):
        layer_warp.warp(model, 1, x, y[:-1])


def test_wide_layers_are_refused_by_the_drawing(network):
    _, x, y = network
    wide = keras.Sequential([keras.Input((2,)), layers.Dense(4, "tanh"), layers.Dense(1)])
    with pytest.raises(ValueError, match="draws layers of 1 to 3 units; layer 1 has 4"):
        layer_warp.layer_warp_explorer(wide, x, y)
    with pytest.raises(ValueError, match="draw_warp draws layers of 1 to 3 units"):
        layer_warp.draw_warp(layer_warp.warp(wide, 1, x, y))


# ------------------------------------------------------------------------------------- view


def test_layer_warp_explorer_redraws(network):
    model, x, y = network
    explorer = layer_warp.layer_warp_explorer(model, x, y)
    assert explorer.controls["layer"].value == 2 and explorer.controls["layer"].max == 3
    for layer in (0, 1, 3):
        redraws(explorer, "layer", layer)
