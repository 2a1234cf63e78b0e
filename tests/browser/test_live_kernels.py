"""The static kernel editor in Chromium: the picture and numbers Vega picks for a preset and an
image are the library's filtered image (in the widget's colours) and the preset's kernel."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from explorer_helpers import decoded
from harness import PageLog
from matplotlib.colors import Normalize
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.static.kernels import kernel_view
from mapping_lib.widgets.kernels import KERNEL_PRESETS, apply_kernel

IMAGES = np.random.default_rng(3).random((3, 10, 12), dtype=np.float32)


def colours(values: np.ndarray, cmap: str, low: float, high: float) -> np.ndarray:
    """What imshow draws for ``values`` on [low, high], as 0-255 RGB."""
    return np.round(plt.get_cmap(cmap)(Normalize(low, high)(values))[..., :3] * 255).astype(int)


def d3(number: float, spec: str) -> str:
    """Python's formatting of ``number`` as d3-format writes it (a true minus sign)."""
    return format(number, spec).replace("-", "−")


def only_row(page: Page, fields: set[str]) -> dict:
    rows = dataset_rows(page, 0, fields)
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture
def kernel_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [kernel_view(IMAGES, preset="sobel x", index=1)])
    yield page
    assert not page_log.problems(), page_log.problems()


def test_every_preset_and_image_shows_the_library_output(kernel_page: Page) -> None:
    first = only_row(kernel_page, {"output_url", "caption"})
    assert (first["image"], first["preset"]) == (1, "sobel x")  # what the view was asked for
    for index in (2, 0):
        set_signal(kernel_page, 0, "image", index)
        image = IMAGES[index]
        shown = only_row(kernel_page, {"input_url", "caption"})
        assert shown["image"] == index
        np.testing.assert_array_equal(
            decoded(shown["input_url"]), colours(image, "gray_r", image.min(), image.max())
        )
        for name, kernel in KERNEL_PRESETS.items():
            set_signal(kernel_page, 0, "preset", name)
            output = apply_kernel(image, kernel)
            reach = np.abs(output).max()
            row = only_row(kernel_page, {"output_url", "caption"})
            assert (row["image"], row["preset"]) == (index, name)
            np.testing.assert_array_equal(
                decoded(row["output_url"]), colours(output, "RdBu_r", -reach, reach)
            )
            assert (
                row["caption"] == f"output: {d3(output.min(), '.2f')} to {d3(output.max(), '.2f')}"
            )

            cells = sorted(
                dataset_rows(kernel_page, 0, {"value", "text"}), key=lambda r: (r["row"], r["col"])
            )
            np.testing.assert_array_equal([cell["value"] for cell in cells], kernel.ravel())
            assert [cell["text"] for cell in cells] == [d3(v, ".3g") for v in kernel.ravel()]
