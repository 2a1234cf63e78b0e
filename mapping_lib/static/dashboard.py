"""The training dashboard in the static book: a recorded run replayed epoch by epoch.

Drag the ``epoch`` slider (or press Play) and the panels of
:func:`mapping_lib.widgets.dashboard.dashboard_figure` (loss and accuracy for training and
validation, learning rate, gradient norm per layer) redraw up to that epoch, with a rule
marking it and the status line the live dashboard showed then. Everything drawn is read from
the :class:`~mapping_lib.widgets.training_record.DashboardState` that ``TrainingDashboard.fit``
recorded; the browser only filters those records by epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import altair as alt

from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, slider
from mapping_lib.widgets.dashboard import TrainingDashboard
from mapping_lib.widgets.training_record import STOP_REASONS, DashboardState, status_line

METRICS = ("loss", "accuracy")
"""The metric panels, as in ``dashboard_figure``: each shows ``key`` and ``val_<key>``."""

PLAY_INTERVAL_MS = 300
"""Time between two epochs when the Play button replays the run."""

_SPLITS = {"training": CLASS_COLORS[1], "validation": CLASS_COLORS[0]}  # the figure's colours
_FLOOR = 1e-12  # exact zeros (a dead layer) show at this floor of the log axis, as in the figure
_WIDTH, _HEIGHT = 330, 160


def _number(value: float) -> float | None:
    # JSON has no NaN or infinity (a diverged run logs them): they become null, a gap.
    return float(value) if math.isfinite(value) else None


def _state_at(state: DashboardState, epoch: int) -> DashboardState:
    """The logs and phases as they stood after ``epoch`` epochs (what status_line and
    best_epoch read); at epoch 0 the first phase has begun."""
    phases = [phase for phase in state.phases if phase.start < max(epoch, 1)]
    return DashboardState(logs=state.logs[:epoch], phases=phases)


def _status(state: DashboardState, epoch: int) -> str:
    """The status line after ``epoch`` epochs; at the last one, why training ended below it."""
    line = status_line(_state_at(state, epoch))
    if epoch == state.epochs_done and state.finished:
        line += "\n" + STOP_REASONS[state.stop_reason]
    return line


def _domain(values: Iterable[float | None], *, log: bool = False) -> list[float]:
    """A fixed axis range for all recorded ``values``, so that scrubbing never rescales."""
    finite = [value for value in values if value is not None and math.isfinite(value)]
    low, high = (min(finite), max(finite)) if finite else (1.0, 1.0)
    if log:
        return [low / 2, high * 2]
    pad = 0.05 * (high - low or abs(high) or 1.0)
    return [low - pad, high + pad]


def _epoch_x(epochs: int, title: str) -> alt.X:
    axis = alt.Axis(format="d", tickMinStep=1, title=title)
    return alt.X("epoch:Q", axis=axis, scale=alt.Scale(domain=[0, epochs], nice=False))


def _marks(
    chart: alt.Chart, title: str, data: dict[str, list], x: alt.X, offset: float
) -> alt.LayerChart:
    """``chart`` with the rule at the chosen epoch and dashed lines where later phases began
    (``offset`` after their start: 0.5 on the per-epoch panels, 0 on the gradient panel)."""
    rule = (
        alt.Chart(alt.Data(name="status"))
        .transform_filter("datum.epoch == epoch")
        .mark_rule(color="#444", strokeWidth=1.5)
        .encode(x=x)
    )
    layers = [chart, rule]
    if data["phases"]:
        phases = (
            alt.Chart(alt.Data(name="phases"))
            .transform_filter("epoch > datum.start")
            .transform_calculate(epoch=f"datum.start + {offset}")
        )
        layers.append(phases.mark_rule(color="#888", strokeDash=[4, 3]).encode(x=x))
        layers.append(
            phases.mark_text(
                align="left", baseline="top", dx=3, y=2, fontSize=9, color="#555"
            ).encode(x=x, text="label:N")
        )
    return alt.layer(*layers).properties(title=title, width=_WIDTH, height=_HEIGHT)


def _metric_keys(state: DashboardState, metric: str) -> list[str]:
    return [key for key in (metric, f"val_{metric}") if state.has(key)]


def _metric_panel(state: DashboardState, metric: str, data: dict[str, list]) -> alt.LayerChart:
    keys = _metric_keys(state, metric)
    x = _epoch_x(state.epochs_done, "epoch")
    values = [row.get(key) for row in data["logs"] for key in keys]
    curves = (
        alt.Chart(alt.Data(name="logs"))
        .transform_filter("datum.epoch <= epoch")
        .transform_fold(keys, as_=["key", "value"])
        .transform_calculate(split="indexof(datum.key, 'val_') == 0 ? 'validation' : 'training'")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=_domain(values), zero=False)),
            color=alt.Color(
                "split:N",
                scale=alt.Scale(domain=list(_SPLITS), range=list(_SPLITS.values())),
                legend=alt.Legend(title=None, orient="top", direction="horizontal"),
            ),
            tooltip=["epoch:Q", "key:N", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    # The best validation epoch so far: the live dashboard's star, as the run stood then.
    best = (
        alt.Chart(alt.Data(name="best"))
        .transform_filter(f"datum.upto == epoch && datum.key == 'val_{metric}'")
        .transform_calculate(note="'best: epoch ' + datum.epoch")
    )
    star = best.mark_point(shape="diamond", size=120, filled=True, color=_SPLITS["validation"])
    note = best.mark_text(align="left", dx=8, dy=-8, fontSize=10, color="#333")
    encoding = {"x": x, "y": "value:Q"}
    layered = alt.layer(curves, star.encode(**encoding), note.encode(text="note:N", **encoding))
    return _marks(layered, metric, data, x, 0.5)


def _learning_rate_panel(state: DashboardState, data: dict[str, list]) -> alt.LayerChart:
    domain = _domain((row.get("learning_rate") for row in data["logs"]), log=True)
    x = _epoch_x(state.epochs_done, "epoch")
    curve = (
        alt.Chart(alt.Data(name="logs"))
        .transform_filter("datum.epoch <= epoch")
        .mark_line(interpolate="step", point={"color": "#333"}, color="#333")
        .encode(
            x=x,
            y=alt.Y(
                "learning_rate:Q",
                title=None,
                axis=alt.Axis(format="~g", tickCount=4),
                scale=alt.Scale(type="log", domain=domain),
            ),
            tooltip=["epoch:Q", alt.Tooltip("learning_rate:Q", format=".4g")],
        )
    )
    return _marks(curve, "learning rate", data, x, 0.5)


def _gradient_panel(state: DashboardState, data: dict[str, list]) -> alt.LayerChart:
    x = _epoch_x(state.epochs_done, "epochs completed")
    shown = (None if row["norm"] is None else max(row["norm"], _FLOOR) for row in data["norms"])
    curves = (
        alt.Chart(alt.Data(name="norms"))
        .transform_filter("datum.epoch <= epoch")
        .transform_calculate(shown=f"isValid(datum.norm) ? max(datum.norm, {_FLOOR}) : null")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("shown:Q", title=None, scale=alt.Scale(type="log", domain=_domain(shown))),
            color=alt.Color(
                "layer:N",
                sort=state.layer_names(),
                legend=alt.Legend(title=None, orient="right", labelLimit=90),
            ),
            order="step:Q",  # two points share an epoch where a later phase begins
            tooltip=["epoch:Q", "layer:N", alt.Tooltip("norm:Q", format=".4g")],
        )
    )
    return _marks(curves, "gradient norm per layer (probe batch)", data, x, 0.0)


def _tables(state: DashboardState) -> dict[str, list[dict[str, Any]]]:
    """The tables a replay draws, each read from ``state``'s records.

    ``logs``: one row per epoch (``epoch`` from 1, then every logged value); ``norms``: one
    row per gradient-norm measurement (``step`` in recording order, ``epoch`` = epochs
    completed, ``layer``, ``norm``); ``status``: the status line after each epoch, 0 to the
    last; ``best``: the best validation epoch of each metric as it stood after epoch ``upto``;
    ``phases``: where each later phase (fit call) began.
    """
    epochs = range(1, state.epochs_done + 1)
    logs = [
        {"epoch": epoch, **{key: _number(value) for key, value in state.logs[epoch - 1].items()}}
        for epoch in epochs
    ]
    norms = [
        {"step": step, "epoch": done, "layer": layer, "norm": _number(value)}
        for step, (done, measured) in enumerate(state.gradient_norms)
        for layer, value in measured.items()
    ]
    best = []
    for upto in epochs:
        so_far = _state_at(state, upto)
        for key in (f"val_{metric}" for metric in METRICS):
            epoch = so_far.best_epoch(key)
            if epoch is not None:
                value = so_far.logs[epoch - 1][key]
                best.append({"upto": upto, "key": key, "epoch": epoch, "value": value})
    return {
        "logs": logs,
        "norms": norms,
        "status": [
            {"epoch": epoch, "status": _status(state, epoch)}
            for epoch in range(state.epochs_done + 1)
        ],
        "best": best,
        "phases": [{"start": phase.start, "label": phase.label} for phase in state.phases[1:]],
    }


def dashboard_replay(
    state_or_board: DashboardState | TrainingDashboard, *, title: str | None = None
) -> StaticView:
    """A recorded training run replayed: an ``epoch`` slider and a Play button redraw the
    dashboard's panels up to that epoch, with its status line (and, at the end, why it ended).

    Args:
        state_or_board: a finished ``TrainingDashboard`` or its ``DashboardState``, with at
            least one recorded epoch.
        title: the title above the panels; by default the board's own title.
    """
    if isinstance(state_or_board, TrainingDashboard):
        title = title if title is not None else state_or_board.title
        state = state_or_board.state
    elif isinstance(state_or_board, DashboardState):
        state = state_or_board
    else:
        raise TypeError(
            "state_or_board must be a TrainingDashboard or a DashboardState, "
            f"got {type(state_or_board).__name__}"
        )
    if not state.logs:
        raise ValueError("state has no recorded epochs: replay a dashboard after its fit ran")
    data = _tables(state)
    panels = [
        _metric_panel(state, metric, data) for metric in METRICS if _metric_keys(state, metric)
    ]
    if state.has("learning_rate"):
        panels.append(_learning_rate_panel(state, data))
    if data["norms"]:
        panels.append(_gradient_panel(state, data))
    status = (
        alt.Chart(alt.Data(name="status"))
        .transform_filter("datum.epoch == epoch")
        .mark_text(align="left", baseline="top", lineBreak="\n", fontSize=12, x=0, y=0)
        .encode(text="status:N")
        .properties(width=2 * _WIDTH, height=32)
    )
    rows = [alt.hconcat(*panels[start : start + 2]) for start in range(0, len(panels), 2)]
    last = state.epochs_done
    chart = (
        alt.vconcat(status, *rows)
        .add_params(slider("epoch", 0, last, 1, last, "epoch "))
        .properties(title=title or "training replay", datasets=data)
        .resolve_scale(color="independent")
    )
    return StaticView(
        chart,
        f"training replay: {last} epochs, {', '.join(key for key in state.logs[-1])}",
        play="epoch",
        play_interval_ms=PLAY_INTERVAL_MS,
    )
