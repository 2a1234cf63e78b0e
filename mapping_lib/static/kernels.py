"""The kernel editor in the static book: pick a preset filter and an image; the image, the
kernel with its nine numbers and the filtered image redraw.

Python filters every image with every preset (:func:`mapping_lib.widgets.kernels.kernel_effect`)
and stores each result as a PNG in the widget's colours; the browser only picks one. Editing
single numbers needs a kernel: that stays the ipywidgets editor's job.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

from mapping_lib import _checks
from mapping_lib.plot import DIVERGING
from mapping_lib.static.views import (
    StaticView,
    choice,
    colormap_png_url,
    image_url,
    records,
    slider,
)
from mapping_lib.widgets.images import checked_images, checked_index
from mapping_lib.widgets.kernels import KERNEL_PRESETS, kernel_effect

MAX_IMAGES = 12
"""The most images one view precomputes (each once per preset) to keep the page light."""

OUTPUT_COLORMAP = DIVERGING + "_r"
"""The widget's colours: ink dark on the input; red positive, blue negative, white 0 after."""

_PANEL_PX = 168  # the side of the image panels, in screen pixels
_CELL_PX = 40  # the side of one kernel entry


def _reach(values: np.ndarray) -> float:
    # A symmetric range around 0, as the widget draws it; an all-zero array still needs a range.
    return float(np.abs(values).max()) or 1.0


def _range(values: np.ndarray) -> dict[str, float]:
    return {"low": float(values.min()), "high": float(values.max())}


def _tables(images: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    inputs = [
        {"image": i, "input_url": image_url(image), **_range(image)}
        for i, image in enumerate(images)
    ]
    outputs = []
    for i, image in enumerate(images):
        for name, kernel in KERNEL_PRESETS.items():
            output = kernel_effect(image, kernel).output
            reach = _reach(output)
            url = colormap_png_url(output, OUTPUT_COLORMAP, low=-reach, high=reach)
            outputs.append({"image": i, "preset": name, "output_url": url, **_range(output)})
    cells = []
    colors = plt.get_cmap(OUTPUT_COLORMAP)
    for name, kernel in KERNEL_PRESETS.items():
        values, limit = kernel.ravel(), _reach(kernel)
        rows, cols = np.indices(kernel.shape)
        cells += records(
            {
                "preset": [name] * kernel.size,
                "row": rows.ravel(),
                "col": cols.ravel(),
                "value": values,
                # The widget's colours and its legible ink on strong cells.
                "fill": [to_hex(colors(0.5 + 0.5 * value / limit)) for value in values],
                "ink": np.where(np.abs(values) > 0.6 * limit, "white", "black"),
            }
        )
    return {"inputs": inputs, "outputs": outputs, "cells": cells}


def _image_panel(
    rows: list[dict[str, Any]], url: str, size: tuple[int, int], keep: str, title: str
) -> alt.LayerChart:
    """The one row of ``rows`` that ``keep`` selects, as its image and its range below."""
    width, height = size
    base = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter(keep)
        .transform_calculate(
            caption=f"'{title}: ' + format(datum.low, '.2f') + ' to ' + format(datum.high, '.2f')"
        )
    )
    image = base.mark_image(
        width=width, height=height, align="left", baseline="top", smooth=False
    ).encode(x=alt.value(0), y=alt.value(0), url=f"{url}:N")
    caption = base.mark_text(align="left", baseline="top", fontSize=11).encode(
        x=alt.value(0), y=alt.value(height + 6), text="caption:N"
    )
    return alt.layer(image, caption).properties(width=width, height=height, title=title)


def _kernel_panel(cells: list[dict[str, Any]]) -> alt.LayerChart:
    base = (
        alt.Chart(alt.Data(values=cells))
        .transform_filter("datum.preset == preset")
        .transform_calculate(text="format(datum.value, '.3~g')")
        .encode(x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None))
    )
    rects = base.mark_rect(stroke="white").encode(color=alt.Color("fill:N", scale=None))
    numbers = base.mark_text(fontSize=13).encode(
        text="text:N", color=alt.Color("ink:N", scale=None)
    )
    side = 3 * _CELL_PX
    return alt.layer(rects, numbers).properties(width=side, height=side, title="kernel")


def kernel_view(images: Any, *, preset: str = "sobel x", index: int = 0) -> StaticView:
    """The static kernel editor: every preset kernel applied to each of ``images``.

    Args:
        images: grey images of shape (N, H, W), from 2 to ``MAX_IMAGES`` of them.
        preset: the preset kernel shown first (one of ``KERNEL_PRESETS``).
        index: the image shown first, a position in ``images``.
    """
    images, _ = checked_images(images, None)
    if images.ndim != 3:
        raise ValueError(f"images must be grey images of shape (N, H, W), got {images.shape}")
    if not 2 <= len(images) <= MAX_IMAGES:
        raise ValueError(
            f"images must hold 2 to {MAX_IMAGES} images (each is filtered with every preset "
            f"ahead of time), got {len(images)}"
        )
    _checks.one_of("preset", preset, KERNEL_PRESETS)
    index = checked_index(index, len(images))
    tables = _tables(images)
    height, width = images.shape[1:]
    pixel = max(1, _PANEL_PX // max(height, width))  # whole screen pixels per image pixel
    size = (pixel * width, pixel * height)

    picked = "datum.image == image"
    panels = [
        _image_panel(tables["inputs"], "input_url", size, picked, "image"),
        _kernel_panel(tables["cells"]),
        # The output's range gives the colours' scale: white 0, full colour ±max|output|.
        _image_panel(
            tables["outputs"], "output_url", size, f"{picked} && datum.preset == preset", "output"
        ),
    ]
    params = [
        choice("preset", list(KERNEL_PRESETS), preset, "preset "),
        slider("image", 0, len(images) - 1, 1, index, "image # "),
    ]
    chart = (
        alt.hconcat(*panels)
        .add_params(*params)
        .properties(title="Kernel editor: a preset filter slides over the image")
        .configure_view(stroke=None)
    )
    description = f"kernel editor: {len(KERNEL_PRESETS)} preset filters on {len(images)} images"
    return StaticView(chart, description)
