"""Data for the book: toy 2-D sets and real data sets whose origin is always stated.

One module per kind of data: :mod:`~mapping_lib.data.toy` (TensorFlow Playground's 2-D sets),
:mod:`~mapping_lib.data.images` (MNIST, Fashion-MNIST), :mod:`~mapping_lib.data.audio` (spoken
digits), :mod:`~mapping_lib.data.text` (review sentences), :mod:`~mapping_lib.data.ratings`
(ratings tables, MovieLens 100K); :mod:`~mapping_lib.data.integrity` holds the checksums and
downloads they share, :mod:`~mapping_lib.data.loaded` the container they return.

Real data sets come back as :class:`LoadedData` (ratings as :class:`Ratings`), whose
``source`` says in words which data was used; every loader also prints that sentence. It names
no machine path and quotes no network error, since it appears on the book's pages; the paths
read and the reason a download failed go to the debug log
(``logging.getLogger("mapping_lib.data")``). A local copy is used first, as keras uses its
cache first. Every file read is checked against a SHA-256 pinned in the code, on every load,
and a mismatch raises a ValueError naming the file and both hashes.
"""

from mapping_lib.data.audio import load_fsdd
from mapping_lib.data.images import (
    FASHION_CLASSES,
    FASHION_DEBIAN_DIR,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from mapping_lib.data.integrity import (
    DOWNLOAD_TIMEOUT_S,
    DownloadError,
    cache_dir,
    download,
    read_sha256sums,
    read_verified,
    read_verified_files,
    sha256_file,
)
from mapping_lib.data.loaded import LoadedData
from mapping_lib.data.ratings import Ratings, load_movielens_100k, read_movielens
from mapping_lib.data.text import load_sentiment
from mapping_lib.data.toy import toy_classification, toy_regression

__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "FASHION_CLASSES",
    "FASHION_DEBIAN_DIR",
    "DownloadError",
    "LoadedData",
    "Ratings",
    "cache_dir",
    "download",
    "load_fashion_mnist",
    "load_fsdd",
    "load_mnist",
    "load_movielens_100k",
    "load_sentiment",
    "read_idx",
    "read_movielens",
    "read_sha256sums",
    "read_verified",
    "read_verified_files",
    "sha256_file",
    "toy_classification",
    "toy_regression",
]
