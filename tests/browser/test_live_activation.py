"""The static activation explorer in Chromium: Vega's closed forms equal the library's f, f'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib import activations
from mapping_lib.static.activation import activation_view
from mapping_lib.widgets.activation import ACTIVATIONS, activation_curves

FIELDS = {"z", "value", "slope", "region"}


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    rows = sorted(rows, key=lambda row: row["z"])
    return {key: np.array([row[key] for row in rows]) for key in FIELDS}


@pytest.fixture
def activation_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [activation_view("tanh", points=201)])
    yield page
    assert not page_log.problems(), page_log.problems()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_browser_formulas_equal_the_library(activation_page: Page, name: str) -> None:
    set_signal(activation_page, 0, "f", name)
    browser = _columns(dataset_rows(activation_page, 0, FIELDS))
    python = activation_curves(name, threshold=0.05, points=201)
    np.testing.assert_allclose(browser["z"], python.z, atol=1e-12)
    np.testing.assert_allclose(browser["value"], python.value, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(browser["slope"], python.slope, rtol=1e-5, atol=1e-7)
    regions = np.where(python.dead, "dead", np.where(python.saturated, "saturated", "active"))
    assert (browser["region"] == regions).all()


def test_alpha_and_threshold_move_the_curves(activation_page: Page) -> None:
    set_signal(activation_page, 0, "f", "leaky_relu")
    set_signal(activation_page, 0, "alpha", 0.2)
    set_signal(activation_page, 0, "threshold", 0.25)
    browser = _columns(dataset_rows(activation_page, 0, FIELDS))
    z = browser["z"]
    leaky = activations.leaky_relu(0.2)
    np.testing.assert_allclose(browser["value"], np.asarray(leaky(z)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(browser["slope"], np.asarray(leaky.derivative(z)), atol=1e-7)
    assert (browser["region"][z < 0] == "saturated").all()  # slope 0.2 < 0.25
