"""The static feature-map explorer: its controls, its precomputed mosaics and probabilities,
its refusals. A tiny untrained CNN is enough: the view must show what the layers compute."""

from __future__ import annotations

import json
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from explorer_helpers import decoded, inline_rows
from matplotlib.colors import Normalize

from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.feature_maps import MAX_IMAGES, feature_map_view, map_range
from mapping_lib.widgets.feature_maps import feature_maps, tile_maps

CLASSES = ["a", "b", "c"]
IMAGES = np.random.default_rng(4).random((3, 10, 10), dtype=np.float32)
LABELS = np.array([2, 0, 1])


@pytest.fixture(scope="module")
def model() -> keras.Sequential:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="edges"),
            keras.layers.Conv2D(10, 3, activation="relu", name="parts"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(CLASSES)),
        ]
    )


@pytest.fixture(scope="module")
def spec(model: keras.Sequential) -> dict:
    view = feature_map_view(model, IMAGES, LABELS, class_names=CLASSES, index=1, layer="parts")
    return view.to_dict()


def marks(spec: Any) -> list[dict]:
    """Every mark definition inside ``spec``."""
    if isinstance(spec, dict):
        found = [spec["mark"]] if isinstance(spec.get("mark"), dict) else []
        return found + [mark for value in spec.values() for mark in marks(value)]
    if isinstance(spec, list):
        return [mark for item in spec for mark in marks(item)]
    return []


def test_the_controls_offer_every_image_and_conv_layer(spec: dict) -> None:
    params = {param["name"]: param for param in spec["params"]}
    assert params["image"]["value"] == 1
    assert (params["image"]["bind"]["min"], params["image"]["bind"]["max"]) == (0, 2)
    assert params["layer"]["value"] == "parts"
    assert params["layer"]["bind"]["options"] == ["edges", "parts"]
    assert params["layer"]["bind"]["labels"] == [
        "conv layer 1: 3 maps of 8×8",
        "conv layer 2: 10 maps of 6×6",
    ]
    json.dumps(spec)


def test_every_mosaic_is_the_library_tiling_in_the_widget_colours(
    spec: dict, model: keras.Sequential
) -> None:
    rows = inline_rows(spec, "maps_url")
    assert [(row["image"], row["layer"]) for row in rows] == [
        (i, layer) for i in range(len(IMAGES)) for layer in ("edges", "parts")
    ]
    cmap = plt.get_cmap("inferno").with_extremes(bad="white")
    for row in rows:
        result = feature_maps(model, IMAGES[row["image"]])
        maps = result.maps[result.layer_names.index(row["layer"])]
        low, high = min(maps.min(), 0.0), maps.max()
        assert (row["low"], row["high"]) == (low, high)
        colours = cmap(Normalize(low, high)(tile_maps(maps)))[..., :3]
        np.testing.assert_array_equal(decoded(row["maps_url"]), np.round(colours * 255))


def test_the_mosaic_is_drawn_with_whole_pixels_per_map_pixel(spec: dict) -> None:
    # Mosaics of 8 x 26 and 13 x 55 pixels: 16 and 7 screen pixels each, within 430 x 380.
    mosaic = next(mark for mark in marks(spec) if mark["type"] == "image" and "expr" in str(mark))
    assert mosaic["width"] == {"expr": "(layer == 'edges' ? 416 : 385)"}
    assert mosaic["height"] == {"expr": "(layer == 'edges' ? 128 : 91)"}
    assert mosaic["smooth"] is False


def test_the_bars_hold_the_probabilities_and_mark_the_prediction(
    spec: dict, model: keras.Sequential
) -> None:
    bars = inline_rows(spec, "probability")
    inputs = inline_rows(spec, "input_url")
    for i, image in enumerate(IMAGES):
        result = feature_maps(model, image)
        mine = [bar for bar in bars if bar["image"] == i]
        assert [bar["name"] for bar in mine] == CLASSES
        np.testing.assert_allclose([bar["probability"] for bar in mine], result.probabilities)
        fills = [CLASS_COLORS[1] if c == result.predicted else "#b3b3b3" for c in range(3)]
        assert [bar["fill"] for bar in mine] == fills
        assert inputs[i]["truth"] == f"true {CLASSES[LABELS[i]]} · "
        assert inputs[i]["predicted"] == CLASSES[result.predicted]
        assert inputs[i]["confidence"] == result.probabilities.max()


def test_without_labels_or_names_the_classes_are_numbered(model: keras.Sequential) -> None:
    spec = feature_map_view(model, IMAGES[:2]).to_dict()
    assert {row["truth"] for row in inline_rows(spec, "input_url")} == {""}
    assert [bar["name"] for bar in inline_rows(spec, "probability")[:3]] == ["0", "1", "2"]
    assert {p["name"]: p["value"] for p in spec["params"]}["layer"] == "edges"


def test_map_range_starts_at_zero_or_below_as_the_widget_does() -> None:
    assert map_range(np.array([[[0.5, 2.0]]])) == (0.0, 2.0)
    assert map_range(np.array([[[-1.0, 3.0]]])) == (-1.0, 3.0)
    assert map_range(np.zeros((2, 2, 1))) == (0.0, 1.0)  # a dead layer still gets a scale


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": IMAGES[:1]}, "images must hold 2 to 12 images"),
        ({"images": np.zeros((MAX_IMAGES + 1, 10, 10))}, "images must hold 2 to 12 images"),
        ({"labels": LABELS[:2]}, "same number of examples, got 3 and 2"),
        ({"labels": np.array([0, 1, 3])}, r"labels must be class indices in \[0, 3\)"),
        ({"class_names": ["a", "b"]}, "class_names must name all 3 classes, got 2 names"),
        ({"layer": "dense"}, "layer must be one of 'edges', 'parts'"),
        ({"index": 3}, "index must be below the number of images 3"),
        ({"columns": 0}, "columns must be a positive int"),
        ({"images": np.zeros((3, 12, 12))}, r"image must have the model's input shape"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    model: keras.Sequential, kwargs: dict, message: str
) -> None:
    arguments = {"images": IMAGES, **kwargs}
    with pytest.raises(ValueError, match=message):
        feature_map_view(model, **arguments)


def test_colour_models_are_refused() -> None:
    colour = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="model must take grey images"):
        feature_map_view(colour, np.zeros((2, 6, 6, 3)))
