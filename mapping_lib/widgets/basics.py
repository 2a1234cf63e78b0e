"""Chapter 1 explorers: an activation function, a single neuron, layers warping the plane.

Each explorer is a pure compute function (unit-tested, usable on its own in the book)
plus a drawing function and a thin :class:`~mapping_lib.widgets.Explorer` view on top.

* :func:`activation_curves` / :func:`activation_explorer`: ``f``, ``f'`` and where the
  slope is too small (saturated) or exactly zero (dead).
* :func:`neuron_field` / :func:`neuron_explorer`: ``a = f(w . x + b)`` over the plane and the
  line ``w . x + b = 0`` where the neuron changes its mind.
* :func:`warp` / :func:`layer_warp_explorer`: a grid and the data pushed through the first
  ``k`` layers of a trained network.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from mapping_lib import _checks, activations, train
from mapping_lib.plot import CLASS_COLORS, DIVERGING
from mapping_lib.widgets import Explorer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear")
"""Names the activation explorer offers (the library's activations)."""

NEURON_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")
"""Softmax normalises across several units, so a single neuron cannot use it."""

Z_LIMIT = 10.0
"""The activation explorer stays in [-Z_LIMIT, Z_LIMIT]: beyond it tanh' = 1 - tanh^2 rounds
to exactly 0 even in float64, which would paint saturation as a dead region."""

Extent = tuple[float, float, float, float]
Segment = tuple[tuple[float, float], tuple[float, float]]

THRESHOLD_RANGE = (0.005, 0.25)
"""The activation explorer's range of saturation thresholds (its slider)."""

NEURON_LIMIT = 3.0
"""The neuron explorer's sliders span [-NEURON_LIMIT, NEURON_LIMIT] for w1, w2 and b."""

_SATURATED_COLOR = "0.82"
_DEAD_COLOR = "#e8a0a0"


def _extent(name: str, value: Any) -> Extent:
    """Check a plotting box (x0, x1, y0, y1) with x0 < x1 and y0 < y1."""
    box = _checks.finite_array(name, value, ndim=1)
    if box.shape != (4,) or not (box[0] < box[1] and box[2] < box[3]):
        raise ValueError(f"{name} must be (x0, x1, y0, y1) with x0 < x1 and y0 < y1, got {value!r}")
    return tuple(float(v) for v in box)


def _number(name: str, value: Any) -> float:
    """Check one finite real number (a weight, a bias)."""
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    return float(_checks.finite_array(name, value))


def mask_intervals(z: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """The runs of consecutive ``True`` in ``mask`` as (first z, last z) pairs, left to right."""
    z, mask = np.asarray(z), np.asarray(mask, dtype=bool)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(z[i]), float(z[j])) for i, j in zip(starts, stops)]


# --------------------------------------------------------------------------------------------
# 1. Activation explorer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivationCurves:
    """``f`` and ``f'`` of one activation on a grid of inputs ``z``.

    ``saturated`` marks where ``0 < |f'(z)| < threshold``: a gradient passing back through the
    unit shrinks by more than that factor. ``dead`` marks where ``f'(z) == 0`` exactly: no
    gradient passes at all, so a unit that only ever sees such inputs never learns.
    Softmax acts on a vector; here it is the first output of ``softmax([z, 0])``.
    """

    name: str
    z: np.ndarray
    value: np.ndarray
    slope: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray
    threshold: float

    @property
    def saturated_intervals(self) -> list[tuple[float, float]]:
        """Saturated stretches of the z axis as (start, end) pairs."""
        return mask_intervals(self.z, self.saturated)

    @property
    def dead_intervals(self) -> list[tuple[float, float]]:
        """Dead stretches of the z axis as (start, end) pairs."""
        return mask_intervals(self.z, self.dead)


def activation_curves(
    name: str,
    z_range: Sequence[float] = (-6.0, 6.0),
    *,
    threshold: float = 0.05,
    points: int = 401,
) -> ActivationCurves:
    """Evaluate activation ``name`` and its derivative on ``points`` inputs spanning ``z_range``.

    Computed in float64 with the library's own ``Activation`` (value and ``derivative``), so
    the picture shows exactly what the layers use.
    """
    _checks.one_of("name", name, ACTIVATIONS)
    low, high = _z_range(z_range)
    threshold = _checks.positive_float("threshold", threshold)
    points = _checks.positive_int("points", points)
    if points < 2:
        raise ValueError(f"points must be at least 2 to span z_range, got {points}")
    z = np.linspace(low, high, points)
    activation = activations.get(name)
    if name == "softmax":
        # The two-class case: softmax([z, 0])[0] = sigmoid(z), a curve one can plot.
        logits = np.stack([z, np.zeros_like(z)], axis=1)
        value = np.asarray(activation(logits))[:, 0]
        slope = np.asarray(activation.derivative(logits))[:, 0]
    else:
        value = np.asarray(activation(z))
        slope = np.asarray(activation.derivative(z))
    dead = slope == 0
    saturated = (np.abs(slope) < threshold) & ~dead
    return ActivationCurves(name, z, value, slope, saturated, dead, threshold)


def _z_range(z_range: Any) -> tuple[float, float]:
    pair = _checks.finite_array("z_range", z_range, ndim=1)
    if pair.shape != (2,) or not pair[0] < pair[1]:
        raise ValueError(f"z_range must be (low, high) with low < high, got {z_range!r}")
    if np.abs(pair).max() > Z_LIMIT:
        raise ValueError(
            f"z_range must lie within [-{Z_LIMIT:g}, {Z_LIMIT:g}], got {tuple(pair.tolist())}"
        )
    return float(pair[0]), float(pair[1])


def draw_activation(
    curves: ActivationCurves, axes: Sequence[Axes] | None = None, *, legend: bool = True
) -> Figure:
    """Plot ``f`` (top) and ``f'`` (bottom) into ``axes``, shading saturated and dead z."""
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(5.5, 4.6), sharex=True)
    top, bottom = axes
    for ax in (top, bottom):
        for start, end in curves.saturated_intervals:
            ax.axvspan(start, end, color=_SATURATED_COLOR, lw=0)
        for start, end in curves.dead_intervals:
            ax.axvspan(start, end, color=_DEAD_COLOR, lw=0)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.axvline(0, color="0.5", lw=0.6)
    top.plot(curves.z, curves.value, color=CLASS_COLORS[1], lw=2)
    bottom.plot(curves.z, curves.slope, color=CLASS_COLORS[0], lw=2)
    label = "softmax([z, 0])[0]" if curves.name == "softmax" else f"{curves.name}(z)"
    top.set_ylabel(label)
    bottom.set_ylabel("derivative")
    bottom.set_xlabel("z")
    bottom.set_xlim(curves.z[0], curves.z[-1])
    if legend:
        bottom.legend(
            handles=[
                Patch(color=_SATURATED_COLOR, label=f"saturated: 0 < |f'| < {curves.threshold:g}"),
                Patch(color=_DEAD_COLOR, label="dead: f' = 0"),
            ],
            loc="best",
            fontsize=8,
        )
    top.set_title(f"{curves.name}: value and slope")
    fig = top.figure
    fig.tight_layout()
    return fig


def activation_explorer(
    name: str = "sigmoid", z_range: Sequence[float] = (-6.0, 6.0), threshold: float = 0.05
) -> Explorer:
    """Pick an activation and an input range; see ``f``, ``f'`` and the shaded regions.

    ``threshold`` must lie in ``THRESHOLD_RANGE``, the slider's range.
    """
    activation_curves(name, z_range, threshold=threshold)  # reject bad defaults up front
    # A slider clamps a value outside its range silently; refuse it instead.
    _checks.in_range("threshold", threshold, *THRESHOLD_RANGE, closed="[]")
    controls = {
        "name": widgets.Dropdown(options=ACTIVATIONS, value=name, description="f"),
        "z_range": widgets.FloatRangeSlider(
            value=tuple(z_range), min=-Z_LIMIT, max=Z_LIMIT, step=0.5, description="z range"
        ),
        "threshold": widgets.FloatSlider(
            value=threshold,
            min=THRESHOLD_RANGE[0],
            max=THRESHOLD_RANGE[1],
            step=0.005,
            readout_format=".3f",
            description="|f'| <",
        ),
    }

    def render(name: str, z_range: tuple[float, float], threshold: float) -> Figure:
        return draw_activation(activation_curves(name, z_range, threshold=threshold))

    return Explorer(render, controls, title="Activation explorer")


# --------------------------------------------------------------------------------------------
# 2. Neuron explorer
# --------------------------------------------------------------------------------------------


def decision_line(w1: float, w2: float, b: float, extent: Extent) -> Segment | None:
    """The part of the line ``w1*x + w2*y + b = 0`` inside ``extent``, as two end points.

    Returns None when ``w = 0`` (the neuron's output is the same everywhere, so it draws no
    line) or when the line misses the box.
    """
    w1, w2, b = (_number(name, value) for name, value in (("w1", w1), ("w2", w2), ("b", b)))
    x0, x1, y0, y1 = _extent("extent", extent)
    if w1 == 0 and w2 == 0:
        return None
    hits = []
    if w2 != 0:  # crossings of the left and right edges
        hits += [(x, -(b + w1 * x) / w2) for x in (x0, x1)]
    if w1 != 0:  # crossings of the bottom and top edges
        hits += [(-(b + w2 * y) / w1, y) for y in (y0, y1)]
    slack = 1e-9 * max(x1 - x0, y1 - y0)
    inside = [
        (x, y) for x, y in hits if x0 - slack <= x <= x1 + slack and y0 - slack <= y <= y1 + slack
    ]
    if len(inside) < 2:
        return None
    # A line through a corner hits two edges there; the two points farthest apart are the ends.
    pairs = [(p, q) for i, p in enumerate(inside) for q in inside[i + 1 :]]
    p, q = max(pairs, key=lambda pq: np.hypot(pq[0][0] - pq[1][0], pq[0][1] - pq[1][1]))
    if np.hypot(p[0] - q[0], p[1] - q[1]) <= slack:  # the line only touches a corner
        return None
    clip = lambda x, y: (float(np.clip(x, x0, x1)), float(np.clip(y, y0, y1)))  # noqa: E731
    return clip(*p), clip(*q)


@dataclass(frozen=True)
class NeuronField:
    """A single neuron's output over a grid of the plane.

    ``output[i, j]`` is ``f(w . (xs[j], ys[i]) + b)`` (rows follow y, as ``imshow`` expects);
    ``line`` is the decision line ``w . x + b = 0`` inside ``extent`` or None.
    """

    weights: tuple[float, float]
    bias: float
    activation: str
    extent: Extent
    xs: np.ndarray
    ys: np.ndarray
    output: np.ndarray
    line: Segment | None


def neuron_field(
    w1: float,
    w2: float,
    b: float,
    activation: str = "sigmoid",
    *,
    extent: Extent = (-3.0, 3.0, -3.0, 3.0),
    resolution: int = 101,
) -> NeuronField:
    """Evaluate ``a = activation(w1*x + w2*y + b)`` on a ``resolution`` x ``resolution`` grid."""
    _checks.one_of("activation", activation, NEURON_ACTIVATIONS)
    extent = _extent("extent", extent)
    resolution = _checks.positive_int("resolution", resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    line = decision_line(w1, w2, b, extent)
    xs = np.linspace(extent[0], extent[1], resolution)
    ys = np.linspace(extent[2], extent[3], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    output = np.asarray(activations.get(activation)(w1 * grid_x + w2 * grid_y + float(b)))
    return NeuronField((float(w1), float(w2)), float(b), activation, extent, xs, ys, output, line)


def draw_neuron(field: NeuronField, ax: Axes | None = None) -> Figure:
    """Colour the plane by the neuron's output; draw the decision line and the weight vector."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.2))
    fig = ax.figure
    # Centre the colours on f(0), the output on the decision line itself.
    centre = float(np.asarray(activations.get(field.activation)(np.zeros(1)))[0])
    low, high = float(field.output.min()), float(field.output.max())
    spread = max(centre - low, high - centre, 1e-6)
    norm = TwoSlopeNorm(vcenter=centre, vmin=centre - spread, vmax=centre + spread)
    image = ax.imshow(
        field.output,
        origin="lower",
        extent=field.extent,
        cmap=DIVERGING,
        norm=norm,
        aspect="equal",
    )
    fig.colorbar(image, ax=ax, shrink=0.85, label=f"a = {field.activation}(w·x + b)")
    w1, w2 = field.weights
    if field.line is not None:
        (xa, ya), (xb, yb) = field.line
        ax.plot([xa, xb], [ya, yb], color="k", lw=2, label="w·x + b = 0")
        # The weight vector is normal to the line and points to where z grows.
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        scale = 0.15 * (field.extent[1] - field.extent[0]) / np.hypot(w1, w2)
        ax.annotate(
            "",
            xy=(mx + w1 * scale, my + w2 * scale),
            xytext=(mx, my),
            arrowprops={"arrowstyle": "->", "lw": 2, "color": "k"},
        )
        ax.text(mx + w1 * scale, my + w2 * scale, " w", fontsize=11)
        ax.legend(loc="lower left", fontsize=8)
    else:
        reason = "w = 0: same output everywhere" if w1 == w2 == 0 else "line outside the view"
        ax.text(
            0.5,
            0.04,
            f"no decision line ({reason})",
            transform=ax.transAxes,
            ha="center",
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.8},
        )
    ax.set_xlim(field.extent[0], field.extent[1])
    ax.set_ylim(field.extent[2], field.extent[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"w = ({w1:.2f}, {w2:.2f}), b = {field.bias:.2f}")
    return fig


def neuron_explorer(
    w1: float = 1.0, w2: float = -0.5, b: float = 0.5, activation: str = "sigmoid"
) -> Explorer:
    """Sliders for ``w1, w2, b`` and a choice of activation; the plane coloured by the output.

    ``w1``, ``w2`` and ``b`` must lie in [-NEURON_LIMIT, NEURON_LIMIT], the sliders' range.
    """
    neuron_field(w1, w2, b, activation, resolution=2)  # reject bad defaults up front
    for name, value in (("w1", w1), ("w2", w2), ("b", b)):
        # A slider clamps a value outside its range silently; refuse it instead.
        _checks.in_range(name, value, -NEURON_LIMIT, NEURON_LIMIT, closed="[]")

    def slider(value: float, description: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(
            value=value,
            min=-NEURON_LIMIT,
            max=NEURON_LIMIT,
            step=0.1,
            description=description,
            continuous_update=False,
        )

    controls = {
        "w1": slider(w1, "w1"),
        "w2": slider(w2, "w2"),
        "b": slider(b, "b"),
        "activation": widgets.Dropdown(
            options=NEURON_ACTIVATIONS, value=activation, description="f"
        ),
    }

    def render(w1: float, w2: float, b: float, activation: str) -> Figure:
        return draw_neuron(neuron_field(w1, w2, b, activation))

    return Explorer(render, controls, title="Neuron explorer")


# --------------------------------------------------------------------------------------------
# 3. Layer-warp explorer
# --------------------------------------------------------------------------------------------

# One "every layer's output" model per trained network, built once; compiled_forward caches
# its tf.function, so moving the slider costs one fast graph call.
_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _probe(model: keras.Model) -> Callable[[np.ndarray], Any]:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if model not in _PROBES:
        try:
            inputs = model.inputs
        except (AttributeError, ValueError) as error:
            raise ValueError(
                "model must be built on a keras.Input (e.g. keras.Sequential([keras.Input((2,)), "
                "...])) so its layer outputs can be read"
            ) from error
        if not inputs or not model.layers:
            raise ValueError("model must be built on a keras.Input and have at least one layer")
        probe = keras.Model(inputs, [layer.output for layer in model.layers])
        # compiled_forward holds its model weakly; the cache entry keeps the probe alive.
        _PROBES[model] = (probe, train.compiled_forward(probe))
    return _PROBES[model][1]


def layer_outputs(model: keras.Model, points: np.ndarray) -> list[np.ndarray]:
    """``points`` and what every layer makes of them: [input, layer 1 output, ..., output]."""
    forward = _probe(model)
    points = _checks.finite_array("points", points, ndim=2).astype(np.float32)
    width = _widths(model)[0]
    if points.shape[1] != width:
        raise ValueError(
            f"points must have {width} columns (the model's input), got shape {points.shape}"
        )
    outputs = forward(points)
    if not isinstance(outputs, (list, tuple)):  # a one-layer probe returns a single tensor
        outputs = [outputs]
    return [points, *(np.asarray(out).reshape(len(points), -1) for out in outputs)]


def _widths(model: keras.Model) -> list[int]:
    """The number of values per example at each stage: the input, then every layer's output."""
    shapes = [model.inputs[0].shape] + [layer.output.shape for layer in model.layers]
    return [int(np.prod(shape[1:])) for shape in shapes]


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
    grid = _grid_lines(_extent("extent", extent), lines, samples)
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
    for index, units in enumerate(_widths(model)):
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
