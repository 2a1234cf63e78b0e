"""The feature-map explorer in the static book: pick a test image and a convolution layer; the
image, that layer's feature maps and the class probabilities redraw.

Python runs every image through the network once
(:func:`mapping_lib.widgets.feature_maps.feature_maps`) and stores each layer's maps as one
mosaic (:func:`~mapping_lib.widgets.feature_maps.tile_maps`) in a PNG, in the widget's
colours; the browser only picks the mosaic and the probabilities of the chosen image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import keras
import matplotlib.pyplot as plt
import numpy as np

from mapping_lib import _checks
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import (
    StaticView,
    choice,
    colormap_png_url,
    image_url,
    records,
    slider,
)
from mapping_lib.widgets.feature_maps import FeatureMaps, feature_maps, tile_maps
from mapping_lib.widgets.images import checked_images, checked_index

MAX_IMAGES = 12
"""The most images one view precomputes: each brings one mosaic per convolution layer."""

MAP_COLORMAP = plt.get_cmap("inferno").with_extremes(bad="white")
"""The widget's colours: black is 0 (after the ReLU); the gaps between tiles are white."""

_MOSAIC_PX = (430, 380)  # the most screen pixels a mosaic may take, across and down
_IMAGE_PX = 140
_CAPTION_PX = 18
_OTHER = "#b3b3b3"  # the bars of the classes not predicted


def map_range(maps: np.ndarray) -> tuple[float, float]:
    """The colour range of one layer's maps, as the widget draws them: from the smaller of
    0 and the lowest value to the highest value (1 if no value is positive)."""
    high = float(maps.max()) if maps.size and maps.max() > 0 else 1.0
    return min(float(maps.min()), 0.0), high


def _by_layer(names: Sequence[str], values: Sequence[int]) -> str:
    # One nested conditional over the chosen layer: `layer == 'a' ? 430 : layer == 'b' ? ...`.
    expression = str(values[-1])
    for name, value in reversed(list(zip(names[:-1], values[:-1]))):
        expression = f"(layer == '{name}' ? {value} : {expression})"
    return expression


def _tables(
    results: list[FeatureMaps], labels: np.ndarray | None, names: list[str], columns: int
) -> dict[str, list[dict[str, Any]]]:
    inputs, mosaics, bars = [], [], []
    for i, result in enumerate(results):
        truth = "" if labels is None else f"true {names[labels[i]]} · "
        inputs.append(
            {
                "image": i,
                "input_url": image_url(result.image),
                "truth": truth,
                "predicted": names[result.predicted],
                "confidence": float(result.probabilities[result.predicted]),
            }
        )
        for layer, maps in zip(result.layer_names, result.maps):
            low, high = map_range(maps)
            url = colormap_png_url(tile_maps(maps, columns), MAP_COLORMAP, low=low, high=high)
            mosaics.append({"image": i, "layer": layer, "maps_url": url, "low": low, "high": high})
        classes = np.arange(len(names))
        bars += records(
            {
                "image": np.full(len(names), i),
                "class": classes,
                "name": names,
                "probability": result.probabilities,
                "fill": np.where(classes == result.predicted, CLASS_COLORS[1], _OTHER),
            }
        )
    return {"inputs": inputs, "mosaics": mosaics, "bars": bars}


def _input_panel(rows: list[dict[str, Any]], size: int) -> alt.LayerChart:
    base = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter("datum.image == image")
        .transform_calculate(
            caption="datum.truth + 'predicted ' + datum.predicted"
            " + ' (P = ' + format(datum.confidence, '.3f') + ')'"
        )
    )
    picture = base.mark_image(
        width=size, height=size, align="left", baseline="top", smooth=False
    ).encode(x=alt.value(0), y=alt.value(0), url="input_url:N")
    caption = base.mark_text(align="left", baseline="top", fontSize=11).encode(
        x=alt.value(0), y=alt.value(size + 6), text="caption:N"
    )
    return alt.layer(picture, caption).properties(width=size, height=size, title="input")


def _mosaic_panel(rows: list[dict[str, Any]], shapes: dict[str, tuple[int, int]]) -> alt.LayerChart:
    # Whole screen pixels per map pixel, the same for every tile of a layer.
    pixels = {
        name: max(1, min(_MOSAIC_PX[0] // width, _MOSAIC_PX[1] // height))
        for name, (height, width) in shapes.items()
    }
    widths = [pixels[name] * width for name, (_, width) in shapes.items()]
    heights = [pixels[name] * height for name, (height, _) in shapes.items()]
    names = list(shapes)
    base = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter("datum.image == image && datum.layer == layer")
        .transform_calculate(
            caption="'colours ' + format(datum.low, '.2f') + ' (black) to '"
            " + format(datum.high, '.2f') + ' (yellow)'"
        )
    )
    mosaic = base.mark_image(
        width=alt.ExprRef(_by_layer(names, widths)),
        height=alt.ExprRef(_by_layer(names, heights)),
        align="left",
        baseline="top",
        smooth=False,
    ).encode(x=alt.value(0), y=alt.value(_CAPTION_PX), url="maps_url:N")
    # The caption goes above the mosaic: the mosaics of the layers differ in height.
    caption = base.mark_text(align="left", baseline="top", fontSize=11).encode(
        x=alt.value(0), y=alt.value(0), text="caption:N"
    )
    return alt.layer(mosaic, caption).properties(
        width=max(widths), height=_CAPTION_PX + max(heights), title="feature maps"
    )


def _bar_panel(rows: list[dict[str, Any]], names: list[str]) -> alt.LayerChart:
    base = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter("datum.image == image")
        .transform_calculate(label="format(datum.probability, '.3f')")
        .encode(
            x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("name:N", title=None, sort=names),
        )
    )
    bars = base.mark_bar().encode(color=alt.Color("fill:N", scale=None))
    numbers = base.mark_text(align="left", dx=3, fontSize=10).encode(text="label:N")
    return alt.layer(bars, numbers).properties(
        width=160, height=14 * len(names), title="class probabilities"
    )


def feature_map_view(
    model: keras.Model,
    images: Any,
    labels: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    index: int = 0,
    layer: str | None = None,
    from_logits: bool = True,
    columns: int = 8,
) -> StaticView:
    """The static feature-map explorer over a few test images.

    Args:
        model: a CNN built on a ``keras.Input`` with at least one Conv2D layer.
        images: from 2 to ``MAX_IMAGES`` images of the model's input shape (grey ones may
            drop the channel axis).
        labels: their true classes, or None.
        class_names: one name per class; None for the class numbers.
        index: the image shown first, a position in ``images``.
        layer: the name of the convolution layer shown first; None for the first one.
        from_logits: whether the model returns logits (True) or probabilities.
        columns: how many feature maps each mosaic row holds.
    """
    images, labels = checked_images(images, labels)
    if not 2 <= len(images) <= MAX_IMAGES:
        raise ValueError(
            f"images must hold 2 to {MAX_IMAGES} images (each is run through the model ahead "
            f"of time), got {len(images)}"
        )
    index = checked_index(index, len(images))
    columns = _checks.positive_int("columns", columns)
    results = [feature_maps(model, image, from_logits=from_logits) for image in images]
    if results[0].image.ndim != 2:
        raise ValueError(
            f"model must take grey images (one channel), got input shape {results[0].image.shape}"
        )
    classes = len(results[0].probabilities)
    names = [str(c) for c in range(classes)] if class_names is None else list(class_names)
    if len(names) != classes:
        raise ValueError(f"class_names must name all {classes} classes, got {len(names)} names")
    if labels is not None and not np.all((labels >= 0) & (labels < classes)):
        raise ValueError(f"labels must be class indices in [0, {classes}), got {labels}")
    layer_names = list(results[0].layer_names)
    layer = _checks.one_of("layer", layer_names[0] if layer is None else layer, layer_names)
    shapes = {
        name: tile_maps(maps, columns).shape for name, maps in zip(layer_names, results[0].maps)
    }
    tables = _tables(results, labels, names, columns)
    labels_of_layers = [
        f"conv layer {number}: {maps.shape[2]} maps of {maps.shape[0]}×{maps.shape[1]}"
        for number, maps in enumerate(results[0].maps, start=1)
    ]
    params = [
        slider("image", 0, len(images) - 1, 1, index, "test image "),
        choice("layer", layer_names, layer, "layer ", labels=labels_of_layers),
    ]
    chart = (
        alt.vconcat(
            alt.hconcat(
                _input_panel(tables["inputs"], _IMAGE_PX), _bar_panel(tables["bars"], names)
            ),
            _mosaic_panel(tables["mosaics"], shapes),
        )
        .add_params(*params)
        .properties(title="Feature-map explorer: what each convolution layer sees")
        .configure_view(stroke=None)
    )
    description = (
        f"feature-map explorer: {len(layer_names)} convolution layers of {model.name} "
        f"on {len(images)} images"
    )
    return StaticView(chart, description)
