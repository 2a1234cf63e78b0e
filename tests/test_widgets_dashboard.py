"""Tests for the training dashboard: gradient norms, the state, the figure, then the live view."""

from __future__ import annotations

import asyncio
import math
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import device, optim, train
from mapping_lib import layers as ml_layers
from mapping_lib.callbacks import StopOnDivergence
from mapping_lib.widgets.dashboard import (
    DashboardState,
    TrainingDashboard,
    dashboard_figure,
    layer_gradient_norms,
    probe_batch,
    status_line,
)
from mapping_lib.widgets.training_record import stop_reason

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def small_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32") + (x[:, 2] > 1).astype("int32")
    return x, y


def small_model(seed=0, *, l2=0.0):
    device.seed_everything(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh", kernel_regularizer=regularizer, name="hidden"),
            keras.layers.Dropout(0.2, name="drop"),
            ml_layers.Dense(3, name="out"),
        ]
    )


def tape_norms(model, x, y):
    """Reference: one gradient per variable from a plain tape, then norms layer by layer."""
    with tf.GradientTape() as tape:
        value = LOSS(y, model(x, training=False)) + sum(model.losses)
    kernel_h, bias_h, kernel_o, bias_o = tape.gradient(value, model.trainable_variables)

    def norm(*grads):
        return math.sqrt(sum(float(np.sum(np.square(g))) for g in grads))

    return {"hidden": norm(kernel_h, bias_h), "out": norm(kernel_o, bias_o)}


# ----------------------------------------------------------------------------- gradient norms


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_gradient_norms_match_a_plain_tape_layer_by_layer(l2):
    x, y = small_data()
    model = small_model(l2=l2)
    norms = layer_gradient_norms(model, x, y, LOSS)
    assert list(norms) == ["hidden", "out"]  # the dropout layer has no weights
    expected = tape_norms(model, x, y)
    for name in expected:
        assert norms[name] == pytest.approx(expected[name], rel=1e-5)


def test_gradient_norms_include_the_regularisation_penalty():
    x, y = small_data()
    plain = layer_gradient_norms(small_model(), x, y, LOSS)
    penalised = layer_gradient_norms(small_model(l2=1.0), x, y, LOSS)
    # Same initial weights; the penalty adds 2 * l2 * W to the hidden kernel's gradient only.
    assert penalised["hidden"] > plain["hidden"] + 0.1
    assert penalised["out"] == pytest.approx(plain["out"], rel=1e-6)


def test_gradient_norms_skip_frozen_layers_and_look_inside_nested_models():
    x, y = small_data()
    base = small_model()
    base.trainable = False
    model = keras.Sequential([keras.Input((6,)), base, keras.layers.Dense(3, name="head")])
    assert list(layer_gradient_norms(model, x, y, LOSS)) == ["head"]
    base.trainable = True
    assert list(layer_gradient_norms(model, x, y, LOSS)) == ["hidden", "out", "head"]


def test_gradient_norms_change_no_state():
    x, y = small_data()
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    layer_gradient_norms(model, x, y, LOSS)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_gradient_norms_reject_bad_input():
    x, y = small_data()
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        layer_gradient_norms("not a model", x, y, LOSS)
    frozen = small_model()
    frozen.trainable = False
    with pytest.raises(ValueError, match="no trainable layers"):
        layer_gradient_norms(frozen, x, y, LOSS)
    with pytest.raises(ValueError, match="loss must be one of"):
        layer_gradient_norms(small_model(), x, y, "hinge-ish")


def test_probe_batch_takes_the_first_examples_as_float32():
    x, y = small_data(10)
    px, py = probe_batch(x.astype("float64"), y, size=4)
    assert px.dtype == np.float32 and px.shape == (4, 6)
    np.testing.assert_array_equal(py, y[:4])
    assert probe_batch(x, y, size=50)[0].shape == (10, 6)


def test_probe_batch_rejects_bad_input():
    x, y = small_data(10)
    with pytest.raises(ValueError, match="probe_size must be a positive int"):
        probe_batch(x, y, size=0)
    with pytest.raises(ValueError, match="x and y must have the same number of examples"):
        probe_batch(x, y[:5])
    with pytest.raises(ValueError, match="probe must be given"):
        probe_batch(tf.data.Dataset.from_tensor_slices((x, y)), None)


# ----------------------------------------------------------------------------- the state


def filled_state():
    state = DashboardState()
    state.begin("frozen", 3, {"a": 1.0})
    for loss, val_loss in [(1.0, 1.1), (0.8, 0.7), (0.6, 0.9)]:
        logs = {"loss": loss, "val_loss": val_loss, "accuracy": 1 - loss / 2,
                "learning_rate": 0.01}  # fmt: skip
        state.record(logs, {"a": loss / 2})
    state.finish(None)
    state.begin("unfrozen", 2, {"a": 0.2, "b": 5.0})
    state.record({"loss": 0.5, "learning_rate": 0.001}, {"a": 0.1, "b": 4.0})
    return state


def test_state_counts_epochs_across_phases():
    state = filled_state()
    assert state.epochs_done == 4
    assert state.planned_epochs == 5
    assert [(p.start, p.label, p.planned_epochs) for p in state.phases] == [
        (0, "frozen", 3),
        (3, "unfrozen", 2),
    ]
    assert state.finished is False  # the second phase is still running


def test_state_series_fill_missing_values_with_nan():
    state = filled_state()
    np.testing.assert_array_equal(state.series("loss"), [1.0, 0.8, 0.6, 0.5])
    np.testing.assert_array_equal(state.series("val_loss")[:3], [1.1, 0.7, 0.9])
    assert math.isnan(state.series("val_loss")[3])
    assert state.has("val_loss") and not state.has("val_accuracy")


def test_best_epoch_is_lowest_loss_or_highest_accuracy():
    state = filled_state()
    assert state.best_epoch("val_loss") == 2
    assert state.best_epoch("accuracy") == 3
    assert state.best_epoch("val_accuracy") is None


def test_layer_series_follow_each_layer_from_when_it_became_trainable():
    state = filled_state()
    assert state.layer_names() == ["a", "b"]
    epochs, values = state.layer_series("a")
    np.testing.assert_array_equal(epochs, [0, 1, 2, 3, 3, 4])
    np.testing.assert_allclose(values, [1.0, 0.5, 0.4, 0.3, 0.2, 0.1])
    epochs, values = state.layer_series("b")
    np.testing.assert_array_equal(epochs, [3, 4])


def test_state_rejects_misuse():
    state = DashboardState()
    with pytest.raises(ValueError, match="call begin"):
        state.record({"loss": 1.0}, {})
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        state.begin("x", 0, {})
    state.begin("x", 1, {})
    with pytest.raises(ValueError, match="stop_reason must be one of"):
        state.finish("bored")


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (None, "finished all planned epochs"),
        ("early_stopping", "stopped early"),
        ("diverged", "NaN"),
        ("callback", "stopped by a callback"),
        ("stop_button", "Stop button"),
    ],
)
def test_status_line_reports_progress_metrics_and_why_training_ended(reason, words):
    state = DashboardState()
    assert status_line(state) == "waiting for training to start"
    state.begin("warm-up", 10, {})
    state.record({"loss": 0.51234, "val_accuracy": 0.875, "learning_rate": 0.001}, {})
    line = status_line(state)
    assert line == "warm-up: epoch 1/10 | loss 0.5123 | val_accuracy 0.875 | learning_rate 0.001"
    state.finish(reason)
    assert status_line(state).startswith(line) and words in status_line(state)


# ----------------------------------------------------------------------------- the figure


def panels(figure):
    return {ax.get_title(): ax for ax in figure.axes}


def test_figure_draws_the_logged_curves():
    state = filled_state()
    figure = dashboard_figure(state, title="demo")
    axes = panels(figure)
    assert set(axes) == {
        "loss", "accuracy", "learning rate", "gradient norm per layer (probe batch)"
    }  # fmt: skip
    lines = {line.get_label(): line for line in axes["loss"].get_lines()}
    np.testing.assert_array_equal(lines["training"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines["training"].get_ydata(), [1.0, 0.8, 0.6, 0.5])
    np.testing.assert_array_equal(lines["best (epoch 2)"].get_ydata(), [0.7])
    assert axes["learning rate"].get_yscale() == "log"
    gradient_lines = {
        line.get_label(): line for line in axes["gradient norm per layer (probe batch)"].get_lines()
    }
    np.testing.assert_allclose(gradient_lines["b"].get_ydata(), [5.0, 4.0])
    # The second phase starts after epoch 3: a dashed line between epochs 3 and 4 on the metric
    # panels, at "3 epochs completed" on the gradient panel.
    assert any(list(line.get_xdata()) == [3.5, 3.5] for line in axes["loss"].get_lines())
    gradient_panel = axes["gradient norm per layer (probe batch)"]
    assert any(list(line.get_xdata()) == [3, 3] for line in gradient_panel.get_lines())
    assert figure.get_suptitle() == "demo"


def test_figure_of_an_empty_state_says_it_is_waiting():
    figure = dashboard_figure(DashboardState())
    texts = [text.get_text() for ax in figure.axes for text in ax.texts]
    assert "waiting for the first epoch" in texts
    assert figure.get_suptitle() == "waiting for training to start"


# ----------------------------------------------------------------------------- the view


def image_data():
    rng = np.random.default_rng(1)
    x = rng.random((160, 8, 8, 1), dtype=np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int32")
    return x[:128], y[:128], x[128:], y[128:]


def image_model():
    device.seed_everything(3)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            ml_layers.Conv2D(4, 3, activation="relu"),
            ml_layers.Flatten(),
            ml_layers.Dropout(0.25),
            ml_layers.Dense(2),
        ]
    )


def test_dashboard_trains_to_the_same_weights_as_fit_alone():
    x, y, xv, yv = image_data()
    settings = dict(loss=LOSS, optimizer="adam", epochs=4, batch_size=32, validation_data=(xv, yv))
    plain = image_model()
    expected = train.fit(plain, x, y, progress=False, **settings)

    followed = image_model()
    board = TrainingDashboard("test")
    first_picture = bytes(board.image.value)
    assert first_picture.startswith(PNG_MAGIC)
    history = asyncio.run(board.fit(followed, x, y, phase="run", **settings))

    assert history.history == expected.history
    for a, b in zip(plain.get_weights(), followed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert board.state.epochs_done == 4 and board.state.finished
    np.testing.assert_allclose(board.state.series("val_loss"), expected.history["val_loss"])
    assert [epoch for epoch, _ in board.state.gradient_norms] == [0, 1, 2, 3, 4]
    assert bytes(board.image.value).startswith(PNG_MAGIC)
    assert bytes(board.image.value) != first_picture
    assert "run: epoch 4/4" in board.status.value and "finished all" in board.status.value
    assert board.stop_button.disabled and not board.running


class SlowEpochs(keras.callbacks.Callback):
    """Epochs slow enough that a click lands mid-run."""

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.2)


def test_stop_button_click_during_training_ends_fit_cleanly():
    x, y, _, _ = image_data()
    model = image_model()
    board = TrainingDashboard()

    async def click_after_two_epochs():
        training = asyncio.ensure_future(
            board.fit(model, x, y, loss=LOSS, epochs=60, callbacks=[SlowEpochs()])
        )
        while board.state.epochs_done < 2:
            await asyncio.sleep(0.01)
        assert board.running and not board.stop_button.disabled
        board.stop_button.click()
        return await training

    history = asyncio.run(click_after_two_epochs())
    assert isinstance(history, keras.callbacks.History)
    # The click lands within a redraw or two (under a second), far before epoch 60.
    assert 2 <= len(history.epoch) <= 8
    assert board.state.epochs_done == len(history.epoch)
    assert board.state.stop_reason == "stop_button"
    assert "stopped by the Stop button" in board.status.value
    assert board.stop_button.disabled and board.stop_button.description == "Stop"


def test_a_second_phase_continues_the_curves():
    x, y, _, _ = image_data()
    model = image_model()
    board = TrainingDashboard()
    asyncio.run(board.fit(model, x, y, loss=LOSS, epochs=2, phase="one"))
    history = asyncio.run(board.fit(model, x, y, loss=LOSS, epochs=1, phase="two", reset=False))
    assert len(history.epoch) == 1
    assert board.state.epochs_done == 3
    assert [phase.start for phase in board.state.phases] == [0, 2]
    assert board.state.has("learning_rate")
    assert board.stop_button.description == "Stop"


class StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            self.model.stop_training = True


def test_a_callback_can_stop_training():
    x, y, _, _ = image_data()
    board = TrainingDashboard()
    history = asyncio.run(
        board.fit(image_model(), x, y, loss=LOSS, epochs=10, callbacks=[StopAfter(3)])
    )
    assert len(history.epoch) == 3
    assert board.state.stop_reason == "callback"
    assert "stopped by a callback" in board.status.value


def test_early_stopping_and_divergence_are_reported_as_such():
    x, y, xv, yv = image_data()
    board = TrainingDashboard()
    stopper = keras.callbacks.EarlyStopping(patience=0, min_delta=10.0, restore_best_weights=True)
    history = asyncio.run(board.fit(image_model(), x, y, loss=LOSS, epochs=10,
                                    validation_data=(xv, yv), callbacks=stopper))  # fmt: skip
    assert len(history.epoch) == 2  # nothing improves by 10: stopped at the second epoch
    assert board.state.stop_reason == "early_stopping"
    assert "stopped early" in board.status.value

    class PoisonInEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                kernel = self.model.trainable_variables[0]
                kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))

    model = image_model()
    with pytest.warns(RuntimeWarning, match="diverged in epoch 2") as caught:
        history = asyncio.run(board.fit(model, x, y, loss=LOSS, epochs=10, optimizer=optim.SGD(0.1),
                                        callbacks=[PoisonInEpoch2()]))  # fmt: skip
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())  # epoch 1's, restored
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert len(history.epoch) < 10
    assert board.state.stop_reason == "diverged"
    assert "NaN or infinite" in board.status.value


def test_stop_reason_reads_the_callbacks():
    history = keras.callbacks.History()
    history.epoch = [0, 1, 2]
    assert stop_reason(history, 3, [], stop_pressed=False) is None
    assert stop_reason(history, 3, [], stop_pressed=True) == "stop_button"
    assert stop_reason(history, 5, [], stop_pressed=False) == "callback"
    early = keras.callbacks.EarlyStopping()
    assert stop_reason(history, 5, [early], stop_pressed=False) == "callback"
    early.stopped_epoch = 2
    assert stop_reason(history, 5, [early], stop_pressed=False) == "early_stopping"
    guard = StopOnDivergence()
    assert stop_reason(history, 3, [guard], stop_pressed=False) is None
    guard.diverged_at = 2
    assert stop_reason(history, 5, [early, guard], stop_pressed=False) == "diverged"


def test_interrupting_the_fit_reaches_the_caller_and_frees_the_dashboard():
    x, y, _, _ = image_data()
    board = TrainingDashboard()

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = image_model()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(board.fit(model, x, y, loss=LOSS, epochs=5, callbacks=[Interrupt()]))
    assert not board.running and board.stop_button.disabled
    assert model.history.epoch == [0]
    assert board.state.epochs_done == 1


def test_fit_errors_reach_the_caller():
    x, y, _, _ = image_data()
    board = TrainingDashboard()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        asyncio.run(board.fit(image_model(), x, y, loss=LOSS, epochs=0))
    with pytest.raises(TypeError, match="probe must be an"):
        asyncio.run(board.fit(image_model(), x, y, loss=LOSS, probe=x))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        asyncio.run(board.fit("model", x, y, loss=LOSS))
    assert not board.running


def test_dashboard_rejects_bad_settings():
    with pytest.raises(ValueError, match="probe_size must be a positive int"):
        TrainingDashboard(probe_size=-1)
    with pytest.raises(TypeError, match="dpi must be a positive int"):
        TrainingDashboard(dpi=7.5)
