"""The points on the Playground's input plane: toy sets, or two principal components of digits.

Toy sets come from :mod:`mapping_lib.data` (TensorFlow Playground's generators).
The real-data mode projects two classes of scikit-learn's 8x8 digits onto their
first two principal components and scales them to the toy sets' range, so the
same features, heatmaps and network fit both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mapping_lib import data
from mapping_lib.playground.config import PlaygroundConfig

EXTENT = 6.0
"""Half the side of the square input plane shown in every heatmap: [-6, 6]^2."""

DIGITS_RADIUS = 5.0
"""The projected digits are scaled so that the farthest one lies this far from the origin."""

CLASSIFICATION_POINTS = 500
REGRESSION_POINTS = 1200


@dataclass(frozen=True)
class PlaneData:
    """Training and test points on the plane: x float32 (n, 2), y float32 (n,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_data(config: PlaygroundConfig) -> PlaneData:
    """Generate (or project) the points of ``config.dataset`` and split them by ``train_percent``.

    Classification labels are 0/1, regression targets lie in about [-1, 1]. The seed picks
    the points and the split; the digits are real, so for them ``noise`` has no effect.
    """
    noise = config.noise / 100.0
    if config.dataset == "digits":
        x, y = digit_plane(config.digits)
    elif config.problem == "regression":
        name = config.dataset.removeprefix("reg-")
        x, y = data.toy_regression(name, n=REGRESSION_POINTS, noise=noise, seed=config.seed)
    else:
        x, y = data.toy_classification(
            config.dataset, n=CLASSIFICATION_POINTS, noise=noise, seed=config.seed
        )
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    order = np.random.default_rng(config.seed).permutation(len(x))
    cut = int(round(len(x) * config.train_percent / 100))
    train, test = order[:cut], order[cut:]
    return PlaneData(x[train], y[train], x[test], y[test])


def digit_plane(digits: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of the 8x8 digits as 2-D points (first two principal components).

    Returns points float32 (n, 2) and labels 0 for ``digits[0]``, 1 for ``digits[1]``.
    """
    points, labels = _projected_digits(tuple(digits))
    return points.copy(), labels.copy()


@functools.lru_cache(maxsize=16)
def _projected_digits(digits: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    images, targets = load_digits(return_X_y=True)
    keep = np.isin(targets, digits)
    pixels = images[keep].astype(np.float64)
    labels = (targets[keep] == digits[1]).astype(np.float32)
    # Principal components: the right singular vectors of the centred pixel matrix.
    centred = pixels - pixels.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    points = centred @ components[:2].T
    # The sign of a singular vector is arbitrary; fix it so the picture never flips.
    points *= np.sign(points[np.argmax(np.abs(points), axis=0), [0, 1]])
    points *= DIGITS_RADIUS / np.max(np.linalg.norm(points, axis=1))
    return points.astype(np.float32), labels
