"""The neuron explorer: one neuron ``a = f(w . x + b)`` over the plane.

:func:`neuron_field` computes the neuron's output on a grid and the line ``w . x + b = 0``
where it changes its mind; :func:`draw_neuron` colours the plane by the output and
:func:`neuron_explorer` is the thin :class:`~mapping_lib.widgets.Explorer` view on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from mapping_lib import _checks, activations
from mapping_lib.plot import DIVERGING
from mapping_lib.widgets import Explorer
from mapping_lib.widgets.activation import ACTIVATIONS
from mapping_lib.widgets.plane import Extent, Segment, checked_extent, decision_line

NEURON_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")
"""Softmax normalises across several units, so a single neuron cannot use it."""

NEURON_LIMIT = 3.0
"""The neuron explorer's sliders span [-NEURON_LIMIT, NEURON_LIMIT] for w1, w2 and b."""


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
    extent = checked_extent("extent", extent)
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
