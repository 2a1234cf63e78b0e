"""mapping_lib.train: the training loop against Keras' own, and its safety nets.

Tiny models on toy data made here with NumPy, so every test runs in a second or two.
"""

import gc
import warnings
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import layers, losses, metrics, optim, train

SPARSE_CE = "sparse_categorical_crossentropy"


def blobs(n=120, classes=3, seed=0):
    """Three Gaussian blobs in the plane, labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centers = 2.0 * np.stack([np.cos(np.arange(classes)), np.sin(np.arange(classes))], axis=1)
    x = centers[y] + 0.6 * rng.normal(size=(n, 2))
    return x.astype("float32"), y


def mlp(library=keras.layers, outputs=3, seed=0, **dense_kwargs):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((2,)), library.Dense(8, "tanh", **dense_kwargs), library.Dense(outputs)]
    )


def twin(model):
    """A second model with the same architecture and the same current weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def line_fit():
    """y = w x with w starting at 0: training pulls w towards 2, validation wants w = 1.

    So val_loss falls, bottoms out in a middle epoch, then rises again: a known best epoch.
    """
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    return model, x, 2 * x, x


def weights_per_epoch(model, store):
    """An on_epoch_end hook that keeps a copy of the weights after every epoch."""

    def hook(epoch, logs):
        store.append(model.get_weights())

    return hook


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


# ----------------------------------------------------------------------------- learning


def test_fit_reduces_the_loss_and_reports_like_keras():
    x, y = blobs()
    model = mlp()
    history = train.fit(
        model, x, y, loss=SPARSE_CE, optimizer=optim.Adam(0.05), epochs=8,
        validation_split=0.25, progress=False,
    )  # fmt: skip
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert history.epoch == list(range(8))
    assert history.stop_reason is None
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
    assert history.history["lr"] == pytest.approx([0.05] * 8)


def test_fit_matches_keras_model_fit():
    x, y = blobs(n=150)
    x_val, y_val = blobs(n=40, seed=1)
    # An L2 penalty checks that model.losses join the loss, as in Keras.
    ours = mlp(kernel_regularizer=keras.regularizers.L2(1e-3))
    theirs = twin(ours)
    theirs.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    expected = theirs.fit(
        x, y, batch_size=32, epochs=4, shuffle=False, validation_data=(x_val, y_val), verbose=0
    ).history
    history = train.fit(
        ours, x, y, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(0.02), batch_size=32, epochs=4, shuffle=False,
        validation_data=(x_val, y_val), progress=False,
    ).history  # fmt: skip
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5)
    for key in ("accuracy", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], atol=0.02)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("optimizer", [lambda: optim.SGD(0.1, momentum=0.9), optim.Adam])
def test_manual_backward_agrees_with_the_tape(optimizer):
    x, y = blobs()
    tape_model = mlp(layers)
    manual_model = twin(tape_model)
    settings = dict(loss=losses.SparseCategoricalCrossentropy(), epochs=4, batch_size=16,
                    seed=3, progress=False)  # fmt: skip
    tape = train.fit(tape_model, x, y, optimizer=optimizer(), **settings)
    manual = train.fit(manual_model, x, y, optimizer=optimizer(), manual=True, **settings)
    np.testing.assert_allclose(manual.history["loss"], tape.history["loss"], rtol=1e-5)
    assert manual.history["loss"][-1] < manual.history["loss"][0]
    for a, b in zip(manual_model.get_weights(), tape_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_functional_and_subclassed_models_train():
    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="tanh")
            self.out = keras.layers.Dense(3)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    inputs = keras.Input((2,))
    functional = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8)(inputs)))
    x, y = blobs()
    for model in (functional, TwoLayers()):
        history = train.fit(model, x, y, loss=SPARSE_CE, optimizer=optim.Adam(0.05), epochs=3,
                            progress=False)  # fmt: skip
        assert history.history["loss"][-1] < history.history["loss"][0]


def test_same_seed_same_history_other_seed_other_history():
    x, y = blobs()
    start = mlp()

    def run(seed):
        return train.fit(twin(start), x, y, loss=SPARSE_CE, epochs=3, batch_size=16, seed=seed,
                         progress=False).history  # fmt: skip

    first = run(seed=7)
    assert run(seed=7) == first
    assert run(seed=8)["loss"] != first["loss"]


def test_dataset_inputs_batched_or_not_train_like_arrays():
    x, y = blobs(n=100)
    start = mlp()
    arrays = train.fit(twin(start), x, y, loss=SPARSE_CE, epochs=2, batch_size=16,
                       shuffle=False, validation_data=(x, y), progress=False)  # fmt: skip
    examples = tf.data.Dataset.from_tensor_slices((x, y))
    for dataset in (examples, examples.batch(16)):
        history = train.fit(
            twin(start), dataset, loss=SPARSE_CE, epochs=2, batch_size=16, shuffle=False,
            validation_data=examples.batch(50), progress=False,
        )  # fmt: skip
        for key, values in arrays.history.items():
            np.testing.assert_allclose(history.history[key], values, rtol=1e-6)


@pytest.mark.parametrize(
    ("loss", "labels"),
    [
        (losses.SparseCategoricalCrossentropy(), lambda y: y),
        (losses.CategoricalCrossentropy(), lambda y: np.eye(3)[y]),
        (keras.losses.CategoricalCrossentropy(from_logits=True), lambda y: np.eye(3)[y]),
        (losses.BinaryCrossentropy(), lambda y: (y == 1).astype(float)),
        (keras.losses.BinaryCrossentropy(from_logits=False), lambda y: (y == 1).astype(float)),
    ],
)
def test_accuracy_reads_the_loss(loss, labels):
    x, y = blobs()
    targets = labels(y)
    binary = "Binary" in type(loss).__name__
    model = mlp(outputs=1 if binary else 3)
    if not getattr(loss, "from_logits", True):
        model.add(keras.layers.Activation("sigmoid" if binary else "softmax"))
    outputs = train.predict(model, x)
    result = train.evaluate(model, x, targets, loss=loss, batch_size=32)
    expected = metrics.accuracy(targets, outputs, from_logits=loss.from_logits)
    assert result["accuracy"] == pytest.approx(expected)
    assert result["loss"] == pytest.approx(float(loss(targets, outputs)), rel=1e-5)


def test_regression_reports_no_accuracy():
    model, x, y, _ = line_fit()
    history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=2,
                        progress=False)  # fmt: skip
    assert set(history.history) == {"loss", "lr"}
    assert set(train.evaluate(model, x, y, loss="mse")) == {"loss"}


def test_predict_and_compiled_forward_match_the_model():
    x, _ = blobs(n=300)
    model = mlp()
    # Different batch sizes take different matmul paths: equal up to float32 round-off.
    np.testing.assert_allclose(train.predict(model, x, batch_size=128), model(x), atol=1e-6)
    forward = train.compiled_forward(model)
    assert train.compiled_forward(model) is forward
    np.testing.assert_allclose(forward(x[:1]), model(x[:1]), atol=1e-6)
    # The cache must not keep a model alive.
    model_ref = weakref.ref(model)
    del model, forward
    gc.collect()
    assert model_ref() is None


def test_repeated_fit_reuses_its_compiled_steps():
    class CountingCalls(keras.Model):
        """Python code in call() runs once per eager call and once per tf.function trace."""

        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)
            self.calls = 0

        def call(self, inputs):
            self.calls += 1
            return self.dense(inputs)

    x, y = blobs(n=64)
    model = CountingCalls()
    loss, optimizer = losses.SparseCategoricalCrossentropy(), optim.Adam()
    settings = dict(loss=loss, epochs=2, validation_data=(x, y), progress=False)

    def calls_during_fit(**changes):
        before = model.calls
        train.fit(model, x, y, **{"optimizer": optimizer, **settings, **changes})
        return model.calls - before

    assert calls_during_fit() > 2
    # Same loss, optimizer and batch layout: only the two eager probes run call() again.
    assert calls_during_fit() == 2
    assert calls_during_fit(optimizer=optim.Adam()) > 2


@pytest.mark.parametrize("manual", [False, True])
def test_fit_does_not_keep_the_model_alive(manual):
    def train_a_model():
        # In a function of its own: autograph may snapshot the calling frame's locals while
        # converting a model's call, and such a snapshot lives as long as that frame.
        x, y = blobs(n=40)
        model = mlp(layers)
        train.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(), epochs=1,
                  manual=manual, validation_data=(x, y), progress=False)  # fmt: skip
        return weakref.ref(model)

    model_ref = train_a_model()
    gc.collect()
    assert model_ref() is None


def test_progress_bar_shows_epochs(capsys):
    x, y = blobs(n=40)
    train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=2, progress=True)
    assert "epoch 2/2" in capsys.readouterr().err


# ----------------------------------------------------------------------------- callbacks


@pytest.mark.parametrize("patience", [0, 2])
def test_early_stopping_restores_the_best_epoch(patience):
    model, x, y, y_val = line_fit()
    seen = []
    history = train.fit(
        model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=30, batch_size=64,
        validation_data=(x, y_val), early_stopping=train.EarlyStopping(patience=patience),
        on_epoch_end=weights_per_epoch(model, seen), progress=False,
    )  # fmt: skip
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert history.stop_reason == "early_stopping"
    assert 0 < best < len(val_loss) - 1
    # Stopped after `patience` epochs without improvement (at least one: patience 0 stops at
    # the first epoch that does not improve).
    assert len(val_loss) == best + 1 + max(patience, 1)
    assert_same_weights(model.get_weights(), seen[best])


def test_early_stopping_without_validation_monitors_the_training_loss():
    model, x, y, _ = line_fit()
    with pytest.warns(UserWarning, match="no validation data; monitoring the training 'loss'"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=3,
                            early_stopping=train.EarlyStopping(), progress=False)  # fmt: skip
    assert history.stop_reason is None


@pytest.mark.parametrize("make_sgd", [optim.SGD, keras.optimizers.SGD])
def test_reduce_lr_halves_the_rate_after_a_plateau(make_sgd):
    model, x, y, y_val = line_fit()
    optimizer = make_sgd(learning_rate=0.3)
    history = train.fit(
        model, x, y, loss="mse", optimizer=optimizer, epochs=7, batch_size=64,
        validation_data=(x, y_val), progress=False,
        reduce_lr=train.ReduceLROnPlateau(patience=1, factor=0.5, min_lr=0.1),
    )  # fmt: skip
    best = int(np.argmin(history.history["val_loss"]))
    lr = history.history["lr"]
    assert best < len(lr) - 3
    # The epoch after the best one is the first without improvement; with patience 1 the rate
    # is halved after it, then again after the next, then held at min_lr.
    expected = [0.3] * (best + 2) + [0.15, 0.1]
    expected += [0.1] * (len(lr) - len(expected))
    np.testing.assert_allclose(lr, expected, rtol=1e-6)
    assert float(np.asarray(optimizer.learning_rate)) == pytest.approx(0.1)


def test_hook_returning_true_stops_other_values_do_not():
    x, y = blobs(n=40)
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=5, progress=False,
                        on_epoch_end=lambda epoch, logs: epoch == 1)  # fmt: skip
    assert history.stop_reason == "hook" and history.epoch == [0, 1]
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=3, progress=False,
                        on_epoch_end=lambda epoch, logs: "a figure")  # fmt: skip
    assert history.stop_reason is None and history.epoch == [0, 1, 2]


@pytest.mark.parametrize(
    "answer", [np.bool_, np.array, tf.constant], ids=["numpy.bool_", "0-d array", "tf bool"]
)
def test_hook_returning_a_numpy_or_tf_true_stops_too(answer):
    x, y = blobs(n=40)
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=5, progress=False,
                        on_epoch_end=lambda epoch, logs: answer(epoch == 1))  # fmt: skip
    assert history.stop_reason == "hook" and history.epoch == [0, 1]
    history = train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=2, progress=False,
                        on_epoch_end=lambda epoch, logs: np.array([True]))  # fmt: skip
    assert history.stop_reason is None and history.epoch == [0, 1]  # not a single boolean


def test_fit_warns_when_a_probability_loss_gets_values_outside_zero_one():
    x, y = blobs(n=40, classes=2)
    # Logits out (no sigmoid) into a loss that expects probabilities: clipped, no gradient.
    dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(3.0))
    logits = keras.Sequential([keras.Input((2,)), dense])
    loss = losses.BinaryCrossentropy(from_logits=False)
    with pytest.warns(UserWarning, match=r"outside \[0, 1\].*from_logits=True"):
        train.fit(logits, x, y, loss=loss, epochs=1, progress=False)
    with pytest.warns(UserWarning, match=r"outside \[0, 1\]"):
        train.evaluate(logits, x, y, loss=loss)
    probabilities = mlp(outputs=1)
    probabilities.add(keras.layers.Activation("sigmoid"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train.fit(probabilities, x, y, loss=loss, epochs=1, progress=False)
    assert not [w for w in caught if "outside [0, 1]" in str(w.message)]


# ----------------------------------------------------------------------------- safety nets


def test_huge_learning_rate_diverges_and_restores_the_initial_weights():
    model, x, y, _ = line_fit()
    start = model.get_weights()
    with pytest.warns(RuntimeWarning, match="diverged.*epoch 1/5.*initial weights.*learning rate"):
        history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(1e12), epochs=5,
                            batch_size=8, progress=False)  # fmt: skip
    assert history.stop_reason == "diverged"
    assert history.epoch == []
    assert_same_weights(model.get_weights(), start)


def test_divergence_later_restores_the_best_epoch():
    model, x, y, _ = line_fit()
    optimizer = optim.SGD(0.05)
    seen = []

    def raise_the_rate_after_two_epochs(epoch, logs):
        seen.append(model.get_weights())
        if epoch == 1:
            optimizer.learning_rate = 1e12

    with pytest.warns(RuntimeWarning, match="diverged.*epoch 3/20.*end of epoch 2"):
        history = train.fit(model, x, y, loss="mse", optimizer=optimizer, epochs=20,
                            batch_size=8, on_epoch_end=raise_the_rate_after_two_epochs,
                            progress=False)  # fmt: skip
    assert history.stop_reason == "diverged"
    assert history.epoch == [0, 1]
    assert np.all(np.isfinite(model.get_weights()[0]))
    assert_same_weights(model.get_weights(), seen[int(np.argmin(history.history["loss"]))])


def test_interrupt_in_the_hook_keeps_history_and_weights(capsys):
    x, y = blobs(n=40)
    model = mlp()
    seen = []

    def interrupt_at_epoch_2(epoch, logs):
        seen.append(model.get_weights())
        if epoch == 2:
            raise KeyboardInterrupt

    history = train.fit(model, x, y, loss=SPARSE_CE, epochs=5, on_epoch_end=interrupt_at_epoch_2,
                        early_stopping=train.EarlyStopping("loss"), progress=False)  # fmt: skip
    assert history.stop_reason == "interrupted"
    assert history.epoch == [0, 1, 2]
    assert_same_weights(model.get_weights(), seen[-1])
    assert "interrupted in epoch 3/5" in capsys.readouterr().out


def test_interrupt_mid_epoch_keeps_completed_epochs_and_current_weights(monkeypatch):
    x, y = blobs(n=120)  # 4 batches of 32 per epoch
    model = mlp()
    at_interrupt = []
    make_step = train._tape_train_step

    def step_interrupted_at_batch_6(*args):
        step = make_step(*args)
        calls = []

        def interrupting_step(x, y):
            calls.append(1)
            if len(calls) == 6:
                at_interrupt.append(model.get_weights())
                raise KeyboardInterrupt
            return step(x, y)

        return interrupting_step

    monkeypatch.setattr(train, "_tape_train_step", step_interrupted_at_batch_6)
    history = train.fit(model, x, y, loss=SPARSE_CE, epochs=3, progress=False)
    assert history.stop_reason == "interrupted"
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    assert_same_weights(model.get_weights(), at_interrupt[0])


# ----------------------------------------------------------------------------- bad input

X, Y = blobs(n=20)
Y3 = np.eye(3)[Y]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
        ({"batch_size": 1.5}, TypeError, "batch_size must be a positive int"),
        ({"epochs": -1}, ValueError, "epochs must be a positive int"),
        ({"y": None}, ValueError, "y is required when x is an array"),
        ({"y": Y[:-1]}, ValueError, "x and y must have the same number of examples, got 20 and 19"),
        ({"x": np.where(X > 1, np.nan, X)}, ValueError, "x must contain only finite numbers"),
        ({"y": Y + 3}, ValueError, r"y must hold integer class labels in \[0, 3\)"),
        ({"validation_split": 1.0}, ValueError, r"validation_split must be a number in \[0.0, 1"),
        ({"validation_split": 0.01}, ValueError, "leaves no example for validation"),
        ({"validation_split": 0.2, "validation_data": (X, Y)}, ValueError, "not both"),
        ({"validation_data": X}, TypeError, "validation_data must be an \\(x_val, y_val\\) pair"),
        ({"validation_data": (X, Y[:3])}, ValueError, r"validation_data\[0\] and validation_da"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"model": "mlp"}, TypeError, "model must be a keras.Model"),
        ({"loss": "hinge"}, ValueError, "loss must be one of"),
        ({"optimizer": "adamw"}, ValueError, "optimizer must be one of"),
        ({"manual": True}, ValueError, "manual=True needs layers with a hand-written backward"),
        ({"early_stopping": 3}, TypeError, "early_stopping must be None or an instance of Early"),
        ({"reduce_lr": train.ReduceLROnPlateau("val_accuracy"), "validation_data": (X, Y3),
          "loss": "mse", "y": Y3}, ValueError, "reduce_lr.monitor must be one of 'loss', 'val_"),
        ({"on_epoch_end": "print"}, TypeError, "on_epoch_end must be callable"),
    ],
)  # fmt: skip
def test_bad_fit_arguments_are_rejected(kwargs, error, match):
    arguments = {"model": mlp(), "x": X, "y": Y, "loss": SPARSE_CE, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        train.fit(**arguments)


def test_bad_dataset_and_manual_arguments_are_rejected():
    pairs = tf.data.Dataset.from_tensor_slices((X, Y))
    with pytest.raises(ValueError, match="y must be None when x is a tf.data.Dataset"):
        train.fit(mlp(), pairs, Y, loss=SPARSE_CE)
    with pytest.raises(ValueError, match="infinite Dataset"):
        train.fit(mlp(), pairs.repeat(), loss=SPARSE_CE)
    with pytest.raises(ValueError, match="must yield \\(x, y\\) pairs"):
        train.fit(mlp(), tf.data.Dataset.from_tensor_slices(X), loss=SPARSE_CE)
    with pytest.raises(ValueError, match="validation_split needs array inputs"):
        train.fit(mlp(), pairs, loss=SPARSE_CE, validation_split=0.5)
    with pytest.raises(ValueError, match="manual=True needs a loss with a gradient"):
        train.fit(mlp(layers), X, Y, loss=keras.losses.SparseCategoricalCrossentropy(),
                  manual=True)  # fmt: skip
    with pytest.raises(ValueError, match="patience must be a non-negative int"):
        train.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match=r"factor must be a number in \(0.0, 1.0\)"):
        train.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        train.predict(mlp(), X, batch_size=0)
    frozen = mlp()
    frozen.trainable = False
    with pytest.raises(ValueError, match="model has no trainable variables"):
        train.fit(frozen, X, Y, loss=SPARSE_CE)


def test_binary_accuracy_accepts_int_labels():
    """The toy sets return int32 labels; binary accuracy must not need a cast by the caller."""
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    history = train.fit(model, x, y, loss=losses.BinaryCrossentropy(from_logits=True),
                        optimizer=optim.SGD(0.5), epochs=3, batch_size=16, progress=False)
    assert history.history["accuracy"][-1] > 0.8
