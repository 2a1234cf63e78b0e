"""Chapter 1 explorers: compute functions over their parameter ranges, errors, redraws."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mapping_lib import layers
from mapping_lib.widgets import basics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOX = (-3.0, 3.0, -2.0, 2.0)


def reference(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and f' written independently of the library (softmax: first of softmax([z, 0]))."""
    with np.errstate(over="ignore"):  # exp and cosh overflow to inf for |z| ~ 1e3: still right
        sig = 1 / (1 + np.exp(-z))
        sech2 = 1 / np.cosh(z) ** 2
    table = {
        "sigmoid": (sig, sig * (1 - sig)),
        "softmax": (sig, sig * (1 - sig)),
        "tanh": (np.tanh(z), sech2),
        "relu": (np.maximum(z, 0), (z > 0).astype(float)),
        "leaky_relu": (np.where(z > 0, z, 0.01 * z), np.where(z > 0, 1.0, 0.01)),
        "linear": (z, np.ones_like(z)),
    }
    return table[name]


# ------------------------------------------------------------------------- activation curves


@pytest.mark.parametrize("name", basics.ACTIVATIONS)
@pytest.mark.parametrize("z_range", [(-10, 10), (-1, 1), (0.5, 3), (-10, -9.5)])
@pytest.mark.parametrize("threshold", [0.005, 0.05, 0.25])
def test_activation_curves_match_reference(name, z_range, threshold):
    curves = basics.activation_curves(name, z_range, threshold=threshold, points=101)
    value, slope = reference(name, curves.z)
    assert curves.z[0] == z_range[0] and curves.z[-1] == z_range[1] and len(curves.z) == 101
    np.testing.assert_allclose(curves.value, value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curves.slope, slope, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(curves.dead, slope == 0)
    np.testing.assert_array_equal(curves.saturated, (np.abs(slope) < threshold) & (slope != 0))


def test_regions_tell_saturation_from_dead_units():
    sigmoid = basics.activation_curves("sigmoid", (-10, 10), threshold=0.05)
    # sigmoid' = 0.05 where sigmoid = (1 +- sqrt(0.8)) / 2, i.e. |z| = 2.887
    edge = np.log((1 + np.sqrt(0.8)) / (1 - np.sqrt(0.8)))
    (left_start, left_end), (right_start, right_end) = sigmoid.saturated_intervals
    assert left_start == -10 and right_end == 10
    assert -edge - 0.06 < left_end < -edge and edge < right_start < edge + 0.06
    assert sigmoid.dead_intervals == []
    relu = basics.activation_curves("relu", (-4, 4), points=9)
    assert relu.dead_intervals == [(-4.0, 0.0)]  # slope 0 at z = 0 too, as in TensorFlow
    assert relu.saturated_intervals == []
    leaky = basics.activation_curves("leaky_relu", (-4, 4), points=9, threshold=0.05)
    assert leaky.dead_intervals == [] and leaky.saturated_intervals == [(-4.0, 0.0)]
    linear = basics.activation_curves("linear")
    assert not linear.saturated.any() and not linear.dead.any()


def test_mask_intervals():
    z = np.arange(8.0)
    mask = np.array([1, 1, 0, 1, 0, 0, 1, 1], bool)
    assert basics.mask_intervals(z, mask) == [(0.0, 1.0), (3.0, 3.0), (6.0, 7.0)]
    assert basics.mask_intervals(z, np.zeros(8, bool)) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "swish"}, ValueError, "name must be one of"),
        ({"name": "relu", "z_range": (2, 1)}, ValueError, "z_range must be"),
        ({"name": "relu", "z_range": (0, 0)}, ValueError, "z_range must be"),
        ({"name": "relu", "z_range": (-11, 1)}, ValueError, r"z_range must lie within \[-10"),
        ({"name": "relu", "z_range": (0, 1, 2)}, ValueError, "z_range must be"),
        ({"name": "relu", "z_range": (0, np.nan)}, ValueError, "z_range must contain only finite"),
        ({"name": "relu", "z_range": ("a", "b")}, TypeError, "z_range must be an array"),
        ({"name": "relu", "threshold": 0}, ValueError, "threshold must be a positive"),
        ({"name": "relu", "points": 1}, ValueError, "points must be at least 2"),
        ({"name": "relu", "points": 2.5}, TypeError, "points must be a positive int"),
    ],
)
def test_activation_curves_reject_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        basics.activation_curves(**kwargs)


# ------------------------------------------------------------------------------ neuron field


def on_box_edge(point, box=BOX):
    x, y = point
    x0, x1, y0, y1 = box
    inside = x0 - 1e-9 <= x <= x1 + 1e-9 and y0 - 1e-9 <= y <= y1 + 1e-9
    return inside and min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) < 1e-9


WEIGHTS = [-1e3, -3.0, -1e-6, 0.0, 0.1, 3.0, 1e3]


@pytest.mark.parametrize("w1", WEIGHTS)
@pytest.mark.parametrize("w2", WEIGHTS)
@pytest.mark.parametrize("b", [-1e3, -2.5, 0.0, 1.0])
def test_decision_line_ends_on_the_box_and_solves_the_equation(w1, w2, b):
    line = basics.decision_line(w1, w2, b, BOX)
    if w1 == w2 == 0:
        assert line is None
        return
    # Whether the line crosses the box: the corners' z values do not all share a sign.
    corners = np.array([[x, y] for x in BOX[:2] for y in BOX[2:]])
    z = corners @ [w1, w2] + b
    if z.min() > 0 or z.max() < 0:
        assert line is None
        return
    scale = abs(w1) + abs(w2)
    if line is None:  # allowed only when the line merely touches a corner: no strict crossing
        touching = np.isclose(z, 0, atol=1e-9 * (scale * 3 + abs(b)))
        assert touching.any() and not (z[~touching].min() < 0 < z[~touching].max())
        return
    for point in line:
        assert on_box_edge(point)
        assert abs(w1 * point[0] + w2 * point[1] + b) <= 1e-9 * (scale * 3 + abs(b))
    assert np.hypot(line[0][0] - line[1][0], line[0][1] - line[1][1]) > 0


def test_decision_line_special_cases():
    assert basics.decision_line(0, 0, 1, BOX) is None  # w = 0: no line at all
    assert basics.decision_line(0, 1, -1, BOX) == ((-3.0, 1.0), (3.0, 1.0))  # horizontal
    assert basics.decision_line(1, 0, 2, BOX) == ((-2.0, -2.0), (-2.0, 2.0))  # vertical
    assert basics.decision_line(1, 0, 10, BOX) is None  # x = -10 is left of the box
    diagonal = basics.decision_line(2, 3, 0, BOX)  # through the corners (-3, 2) and (3, -2)
    assert sorted(diagonal) == [(-3.0, 2.0), (3.0, -2.0)]


@pytest.mark.parametrize("activation", basics.NEURON_ACTIVATIONS)
@pytest.mark.parametrize(
    ("w1", "w2", "b"), [(1, -0.5, 0.5), (0, 0, 2), (-1e3, 1e3, 50), (3, 0, -3)]
)
def test_neuron_field_matches_the_formula(activation, w1, w2, b):
    field = basics.neuron_field(w1, w2, b, activation, extent=BOX, resolution=21)
    xx, yy = np.meshgrid(field.xs, field.ys)
    expected, _ = reference(activation, w1 * xx + w2 * yy + b)
    assert field.output.shape == (21, 21)
    np.testing.assert_allclose(field.output, expected, rtol=1e-9, atol=1e-9)
    assert field.line == basics.decision_line(w1, w2, b, BOX)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"activation": "softmax"}, ValueError, "activation must be one of"),
        ({"extent": (1, 0, 0, 1)}, ValueError, "extent must be"),
        ({"extent": (0, 1, 0)}, ValueError, "extent must be"),
        ({"resolution": 1}, ValueError, "resolution must be at least 2"),
        ({"resolution": 0}, ValueError, "resolution must be a positive int"),
        ({"w1": "big"}, TypeError, "w1 must be"),
        ({"b": np.inf}, ValueError, "b must contain only finite"),
    ],
)
def test_neuron_field_rejects_bad_input(kwargs, error, message):
    arguments = {"w1": 1.0, "w2": 1.0, "b": 0.0, **kwargs}
    with pytest.raises(error, match=message):
        basics.neuron_field(**arguments)


# ------------------------------------------------------------------------------------- warp


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
    state = basics.warp(model, layer, x, y, extent=(-5, 5, -5, 5), lines=4, samples=7)
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
    assert basics.warp(model, 3, x, y).points.shape == (50, 1)


def test_warp_rejects_bad_input(network):
    model, x, y = network
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.3"):
        basics.warp(model, 4, x, y)
    with pytest.raises(ValueError, match="layer must be a non-negative int"):
        basics.warp(model, -1, x, y)
    with pytest.raises(ValueError, match="x must have 2 columns"):
        basics.warp(model, 1, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="x and y must have the same number"):
        basics.warp(model, 1, x, y[:-1])
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        basics.layer_outputs("not a model", x)
    unbuilt = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="model must be built on a keras.Input"):
        basics.layer_outputs(unbuilt, x)
    with pytest.raises(ValueError, match="points must have 2 columns"):
        basics.layer_outputs(model, np.zeros((4, 3)))


def test_wide_layers_are_refused_by_the_drawing(network):
    _, x, y = network
    wide = keras.Sequential([keras.Input((2,)), layers.Dense(4, "tanh"), layers.Dense(1)])
    with pytest.raises(ValueError, match="draws layers of 1 to 3 units; layer 1 has 4"):
        basics.layer_warp_explorer(wide, x, y)
    with pytest.raises(ValueError, match="draw_warp draws layers of 1 to 3 units"):
        basics.draw_warp(basics.warp(wide, 1, x, y))


# ------------------------------------------------------------------------------------ views


def redraws(explorer, control, value):
    before = bytes(explorer.image.value)  # ipywidgets may hand back a memoryview
    assert before.startswith(PNG_SIGNATURE)
    explorer.controls[control].value = value
    after = bytes(explorer.image.value)
    assert after.startswith(PNG_SIGNATURE) and after != before


def test_activation_explorer_redraws():
    explorer = basics.activation_explorer()
    redraws(explorer, "name", "relu")
    redraws(explorer, "z_range", (-2.0, 8.0))
    redraws(explorer, "threshold", 0.2)
    redraws(explorer, "name", "softmax")


def test_neuron_explorer_redraws_including_w_zero():
    explorer = basics.neuron_explorer()
    redraws(explorer, "w1", 2.0)
    redraws(explorer, "activation", "relu")
    explorer.controls["w1"].value = 0.0
    redraws(explorer, "w2", 0.0)  # no decision line left to draw


def test_layer_warp_explorer_redraws(network):
    model, x, y = network
    explorer = basics.layer_warp_explorer(model, x, y)
    assert explorer.controls["layer"].value == 2 and explorer.controls["layer"].max == 3
    for layer in (0, 1, 3):
        redraws(explorer, "layer", layer)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"w1": 10.0}, r"w1 must be a number in \[-3.0, 3.0\], got 10.0"),
        ({"w2": -3.01}, r"w2 must be a number in \[-3.0, 3.0\], got -3.01"),
        ({"b": 4}, r"b must be a number in \[-3.0, 3.0\], got 4"),
    ],
)
def test_neuron_explorer_refuses_values_its_sliders_cannot_show(kwargs, message):
    with pytest.raises(ValueError, match=message):
        basics.neuron_explorer(**kwargs)


def test_explorers_accept_the_ends_of_their_slider_ranges():
    explorer = basics.neuron_explorer(w1=3.0, w2=-3.0, b=3.0)
    assert [explorer.controls[name].value for name in ("w1", "w2", "b")] == [3.0, -3.0, 3.0]
    assert basics.activation_explorer(threshold=0.25).controls["threshold"].value == 0.25


def test_activation_explorer_refuses_a_threshold_its_slider_cannot_show():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0.005, 0.25\], got 0.5"):
        basics.activation_explorer(threshold=0.5)


def test_views_reject_bad_defaults():
    with pytest.raises(ValueError, match="name must be one of"):
        basics.activation_explorer("swish")
    with pytest.raises(ValueError, match="activation must be one of"):
        basics.neuron_explorer(activation="softmax")
