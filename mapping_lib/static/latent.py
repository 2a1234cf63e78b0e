"""The latent-space explorer in the static book: two sliders move a point through an
autoencoder's 2-D code plane; beside the codes of real digits, the decoder's image there.

Python decodes a regular ``steps`` x ``steps`` grid over the box of
:func:`mapping_lib.widgets.applications.latent_extent` with
:func:`~mapping_lib.widgets.applications.decode_grid`; the browser picks the grid point
nearest to ``(z1, z2)`` in closed form (a rounded, clamped index per axis) and shows its
image, so the picture changes in steps of one grid cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np

from mapping_lib import _checks
from mapping_lib.static.views import StaticView, gray_png_url, records, round_range, slider
from mapping_lib.widgets.applications import decode_grid, latent_extent

IMAGE_PX = 196
"""Side of the decoded image on the page, in pixels (7 per pixel of a 28 x 28 digit)."""

PLANE_PX = 300


def grid_index(axis: str, low: float, high: float, steps: int, *, flip: bool = False) -> str:
    """A Vega expression: the index of the grid point nearest to parameter ``axis``.

    Args:
        axis: the parameter (slider) name, ``z1`` or ``z2``.
        low, high: the first and last grid coordinate.
        steps: the number of grid points along the axis.
        flip: count from ``high`` (rows: row 0 is the top of the box, the largest z2).
    """
    spacing = (high - low) / (steps - 1)
    offset = f"({high} - {axis})" if flip else f"({axis} - {low})"
    return f"clamp(round({offset} / {spacing}), 0, {steps - 1})"


def _axis_slider(name: str, low: float, high: float, start: float) -> alt.Parameter:
    # Round steps and ends, so the slider shows short numbers; the start snaps to a step.
    low, high, step = round_range(low, high)
    digits = max(0, -int(np.floor(np.log10(step))))
    return slider(
        name, low, high, step, round(round(float(start) / step) * step, digits), f"{name} "
    )


def latent_view(
    decoder: Any,
    codes: Any,
    labels: Any,
    z: Sequence[float] | None = None,
    *,
    steps: int = 15,
    image_shape: Sequence[int] = (28, 28),
    max_points: int = 2000,
    class_names: Sequence[str] | None = None,
) -> StaticView:
    """The static latent explorer: decoded grid images picked by the ``(z1, z2)`` sliders.

    Args:
        decoder: a Keras model or callable from (N, 2) codes to images in [0, 1].
        codes: the (N, 2) codes of real images, drawn as a scatter for orientation.
        labels: one class label per code (the scatter's colour).
        z: the sliders' starting point, inside the box; default its centre.
        steps: grid points per axis decoded in advance (``steps**2`` images in the spec).
        image_shape: the shape of one decoded image.
        max_points: at most this many codes drawn (evenly spaced through ``codes``).
        class_names: the legend's name for each class number (default: the numbers).
    """
    extent = latent_extent(codes)
    points = np.asarray(codes, dtype=np.float64)
    labels = np.asarray(labels)
    _checks.same_length("codes", points, "labels", labels)
    steps = _checks.positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    max_points = _checks.positive_int("max_points", max_points)
    if class_names is not None:
        known = np.isin(labels, np.arange(len(class_names)))
        if not known.all():
            raise ValueError(
                f"labels must be class numbers below len(class_names) = {len(class_names)}, "
                f"got {labels[~known][0]!r}"
            )
        labels = np.asarray(class_names)[labels.astype(int)]
    x0, x1, y0, y1 = extent
    start = np.array(z if z is not None else ((x0 + x1) / 2, (y0 + y1) / 2), dtype=float)
    if start.shape != (2,):
        raise ValueError(f"z must be a point (z1, z2), got shape {start.shape}")
    _checks.in_range("z[0]", float(start[0]), x0, x1, closed="[]")
    _checks.in_range("z[1]", float(start[1]), y0, y1, closed="[]")

    height, width = (int(v) for v in image_shape)
    tiles = decode_grid(decoder, extent, steps=steps, image_shape=image_shape)
    rows, cols = np.divmod(np.arange(steps * steps), steps)
    urls = [
        gray_png_url(
            tiles[r * height : (r + 1) * height, c * width : (c + 1) * width], low=0, high=1
        )
        for r, c in zip(rows, cols)
    ]
    grid = records(
        {
            "r": rows,
            "c": cols,
            "gz1": np.linspace(x0, x1, steps)[cols],
            "gz2": np.linspace(y1, y0, steps)[rows],  # row 0 is the top, as in decode_grid
            "url": urls,
        }
    )
    shown = np.unique(np.linspace(0, len(points) - 1, min(len(points), max_points)).round())
    shown = shown.astype(int)
    scatter_rows = records(
        {
            "z1": points[shown, 0].round(4),
            "z2": points[shown, 1].round(4),
            "label": labels[shown],
        }
    )
    picked = (
        alt.Chart(alt.InlineData(values=grid))
        .transform_filter(
            f"datum.c == {grid_index('z1', x0, x1, steps)} && "
            f"datum.r == {grid_index('z2', y0, y1, steps, flip=True)}"
        )
        .transform_calculate(
            caption="'decoder((' + format(datum.gz1, '.2f') + ', ' + format(datum.gz2, '.2f') "
            f"+ ')): nearest of {steps} × {steps} grid points'"
        )
    )
    scale_x = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    scale_y = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    codes_layer = (
        alt.Chart(alt.InlineData(values=scatter_rows))
        .mark_circle(size=10, opacity=0.6, clip=True)
        .encode(
            x=alt.X("z1:Q", title="z1", scale=scale_x),
            y=alt.Y("z2:Q", title="z2", scale=scale_y),
            color=alt.Color("label:N", title="class", scale=alt.Scale(scheme="category10")),
        )
    )
    grid_point = picked.mark_square(size=60, filled=False, color="#4d4d4d").encode(
        x=alt.X("gz1:Q", scale=scale_x), y=alt.Y("gz2:Q", scale=scale_y)
    )
    marker = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_calculate(mz1="z1", mz2="z2")
        .mark_point(shape="cross", size=160, filled=True, color="black", stroke="white")
        .encode(x=alt.X("mz1:Q", scale=scale_x), y=alt.Y("mz2:Q", scale=scale_y))
    )
    plane = alt.layer(codes_layer, grid_point, marker).properties(
        width=PLANE_PX, height=PLANE_PX, title="latent codes of real images"
    )
    image = alt.layer(
        picked.mark_image(width=IMAGE_PX, height=IMAGE_PX, smooth=False).encode(
            url="url:N", x=alt.value(IMAGE_PX / 2), y=alt.value(IMAGE_PX / 2)
        ),
        picked.mark_text(dy=-8, fontSize=11).encode(
            text="caption:N", x=alt.value(IMAGE_PX / 2), y=alt.value(0)
        ),
    ).properties(width=IMAGE_PX, height=IMAGE_PX)
    params = [
        _axis_slider("z1", x0, x1, start[0]),
        _axis_slider("z2", y0, y1, start[1]),
    ]
    chart = (
        alt.hconcat(plane, image)
        .add_params(*params)
        .properties(title="Walk through the latent space")
    )
    return StaticView(chart, f"latent explorer: {steps} x {steps} decoded points of the code plane")
