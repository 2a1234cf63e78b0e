"""The optimizer explorer in the static book: pick an optimizer, a learning rate, a momentum and
a start point; the walk drawn on the surface's contours is the one Python computed for it, and
the ``step`` slider (with Play) reveals it step by step.

Every walk comes from the optimizer that :func:`mapping_lib.widgets.optimizer.make_optimizer`
builds, updated by Keras as in :func:`~mapping_lib.widgets.optimizer.optimizer_trajectory`;
:func:`trajectory_grid` only runs many of them side by side, so that a whole grid of settings
takes seconds. Side by side, TensorFlow's vectorised square root can round differently in the
last bit, so Adagrad and RMSprop walks equal optimizer_trajectory's to float32 rounding; one
that hovers chaotically at the minimum (RMSprop at a fixed rate) can drift a few hundredths
from it over 300 steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import altair as alt
import matplotlib
import numpy as np
import tensorflow as tf

from mapping_lib import _checks
from mapping_lib.static.views import StaticView, choice, png_url, slider
from mapping_lib.widgets.optimizer import (
    OPTIMIZERS,
    USES_MOMENTUM,
    Surface,
    Trajectory,
    describe,
    get_surface,
    make_optimizer,
)

# Plain and Nesterov descent need a step below 2 / (largest curvature): tiny in Rosenbrock's
# steep valley, larger on the gentler surfaces. The grids run from slow to diverging.
_DESCENT_RATES = {
    "bowl": (0.003, 0.01, 0.03, 0.1, 0.3),
    "rosenbrock": (0.0001, 0.0003, 0.001, 0.003, 0.01),
    "saddle": (0.003, 0.01, 0.03, 0.1, 0.3),
}
# The adaptive optimizers divide by the gradient's size, so their rate is about a step length
# in (x, y): the same grid suits every surface.
_ADAPTIVE_RATES = {
    "adam": (0.001, 0.003, 0.01, 0.03, 0.1),
    "adagrad": (0.01, 0.03, 0.1, 0.3, 1.0),
    "rmsprop": (0.001, 0.003, 0.01, 0.03, 0.1),
}

MOMENTA = (0.0, 0.5, 0.9)
"""The momenta (Adam's ``beta_1``) the view offers to the optimizers that use one."""

STARTS: dict[str, tuple[tuple[float, float], ...]] = {
    "bowl": ((-3.5, 2.0), (3.0, -2.5), (0.5, 2.8)),
    "rosenbrock": ((-1.5, 2.0), (-1.0, -0.5), (1.8, 1.0)),
    # On the ridge (y = 0) gradient descent never leaves the saddle; just off it, it does.
    "saddle": ((-2.0, 0.01), (-2.0, 0.0), (2.0, -1.5)),
}
"""The start points the view offers, by surface; the first is the surface's own start."""

MAX_STEPS = 500
_PIXELS = 360  # the chart's width, and the background picture's
_DIGITS = 4  # decimals kept of x and y: 1e-4 of a view several units wide is below a pixel


def learning_rates(surface: str) -> dict[str, tuple[float, ...]]:
    """The default learning-rate grid of each optimizer on ``surface`` (five, log-spaced)."""
    descent = _DESCENT_RATES[_checks.one_of("surface", surface, _DESCENT_RATES)]
    return {"sgd": descent, "nesterov": descent, **_ADAPTIVE_RATES}


class Setting(NamedTuple):
    """One walk of the grid; ``momentum`` is 0 for the optimizers without one."""

    optimizer: str
    learning_rate: float
    momentum: float
    start: tuple[float, float]


def trajectory_grid(
    surface: str | Surface,
    rates: Mapping[str, Sequence[float]],
    momenta: Sequence[float],
    starts: Sequence[tuple[float, float]],
    steps: int,
) -> dict[Setting, Trajectory]:
    """Every walk of the grid, as :func:`optimizer_trajectory` would return it.

    The walks of one optimizer and momentum share one Keras optimizer and one variable with a
    row per (learning rate, start): the updates work element by element, so rows never mix,
    and each row's learning rate comes from a column that the optimizer reads as its
    learning rate (Keras takes a callable for it). Tracing a step costs far more than running
    it, so one traced step for all walks keeps the whole grid to a few seconds.

    Args:
        surface: the surface (or its name) the walks descend.
        rates: the learning rates to try, by optimizer name.
        momenta: the momenta tried with the optimizers in ``USES_MOMENTUM``.
        starts: the start points, each (x, y).
        steps: how many updates each walk takes.
    """
    surface = get_surface(surface)
    steps = _checks.positive_int("steps", steps)
    starts = [(float(x), float(y)) for x, y in starts]
    settings, walkers = [], []
    for name, values in rates.items():
        for momentum in momenta if name in USES_MOMENTUM else (0.0,):
            update = make_optimizer(name, float(values[0]), momentum)
            column = tf.constant(np.repeat(np.float32(values), len(starts))[:, None])
            update.learning_rate = lambda column=column: column  # row k's rate, row k's step
            variable = tf.Variable(np.tile(np.float32(starts), (len(values), 1)))
            update.build([variable])  # eagerly, so that one trace serves every step
            walkers.append((update, variable))
            settings += [Setting(name, float(r), momentum, s) for r in values for s in starts]
    variables = [variable for _, variable in walkers]

    def state() -> tuple[tf.Tensor, tf.Tensor]:
        losses = [surface(variable[:, 0], variable[:, 1]) for variable in variables]
        return tf.concat(variables, axis=0), tf.concat(losses, axis=0)

    @tf.function
    def descend() -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            total = tf.add_n([tf.reduce_sum(surface(v[:, 0], v[:, 1])) for v in variables])
        for (update, variable), gradient in zip(walkers, tape.gradient(total, variables)):
            update.apply_gradients([(gradient, variable)])
        return state()

    history = [state()] + [descend() for _ in range(steps)]
    points = np.stack([moved.numpy() for moved, _ in history], axis=1).astype(np.float64)
    losses = np.stack([loss.numpy() for _, loss in history], axis=1).astype(np.float64)
    finite = np.isfinite(losses) & np.all(np.isfinite(points), axis=2)
    grid = {}
    for row, setting in enumerate(settings):
        # As in optimizer_trajectory: a walk ends before its first non-finite step.
        end = steps + 1 if finite[row].all() else int(np.argmin(finite[row]))
        reason = None
        if end <= steps:
            reason = f"step {end} left the float32 range (loss {losses[row, end]:.3g})"
        grid[setting] = Trajectory(points[row, :end], losses[row, :end], reason)
    return grid


def contour_png_url(surface: Surface, levels: int = 18) -> str:
    """The surface over its extent as the explorer's contour picture: bands of equal
    ``log(f - f_min)`` in viridis, lightened, with a grey line where two bands meet."""
    x0, x1, y0, y1 = surface.extent
    width, height = _PIXELS, round(_PIXELS * (y1 - y0) / (x1 - x0))
    # Pixel centres, top row first (an image's rows run downwards, y upwards).
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height
    gap = surface(*np.meshgrid(xs, ys)) - surface.minimum_value
    bounds = np.geomspace(max(gap.min(), 1e-3), gap.max(), levels)
    bands = np.digitize(gap, bounds)
    colors = matplotlib.colormaps["viridis"](bands / levels)[..., :3]
    rgb = 0.25 * colors + 0.75  # viridis at a quarter strength over white, as the widget's
    edge = np.zeros(bands.shape, dtype=bool)
    edge[1:] |= bands[1:] != bands[:-1]
    edge[:, 1:] |= bands[:, 1:] != bands[:, :-1]
    rgb[edge] = 0.45
    return png_url(np.round(rgb * 255).astype(np.uint8))


def _label(setting: Setting) -> str:
    label = f"{setting.optimizer}, learning rate {setting.learning_rate:g}"
    if setting.optimizer in USES_MOMENTUM:
        label += f", {USES_MOMENTUM[setting.optimizer]} {setting.momentum:g}"
    return label


def _walk_rows(
    grid: Mapping[Setting, Trajectory], rates: Mapping[str, Sequence[float]]
) -> list[dict[str, Any]]:
    """One row per walk, its points as two arrays that the browser flattens."""
    starts = list(dict.fromkeys(setting.start for setting in grid))
    return [
        {
            "optimizer": setting.optimizer,
            "lr_index": list(rates[setting.optimizer]).index(setting.learning_rate),
            "lr": setting.learning_rate,
            "momentum": setting.momentum,
            "start": starts.index(setting.start),
            "x": np.round(walk.points[:, 0], _DIGITS).tolist(),
            "y": np.round(walk.points[:, 1], _DIGITS).tolist(),
            "diverged": walk.diverged,
            "setting": _label(setting),
            "note": describe(walk),
        }
        for setting, walk in grid.items()
    ]


def optimizer_view(
    surface: str = "rosenbrock",
    steps: int = 300,
    *,
    optimizer: str = "nesterov",
    learning_rate: float = 0.001,
    momentum: float = 0.9,
    rates: Mapping[str, Sequence[float]] | None = None,
    momenta: Sequence[float] = MOMENTA,
    starts: Sequence[tuple[float, float]] | None = None,
) -> StaticView:
    """The static optimizer explorer on ``surface``, showing one walk of the grid first.

    Args:
        surface: the surface's name (one of ``SURFACES``).
        steps: how many updates each walk takes, at most ``MAX_STEPS``.
        optimizer: the optimizer shown first (one of ``OPTIMIZERS``).
        learning_rate: the learning rate shown first, one of ``optimizer``'s in ``rates``.
        momentum: the momentum shown first, one of ``momenta``.
        rates: the learning rates of each optimizer, as many for each; by default
            :func:`learning_rates` of ``surface``.
        momenta: the momenta offered to the optimizers in ``USES_MOMENTUM``.
        starts: the start points offered, inside the surface's extent; by default ``STARTS``.
    """
    surface_obj = get_surface(_checks.one_of("surface", surface, STARTS))
    steps = _checks.positive_int("steps", steps)
    _checks.in_range("steps", steps, 1, MAX_STEPS, closed="[]")
    rates = {name: list(values) for name, values in (rates or learning_rates(surface)).items()}
    if set(rates) != set(OPTIMIZERS) or len({len(values) for values in rates.values()}) != 1:
        raise ValueError(
            f"rates must give as many learning rates to each of {', '.join(OPTIMIZERS)}, "
            f"got { ({name: len(values) for name, values in rates.items()}) }"
        )
    _checks.one_of("optimizer", optimizer, OPTIMIZERS)
    _checks.one_of("learning_rate", learning_rate, rates[optimizer])
    momenta = [_checks.in_range("momenta", m, 0.0, 1.0) for m in momenta]
    _checks.one_of("momentum", momentum, momenta)
    starts = [tuple(start) for start in (STARTS[surface] if starts is None else starts)]
    x0, x1, y0, y1 = surface_obj.extent
    for start in starts:
        point = _checks.finite_array("starts", start, ndim=1)
        if point.shape != (2,) or not (x0 <= point[0] <= x1 and y0 <= point[1] <= y1):
            raise ValueError(
                f"starts must be points (x, y) inside {surface_obj.extent}, got {start}"
            )

    grid = trajectory_grid(surface_obj, rates, momenta, starts, steps)
    # A plain dict, not alt.Data: Altair moves it to the spec's datasets as it is, instead of
    # walking its ~10^5 numbers through schema validation (seconds).
    walks = {"values": _walk_rows(grid, rates)}
    without = [name for name in OPTIMIZERS if name not in USES_MOMENTUM]
    selected = (
        f"datum.optimizer == optimizer && datum.lr_index == lr && datum.start == start && "
        f"datum.momentum == (indexof({without}, optimizer) >= 0 ? 0 : momentum)"
    )
    height = round(_PIXELS * (y1 - y0) / (x1 - x0))
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    x, y = alt.X("x:Q", title="x", scale=x_scale), alt.Y("y:Q", title="y", scale=y_scale)
    background = (
        alt.Chart(alt.Data(values=[{"url": contour_png_url(surface_obj)}]))
        .transform_calculate(left=f"{x0}", right=f"{x1}", bottom=f"{y0}", top=f"{y1}")
        .mark_image(aspect=False)
        .encode(
            x=alt.X("left:Q", title="x", scale=x_scale),
            x2="right:Q",
            y=alt.Y("bottom:Q", title="y", scale=y_scale),
            y2="top:Q",
            url="url:N",
        )
    )
    minima = (
        alt.Chart(alt.Data(values=[{"x": mx, "y": my} for mx, my in surface_obj.minima]))
        .mark_point(shape="diamond", size=120, filled=True, color="gold", stroke="black")
        .encode(x=x, y=y)
    )
    # The chosen walk, flattened to one row per point; `step` counts from the start.
    walk = (
        alt.Chart()
        .transform_filter(selected)
        .transform_flatten(["x", "y"])
        .transform_window(number="row_number()")
        .transform_calculate(step="datum.number - 1")
        .transform_filter("datum.step <= step")
    )
    path = walk.mark_line(color="#d62728", strokeWidth=1.6, clip=True, point=False).encode(
        x=x, y=y, order="step:Q"
    )
    # Where the walk started (a circle) and where it is at `step` (a cross).
    ends = (
        walk.transform_joinaggregate(last="max(step)")
        .transform_filter("datum.step == 0 || datum.step == datum.last")
        .transform_calculate(shape="datum.step == 0 ? 'circle' : 'cross'")
        .mark_point(filled=True, size=70, color="#d62728", stroke="black", clip=True)
        .encode(x=x, y=y, shape=alt.Shape("shape:N", scale=None))
    )
    caption = alt.Chart().transform_filter(selected).properties(width=_PIXELS, height=34)
    captions = alt.layer(
        caption.mark_text(align="left", baseline="top", fontSize=12).encode(
            x=alt.value(0), y=alt.value(0), text="setting:N"
        ),
        caption.mark_text(align="left", baseline="top", fontSize=12).encode(
            x=alt.value(0),
            y=alt.value(17),
            text="note:N",
            color=alt.condition("datum.diverged", alt.value("#d62728"), alt.value("black")),
        ),
    )
    chart = (
        alt.vconcat(
            captions,
            alt.layer(background, minima, path, ends).properties(width=_PIXELS, height=height),
            data=walks,  # for the caption and the walk; the two pictures bring their own
        )
        .add_params(
            choice("optimizer", OPTIMIZERS, optimizer, "optimizer "),
            slider(
                "lr",
                0,
                len(rates[optimizer]) - 1,
                1,
                rates[optimizer].index(learning_rate),
                "learning rate (index; value above) ",
            ),
            choice("momentum", momenta, momentum, "momentum / beta_1 ", radio=True),
            choice(
                "start",
                list(range(len(starts))),
                0,
                "start ",
                labels=[f"({sx:g}, {sy:g})" for sx, sy in starts],
            ),
            slider("step", 0, steps, 1, steps, "step "),
        )
        .properties(title=f"Optimizer explorer: {len(grid)} walks on {surface_obj.name}")
        .configure_view(stroke=None)
    )
    return StaticView(
        chart,
        f"optimizer explorer: {len(grid)} precomputed walks of {steps} steps on {surface}",
        play="step",
        play_interval_ms=30,
    )
