"""Chapter 2 in a live JupyterLab: run the notebook, move the optimizer explorer's learning rate
and see its picture (trajectory and loss curve) redrawn."""

from __future__ import annotations

from harness import (
    ACTIVE_NOTEBOOK,
    move_slider,
    open_notebook,
    run_all_cells,
    screenshot,
    slider,
    slider_value,
    wait_widget_image_change,
    widget_image_bytes,
)
from playwright.sync_api import Page

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = "notebooks/02_backprop.ipynb"
EXPLORER_IMAGE = 0  # the optimizer explorer is the chapter's only image widget


def test_optimizer_explorer_redraws_when_the_learning_rate_moves(lab_page: Page) -> None:
    open_notebook(lab_page, NOTEBOOK)
    run_all_cells(lab_page)
    image = lab_page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image").nth(EXPLORER_IMAGE)
    image.scroll_into_view_if_needed()
    before = widget_image_bytes(lab_page, EXPLORER_IMAGE)
    assert before.startswith(PNG_SIGNATURE)
    screenshot(lab_page, "lab/chapter2-optimizer-before")

    learning_rate = slider(lab_page, "learning rate")
    readout_before = slider_value(learning_rate)
    readout_after = move_slider(lab_page, learning_rate, "ArrowRight", times=4)
    assert readout_after != readout_before
    after = wait_widget_image_change(lab_page, EXPLORER_IMAGE, before)

    assert after.startswith(PNG_SIGNATURE)
    image.scroll_into_view_if_needed()
    screenshot(lab_page, "lab/chapter2-optimizer-after")
