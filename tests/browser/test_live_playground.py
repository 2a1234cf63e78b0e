"""The static Playground replay in Chromium: the frame and losses Vega selects are Python's."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.playground.config import tensorflow_playground_url
from mapping_lib.static.playground import playground_replay
from mapping_lib.static.views import StaticView

SETTINGS = {
    "xor": "pg1;data=xor;feat=x1,x2;net=2;act=tanh;lr=0.1;seed=3",
    "circle": "pg1;data=circle;feat=x1^2,x2^2;net=;lr=0.03;seed=5;test=1",
}
FRAMES = 3
FIELDS = {"setting", "frame", "epoch", "train_loss", "test_loss", "url", "caption", "link"}


@pytest.fixture(scope="module")
def replay() -> StaticView:
    return playground_replay(SETTINGS, 4, FRAMES, play_interval_ms=50)


@pytest.fixture(scope="module")
def python_rows(replay: StaticView) -> dict[tuple[str, int], dict]:
    return {(row["setting"], row["frame"]): row for row in replay.to_dict()["data"]["values"]}


@pytest.fixture
def replay_page(page: Page, page_log: PageLog, tmp_path: Path, replay: StaticView) -> Page:
    page_of_views(page, tmp_path, [replay])
    yield page
    assert not page_log.problems(), page_log.problems()


def _selected(page: Page) -> dict:
    (row,) = dataset_rows(page, 0, FIELDS)  # the filter leaves exactly one frame
    return row


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("frame", range(FRAMES))
def test_the_selected_frame_is_pythons(
    replay_page: Page, python_rows: dict, setting: str, frame: int
) -> None:
    set_signal(replay_page, 0, "setting", setting)
    set_signal(replay_page, 0, "epoch", frame)
    browser, python = _selected(replay_page), python_rows[(setting, frame)]
    for key in ("setting", "frame", "epoch", "train_loss", "test_loss", "url"):
        assert browser[key] == python[key], key
    assert browser["caption"] == (
        f"epoch {python['epoch']}: training loss {python['train_loss']:.3f}, "
        f"test loss {python['test_loss']:.3f}"
    )
    assert browser["link"] == tensorflow_playground_url(SETTINGS[setting])


def test_play_steps_the_frames_to_the_last(replay_page: Page, python_rows: dict) -> None:
    set_signal(replay_page, 0, "setting", "circle")
    replay_page.click(".mapping-static-view-play")
    replay_page.wait_for_function(
        f"() => mappingStaticViews[0].view.signal('epoch') === {FRAMES - 1}", timeout=10_000
    )
    replay_page.evaluate("() => mappingStaticViews[0].view.runAsync().then(() => null)")
    assert _selected(replay_page)["url"] == python_rows[("circle", FRAMES - 1)]["url"]
