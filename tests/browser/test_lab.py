"""A live JupyterLab in Chromium: run a notebook, move a widget slider, see the picture change.

The fixture notebook is the pattern every chapter explorer follows (a slider redrawing an
ipywidgets.Image); chapter tests reuse the same helpers on their own notebooks.
"""

from __future__ import annotations

from harness import (
    move_slider,
    open_notebook,
    run_all_cells,
    screenshot,
    slider,
    slider_value,
    wait_widget_image_change,
    widget_image_bytes,
    widget_image_src,
)
from playwright.sync_api import Page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_slider_redraws_widget_image(lab_page: Page) -> None:
    open_notebook(lab_page, "tests/browser/fixtures/widget_smoke.ipynb")
    run_all_cells(lab_page)
    bars = slider(lab_page, "bars")
    assert slider_value(bars) == "3"
    src_before, png_before = widget_image_src(lab_page, 0), widget_image_bytes(lab_page, 0)
    assert png_before.startswith(PNG_SIGNATURE)
    screenshot(lab_page, "lab/widget_smoke-before")

    assert move_slider(lab_page, bars, "ArrowRight", times=2) == "5"
    png_after = wait_widget_image_change(lab_page, 0, png_before)

    assert png_after.startswith(PNG_SIGNATURE)
    assert widget_image_src(lab_page, 0) != src_before
    screenshot(lab_page, "lab/widget_smoke-after")
