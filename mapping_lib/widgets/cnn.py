"""Chapter 3 explorers: what the filters of a convolutional network do to an image.

Each explorer is a pure compute function (unit-tested, usable on its own in the book), a
drawing function, and a thin :class:`~mapping_lib.widgets.Explorer` view on top.

* :func:`feature_maps` / :func:`feature_map_explorer`: pick a test image and see the output of
  every convolution layer of a network and its class probabilities.
* :func:`apply_kernel` / :func:`kernel_editor`: edit a 3x3 kernel (or pick a classic one) and
  see what it makes of an image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib import layers as ml_layers
from mapping_lib.plot import CLASS_COLORS, DIVERGING
from mapping_lib.widgets import Explorer
from mapping_lib.widgets.basics import _probe as every_layer_output


def _kernel(rows: Sequence[Sequence[float]], scale: float = 1.0) -> np.ndarray:
    kernel = np.asarray(rows, dtype=np.float32) * np.float32(scale)
    kernel.setflags(write=False)  # shared by every caller: nobody may edit a preset in place
    return kernel


KERNEL_PRESETS: Mapping[str, np.ndarray] = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box blur": _kernel([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9),
    "gaussian blur": _kernel([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    # Cross-correlation (what conv layers compute) does not flip the kernel, so sobel x is
    # positive where the image gets brighter from left to right, sobel y from top to bottom.
    "sobel x": _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel y": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "laplacian": _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "outline": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "emboss": _kernel([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
}
"""Classic hand-made 3x3 filters, by name (read-only float32 arrays)."""

CUSTOM = "custom"
"""What the kernel editor's preset menu shows once the kernel matches no preset."""

PADDINGS = ("same", "valid")
_CONV_TYPES = (keras.layers.Conv2D, ml_layers.Conv2D)
_MAP_COLORMAP = "inferno"
_GAP = np.nan  # the space between tiles; imshow leaves NaN pixels blank


# --------------------------------------------------------------------------------------------
# 1. Feature maps of a trained network
# --------------------------------------------------------------------------------------------


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


def _image_axes(ax: Axes, image: np.ndarray, title: str, **imshow: Any) -> None:
    ax.imshow(image, interpolation="nearest", **imshow)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


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
    _image_axes(axes[0], result.image, title, cmap="gray_r")

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
        _image_axes(
            ax,
            mosaic,
            f"conv layer {number}: {channels} maps of {height}x{width}",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )
    fig.tight_layout()
    return fig


def _images_and_labels(images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
    images = _checks.finite_array("images", images, ndim=(3, 4))
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got none")
    if labels is None:
        return images, None
    labels = _checks.finite_array("labels", labels, ndim=1)
    _checks.same_length("images", images, "labels", labels)
    return images, labels.astype(int)


def _index(index: Any, count: int) -> int:
    index = _checks.non_negative_int("index", index)
    if index >= count:
        raise ValueError(f"index must be below the number of images {count}, got {index}")
    return index


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
    images, labels = _images_and_labels(images, labels)
    index = _index(index, len(images))

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


# --------------------------------------------------------------------------------------------
# 2. Kernel editor
# --------------------------------------------------------------------------------------------


def apply_kernel(image: Any, kernel: Any, *, padding: str = "same") -> np.ndarray:
    """Slide ``kernel`` over the grey ``image`` (H, W): the cross-correlation a Conv2D computes.

    ``padding="same"`` pads with zeros so the output has the image's size; "valid" keeps only
    the positions where the kernel lies fully inside the image.
    """
    image = _checks.finite_array("image", image, ndim=2).astype(np.float32)
    kernel = _checks.finite_array("kernel", kernel, ndim=2).astype(np.float32)
    padding = _checks.one_of("padding", padding, PADDINGS)
    if padding == "valid" and (
        kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]
    ):
        raise ValueError(
            f"kernel {kernel.shape} must fit inside the image {image.shape} with padding='valid'"
        )
    output = tf.nn.conv2d(image[None, ..., None], kernel[..., None, None], 1, padding.upper())
    return output.numpy()[0, ..., 0]


@dataclass(frozen=True)
class KernelEffect:
    """An image, a kernel, and the filtered image (same size: zero padding)."""

    image: np.ndarray
    kernel: np.ndarray
    output: np.ndarray

    @property
    def preset(self) -> str:
        """The name of the preset this kernel equals, or ``CUSTOM``."""
        return matching_preset(self.kernel)


def kernel_effect(image: Any, kernel: Any) -> KernelEffect:
    """Filter ``image`` with ``kernel`` (zero padding, output as large as the image)."""
    image = _checks.finite_array("image", image, ndim=2).astype(np.float32)
    kernel = _checks.finite_array("kernel", kernel, ndim=2).astype(np.float32)
    return KernelEffect(image, kernel, apply_kernel(image, kernel))


def matching_preset(kernel: Any) -> str:
    """The name of the preset equal to ``kernel`` (within 1e-6), else ``CUSTOM``."""
    kernel = _checks.finite_array("kernel", kernel, ndim=2)
    for name, preset in KERNEL_PRESETS.items():
        if preset.shape == kernel.shape and np.allclose(preset, kernel, rtol=0, atol=1e-6):
            return name
    return CUSTOM


def draw_kernel_effect(effect: KernelEffect) -> Figure:
    """Three panels: the image, the kernel with its numbers, and the filtered image.

    The output uses a diverging colour scale centred on 0: edge filters answer with both
    signs (red where the kernel's positive side meets ink, blue for the negative side).
    """
    fig, (left, middle, right) = plt.subplots(
        1, 3, figsize=(7.2, 2.5), width_ratios=[1.0, 0.8, 1.0]
    )
    _image_axes(left, effect.image, "image", cmap="gray_r")

    kernel = effect.kernel
    limit = float(np.abs(kernel).max()) or 1.0
    _image_axes(
        middle, kernel, f"kernel: {effect.preset}", cmap=DIVERGING + "_r", vmin=-limit, vmax=limit
    )
    for (row, col), value in np.ndenumerate(kernel):
        strong = abs(value) > 0.6 * limit
        middle.text(
            col,
            row,
            f"{value:.3g}",
            ha="center",
            va="center",
            fontsize=9,
            color="white" if strong else "black",
        )

    output = effect.output
    reach = float(np.abs(output).max()) or 1.0
    _image_axes(
        right,
        output,
        f"output: {output.min():.2f} to {output.max():.2f}",
        cmap=DIVERGING + "_r",
        vmin=-reach,
        vmax=reach,
    )
    fig.tight_layout()
    return fig


_CELL_NAMES = tuple(f"k{row}{col}" for row in range(3) for col in range(3))


def kernel_editor(
    images: Any,
    *,
    preset: str = "sobel x",
    index: int = 0,
) -> Explorer:
    """Nine number boxes hold a 3x3 kernel; a menu loads a preset; a slider picks the image.

    ``images`` has shape (N, H, W) (grey images, e.g. digits). Editing a number redraws the
    filtered image; the menu then shows which preset the kernel equals, or "custom".
    """
    images, _ = _images_and_labels(images, None)
    if images.ndim != 3:
        raise ValueError(f"images must be grey images of shape (N, H, W), got {images.shape}")
    _checks.one_of("preset", preset, KERNEL_PRESETS)
    index = _index(index, len(images))

    cells = {
        name: widgets.FloatText(value=float(value), step=0.1, layout=widgets.Layout(width="72px"))
        for name, value in zip(_CELL_NAMES, KERNEL_PRESETS[preset].ravel())
    }
    picker = widgets.IntSlider(
        value=index, min=0, max=len(images) - 1, description="image #", continuous_update=False
    )
    menu = widgets.Dropdown(options=[*KERNEL_PRESETS, CUSTOM], value=preset, description="preset")

    def render(index: int, **cells: float) -> Figure:
        kernel = np.array([cells[name] for name in _CELL_NAMES]).reshape(3, 3)
        return draw_kernel_effect(kernel_effect(images[index], kernel))

    explorer = Explorer(render, {"index": picker, **cells})
    explorer.preset = menu

    def load_preset(change: Mapping[str, Any]) -> None:
        if change["new"] == CUSTOM:
            return
        values = KERNEL_PRESETS[change["new"]].ravel()
        for name, value in zip(_CELL_NAMES, values):
            cell = cells[name]
            cell.unobserve(explorer.redraw, names="value")  # one redraw for all nine numbers
            cell.value = float(value)
            cell.observe(explorer.redraw, names="value")
        explorer.redraw()

    def show_preset(_change: object) -> None:
        kernel = np.array([cells[name].value for name in _CELL_NAMES]).reshape(3, 3)
        name = matching_preset(kernel)
        if menu.value != name:
            menu.unobserve(load_preset, names="value")
            menu.value = name
            menu.observe(load_preset, names="value")

    menu.observe(load_preset, names="value")
    for cell in cells.values():
        cell.observe(show_preset, names="value")

    grid = widgets.GridBox(
        list(cells.values()),
        layout=widgets.Layout(grid_template_columns="repeat(3, 76px)", grid_gap="4px"),
    )
    heading = widgets.HTML("<b>Kernel editor</b>")
    panel = widgets.VBox([heading, menu, grid, picker], layout=widgets.Layout(min_width="260px"))
    explorer.children = (panel, explorer.image)
    return explorer
