"""The activation explorer in the static book: pick ``f`` (and leaky ReLU's slope ``alpha``)
and a saturation threshold; ``f``, ``f'`` and the saturated and dead stretches redraw.

The browser evaluates the closed forms in :data:`FORMULAS`; the tests check them on sample
points against :func:`mapping_lib.widgets.activation.activation_curves`, the library's own
activations.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt

from mapping_lib import _checks
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, choice, slider
from mapping_lib.widgets.activation import ACTIVATIONS, THRESHOLD_RANGE, activation_curves

_SIGMOID = "1 / (1 + exp(-datum.z))"
_SIGMOID_SLOPE = "exp(-datum.z) / pow(1 + exp(-datum.z), 2)"
_TANH = "(1 - exp(-2 * datum.z)) / (1 + exp(-2 * datum.z))"

FORMULAS: dict[str, tuple[str, str]] = {
    "sigmoid": (_SIGMOID, _SIGMOID_SLOPE),
    "tanh": (_TANH, f"1 - pow({_TANH}, 2)"),
    "relu": ("max(datum.z, 0)", "datum.z > 0 ? 1 : 0"),
    "leaky_relu": ("datum.z > 0 ? datum.z : alpha * datum.z", "datum.z > 0 ? 1 : alpha"),
    # softmax([z, 0])[0] is the sigmoid: the two-class case the explorer plots.
    "softmax": (_SIGMOID, _SIGMOID_SLOPE),
    "linear": ("datum.z", "1"),
}
"""Vega expressions (value, slope) of each activation, in ``datum.z`` and the ``alpha``
parameter; the slope at exactly ``z = 0`` is 0 for ReLU, as in the library and TensorFlow."""

ALPHA_RANGE = (0.0, 0.3)
"""The leaky ReLU slope ``alpha`` the view's slider offers."""

_REGION_COLORS = {"saturated": "#d1d1d1", "dead": "#e8a0a0"}


def _by_name(index: int) -> str:
    # One nested conditional over the chosen name: `f == 'sigmoid' ? ... : f == 'tanh' ? ...`.
    expression = "0"
    for name in reversed(ACTIVATIONS):
        expression = f"(f == '{name}' ? ({FORMULAS[name][index]}) : {expression})"
    return expression


def _panel(
    field: str, title: str, color: str, domain: list[float], layers: tuple[alt.Chart, alt.Chart]
) -> alt.Chart:
    regions, base = layers
    line = base.mark_line(color=color, strokeWidth=2).encode(
        x=alt.X("z:Q", title="z", scale=alt.Scale(domain=domain, nice=False, zero=False)),
        y=alt.Y(f"{field}:Q", title=title),
    )
    return alt.layer(regions, line).properties(width=420, height=150)


def activation_view(
    name: str = "tanh",
    z_range: Sequence[float] = (-6.0, 6.0),
    *,
    threshold: float = 0.05,
    alpha: float = 0.01,
    points: int = 401,
) -> StaticView:
    """The static activation explorer, starting at activation ``name``.

    Args:
        name: the activation shown first (one of ``ACTIVATIONS``).
        z_range: the inputs plotted, (low, high) within [-10, 10].
        threshold: the starting saturation threshold, within ``THRESHOLD_RANGE``.
        alpha: the starting leaky ReLU slope, within ``ALPHA_RANGE``.
        points: how many inputs the browser evaluates across ``z_range``.
    """
    curves = activation_curves(name, z_range, threshold=threshold, points=points)
    _checks.in_range("threshold", threshold, *THRESHOLD_RANGE, closed="[]")
    _checks.in_range("alpha", alpha, *ALPHA_RANGE, closed="[]")
    low, high = float(curves.z[0]), float(curves.z[-1])
    step = (high - low) / (len(curves.z) - 1)
    params = [
        choice("f", ACTIVATIONS, name, "f "),
        slider("alpha", *ALPHA_RANGE, 0.01, alpha, "leaky slope α "),
        slider("threshold", *THRESHOLD_RANGE, 0.005, threshold, "saturated if |f'| < "),
    ]
    base = (
        alt.Chart(alt.sequence(0, len(curves.z), as_="i"))
        .transform_calculate(z=f"{low} + datum.i * {step}")
        .transform_calculate(value=_by_name(0), slope=_by_name(1))
        .transform_calculate(
            region="datum.slope == 0 ? 'dead' : "
            "abs(datum.slope) < threshold ? 'saturated' : 'active'",
            # Neighbouring rects overlap a little: no anti-aliased seams between them.
            left=f"datum.z - {0.6 * step}",
            right=f"datum.z + {0.6 * step}",
        )
    )
    regions = (
        base.transform_filter("datum.region != 'active'")
        .mark_rect()
        .encode(
            x="left:Q",
            x2="right:Q",
            color=alt.Color(
                "region:N",
                scale=alt.Scale(domain=list(_REGION_COLORS), range=list(_REGION_COLORS.values())),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
    )
    chart = (
        alt.vconcat(
            _panel("value", "f(z)", CLASS_COLORS[1], [low, high], (regions, base)),
            _panel("slope", "f'(z)", CLASS_COLORS[0], [low, high], (regions, base)),
        )
        .add_params(*params)
        .properties(title="Activation explorer: value and slope")
    )
    return StaticView(chart, f"activation explorer: f and f' of {name} and five more")
