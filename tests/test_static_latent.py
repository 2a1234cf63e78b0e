"""The static latent explorer: its decoded grid, its sliders, its scatter and its refusals."""

from __future__ import annotations

import base64
import io
import json

import keras
import numpy as np
import pytest
from PIL import Image

from mapping_lib.static.latent import grid_index, latent_view
from mapping_lib.widgets.applications import decode_grid, latent_extent


@pytest.fixture(scope="module")
def decoder() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid")])


CODES = np.random.default_rng(0).normal(size=(500, 2))
LABELS = np.arange(500) % 10


def _rows(spec: dict, field: str) -> list[dict]:
    [rows] = [rows for rows in spec["datasets"].values() if field in rows[0]]
    return rows


def _pixels(url: str) -> np.ndarray:
    encoded = url.removeprefix("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))), dtype=np.int16)


def test_the_grid_images_are_the_decoded_tiles(decoder: keras.Model) -> None:
    spec = latent_view(decoder, CODES, LABELS, steps=5).to_dict()
    extent = latent_extent(CODES)
    tiles = np.round(np.clip(decode_grid(decoder, extent, steps=5), 0, 1) * 255)
    grid = _rows(spec, "url")
    assert len(grid) == 25
    for row in grid:
        tile = tiles[row["r"] * 28 : (row["r"] + 1) * 28, row["c"] * 28 : (row["c"] + 1) * 28]
        np.testing.assert_array_equal(_pixels(row["url"]), tile)
    assert sorted({row["gz1"] for row in grid}) == pytest.approx(np.linspace(*extent[:2], 5))
    top = [row["gz2"] for row in grid if row["r"] == 0]
    assert top == pytest.approx([extent[3]] * 5)  # row 0 is the top of the box
    assert len(json.dumps(spec)) < 1_500_000


def test_the_sliders_span_the_box_and_start_at_z(decoder: keras.Model) -> None:
    start = CODES[3]
    spec = latent_view(decoder, CODES, LABELS, z=start, max_points=100).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    extent = latent_extent(CODES)
    for axis, name in enumerate(("z1", "z2")):
        bind = params[name]["bind"]
        low, high = extent[2 * axis : 2 * axis + 2]
        # Round ends and step (short numbers on the slider), covering the box within one step.
        assert bind["min"] <= low < bind["min"] + bind["step"]
        assert bind["max"] - bind["step"] < high <= bind["max"]
        assert (high - low) / bind["step"] >= 100
        assert abs(params[name]["value"] - start[axis]) <= bind["step"] / 2 + 1e-12
    scatter = _rows(spec, "label")
    assert len(scatter) == 100
    assert scatter[-1] == {"z1": round(CODES[-1, 0], 4), "z2": round(CODES[-1, 1], 4), "label": 9}


def test_the_grid_index_is_a_rounded_clamped_expression() -> None:
    assert grid_index("z1", 0.0, 2.0, 5) == "clamp(round((z1 - 0.0) / 0.5), 0, 4)"
    assert grid_index("z2", 0.0, 2.0, 5, flip=True) == "clamp(round((2.0 - z2) / 0.5), 0, 4)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"z": (100.0, 0.0)}, "z\\[0\\] must be a number in"),
        ({"z": (0.0, 0.0, 0.0)}, "z must be a point"),
        ({"labels": LABELS[:10]}, "labels"),
        ({"codes": CODES[:, :1]}, "codes must be"),
        ({"steps": 1}, "steps must be at least 2"),
        ({"max_points": 0}, "max_points must be a positive int"),
        ({"class_names": ["a", "b"]}, "labels must be class numbers below"),
    ],
)
def test_bad_arguments_are_refused_by_name(decoder: keras.Model, kwargs: dict, message: str):
    arguments = {"codes": CODES, "labels": LABELS, **kwargs}
    with pytest.raises(ValueError, match=message):
        latent_view(decoder, **arguments)


def test_class_names_label_the_legend(decoder: keras.Model) -> None:
    names = [f"class {k}" for k in range(10)]
    spec = latent_view(decoder, CODES, LABELS, class_names=names, steps=3).chart.to_dict()
    shown = {row["label"] for row in _rows(spec, "label")}
    assert shown == set(names)
    plain = latent_view(decoder, CODES, LABELS, steps=3).chart.to_dict()
    assert {row["label"] for row in _rows(plain, "label")} == set(range(10))
