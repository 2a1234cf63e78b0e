"""The static sliding-window explorer in Chromium: Vega's closed forms equal the library's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.static.sliding_window import window_view
from mapping_lib.widgets.sliding_window import window_geometry

CASES = [  # size, kernel, stride, padding, dilation, row, col
    (7, 3, 1, 0, 1, 2, 4),
    (7, 3, 2, 1, 1, 1, 2),
    (12, 5, 3, 2, 1, 3, 0),
    (9, 3, 2, 0, 2, 1, 2),
    (5, 1, 1, 2, 3, 8, 0),
]


@pytest.fixture
def window_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [window_view()])
    yield page
    assert not page_log.problems(), page_log.problems()


@pytest.mark.parametrize("case", CASES)
def test_browser_cells_equal_the_library(window_page: Page, case: tuple[int, ...]) -> None:
    *settings, row, col = case
    for name, value in zip(("size", "kernel", "stride", "padding", "dilation", "row", "col"), case):
        set_signal(window_page, 0, name, value)
    geometry = window_geometry(*settings)
    cells = [row for row in dataset_rows(window_page, 0, {"r", "c", "kind"})]
    side = geometry.size + 2 * geometry.padding
    inputs = [cell for cell in cells if cell["kind"] != "input" or cell["r"] < side]
    read = np.zeros((side, side), dtype=bool)
    for cell in inputs:
        if cell["kind"] == "read" and cell["r"] < side and cell["c"] < side:
            read[cell["r"], cell["c"]] = True
    # The input grid's dataset is the larger one; the output grid marks one unit only.
    shown_row, shown_col = min(row, geometry.output_size - 1), min(col, geometry.output_size - 1)
    expected = geometry.covered(shown_row, shown_col)
    assert read[expected].all()
    assert len(cells) == side * side, "the input grid has (size + 2 padding)^2 cells"
    assert read.sum() == expected.sum()
