"""Fast pictures for the Playground: NumPy arrays and PIL straight to PNG, no matplotlib.

Three pictures make one redraw: the network (every neuron's small heatmap, the weights as
lines), the output heatmap with the data points, and the loss curve. Colours follow
TensorFlow Playground: orange for negative values and class 0, blue for positive values and
class 1, a light grey for zero.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mapping_lib.playground.core import BackpropTrace, Heatmaps, PlaygroundCore
from mapping_lib.playground.datasets import PlaneData

ORANGE = np.array([245, 147, 34], np.float32)
GREY = np.array([232, 234, 235], np.float32)
BLUE = np.array([8, 119, 189], np.float32)

# Every picture is a palette ("P") image: heatmaps are already palette indices, and a
# one-byte-per-pixel PNG encodes about five times faster than RGB. Indices 0..SHADES-1 run
# from orange (-1) through grey (0) to blue (+1); the last few are the ink colours.
SHADES = 250
WHITE, INK, FAINT, BLACK, CLASS_0, CLASS_1 = range(SHADES, SHADES + 6)
_SCALE = np.concatenate(
    [
        ORANGE + (GREY - ORANGE) * np.linspace(0, 1, SHADES // 2)[:, None],
        GREY + (BLUE - GREY) * np.linspace(0, 1, SHADES // 2)[:, None],
    ]
)
# Class points are a shade darker than the heatmap's extremes, so they stand out on it.
_INKS = np.array(
    [[255, 255, 255], [40, 40, 40], [150, 150, 150], [0, 0, 0], [214, 116, 0], [4, 88, 146]],
    np.float32,
)
PALETTE = np.concatenate([_SCALE, _INKS]).round().astype(np.uint8)
"""RGB of every palette index, shape (SHADES + 6, 3)."""

NODE = 44  # side of a neuron's heatmap in the network picture, pixels
COLUMN_PITCH = 112
ROW_PITCH = 54
LEFT = 64  # room for the feature names
TOP = 34  # room for the column titles
OUTPUT_SIZE = 300
CURVE_SIZE = (300, 90)

FONT = ImageFont.load_default(size=11)
SMALL = ImageFont.load_default(size=9)


def shade(values: np.ndarray, *, discretize: bool = False) -> np.ndarray:
    """Palette indices (uint8, same shape) for values in [-1, 1]; clipped, NaN shows as 0."""
    values = np.nan_to_num(np.asarray(values, np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    if discretize:
        values = np.where(values >= 0, 1.0, -1.0)
    return np.rint((np.clip(values, -1, 1) + 1) * ((SHADES - 1) / 2)).astype(np.uint8)


def _canvas(size: tuple[int, int]) -> Image.Image:
    image = Image.new("P", size, WHITE)
    image.putpalette(PALETTE.tobytes())
    return image


def _tile(indices: np.ndarray, size: int) -> Image.Image:
    """A heatmap of palette indices resized smoothly to ``size`` pixels.

    Blending indices is blending values, because the colour scale is linear in the value.
    """
    smooth = Image.fromarray(indices, "L").resize((size, size), Image.Resampling.BILINEAR)
    return Image.frombytes("P", smooth.size, smooth.tobytes())


def to_png(image: Image.Image) -> bytes:
    """PNG bytes; low compression because encoding time counts in every redraw."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# ----- the network -----------------------------------------------------------------------------


def _node_positions(sizes: Sequence[int]) -> list[list[tuple[int, int]]]:
    """Top-left corner of every node, column by column."""
    return [
        [(LEFT + c * COLUMN_PITCH, TOP + r * ROW_PITCH) for r in range(count)]
        for c, count in enumerate(sizes)
    ]


def network_image(
    heatmaps: Heatmaps,
    weights: Sequence[tuple[np.ndarray, np.ndarray]],
    feature_names: Sequence[str],
    trace: BackpropTrace | None = None,
) -> Image.Image:
    """The network: a heatmap per neuron, lines for weights (width |w|, colour the sign).

    With a backprop ``trace`` the nodes show dL/dz (colour and number), the input nodes
    dL/dx, and the line widths |dL/dw| of that one example.
    """
    sizes = [len(feature_names), *(kernel.shape[1] for kernel, _ in weights)]
    positions = _node_positions(sizes)
    width = LEFT + (len(sizes) - 1) * COLUMN_PITCH + NODE + 24
    height = TOP + max(sizes) * ROW_PITCH + 18
    image = _canvas((width, height))
    draw = ImageDraw.Draw(image)

    edge_values = [kernel for kernel, _ in weights] if trace is None else trace.grad_kernels
    _draw_edges(draw, positions, edge_values, relative=trace is not None)
    # Features have their own units (x1^2 reaches 36): each input map is scaled to [-1, 1].
    largest_input = np.abs(heatmaps.inputs).max(axis=(1, 2), keepdims=True)
    inputs = heatmaps.inputs / np.maximum(largest_input, 1e-9)
    maps = [inputs, *heatmaps.hidden, heatmaps.output_mini[None]]
    for column, (nodes, column_maps) in enumerate(zip(positions, maps)):
        for row, (x, y) in enumerate(nodes):
            image.paste(_tile(shade(column_maps[row]), NODE), (x, y))
            draw.rectangle([x - 1, y - 1, x + NODE, y + NODE], outline=FAINT)
        if column > 0:
            _draw_biases(draw, nodes, weights[column - 1][1])
    if trace is not None:
        _draw_gradients(draw, positions, trace)

    for (x, y), name in zip(positions[0], feature_names):
        draw.text((x - 6, y + NODE // 2), name, fill=INK, font=FONT, anchor="rm")
    titles = ["features", *(f"{n} neuron{'s' * (n > 1)}" for n in sizes[1:-1]), "output"]
    for nodes, title in zip(positions, titles):
        draw.text((nodes[0][0] + NODE // 2, TOP - 14), title, fill=INK, font=FONT, anchor="mm")
    legend = (
        "backprop: node = dL/dz, input = dL/dx, line width = |dL/dw|"
        if trace is not None
        else "lines: weights, blue > 0, orange < 0, width ~ |w|"
    )
    draw.text((8, height - 6), legend, fill=FAINT, font=SMALL, anchor="ls")
    return image


def _draw_edges(
    draw: ImageDraw.ImageDraw,
    positions: list[list[tuple[int, int]]],
    kernels: Sequence[np.ndarray],
    *,
    relative: bool,
) -> None:
    # Weights use an absolute scale (a weight of 1 is always equally thick); gradients have no
    # natural unit, so they are scaled by the largest one.
    kernels = [np.nan_to_num(k) for k in kernels]
    largest = max((float(np.abs(k).max()) for k in kernels), default=1.0)
    scale = 1.0 / largest if relative and largest > 0 else 1.0 / 1.5
    for (sources, targets), kernel in zip(zip(positions, positions[1:]), kernels):
        strength = np.minimum(np.abs(kernel) * scale, 1.0)
        widths = np.rint(1 + 6 * strength).astype(int)
        colours = shade(np.sign(kernel) * (0.35 + 0.65 * strength)).ravel().tolist()
        for i, (sx, sy) in enumerate(sources):
            for j, (tx, ty) in enumerate(targets):
                start, end = (sx + NODE, sy + NODE // 2), (tx, ty + NODE // 2)
                draw.line([start, end], fill=colours[i * len(targets) + j], width=widths[i, j])


def _draw_biases(
    draw: ImageDraw.ImageDraw, nodes: list[tuple[int, int]], biases: np.ndarray
) -> None:
    """A small square at each node's lower left, coloured by its bias (as in the Playground)."""
    for (x, y), colour in zip(nodes, shade(biases).tolist()):
        draw.rectangle([x - 5, y + NODE - 5, x + 2, y + NODE + 2], fill=colour, outline=INK)


def _draw_gradients(
    draw: ImageDraw.ImageDraw, positions: list[list[tuple[int, int]]], trace: BackpropTrace
) -> None:
    columns = [trace.grad_inputs, *trace.grad_pre_activations]
    largest = max(float(np.max(np.abs(values))) for values in columns) or 1.0
    for nodes, values in zip(positions, columns):
        for (x, y), value, colour in zip(nodes, values, shade(values / largest).tolist()):
            draw.rectangle([x, y, x + NODE - 1, y + NODE - 1], fill=colour)
            draw.text((x + NODE // 2, y + NODE // 2), f"{value:+.1e}", INK, SMALL, "mm")


# ----- the output heatmap --------------------------------------------------------------------


def output_image(
    output: np.ndarray,
    data: PlaneData,
    extent: float,
    *,
    show_test: bool = False,
    discretize: bool = False,
    classification: bool = True,
    highlight: np.ndarray | None = None,
) -> Image.Image:
    """The output over the plane with the training points (white rim) and test points (black).

    ``highlight`` rings one point (the example of the backprop mode).
    """
    margin = 22
    side = OUTPUT_SIZE
    image = _canvas((side + margin + 6, side + margin + 6))
    image.paste(_tile(shade(output, discretize=discretize), side), (margin, 4))
    draw = ImageDraw.Draw(image)

    def pixel(points: np.ndarray) -> np.ndarray:
        scaled = (points / extent + 1) / 2
        return np.stack([margin + scaled[:, 0] * side, 4 + (1 - scaled[:, 1]) * side], axis=1)

    sets = [(data.x_train, data.y_train, WHITE)]
    if show_test:
        sets.append((data.x_test, data.y_test, BLACK))
    for points, targets, rim in sets:
        colours = (
            np.where(targets > 0.5, CLASS_1, CLASS_0) if classification else shade(targets)
        ).tolist()
        for (px, py), colour in zip(pixel(points).tolist(), colours):
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour, outline=rim)
    if highlight is not None:
        ((px, py),) = pixel(np.asarray(highlight, np.float32)[None])
        draw.ellipse([px - 8, py - 8, px + 8, py + 8], outline=INK, width=2)

    for tick in range(-int(extent), int(extent) + 1, 2):
        ((tx, ty),) = pixel(np.array([[tick, tick]], np.float32))
        draw.text((tx, side + 6), str(tick), fill=FAINT, font=SMALL, anchor="mt")
        draw.text((margin - 3, ty), str(tick), fill=FAINT, font=SMALL, anchor="rm")
    return image


# ----- the loss curve ------------------------------------------------------------------------


def loss_curve_image(train: Sequence[float], test: Sequence[float]) -> Image.Image:
    """Training loss (grey) and test loss (black) against epochs, from 0 to the largest loss."""
    width, height = CURVE_SIZE
    image = _canvas(CURVE_SIZE)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width - 1, height - 1], outline=FAINT)
    series = [np.asarray(train, np.float64), np.asarray(test, np.float64)]
    finite = np.concatenate([s[np.isfinite(s)] for s in series])
    if len(series[0]) < 2 or finite.size == 0:
        draw.text((width // 2, height // 2), "loss curve: train to see it", FAINT, FONT, "mm")
        return image
    top = float(finite.max()) or 1.0
    for values, colour in zip(series, (FAINT, INK)):
        x = np.linspace(4, width - 5, len(values))
        y = height - 5 - np.clip(values / top, 0, 1) * (height - 18)
        keep = np.isfinite(y)
        draw.line(list(zip(x[keep], y[keep])), fill=colour, width=2)
    draw.text((6, 4), f"max {top:.3f}", fill=FAINT, font=SMALL)
    draw.text((width - 6, 4), f"{len(series[0])} epochs", fill=FAINT, font=SMALL, anchor="ra")
    return image


# ----- a whole frame -------------------------------------------------------------------------


def frame(
    core: PlaygroundCore, trace: BackpropTrace | None = None
) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The network, output and loss-curve pictures of ``core``'s current state."""
    config = core.config
    heatmaps = core.heatmaps()
    network = network_image(heatmaps, core.weights(), config.features, trace)
    output = output_image(
        heatmaps.output,
        core.data,
        core.extent,
        show_test=config.show_test,
        discretize=config.discretize,
        classification=config.problem == "classification",
        highlight=None if trace is None else trace.point,
    )
    curve = loss_curve_image(core.history["train_loss"], core.history["test_loss"])
    return network, output, curve


def snapshot(core: PlaygroundCore, trace: BackpropTrace | None = None) -> Image.Image:
    """One picture of the current state: the network, then the loss curve over the output.

    A notebook cell that ends with it shows a static image that any book renderer keeps.
    """
    network, output, curve = frame(core, trace)
    gap = 10
    height = max(network.height, curve.height + gap + output.height)
    image = _canvas((network.width + gap + output.width, height))
    image.paste(network, (0, 0))
    image.paste(curve, (network.width + gap, 0))
    image.paste(output, (network.width + gap, curve.height + gap))
    return image
