"""The feature-map explorer: what every convolution layer of a network makes of one image.

:func:`feature_maps` runs an image through a CNN once and keeps each Conv2D layer's output
and the class probabilities; :func:`tile_maps` lays a layer's maps out as one mosaic,
:func:`draw_feature_maps` draws them all, and :func:`feature_map_explorer` is the thin
:class:`~mapping_lib.widgets.Explorer` view with a slider over test images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib import layers as ml_layers
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer
from mapping_lib.widgets.images import checked_images, checked_index, image_panel
from mapping_lib.widgets.probe import every_layer_output

_CONV_TYPES = (keras.layers.Conv2D, ml_layers.Conv2D)
_MAP_COLORMAP = "inferno"
_GAP = np.nan  # the space between tiles; imshow leaves NaN pixels blank


@dataclass(frozen=True)
class FeatureMaps:
    """What a CNN makes of one image.

    ``maps[k]`` is the output of the k-th convolution layer (named ``layer_names[k]``), shape
    (height, width, filters), after its activation; ``probabilities`` are the class
    probabilities the network assigns to the image.
    """

    image: np.ndarray
    layer_names: tuple[str, ...]
    maps: tuple[np.ndarray, ...]
    probabilities: np.ndarray

    @property
    def predicted(self) -> int:
        """The class with the highest probability."""
        return int(np.argmax(self.probabilities))


def conv_layer_indices(model: keras.Model) -> list[int]:
    """Positions in ``model.layers`` of the 2-D convolutions (Keras' or mapping_lib's)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    return [i for i, layer in enumerate(model.layers) if isinstance(layer, _CONV_TYPES)]


def _model_image(model: keras.Model, image: Any) -> np.ndarray:
    """``image`` as float32 (H, W, C) for ``model``; a grey (H, W) image gains its channel."""
    array = _checks.finite_array("image", image, ndim=(2, 3)).astype(np.float32)
    if array.ndim == 2:
        array = array[..., None]
    expected = tuple(model.inputs[0].shape[1:])
    if array.shape != expected:
        grey = f" (or {expected[:2]})" if expected[-1] == 1 else ""
        raise ValueError(
            f"image must have the model's input shape {expected}{grey}, got {np.shape(image)}"
        )
    return array


def feature_maps(model: keras.Model, image: Any, *, from_logits: bool = True) -> FeatureMaps:
    """Run ``image`` through ``model`` once and keep every convolution layer's output.

    ``model`` must be built on a ``keras.Input`` and contain at least one Conv2D. Its outputs
    are logits (``from_logits=True``, turned into probabilities with softmax) or already
    probabilities. The call goes through a cached ``tf.function`` (about a millisecond), never
    ``model.predict``.
    """
    conv = conv_layer_indices(model)
    if not conv:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"model must contain a Conv2D layer, got layers {names}")
    if not isinstance(from_logits, bool):
        raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
    x = _model_image(model, image)
    outputs = every_layer_output(model)(x[None])
    scores = np.asarray(outputs[-1][0], dtype=np.float64)
    if from_logits:
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
    return FeatureMaps(
        image=x[..., 0] if x.shape[-1] == 1 else x,
        layer_names=tuple(model.layers[i].name for i in conv),
        maps=tuple(np.asarray(outputs[i][0]) for i in conv),
        probabilities=scores,
    )


def tile_maps(maps: Any, columns: int = 8) -> np.ndarray:
    """Lay the channels of ``maps`` (height, width, channels) out as one 2-D mosaic.

    Channel c goes to row ``c // columns``, column ``c % columns``; tiles are separated by a
    one-pixel NaN gap (blank in ``imshow``), and unused tiles of the last row are NaN too.
    """
    maps = _checks.finite_array("maps", maps, ndim=3)
    columns = _checks.positive_int("columns", columns)
    height, width, channels = maps.shape
    columns = min(columns, channels)
    rows = math.ceil(channels / columns)
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), _GAP)
    for channel in range(channels):
        top, left = (channel // columns) * (height + 1), (channel % columns) * (width + 1)
        mosaic[top : top + height, left : left + width] = maps[..., channel]
    return mosaic


def draw_feature_maps(
    result: FeatureMaps,
    *,
    class_names: Sequence[str] | None = None,
    true_label: int | None = None,
    columns: int = 8,
) -> Figure:
    """The image, its class probabilities, and one mosaic of feature maps per conv layer.

    Within a layer all maps share one colour scale (black = 0), so a filter that barely
    responds to this image shows as a dark tile.
    """
    probabilities = result.probabilities
    names = (
        [str(c) for c in range(len(probabilities))] if class_names is None else list(class_names)
    )
    if len(names) != len(probabilities):
        raise ValueError(
            f"class_names must name all {len(probabilities)} classes, got {len(names)} names"
        )
    if true_label is not None and not 0 <= int(true_label) < len(names):
        raise ValueError(
            f"true_label must be a class index in [0, {len(names)}), got {true_label!r}"
        )
    mosaics = [tile_maps(maps, columns) for maps in result.maps]
    ratios = [1.0, 1.1] + [m.shape[1] / m.shape[0] for m in mosaics]
    fig, axes = plt.subplots(
        1, len(ratios), figsize=(2.4 * sum(ratios) + 0.6, 2.9), width_ratios=ratios
    )
    title = "input" if true_label is None else f"true class: {names[int(true_label)]}"
    image_panel(axes[0], result.image, title, cmap="gray_r")

    bars = axes[1]
    colors = ["0.7"] * len(names)
    colors[result.predicted] = CLASS_COLORS[1]
    positions = np.arange(len(names))
    bars.barh(positions, probabilities, color=colors)
    bars.set_yticks(positions, names, fontsize=7)
    # A wrong answer may leave the true class without a visible bar: its name is marked instead.
    marked = {result.predicted: CLASS_COLORS[1]}
    if true_label is not None and int(true_label) != result.predicted:
        marked[int(true_label)] = CLASS_COLORS[0]
    for index, color in marked.items():
        bars.get_yticklabels()[index].set(color=color, fontweight="bold")
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_title(
        f"predicted: {names[result.predicted]} (P = {probabilities[result.predicted]:.3f})",
        fontsize=10,
    )
    bars.tick_params(axis="x", labelsize=7)

    for number, (ax, maps, mosaic) in enumerate(zip(axes[2:], result.maps, mosaics), start=1):
        cmap = plt.get_cmap(_MAP_COLORMAP).with_extremes(bad="white")
        vmax = float(maps.max()) if maps.size and maps.max() > 0 else 1.0
        vmin = min(float(maps.min()), 0.0)
        height, width, channels = maps.shape
        image_panel(
            ax,
            mosaic,
            f"conv layer {number}: {channels} maps of {height}x{width}",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )
    fig.tight_layout()
    return fig


def feature_map_explorer(
    model: keras.Model,
    images: Any,
    labels: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    index: int = 0,
    from_logits: bool = True,
) -> Explorer:
    """A slider over ``images``; each step shows every conv layer's maps and the probabilities."""
    images, labels = checked_images(images, labels)
    index = checked_index(index, len(images))

    def render(index: int) -> Figure:
        result = feature_maps(model, images[index], from_logits=from_logits)
        true_label = None if labels is None else labels[index]
        return draw_feature_maps(result, class_names=class_names, true_label=true_label)

    feature_maps(model, images[index], from_logits=from_logits)  # reject bad input up front
    controls = {
        "index": widgets.IntSlider(
            value=index,
            min=0,
            max=len(images) - 1,
            description="test image",
            continuous_update=False,
        )
    }
    return Explorer(render, controls, title="Feature-map explorer")
