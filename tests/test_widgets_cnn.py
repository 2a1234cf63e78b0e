"""Tests for the Chapter 3 explorers: compute functions first, then the thin views.

A tiny untrained CNN is enough: the explorers must show exactly what the layers compute,
whatever the weights are.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import device
from mapping_lib.models import seed_cnn
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import cnn

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHAPE = (12, 12, 1)  # 12 -> conv 10 -> pool 5 -> conv 3 -> pool 1: the seed CNN, small
CLASSES = 3


@pytest.fixture(scope="module", params=["mapping_lib", "keras"])
def tiny_cnn(request) -> keras.Sequential:
    device.seed_everything(0)
    return seed_cnn(SHAPE, CLASSES, layers_from=request.param)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, *SHAPE[:2]), dtype=np.float32)


def correlate_with_zero_padding(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reference: the definition of "same" cross-correlation, in float64 loops."""
    kh, kw = kernel.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2  # TF puts the odd pixel of padding at the end
    padded = np.pad(image.astype(np.float64), [(top, kh - 1 - top), (left, kw - 1 - left)])
    out = np.zeros(image.shape)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            out[i, j] = np.sum(padded[i : i + kh, j : j + kw] * kernel)
    return out


# ----------------------------------------------------------------------------- kernel editor


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (2, 4), (5, 5)])
@pytest.mark.parametrize("shape", [(5, 5), (8, 11), (28, 28)])
def test_apply_kernel_is_zero_padded_cross_correlation(shape, size):
    rng = np.random.default_rng(sum(shape) + sum(size))
    image, kernel = rng.normal(size=shape), rng.normal(size=size)
    np.testing.assert_allclose(
        cnn.apply_kernel(image, kernel), correlate_with_zero_padding(image, kernel), atol=1e-4
    )


def test_valid_padding_keeps_the_positions_where_the_kernel_fits():
    image = np.arange(30, dtype=np.float32).reshape(5, 6)
    out = cnn.apply_kernel(image, np.ones((3, 3)), padding="valid")
    assert out.shape == (3, 4)
    assert out[0, 0] == image[:3, :3].sum()
    np.testing.assert_allclose(out, cnn.apply_kernel(image, np.ones((3, 3)))[1:-1, 1:-1])


def test_presets_do_what_their_names_say(images):
    image = images[0]
    flat = np.full((9, 9), 0.7, dtype=np.float32)
    inside = (slice(1, -1), slice(1, -1))  # away from the zero padding
    presets = cnn.KERNEL_PRESETS
    np.testing.assert_array_equal(cnn.apply_kernel(image, presets["identity"]), image)
    for blur in ("box blur", "gaussian blur"):
        assert presets[blur].sum() == pytest.approx(1.0)
        np.testing.assert_allclose(cnn.apply_kernel(flat, presets[blur])[inside], 0.7, rtol=1e-6)
    assert presets["sharpen"].sum() == pytest.approx(1.0)
    for edge in ("sobel x", "sobel y", "laplacian", "outline"):
        assert presets[edge].sum() == 0
        np.testing.assert_allclose(cnn.apply_kernel(flat, presets[edge])[inside], 0, atol=1e-6)
    # Brightness rising to the right: sobel x sees it (positive), sobel y sees nothing.
    ramp = np.tile(np.arange(9, dtype=np.float32), (9, 1))
    assert np.all(cnn.apply_kernel(ramp, presets["sobel x"])[inside] == 8)
    assert np.all(cnn.apply_kernel(ramp, presets["sobel y"])[inside] == 0)
    with pytest.raises(ValueError, match="read-only"):
        presets["identity"][0, 0] = 1


def test_matching_preset_names_presets_and_custom_kernels():
    for name, kernel in cnn.KERNEL_PRESETS.items():
        assert cnn.matching_preset(kernel) == name
        assert cnn.matching_preset(kernel.astype(np.float64)) == name
        assert cnn.kernel_effect(np.zeros((4, 4)), kernel).preset == name
    assert cnn.matching_preset(np.ones((3, 3))) == cnn.CUSTOM
    assert cnn.matching_preset(np.ones((5, 5))) == cnn.CUSTOM


@pytest.mark.parametrize(
    ("image", "kernel", "padding", "error", "message"),
    [
        (np.zeros(4), np.ones((3, 3)), "same", ValueError, "image must have rank 2"),
        (np.zeros((4, 4)), np.ones(3), "same", ValueError, "kernel must have rank 2"),
        (np.zeros((4, 4)), np.full((3, 3), np.nan), "same", ValueError, "kernel must contain"),
        (np.zeros((4, 4)), np.ones((3, 3)), "full", ValueError, "padding must be one of"),
        (np.zeros((2, 4)), np.ones((3, 3)), "valid", ValueError, "must fit inside the image"),
        ("cat", np.ones((3, 3)), "same", TypeError, "image must be an array of numbers"),
    ],
)
def test_apply_kernel_rejects_bad_arguments(image, kernel, padding, error, message):
    with pytest.raises(error, match=message):
        cnn.apply_kernel(image, kernel, padding=padding)


def test_kernel_effect_figure_has_image_kernel_and_output(images):
    effect = cnn.kernel_effect(images[0], cnn.KERNEL_PRESETS["sharpen"])
    fig = cnn.draw_kernel_effect(effect)
    assert [ax.get_title() for ax in fig.axes][:2] == ["image", "kernel: sharpen"]
    assert len(fig.axes[1].texts) == 9  # every kernel entry is written on its cell


def test_kernel_editor_redraws_on_edits_and_presets(images):
    open_figures = plt.get_fignums()
    editor = cnn.kernel_editor(images, preset="sobel x")
    assert plt.get_fignums() == open_figures
    first = bytes(editor.image.value)
    assert first.startswith(PNG_MAGIC)
    assert editor.preset.value == "sobel x"

    editor.controls["k11"].value = 2.5
    assert bytes(editor.image.value) != first
    assert editor.preset.value == cnn.CUSTOM  # no preset has this kernel

    renders = []
    original = editor.render
    editor.render = lambda **values: renders.append(values) or original(**values)
    editor.preset.value = "box blur"
    assert len(renders) == 1  # nine numbers changed, one redraw
    kernel = np.array([renders[0][name] for name in cnn._CELL_NAMES]).reshape(3, 3)
    np.testing.assert_allclose(kernel, cnn.KERNEL_PRESETS["box blur"], rtol=1e-6)

    blurred = bytes(editor.image.value)
    editor.controls["index"].value = 3
    assert bytes(editor.image.value) != blurred
    assert editor.preset.value == "box blur"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"preset": "blurry"}, ValueError, "preset must be one of"),
        ({"index": 5}, ValueError, "index must be below the number of images 5"),
        ({"index": -1}, ValueError, "index must be a non-negative int"),
    ],
)
def test_kernel_editor_rejects_bad_arguments(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        cnn.kernel_editor(images, **kwargs)


def test_kernel_editor_needs_grey_images(images):
    with pytest.raises(ValueError, match=r"images must be grey images of shape \(N, H, W\)"):
        cnn.kernel_editor(images[..., None])


# ----------------------------------------------------------------------------- feature maps


def test_feature_maps_are_the_conv_layer_outputs(tiny_cnn, images):
    result = cnn.feature_maps(tiny_cnn, images[1])
    x = images[1][None, ..., None]
    expected, convs = [], cnn.conv_layer_indices(tiny_cnn)
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
    with_channel = cnn.feature_maps(tiny_cnn, images[2][..., None])
    raw = cnn.feature_maps(tiny_cnn, images[2], from_logits=False)
    np.testing.assert_allclose(
        with_channel.probabilities, cnn.feature_maps(tiny_cnn, images[2]).probabilities
    )
    # Without from_logits the model's outputs are shown as they are.
    np.testing.assert_allclose(
        tf.nn.softmax(raw.probabilities), with_channel.probabilities, rtol=1e-5
    )


def test_feature_maps_reuse_one_compiled_function(tiny_cnn, images):
    first = cnn.every_layer_output(tiny_cnn)
    for image in images:
        cnn.feature_maps(tiny_cnn, image)
    assert cnn.every_layer_output(tiny_cnn) is first
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
        cnn.feature_maps(tiny_cnn, image)


def test_feature_maps_need_a_model_with_convolutions():
    dense = keras.Sequential(
        [keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    with pytest.raises(ValueError, match="model must contain a Conv2D layer"):
        cnn.feature_maps(dense, np.zeros((12, 12)))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        cnn.feature_maps("cnn", np.zeros((12, 12)))


@pytest.mark.parametrize(
    ("channels", "columns", "grid"),
    [(1, 8, (1, 1)), (5, 2, (3, 2)), (32, 8, (4, 8)), (64, 8, (8, 8))],
)
def test_tile_maps_places_channel_c_at_row_c_div_columns(channels, columns, grid):
    height, width = 4, 3
    maps = np.arange(height * width * channels, dtype=float).reshape(height, width, channels)
    mosaic = cnn.tile_maps(maps, columns)
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
    result = cnn.feature_maps(tiny_cnn, images[0])
    class_names = ["a", "b", "c"]
    fig = cnn.draw_feature_maps(result, class_names=class_names, true_label=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "true class: b"
    assert titles[2:] == ["conv layer 1: 32 maps of 10x10", "conv layer 2: 64 maps of 3x3"]
    marked = {label.get_text(): label.get_color() for label in fig.axes[1].get_yticklabels()}
    assert marked[class_names[result.predicted]] == CLASS_COLORS[1]
    if result.predicted != 1:
        assert marked["b"] == CLASS_COLORS[0]  # the true class, which the network missed
    with pytest.raises(ValueError, match="class_names must name all 3 classes, got 2"):
        cnn.draw_feature_maps(result, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"true_label must be a class index in \[0, 3\), got 3"):
        cnn.draw_feature_maps(result, true_label=3)


def test_feature_map_explorer_redraws_when_the_image_changes(tiny_cnn, images):
    labels = np.array([0, 1, 2, 0, 1])
    open_figures = plt.get_fignums()
    explorer = cnn.feature_map_explorer(tiny_cnn, images, labels, index=4)
    assert plt.get_fignums() == open_figures  # a notebook would show any figure left open
    slider = explorer.controls["index"]
    assert (slider.min, slider.max, slider.value) == (0, 4, 4)
    before = bytes(explorer.image.value)
    assert before.startswith(PNG_MAGIC)
    slider.value = 0
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)
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
        cnn.feature_map_explorer(tiny_cnn, **arguments)
