"""The neuron explorer in the static book: sliders for ``w1, w2, b`` and a choice of
activation; the plane coloured by ``a = f(w1*x1 + w2*x2 + b)`` and the decision line.

Nothing is precomputed: the browser generates the grid, evaluates the closed forms in
:data:`FORMULAS` at every cell and clips the line ``w . x + b = 0`` to the view box. The tests
check both against :func:`mapping_lib.widgets.neuron.neuron_field` and
:func:`mapping_lib.widgets.plane.decision_line`.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np

from mapping_lib import _checks, activations
from mapping_lib.static.views import StaticView, choice, slider
from mapping_lib.widgets.neuron import NEURON_ACTIVATIONS, NEURON_LIMIT, neuron_field
from mapping_lib.widgets.plane import Extent

LEAKY_ALPHA = activations.get("leaky_relu").params["alpha"]
"""The slope of leaky ReLU for z < 0: the library's default, the one the widget uses."""

FORMULAS: dict[str, Callable[[str], str]] = {
    "linear": lambda z: f"({z})",
    "sigmoid": lambda z: f"1 / (1 + exp(-({z})))",
    # tanh from exp(-2|z|) <= 1, so that no exp overflows to Infinity / Infinity.
    "tanh": lambda z: f"(({z}) < 0 ? -1 : 1) * (1 - exp(-2 * abs({z}))) / (1 + exp(-2 * abs({z})))",
    "relu": lambda z: f"max({z}, 0)",
    "leaky_relu": lambda z: f"(({z}) > 0 ? ({z}) : {LEAKY_ALPHA} * ({z}))",
}
"""Each activation a neuron can use as a Vega expression of the expression ``z``."""

MAX_RESOLUTION = 70
"""At most 70 x 70 cells, under 5,000 rects drawn at once."""

_BIG = 1e300  # "no limit" for the line parameter along a slab the line never leaves


def _by_name(z: str) -> str:
    # One nested conditional over the chosen activation: `activation == 'linear' ? ... : ...`.
    expression = "NaN"
    for name in reversed(NEURON_ACTIVATIONS):
        expression = f"(activation == '{name}' ? {FORMULAS[name](z)} : {expression})"
    return expression


def _centres() -> str:
    # f(0), the output on the decision line, where the widget centres its colours.
    expression = "NaN"
    for name in reversed(NEURON_ACTIVATIONS):
        centre = float(np.asarray(activations.get(name)(np.zeros(1)))[0])
        expression = f"(activation == '{name}' ? {centre} : {expression})"
    return expression


def _colour_params(extent: Extent) -> list[alt.Parameter]:
    """The colour scale's range, as the widget's: f(0) +- the larger distance to min or max.

    ``z`` is linear, so its extremes over the box lie at the corners (which the grid holds),
    and every activation here is non-decreasing, so ``f``'s extremes are f(z_low), f(z_high).
    """
    x0, x1, y0, y1 = extent
    z_low = f"b + min(w1 * {x0}, w1 * {x1}) + min(w2 * {y0}, w2 * {y1})"
    z_high = f"b + max(w1 * {x0}, w1 * {x1}) + max(w2 * {y0}, w2 * {y1})"
    spread = f"max(colour_centre - {_by_name(z_low)}, {_by_name(z_high)} - colour_centre, 1e-6)"
    return [
        alt.param(name="colour_centre", expr=_centres()),
        alt.param(name="colour_spread", expr=spread),
    ]


def _slab(low: float, high: float, start: str, direction: str, slack: float) -> tuple[str, str]:
    """Where the line ``start + s * direction`` lies within [low, high]: s from, s to."""
    inside = f"({start} >= {low - slack} && {start} <= {high + slack})"
    ends = f"({low - slack} - {start}) / {direction}, ({high + slack} - {start}) / {direction}"
    return (
        f"({direction} != 0 ? min({ends}) : {inside} ? {-_BIG} : {_BIG})",
        f"({direction} != 0 ? max({ends}) : {inside} ? {_BIG} : {-_BIG})",
    )


def _line_params(extent: Extent) -> list[alt.Parameter]:
    """The decision line clipped to ``extent`` (Liang-Barsky), as ``decision_line`` does it.

    The line is ``p + s * (-w2, w1)`` with ``p = -b w / |w|^2``, its point nearest the origin;
    it is drawn when ``w != 0`` and more than a touch of a corner lies inside the box.
    """
    x0, x1, y0, y1 = extent
    slack = 1e-9 * max(x1 - x0, y1 - y0)  # decision_line's tolerance at the edges
    from_x, to_x = _slab(x0, x1, "line_px", "-w2", slack)
    from_y, to_y = _slab(y0, y1, "line_py", "w1", slack)
    return [
        alt.param(name="line_px", expr="-b * w1 / (w1 * w1 + w2 * w2)"),
        alt.param(name="line_py", expr="-b * w2 / (w1 * w1 + w2 * w2)"),
        alt.param(name="line_from", expr=f"max({from_x}, {from_y})"),
        alt.param(name="line_to", expr=f"min({to_x}, {to_y})"),
        alt.param(
            name="line_drawn",
            expr=f"w1 * w1 + w2 * w2 > 0 && (line_to - line_from) * hypot(w1, w2) > {slack}",
        ),
    ]


def neuron_view(
    w1: float = 1.0,
    w2: float = -0.5,
    b: float = 0.5,
    activation: str = "sigmoid",
    *,
    extent: Extent = (-3.0, 3.0, -3.0, 3.0),
    resolution: int = 40,
) -> StaticView:
    """The static neuron explorer, starting at ``w1, w2, b`` and ``activation``.

    Args:
        w1: the first weight shown, within [-NEURON_LIMIT, NEURON_LIMIT] like all three.
        w2: the second weight shown.
        b: the bias shown.
        activation: the activation shown first (one of ``NEURON_ACTIVATIONS``).
        extent: the view box (x0, x1, y0, y1) of the plane.
        resolution: cells per side of the coloured grid, 2 to ``MAX_RESOLUTION``; the cell
            centres are ``neuron_field``'s grid points at that resolution.
    """
    resolution = _checks.positive_int("resolution", resolution)
    if resolution > MAX_RESOLUTION:
        raise ValueError(f"resolution must be at most {MAX_RESOLUTION}, got {resolution}")
    field = neuron_field(w1, w2, b, activation, extent=extent, resolution=resolution)
    for name, value in (("w1", w1), ("w2", w2), ("b", b)):
        _checks.in_range(name, value, -NEURON_LIMIT, NEURON_LIMIT, closed="[]")
    x0, x1, y0, y1 = field.extent
    n = resolution
    dx, dy = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
    params = [
        slider("w1", -NEURON_LIMIT, NEURON_LIMIT, 0.1, w1, "w1 "),
        slider("w2", -NEURON_LIMIT, NEURON_LIMIT, 0.1, w2, "w2 "),
        slider("b", -NEURON_LIMIT, NEURON_LIMIT, 0.1, b, "b "),
        choice("activation", NEURON_ACTIVATIONS, activation, "f "),
        *_colour_params(field.extent),
        *_line_params(field.extent),
    ]
    scale_x = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    scale_y = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    plane = (
        alt.Chart(alt.sequence(0, n * n, as_="i"))
        .transform_calculate(col=f"datum.i % {n}", row=f"floor(datum.i / {n})")
        .transform_calculate(x1=f"{x0} + datum.col * {dx}", x2=f"{y0} + datum.row * {dy}")
        .transform_calculate(z="w1 * datum.x1 + w2 * datum.x2 + b")
        .transform_calculate(
            a=_by_name("datum.z"),
            # Cells centred on the grid points (the outer half cells are clipped away), a little
            # wider than the spacing so that no seams show between neighbours.
            left=f"datum.x1 - {0.55 * dx}",
            right=f"datum.x1 + {0.55 * dx}",
            bottom=f"datum.x2 - {0.55 * dy}",
            top=f"datum.x2 + {0.55 * dy}",
        )
        .mark_rect(clip=True)
        .encode(
            x=alt.X("left:Q", title="x1", scale=scale_x),
            x2="right:Q",
            y=alt.Y("bottom:Q", title="x2", scale=scale_y),
            y2="top:Q",
            color=alt.Color(
                "a:Q",
                title="a = f(w·x + b)",
                scale=alt.Scale(
                    scheme="redblue",  # matplotlib's RdBu, the widget's map
                    domain={
                        "expr": "[colour_centre - colour_spread, colour_centre + colour_spread]"
                    },
                ),
            ),
        )
    )
    line = (
        alt.Chart(alt.sequence(0, 2, as_="end"))
        .transform_filter("line_drawn")
        .transform_calculate(s="datum.end == 0 ? line_from : line_to")
        .transform_calculate(
            x1=f"clamp(line_px - w2 * datum.s, {x0}, {x1})",
            x2=f"clamp(line_py + w1 * datum.s, {y0}, {y1})",
        )
        .mark_line(color="black", strokeWidth=2)
        .encode(x=alt.X("x1:Q", scale=scale_x), y=alt.Y("x2:Q", scale=scale_y))
    )
    side = 380
    chart = (
        alt.layer(plane, line)
        .add_params(*params)
        .properties(
            width=side,
            height=round(side * (y1 - y0) / (x1 - x0)),
            title="Neuron explorer: a = f(w1·x1 + w2·x2 + b); black: w·x + b = 0",
        )
    )
    return StaticView(chart, f"neuron explorer: a {n} x {n} grid of f(w·x + b) and its line")
