"""Keras callbacks through ``train.fit``, the divergence guard, and Ctrl-C.

``train.fit`` runs ``Model.fit`` on a trainer that wraps the model, so Keras' own callbacks
(early stopping, plateaus, schedules, checkpoints, backup and restore) must work on the
model that was passed in. The guard (``mapping_lib.callbacks.StopOnDivergence``) is added
to every fit.
"""

import math
import os
import warnings

import keras
import numpy as np
import pytest
from training_helpers import blobs, mlp, twin

from mapping_lib import losses, optim, train
from mapping_lib.callbacks import LearningRateLog, StopOnDivergence

SPARSE_CE = losses.SparseCategoricalCrossentropy(from_logits=True)


def line_fit():
    """y = w x with w starting at 0: training pulls w towards 2, validation wants w = 1.

    So val_loss falls, bottoms out in a middle epoch, then rises again: a known best epoch.
    """
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    return model, x, 2 * x, x


class WeightsPerEpoch(keras.callbacks.Callback):
    """Keeps a copy of the weights after every epoch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.get_weights())


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


def assert_different_weights(actual, expected):
    assert any(not np.array_equal(a, e) for a, e in zip(actual, expected))


# ----------------------------------------------------------------------------- Keras callbacks


@pytest.mark.parametrize("patience", [0, 2])
def test_early_stopping_restores_the_best_epoch(patience):
    model, x, y, y_val = line_fit()
    seen = WeightsPerEpoch()
    stopper = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    history = train.fit(
        model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=30, batch_size=64,
        validation_data=(x, y_val), callbacks=[seen, stopper], progress=False,
    )  # fmt: skip
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert 0 < best < len(val_loss) - 1
    # Stopped after `patience` epochs without improvement (at least one: patience 0 stops at
    # the first epoch that does not improve), long before the 30 planned.
    assert len(val_loss) == best + 1 + max(patience, 1)
    assert stopper.stopped_epoch == len(val_loss) - 1
    assert_same_weights(model.get_weights(), seen.seen[best])
    assert_different_weights(model.get_weights(), seen.seen[-1])


@pytest.mark.parametrize("make_sgd", [optim.SGD, keras.optimizers.SGD])
def test_reduce_lr_on_plateau_lowers_the_rate_in_the_history(make_sgd):
    model, x, y, y_val = line_fit()
    optimizer = make_sgd(learning_rate=0.3)
    plateau = keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, min_lr=0.1)
    history = train.fit(
        model, x, y, loss="mse", optimizer=optimizer, epochs=7, batch_size=64,
        validation_data=(x, y_val), callbacks=[plateau], progress=False,
    )  # fmt: skip
    best = int(np.argmin(history.history["val_loss"]))
    rates = history.history["learning_rate"]
    assert best < len(rates) - 3
    # The epoch after the best one is the first without improvement; with patience 1 the rate
    # is halved after it, then again after the next, then held at min_lr.
    expected = [0.3] * (best + 2) + [0.15, 0.1]
    expected += [0.1] * (len(rates) - len(expected))
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert float(np.asarray(optimizer.learning_rate)) == pytest.approx(0.1)


def test_learning_rate_scheduler_and_schedules_are_logged_per_epoch():
    x, y = blobs(n=64)
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 0.1 * 0.5**epoch)
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, optimizer=optim.SGD(1.0), epochs=3,
                        callbacks=[scheduler], progress=False)  # fmt: skip
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    # A schedule inside the optimizer: 2 steps per epoch, the rate halves every 2 steps.
    decay = keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5, staircase=True)
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, optimizer=optim.SGD(decay), epochs=3,
                        batch_size=32, progress=False)  # fmt: skip
    np.testing.assert_allclose(history.history["learning_rate"], [0.2, 0.1, 0.05], rtol=1e-6)


def test_terminate_on_nan_stops_training(capsys):
    model, x, y, _ = line_fit()
    with pytest.warns(RuntimeWarning, match="diverged"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(1e12), epochs=5,
                            batch_size=8, callbacks=[keras.callbacks.TerminateOnNaN()],
                            progress=False)  # fmt: skip
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.epoch) == 1
    strict = keras.callbacks.TerminateOnNaN(raise_error=True)
    model, x, y, _ = line_fit()
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered"):
        train.fit(model, x, y, loss="mse", optimizer=optim.SGD(1e12), epochs=5, batch_size=8,
                  callbacks=[strict], progress=False)  # fmt: skip


class CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("the machine went away")


def test_backup_and_restore_resumes_an_interrupted_fit_exactly(tmp_path):
    x, y = blobs()
    start = mlp()
    # Adam: its moment estimates must be restored too for the weights to agree.
    settings = dict(loss=SPARSE_CE, epochs=5, batch_size=16, shuffle=False, progress=False)
    uninterrupted = twin(start)
    expected = train.fit(uninterrupted, x, y, optimizer=optim.Adam(0.01), **settings)

    backup_dir = str(tmp_path / "backup")
    first = twin(start)
    with pytest.raises(RuntimeError, match="the machine went away"):
        train.fit(first, x, y, optimizer=optim.Adam(0.01), **settings,
                  callbacks=[keras.callbacks.BackupAndRestore(backup_dir), CrashAtEpoch(2)])
    assert first.history.epoch == [0, 1]
    assert os.listdir(backup_dir)

    resumed = twin(start)  # as after a restart: a new model with the initial weights
    history = train.fit(resumed, x, y, optimizer=optim.Adam(0.01), **settings,
                        callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])
    assert history.epoch == [2, 3, 4]
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"][2:], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not os.path.exists(os.path.join(backup_dir, "latest.weights.h5"))  # done: cleaned up


def test_model_checkpoint_files_load_back_into_the_model(tmp_path):
    x, y = blobs()
    x_val, y_val = blobs(n=40, seed=1)
    model = mlp()
    weights_file = str(tmp_path / "best.weights.h5")
    model_file = str(tmp_path / "last.keras")
    seen = WeightsPerEpoch()
    history = train.fit(
        model, x, y, loss=SPARSE_CE, optimizer=optim.Adam(0.05), epochs=4,
        validation_data=(x_val, y_val), progress=False, callbacks=[
            seen,
            keras.callbacks.ModelCheckpoint(weights_file, save_weights_only=True,
                                            save_best_only=True),
            keras.callbacks.ModelCheckpoint(model_file),
        ],
    )  # fmt: skip
    best = int(np.argmin(history.history["val_loss"]))
    fresh = mlp(seed=5)
    fresh.load_weights(weights_file)
    assert_same_weights(fresh.get_weights(), seen.seen[best])
    model.load_weights(weights_file)  # also into the trained model itself
    assert_same_weights(model.get_weights(), seen.seen[best])
    loaded = keras.models.load_model(model_file)
    assert type(loaded) is keras.Sequential
    assert_same_weights(loaded.get_weights(), seen.seen[-1])


def test_model_save_weights_after_fit_holds_only_the_model(tmp_path):
    """Whatever fit keeps on the model must not leak into (or loop in) its weights files."""
    h5py = pytest.importorskip("h5py")
    x, y = blobs(n=40)
    model = mlp()
    train.fit(model, x, y, loss=SPARSE_CE, epochs=1, progress=False)
    path = str(tmp_path / "plain.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as file:
        assert set(file) == {"layers", "vars"}
    model.load_weights(path)


def test_a_callback_can_stop_training_and_lambda_callbacks_see_the_logs():
    x, y = blobs(n=40)

    class StopAfterTwoEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    logged = []
    watcher = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: logged.append(logs))
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=5, progress=False,
                        callbacks=[watcher, StopAfterTwoEpochs()])  # fmt: skip
    assert history.epoch == [0, 1]
    assert [logs["loss"] for logs in logged] == history.history["loss"]
    assert all("learning_rate" in logs and "accuracy" in logs for logs in logged)


# ----------------------------------------------------------------------------- Ctrl-C


class InterruptAt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (what Ctrl-C does) in the given epoch and batch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.weights = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.weights = self.model.get_weights()
            raise KeyboardInterrupt


def test_ctrl_c_reaches_the_caller_and_the_history_keeps_the_completed_epochs():
    x, y = blobs()  # 4 batches of 32 per epoch
    model = mlp()
    interrupt = InterruptAt(epoch=2, batch=1)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, x, y, loss=SPARSE_CE, epochs=5, validation_data=(x, y),
                  callbacks=[interrupt], progress=False)  # fmt: skip
    history = model.history
    assert isinstance(history, keras.callbacks.History)
    assert history.epoch == [0, 1]
    assert len(history.history["loss"]) == 2 and len(history.history["val_loss"]) == 2
    # The weights stay where the interrupted step left them.
    assert_same_weights(model.get_weights(), interrupt.weights)


# ----------------------------------------------------------------------------- divergence


def test_huge_learning_rate_diverges_and_restores_the_initial_weights():
    model, x, y, _ = line_fit()
    start = model.get_weights()
    with pytest.warns(RuntimeWarning, match="diverged in epoch 1.*smaller learning rate"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(1e12), epochs=5,
                            batch_size=8, progress=False)  # fmt: skip
    assert len(history.epoch) == 1  # stopped in the first of the 5 epochs
    assert not math.isfinite(history.history["loss"][0])
    assert_same_weights(model.get_weights(), start)


def test_divergence_later_restores_the_best_finite_epoch():
    model, x, y, _ = line_fit()
    optimizer = optim.SGD(0.05)
    seen = WeightsPerEpoch()

    class RaiseTheRateAfterTwoEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                optimizer.learning_rate = 1e12

    with pytest.warns(RuntimeWarning, match="diverged in epoch 3"):
        history = train.fit(model, x, y, loss="mse", optimizer=optimizer, epochs=20,
                            batch_size=8, callbacks=[seen, RaiseTheRateAfterTwoEpochs()],
                            progress=False)  # fmt: skip
    assert history.epoch == [0, 1, 2]
    losses_seen = history.history["loss"]
    assert all(math.isfinite(value) for value in losses_seen[:2])
    assert np.all(np.isfinite(model.get_weights()[0]))
    assert_same_weights(model.get_weights(), seen.seen[int(np.argmin(losses_seen[:2]))])


class NaNInTheLastUpdate(keras.callbacks.Callback):
    """Sets a weight to NaN after the last batch of the last epoch: no batch loss shows it."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            kernel = self.model.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))


def test_a_nan_in_the_last_update_is_caught_after_it():
    model, x, y, _ = line_fit()
    seen = WeightsPerEpoch()
    with pytest.warns(RuntimeWarning, match="diverged in epoch 3: a weight became NaN"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.05), epochs=3,
                            batch_size=8, callbacks=[seen, NaNInTheLastUpdate(2, 7)],
                            progress=False)  # fmt: skip
    assert all(math.isfinite(value) for value in history.history["loss"])  # losses never saw it
    assert np.all(np.isfinite(model.get_weights()[0]))
    best = int(np.argmin(history.history["loss"][:2]))
    assert_same_weights(model.get_weights(), seen.seen[best])


def test_a_nan_validation_loss_is_caught():
    model, x, y, _ = line_fit()
    start = model.get_weights()
    # Finite inputs, but once w != 0 the model's outputs squared overflow float32.
    x_val = np.full((8, 1), 1e30, dtype="float32")
    with pytest.warns(RuntimeWarning, match="val_loss.*became NaN or infinite"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=5,
                            batch_size=64, validation_data=(x_val, x_val), progress=False)
    assert len(history.epoch) == 1
    assert not math.isfinite(history.history["val_loss"][0])
    assert math.isfinite(history.history["loss"][0])
    assert_same_weights(model.get_weights(), start)


def test_training_that_does_not_diverge_is_left_alone():
    model, x, y, _ = line_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=4,
                            batch_size=16, progress=False)  # fmt: skip
    assert history.epoch == [0, 1, 2, 3]
    assert float(model.get_weights()[0][0, 0]) == pytest.approx(2.0, abs=0.05)


def test_a_guard_given_by_the_caller_replaces_the_default_one():
    model, x, y, _ = line_fit()
    guard = StopOnDivergence("loss")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train.fit(model, x, y, loss="mse", optimizer=optim.SGD(1e12), epochs=3, batch_size=8,
                  callbacks=[guard], progress=False)  # fmt: skip
    assert guard.diverged_at == 0
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1


def test_the_callbacks_reject_bad_settings():
    with pytest.raises(TypeError, match="monitor must be a metric name"):
        StopOnDivergence("")
    with pytest.raises(TypeError, match="monitor must be a metric name"):
        StopOnDivergence(None)
    assert math.isnan(LearningRateLog()._rate)  # nothing read before training
