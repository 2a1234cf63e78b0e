"""The neuron explorer: the field over its parameter ranges, bad input, redraws."""

from __future__ import annotations

import numpy as np
import pytest
from explorer_helpers import redraws, reference

from mapping_lib.widgets import neuron
from mapping_lib.widgets.plane import decision_line

BOX = (-3.0, 3.0, -2.0, 2.0)


@pytest.mark.parametrize("activation", neuron.NEURON_ACTIVATIONS)
@pytest.mark.parametrize(
    ("w1", "w2", "b"), [(1, -0.5, 0.5), (0, 0, 2), (-1e3, 1e3, 50), (3, 0, -3)]
)
def test_neuron_field_matches_the_formula(activation, w1, w2, b):
    field = neuron.neuron_field(w1, w2, b, activation, extent=BOX, resolution=21)
    xx, yy = np.meshgrid(field.xs, field.ys)
    expected, _ = reference(activation, w1 * xx + w2 * yy + b)
    assert field.output.shape == (21, 21)
    np.testing.assert_allclose(field.output, expected, rtol=1e-9, atol=1e-9)
    assert field.line == decision_line(w1, w2, b, BOX)


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
        neuron.neuron_field(**arguments)


# ------------------------------------------------------------------------------------- view


def test_neuron_explorer_redraws_including_w_zero():
    explorer = neuron.neuron_explorer()
    redraws(explorer, "w1", 2.0)
    redraws(explorer, "activation", "relu")
    explorer.controls["w1"].value = 0.0
    redraws(explorer, "w2", 0.0)  # no decision line left to draw


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
        neuron.neuron_explorer(**kwargs)


def test_neuron_explorer_accepts_the_ends_of_its_slider_ranges():
    explorer = neuron.neuron_explorer(w1=3.0, w2=-3.0, b=3.0)
    assert [explorer.controls[name].value for name in ("w1", "w2", "b")] == [3.0, -3.0, 3.0]


def test_neuron_explorer_rejects_a_bad_default():
    with pytest.raises(ValueError, match="activation must be one of"):
        neuron.neuron_explorer(activation="softmax")
