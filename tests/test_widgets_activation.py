"""The activation explorer: curves over its parameter ranges, bad input, redraws."""

from __future__ import annotations

import numpy as np
import pytest
from explorer_helpers import redraws, reference

from mapping_lib.widgets import activation


@pytest.mark.parametrize("name", activation.ACTIVATIONS)
@pytest.mark.parametrize("z_range", [(-10, 10), (-1, 1), (0.5, 3), (-10, -9.5)])
@pytest.mark.parametrize("threshold", [0.005, 0.05, 0.25])
def test_activation_curves_match_reference(name, z_range, threshold):
    curves = activation.activation_curves(name, z_range, threshold=threshold, points=101)
    value, slope = reference(name, curves.z)
    assert curves.z[0] == z_range[0] and curves.z[-1] == z_range[1] and len(curves.z) == 101
    np.testing.assert_allclose(curves.value, value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curves.slope, slope, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(curves.dead, slope == 0)
    np.testing.assert_array_equal(curves.saturated, (np.abs(slope) < threshold) & (slope != 0))


def test_regions_tell_saturation_from_dead_units():
    sigmoid = activation.activation_curves("sigmoid", (-10, 10), threshold=0.05)
    # sigmoid' = 0.05 where sigmoid = (1 +- sqrt(0.8)) / 2, i.e. |z| = 2.887
    edge = np.log((1 + np.sqrt(0.8)) / (1 - np.sqrt(0.8)))
    (left_start, left_end), (right_start, right_end) = sigmoid.saturated_intervals
    assert left_start == -10 and right_end == 10
    assert -edge - 0.06 < left_end < -edge and edge < right_start < edge + 0.06
    assert sigmoid.dead_intervals == []
    relu = activation.activation_curves("relu", (-4, 4), points=9)
    assert relu.dead_intervals == [(-4.0, 0.0)]  # slope 0 at z = 0 too, as in TensorFlow
    assert relu.saturated_intervals == []
    leaky = activation.activation_curves("leaky_relu", (-4, 4), points=9, threshold=0.05)
    assert leaky.dead_intervals == [] and leaky.saturated_intervals == [(-4.0, 0.0)]
    linear = activation.activation_curves("linear")
    assert not linear.saturated.any() and not linear.dead.any()


def test_mask_intervals():
    z = np.arange(8.0)
    mask = np.array([1, 1, 0, 1, 0, 0, 1, 1], bool)
    assert activation.mask_intervals(z, mask) == [(0.0, 1.0), (3.0, 3.0), (6.0, 7.0)]
    assert activation.mask_intervals(z, np.zeros(8, bool)) == []


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
        activation.activation_curves(**kwargs)


# ------------------------------------------------------------------------------------- view


def test_activation_explorer_redraws():
    explorer = activation.activation_explorer()
    redraws(explorer, "name", "relu")
    redraws(explorer, "z_range", (-2.0, 8.0))
    redraws(explorer, "threshold", 0.2)
    redraws(explorer, "name", "softmax")


def test_activation_explorer_accepts_the_ends_of_its_threshold_slider():
    for threshold in (0.005, 0.25):
        explorer = activation.activation_explorer(threshold=threshold)
        assert explorer.controls["threshold"].value == threshold


def test_activation_explorer_refuses_a_threshold_its_slider_cannot_show():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0.005, 0.25\], got 0.5"):
        activation.activation_explorer(threshold=0.5)


def test_activation_explorer_rejects_a_bad_default():
    with pytest.raises(ValueError, match="name must be one of"):
        activation.activation_explorer("swish")
