"""The static kernel editor: its controls, its precomputed pictures and numbers, its refusals."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from explorer_helpers import decoded, inline_rows
from matplotlib.colors import Normalize, to_hex

from mapping_lib.static.kernels import MAX_IMAGES, kernel_view
from mapping_lib.static.views import colormap_png_url
from mapping_lib.widgets.kernels import KERNEL_PRESETS, kernel_effect

IMAGES = np.random.default_rng(1).random((3, 9, 7), dtype=np.float32)


@pytest.fixture(scope="module")
def spec() -> dict:
    return kernel_view(IMAGES, preset="sharpen", index=2).to_dict()


def test_the_controls_offer_every_preset_and_image(spec: dict) -> None:
    params = {param["name"]: param for param in spec["params"]}
    assert params["preset"]["value"] == "sharpen"
    assert params["preset"]["bind"]["options"] == list(KERNEL_PRESETS)
    assert params["image"]["value"] == 2
    assert (params["image"]["bind"]["min"], params["image"]["bind"]["max"]) == (0, 2)
    json.dumps(spec)


def test_every_output_is_the_library_filter_in_the_widget_colours(spec: dict) -> None:
    rows = inline_rows(spec, "output_url")
    assert [(row["image"], row["preset"]) for row in rows] == [
        (i, name) for i in range(len(IMAGES)) for name in KERNEL_PRESETS
    ]
    for row in rows:
        output = kernel_effect(IMAGES[row["image"]], KERNEL_PRESETS[row["preset"]]).output
        reach = np.abs(output).max()
        colours = plt.get_cmap("RdBu_r")(Normalize(-reach, reach)(output))[..., :3]
        np.testing.assert_array_equal(decoded(row["output_url"]), np.round(colours * 255))
        assert (row["low"], row["high"]) == (output.min(), output.max())


def test_the_kernel_cells_hold_the_preset_numbers_and_colours(spec: dict) -> None:
    cells = inline_rows(spec, "fill")
    assert len(cells) == 9 * len(KERNEL_PRESETS)
    for name, kernel in KERNEL_PRESETS.items():
        mine = [cell for cell in cells if cell["preset"] == name]
        grid = np.zeros((3, 3))
        for cell in mine:
            grid[cell["row"], cell["col"]] = cell["value"]
        np.testing.assert_array_equal(grid, kernel)
    sobel = {(c["row"], c["col"]): c for c in cells if c["preset"] == "sobel x"}
    assert sobel[1, 0]["fill"] == "#053061" and sobel[1, 0]["ink"] == "white"  # -2: full blue
    assert sobel[1, 2]["fill"] == "#67001f" and sobel[0, 2]["ink"] == "black"  # 2: full red
    # 0 in the colour imshow gives 0 on a symmetric scale: the output's white.
    assert sobel[1, 1]["fill"] == to_hex(plt.get_cmap("RdBu_r")(Normalize(-2, 2)(0.0)))


def test_the_input_is_drawn_with_dark_ink_over_its_own_range(spec: dict) -> None:
    image = IMAGES[0]
    url = inline_rows(spec, "input_url")[0]["input_url"]
    grey = decoded(url)[..., 0]
    assert grey[np.unravel_index(image.argmax(), image.shape)] == 0
    assert grey[np.unravel_index(image.argmin(), image.shape)] == 255


def test_colormap_urls_follow_imshow_and_refuse_bad_ranges() -> None:
    values = np.array([[0.0, 2.0], [1.0, np.nan]])
    pixels = decoded(colormap_png_url(values, "gray", low=0.0, high=2.0))
    assert pixels.shape == (2, 2, 3)
    assert pixels[0, 0, 0] == 0 and pixels[0, 1, 0] == 255 and pixels[1, 0, 0] == 128
    with pytest.raises(ValueError, match="low must be below high"):
        colormap_png_url(values, "gray", low=1.0, high=1.0)
    with pytest.raises(ValueError, match="values must be a 2-D array"):
        colormap_png_url(np.zeros(3), "gray", low=0.0, high=1.0)


def test_six_digit_sized_images_make_a_small_spec() -> None:
    noise = np.random.default_rng(2).random((6, 28, 28), dtype=np.float32)  # worse than digits
    assert len(json.dumps(kernel_view(noise).to_dict())) < 300_000


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        (IMAGES[:1], {}, "images must hold 2 to 12 images"),
        (np.zeros((MAX_IMAGES + 1, 4, 4)), {}, "images must hold 2 to 12 images"),
        (IMAGES[..., None], {}, r"images must be grey images of shape \(N, H, W\)"),
        (IMAGES, {"preset": "blurry"}, "preset must be one of"),
        (IMAGES, {"index": 3}, "index must be below the number of images 3"),
    ],
)
def test_bad_arguments_are_refused_by_name(images: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kernel_view(images, **kwargs)
