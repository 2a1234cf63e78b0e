"""Ratings tables: the :class:`Ratings` container and the MovieLens 100K loader.

A ratings table is a set of observed (user, item, rating) triples; models that learn from them
are :mod:`mapping_lib.recommend`. MovieLens 100K comes from GroupLens: ``ml-100k.zip`` is
downloaded once into the Keras cache and the two files read are extracted beside it. The zip
and both files have pinned SHA-256 hashes, checked on every load; there is no offline copy.
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mapping_lib import _checks
from mapping_lib.data import integrity
from mapping_lib.data.loaded import announce

_log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class Ratings:
    """Observed ratings as three aligned arrays, plus what is known about where they came from.

    ``users`` and ``items`` are int32 indices from 0, ``ratings`` float32. For planted data
    ``user_factors`` (n_users, rank), ``item_factors`` (n_items, rank), the biases and
    ``noise_std`` hold the truth; for real data they are None. ``item_names`` names the items
    where known (MovieLens titles).
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    n_users: int
    n_items: int
    source: str
    mean: float | None = None
    user_bias: np.ndarray | None = None
    item_bias: np.ndarray | None = None
    user_factors: np.ndarray | None = None
    item_factors: np.ndarray | None = None
    noise_std: float | None = None
    item_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.ratings)

    def __repr__(self) -> str:
        return (
            f"Ratings({len(self):,} ratings, {self.n_users:,} users x {self.n_items:,} items, "
            f"density {self.density:.3f}; source: {self.source})"
        )

    @property
    def density(self) -> float:
        """The fraction of the user x item table that holds a rating."""
        return len(self) / (self.n_users * self.n_items)

    @property
    def pairs(self) -> np.ndarray:
        """The (user, item) inputs as an int32 array of shape (N, 2)."""
        return np.stack([self.users, self.items], axis=1)

    def clean(self, users: Any, items: Any) -> np.ndarray:
        """Planted ratings without noise for the given pairs (planted data only)."""
        if self.user_factors is None:
            raise ValueError("clean ratings exist only for planted data (planted_ratings)")
        users, items = np.asarray(users), np.asarray(items)
        interaction = np.sum(self.user_factors[users] * self.item_factors[items], axis=-1)
        return self.mean + self.user_bias[users] + self.item_bias[items] + interaction

    def subset(self, index: Any) -> Ratings:
        """The ratings at ``index`` (an index array or boolean mask); the truth is kept."""
        return replace(
            self, users=self.users[index], items=self.items[index], ratings=self.ratings[index]
        )

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[Ratings, Ratings]:
        """A random (train, test) split; both parts come in random order, not sorted by user."""
        test_fraction = _checks.in_range("test_fraction", test_fraction, 0.0, 1.0, closed="()")
        order = np.random.default_rng(_checks.non_negative_int("seed", seed)).permutation(len(self))
        cut = int(round(len(self) * test_fraction))
        return self.subset(order[cut:]), self.subset(order[:cut])


# --------------------------------------------------------------------------------------------
# MovieLens 100K
# --------------------------------------------------------------------------------------------

MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
MOVIELENS_SHA256 = {
    "ml-100k.zip": "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
}
"""SHA-256 of ml-100k.zip as GroupLens publishes it (4,924,029 bytes) and of the two files of
its ``ml-100k/`` folder that are read: the ratings (u.data) and the film titles (u.item)."""

_READ = ("u.data", "u.item")


def read_movielens(folder: str | os.PathLike) -> Ratings:
    """Read an extracted ``ml-100k`` folder: ``u.data`` (ratings) and ``u.item`` (titles).

    Both files are checked against ``MOVIELENS_SHA256`` first; a file that differs raises a
    ValueError naming it. ``source`` is left empty for the caller to fill in.
    """
    folder = _checks.path("folder", folder)
    ratings_file, titles_file = (
        integrity.read_verified(folder / name, MOVIELENS_SHA256[name]) for name in _READ
    )
    rows = []
    for number, line in enumerate(ratings_file.decode("ascii").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 4 or not all(field.isdigit() for field in fields):
            raise ValueError(f"{folder / 'u.data'}, line {number}: expected 4 tab-separated ints")
        rows.append([int(field) for field in fields[:3]])
    table = np.array(rows, dtype=np.int64)
    titles = {}
    # u.item is Latin-1 and '|'-separated: id|title|release date|...
    for line in titles_file.decode("latin-1").splitlines():
        if line.strip():
            item_id, title = line.split("|")[:2]
            titles[int(item_id)] = title
    n_users, n_items = int(table[:, 0].max()), int(table[:, 1].max())
    return Ratings(
        users=(table[:, 0] - 1).astype(np.int32),  # ids in the files start at 1
        items=(table[:, 1] - 1).astype(np.int32),
        ratings=table[:, 2].astype(np.float32),
        n_users=n_users,
        n_items=n_items,
        source="",
        item_names=tuple(titles.get(i + 1, f"item {i + 1}") for i in range(n_items)),
    )


def _extract(folder: Path, names: list[str]) -> None:
    """Extract ``names`` from the verified ml-100k.zip (downloaded if need be) into ``folder``."""
    try:
        archive = integrity.download(
            "ml-100k.zip", MOVIELENS_URL, sha256=MOVIELENS_SHA256["ml-100k.zip"]
        )
    except integrity.DownloadError as error:
        _log.debug("MovieLens 100K: %s", error)
        raise FileNotFoundError(
            "MovieLens 100K: the download from GroupLens was not possible here, and the book "
            "ships no offline copy of these ratings"
        ) from error
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(archive) as bundle:
        for name in names:
            with integrity.atomic_write(folder / name) as out:
                out.write(bundle.read(f"ml-100k/{name}"))


def load_movielens_100k() -> Ratings:
    """The MovieLens 100K ratings (943 users, 1,682 films, 1-5 stars) from GroupLens.

    The first call downloads ``ml-100k.zip`` into the Keras cache and extracts the two files
    read; every call checks them against their pinned SHA-256, and a cached file that differs
    raises a ValueError naming it. Without a network and without those files this raises
    FileNotFoundError; there is no offline copy. Its message is written for the page (no URL,
    no network error text); the cause stays chained to it.
    """
    folder = integrity.cache_dir() / "ml-100k"
    missing = [name for name in _READ if not (folder / name).is_file()]
    if missing:
        _extract(folder, missing)
    _log.debug("MovieLens 100K: reading %s", folder)
    ratings = read_movielens(folder)
    source = (
        f"MovieLens 100K: {len(ratings):,} ratings by {ratings.n_users:,} users of "
        f"{ratings.n_items:,} films, fetched from GroupLens into the Keras cache, "
        "SHA-256 verified"
    )
    announce(source)
    return replace(ratings, source=source)
