"""The activation explorer: an activation ``f``, its slope ``f'``, saturated and dead inputs.

:func:`activation_curves` computes ``f`` and ``f'`` on a grid of inputs and marks where the
slope is too small (saturated) or exactly zero (dead); :func:`draw_activation` plots them and
:func:`activation_explorer` is the thin :class:`~mapping_lib.widgets.Explorer` view on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from mapping_lib import _checks, activations
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "linear")
"""Names the activation explorer offers (the library's activations)."""

Z_LIMIT = 10.0
"""The activation explorer stays in [-Z_LIMIT, Z_LIMIT]: beyond it tanh' = 1 - tanh^2 rounds
to exactly 0 even in float64, which would paint saturation as a dead region."""

THRESHOLD_RANGE = (0.005, 0.25)
"""The activation explorer's range of saturation thresholds (its slider)."""

_SATURATED_COLOR = "0.82"
_DEAD_COLOR = "#e8a0a0"


def mask_intervals(z: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """The runs of consecutive ``True`` in ``mask`` as (first z, last z) pairs, left to right."""
    z, mask = np.asarray(z), np.asarray(mask, dtype=bool)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(z[i]), float(z[j])) for i, j in zip(starts, stops)]


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
