"""Fixtures shared by the data tests (test_data.py, test_data_integrity.py); none is autouse."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

REAL_URLOPEN = urllib.request.urlopen


@pytest.fixture
def offline(monkeypatch, tmp_path) -> Path:
    """Refuse every URL but file://, and give the test an empty Keras cache; return its home."""

    def refuse(url, *args, **kwargs):
        if str(url).startswith("file:"):
            return REAL_URLOPEN(url, *args, **kwargs)
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def flip_byte() -> Callable[[Path], None]:
    """A function that changes one byte of a file in place, keeping its size."""

    def flip(path: Path) -> None:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))

    return flip
