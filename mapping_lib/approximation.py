"""Universal approximation made visible: steep sigmoids in pairs build bumps, bumps build a
function.

A bump of height ``h`` on the cell ``[l, r]`` is ``h * (sigmoid(k(x - l)) - sigmoid(k(x - r)))``:
two sigmoid units of one hidden layer with opposite output weights. :func:`bump_approximation`
splits an interval into ``n_bumps`` equal cells, gives each cell a bump as high as the target
at the cell's midpoint, and sums them. As the steepness ``k`` grows each bump tends to the
cell's indicator, so the sum tends to a staircase, and for a continuous target the staircase's
largest error shrinks as the cells get narrower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mapping_lib import _checks

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(2 * x),
    "step": lambda x: np.where(x >= 0, 1.0, 0.0),
    "abs": np.abs,
    "gaussian bump": lambda x: np.exp(-(x**2)),
}
"""The target functions the explorers offer, by name: sin(2x), the unit step at 0 (the one
discontinuous target, which no sum of continuous bumps approximates in the sup norm), |x| and
exp(-x^2)."""

N_BUMPS_RANGE = (1, 20)
"""How many bumps the explorers offer (their slider)."""

STEEPNESS_RANGE = (0.5, 100.0)
"""The sigmoid steepness ``k`` the explorers offer (their slider)."""

INTERVAL = (-3.0, 3.0)
"""The interval the explorers approximate on."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic sigmoid, written with tanh so that large ``|z|`` does not overflow exp."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True)
class BumpApproximation:
    """A target function on a grid ``x`` and its approximation by a sum of sigmoid bumps.

    ``edges`` has ``n_bumps + 1`` entries; the outer two are -inf and +inf, so the first and
    last bumps are single sigmoids that stay at full height beyond the interval and the sum
    does not sag at its ends. ``bumps[j]`` is bump ``j`` on the grid, ``heights[j]`` its height.
    """

    name: str
    steepness: float
    x: np.ndarray
    target: np.ndarray
    approximation: np.ndarray
    bumps: np.ndarray
    edges: np.ndarray
    heights: np.ndarray

    @property
    def max_error(self) -> float:
        """The largest ``|approximation - target|`` on the grid: the sup-norm error there."""
        return float(np.max(np.abs(self.approximation - self.target)))


def bump_edges(n_bumps: int, interval: Sequence[float] = INTERVAL) -> np.ndarray:
    """The ``n_bumps + 1`` cell edges: ``n_bumps - 1`` equally spaced inner ones, +-inf outside.

    Args:
        n_bumps: how many bumps (cells) split the interval.
        interval: (low, high) with low < high.
    """
    n_bumps = _checks.positive_int("n_bumps", n_bumps)
    low, high = _interval(interval)
    inner = np.linspace(low, high, n_bumps + 1)[1:-1]
    return np.concatenate([[-np.inf], inner, [np.inf]])


def bump_approximation(
    target: str,
    n_bumps: int,
    steepness: float,
    interval: Sequence[float] = INTERVAL,
    *,
    points: int = 401,
) -> BumpApproximation:
    """Approximate ``target`` on ``interval`` by ``n_bumps`` bumps of steepness ``steepness``.

    Args:
        target: a name in ``TARGETS``.
        n_bumps: how many equal cells, one bump each (a positive int).
        steepness: the slope factor ``k`` of every sigmoid (a positive number).
        interval: (low, high) with low < high, the stretch of the x axis approximated.
        points: how many equally spaced grid points (at least 2) evaluate the functions.
    """
    _checks.one_of("target", target, TARGETS)
    steepness = _checks.positive_float("steepness", steepness)
    points = _checks.positive_int("points", points)
    if points < 2:
        raise ValueError(f"points must be at least 2 to span the interval, got {points}")
    edges = bump_edges(n_bumps, interval)
    low, high = _interval(interval)
    centres = low + (np.arange(n_bumps) + 0.5) * (high - low) / n_bumps
    heights = TARGETS[target](centres)
    x = np.linspace(low, high, points)
    # One row per bump: the rising sigmoid at its left edge minus the one at its right edge.
    # At an infinite edge the sigmoid is exactly 1 (left) or 0 (right).
    rise = sigmoid(steepness * (x[None, :] - edges[:-1, None]))
    fall = sigmoid(steepness * (x[None, :] - edges[1:, None]))
    bumps = heights[:, None] * (rise - fall)
    return BumpApproximation(
        name=target,
        steepness=steepness,
        x=x,
        target=TARGETS[target](x),
        approximation=bumps.sum(axis=0),
        bumps=bumps,
        edges=edges,
        heights=heights,
    )


def _interval(interval: Any) -> tuple[float, float]:
    pair = _checks.finite_array("interval", interval, ndim=1)
    if pair.shape != (2,) or not pair[0] < pair[1]:
        raise ValueError(f"interval must be (low, high) with low < high, got {interval!r}")
    return float(pair[0]), float(pair[1])
