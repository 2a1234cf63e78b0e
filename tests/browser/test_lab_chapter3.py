"""Chapter 3's explorers in a live JupyterLab: pick another test image in the feature-map
explorer, edit a kernel number and load a preset in the kernel editor; each time the picture
must be redrawn by the kernel.

Running the chapter itself would retrain its CNNs for minutes, so the test runs a fixture
notebook that builds the same two explorers on a quickly trained seed CNN and real digits.
"""

from __future__ import annotations

import re

from harness import (
    ACTIVE_NOTEBOOK,
    WIDGET_TIMEOUT_S,
    move_slider,
    open_notebook,
    run_all_cells,
    screenshot,
    slider,
    slider_value,
    wait_widget_image_change,
    widget_image_bytes,
)
from playwright.sync_api import Page, expect

NOTEBOOK = "tests/browser/fixtures/cnn_explorers.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Widget images in page order: the feature-map explorer, then the kernel editor.
FEATURE_MAPS, KERNEL_EDITOR = 0, 1
CENTRE = 4  # the kernel editor's nine number boxes, row by row; 4 is the middle one


def _run_fixture(page: Page) -> None:
    open_notebook(page, NOTEBOOK)
    run_all_cells(page)
    assert page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image").count() == 2


def test_feature_map_explorer_redraws_for_another_test_image(lab_page: Page) -> None:
    _run_fixture(lab_page)
    chooser = slider(lab_page, "test image")
    chooser.scroll_into_view_if_needed()
    assert slider_value(chooser) == "0"
    before = widget_image_bytes(lab_page, FEATURE_MAPS)
    assert before.startswith(PNG_SIGNATURE)
    screenshot(lab_page, "lab/03_cnn-feature-maps-before")

    assert move_slider(lab_page, chooser, "ArrowRight", times=2) == "2"
    after = wait_widget_image_change(lab_page, FEATURE_MAPS, before)

    assert after.startswith(PNG_SIGNATURE)
    lab_page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image").nth(
        FEATURE_MAPS
    ).scroll_into_view_if_needed()
    screenshot(lab_page, "lab/03_cnn-feature-maps-after")


def test_kernel_editor_redraws_for_an_edited_number_and_a_preset(lab_page: Page) -> None:
    _run_fixture(lab_page)
    numbers = lab_page.locator(f"{ACTIVE_NOTEBOOK} .widget-text input")
    expect(numbers).to_have_count(9, timeout=WIDGET_TIMEOUT_S * 1000)
    menu = lab_page.locator(f"{ACTIVE_NOTEBOOK} .widget-dropdown select")
    expect(menu).to_have_count(1)
    numbers.nth(CENTRE).scroll_into_view_if_needed()
    assert menu.input_value() == "sobel x"
    before = widget_image_bytes(lab_page, KERNEL_EDITOR)
    assert before.startswith(PNG_SIGNATURE)
    screenshot(lab_page, "lab/03_cnn-kernel-before")

    # The Sobel x kernel has 0 in the middle; 3 makes it a kernel no preset has.
    numbers.nth(CENTRE).fill("3")
    numbers.nth(CENTRE).press("Enter")
    edited = wait_widget_image_change(lab_page, KERNEL_EDITOR, before)
    expect(menu).to_have_value("custom", timeout=WIDGET_TIMEOUT_S * 1000)
    screenshot(lab_page, "lab/03_cnn-kernel-edited")

    menu.select_option("box blur")
    blurred = wait_widget_image_change(lab_page, KERNEL_EDITOR, edited)
    # All nine numbers now hold 1/9.
    for index in range(9):
        expect(numbers.nth(index)).to_have_value(re.compile(r"^0\.111"))

    assert blurred.startswith(PNG_SIGNATURE)
    assert len({before, edited, blurred}) == 3
    screenshot(lab_page, "lab/03_cnn-kernel-box-blur")
