"""The feature-map explorer: conv layer outputs, mosaics, bad input, and the view.

A tiny untrained CNN is enough: the explorer must show exactly what the layers compute,
whatever the weights are.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from explorer_helpers import PNG_SIGNATURE

from mapping_lib import device
from mapping_lib.models import seed_cnn
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import feature_maps
from mapping_lib.widgets.probe import every_layer_output

SHAPE = (12, 12, 1)  # 12 -> conv 10 -> pool 5 -> conv 3 -> pool 1: the seed CNN, small
CLASSES = 3


@pytest.fixture(scope="module", params=["mapping_lib", "keras"])
def tiny_cnn(request) -> keras.Sequential:
    device.seed_everything(0)
    return seed_cnn(SHAPE, CLASSES, layers_from=request.param)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, *SHAPE[:2]), dtype=np.float32)


def test_feature_maps_are_the_conv_layer_outputs(tiny_cnn, images):
    result = feature_maps.feature_maps(tiny_cnn, images[1])
    x = images[1][None, ..., None]
    expected, convs = [], feature_maps.conv_layer_indices(tiny_cnn)
    for index, layer in enumerate(tiny_cnn.layers):
        x = layer(x)
        if index in convs:
            expected.append(np.asarray(x[0]))
    assert result.layer_names == tuple(tiny_cnn.layers[i].name for i in convs)
    assert [m.shape for m in result.maps] == [(10, 10, 32), (3, 3, 64)]
    for got, want in zip(result.maps, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    logits = np.asarray(x[0], dtype=np.float64)
    np.testing.assert_allclose(result.probabilities, tf.nn.softmax(logits), rtol=1e-5)
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.predicted == int(np.argmax(logits))
    np.testing.assert_array_equal(result.image, images[1])


def test_feature_maps_accept_a_channel_axis_and_probability_outputs(tiny_cnn, images):
    with_channel = feature_maps.feature_maps(tiny_cnn, images[2][..., None])
    raw = feature_maps.feature_maps(tiny_cnn, images[2], from_logits=False)
    np.testing.assert_allclose(
        with_channel.probabilities, feature_maps.feature_maps(tiny_cnn, images[2]).probabilities
    )
    # Without from_logits the model's outputs are shown as they are.
    np.testing.assert_allclose(
        tf.nn.softmax(raw.probabilities), with_channel.probabilities, rtol=1e-5
    )


def test_feature_maps_reuse_one_compiled_function(tiny_cnn, images):
    first = every_layer_output(tiny_cnn)
    for image in images:
        feature_maps.feature_maps(tiny_cnn, image)
    assert every_layer_output(tiny_cnn) is first
    assert first.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros((28, 28)), ValueError, r"image must have the model's input shape \(12, 12, 1\)"),
        (np.zeros(12), ValueError, "image must have rank 2 or 3"),
        (np.full((12, 12), np.inf), ValueError, "image must contain only finite numbers"),
    ],
)
def test_feature_maps_reject_bad_images(tiny_cnn, image, error, message):
    with pytest.raises(error, match=message):
        feature_maps.feature_maps(tiny_cnn, image)


def test_feature_maps_need_a_model_with_convolutions():
    dense = keras.Sequential(
        [keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    with pytest.raises(ValueError, match="model must contain a Conv2D layer"):
        feature_maps.feature_maps(dense, np.zeros((12, 12)))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        feature_maps.feature_maps("cnn", np.zeros((12, 12)))


@pytest.mark.parametrize(
    ("channels", "columns", "grid"),
    [(1, 8, (1, 1)), (5, 2, (3, 2)), (32, 8, (4, 8)), (64, 8, (8, 8))],
)
def test_tile_maps_places_channel_c_at_row_c_div_columns(channels, columns, grid):
    height, width = 4, 3
    maps = np.arange(height * width * channels, dtype=float).reshape(height, width, channels)
    mosaic = feature_maps.tile_maps(maps, columns)
    rows, cols = grid
    assert mosaic.shape == (rows * (height + 1) - 1, cols * (width + 1) - 1)
    for channel in range(channels):
        top, left = (channel // cols) * (height + 1), (channel % cols) * (width + 1)
        np.testing.assert_array_equal(
            mosaic[top : top + height, left : left + width], maps[..., channel]
        )
    tiles = rows * cols
    assert np.isnan(mosaic).sum() == mosaic.size - channels * height * width
    assert tiles >= channels > tiles - cols


def test_draw_feature_maps_titles_the_layers(tiny_cnn, images):
    result = feature_maps.feature_maps(tiny_cnn, images[0])
    class_names = ["a", "b", "c"]
    fig = feature_maps.draw_feature_maps(result, class_names=class_names, true_label=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "true class: b"
    assert titles[2:] == ["conv layer 1: 32 maps of 10x10", "conv layer 2: 64 maps of 3x3"]
    marked = {label.get_text(): label.get_color() for label in fig.axes[1].get_yticklabels()}
    assert marked[class_names[result.predicted]] == CLASS_COLORS[1]
    if result.predicted != 1:
        assert marked["b"] == CLASS_COLORS[0]  # the true class, which the network missed
    with pytest.raises(ValueError, match="class_names must name all 3 classes, got 2"):
        feature_maps.draw_feature_maps(result, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"true_label must be a class index in \[0, 3\), got 3"):
        feature_maps.draw_feature_maps(result, true_label=3)


def test_feature_map_explorer_redraws_when_the_image_changes(tiny_cnn, images):
    labels = np.array([0, 1, 2, 0, 1])
    open_figures = plt.get_fignums()
    explorer = feature_maps.feature_map_explorer(tiny_cnn, images, labels, index=4)
    assert plt.get_fignums() == open_figures  # a notebook would show any figure left open
    slider = explorer.controls["index"]
    assert (slider.min, slider.max, slider.value) == (0, 4, 4)
    before = bytes(explorer.image.value)
    assert before.startswith(PNG_SIGNATURE)
    slider.value = 0
    assert bytes(explorer.image.value).startswith(PNG_SIGNATURE)
    assert bytes(explorer.image.value) != before


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"labels": np.zeros(4)}, ValueError, "same number of examples, got 5 and 4"),
        ({"index": 9}, ValueError, "index must be below the number of images 5"),
        ({"images": np.zeros((0, 12, 12))}, ValueError, "images must hold at least one image"),
    ],
)
def test_feature_map_explorer_rejects_bad_arguments(tiny_cnn, images, kwargs, error, message):
    arguments = {"images": images, **kwargs}
    with pytest.raises(error, match=message):
        feature_maps.feature_map_explorer(tiny_cnn, **arguments)
