"""The layer-warp explorer: a grid and the data pushed through the first layers of a network.

:func:`warp` bends a grid of straight lines of the input plane, and the data, through the
first ``layer`` layers of a trained network; :func:`draw_warp` draws one stage,
:func:`warp_overview` all of them side by side, and :func:`layer_warp_explorer` is the thin
:class:`~mapping_lib.widgets.Explorer` view with a slider over the layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer
from mapping_lib.widgets.plane import Extent, Segment, checked_extent, decision_line
from mapping_lib.widgets.probe import layer_outputs, layer_widths


@dataclass(frozen=True)
class WarpState:
    """The data and a grid after the first ``layer`` layers (``layer = 0``: the input plane).

    ``lines`` has shape (number of grid lines, samples per line, units): each row was a
    straight horizontal or vertical line of the input plane. ``readout`` is the decision line
    of the next layer when that layer is the single-unit output and this layer is 2-D.
    """

    layer: int
    name: str
    points: np.ndarray
    labels: np.ndarray
    lines: np.ndarray
    bounds: Extent
    readout: Segment | None

    @property
    def units(self) -> int:
        """The dimension of this representation."""
        return self.points.shape[1]


def _grid_lines(extent: Extent, lines: int, samples: int) -> np.ndarray:
    """Horizontal then vertical lines across ``extent``: shape (2 * lines, samples, 2)."""
    x0, x1, y0, y1 = extent
    along_x, along_y = np.linspace(x0, x1, samples), np.linspace(y0, y1, samples)
    horizontal = [np.stack([along_x, np.full(samples, y)], 1) for y in np.linspace(y0, y1, lines)]
    vertical = [np.stack([np.full(samples, x), along_y], 1) for x in np.linspace(x0, x1, lines)]
    return np.array(horizontal + vertical, dtype=np.float32)


def _describe(model: keras.Model, layer: int) -> str:
    if layer == 0:
        return "input"
    unit = model.layers[layer - 1]
    units = getattr(unit, "units", None)
    activation = getattr(getattr(unit, "activation", None), "name", None)
    size = f"{units} unit{'' if units == 1 else 's'}" if units else None
    details = ", ".join(part for part in (size, activation) if part)
    return f"layer {layer}: {unit.name}" + (f" ({details})" if details else "")


def warp(
    model: keras.Model,
    layer: int,
    x: np.ndarray,
    y: np.ndarray,
    *,
    extent: Extent | None = None,
    lines: int = 13,
    samples: int = 60,
) -> WarpState:
    """Push the data ``x`` and a grid of straight lines through the first ``layer`` layers.

    The grid covers ``extent`` (default: the data's bounding box plus a margin). Everything
    goes through the model in one call of a cached ``tf.function``, never ``model.predict``,
    whose fixed cost per call would make a slider lag.
    """
    x = _checks.finite_array("x", x, ndim=2)
    y = np.asarray(y)
    _checks.same_length("x", x, "y", y)
    if x.shape[1] != 2:
        raise ValueError(f"x must have 2 columns (points in the plane), got shape {x.shape}")
    depth = len(model.layers) if isinstance(model, keras.Model) else 0
    layer = _checks.non_negative_int("layer", layer)
    if layer > depth:
        raise ValueError(f"layer must be in 0..{depth} (0 is the input), got {layer}")
    lines = _checks.positive_int("lines", lines)
    samples = _checks.positive_int("samples", samples)
    if extent is None:
        margin = 0.1 * float(np.ptp(x, axis=0).max() or 1.0)
        low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
        extent = (low[0], high[0], low[1], high[1])
    grid = _grid_lines(checked_extent("extent", extent), lines, samples)
    stages = layer_outputs(model, np.concatenate([x, grid.reshape(-1, 2)]))
    stage = stages[layer]
    points, warped = stage[: len(x)], stage[len(x) :].reshape(len(grid), samples, -1)
    everything = np.concatenate([points, warped.reshape(-1, stage.shape[1])])
    low, high = everything.min(axis=0), everything.max(axis=0)
    pad = 0.05 * np.maximum(high - low, 1e-6)
    bounds = (float(low[0] - pad[0]), float(high[0] + pad[0]), 0.0, 1.0)
    if stage.shape[1] >= 2:
        bounds = (*bounds[:2], float(low[1] - pad[1]), float(high[1] + pad[1]))
    return WarpState(
        layer, _describe(model, layer), points, y, warped, bounds, _readout(model, layer, bounds)
    )


def _readout(model: keras.Model, layer: int, bounds: Extent) -> Segment | None:
    """The output unit's decision line, drawn in the last hidden layer's plane."""
    if layer != len(model.layers) - 1:
        return None
    kernel = getattr(model.layers[layer], "kernel", None)
    if kernel is None or tuple(kernel.shape) != (2, 1):
        return None
    (w1,), (w2,) = np.asarray(kernel)
    bias = float(np.asarray(model.layers[layer].bias)[0])
    return decision_line(float(w1), float(w2), bias, bounds)


def draw_warp(state: WarpState, ax: Axes | None = None) -> Figure:
    """Draw a 1-, 2- or 3-unit representation: warped grid lines, the data, the readout line."""
    units = state.units
    if units > 3:
        raise ValueError(f"draw_warp draws layers of 1 to 3 units, layer {state.layer} has {units}")
    if ax is None:
        fig = plt.figure(figsize=(5.0, 4.4))
        ax = fig.add_subplot(projection="3d" if units == 3 else None)
    elif (units == 3) != (ax.name == "3d"):
        raise ValueError(f"ax must be {'a 3d' if units == 3 else 'a 2-D'} Axes for {units} units")
    colors = np.array(CLASS_COLORS)[np.searchsorted(np.unique(state.labels), state.labels) % 2]
    if units == 1:
        # One number per point: spread the classes on two rows, the threshold is logit 0.
        rows = np.searchsorted(np.unique(state.labels), state.labels)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(rows))
        ax.scatter(state.points[:, 0], rows + jitter, c=colors, s=10)
        ax.axvline(0, color="k", lw=1.5)
        ax.set_yticks(range(len(np.unique(state.labels))))
        ax.set_ylabel("class")
        ax.set_xlabel("output (logit); class 1 where > 0")
    else:
        half = len(state.lines) // 2
        for index, line in enumerate(state.lines):
            ax.plot(*line.T, color="#7f9cb8" if index < half else "#c9a98f", lw=0.7, alpha=0.8)
        ax.scatter(*state.points.T, c=colors, s=9, edgecolors="white", linewidths=0.2)
        if state.readout is not None:
            (xa, ya), (xb, yb) = state.readout
            ax.plot([xa, xb], [ya, yb], color="k", lw=2, label="output unit: w·h + b = 0")
            ax.legend(loc="lower left", fontsize=8)
        if units == 2:
            ax.set_xlim(*state.bounds[:2])
            ax.set_ylim(*state.bounds[2:])
            ax.set_xlabel("unit 1")
            ax.set_ylabel("unit 2")
    ax.set_title(state.name, fontsize=10)
    return ax.figure


def warp_overview(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, extent: Extent | None = None
) -> Figure:
    """Every stage of :func:`warp` side by side, from the input plane to the output."""
    depth = len(model.layers)
    fig = plt.figure(figsize=(3.6 * (depth + 1), 3.6))
    for layer in range(depth + 1):
        state = warp(model, layer, x, y, extent=extent)
        ax = fig.add_subplot(1, depth + 1, layer + 1, projection="3d" if state.units == 3 else None)
        draw_warp(state, ax)
    fig.tight_layout()
    return fig


def layer_warp_explorer(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    layer: int | None = None,
    extent: Extent | None = None,
) -> Explorer:
    """A slider over the layers of ``model``; each step shows the grid after that many layers.

    Starts at the last hidden layer (``layer=None``), where the classes should have become
    linearly separable.
    """
    depth = len(model.layers) if isinstance(model, keras.Model) else 0
    start = max(depth - 1, 0) if layer is None else layer
    warp(model, start, x, y, extent=extent)  # reject bad arguments before building widgets
    for index, units in enumerate(layer_widths(model)):
        if units > 3:
            raise ValueError(
                f"layer_warp_explorer draws layers of 1 to 3 units; layer {index} has {units}"
            )
    controls = {
        "layer": widgets.IntSlider(
            value=start, min=0, max=depth, description="layers", continuous_update=False
        )
    }

    def render(layer: int) -> Figure:
        return draw_warp(warp(model, layer, x, y, extent=extent))

    return Explorer(render, controls, title="Layer-warp explorer")
