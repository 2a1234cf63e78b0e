"""The Free Spoken Digit Dataset (FSDD): 3,000 recordings of the digits 0-9, 8 kHz mono.

Read from the book's data folder (``data_dir``, else ``$MAPPING_DATA_DIR``), else from the
upstream archive, downloaded once into the Keras cache. (Spectrograms of these recordings are
:mod:`mapping_lib.audio`.)
"""

from __future__ import annotations

import io
import os
import wave
from math import gcd
from pathlib import Path

import numpy as np

from mapping_lib import _checks
from mapping_lib.data import integrity
from mapping_lib.data.loaded import DIGITS, LoadedData, announce

_FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_RELEASE = integrity.Release(
    title="Free Spoken Digit Dataset",
    origin=f"the data set's GitHub repository (commit {_FSDD_COMMIT[:7]})",
    folder="fsdd",
    files_in="recordings",
    pattern="*.wav",
    archive_folder=f"free-spoken-digit-dataset-{_FSDD_COMMIT}/recordings",
    url=f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{_FSDD_COMMIT}.zip",
    archive=f"fsdd-{_FSDD_COMMIT[:7]}.zip",
    # The 3,000 recordings' SHA-256, pinned through the digest of their sorted listing.
    listing_sha256="1801eae019c063377d98f831d3f93574f259475df7332bb0e3d1b080fb5e6959",
)


def _decode_wav(raw: bytes, name: str, sample_rate: int) -> np.ndarray:
    with wave.open(io.BytesIO(raw), "rb") as recording:
        if recording.getnchannels() != 1 or recording.getsampwidth() != 2:
            raise ValueError(f"{name}: expected 16-bit mono PCM")
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

    Args:
        data_dir: the book's data folder (holding ``fsdd/SHA256SUMS``); default
            ``$MAPPING_DATA_DIR``, else a download.
        sample_rate: recordings at another rate are resampled to it.
        test_speaker: the speaker whose recordings form the test set.
        length: if given, pad or cut every waveform to this many samples.
    """
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    if length is not None:
        length = _checks.positive_int("length", length)
    contents, location, where = integrity.release_files(FSDD_RELEASE, data_dir)
    records = []
    for name in [name for name in contents if Path(name).match(FSDD_RELEASE.pattern)]:
        parts = Path(name).stem.split("_")
        if len(parts) != 3 or not (parts[0].isdigit() and parts[2].isdigit()):
            raise ValueError(f"{name} in {location}: expected a name like 3_theo_12.wav")
        records.append((parts[1], int(parts[0]), int(parts[2]), name))
    records.sort()
    speakers = np.array([speaker for speaker, *_ in records])
    _checks.one_of("test_speaker", test_speaker, sorted({str(name) for name in speakers}))
    waveforms = [
        _decode_wav(contents[name], f"{name} in {location}", sample_rate) for *_, name in records
    ]
    x = waveforms if length is None else _pad(waveforms, length)
    digits = np.array([digit for _, digit, *_ in records], dtype=np.int32)
    test = speakers == test_speaker
    source = (
        f"{FSDD_RELEASE.title}: {len(records):,} recordings, {where}; speaker {test_speaker!r} "
        f"({test.sum():,} recordings) held out as the test set, {(~test).sum():,} for training"
    )
    announce(source)
    return LoadedData(
        _take(x, ~test),
        digits[~test],
        _take(x, test),
        digits[test],
        DIGITS,
        source,
        extras={
            "speaker_train": speakers[~test],
            "speaker_test": speakers[test],
            "sample_rate": sample_rate,
        },
    )
