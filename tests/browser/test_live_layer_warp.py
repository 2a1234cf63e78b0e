"""The static layer-warp explorer in Chromium: the stages it picks and mixes equal warp's."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib import layers
from mapping_lib.static.layer_warp import DECIMALS, layer_warp_view, plane_coordinates
from mapping_lib.widgets.layer_warp import warp

GRID = {"lines": 4, "samples": 7}
TOLERANCE = 10.0**-DECIMALS  # the spec keeps DECIMALS decimals of each coordinate


@pytest.fixture(scope="module")
def network() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """An untrained network shaped like the chapter's circle_net: 2 -> 3 -> 2 -> 1."""
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(3, activation="tanh"),
            layers.Dense(2, activation="tanh"),
            layers.Dense(1),
        ]
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (40, 2)).astype("float32")
    return model, x, (np.hypot(*x.T) < 1.2).astype("int32")


@pytest.fixture
def warp_page(page: Page, page_log: PageLog, tmp_path: Path, network) -> Page:
    page_of_views(page, tmp_path, [layer_warp_view(*network, layer=0, **GRID)])
    yield page
    assert not page_log.problems(), page_log.problems()


def _shown(page: Page, key: str, having: set[str]) -> np.ndarray:
    """The (u, v) the browser draws, ordered by ``key`` (a point, or a line and its sample)."""
    rows = sorted(dataset_rows(page, 0, having | {"u", "v"}), key=lambda row: row[key])
    return np.array([[row["u"], row["v"]] for row in rows])


@pytest.mark.parametrize(
    ("layer", "blend"), [(0, 0.0), (0, 0.35), (1, 0.6), (2, 0.0), (2, 1.0), (3, 0.0), (3, 0.7)]
)
def test_browser_mixes_the_stages_warp_computed(
    warp_page: Page, network, layer: int, blend: float
) -> None:
    model, x, y = network
    set_signal(warp_page, 0, "layer", layer)
    set_signal(warp_page, 0, "blend", blend)
    here = plane_coordinates(warp(model, layer, x, y, **GRID))
    # At the last layer there is no next one: blend leaves the picture as it is.
    after = plane_coordinates(warp(model, min(layer + 1, 3), x, y, **GRID))
    points = (1 - blend) * here[0] + blend * after[0]
    lines = ((1 - blend) * here[1] + blend * after[1]).reshape(-1, 2)
    np.testing.assert_allclose(_shown(warp_page, "point", {"point"}), points, atol=TOLERANCE)
    grid = sorted(dataset_rows(warp_page, 0, {"line", "sample", "u", "v"}),
                  key=lambda row: (row["line"], row["sample"]))  # fmt: skip
    np.testing.assert_allclose([[row["u"], row["v"]] for row in grid], lines, atol=TOLERANCE)
    # The axes hold everything drawn.
    for axis, column in (("x", 0), ("y", 1)):
        low, high = warp_page.evaluate(f"mappingStaticViews[0].view.scale('{axis}').domain()")
        assert low <= min(points[:, column].min(), lines[:, column].min())
        assert high >= max(points[:, column].max(), lines[:, column].max())


@pytest.mark.parametrize(("layer", "blend", "shown"), [(0, 0.0, None), (2, 0.0, 2), (2, 0.5, None),
                                                      (3, 0.5, 3)])  # fmt: skip
def test_the_readout_line_is_shown_only_on_its_own_layer(
    warp_page: Page, network, layer: int, blend: float, shown: int | None
) -> None:
    model, x, y = network
    set_signal(warp_page, 0, "layer", layer)
    set_signal(warp_page, 0, "blend", blend)
    rows = dataset_rows(warp_page, 0, {"layer", "u", "v", "shown"})
    assert {row["layer"] for row in rows if row["shown"]} == ({shown} if shown else set())
    # The output unit's line w.h + b = 0 in the last hidden plane; logit 0 after the output.
    readout = warp(model, 2, x, y, **GRID).readout
    ends = sorted((row["u"], row["v"]) for row in rows if row["layer"] == 2)
    np.testing.assert_allclose(ends, sorted(readout), atol=TOLERANCE)
    assert {row["u"] for row in rows if row["layer"] == 3} == {0.0}


def test_the_layer_slider_has_a_play_button(warp_page: Page) -> None:
    assert warp_page.locator("button.mapping-static-view-play").count() == 1
