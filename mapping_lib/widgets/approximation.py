"""The universal-approximation explorer: bumps of steep sigmoids summing to a target.

:func:`draw_approximation` plots a :class:`~mapping_lib.approximation.BumpApproximation` (the
target, its bumps and their sum, with the largest error) and :func:`approximation_explorer` is
the thin :class:`~mapping_lib.widgets.Explorer` view on top of
:func:`~mapping_lib.approximation.bump_approximation`.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib.approximation import (
    N_BUMPS_RANGE,
    STEEPNESS_RANGE,
    TARGETS,
    BumpApproximation,
    bump_approximation,
)
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer


def draw_approximation(result: BumpApproximation, ax: Axes | None = None) -> Figure:
    """Plot the target, every bump (thin grey) and their sum, titled with the largest error.

    Args:
        result: what :func:`~mapping_lib.approximation.bump_approximation` returned.
        ax: the axes to draw into; None for a new figure.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.4))
    for bump in result.bumps:
        ax.plot(result.x, bump, color="0.6", lw=0.8)
    ax.plot(result.x, result.target, color=CLASS_COLORS[0], lw=2, label="target")
    ax.plot(result.x, result.approximation, color=CLASS_COLORS[1], lw=2, label="sum of bumps")
    ax.set_xlim(result.x[0], result.x[-1])
    ax.set_xlabel("x")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(
        f"{result.name}: {len(result.bumps)} bumps, k = {result.steepness:g}, "
        f"largest error {result.max_error:.3f}",
        fontsize=10,
    )
    fig = ax.figure
    fig.tight_layout()
    return fig


def approximation_explorer(
    target: str = "sine", n_bumps: int = 6, steepness: float = 20.0
) -> Explorer:
    """Pick a target, a number of bumps and a steepness; see the bumps and their sum.

    Args:
        target: the target shown first (a name in ``TARGETS``).
        n_bumps: the starting number of bumps, within ``N_BUMPS_RANGE``.
        steepness: the starting sigmoid steepness ``k``, within ``STEEPNESS_RANGE``.
    """
    bump_approximation(target, n_bumps, steepness)  # reject bad defaults up front
    # A slider clamps a value outside its range silently; refuse it instead.
    _checks.in_range("n_bumps", n_bumps, *N_BUMPS_RANGE, closed="[]")
    _checks.in_range("steepness", steepness, *STEEPNESS_RANGE, closed="[]")
    controls = {
        "target": widgets.Dropdown(options=list(TARGETS), value=target, description="target"),
        "n_bumps": widgets.IntSlider(
            value=n_bumps, min=N_BUMPS_RANGE[0], max=N_BUMPS_RANGE[1], description="bumps"
        ),
        "steepness": widgets.FloatSlider(
            value=steepness,
            min=STEEPNESS_RANGE[0],
            max=STEEPNESS_RANGE[1],
            step=0.5,
            description="steepness k",
        ),
    }

    def render(target: str, n_bumps: int, steepness: float) -> Figure:
        return draw_approximation(bump_approximation(target, n_bumps, steepness))

    return Explorer(render, controls, title="Universal approximation explorer")
