"""mapping_lib.selection: thresholds from the precision-recall curve, k-fold cross-validation
and random search, against what they must compute by definition."""

import numpy as np
import pytest
from scipy.stats import loguniform

from mapping_lib import selection


def test_threshold_at_precision_is_the_lowest_threshold_meeting_the_target():
    y = np.array([0, 0, 1, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    chosen = selection.threshold_at_precision(y, scores, 0.6)
    # Brute force: every candidate threshold, its precision and recall.
    best = None
    for t in np.unique(scores):
        predicted = scores >= t
        precision = y[predicted].mean()
        recall = predicted[y == 1].mean()
        if precision >= 0.6 and (best is None or recall > best[2]):
            best = (t, precision, recall)
    assert (chosen.threshold, chosen.precision, chosen.recall) == pytest.approx(best)
    assert chosen.threshold == 0.3 and chosen.recall == 1.0


def test_threshold_at_precision_one_keeps_only_certain_positives():
    y = np.array([1, 1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    chosen = selection.threshold_at_precision(y, scores, 1.0)
    assert chosen.threshold == 0.8 and chosen.precision == 1.0
    assert chosen.recall == pytest.approx(2 / 3)


def test_threshold_at_precision_rejects_bad_input():
    with pytest.raises(ValueError, match="min_precision"):
        selection.threshold_at_precision([0, 1], [0.1, 0.9], 0.0)
    with pytest.raises(ValueError, match="y_true"):
        selection.threshold_at_precision([0, 2], [0.1, 0.9], 0.5)
    with pytest.raises(ValueError, match="y_true"):
        selection.threshold_at_precision([0, 0], [0.1, 0.9], 0.5)
    with pytest.raises(ValueError, match="same number"):
        selection.threshold_at_precision([0, 1, 1], [0.1, 0.9], 0.5)
    with pytest.raises(ValueError, match="reached by no threshold"):
        selection.threshold_at_precision([1, 0], [0.1, 0.9], 0.9)


def test_cross_validate_holds_every_example_out_once_with_stratified_folds():
    x = np.arange(40).reshape(20, 2)
    y = np.array([0] * 15 + [1] * 5)
    held_out = []

    def record(x_train, y_train, x_held, y_held):
        assert not set(x_train[:, 0]) & set(x_held[:, 0])  # train and held-out are disjoint
        assert y_held.sum() == 1  # stratified: 5 positives over 5 folds
        held_out.extend(x_held[:, 0].tolist())
        return len(y_held)

    scores = selection.cross_validate(record, x, y, n_splits=5, seed=3)
    assert scores.tolist() == [4.0] * 5
    assert sorted(held_out) == x[:, 0].tolist()
    with pytest.raises(ValueError, match="n_splits"):
        selection.cross_validate(record, x, y, n_splits=1)
    with pytest.raises(ValueError, match="same number"):
        selection.cross_validate(record, x, y[:-1])


def test_random_search_is_reproducible_and_sorted_best_first():
    space = {"lr": loguniform(1e-4, 1e-1), "units": [8, 16, 32]}

    def score(params):
        assert type(params["lr"]) is float and type(params["units"]) is int
        return -abs(np.log10(params["lr"]) + 2) + params["units"] / 100

    first = selection.random_search(score, space, n_trials=6, seed=1)
    assert first == selection.random_search(score, space, n_trials=6, seed=1)
    assert first != selection.random_search(score, space, n_trials=6, seed=2)
    assert len(first) == 6
    assert [s for _, s in first] == sorted((s for _, s in first), reverse=True)
    assert all(1e-4 <= p["lr"] <= 1e-1 and p["units"] in (8, 16, 32) for p, _ in first)
    with pytest.raises(ValueError, match="space"):
        selection.random_search(score, {}, n_trials=3)
    with pytest.raises(ValueError, match="n_trials"):
        selection.random_search(score, space, n_trials=0)
