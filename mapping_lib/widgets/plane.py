"""The plane the Chapter 1 explorers draw in: a view box and a unit's decision line in it.

The neuron explorer draws the line ``w . x + b = 0`` of its one neuron; the layer-warp
explorer draws the same kind of line for the output unit in the last hidden layer's plane.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mapping_lib import _checks

Extent = tuple[float, float, float, float]
"""A view box (x0, x1, y0, y1)."""

Segment = tuple[tuple[float, float], tuple[float, float]]
"""A piece of a line as its two end points."""


def checked_extent(name: str, value: Any) -> Extent:
    """Check a plotting box (x0, x1, y0, y1) with x0 < x1 and y0 < y1."""
    box = _checks.finite_array(name, value, ndim=1)
    if box.shape != (4,) or not (box[0] < box[1] and box[2] < box[3]):
        raise ValueError(f"{name} must be (x0, x1, y0, y1) with x0 < x1 and y0 < y1, got {value!r}")
    return tuple(float(v) for v in box)


def _number(name: str, value: Any) -> float:
    """Check one finite real number (a weight, a bias)."""
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    return float(_checks.finite_array(name, value))


def decision_line(w1: float, w2: float, b: float, extent: Extent) -> Segment | None:
    """The part of the line ``w1*x + w2*y + b = 0`` inside ``extent``, as two end points.

    Returns None when ``w = 0`` (the neuron's output is the same everywhere, so it draws no
    line) or when the line misses the box.
    """
    w1, w2, b = (_number(name, value) for name, value in (("w1", w1), ("w2", w2), ("b", b)))
    x0, x1, y0, y1 = checked_extent("extent", extent)
    if w1 == 0 and w2 == 0:
        return None
    hits = []
    if w2 != 0:  # crossings of the left and right edges
        hits += [(x, -(b + w1 * x) / w2) for x in (x0, x1)]
    if w1 != 0:  # crossings of the bottom and top edges
        hits += [(-(b + w2 * y) / w1, y) for y in (y0, y1)]
    slack = 1e-9 * max(x1 - x0, y1 - y0)
    inside = [
        (x, y) for x, y in hits if x0 - slack <= x <= x1 + slack and y0 - slack <= y <= y1 + slack
    ]
    if len(inside) < 2:
        return None
    # A line through a corner hits two edges there; the two points farthest apart are the ends.
    pairs = [(p, q) for i, p in enumerate(inside) for q in inside[i + 1 :]]
    p, q = max(pairs, key=lambda pq: np.hypot(pq[0][0] - pq[1][0], pq[0][1] - pq[1][1]))
    if np.hypot(p[0] - q[0], p[1] - q[1]) <= slack:  # the line only touches a corner
        return None
    clip = lambda x, y: (float(np.clip(x, x0, x1)), float(np.clip(y, y0, y1)))  # noqa: E731
    return clip(*p), clip(*q)
