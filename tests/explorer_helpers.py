"""Helpers shared by the explorer tests: an activation reference, a redraw check, and the
pictures and inline data of static views."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reference(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and f' written independently of the library (softmax: first of softmax([z, 0]))."""
    with np.errstate(over="ignore"):  # exp and cosh overflow to inf for |z| ~ 1e3: still right
        sig = 1 / (1 + np.exp(-z))
        sech2 = 1 / np.cosh(z) ** 2
    table = {
        "sigmoid": (sig, sig * (1 - sig)),
        "softmax": (sig, sig * (1 - sig)),
        "tanh": (np.tanh(z), sech2),
        "relu": (np.maximum(z, 0), (z > 0).astype(float)),
        "leaky_relu": (np.where(z > 0, z, 0.01 * z), np.where(z > 0, 1.0, 0.01)),
        "linear": (z, np.ones_like(z)),
    }
    return table[name]


def redraws(explorer, control, value):
    """Set one control of ``explorer`` and check that a new PNG replaced the old one."""
    before = bytes(explorer.image.value)  # ipywidgets may hand back a memoryview
    assert before.startswith(PNG_SIGNATURE)
    explorer.controls[control].value = value
    after = bytes(explorer.image.value)
    assert after.startswith(PNG_SIGNATURE) and after != before


def decoded(url: str) -> np.ndarray:
    """The RGB pixels of a ``data:image/png`` URL."""
    png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def inline_rows(spec: Any, field: str) -> list[dict]:
    """The inline data rows of ``spec`` (anywhere inside it) that have ``field``."""
    if isinstance(spec, dict):
        values = spec.get("values")
        if isinstance(values, list) and values and field in values[0]:
            return values
        spec = list(spec.values())
    if isinstance(spec, list):
        for item in spec:
            if rows := inline_rows(item, field):
                return rows
    return []
