"""The static feature-map explorer in Chromium: the mosaic and the probabilities Vega picks for
an image and a layer are the library's feature maps (in the widget's colours) and its softmax."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from explorer_helpers import decoded
from harness import PageLog
from matplotlib.colors import Normalize
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.static.feature_maps import feature_map_view
from mapping_lib.widgets.feature_maps import feature_maps, tile_maps

CLASSES = ["a", "b", "c", "d"]
IMAGES = np.random.default_rng(5).random((3, 12, 12), dtype=np.float32)
LABELS = np.array([1, 3, 0])
# Mosaics of 10 x 32 and 3 x 19 pixels, drawn with 13 and 22 screen pixels per map pixel.
DRAWN = {"first": (416, 130), "second": (418, 66)}


def tiny_cnn() -> keras.Sequential:
    """Two convolutions of 3 and 5 untrained filters: the view must show them, whatever they are."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="first"),
            keras.layers.MaxPool2D(2),
            keras.layers.Conv2D(5, 3, activation="relu", name="second"),
            keras.layers.Flatten(),
            keras.layers.Dense(len(CLASSES)),
        ]
    )


def widget_colours(maps: np.ndarray) -> np.ndarray:
    """The widget's mosaic of ``maps``: inferno from min(0, lowest) to highest, white gaps."""
    cmap = plt.get_cmap("inferno").with_extremes(bad="white")
    scale = Normalize(min(maps.min(), 0.0), maps.max())
    return np.round(cmap(scale(tile_maps(maps, 8)))[..., :3] * 255).astype(int)


def drawn_images(page: Page) -> dict[str, tuple[float, float]]:
    """The URL and drawn (width, height) of every image Vega has drawn in view 0."""
    return dict(
        page.evaluate(
            """() => {
                const found = [];
                const walk = (node) => {
                    if (node.marktype === "image") {
                        node.items.forEach((it) => found.push([it.url, [it.width, it.height]]));
                    }
                    (node.items || []).forEach(walk);
                };
                walk(mappingStaticViews[0].view.scenegraph().root);
                return found;
            }"""
        )
    )


def only_row(page: Page, fields: set[str]) -> dict:
    rows = dataset_rows(page, 0, fields)
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture(scope="module")
def model() -> keras.Sequential:
    return tiny_cnn()


@pytest.fixture
def maps_page(page: Page, page_log: PageLog, tmp_path: Path, model: keras.Sequential) -> Page:
    view = feature_map_view(model, IMAGES, LABELS, class_names=CLASSES, index=0)
    page_of_views(page, tmp_path, [view])
    yield page
    assert not page_log.problems(), page_log.problems()


def test_the_chosen_mosaic_and_probabilities_are_the_library_ones(
    maps_page: Page, model: keras.Sequential
) -> None:
    for index in (2, 1):
        set_signal(maps_page, 0, "image", index)
        result = feature_maps(model, IMAGES[index])
        bars = sorted(
            dataset_rows(maps_page, 0, {"probability", "label"}), key=lambda r: r["class"]
        )
        np.testing.assert_allclose(
            [bar["probability"] for bar in bars], result.probabilities, rtol=1e-12
        )
        assert [bar["name"] for bar in bars] == CLASSES
        caption = only_row(maps_page, {"input_url", "caption"})["caption"]
        predicted = CLASSES[result.predicted]
        confidence = result.probabilities.max()
        assert (
            caption
            == f"true {CLASSES[LABELS[index]]} · predicted {predicted} (P = {confidence:.3f})"
        )
        for layer, maps in zip(("first", "second"), result.maps):
            set_signal(maps_page, 0, "layer", layer)
            row = only_row(maps_page, {"maps_url", "caption"})
            assert (row["image"], row["layer"]) == (index, layer)
            np.testing.assert_array_equal(decoded(row["maps_url"]), widget_colours(maps))
            assert drawn_images(maps_page)[row["maps_url"]] == list(DRAWN[layer])
