"""Tests for mapping_lib.recommend: planted ratings, the two models, measures, MovieLens reading.

No test touches the network: downloads are replaced by a failing stub, or by a stub that hands
over a zip archive built in tmp_path.
"""

from __future__ import annotations

import re
import zipfile

import keras
import numpy as np
import pytest

from mapping_lib import data, device, optim, recommend, train


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(fname, origin, **kwargs):
        raise OSError(f"network disabled in tests: {origin}")

    monkeypatch.setattr(data, "download", refuse)


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


# ------------------------------------------------------------------------- MovieLens


def write_movielens(folder):
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("1\t2\t5\t881250949\n3\t1\t3\t891717742\n2\t3\t1\t878887116\n")
    titles = "1|Toy Story (1995)|01-Jan-1995||x\n2|GoldenEye (1995)|x\n3|Café (1996)|x\n"
    (folder / "u.item").write_bytes(titles.encode("latin-1"))


def test_read_movielens(tmp_path):
    write_movielens(tmp_path / "ml-100k")
    ratings = recommend.read_movielens(tmp_path / "ml-100k")
    np.testing.assert_array_equal(ratings.users, [0, 2, 1])  # ids start at 1 in the files
    np.testing.assert_array_equal(ratings.items, [1, 0, 2])
    np.testing.assert_array_equal(ratings.ratings, [5, 3, 1])
    assert (ratings.n_users, ratings.n_items) == (3, 3)
    assert ratings.item_names == ("Toy Story (1995)", "GoldenEye (1995)", "Café (1996)")


def test_read_movielens_rejects_a_bad_line(tmp_path):
    write_movielens(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.data").write_text("1\t2\tfive\t0\n")
    with pytest.raises(ValueError, match="u.data, line 1"):
        recommend.read_movielens(tmp_path / "ml-100k")


def fake_archive(tmp_path):
    write_movielens(tmp_path / "src" / "ml-100k")
    archive = tmp_path / "cache" / "ml-100k.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("u.data", "u.item"):
            bundle.write(tmp_path / "src" / "ml-100k" / name, f"ml-100k/{name}")
    return archive


def test_load_movielens_offline_says_why_in_words():
    # 05_applications prints this message on the page when it skips MovieLens.
    with pytest.raises(FileNotFoundError) as info:
        recommend.load_movielens_100k()
    message = str(info.value)
    assert message.startswith("MovieLens 100K: the download from GroupLens was not possible")
    assert "no offline copy" in message
    assert not re.search(r"/\w|://|Errno", message), message
    assert "network disabled" in str(info.value.__cause__)  # the reason stays chained


def test_load_movielens_checks_the_hash_then_reads(tmp_path, monkeypatch, capsys):
    archive = fake_archive(tmp_path)
    monkeypatch.setattr(data, "download", lambda fname, origin, **kwargs: archive)
    with pytest.raises(ValueError, match="ml-100k.zip is corrupted"):
        recommend.load_movielens_100k()
    monkeypatch.setattr(recommend, "MOVIELENS_SHA256", data.sha256_file(archive))
    ratings = recommend.load_movielens_100k()
    assert len(ratings) == 3 and ratings.source.startswith("MovieLens 100K: 3 ratings")
    assert "fetched from GroupLens into the Keras cache, SHA-256 verified" in ratings.source
    assert not re.search(r"/\w|://|Errno", ratings.source), ratings.source
    assert capsys.readouterr().out == ratings.source + "\n"


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


def test_clean_needs_planted_data(tmp_path):
    write_movielens(tmp_path / "ml-100k")
    real = recommend.read_movielens(tmp_path / "ml-100k")
    with pytest.raises(ValueError, match="only for planted data"):
        real.clean([0], [0])
