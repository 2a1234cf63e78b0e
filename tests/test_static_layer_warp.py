"""The static layer-warp explorer: its precomputed stages, its controls and its refusals."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from mapping_lib import layers
from mapping_lib.static.layer_warp import (
    DECIMALS,
    PROJECTION,
    layer_warp_view,
    plane_coordinates,
)
from mapping_lib.widgets.layer_warp import warp

GRID = {"lines": 4, "samples": 7}


def circle_like(widths: tuple[int, ...] = (3, 2)) -> keras.Sequential:
    """A network shaped like the chapter's circle_net: tanh layers, then one output unit."""
    keras.utils.set_random_seed(3)
    hidden = [layers.Dense(units, activation="tanh") for units in widths]
    return keras.Sequential([keras.Input((2,)), *hidden, layers.Dense(1)])


@pytest.fixture(scope="module")
def network() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (30, 2)).astype("float32")
    return circle_like(), x, (np.hypot(*x.T) < 1.2).astype("int32")


def _layers_of(spec: dict) -> dict[str, dict]:
    """The grid, readout and points layers, told apart by the fields of their rows."""
    found = {}
    for layer in spec["layer"]:
        first = layer["data"]["values"][0]
        kind = "grid" if "line" in first else "points" if "point" in first else "readout"
        found[kind] = layer
    return found


def test_each_layer_is_drawn_in_the_plane_as_the_widget_draws_it(network) -> None:
    model, x, y = network
    for layer, units in enumerate([2, 3, 2, 1]):
        state = warp(model, layer, x, y, **GRID)
        points, lines = plane_coordinates(state)
        assert points.shape == (30, 2) and lines.shape == (8, 7, 2)
        if units == 2:
            np.testing.assert_array_equal(points, state.points)
        elif units == 3:
            np.testing.assert_allclose(points, state.points @ PROJECTION, atol=1e-6)
        else:  # the value across; each class on its own row, lines between the rows
            np.testing.assert_array_equal(points[:, 0], state.points[:, 0])
            assert np.all(np.abs(points[:, 1] - y) <= 0.15)
            np.testing.assert_array_equal(lines[..., 1], 0.5)
    # The 3-D camera looks down at 30 degrees: its right and up directions are orthonormal.
    np.testing.assert_allclose(PROJECTION.T @ PROJECTION, np.eye(2), atol=1e-12)


def test_the_spec_holds_every_stage_from_warp(network) -> None:
    model, x, y = network
    found = _layers_of(layer_warp_view(model, x, y, **GRID).to_dict())
    points, grid = found["points"]["data"]["values"], found["grid"]["data"]["values"]
    assert len(points) == 30 and len(grid) == 8 * 7
    for layer in range(4):
        python_points, python_lines = plane_coordinates(warp(model, layer, x, y, **GRID))
        for rows, python in ((points, python_points), (grid, python_lines.reshape(-1, 2))):
            browser = np.array([[row[f"u{layer}"], row[f"v{layer}"]] for row in rows])
            np.testing.assert_allclose(browser, python, atol=10.0**-DECIMALS)
    assert [row["label"] for row in points] == y.tolist()
    readout = warp(model, 2, x, y, **GRID).readout  # the output unit's line, last hidden layer
    ends = [(row["u"], row["v"]) for row in found["readout"]["data"]["values"] if row["layer"] == 2]
    np.testing.assert_allclose(ends, readout, atol=10.0**-DECIMALS)


def test_the_controls_start_at_the_last_hidden_layer_and_play_the_layers(network) -> None:
    model, x, y = network
    spec = layer_warp_view(model, x, y, **GRID).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert params["layer"]["value"] == 2
    assert [params["layer"]["bind"][key] for key in ("min", "max", "step")] == [0, 3, 1]
    assert params["blend"]["value"] == 0
    assert [params["blend"]["bind"][key] for key in ("min", "max")] == [0, 1]
    assert spec["usermeta"]["mapping_lib"]["play"] == "layer"
    assert layer_warp_view(model, x, y, layer=0, **GRID).to_dict()["params"][0]["value"] == 0


def test_a_chapter_sized_view_stays_small() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.5, 1.5, (400, 2)).astype("float32")
    size = len(json.dumps(layer_warp_view(circle_like(), x, x[:, 0] > 0).to_dict()))
    assert size < 400_000  # the chapter's view: 400 points and 13 x 2 lines of 60 samples


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layer": 4}, r"layer must be in 0\.\.3"),
        ({"x": np.zeros((30, 3))}, "x must have 2 columns"),
        ({"lines": 40, "samples": 100}, "must have at most 5000 points"),
        ({"model": circle_like((4, 2))}, "1 to 3 units, layer 1 has 4"),
    ],
)
def test_bad_arguments_are_refused_by_name(network, change: dict, message: str) -> None:
    model, x, y = network
    arguments = {"model": model, "x": x, "y": y, **GRID, **change}
    with pytest.raises(ValueError, match=message):
        layer_warp_view(**arguments)
