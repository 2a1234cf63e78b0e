"""The universal-approximation explorer in the static book: pick a target, a number of bumps
and a steepness; the bumps, their sum and its largest error redraw.

Python computes each bump's edges and height with :func:`mapping_lib.approximation.bump_edges`
and the targets of :data:`mapping_lib.approximation.TARGETS` (one small table for every target
and number of bumps); the browser looks up the chosen rows and evaluates the closed form
``height * (sigmoid(k (x - left)) - sigmoid(k (x - right)))`` and the target's formula. The tests
check both on sample points against :func:`mapping_lib.approximation.bump_approximation`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np

from mapping_lib import _checks
from mapping_lib.approximation import (
    INTERVAL,
    N_BUMPS_RANGE,
    STEEPNESS_RANGE,
    TARGETS,
    bump_approximation,
    bump_edges,
)
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, choice, slider

FORMULAS: dict[str, str] = {
    "sine": "sin(2 * datum.x)",
    "step": "datum.x >= 0 ? 1 : 0",
    "abs": "abs(datum.x)",
    "gaussian bump": "exp(-datum.x * datum.x)",
}
"""Vega expressions of the targets in ``datum.x``, the same functions as ``TARGETS``."""


def _sigmoid_at(edge: str, outside: int) -> str:
    # An infinite edge is stored as null: there the sigmoid is exactly `outside` (1 or 0).
    return f"(isValid(datum.{edge}) ? 1 / (1 + exp(-k * (datum.x - datum.{edge}))) : {outside})"


def bump_table(interval: Sequence[float] = INTERVAL) -> list[dict]:
    """One row per (target, number of bumps, bump): its key, edges (None when infinite) and
    height, for every target and every count in ``N_BUMPS_RANGE``.

    Args:
        interval: (low, high) with low < high, the stretch of the x axis approximated.
    """
    rows = []
    for name in TARGETS:
        for n_bumps in range(N_BUMPS_RANGE[0], N_BUMPS_RANGE[1] + 1):
            # Heights from the compute function itself; steepness does not change them.
            heights = bump_approximation(name, n_bumps, 1.0, interval, points=2).heights
            edges = [
                None if np.isinf(edge) else float(edge) for edge in bump_edges(n_bumps, interval)
            ]
            for j in range(n_bumps):
                rows.append(
                    {
                        "key": f"{name}|{n_bumps}|{j}",
                        "left": edges[j],
                        "right": edges[j + 1],
                        "height": float(heights[j]),
                    }
                )
    return rows


def approximation_view(
    target: str = "sine",
    n_bumps: int = 6,
    steepness: float = 20.0,
    interval: Sequence[float] = INTERVAL,
    *,
    points: int = 201,
) -> StaticView:
    """The static universal-approximation explorer, starting at ``target``.

    Args:
        target: the target shown first (a name in ``TARGETS``).
        n_bumps: the starting number of bumps, within ``N_BUMPS_RANGE``.
        steepness: the starting sigmoid steepness ``k``, within ``STEEPNESS_RANGE``.
        interval: (low, high) with low < high, the stretch of the x axis approximated.
        points: how many inputs the browser evaluates across ``interval`` (2 to 240, so that
            the most bumps stay under 5,000 points drawn).
    """
    result = bump_approximation(target, n_bumps, steepness, interval, points=points)
    _checks.in_range("n_bumps", n_bumps, *N_BUMPS_RANGE, closed="[]")
    _checks.in_range("steepness", steepness, *STEEPNESS_RANGE, closed="[]")
    _checks.in_range("points", points, 2, 240, closed="[]")
    low, high = float(result.x[0]), float(result.x[-1])
    step = (high - low) / (points - 1)
    most = N_BUMPS_RANGE[1]
    params = [
        choice("target", list(TARGETS), target, "target "),
        slider("n", *N_BUMPS_RANGE, 1, n_bumps, "bumps "),
        slider("k", *STEEPNESS_RANGE, 0.5, steepness, "steepness k "),
    ]
    target_formula = "0"
    for name in reversed(list(TARGETS)):
        target_formula = f"(target == '{name}' ? ({FORMULAS[name]}) : {target_formula})"
    # One row per (grid point p, bump j): the browser joins each with its bump's parameters.
    base = (
        alt.Chart(alt.sequence(0, points * most, as_="i"))
        .transform_calculate(p=f"floor(datum.i / {most})", j=f"datum.i % {most}")
        .transform_filter("datum.j < n")
        .transform_calculate(x=f"{low} + datum.p * {step}", key="target + '|' + n + '|' + datum.j")
        .transform_lookup(
            lookup="key",
            from_=alt.LookupData(
                data=alt.Data(values=bump_table(interval)),
                key="key",
                fields=["left", "right", "height"],
            ),
        )
        .transform_calculate(
            bump=f"datum.height * ({_sigmoid_at('left', 1)} - {_sigmoid_at('right', 0)})"
        )
        .transform_joinaggregate(approximation="sum(bump)", groupby=["p"])
        .transform_calculate(target_value=target_formula)
        .transform_calculate(error="abs(datum.approximation - datum.target_value)")
    )
    x_axis = alt.X("x:Q", title="x", scale=alt.Scale(domain=[low, high], nice=False))
    bumps = base.mark_line(strokeWidth=1, opacity=0.6, color="#999999").encode(
        x=x_axis, y=alt.Y("bump:Q", title="value"), detail="j:O"
    )
    curves = (
        base.transform_filter("datum.j == 0")
        .transform_fold(["target_value", "approximation"], as_=["curve", "value"])
        .mark_line(strokeWidth=2)
        .encode(
            x=x_axis,
            y="value:Q",
            color=alt.Color(
                "curve:N",
                scale=alt.Scale(
                    domain=["target_value", "approximation"],
                    range=[CLASS_COLORS[0], CLASS_COLORS[1]],
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
    )
    error = (
        base.transform_filter("datum.j == 0")
        .transform_aggregate(max_error="max(error)")
        .transform_calculate(label="'largest error: ' + format(datum.max_error, '.3f')")
        .mark_text(align="left", baseline="top", x=5, y=5, fontSize=12)
        .encode(text="label:N")
    )
    chart = (
        alt.layer(bumps, curves, error)
        .add_params(*params)
        .properties(width=480, height=260, title="Bumps of steep sigmoids, and their sum")
    )
    return StaticView(chart, f"universal approximation explorer: bumps summing to {target}")
