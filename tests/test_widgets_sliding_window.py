"""The sliding-window explorer: output sizes and footprints against TensorFlow's convolution."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from mapping_lib.static.sliding_window import window_view
from mapping_lib.widgets.sliding_window import LIMITS, window_explorer, window_geometry


def _tensorflow_footprint(geometry, row: int, col: int) -> tuple[int, np.ndarray]:
    """Output size, and the padded-input cells that move output unit (row, col): one image per
    cell, holding a single 1 there (the padding is written into the input)."""
    side = geometry.size + 2 * geometry.padding
    pulses = tf.reshape(tf.eye(side * side), (side * side, side, side, 1))
    kernel = tf.ones((geometry.kernel, geometry.kernel, 1, 1))
    y = tf.nn.conv2d(pulses, kernel, geometry.stride, "VALID", dilations=geometry.dilation)
    return y.shape[1], y[:, row, col, 0].numpy().reshape(side, side) != 0


SETTINGS = [
    (size, kernel, stride, padding, dilation)
    for size, kernel, stride, padding, dilation in itertools.product(
        (3, 7, 12), (1, 3, 5), (1, 2, 3), (0, 2), (1, 3)
    )
    # TensorFlow's CPU convolution cannot combine strides and dilations above 1.
    if not (stride > 1 and dilation > 1) and dilation * (kernel - 1) + 1 <= size + 2 * padding
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_geometry_equals_tensorflow(settings: tuple[int, ...]) -> None:
    geometry = window_geometry(*settings)
    last = geometry.output_size - 1
    for row, col in {(0, 0), (last, last), (last // 2, last)}:
        size, footprint = _tensorflow_footprint(geometry, row, col)
        assert geometry.output_size == size
        np.testing.assert_array_equal(geometry.covered(row, col), footprint)


def test_strided_and_dilated_taps_are_spread_and_shifted() -> None:
    geometry = window_geometry(9, 3, stride=2, padding=0, dilation=2)
    assert (geometry.span, geometry.output_size) == (5, 3)
    rows, cols = np.nonzero(geometry.covered(1, 2))
    assert sorted(set(rows)) == [2, 4, 6] and sorted(set(cols)) == [4, 6, 8]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 2, "kernel": 1}, r"size must be an int in \[3, 12\], got 2"),
        ({"size": 5, "kernel": 3, "stride": 0}, r"stride must be an int in \[1, 3\]"),
        ({"size": 3, "kernel": 5, "dilation": 3}, "the kernel spans 13 cells"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        window_geometry(**kwargs)
    with pytest.raises(ValueError, match=message):
        window_view(**kwargs)


def test_a_fractional_setting_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="padding must be a non-negative int, got 1.5"):
        window_geometry(5, 3, padding=1.5)


def test_an_output_unit_outside_the_output_is_refused() -> None:
    with pytest.raises(ValueError, match=r"row must be a number in \[0, 2\]"):
        window_geometry(7, 3, stride=2).covered(3, 0)


def test_the_explorer_shrinks_its_unit_sliders_with_the_output() -> None:
    explorer = window_explorer(size=12, kernel=3)
    explorer.controls["row"].value = 9
    explorer.controls["stride"].value = 3  # output 4x4: the row slider moves to 3
    assert explorer.controls["row"].max == 3 and explorer.controls["row"].value == 3
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    explorer.controls["dilation"].value = 3
    explorer.controls["kernel"].value = 5  # spans 13 > 12: a message, not an exception
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


def test_the_static_view_offers_every_setting() -> None:
    spec = window_view(size=9, stride=2).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert set(params) == {*LIMITS, "row", "col"}
    assert (params["size"]["value"], params["stride"]["value"]) == (9, 2)
    for name, (low, high) in LIMITS.items():
        assert (params[name]["bind"]["min"], params[name]["bind"]["max"]) == (low, high)
