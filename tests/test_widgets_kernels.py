"""The kernel editor: the cross-correlation, the presets, bad input, and the editing view."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from explorer_helpers import PNG_SIGNATURE

from mapping_lib.widgets import kernels


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, 12, 12), dtype=np.float32)


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


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (2, 4), (5, 5)])
@pytest.mark.parametrize("shape", [(5, 5), (8, 11), (28, 28)])
def test_apply_kernel_is_zero_padded_cross_correlation(shape, size):
    rng = np.random.default_rng(sum(shape) + sum(size))
    image, kernel = rng.normal(size=shape), rng.normal(size=size)
    np.testing.assert_allclose(
        kernels.apply_kernel(image, kernel), correlate_with_zero_padding(image, kernel), atol=1e-4
    )


def test_valid_padding_keeps_the_positions_where_the_kernel_fits():
    image = np.arange(30, dtype=np.float32).reshape(5, 6)
    out = kernels.apply_kernel(image, np.ones((3, 3)), padding="valid")
    assert out.shape == (3, 4)
    assert out[0, 0] == image[:3, :3].sum()
    np.testing.assert_allclose(out, kernels.apply_kernel(image, np.ones((3, 3)))[1:-1, 1:-1])


def test_presets_do_what_their_names_say(images):
    image = images[0]
    flat = np.full((9, 9), 0.7, dtype=np.float32)
    inside = (slice(1, -1), slice(1, -1))  # away from the zero padding
    presets = kernels.KERNEL_PRESETS
    np.testing.assert_array_equal(kernels.apply_kernel(image, presets["identity"]), image)
    for blur in ("box blur", "gaussian blur"):
        assert presets[blur].sum() == pytest.approx(1.0)
        np.testing.assert_allclose(
            kernels.apply_kernel(flat, presets[blur])[inside], 0.7, rtol=1e-6
        )
    assert presets["sharpen"].sum() == pytest.approx(1.0)
    for edge in ("sobel x", "sobel y", "laplacian", "outline"):
        assert presets[edge].sum() == 0
        np.testing.assert_allclose(kernels.apply_kernel(flat, presets[edge])[inside], 0, atol=1e-6)
    # Brightness rising to the right: sobel x sees it (positive), sobel y sees nothing.
    ramp = np.tile(np.arange(9, dtype=np.float32), (9, 1))
    assert np.all(kernels.apply_kernel(ramp, presets["sobel x"])[inside] == 8)
    assert np.all(kernels.apply_kernel(ramp, presets["sobel y"])[inside] == 0)
    with pytest.raises(ValueError, match="read-only"):
        presets["identity"][0, 0] = 1


def test_matching_preset_names_presets_and_custom_kernels():
    for name, kernel in kernels.KERNEL_PRESETS.items():
        assert kernels.matching_preset(kernel) == name
        assert kernels.matching_preset(kernel.astype(np.float64)) == name
        assert kernels.kernel_effect(np.zeros((4, 4)), kernel).preset == name
    assert kernels.matching_preset(np.ones((3, 3))) == kernels.CUSTOM
    assert kernels.matching_preset(np.ones((5, 5))) == kernels.CUSTOM


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
        kernels.apply_kernel(image, kernel, padding=padding)


def test_kernel_effect_figure_has_image_kernel_and_output(images):
    effect = kernels.kernel_effect(images[0], kernels.KERNEL_PRESETS["sharpen"])
    fig = kernels.draw_kernel_effect(effect)
    assert [ax.get_title() for ax in fig.axes][:2] == ["image", "kernel: sharpen"]
    assert len(fig.axes[1].texts) == 9  # every kernel entry is written on its cell


def test_kernel_editor_redraws_on_edits_and_presets(images):
    open_figures = plt.get_fignums()
    editor = kernels.kernel_editor(images, preset="sobel x")
    assert plt.get_fignums() == open_figures
    first = bytes(editor.image.value)
    assert first.startswith(PNG_SIGNATURE)
    assert editor.preset.value == "sobel x"

    editor.controls["k11"].value = 2.5
    assert bytes(editor.image.value) != first
    assert editor.preset.value == kernels.CUSTOM  # no preset has this kernel

    renders = []
    original = editor.render
    editor.render = lambda **values: renders.append(values) or original(**values)
    editor.preset.value = "box blur"
    assert len(renders) == 1  # nine numbers changed, one redraw
    kernel = np.array([renders[0][name] for name in kernels.CELL_NAMES]).reshape(3, 3)
    np.testing.assert_allclose(kernel, kernels.KERNEL_PRESETS["box blur"], rtol=1e-6)

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
        kernels.kernel_editor(images, **kwargs)


def test_kernel_editor_needs_grey_images(images):
    with pytest.raises(ValueError, match=r"images must be grey images of shape \(N, H, W\)"):
        kernels.kernel_editor(images[..., None])
