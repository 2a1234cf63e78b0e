"""The static universal-approximation explorer in Chromium: Vega's bumps, their sum and the
largest error equal :func:`mapping_lib.approximation.bump_approximation`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.approximation import TARGETS, bump_approximation
from mapping_lib.static.approximation import approximation_view

POINTS = 101
BUMP_FIELDS = {"p", "j", "x", "bump", "approximation", "target_value"}


def _browser(page: Page) -> dict[str, np.ndarray]:
    rows = sorted(dataset_rows(page, 0, BUMP_FIELDS), key=lambda row: (row["j"], row["p"]))
    columns = {key: np.array([row[key] for row in rows]) for key in BUMP_FIELDS}
    n_bumps = int(columns["j"].max()) + 1
    assert len(rows) == n_bumps * POINTS
    return {key: values.reshape(n_bumps, POINTS) for key, values in columns.items()}


def _shown_error(page: Page) -> str:
    return dataset_rows(page, 0, {"label"})[0]["label"]


@pytest.fixture
def approximation_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [approximation_view("sine", 6, 20.0, points=POINTS)])
    yield page
    assert not page_log.problems(), page_log.problems()


@pytest.mark.parametrize("target", TARGETS)
def test_browser_bumps_equal_the_compute_function(approximation_page: Page, target: str) -> None:
    set_signal(approximation_page, 0, "target", target)
    browser = _browser(approximation_page)
    python = bump_approximation(target, 6, 20.0, points=POINTS)
    np.testing.assert_allclose(browser["x"][0], python.x, atol=1e-12)
    np.testing.assert_allclose(browser["bump"], python.bumps, atol=1e-9)
    np.testing.assert_allclose(browser["approximation"][0], python.approximation, atol=1e-9)
    np.testing.assert_allclose(browser["target_value"][0], python.target, atol=1e-12)
    assert _shown_error(approximation_page) == f"largest error: {python.max_error:.3f}"


def test_bumps_and_steepness_move_the_sum(approximation_page: Page) -> None:
    set_signal(approximation_page, 0, "target", "abs")
    set_signal(approximation_page, 0, "n", 20)
    set_signal(approximation_page, 0, "k", 80.0)
    browser = _browser(approximation_page)
    python = bump_approximation("abs", 20, 80.0, points=POINTS)
    np.testing.assert_allclose(browser["bump"], python.bumps, atol=1e-9)
    np.testing.assert_allclose(browser["approximation"][0], python.approximation, atol=1e-9)
    assert _shown_error(approximation_page) == f"largest error: {python.max_error:.3f}"
