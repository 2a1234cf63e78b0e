"""The static training replay in Chromium: the epoch slider and Play show a recorded run."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal
from training_helpers import blobs, mlp

from mapping_lib import optim, train
from mapping_lib.static.dashboard import dashboard_replay
from mapping_lib.widgets.dashboard import DashboardCallback
from mapping_lib.widgets.training_record import (
    STOP_REASONS,
    DashboardState,
    layer_gradient_norms,
    status_line,
    stop_reason,
)

PLANNED_EPOCHS = 10
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

# The text of every drawn text mark (status line, notes), from Vega's scenegraph.
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
def state() -> DashboardState:
    """A tiny run recorded by the dashboard's callback; early stopping ends it after 4 of 10
    epochs (the loss never drops by 10 after the first)."""
    x, y = blobs(96)
    model = mlp()
    state = DashboardState()
    state.begin("run", PLANNED_EPOCHS, layer_gradient_norms(model, x, y, LOSS))
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="loss", patience=3, min_delta=10.0),
        DashboardCallback(
            state, threading.Lock(), threading.Event(),
            lambda: layer_gradient_norms(model, x, y, LOSS),
        ),
    ]  # fmt: skip
    history = train.fit(
        model, x, y, loss=LOSS, optimizer=optim.Adam(1e-2), epochs=PLANNED_EPOCHS,
        batch_size=32, validation_data=(x[:32], y[:32]), callbacks=callbacks, progress=False,
    )  # fmt: skip
    state.finish(stop_reason(history, PLANNED_EPOCHS, callbacks, stop_pressed=False))
    assert state.epochs_done == 4 and state.stop_reason == "early_stopping"
    return state


@pytest.fixture
def replay_page(page: Page, page_log: PageLog, tmp_path: Path, state: DashboardState) -> Page:
    page_of_views(page, tmp_path, [dashboard_replay(state, title="tiny MLP on blobs")])
    yield page
    assert not page_log.problems(), page_log.problems()


def assert_metrics_shown_up_to(page: Page, state: DashboardState, epoch: int) -> None:
    """The rows of a metric panel are exactly epochs 1..epoch, with the recorded values."""
    rows = dataset_rows(page, 0, {"epoch", "key", "value", "split"})
    shown = sorted((row["epoch"], row["key"], row["value"]) for row in rows)
    # One of the two metric panels (loss or accuracy): its training and validation curves.
    keys = {key for _, key, _ in shown}
    assert keys in ({"loss", "val_loss"}, {"accuracy", "val_accuracy"})
    recorded = [(k + 1, key, state.logs[k][key]) for k in range(epoch) for key in keys]
    assert shown == sorted(recorded)  # JSON carries the floats exactly


def assert_norms_shown_up_to(page: Page, state: DashboardState, epoch: int) -> None:
    """The gradient panel shows the norms measured before training and after epochs 1..epoch."""
    rows = dataset_rows(page, 0, {"layer", "norm", "shown"})
    recorded = [
        (done, layer, norm)
        for done, measured in state.gradient_norms[: epoch + 1]
        for layer, norm in measured.items()
    ]
    assert sorted((row["epoch"], row["layer"], row["norm"]) for row in rows) == sorted(recorded)


def status_shown(page: Page) -> str:
    (status,) = [text for text in page.evaluate(DRAWN_TEXTS, 0) if text.startswith("run: ")]
    return status


@pytest.mark.parametrize("epoch", [1, 3, 4])
def test_the_slider_shows_exactly_the_epochs_so_far(
    replay_page: Page, state: DashboardState, epoch: int
) -> None:
    set_signal(replay_page, 0, "epoch", epoch)
    assert_metrics_shown_up_to(replay_page, state, epoch)
    assert_norms_shown_up_to(replay_page, state, epoch)
    loss = state.logs[epoch - 1]["loss"]
    assert status_shown(replay_page).startswith(
        f"run: epoch {epoch}/{PLANNED_EPOCHS} | loss {loss:.4g}"
    )


def test_epoch_zero_shows_the_norms_before_training(replay_page: Page, state: DashboardState):
    set_signal(replay_page, 0, "epoch", 0)
    assert_norms_shown_up_to(replay_page, state, 0)
    assert status_shown(replay_page) == f"run: epoch 0/{PLANNED_EPOCHS}"


def test_the_last_epoch_says_why_training_ended(replay_page: Page, state: DashboardState):
    status = status_shown(replay_page)  # the view opens at the last epoch
    assert status.replace("\n", " | ") == status_line(state)
    assert status.endswith("\n" + STOP_REASONS["early_stopping"])


def test_play_advances_the_epoch_to_the_last(replay_page: Page, state: DashboardState):
    set_signal(replay_page, 0, "epoch", 1)
    replay_page.click(".mapping-static-view-play")
    replay_page.wait_for_function(
        "(last) => mappingStaticViews[0].view.signal('epoch') === last",
        arg=state.epochs_done,
        timeout=10_000,
    )
    assert_metrics_shown_up_to(replay_page, state, state.epochs_done)
