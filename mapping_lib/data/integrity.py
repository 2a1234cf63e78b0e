"""Checksums, downloads, and the check that every file a loader reads is the published one.

The SHA-256 of every upstream file is pinned in the code, next to its loader. A local
``SHA256SUMS`` file only lists what a folder holds; it is trusted when it hashes to the pinned
digest of the upstream listing, never on its own say. A file that differs from its pin raises a
ValueError naming the file and both hashes; no loader then turns to another source.

Nothing is remembered between calls: every load hashes the bytes it reads, so a file that was
changed after an earlier load in the same process is caught the next time.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

from mapping_lib import _checks

_log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 10.0
"""Seconds a download may wait for the connection or for more data before it gives up."""

_CHUNK = 1 << 20


class DownloadError(OSError):
    """A file could not be fetched: no network, a timeout, an HTTP error, an unwritable cache."""


# --------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(_checks.path("path", path), "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_arrays(*arrays: np.ndarray) -> str:
    """Hex SHA-256 of the arrays' dtypes, shapes and C-order bytes, in the order given.

    Dtype and shape are hashed too, so a reshaped or reinterpreted copy of the same bytes
    does not pass for the original.
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def check_sha256(
    actual: str,
    expected: str | Collection[str],
    what: str,
    remedy: str = "Delete it and fetch the data set again.",
) -> None:
    """Raise a ValueError naming ``what`` and both hashes unless ``actual`` is one of ``expected``.

    Args:
        actual: the hex digest found.
        expected: the pinned hex digest, or several where the same data ship in more than one
            packing (Fashion-MNIST upstream and in Debian).
        what: the file (its path) or data that was hashed, for the message.
        remedy: the sentence telling the reader what to do.
    """
    expected = (expected,) if isinstance(expected, str) else tuple(expected)
    if actual not in expected:
        raise ValueError(
            f"{what} is corrupted or was changed: SHA256 {actual}, expected "
            f"{' or '.join(expected)}. {remedy}"
        )


def read_verified(path: str | os.PathLike, expected: str | Collection[str]) -> bytes:
    """The bytes of a file, after checking their SHA-256 against ``expected``.

    The bytes checked are the bytes returned, so the file cannot change in between.
    """
    raw = _checks.path("path", path).read_bytes()
    check_sha256(hashlib.sha256(raw).hexdigest(), expected, str(path))
    return raw


# --------------------------------------------------------------------------------------------
# File lists (SHA256SUMS)
# --------------------------------------------------------------------------------------------


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


def listing_digest(sums: Mapping[str, str]) -> str:
    """SHA-256 of the canonical ``sha256sum`` listing: one pinned hash fixes a whole file set."""
    listing = "".join(f"{sums[name]}  {name}\n" for name in sorted(sums))
    return hashlib.sha256(listing.encode()).hexdigest()


def read_verified_files(folder: str | os.PathLike, sums: Mapping[str, str]) -> dict[str, bytes]:
    """``{name: bytes}`` of every file named in ``sums`` inside ``folder``, each one checked."""
    folder = _checks.path("folder", folder)
    paths = {name: folder / name for name in sorted(sums)}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} file(s) listed in SHA256SUMS are missing, e.g. {missing[0]}"
        )
    return {name: read_verified(path, sums[name]) for name, path in paths.items()}


# --------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where downloads are kept: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``.

    The folder keras.utils.get_file uses by default, so files keras fetched before are found
    here.
    """
    home = os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser()
    return Path(home) / "datasets"


def download(fname: str, url: str, *, sha256: str | None) -> Path:
    """Path of ``fname`` in the cache folder, fetched from ``url`` first if it is not there.

    Args:
        fname: the file's name in :func:`cache_dir`.
        url: where to fetch it from; each network wait is bounded by ``DOWNLOAD_TIMEOUT_S``.
        sha256: the pinned hex digest. A cached copy that differs raises a ValueError naming
            it; a fetched one that differs raises before it is stored. None only for archives
            whose host rebuilds them, so that their bytes vary; the caller checks their contents.

    Raises:
        DownloadError: the file is not cached and could not be fetched.
    """
    target = cache_dir() / fname
    if target.is_file():
        _log.debug("%s: using the cached %s", url, target)
        if sha256 is not None:
            check_sha256(sha256_file(target), sha256, str(target))
        return target
    _log.debug("downloading %s to %s", url, target)
    digest = hashlib.sha256()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A per-request timeout, not socket.setdefaulttimeout: that would change every socket
        # of the process, a notebook's own connections included.
        with (
            atomic_write(target) as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            if sha256 is not None:  # a ValueError here leaves nothing stored
                check_sha256(
                    digest.hexdigest(), sha256, f"the file fetched from {url}", "It was not stored."
                )
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"could not fetch {url} into {target.parent}: {error}") from error
    return target


@contextmanager
def atomic_write(target: Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content appears as ``target`` only if the block succeeds.

    Written beside ``target`` and renamed into place, so neither a failure halfway nor a
    reader in another process ever sees a partial file under the final name.
    """
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Releases: file sets in the book's data folder, or inside an upstream archive
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A published file set: where it lives locally and upstream, and its pinned listing."""

    title: str
    origin: str  # the upstream source in words, for the loader's sentence
    folder: str  # below the data folder; holds SHA256SUMS
    files_in: str  # below ``folder``
    pattern: str
    archive_folder: str  # where the same files sit inside the downloaded archive
    url: str
    archive: str
    listing_sha256: str  # listing_digest of the upstream files: pins each file's SHA-256


def data_root(data_dir: str | os.PathLike | None) -> tuple[Path | None, str]:
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


def release_files(
    release: Release, data_dir: str | os.PathLike | None
) -> tuple[dict[str, bytes], Path, str]:
    """A release's files: ``{name: verified bytes}``, where they were read, and how in words.

    From the data folder when it holds the release's SHA256SUMS, else from the upstream
    archive in the cache (downloaded once). The path (the folder, or the archive) is for
    error messages and the debug log, the phrase for the loader's sentence.
    """
    root, given_as = data_root(data_dir)
    local = root / release.folder if root is not None else None
    if local is not None and (local / "SHA256SUMS").is_file():
        listing = local / "SHA256SUMS"
        _log.debug("%s: reading %s", release.title, local)
        sums = read_sha256sums(listing)
        check_sha256(
            listing_digest(sums),
            release.listing_sha256,
            f"{listing} (hashed as a sorted listing)",
            f"It must list exactly the files of the upstream {release.title} release.",
        )
        files = local / release.files_in
        contents = read_verified_files(files, sums)
        check = "SHA-256 verified against its SHA256SUMS, which matches the upstream release"
        return contents, files, f"local copy from {given_as}, all {len(contents):,} files {check}"
    try:
        archive = download(release.archive, release.url, sha256=None)
    except DownloadError as error:
        looked = f"{local} has no SHA256SUMS" if local is not None else "MAPPING_DATA_DIR is unset"
        raise FileNotFoundError(
            f"{release.title}: {looked} and the download from {release.url} failed. "
            "Set MAPPING_DATA_DIR (or pass data_dir=) to the book's data folder, which holds "
            f"{release.folder}/SHA256SUMS and the files."
        ) from error
    contents = _archive_members(archive, release)
    check_sha256(
        listing_digest({name: hashlib.sha256(raw).hexdigest() for name, raw in contents.items()}),
        release.listing_sha256,
        f"{archive} ({len(contents):,} {release.pattern} files in {release.archive_folder}/)",
    )
    where = f"fetched from {release.origin} into the Keras cache, all {len(contents):,} files"
    return contents, archive, f"{where} SHA-256 verified against the upstream release"


def _archive_members(archive: Path, release: Release) -> dict[str, bytes]:
    folder = PurePosixPath(release.archive_folder)
    try:
        with zipfile.ZipFile(archive) as bundle:
            return {
                PurePosixPath(info.filename).name: bundle.read(info)
                for info in sorted(bundle.infolist(), key=lambda info: info.filename)
                if PurePosixPath(info.filename).parent == folder
                and fnmatch.fnmatch(PurePosixPath(info.filename).name, release.pattern)
            }
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:  # cut short or overwritten
        raise ValueError(f"{archive} is not a readable zip archive ({error}); delete it") from error
