"""Small data, a small model and a subprocess runner shared by the training tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in the plane: float32 points and integer labels 0-2."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centers = 2.0 * np.stack([np.cos(np.arange(3)), np.sin(np.arange(3))], axis=1)
    return (centers[y] + 0.6 * rng.normal(size=(n, 2))).astype("float32"), y


def mlp(seed: int = 0) -> keras.Sequential:
    """A 2-8-3 tanh network that outputs logits, its weights drawn with ``seed``."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(3)]
    )


def twin(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with the same weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def run_script(script: str, timeout: float) -> dict:
    """Run ``script`` in a fresh interpreter; return the JSON object of its last output line.

    Logical devices are fixed when TensorFlow starts, so tests that split the CPU need one.
    """
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])
