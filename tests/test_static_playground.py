"""The static Playground replay: its frames and losses are those of a core trained that far."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from mapping_lib.playground import PlaygroundCore, render
from mapping_lib.playground.config import tensorflow_playground_url
from mapping_lib.static.playground import (
    SHADES,
    frame_epochs,
    playground_replay,
    posterized,
    replay_rows,
)

TINY = "pg1;data=xor;feat=x1,x2;net=2;act=tanh;lr=0.1;seed=3"
DIGITS = "pg1;data=digits;net=2;seed=1"


def _pixels(url: str) -> np.ndarray:
    header, data = url.split(",", 1)
    assert header == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def _trained(setting: str, epochs: int) -> PlaygroundCore:
    core = PlaygroundCore(setting)
    if epochs:
        core.run(epochs)
    return core


@pytest.fixture(scope="module")
def view_spec() -> dict:
    return playground_replay(
        {"tiny": TINY, "digits": DIGITS}, {"tiny": 4, "digits": 2}, 3
    ).to_dict()


def test_frame_epochs_are_evenly_spaced_from_zero() -> None:
    assert frame_epochs(300, 11) == list(range(0, 301, 30))
    assert frame_epochs(5, 3) == [0, 2, 5]  # 2.5 rounds to even
    assert frame_epochs(2, 3) == [0, 1, 2]


def test_frames_and_losses_equal_a_core_trained_that_far() -> None:
    rows = replay_rows("tiny", TINY, 6, 3, shades=None)
    assert [row["epoch"] for row in rows] == [0, 3, 6]
    for row in rows:
        core = _trained(TINY, row["epoch"])  # one run straight to the epoch
        snapshot = render.snapshot(core)
        np.testing.assert_array_equal(_pixels(row["url"]), np.asarray(snapshot.convert("RGB")))
        assert (row["train_loss"], row["test_loss"]) == (core.train_loss, core.test_loss)
        assert (row["right"], row["bottom"] - row["top"]) == snapshot.size


def test_posterized_frames_keep_the_inks_and_few_shades() -> None:
    snapshot = render.snapshot(_trained(TINY, 3))
    (row,) = [row for row in replay_rows("tiny", TINY, 3, 2) if row["epoch"] == 3]
    fewer = posterized(snapshot, SHADES)
    np.testing.assert_array_equal(_pixels(row["url"]), np.asarray(fewer.convert("RGB")))
    before, after = np.asarray(snapshot), np.asarray(fewer)
    inks = before >= render.SHADES
    np.testing.assert_array_equal(after[inks], before[inks])
    assert len(np.unique(after[~inks])) <= SHADES
    assert np.abs(after[~inks].astype(int) - before[~inks]).max() <= render.SHADES / SHADES


def test_the_view_offers_each_setting_its_frames_and_a_play_button(view_spec: dict) -> None:
    params = {param["name"]: param for param in view_spec["params"]}
    assert params["setting"]["bind"]["options"] == ["tiny", "digits"]
    assert params["setting"]["value"] == "tiny"
    assert [params["epoch"]["bind"][key] for key in ("min", "max", "step")] == [0, 2, 1]
    assert view_spec["usermeta"]["mapping_lib"]["play"] == "epoch"
    rows = view_spec["data"]["values"]
    assert [(row["setting"], row["epoch"]) for row in rows] == [
        ("tiny", 0), ("tiny", 2), ("tiny", 4), ("digits", 0), ("digits", 1), ("digits", 2)
    ]  # fmt: skip
    assert all(row["url"].startswith("data:image/png;base64,") for row in rows)


def test_each_setting_links_to_tensorflow_playground_where_it_can(view_spec: dict) -> None:
    (lookup,) = [step for step in view_spec["layer"][0]["transform"] if "lookup" in step]
    links = {row["setting"]: row for row in lookup["from"]["data"]["values"]}
    assert links["tiny"]["link"] == tensorflow_playground_url(TINY)
    assert "link" not in links["digits"]  # no link where TensorFlow Playground has no data
    assert "no digits data" in links["digits"]["link_text"]


def test_a_diverged_loss_travels_as_null() -> None:
    rows = replay_rows("wild", "pg1;data=reg-plane;net=8,8;act=relu;lr=10;seed=0", 3, 2)
    assert rows[-1]["train_loss"] is None and rows[-1]["test_loss"] is None


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (({}, 4), {}, "settings must map labels"),
        (({"a": TINY}, {"b": 4}), {}, "epochs must give a number for each"),
        (({"a": TINY}, 4, 6), {}, r"frames must be in \[2, epochs \+ 1 = 5\]"),
        (({"a": TINY}, 4, 1), {}, "frames must be in"),
        (({"a": TINY}, 0), {}, "epochs must be a positive int"),
        (({"a": TINY}, 4, 3), {"shades": 1}, "shades must be a number in"),
        (({"a": "pg1;data=moons"}, 4), {}, "config string"),
    ],
)
def test_bad_arguments_are_refused_by_name(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        playground_replay(*args, **kwargs)
