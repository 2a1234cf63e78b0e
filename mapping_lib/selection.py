"""Model selection: a decision threshold from a precision-recall curve, k-fold
cross-validation and random hyperparameter search.

Each helper is a thin layer over scikit-learn (``precision_recall_curve``,
``StratifiedKFold``, ``ParameterSampler``): scikit-learn does the bookkeeping, and these
functions fix the conventions the book uses (higher scores are better, results are
reproducible from a seed, bad arguments raise a ``ValueError`` that names them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import ParameterSampler, StratifiedKFold

from mapping_lib import _checks

__all__ = ["Threshold", "cross_validate", "random_search", "threshold_at_precision"]


@dataclass(frozen=True)
class Threshold:
    """A decision threshold and the precision and recall it gives on the data it was chosen on."""

    threshold: float
    precision: float
    recall: float


def _binary_labels(name: str, value: Any) -> np.ndarray:
    labels = np.asarray(value)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of 0/1 labels, got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(labels)[:5]}")
    if labels.sum() == 0:
        raise ValueError(f"{name} must contain at least one positive (1) label")
    return labels.astype(int)


def threshold_at_precision(y_true: Any, scores: Any, min_precision: float) -> Threshold:
    """The threshold with the highest recall among those with precision >= ``min_precision``.

    Predicting "positive" when ``score >= threshold``, a lower threshold finds more of the
    positives (recall never falls as the threshold falls), so this is the lowest threshold
    that still meets the precision requirement (scikit-learn's curve stops at the highest
    threshold that reaches full recall; lower ones cannot add recall).

    Args:
        y_true: 0/1 labels, one per example, with at least one 1.
        scores: one real score per example (a logit or a probability); higher means
            "more likely positive".
        min_precision: the required precision, in (0, 1].

    Returns:
        The threshold and the precision and recall it gives on ``y_true``.

    Raises:
        ValueError: for malformed arguments, or if no threshold reaches ``min_precision``.
    """
    labels = _binary_labels("y_true", y_true)
    scores = _checks.finite_array("scores", scores, ndim=1)
    _checks.same_length("y_true", labels, "scores", scores)
    target = _checks.in_range("min_precision", min_precision, 0.0, 1.0, closed="(]")
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    # precision[i] and recall[i] belong to thresholds[i]; the last pair (1, 0) has none.
    meets = np.flatnonzero(precision[:-1] >= target)
    if meets.size == 0:
        raise ValueError(
            f"min_precision={target} is reached by no threshold: the highest precision "
            f"is {precision[:-1].max():.3f}"
        )
    best = meets[np.argmax(recall[meets])]
    return Threshold(float(thresholds[best]), float(precision[best]), float(recall[best]))


def cross_validate(
    train_and_score: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float],
    x: Any,
    y: Any,
    *,
    n_splits: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Stratified k-fold cross-validation: one score per fold.

    Args:
        train_and_score: ``(x_train, y_train, x_held_out, y_held_out) -> score``; it trains a
            fresh model on the first pair and scores it on the second.
        x, y: the examples and their class labels (one per row).
        n_splits: the number of folds k (at least 2); every example is held out once.
        seed: shuffles the examples before they are dealt into folds.

    Returns:
        The k scores, in fold order; report their mean and standard deviation.
    """
    x, y = np.asarray(x), np.asarray(y)
    _checks.same_length("x", x, "y", y)
    n_splits = _checks.positive_int("n_splits", n_splits)
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits}")
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=_checks.seed("seed", seed))
    return np.array([float(train_and_score(x[a], y[a], x[b], y[b])) for a, b in folds.split(x, y)])


def random_search(
    train_and_score: Callable[[dict[str, Any]], float],
    space: Mapping[str, Any],
    *,
    n_trials: int,
    seed: int = 0,
) -> list[tuple[dict[str, Any], float]]:
    """Random search: ``n_trials`` settings drawn from ``space``, each trained and scored.

    Args:
        train_and_score: ``params -> score`` (higher is better), e.g. a validation accuracy.
        space: as for ``sklearn.model_selection.ParameterSampler``: each name maps to a list
            (drawn uniformly) or a ``scipy.stats`` distribution (e.g. ``loguniform``).
        n_trials: how many settings to try.
        seed: makes the drawn settings reproducible.

    Returns:
        ``(params, score)`` pairs, best score first.
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty mapping of names to choices, got {space!r}")
    n_trials = _checks.positive_int("n_trials", n_trials)
    sampler = ParameterSampler(dict(space), n_trials, random_state=_checks.seed("seed", seed))
    results = []
    for params in sampler:
        # Plain Python numbers, so that the settings print as 0.003 and not np.float64(0.003).
        params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
        results.append((params, float(train_and_score(params))))
    return sorted(results, key=lambda pair: -pair[1])
