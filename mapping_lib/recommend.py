"""Recommendation as a mapping (user, item) -> rating.

A ratings table has one row per user and one column per item, and almost all of it is empty:
nobody rates every film. Collaborative filtering fills in the blanks by assuming that a few
hidden tastes explain the ratings. Matrix factorization writes the rating as an inner
product of a user vector and an item vector plus biases,

    r(u, i) = mu + b_u + b_i + p_u . q_i ,

and a neural collaborative-filtering model replaces the inner product by a small network on
the two vectors. Both are ordinary Keras models trained on the (user, item) pairs that have a
rating.

To check that a model finds hidden tastes, :func:`planted_ratings` makes a table from known
("planted") factors plus noise: the noise level is the best error any model can reach, and
:func:`subspace_alignment` measures whether the learned item vectors span the planted ones.
The tables are :class:`mapping_lib.data.Ratings`; :func:`mapping_lib.data.load_movielens_100k`
gives the real 100,000 MovieLens ratings where a network exists.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks, data


def planted_ratings(
    n_users: int = 600,
    n_items: int = 300,
    *,
    rank: int = 3,
    ratings_per_user: int = 30,
    noise_std: float = 0.5,
    mean: float = 3.5,
    bias_std: float = 0.3,
    seed: int = 0,
) -> data.Ratings:
    """Ratings from planted factors: ``r = mean + b_u + b_i + p_u . q_i + noise``.

    Factor entries are Gaussian, scaled so that ``p_u . q_i`` has standard deviation 1; biases
    have standard deviation ``bias_std`` and the noise ``noise_std``. Each user rates
    ``ratings_per_user`` distinct items chosen at random. Ratings stay continuous (not rounded
    to stars), so ``noise_std`` is exactly the error of a model that knows the truth.
    """
    n_users = _checks.positive_int("n_users", n_users)
    n_items = _checks.positive_int("n_items", n_items)
    rank = _checks.positive_int("rank", rank)
    ratings_per_user = _checks.positive_int("ratings_per_user", ratings_per_user)
    if ratings_per_user > n_items:
        raise ValueError(
            f"ratings_per_user must be at most n_items={n_items}, got {ratings_per_user}"
        )
    noise_std = _checks.non_negative_float("noise_std", noise_std)
    bias_std = _checks.non_negative_float("bias_std", bias_std)
    mean = _checks.finite_array("mean", mean, ndim=0).item()
    rng = np.random.default_rng(_checks.non_negative_int("seed", seed))

    scale = rank**-0.25  # var(p . q) = rank * scale^4 = 1
    user_factors = rng.normal(0.0, scale, (n_users, rank))
    item_factors = rng.normal(0.0, scale, (n_items, rank))
    user_bias = rng.normal(0.0, bias_std, n_users)
    item_bias = rng.normal(0.0, bias_std, n_items)
    users = np.repeat(np.arange(n_users), ratings_per_user)
    # argsort of uniform noise per row: a random subset of distinct items for every user.
    items = np.argsort(rng.random((n_users, n_items)), axis=1)[:, :ratings_per_user].ravel()
    planted = data.Ratings(
        users=users.astype(np.int32),
        items=items.astype(np.int32),
        ratings=np.zeros(len(users), np.float32),
        n_users=n_users,
        n_items=n_items,
        source=(
            f"synthetic: {n_users:,} users x {n_items:,} items, {ratings_per_user} ratings per "
            f"user, planted rank {rank}, noise std {noise_std:g}, seed {seed}"
        ),
        mean=float(mean),
        user_bias=user_bias,
        item_bias=item_bias,
        user_factors=user_factors,
        item_factors=item_factors,
        noise_std=noise_std,
    )
    noisy = planted.clean(users, items) + rng.normal(0.0, noise_std, len(users))
    return replace(planted, ratings=noisy.astype(np.float32))


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _pair_columns(pairs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    pairs = tf.cast(pairs, tf.int32)
    return pairs[:, 0], pairs[:, 1]


@keras.saving.register_keras_serializable(package="mapping_lib")
class MatrixFactorization(keras.Model):
    """``(user, item) -> mean + b_u + b_i + p_u . q_i`` with ``rank``-dimensional p and q.

    Input: int pairs of shape (N, 2); output: ratings (N, 1). ``l2`` penalises the squared
    length of the factor tables (as ``keras.regularizers.L2``); ``mean`` is the fixed offset,
    usually the mean training rating.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        rank: int = 3,
        *,
        l2: float = 0.0,
        mean: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_users = _checks.positive_int("n_users", n_users)
        self.n_items = _checks.positive_int("n_items", n_items)
        self.rank = _checks.positive_int("rank", rank)
        self.l2 = _checks.non_negative_float("l2", l2)
        self.mean = _checks.finite_array("mean", mean, ndim=0).item()
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        # Small random factors: every rating starts near mean + biases. Not too small: all-zero
        # factors are a saddle point of the loss (dL/dp_u is proportional to q_i and vice
        # versa), and training from very near it crawls along long plateaus.
        init = keras.initializers.RandomNormal(stddev=0.1)
        self.user_vectors = keras.layers.Embedding(
            n_users, rank, embeddings_initializer=init, embeddings_regularizer=regularizer
        )
        self.item_vectors = keras.layers.Embedding(
            n_items, rank, embeddings_initializer=init, embeddings_regularizer=regularizer
        )
        self.user_bias = keras.layers.Embedding(n_users, 1, embeddings_initializer="zeros")
        self.item_bias = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros")

    def call(self, pairs: tf.Tensor) -> tf.Tensor:
        users, items = _pair_columns(pairs)
        interaction = tf.reduce_sum(
            self.user_vectors(users) * self.item_vectors(items), axis=-1, keepdims=True
        )
        return self.mean + self.user_bias(users) + self.item_bias(items) + interaction

    @property
    def item_factors(self) -> np.ndarray:
        """The learned item vectors q_i, shape (n_items, rank)."""
        return np.asarray(self.item_vectors.embeddings)

    @property
    def user_factors(self) -> np.ndarray:
        """The learned user vectors p_u, shape (n_users, rank)."""
        return np.asarray(self.user_vectors.embeddings)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "n_users": self.n_users,
            "n_items": self.n_items,
            "rank": self.rank,
            "l2": self.l2,
            "mean": self.mean,
        }


@keras.saving.register_keras_serializable(package="mapping_lib")
class NeuralCF(keras.Model):
    """``(user, item) -> mean + MLP([p_u, q_i])``: the inner product replaced by a network.

    The concatenated vectors pass through ReLU layers of sizes ``hidden`` and one linear
    output (the MLP branch of He et al.'s neural collaborative filtering, for ratings).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        embedding_dim: int = 8,
        *,
        hidden: tuple[int, ...] = (32, 16),
        mean: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_users = _checks.positive_int("n_users", n_users)
        self.n_items = _checks.positive_int("n_items", n_items)
        self.embedding_dim = _checks.positive_int("embedding_dim", embedding_dim)
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise TypeError(f"hidden must be a sequence of layer sizes, got {hidden!r}")
        self.hidden = tuple(_checks.positive_int(f"hidden[{i}]", n) for i, n in enumerate(hidden))
        self.mean = _checks.finite_array("mean", mean, ndim=0).item()
        init = keras.initializers.RandomNormal(stddev=0.05)
        self.user_vectors = keras.layers.Embedding(
            n_users, embedding_dim, embeddings_initializer=init
        )
        self.item_vectors = keras.layers.Embedding(
            n_items, embedding_dim, embeddings_initializer=init
        )
        self.mlp = [keras.layers.Dense(units, activation="relu") for units in self.hidden]
        self.out = keras.layers.Dense(1)

    def call(self, pairs: tf.Tensor) -> tf.Tensor:
        users, items = _pair_columns(pairs)
        hidden = tf.concat([self.user_vectors(users), self.item_vectors(items)], axis=-1)
        for layer in self.mlp:
            hidden = layer(hidden)
        return self.mean + self.out(hidden)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "n_users": self.n_users,
            "n_items": self.n_items,
            "embedding_dim": self.embedding_dim,
            "hidden": list(self.hidden),
            "mean": self.mean,
        }


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error between two arrays of ratings (any shapes with N elements)."""
    true = _checks.finite_array("y_true", y_true).reshape(-1)
    pred = _checks.finite_array("y_pred", y_pred).reshape(-1)
    _checks.same_length("y_true", true, "y_pred", pred)
    if not len(true):
        raise ValueError("y_true must hold at least one rating, got none")
    return float(np.sqrt(np.mean((true.astype(np.float64) - pred) ** 2)))


def subspace_alignment(planted: Any, learned: Any) -> np.ndarray:
    """Cosines of the principal angles between the column spaces of two (n, k) matrices.

    Factors are only identifiable up to an invertible mixing (P Q^T = P A A^-1 Q^T), so
    columns cannot be compared one by one; their spans can. Returns min(k1, k2) cosines,
    largest first: all 1 means one span contains the other, values near 0 mean unrelated
    directions (random k-dimensional subspaces of R^n give squared cosines near k / n).
    """
    a = _checks.finite_array("planted", planted, ndim=2)
    b = _checks.finite_array("learned", learned, ndim=2)
    if len(a) != len(b):
        raise ValueError(
            f"planted and learned must have one row per item, got {len(a)} and {len(b)} rows"
        )
    for name, matrix in (("planted", a), ("learned", b)):
        if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
            raise ValueError(f"{name} must have linearly independent columns")
    qa, _ = np.linalg.qr(a.astype(np.float64))
    qb, _ = np.linalg.qr(b.astype(np.float64))
    return np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)


def top_k(scores: Any, k: int = 10, *, exclude: Any = None) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, skipping the indices in ``exclude``.

    Ties keep the lower index first. With fewer than ``k`` candidates, all are returned.
    """
    values = _checks.finite_array("scores", scores, ndim=1).astype(np.float64)
    k = _checks.positive_int("k", k)
    allowed = np.ones(len(values), dtype=bool)
    if exclude is not None:
        excluded = np.asarray(exclude, dtype=np.int64).reshape(-1)
        if excluded.size and (excluded.min() < 0 or excluded.max() >= len(values)):
            raise ValueError(
                f"exclude must hold indices in [0, {len(values)}), got values from "
                f"{excluded.min()} to {excluded.max()}"
            )
        allowed[excluded] = False
    candidates = np.flatnonzero(allowed)
    order = np.argsort(-values[candidates], kind="stable")
    return candidates[order[:k]]


def held_out_ranks(scores: Any, train: data.Ratings, test: data.Ratings) -> np.ndarray:
    """Where each user's best held-out item lands when the model ranks that user's unseen items.

    For every user with a rating in ``test``, the item with the highest held-out rating is the
    one the user should find; the candidates are all the items the user did not rate in
    ``train`` (the held-out item among them). Returns one rank per such user, 0 for first
    place. Ties count against the held-out item, so a constant score earns no hits.

    Args:
        scores: (n_users, n_items) array, the model's score for every (user, item) pair.
        train: the ratings the model was trained on.
        test: the held-out ratings, disjoint from ``train``.
    """
    values = _checks.finite_array("scores", scores, ndim=2).astype(np.float64)
    if values.shape != (train.n_users, train.n_items):
        raise ValueError(
            f"scores must have shape (n_users, n_items) = ({train.n_users}, {train.n_items}), "
            f"got {values.shape}"
        )
    if not len(test):
        raise ValueError("test must hold at least one rating, got none")
    seen = np.zeros(values.shape, dtype=bool)
    seen[train.users, train.items] = True
    if seen[test.users, test.items].any():
        raise ValueError("test must not repeat a (user, item) pair of train")
    # the best held-out item of each user: sort by user, then rating (best last)
    order = np.lexsort((test.ratings, test.users))
    users, items = test.users[order], test.items[order]
    last = np.r_[users[1:] != users[:-1], True]
    users, items = users[last], items[last]
    rows = values[users]
    target = rows[np.arange(len(users)), items][:, None]
    ahead = (rows >= target) & ~seen[users]
    return ahead.sum(axis=1) - 1  # the held-out item itself is counted once


def hit_rate(ranks: Any, k: int = 10) -> float:
    """Fraction of users whose held-out item is among the top ``k`` (hit rate at k)."""
    ranks = _checks.finite_array("ranks", ranks, ndim=1)
    k = _checks.positive_int("k", k)
    if not len(ranks):
        raise ValueError("ranks must hold at least one rank, got none")
    return float(np.mean(ranks < k))


def ndcg(ranks: Any, k: int = 10) -> float:
    """Normalised discounted cumulative gain at ``k`` with one relevant item per user.

    A hit at rank r (0 = first) is worth 1 / log2(r + 2): 1 in first place, 0.63 in second,
    0.29 in tenth; a miss is worth 0. With one relevant item the ideal list scores 1, so no
    further normalisation is needed.
    """
    ranks = _checks.finite_array("ranks", ranks, ndim=1)
    k = _checks.positive_int("k", k)
    if not len(ranks):
        raise ValueError("ranks must hold at least one rank, got none")
    gains = np.where(ranks < k, 1.0 / np.log2(np.maximum(ranks, 0) + 2.0), 0.0)
    return float(np.mean(gains))
