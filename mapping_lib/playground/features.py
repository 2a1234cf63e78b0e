"""The seven input features of the Playground, each a function of the plane point (x1, x2).

The network never sees the plane directly: it sees the chosen features, computed
here in NumPy once per data set (and once for the heatmap grid), never per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}
"""Feature name -> elementwise function of the two plane coordinates."""

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


def feature_matrix(points: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Stack the named features of ``points`` (shape (n, 2)) into a float32 (n, k) matrix."""
    x1, x2 = points[:, 0], points[:, 1]
    columns = [FEATURES[name](x1, x2) for name in names]
    return np.stack(columns, axis=1).astype(np.float32)


def plane_grid(extent: float, resolution: int) -> np.ndarray:
    """Points of a ``resolution`` x ``resolution`` grid over [-extent, extent]^2, row-major.

    Row 0 is the top of the picture (largest x2), so reshaping a per-point value to
    (resolution, resolution) gives an image the right way up.
    """
    ticks = np.linspace(-extent, extent, resolution, dtype=np.float32)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)
