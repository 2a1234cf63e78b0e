"""Chapter 1 in a live JupyterLab: run the whole notebook, then move the neuron explorer's w1
slider and check that its picture is redrawn by the kernel; the static views render too (with
JupyterLab's own Vega renderer) and follow their controls without the kernel."""

from __future__ import annotations

from harness import (
    ACTIVE_NOTEBOOK,
    move_slider,
    open_notebook,
    run_all_cells,
    screenshot,
    slider,
    slider_value,
    wait_kernel_idle,
    wait_widget_image_change,
    widget_image_bytes,
    widget_image_src,
)
from playwright.sync_api import Page

NOTEBOOK = "notebooks/01_mapping.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Widget images in page order: neuron, activation, approximation and layer-warp explorers.
NEURON_IMAGE, EXPLORERS = 0, 4
# Static views in page order: neuron, activation, approximation, layer warp.
ACTIVATION_VIEW, STATIC_VIEWS = 1, 4


def test_neuron_explorer_redraws_when_w1_moves(lab_page: Page) -> None:
    open_notebook(lab_page, NOTEBOOK)
    run_all_cells(lab_page)
    images = lab_page.locator(f"{ACTIVE_NOTEBOOK} img.widget-image")
    assert images.count() == EXPLORERS

    w1 = slider(lab_page, "w1")
    w1.scroll_into_view_if_needed()
    assert slider_value(w1) == "1.00"
    src_before = widget_image_src(lab_page, NEURON_IMAGE)
    png_before = widget_image_bytes(lab_page, NEURON_IMAGE)
    assert png_before.startswith(PNG_SIGNATURE)
    screenshot(lab_page, "lab/01_mapping-neuron-before")

    assert move_slider(lab_page, w1, "ArrowRight", times=3) == "1.30"
    wait_widget_image_change(lab_page, NEURON_IMAGE, png_before)
    wait_kernel_idle(lab_page)  # every key press redraws; let the last picture (w1 = 1.3) land

    png_after = widget_image_bytes(lab_page, NEURON_IMAGE)
    assert png_after.startswith(PNG_SIGNATURE) and png_after != png_before
    assert widget_image_src(lab_page, NEURON_IMAGE) != src_before
    images.nth(NEURON_IMAGE).scroll_into_view_if_needed()
    screenshot(lab_page, "lab/01_mapping-neuron-after")

    views = lab_page.locator(f"{ACTIVE_NOTEBOOK} .vega-embed")
    assert views.count() == STATIC_VIEWS
    activation = views.nth(ACTIVATION_VIEW)
    activation.scroll_into_view_if_needed()
    canvas = activation.locator("canvas").element_handle()
    before = canvas.evaluate("canvas => canvas.toDataURL()")
    activation.locator('select[name="f"]').select_option("relu")
    lab_page.wait_for_function(
        "([canvas, before]) => canvas.toDataURL() !== before",
        arg=[canvas, before],
        timeout=30_000,
    )
    screenshot(lab_page, "lab/01_mapping-activation-static")
