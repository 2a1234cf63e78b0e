"""The static latent explorer in Chromium: for a slider position the page shows the decoder's
image at the nearest grid point, the image Python decodes there."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import keras
import numpy as np
import pytest
from harness import PageLog
from PIL import Image
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.static.latent import latent_view
from mapping_lib.widgets.applications import decode_point, latent_extent

STEPS = 9


@pytest.fixture(scope="module")
def decoder() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid")])


@pytest.fixture(scope="module")
def codes() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(300, 2))


@pytest.fixture
def latent_page(
    page: Page, page_log: PageLog, tmp_path: Path, decoder: keras.Model, codes: np.ndarray
) -> Page:
    labels = np.arange(len(codes)) % 10
    page_of_views(page, tmp_path, [latent_view(decoder, codes, labels, steps=STEPS)])
    yield page
    assert not page_log.problems(), page_log.problems()


def _pixels(url: str) -> np.ndarray:
    encoded = url.removeprefix("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))), dtype=np.int16)


def test_the_image_shown_is_the_decode_at_the_nearest_grid_point(
    latent_page: Page, decoder: keras.Model, codes: np.ndarray
) -> None:
    x0, x1, y0, y1 = latent_extent(codes)
    grid_z1, grid_z2 = np.linspace(x0, x1, STEPS), np.linspace(y0, y1, STEPS)
    rng = np.random.default_rng(1)
    samples = [(x0, y0), (x1, y1), (x0, y1)] + [
        (rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(5)
    ]
    for z1, z2 in samples:
        set_signal(latent_page, 0, "z1", z1)
        set_signal(latent_page, 0, "z2", z2)
        rows = dataset_rows(latent_page, 0, {"url", "gz1", "gz2", "caption"})
        assert len(rows) == 1, (z1, z2)
        nearest = (grid_z1[np.abs(grid_z1 - z1).argmin()], grid_z2[np.abs(grid_z2 - z2).argmin()])
        assert (rows[0]["gz1"], rows[0]["gz2"]) == pytest.approx(nearest, abs=1e-9)
        python = np.round(np.clip(decode_point(decoder, nearest), 0, 1) * 255)
        assert np.abs(_pixels(rows[0]["url"]) - python).max() <= 1, (z1, z2)


def test_the_marker_follows_the_sliders(latent_page: Page) -> None:
    set_signal(latent_page, 0, "z1", 0.25)
    set_signal(latent_page, 0, "z2", -0.5)
    assert dataset_rows(latent_page, 0, {"mz1", "mz2"}) == [{"mz1": 0.25, "mz2": -0.5}]
