"""The Playground in a live JupyterLab: run the page, press Play, wait, press Pause, and check
that the displayed test loss fell and the output heatmap was redrawn by the training thread."""

from __future__ import annotations

import re
import time

from harness import (
    ACTIVE_NOTEBOOK,
    WIDGET_TIMEOUT_S,
    open_notebook,
    run_all_cells,
    screenshot,
    widget_image_bytes,
)
from playwright.sync_api import Page

NOTEBOOK = "notebooks/playground.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLAYGROUND = f"{ACTIVE_NOTEBOOK} .mapping-playground"
TRAIN_FOR_S = 8  # wall time to let it play; the loss must have fallen by then
MIN_EPOCHS = 50  # and at least this many epochs must have passed (2 busy cores are slow)


def image_index(page: Page, css_class: str) -> int:
    """Position of the Playground image with ``css_class`` among the notebook's widget images."""
    classes = page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image").evaluate_all(
        "images => images.map(image => image.className)"
    )
    matches = [i for i, names in enumerate(classes) if css_class in names.split()]
    assert len(matches) == 1, f"expected one image of class {css_class}, got {classes}"
    return matches[0]


def displayed_number(page: Page, css_class: str) -> float:
    return float(page.locator(f"{PLAYGROUND} .{css_class}").inner_text())


def displayed_epoch(page: Page) -> int:
    text = page.locator(f"{PLAYGROUND} .pg-epoch").inner_text()
    return int(re.sub(r"\D", "", text))


def wait_until(condition, what: str, timeout_s: float = WIDGET_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout_s:.0f} s")
        time.sleep(0.2)


def show_top(page: Page) -> None:
    """Scroll the notebook so that the Playground's top row is at the top of the window."""
    page.locator(PLAYGROUND).evaluate("element => element.scrollIntoView({block: 'start'})")


def test_play_trains_and_redraws_until_pause(lab_page: Page) -> None:
    # Wide enough for the data, network and output columns side by side.
    lab_page.set_viewport_size({"width": 1600, "height": 1000})
    open_notebook(lab_page, NOTEBOOK)
    run_all_cells(lab_page)
    show_top(lab_page)
    output = image_index(lab_page, "pg-output")
    solved = widget_image_bytes(lab_page, output)
    assert solved.startswith(PNG_SIGNATURE)
    assert displayed_epoch(lab_page) == 500  # the notebook shows the widget solved
    # Reset: back to epoch 0 and fresh weights, so that playing has something to learn.
    lab_page.locator(f"{PLAYGROUND} .pg-reset").click()
    wait_until(lambda: displayed_epoch(lab_page) == 0, "reset to epoch 0")
    wait_until(lambda: widget_image_bytes(lab_page, output) != solved, "the reset redrew")
    png_before = widget_image_bytes(lab_page, output)
    loss_before = displayed_number(lab_page, "pg-test-loss")
    epoch_before = displayed_epoch(lab_page)
    screenshot(lab_page, "lab/playground-before")

    lab_page.locator(f"{PLAYGROUND} .pg-play").click()
    wait_until(lambda: displayed_epoch(lab_page) > epoch_before, "the epoch counter moved")
    time.sleep(TRAIN_FOR_S)
    wait_until(
        lambda: displayed_epoch(lab_page) >= epoch_before + MIN_EPOCHS,
        f"{MIN_EPOCHS} epochs were trained",
        timeout_s=120,
    )
    screenshot(lab_page, "lab/playground-playing")
    lab_page.locator(f"{PLAYGROUND} .pg-pause").click()
    wait_until(lambda: lab_page.locator(f"{PLAYGROUND} .pg-play").is_enabled(), "play re-enabled")

    # Paused: the read-outs settle and stay put.
    epoch_after = displayed_epoch(lab_page)
    time.sleep(1.5)
    assert displayed_epoch(lab_page) == epoch_after
    loss_after = displayed_number(lab_page, "pg-test-loss")
    png_after = widget_image_bytes(lab_page, output)
    screenshot(lab_page, "lab/playground-after")

    assert epoch_after >= epoch_before + MIN_EPOCHS
    assert loss_after < loss_before - 0.05, (loss_before, loss_after)
    assert png_after.startswith(PNG_SIGNATURE) and png_after != png_before
