"""mapping_lib.recommend's ranking measures: held-out ranks, hit rate and NDCG at k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mapping_lib import data, recommend


def _table(users, items, ratings, n_users=2, n_items=6):
    return data.Ratings(
        users=np.asarray(users, np.int32), items=np.asarray(items, np.int32),
        ratings=np.asarray(ratings, np.float32), n_users=n_users, n_items=n_items,
        source="test",
    )


def test_ranks_count_the_unseen_items_scored_at_least_as_high():
    train = _table([0, 0, 1], [0, 1, 5], [5, 4, 3])
    # user 0 holds out items 2 (rating 1) and 3 (rating 5): item 3 is the one to find
    test = _table([0, 0, 1], [2, 3, 4], [1, 5, 2])
    scores = np.array([[9, 9, 7, 6, 8, 0],    # unseen 2, 3, 4, 5: 7 and 8 beat 6 -> rank 2
                       [0, 0, 0, 0, 5, 9]])   # unseen 0-4: item 4 ranks first -> rank 0
    assert recommend.held_out_ranks(scores, train, test).tolist() == [2, 0]
    # seen items never count, however high their score (items 0 and 1 of user 0 score 9)


def test_ties_count_against_the_held_out_item():
    train = _table([0], [0], [3], n_users=1)
    test = _table([0], [4], [5], n_users=1)
    constant = np.zeros((1, 6))
    assert recommend.held_out_ranks(constant, train, test).tolist() == [4]  # last of 5


def test_noise_free_scores_find_the_best_held_out_item_when_it_is_the_only_unseen_kind():
    planted = recommend.planted_ratings(40, 30, rank=2, ratings_per_user=10, noise_std=0.0)
    _, test = planted.split(0.3, seed=1)
    users, items = (grid.ravel() for grid in np.meshgrid(np.arange(40), np.arange(30),
                                                         indexing="ij"))
    truth = planted.clean(users, items).reshape(40, 30)
    held_out = np.zeros((40, 30), bool)
    held_out[test.users, test.items] = True
    # train on every other pair: the only candidates are the held-out items themselves
    rest = ~held_out.ravel()
    train = _table(users[rest], items[rest], truth.ravel()[rest], 40, 30)
    ranks = recommend.held_out_ranks(truth, train, test)
    assert len(ranks) == len(np.unique(test.users))
    assert (ranks == 0).all()
    # the reversed scores put it last among that user's held-out items
    last = held_out.sum(axis=1)[np.unique(test.users)] - 1
    assert (recommend.held_out_ranks(-truth, train, test) == last).all()


def test_hit_rate_and_ndcg_by_hand():
    ranks = np.array([0, 1, 9, 10, 50])
    assert recommend.hit_rate(ranks, 10) == pytest.approx(3 / 5)
    assert recommend.hit_rate(ranks, 1) == pytest.approx(1 / 5)
    expected = (1 + 1 / math.log2(3) + 1 / math.log2(11)) / 5
    assert recommend.ndcg(ranks, 10) == pytest.approx(expected)
    assert recommend.ndcg(np.zeros(3), 10) == 1.0


def test_random_scores_hit_about_k_in_n_candidates():
    planted = recommend.planted_ratings(600, 300, rank=3, ratings_per_user=30, seed=2)
    train, test = planted.split(0.2, seed=0)
    scores = np.random.default_rng(0).random((600, 300))
    ranks = recommend.held_out_ranks(scores, train, test)
    candidates = 300 - 24  # 30 ratings, 80 % of them in train on average
    assert recommend.hit_rate(ranks, 10) == pytest.approx(10 / candidates, abs=0.02)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t, s: recommend.held_out_ranks(np.zeros((2, 5)), t, s), r"scores must have shape"),
        (lambda t, s: recommend.held_out_ranks(np.zeros((2, 6)), t, t), "must not repeat"),
        (lambda t, s: recommend.held_out_ranks(np.zeros((2, 6)), t, t.subset([])),
         "test must hold"),
        (lambda t, s: recommend.hit_rate(np.array([]), 10), "ranks must hold"),
        (lambda t, s: recommend.ndcg(np.array([1, 2]), 0), "k must be a positive int, got 0"),
    ],
)
def test_bad_input_is_named(call, message):
    train = _table([0, 1], [0, 1], [1, 2])
    test = _table([0], [2], [3])
    with pytest.raises(ValueError, match=message):
        call(train, test)
