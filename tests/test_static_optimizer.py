"""The static optimizer explorer: its walks are optimizer_trajectory's, its spec and refusals."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from mapping_lib.static.optimizer import (
    MOMENTA,
    STARTS,
    Setting,
    contour_png_url,
    learning_rates,
    optimizer_view,
    trajectory_grid,
)
from mapping_lib.widgets.optimizer import (
    OPTIMIZERS,
    SURFACES,
    USES_MOMENTUM,
    describe,
    optimizer_trajectory,
)

STEPS = 300  # the chapter's
SMALL_RATES = {
    "sgd": (0.001, 0.01),  # 0.01 blows up on Rosenbrock within a few steps
    "nesterov": (0.0003, 0.001),
    "adam": (0.01, 0.1),
    "adagrad": (0.1, 1.0),
    "rmsprop": (0.003, 0.03),
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return optimizer_view("rosenbrock", STEPS).to_dict()


def _walks(spec: dict) -> list[dict]:
    (walks,) = [rows for rows in spec["datasets"].values() if "note" in rows[0]]
    return walks


def _pixels(url: str) -> np.ndarray:
    header, data = url.split(",", 1)
    assert header == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_every_walk_of_the_grid_is_optimizer_trajectorys() -> None:
    starts = STARTS["rosenbrock"][:2]
    grid = trajectory_grid("rosenbrock", SMALL_RATES, (0.0, 0.9), starts, 40)
    groups = 2 * len(USES_MOMENTUM) + len(OPTIMIZERS) - len(USES_MOMENTUM)
    assert len(grid) == groups * 2 * len(starts)
    for setting, walk in grid.items():
        python = optimizer_trajectory("rosenbrock", *setting, steps=40)
        # The same float32 updates, vectorised: at most a rounding apart.
        np.testing.assert_allclose(walk.points, python.points, atol=1e-6, err_msg=str(setting))
        np.testing.assert_allclose(walk.losses, python.losses, rtol=1e-5, err_msg=str(setting))
        assert walk.stop_reason == python.stop_reason
    # The rows of a blown-up walk end early; the walks beside it in its variable go on.
    assert grid[Setting("sgd", 0.01, 0.0, starts[0])].steps_taken < 40
    assert grid[Setting("sgd", 0.001, 0.0, starts[0])].steps_taken == 40


def test_the_grid_spans_slow_to_diverging_rates_on_rosenbrock(spec: dict) -> None:
    walks = _walks(spec)
    by_rate = {}
    for row in walks:
        by_rate.setdefault((row["optimizer"], row["lr_index"]), []).append(row["diverged"])
    assert not any(by_rate["sgd", 0]) and all(by_rate["sgd", 4])
    assert not any(
        diverged for (name, _), rows in by_rate.items() if name == "adam" for diverged in rows
    )


def test_the_view_holds_every_walk_once_rounded_to_four_decimals(spec: dict) -> None:
    walks = _walks(spec)
    rates = learning_rates("rosenbrock")
    starts = STARTS["rosenbrock"]
    grid = trajectory_grid("rosenbrock", rates, MOMENTA, starts, STEPS)
    assert len(walks) == len(grid) == 13 * len(rates["sgd"]) * len(starts)
    assert len(spec["datasets"]) == 1  # the walks, once for the caption and the map
    for row in walks:
        setting = Setting(
            row["optimizer"], rates[row["optimizer"]][row["lr_index"]], row["momentum"],
            starts[row["start"]],
        )  # fmt: skip
        walk = grid[setting]
        np.testing.assert_array_equal(row["x"], np.round(walk.points[:, 0], 4))
        np.testing.assert_array_equal(row["y"], np.round(walk.points[:, 1], 4))
        assert (row["note"], row["diverged"]) == (describe(walk), walk.diverged)
    assert len(json.dumps(spec, separators=(",", ":"))) < 1_500_000


def test_the_controls_start_at_the_chapters_setting_and_play_steps(spec: dict) -> None:
    params = {param["name"]: param for param in spec["params"]}
    assert params["optimizer"]["value"] == "nesterov"
    assert params["optimizer"]["bind"]["options"] == list(OPTIMIZERS)
    assert learning_rates("rosenbrock")["nesterov"][params["lr"]["value"]] == 0.001
    assert params["lr"]["bind"]["max"] == len(learning_rates("rosenbrock")["nesterov"]) - 1
    assert (params["momentum"]["value"], params["momentum"]["bind"]["options"]) == (0.9, [*MOMENTA])
    assert params["start"]["bind"]["labels"] == ["(-1.5, 2)", "(-1, -0.5)", "(1.8, 1)"]
    assert (params["step"]["value"], params["step"]["bind"]["max"]) == (STEPS, STEPS)
    assert spec["usermeta"]["mapping_lib"]["play"] == "step"


@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_contour_picture_covers_the_surfaces_extent(surface: str) -> None:
    pixels = _pixels(contour_png_url(SURFACES[surface]))
    x0, x1, y0, y1 = SURFACES[surface].extent
    assert pixels.shape == (round(360 * (y1 - y0) / (x1 - x0)), 360, 3)
    # Top row first: Rosenbrock rises far faster towards (-2, -1) than towards (-2, 3), so
    # the bottom-left corner lies in a higher band, nearer viridis' yellow (less blue).
    if surface == "rosenbrock":
        assert pixels[-1, 0, 2] < pixels[0, 0, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"surface": "himmelblau"}, "surface must be one of"),
        ({"steps": 0}, "steps must be a positive int"),
        ({"steps": 501}, "steps must be a number in"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"learning_rate": 0.002}, "learning_rate must be one of"),
        ({"momentum": 0.99}, "momentum must be one of"),
        ({"momenta": (0.0, 1.0), "momentum": 0.0}, "momenta must be a number in"),
        ({"rates": {"sgd": (0.001,)}}, "rates must give as many learning rates to each of"),
        ({"rates": {**SMALL_RATES, "adam": (0.01,)}}, "rates must give as many"),
        ({"starts": [(5.0, 0.0)]}, "starts must be points"),
        ({"starts": [(0.0, 0.0, 1.0)]}, "starts must be points"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        optimizer_view(**kwargs)
