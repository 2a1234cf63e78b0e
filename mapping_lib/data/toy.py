"""Toy 2-D data sets, following the generators of TensorFlow Playground (``dataset.ts``).

Same shapes, radii and noise rules as the Playground, with its -1/+1 labels mapped to 0/1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from mapping_lib import _checks

_TWO_PI = 2.0 * np.pi


def _class_sizes(n: int) -> tuple[int, int]:
    """Sizes of class 1 and class 0; the Playground draws class 1 first."""
    return n - n // 2, n // 2


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    inner, outer = _class_sizes(n)
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, inner), rng.uniform(radius * 0.7, radius, outer)]
    )
    angle = rng.uniform(0.0, _TWO_PI, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    # The Playground moves only the point used for labelling, so noise flips labels near the
    # boundary while the drawn points keep their clean gap.
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.linalg.norm(points + jitter, axis=1) < radius * 0.5
    return points, labels


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points = np.where(points > 0, points + padding, points - padding)
    jitter = rng.uniform(-5.0, 5.0, (n, 2)) * noise
    noisy = points + jitter
    return points, noisy[:, 0] * noisy[:, 1] >= 0


def _two_gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # The Playground maps noise 0..0.5 linearly to a variance of 0.5..4.
    std = np.sqrt(0.5 + noise / 0.5 * 3.5)
    positive, negative = _class_sizes(n)
    points = np.concatenate(
        [rng.normal(2.0, std, (positive, 2)), rng.normal(-2.0, std, (negative, 2))]
    )
    labels = np.arange(n) < positive
    return points, labels


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    arms = []
    for count, turn in zip(_class_sizes(n), (0.0, np.pi), strict=True):
        step = np.arange(count) / max(count, 1)
        r = step * 5.0
        t = 1.75 * step * _TWO_PI + turn
        arm = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        arms.append(arm + rng.uniform(-1.0, 1.0, (count, 2)) * noise)
    labels = np.arange(n) < len(arms[0])
    return np.concatenate(arms), labels


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = points + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    # The Playground scales x + y from [-10, 10] to [-1, 1].
    return points, noisy.sum(axis=1) / 10.0


_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def _gaussian_bumps(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = points + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    distance = np.linalg.norm(noisy[:, None, :] - _BUMPS[None, :, :2], axis=2)
    # Each bump falls linearly from 1 at its centre to 0 at distance 2; the strongest wins.
    heights = _BUMPS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    strongest = np.argmax(np.abs(heights), axis=1)
    return points, heights[np.arange(n), strongest]


_Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
_CLASSIFICATION: dict[str, _Generator] = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _two_gaussians,
    "spiral": _spiral,
}
_REGRESSION: dict[str, _Generator] = {"plane": _plane, "gauss": _gaussian_bumps}


def _toy(
    generators: Mapping[str, _Generator], name: str, n: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    generate = generators[_checks.one_of("name", name, generators)]
    n = _checks.positive_int("n", n)
    noise = _checks.in_range("noise", noise, 0.0, 0.5, closed="[]")
    rng = np.random.default_rng(_checks.non_negative_int("seed", seed))
    points, targets = generate(n, noise, rng)
    order = rng.permutation(n)  # the Playground shuffles too; classes arrive mixed
    return points[order].astype(np.float32), targets[order]


def toy_classification(
    name: str, n: int = 500, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``: ``n`` points (float32, shape (n, 2)) and int32 labels in {0, 1}.

    ``name`` is one of "circle", "xor", "gauss", "spiral"; ``noise`` runs from 0 to 0.5, the
    Playground's 0-50 %. Points lie roughly in [-6, 6]; the same seed gives the same data.
    """
    x, labels = _toy(_CLASSIFICATION, name, n, noise, seed)
    return x, labels.astype(np.int32)


def toy_regression(
    name: str, n: int = 500, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``: ``n`` points in [-6, 6]^2 (float32, (n, 2)) and float32 targets (n,).

    ``name`` is "plane" (y = (x1 + x2) / 10) or "gauss" (six signed bumps, y in [-1, 1]).
    """
    x, targets = _toy(_REGRESSION, name, n, noise, seed)
    return x, targets.astype(np.float32)
