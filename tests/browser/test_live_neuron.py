"""The static neuron explorer in Chromium: Vega's plane and line equal the library's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib import activations
from mapping_lib.static.neuron import neuron_view
from mapping_lib.widgets.neuron import NEURON_ACTIVATIONS, neuron_field
from mapping_lib.widgets.plane import decision_line

EXTENT = (-2.0, 3.0, -1.5, 2.5)  # not square, not centred: the grid and clipping must follow
RESOLUTION = 25
CASES = [  # (w1, w2, b): slanted, vertical, horizontal, off the box, w = 0
    (1.0, -0.5, 0.5),
    (2.3, 0.0, -1.1),
    (0.0, -1.7, 0.4),
    (0.3, 0.2, 3.0),
    (0.0, 0.0, 0.8),
]


@pytest.fixture
def neuron_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [neuron_view(extent=EXTENT, resolution=RESOLUTION)])
    yield page
    assert not page_log.problems(), page_log.problems()


def _move(page: Page, w1: float, w2: float, b: float, activation: str) -> None:
    for name, value in (("w1", w1), ("w2", w2), ("b", b), ("activation", activation)):
        set_signal(page, 0, name, value)


def test_the_starting_plane_is_the_default_neuron(neuron_page: Page) -> None:
    rows = dataset_rows(neuron_page, 0, {"row", "col", "a"})
    plane = np.full((RESOLUTION, RESOLUTION), np.nan)
    for row in rows:
        plane[row["row"], row["col"]] = row["a"]
    python = neuron_field(1.0, -0.5, 0.5, "sigmoid", extent=EXTENT, resolution=RESOLUTION)
    np.testing.assert_allclose(plane, python.output, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", NEURON_ACTIVATIONS)
def test_browser_plane_colours_and_line_equal_the_library(
    neuron_page: Page, activation: str
) -> None:
    for w1, w2, b in CASES:
        _move(neuron_page, w1, w2, b, activation)
        rows = dataset_rows(neuron_page, 0, {"row", "col", "x1", "x2", "a"})
        assert len(rows) == RESOLUTION**2
        python = neuron_field(w1, w2, b, activation, extent=EXTENT, resolution=RESOLUTION)
        browser = {key: np.full(python.output.shape, np.nan) for key in ("x1", "x2", "a")}
        for row in rows:
            for key, grid in browser.items():
                grid[row["row"], row["col"]] = row[key]
        np.testing.assert_allclose(browser["x1"], np.tile(python.xs, (RESOLUTION, 1)), atol=1e-12)
        np.testing.assert_allclose(
            browser["x2"], np.tile(python.ys[:, None], RESOLUTION), atol=1e-12
        )
        np.testing.assert_allclose(browser["a"], python.output, rtol=1e-9, atol=1e-12)

        # The colour scale spans the widget's range: f(0) +- the larger distance to min or max.
        centre = float(np.asarray(activations.get(activation)(np.zeros(1)))[0])
        low, high = python.output.min(), python.output.max()
        spread = max(centre - low, high - centre, 1e-6)
        domain = neuron_page.evaluate("mappingStaticViews[0].view.scale('color').domain()")
        np.testing.assert_allclose(domain, [centre - spread, centre + spread], atol=1e-12)

        line = decision_line(w1, w2, b, EXTENT)
        drawn = neuron_page.evaluate("mappingStaticViews[0].view.signal('line_drawn')")
        assert drawn == (line is not None)
        if line is not None:
            ends = sorted((row["x1"], row["x2"]) for row in dataset_rows(neuron_page, 0, {"end"}))
            np.testing.assert_allclose(ends, sorted(line), atol=1e-9)
