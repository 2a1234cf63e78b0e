"""The static optimizer explorer in Chromium: the walk Vega selects is optimizer_trajectory's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib.static.optimizer import STARTS, learning_rates, optimizer_view
from mapping_lib.static.views import StaticView
from mapping_lib.widgets.optimizer import describe, optimizer_trajectory

STEPS = 120
RATES = learning_rates("rosenbrock")
FIELDS = {"step", "x", "y", "setting", "note", "diverged"}
# The text of every drawn text mark (the two caption lines), from Vega's scenegraph.
DRAWN_TEXTS = """(i) => {
    const texts = [];
    const walk = (node) => {
        if (node.marktype === "text" && node.role === "mark") {
            node.items.forEach((item) => texts.push(item.text));
        }
        (node.items || []).forEach(walk);
    };
    walk(mappingStaticViews[i].view.scenegraph().root);
    return texts;
}"""


@pytest.fixture(scope="module")
def view() -> StaticView:
    return optimizer_view("rosenbrock", STEPS)


@pytest.fixture
def optimizer_page(page: Page, page_log: PageLog, tmp_path: Path, view: StaticView) -> Page:
    page_of_views(page, tmp_path, [view])
    yield page
    assert not page_log.problems(), page_log.problems()


def _walk(page: Page) -> tuple[np.ndarray, dict]:
    rows = sorted(dataset_rows(page, 0, FIELDS), key=lambda row: row["step"])
    assert [row["step"] for row in rows] == list(range(len(rows)))
    return np.array([[row["x"], row["y"]] for row in rows]), rows[0]


def _choose(page: Page, **signals: object) -> None:
    for name, value in signals.items():
        set_signal(page, 0, name, value)


@pytest.mark.parametrize(
    ("optimizer", "lr_index", "momentum", "start"),
    [
        ("nesterov", 2, 0.9, 0),  # the chapter's setting
        ("sgd", 1, 0.5, 1),
        ("adam", 3, 0.0, 2),
        ("rmsprop", 0, 0.9, 1),
        ("adagrad", 4, 0.0, 0),
        ("sgd", 4, 0.0, 0),  # blows up after a few steps
    ],
)
def test_the_selected_walk_is_optimizer_trajectorys(
    optimizer_page: Page, optimizer: str, lr_index: int, momentum: float, start: int
) -> None:
    _choose(optimizer_page, optimizer=optimizer, lr=lr_index, momentum=momentum, start=start)
    browser, row = _walk(optimizer_page)
    rate = RATES[optimizer][lr_index]
    python = optimizer_trajectory(
        "rosenbrock", optimizer, rate, momentum, STARTS["rosenbrock"][start], STEPS
    )
    np.testing.assert_allclose(browser, python.points, atol=5.1e-5)  # 4 decimals kept
    assert row["note"] == describe(python)
    assert row["diverged"] == python.diverged
    assert f"learning rate {rate:g}" in optimizer_page.evaluate(DRAWN_TEXTS, 0)[0]


def test_a_blow_up_is_noted_in_the_caption(optimizer_page: Page) -> None:
    _choose(optimizer_page, optimizer="sgd", lr=4, momentum=0.0, start=0)
    texts = optimizer_page.evaluate(DRAWN_TEXTS, 0)
    assert texts[1].startswith("stopped: step ") and "float32" in texts[1]


def test_adagrad_ignores_the_momentum_control(optimizer_page: Page) -> None:
    _choose(optimizer_page, optimizer="adagrad", lr=2, momentum=0.0, start=1)
    without, _ = _walk(optimizer_page)
    set_signal(optimizer_page, 0, "momentum", 0.9)
    with_momentum, row = _walk(optimizer_page)
    np.testing.assert_array_equal(with_momentum, without)
    assert row["setting"] == f"adagrad, learning rate {RATES['adagrad'][2]:g}"


def test_the_step_slider_reveals_the_walk_up_to_that_step(optimizer_page: Page) -> None:
    full, _ = _walk(optimizer_page)
    assert len(full) == STEPS + 1  # the default setting, every step shown
    set_signal(optimizer_page, 0, "step", 40)
    partial, _ = _walk(optimizer_page)
    np.testing.assert_array_equal(partial, full[:41])
    set_signal(optimizer_page, 0, "step", 0)
    start, _ = _walk(optimizer_page)
    np.testing.assert_allclose(start, [STARTS["rosenbrock"][0]])


def test_play_steps_the_walk_to_its_end(optimizer_page: Page) -> None:
    set_signal(optimizer_page, 0, "step", STEPS - 5)
    optimizer_page.get_by_role("button", name="Play").click()
    optimizer_page.wait_for_function(
        f"() => mappingStaticViews[0].view.signal('step') === {STEPS}", timeout=10_000
    )
    walk, _ = _walk(optimizer_page)
    assert len(walk) == STEPS + 1
