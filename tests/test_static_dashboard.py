"""The static training replay: its tables are the dashboard's records, its controls, refusals."""

from __future__ import annotations

import json
import math

import pytest

from mapping_lib.static.dashboard import PLAY_INTERVAL_MS, dashboard_replay
from mapping_lib.static.views import PLAY_KEY
from mapping_lib.widgets.dashboard import TrainingDashboard
from mapping_lib.widgets.training_record import STOP_REASONS, DashboardState, status_line


def two_phase_state() -> DashboardState:
    """Three epochs of a "frozen" phase, then two of an "unfrozen" one stopped early."""
    state = DashboardState()
    state.begin("frozen", 3, {"head": 1.0})
    for epoch in range(3):
        logs = {"loss": 2.0 - epoch / 2, "val_loss": 2.1 - epoch / 3, "learning_rate": 1e-3}
        state.record({**logs, "accuracy": 0.3 + epoch / 10, "val_accuracy": 0.25 + epoch / 9},
                     {"head": 0.5 / (epoch + 1)})  # fmt: skip
    state.finish(None)
    state.begin("unfrozen", 4, {"features": 0.0, "head": 0.2})
    for loss, val_loss in ((0.9, 1.0), (0.8, 1.2)):
        state.record({"loss": loss, "val_loss": val_loss, "accuracy": 0.7, "val_accuracy": 0.6,
                      "learning_rate": 1e-4}, {"features": 0.01, "head": 0.1})  # fmt: skip
    state.finish("early_stopping")
    return state


def panel_titles(spec: dict) -> list[str]:
    return [panel["title"] for row in spec["vconcat"][1:] for panel in row["hconcat"]]


def test_the_tables_are_the_recorded_logs_norms_and_status_lines() -> None:
    state = two_phase_state()
    spec = dashboard_replay(state).to_dict()
    tables = spec["datasets"]
    assert tables["logs"] == [{"epoch": k + 1, **logs} for k, logs in enumerate(state.logs)]
    expected_norms = [
        (done, layer, norm) for done, norms in state.gradient_norms for layer, norm in norms.items()
    ]
    assert [(row["epoch"], row["layer"], row["norm"]) for row in tables["norms"]] == expected_norms
    assert [row["step"] for row in tables["norms"]] == sorted(
        row["step"] for row in tables["norms"]
    )
    status = {row["epoch"]: row["status"] for row in tables["status"]}
    assert list(status) == [0, 1, 2, 3, 4, 5]
    assert status[0] == "frozen: epoch 0/3"
    assert status[3] == "frozen: epoch 3/3 | loss 1 | val_loss 1.433 | accuracy 0.5 | " + (
        "val_accuracy 0.4722 | learning_rate 0.001"
    )  # the first phase's end: its stop reason was not kept, so none is shown
    assert status[4].startswith("unfrozen: epoch 4/7 | loss 0.9")
    assert status[5].replace("\n", " | ") == status_line(state)  # the live board's last line
    assert status[5].endswith("\n" + STOP_REASONS["early_stopping"])
    assert tables["phases"] == [{"start": 3, "label": "unfrozen"}]
    final = {row["key"]: row for row in tables["best"] if row["upto"] == 5}
    assert final["val_loss"]["epoch"] == state.best_epoch("val_loss") == 4
    assert final["val_accuracy"]["value"] == state.series("val_accuracy").max()
    assert panel_titles(spec) == [
        "loss", "accuracy", "learning rate", "gradient norm per layer (probe batch)",
    ]  # fmt: skip
    assert len(json.dumps(spec)) < 30_000


def test_the_epoch_slider_spans_the_run_and_play_steps_it() -> None:
    spec = dashboard_replay(two_phase_state(), title="transfer").to_dict()
    (epoch,) = spec["params"]
    assert epoch["name"] == "epoch" and epoch["value"] == 5
    assert [epoch["bind"][key] for key in ("min", "max", "step")] == [0, 5, 1]
    assert spec["usermeta"][PLAY_KEY] == {"play": "epoch", "interval_ms": PLAY_INTERVAL_MS}
    assert spec["title"] == "transfer"


def test_only_recorded_panels_are_drawn_and_non_finite_values_become_gaps() -> None:
    state = DashboardState()
    state.begin("", 3, {})
    state.record({"loss": 1.5}, {})
    state.record({"loss": math.nan}, {})  # a diverged epoch
    state.finish("diverged")
    spec = dashboard_replay(state).to_dict()
    assert panel_titles(spec) == ["loss"]
    assert [row["loss"] for row in spec["datasets"]["logs"]] == [1.5, None]
    json.dumps(spec, allow_nan=False)  # valid JSON for the page
    last = spec["datasets"]["status"][-1]["status"]
    assert last == "epoch 2/3 | loss nan\n" + STOP_REASONS["diverged"]


def test_a_board_is_replayed_from_its_state_under_its_title() -> None:
    board = TrainingDashboard("tiny run")
    with pytest.raises(ValueError, match="state has no recorded epochs"):
        dashboard_replay(board)
    board.state = two_phase_state()
    spec = dashboard_replay(board).to_dict()
    assert spec["title"] == "tiny run"
    assert spec["datasets"] == dashboard_replay(board.state).to_dict()["datasets"]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="state has no recorded epochs"):
        dashboard_replay(DashboardState())
    begun = DashboardState()
    begun.begin("run", 2, {"dense": 1.0})
    with pytest.raises(ValueError, match="state has no recorded epochs"):
        dashboard_replay(begun)
    with pytest.raises(TypeError, match="state_or_board must be a TrainingDashboard or a"):
        dashboard_replay({"loss": [1.0]})
