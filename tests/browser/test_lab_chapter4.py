"""Chapter 4 in a live JupyterLab: the training dashboard redraws while fit runs, and its Stop
button ends training early and cleanly.

Running the whole chapter in the browser takes minutes, so a small fixture notebook trains a
tiny model with the dashboard (tests/browser/fixtures/dashboard_stop.ipynb): up to 200 epochs,
each slowed to half a second so that a click lands mid-run.
"""

from __future__ import annotations

import re

from harness import (
    ACTIVE_NOTEBOOK,
    WIDGET_TIMEOUT_S,
    _click_menu,
    open_notebook,
    screenshot,
    wait_widget_image_change,
    widget_image_bytes,
)
from playwright.sync_api import Page

FIXTURE = "tests/browser/fixtures/dashboard_stop.ipynb"
PLANNED_EPOCHS = 200
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STOP_TIMEOUT_S = 120


def status_text(page: Page) -> str:
    return page.locator(f"{ACTIVE_NOTEBOOK} .widget-html-content code").first.inner_text()


def epochs_shown(page: Page) -> int:
    match = re.search(r"epoch (\d+)/", status_text(page))
    return int(match.group(1)) if match else 0


def test_dashboard_redraws_during_training_and_stop_ends_it(lab_page: Page) -> None:
    open_notebook(lab_page, FIXTURE)
    _click_menu(lab_page, "Edit", "Clear Outputs of All Cells")
    _click_menu(lab_page, "Run", "Run All Cells")

    first = widget_image_bytes(lab_page, 0)
    assert first.startswith(PNG_SIGNATURE)
    during = wait_widget_image_change(lab_page, 0, first)  # redrawn while fit is running
    lab_page.wait_for_function(
        """(selector) => /epoch ([3-9]|\\d\\d+)\\//.test(
               document.querySelector(selector)?.textContent || '')""",
        arg=f"{ACTIVE_NOTEBOOK} .widget-html-content code",
        timeout=WIDGET_TIMEOUT_S * 1000,
    )
    during = widget_image_bytes(lab_page, 0)
    screenshot(lab_page, "lab/chapter4-dashboard-training")

    epochs_at_click = epochs_shown(lab_page)
    lab_page.locator(f"{ACTIVE_NOTEBOOK} button", has_text="Stop").click()
    summary = lab_page.locator(f"{ACTIVE_NOTEBOOK} .jp-OutputArea-output", has_text="epochs run:")
    summary.wait_for(timeout=STOP_TIMEOUT_S * 1000)

    match = re.search(r"epochs run: (\d+) of (\d+); stop reason: (\w+)", summary.inner_text())
    assert match, summary.inner_text()
    epochs_run, planned, reason = int(match.group(1)), int(match.group(2)), match.group(3)
    assert planned == PLANNED_EPOCHS
    assert reason == "stop_button"
    # The click ends training within a few epochs of when it was made, far before the plan.
    assert epochs_at_click <= epochs_run <= epochs_at_click + 10
    assert "stopped by the Stop button" in status_text(lab_page)
    final = widget_image_bytes(lab_page, 0)
    assert final.startswith(PNG_SIGNATURE) and final != during
    screenshot(lab_page, "lab/chapter4-dashboard-stopped")
