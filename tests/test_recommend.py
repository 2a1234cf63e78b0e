"""Tests for mapping_lib.recommend: planted ratings, the two models and the measures.

Reading MovieLens (mapping_lib.data.ratings) is tested in test_data.py and
test_data_integrity.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mapping_lib import data, device, optim, recommend, train

# ------------------------------------------------------------------------- planted ratings


def test_planted_ratings_follow_their_formula():
    planted = recommend.planted_ratings(50, 40, rank=2, ratings_per_user=10, noise_std=0.0)
    assert len(planted) == 500 and planted.density == pytest.approx(0.25)
    assert planted.pairs.shape == (500, 2) and planted.pairs.dtype == np.int32
    by_hand = (
        planted.mean
        + planted.user_bias[planted.users]
        + planted.item_bias[planted.items]
        + np.einsum("nk,nk->n", planted.user_factors[planted.users],
                    planted.item_factors[planted.items])
    )  # fmt: skip
    np.testing.assert_allclose(planted.ratings, by_hand, atol=1e-5)
    # Every user rates distinct items, exactly ratings_per_user of them.
    for user in range(50):
        items = planted.items[planted.users == user]
        assert len(items) == 10 and len(set(items.tolist())) == 10


def test_planted_noise_and_scale():
    planted = recommend.planted_ratings(400, 200, rank=4, ratings_per_user=50, noise_std=0.7)
    residual = planted.ratings - planted.clean(planted.users, planted.items)
    assert residual.std() == pytest.approx(0.7, rel=0.03)
    interaction = np.sum(
        planted.user_factors[planted.users] * planted.item_factors[planted.items], 1
    )
    assert interaction.std() == pytest.approx(1.0, rel=0.1)
    assert "planted rank 4" in planted.source and "noise std 0.7" in planted.source


def test_planted_ratings_are_a_data_ratings_table():
    planted = recommend.planted_ratings(600, 300, rank=3, ratings_per_user=30, seed=0)
    assert isinstance(planted, data.Ratings)
    # 05_applications compares this line with nbval.
    assert repr(planted) == (
        "Ratings(18,000 ratings, 600 users x 300 items, density 0.100; source: synthetic: "
        "600 users x 300 items, 30 ratings per user, planted rank 3, noise std 0.5, seed 0)"
    )


def test_planted_is_reproducible_and_seed_dependent():
    a = recommend.planted_ratings(30, 20, ratings_per_user=5, seed=3)
    b = recommend.planted_ratings(30, 20, ratings_per_user=5, seed=3)
    c = recommend.planted_ratings(30, 20, ratings_per_user=5, seed=4)
    np.testing.assert_array_equal(a.ratings, b.ratings)
    assert not np.array_equal(a.ratings, c.ratings)


def test_split_is_a_shuffled_partition():
    planted = recommend.planted_ratings(60, 30, ratings_per_user=10)
    train_part, test_part = planted.split(0.25, seed=1)
    assert len(test_part) == 150 and len(train_part) == 450
    together = {tuple(p) for p in train_part.pairs} | {tuple(p) for p in test_part.pairs}
    assert together == {tuple(p) for p in planted.pairs}
    # Not sorted by user: a validation tail of the training part must hold many users.
    assert len(np.unique(train_part.users[-45:])) > 20
    assert train_part.item_factors is planted.item_factors  # the truth travels along


# ------------------------------------------------------------------------- measures


def test_subspace_alignment():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(100, 3))
    mixed = basis @ rng.normal(size=(3, 3))  # same span, different columns
    np.testing.assert_allclose(recommend.subspace_alignment(basis, mixed), 1.0, atol=1e-9)
    other = rng.normal(size=(100, 3))
    cosines = recommend.subspace_alignment(basis, other)
    assert cosines.shape == (3,) and np.all(np.diff(cosines) <= 0) and cosines.max() < 0.6
    # Orthogonal spans: coordinates 0-1 against coordinates 2-3.
    eye = np.eye(4)
    np.testing.assert_allclose(recommend.subspace_alignment(eye[:, :2], eye[:, 2:]), 0.0)
    # A 45-degree tilt of a line gives cos 45 degrees.
    assert recommend.subspace_alignment([[1.0], [0.0]], [[1.0], [1.0]])[0] == pytest.approx(
        np.sqrt(0.5)
    )


def test_rmse_and_top_k():
    assert recommend.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.3])
    np.testing.assert_array_equal(recommend.top_k(scores, 3), [1, 3, 2])  # ties: lower first
    np.testing.assert_array_equal(recommend.top_k(scores, 2, exclude=[1, 2]), [3, 4])
    np.testing.assert_array_equal(recommend.top_k(scores, 10, exclude=[0]), [1, 3, 2, 4])


# ------------------------------------------------------------------------- models


def test_matrix_factorization_computes_its_formula():
    device.seed_everything(0)
    model = recommend.MatrixFactorization(5, 4, rank=2, mean=3.0)
    pairs = np.array([[0, 1], [4, 3], [2, 0]])
    model(pairs)  # builds the tables
    p, q = model.user_factors, model.item_factors
    model.user_bias.embeddings.assign(np.arange(5, dtype="float32")[:, None])
    model.item_bias.embeddings.assign(-np.arange(4, dtype="float32")[:, None])
    output = np.asarray(model(pairs)).ravel()
    expected = [3.0 + u - i + p[u] @ q[i] for u, i in pairs]
    np.testing.assert_allclose(output, expected, rtol=1e-5)
    assert p.shape == (5, 2) and q.shape == (4, 2)


def test_l2_penalty_is_a_model_loss():
    model = recommend.MatrixFactorization(6, 5, rank=3, l2=0.1)
    model(np.array([[0, 0]]))
    penalty = float(sum(np.asarray(loss) for loss in model.losses))
    expected = 0.1 * (np.sum(model.user_factors**2) + np.sum(model.item_factors**2))
    assert penalty == pytest.approx(expected, rel=1e-5)
    assert recommend.MatrixFactorization(6, 5).losses == []


def test_matrix_factorization_recovers_planted_factors():
    device.seed_everything(0)
    planted = recommend.planted_ratings(120, 60, rank=2, ratings_per_user=30, noise_std=0.1)
    model = recommend.MatrixFactorization(120, 60, rank=2, mean=float(planted.ratings.mean()))
    train.fit(model, planted.pairs, planted.ratings[:, None], loss="mse",
              optimizer=optim.Adam(0.03), epochs=40, batch_size=256, progress=False)  # fmt: skip
    predicted = np.asarray(model(planted.pairs)).ravel()
    assert recommend.rmse(planted.ratings, predicted) < 0.25
    assert recommend.subspace_alignment(planted.item_factors, model.item_factors).min() > 0.9


def test_neural_cf_shapes_config_and_round_trip(tmp_path):
    device.seed_everything(0)
    model = recommend.NeuralCF(7, 9, embedding_dim=4, hidden=(8, 4), mean=2.5)
    pairs = np.array([[0, 0], [6, 8]])
    output = np.asarray(model(pairs))
    assert output.shape == (2, 1)
    path = tmp_path / "ncf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(pairs)), output, rtol=1e-6)
    assert loaded.hidden == (8, 4) and loaded.mean == 2.5


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: recommend.planted_ratings(0), ValueError, "n_users"),
        (
            lambda: recommend.planted_ratings(10, 5, ratings_per_user=6),
            ValueError,
            "ratings_per_user must be at most",
        ),
        (lambda: recommend.planted_ratings(10, 5, ratings_per_user=2, rank=1.5), TypeError, "rank"),
        (
            lambda: recommend.planted_ratings(10, 5, ratings_per_user=2, noise_std=-1),
            ValueError,
            "noise_std",
        ),
        (
            lambda: recommend.planted_ratings(10, 5, ratings_per_user=2).split(1.0),
            ValueError,
            "test_fraction",
        ),
        (lambda: recommend.MatrixFactorization(3, 0), ValueError, "n_items"),
        (lambda: recommend.MatrixFactorization(3, 3, l2=-0.1), ValueError, "l2"),
        (lambda: recommend.NeuralCF(3, 3, hidden=(8, 0)), ValueError, r"hidden\[1\]"),
        (lambda: recommend.NeuralCF(3, 3, hidden=8), TypeError, "hidden must be a sequence"),
        (
            lambda: recommend.subspace_alignment(np.ones((5, 2)), np.ones((4, 2))),
            ValueError,
            "one row per item",
        ),
        (
            lambda: recommend.subspace_alignment(np.ones((5, 2)), np.eye(5)[:, :2]),
            ValueError,
            "planted must have linearly independent columns",
        ),
        (lambda: recommend.top_k([1.0, 2.0], 0), ValueError, "k must be"),
        (lambda: recommend.top_k([1.0, 2.0], 1, exclude=[2]), ValueError, "exclude must hold"),
        (lambda: recommend.top_k([[1.0]], 1), ValueError, "scores must have rank 1"),
        (lambda: recommend.rmse([1.0], [1.0, 2.0]), ValueError, "same number"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
