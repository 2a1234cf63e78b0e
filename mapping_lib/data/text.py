"""Sentiment Labelled Sentences: 3,000 one-line reviews from Amazon, IMDb and Yelp.

Read from the book's data folder (``data_dir``, else ``$MAPPING_DATA_DIR``), else from the UCI
archive, downloaded once into the Keras cache.
"""

from __future__ import annotations

import os

import numpy as np

from mapping_lib import _checks
from mapping_lib.data import integrity
from mapping_lib.data.loaded import LoadedData, announce, stratified_split

SENTIMENT_RELEASE = integrity.Release(
    title="Sentiment Labelled Sentences",
    origin="the UCI Machine Learning Repository",
    folder="sentiment",
    files_in=".",
    pattern="*.txt",
    archive_folder="sentiment labelled sentences",
    url="https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
    archive="sentiment_labelled_sentences.zip",
    # The SHA-256 of its four files (three reviews files and readme.txt), pinned through the
    # digest of their sorted listing.
    listing_sha256="28595c9059fcf6146508d1845ee71ed42bd562cb0021554d51892300bf571878",
)

_REVIEW_FILES = {
    "amazon": "amazon_cells_labelled.txt",
    "imdb": "imdb_labelled.txt",
    "yelp": "yelp_labelled.txt",
}


def _parse_reviews(raw: bytes, name: str) -> tuple[list[str], list[int]]:
    sentences, labels = [], []
    # Split on "\n" only: imdb_labelled.txt contains U+0085 (NEL) inside sentences, which
    # str.splitlines() would treat as a line break.
    for number, line in enumerate(raw.decode("utf-8").split("\n"), 1):
        if not line.strip():
            continue
        sentence, _, label = line.rstrip().rpartition("\t")
        if label not in ("0", "1") or not sentence.strip():
            raise ValueError(f"{name}, line {number}: expected '<sentence>\\t<0 or 1>'")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def load_sentiment(
    data_dir: str | os.PathLike | None = None, *, test_fraction: float = 0.2, seed: int = 0
) -> LoadedData:
    """Sentiment Labelled Sentences: 3,000 one-line reviews, y 0 negative / 1 positive.

    x is a NumPy array of str. The split is stratified by (site, label) and fixed by ``seed``;
    ``extras`` holds ``site_train`` and ``site_test`` (amazon, imdb or yelp).

    Args:
        data_dir: the book's data folder (holding ``sentiment/SHA256SUMS``); default
            ``$MAPPING_DATA_DIR``, else a download.
        test_fraction: the share of every (site, label) group that goes to the test set.
        seed: fixes the split.
    """
    test_fraction = _checks.in_range("test_fraction", test_fraction, 0.0, 1.0, closed="()")
    seed = _checks.non_negative_int("seed", seed)
    contents, location, where = integrity.release_files(SENTIMENT_RELEASE, data_dir)
    sentences, labels, sites = [], [], []
    for site, name in _REVIEW_FILES.items():
        # The pinned listing holds all three files, so a verified release has each of them.
        texts, marks = _parse_reviews(contents[name], f"{name} in {location}")
        sentences += texts
        labels += marks
        sites += [site] * len(texts)
    x, y, site = np.array(sentences), np.array(labels, dtype=np.int32), np.array(sites)
    train, test = stratified_split(np.char.add(site, y.astype(str)), test_fraction, seed)
    source = (
        f"Sentiment Labelled Sentences: {len(x):,} sentences (amazon, imdb, yelp), "
        f"{where}; split {len(train):,} training + {len(test):,} test, stratified by site and label"
    )
    announce(source)
    return LoadedData(
        x[train],
        y[train],
        x[test],
        y[test],
        ("negative", "positive"),
        source,
        extras={"site_train": site[train], "site_test": site[test]},
    )
