"""The layer-warp explorer in the static book: a slider over the layers of a network, a Play
button, and a ``blend`` slider that slides the picture from one layer to the next.

Python pushes the data and a grid of straight lines through every layer with
:func:`mapping_lib.widgets.layer_warp.warp` and stores each stage's plane coordinates (see
:func:`plane_coordinates`) side by side in one row per point. The browser only picks two
stages and mixes them, ``(1 - t) * stage[layer] + t * stage[layer + 1]``; at the last layer
there is no next stage, so ``blend`` leaves the picture as it is.
"""

from __future__ import annotations

import altair as alt
import keras
import numpy as np

from mapping_lib import _checks
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, records, slider
from mapping_lib.widgets.layer_warp import WarpState, warp
from mapping_lib.widgets.plane import Extent


def _view_axes(azimuth: float, elevation: float) -> np.ndarray:
    """The screen's right and up directions, as columns, for a camera at these angles."""
    phi, theta = np.radians(azimuth), np.radians(elevation)
    right = [-np.sin(phi), np.cos(phi), 0.0]
    up = [-np.sin(theta) * np.cos(phi), -np.sin(theta) * np.sin(phi), np.cos(theta)]
    return np.array([right, up]).T


PROJECTION = _view_axes(-60.0, 30.0)
"""(3, 2): a 3-unit layer seen from matplotlib's default 3-D camera, as the widget draws it."""

MAX_MARKS = 5000
"""Points and grid samples drawn at once, at most."""

DECIMALS = 5
"""Decimals kept of every coordinate (the stages are float32; this keeps the spec small)."""

_LINE_COLORS = ("#7f9cb8", "#c9a98f")  # the widget's horizontal and vertical grid lines
_HOW_DRAWN = {
    1: "its value across, class up",
    2: "unit 1 across, unit 2 up",
    3: "its 3 units seen in 3-D",
}


def plane_coordinates(state: WarpState) -> tuple[np.ndarray, np.ndarray]:
    """Where the view draws the points and grid lines of ``state``, as the widget does.

    A 2-unit layer is drawn as it is, a 3-unit layer through :data:`PROJECTION`, and a
    1-unit layer as its value across with the points on one row per class (with the
    widget's jitter) and the grid, a set of numbers now, on the line between the rows.

    Args:
        state: one stage from :func:`~mapping_lib.widgets.layer_warp.warp`.

    Returns:
        The points, shape (n, 2), and the grid lines, shape (lines, samples, 2).
    """
    if state.units == 2:
        return state.points, state.lines
    if state.units == 3:
        return state.points @ PROJECTION, state.lines @ PROJECTION
    if state.units == 1:
        classes = np.unique(state.labels)
        rows = np.searchsorted(classes, state.labels)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(rows))
        middle = np.full(state.lines.shape, (len(classes) - 1) / 2)
        return (
            np.column_stack([state.points[:, 0], rows + jitter]),
            np.concatenate([state.lines, middle], axis=-1),
        )
    raise ValueError(
        f"the view draws layers of 1 to 3 units, layer {state.layer} has {state.units}"
    )


def _stage_columns(coordinates: list[np.ndarray]) -> dict[str, np.ndarray]:
    # u0, v0, u1, v1, ...: every stage of one point in one row, so the browser can mix two.
    columns = {}
    for layer, stage in enumerate(coordinates):
        flat = np.round(stage.reshape(-1, 2).astype(np.float64), DECIMALS)
        columns[f"u{layer}"], columns[f"v{layer}"] = flat[:, 0], flat[:, 1]
    return columns


def _readout(state: WarpState) -> np.ndarray | None:
    """The widget's black line in this stage's plane, (2, 2) ends: the output unit's
    ``w . h + b = 0`` in the last hidden layer, logit 0 in a 1-unit layer; else None."""
    if state.readout is not None:
        return np.array(state.readout)
    if state.units == 1:
        return np.array([[0.0, -0.5], [0.0, len(np.unique(state.labels)) - 0.5]])
    return None


def _bounds(drawn: list[np.ndarray]) -> list[float]:
    """(u0, u1, v0, v1) around everything drawn in one stage, 5 % wider on each side."""
    every = np.concatenate([part.reshape(-1, 2) for part in drawn])
    low, high = every.min(axis=0), every.max(axis=0)
    pad = 0.05 * np.maximum(high - low, 1e-6)
    box = [low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1]]
    return [round(float(value), DECIMALS) for value in box]


def _mix(stage: str, depth: int) -> str:
    """``stage`` (an expression with ``{}`` for a layer) mixed from ``layer`` to the next one;
    at the last layer, ``depth``, both are the last one, so ``blend`` changes nothing."""
    following = stage.format(f"min(layer + 1, {depth})")
    return f"((1 - blend) * {stage.format('layer')} + blend * {following})"


def _stage_scale(low: int, high: int, depth: int) -> alt.Scale:
    # The axes move with the stages (a box around each, mixed like the points), as in the widget.
    ends = [_mix(f"stage_boxes[{{}}][{index}]", depth) for index in (low, high)]
    return alt.Scale(domain={"expr": f"[{ends[0]}, {ends[1]}]"}, nice=False, zero=False)


def layer_warp_view(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    layer: int | None = None,
    extent: Extent | None = None,
    lines: int = 13,
    samples: int = 60,
) -> StaticView:
    """The static layer-warp explorer of ``model`` on the data ``x, y``.

    Args:
        model: a Keras network on 2-D inputs whose layers have 1 to 3 units each.
        x: the data, shape (n, 2).
        y: the data's class labels, length n.
        layer: the stage shown first, 0 (the input) to the number of layers; None starts at
            the last hidden layer, like the widget.
        extent: the input box (x0, x1, y0, y1) the grid covers; None: the data's plus a margin.
        lines: grid lines in each direction.
        samples: points along each grid line.
    """
    depth = len(model.layers) if isinstance(model, keras.Model) else 0
    states = [
        warp(model, stage, x, y, extent=extent, lines=lines, samples=samples)
        for stage in range(depth + 1)
    ]
    start = max(depth - 1, 0) if layer is None else _checks.non_negative_int("layer", layer)
    if start > depth:
        raise ValueError(f"layer must be in 0..{depth} (0 is the input), got {start}")
    drawn = len(states[0].points) + states[0].lines.shape[0] * states[0].lines.shape[1]
    if drawn > MAX_MARKS:
        raise ValueError(
            f"x and the grid (lines * 2 * samples) must have at most {MAX_MARKS} points "
            f"together, got {drawn}"
        )
    planes = [plane_coordinates(state) for state in states]
    readouts = [_readout(state) for state in states]
    boxes = [
        _bounds([*plane, *([] if ends is None else [ends])])
        for plane, ends in zip(planes, readouts)
    ]
    encoding = {
        "x": alt.X("u:Q", title=None, scale=_stage_scale(0, 1, depth)),
        "y": alt.Y("v:Q", title=None, scale=_stage_scale(2, 3, depth)),
    }
    coordinates = {axis: _mix(f"datum['{axis}' + {{}}]", depth) for axis in ("u", "v")}
    labels = np.asarray(y)
    grid = np.indices(states[0].lines.shape[:2]).reshape(2, -1)
    grid_rows = {"line": grid[0], "sample": grid[1]} | _stage_columns([p[1] for p in planes])
    grid_layer = (
        alt.Chart(alt.Data(values=records(grid_rows)))
        .transform_calculate(**coordinates)
        .transform_calculate(
            colour=f"datum.line < {lines} ? '{_LINE_COLORS[0]}' : '{_LINE_COLORS[1]}'"
        )
        .mark_line(strokeWidth=0.8, opacity=0.8)
        .encode(
            **encoding, detail="line:N", order="sample:Q", color=alt.Color("colour:N", scale=None)
        )
    )
    point_rows = {"point": np.arange(len(labels)), "label": labels} | _stage_columns(
        [p[0] for p in planes]
    )
    points_layer = (
        alt.Chart(alt.Data(values=records(point_rows)))
        .transform_calculate(**coordinates)
        .mark_circle(size=22, opacity=0.9, stroke="white", strokeWidth=0.3)
        .encode(
            **encoding,
            color=alt.Color(
                "label:N",
                title="class",
                # An ordinal range repeats, so classes alternate the two colours as in the widget.
                scale=alt.Scale(domain=np.unique(labels).tolist(), range=list(CLASS_COLORS)),
            ),
        )
    )
    ends = [
        {"layer": stage, "u": round(float(u), DECIMALS), "v": round(float(v), DECIMALS)}
        for stage, pair in enumerate(readouts)
        if pair is not None
        for u, v in pair
    ]
    readout_layer = (
        alt.Chart(alt.Data(values=ends))
        # Hidden rather than filtered out (the axes are fixed per stage, so hidden lines cost
        # nothing): an empty mark would have no dataset, and Vega would list it as undefined.
        .transform_calculate(shown=f"datum.layer == layer && (blend == 0 || layer == {depth})")
        .mark_line(color="black", strokeWidth=2)
        .encode(
            **encoding,
            detail="layer:N",
            opacity=alt.condition("datum.shown", alt.value(1), alt.value(0)),
        )
    )
    names = [f"{state.name} — {_HOW_DRAWN[state.units]}" for state in states]
    short = [state.name.split(":")[0] for state in states]
    title = (
        f"blend == 0 || layer == {depth} ? stage_names[layer] : "
        "stage_short[layer] + ' → ' + stage_short[layer + 1] + ', t = ' + format(blend, '.2f')"
    )
    chart = (
        alt.layer(grid_layer, readout_layer, points_layer)
        .add_params(
            slider("layer", 0, depth, 1, start, "layers "),
            slider("blend", 0.0, 1.0, 0.05, 0.0, "blend to the next layer "),
            alt.param(name="stage_boxes", value=boxes),
            alt.param(name="stage_names", value=names),
            alt.param(name="stage_short", value=short),
        )
        .properties(width=440, height=380, title=alt.TitleParams(text={"expr": title}))
    )
    return StaticView(
        chart, f"layer-warp explorer: the data and a grid through {depth} layers", play="layer"
    )
