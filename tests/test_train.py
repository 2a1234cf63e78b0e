"""mapping_lib.train: the TapeTrainer / ManualTrainer steps that ``Model.fit`` runs.

Tiny models on toy data made here with NumPy, so every test runs in a second or two.
Callbacks, divergence and Ctrl-C are in test_callbacks.py; input pipelines in test_inputs.py.
"""

import gc
import warnings
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import layers, losses, metrics, optim, train, train_steps

SPARSE_CE = losses.SparseCategoricalCrossentropy(from_logits=True)


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
    """y = w x with w starting at 0: training pulls w towards 2."""
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    return model, x, 2 * x


def assert_close_weights(actual, expected, rtol=1e-4, atol=1e-6):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- learning


def test_fit_reduces_the_loss_and_reports_like_keras():
    x, y = blobs()
    model = mlp()
    history = train.fit(
        model, x, y, loss=SPARSE_CE, optimizer=optim.Adam(0.05), epochs=8,
        validation_split=0.25, progress=False,
    )  # fmt: skip
    assert isinstance(history, keras.callbacks.History)
    assert model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert history.epoch == list(range(8))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
    assert history.history["learning_rate"] == pytest.approx([0.05] * 8)


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
    ],
    ids=["keras loss", "mapping_lib loss"],
)
def test_fit_matches_keras_model_fit(make_loss):
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
        ours, x, y, loss=make_loss(), optimizer=keras.optimizers.Adam(0.02), batch_size=32,
        epochs=4, shuffle=False, validation_data=(x_val, y_val), progress=False,
    ).history  # fmt: skip
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, err_msg=key)
    assert_close_weights(ours.get_weights(), theirs.get_weights())


@pytest.mark.parametrize(
    "optimizer",
    [lambda: optim.SGD(0.1, momentum=0.9), lambda: optim.Adam(0.01)],
    ids=["sgd-momentum", "adam"],
)
def test_manual_backward_agrees_with_the_tape(optimizer):
    x, y = blobs()
    tape_model = mlp(layers)
    manual_model = twin(tape_model)
    settings = dict(loss=SPARSE_CE, epochs=4, batch_size=16, seed=3, progress=False)
    tape = train.fit(tape_model, x, y, optimizer=optimizer(), **settings)
    manual = train.fit(manual_model, x, y, optimizer=optimizer(), manual=True, **settings)
    assert isinstance(manual.model, train_steps.ManualTrainer)
    assert type(tape.model) is train_steps.TapeTrainer
    np.testing.assert_allclose(manual.history["loss"], tape.history["loss"], rtol=1e-5)
    assert manual.history["loss"][-1] < 0.7 * manual.history["loss"][0]
    assert_close_weights(manual_model.get_weights(), tape_model.get_weights())


def image_data(n=96, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int32")
    return x, y


def small_cnn(seed=2):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPool2D(2),
            layers.Flatten(),
            layers.Dense(8, activation="tanh"),
            layers.Dense(2),
        ]
    )


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_manual_and_tape_trainers_end_with_the_same_weights(kind):
    """The chapter's claim: the hand-derived backward pass computes the tape's gradients."""
    if kind == "mlp":
        x, y = blobs(n=96)
        start = mlp(layers)
    else:
        x, y = image_data()
        start = small_cnn()
    tape_model, manual_model = twin(start), twin(start)
    settings = dict(loss=SPARSE_CE, epochs=5, batch_size=16, seed=4, progress=False)
    tape = train.fit(tape_model, x, y, optimizer=optim.SGD(0.1, momentum=0.9), **settings)
    manual = train.fit(manual_model, x, y, optimizer=optim.SGD(0.1, momentum=0.9), manual=True,
                       **settings)  # fmt: skip
    moved = max(float(np.abs(a - b).max()) for a, b in zip(tape_model.get_weights(),
                                                               start.get_weights()))  # fmt: skip
    assert moved > 0.05  # the weights did travel, so agreeing is not trivial
    assert_close_weights(manual_model.get_weights(), tape_model.get_weights(), atol=1e-5)
    np.testing.assert_allclose(manual.history["loss"], tape.history["loss"], rtol=1e-4)


def test_manual_trainer_needs_the_loss_gradient_for_its_upstream():
    """ManualTrainer takes dL/dy_pred from loss.gradient, which must agree with the tape's."""
    x, y = blobs(n=32)
    model = mlp(layers)
    with tf.GradientTape() as tape:
        y_pred = model(x)
        value = SPARSE_CE(y, y_pred)
    np.testing.assert_allclose(SPARSE_CE.gradient(y, y_pred), tape.gradient(value, y_pred),
                               rtol=1e-5, atol=1e-7)  # fmt: skip


def test_functional_and_subclassed_models_train():
    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="tanh")
            self.out = keras.layers.Dense(3)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    functional = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8)(inputs)))
    x, y = blobs()
    for model in (functional, TwoLayers()):
        history = train.fit(model, x, y, loss=SPARSE_CE, optimizer=optim.Adam(0.05), epochs=3,
                            progress=False)  # fmt: skip
        assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
        assert history.history["accuracy"][-1] > 0.7


def test_same_seed_same_history_other_seed_other_history():
    x, y = blobs()
    start = mlp()

    def run(seed):
        return train.fit(twin(start), x, y, loss=SPARSE_CE, epochs=3, batch_size=16, seed=seed,
                         progress=False).history  # fmt: skip

    first = run(seed=7)
    assert run(seed=7) == first
    assert run(seed=8)["loss"] != first["loss"]


def test_shuffle_false_keeps_the_order_and_true_changes_it():
    x, y = blobs()
    start = mlp()

    def run(**kwargs):
        return train.fit(twin(start), x, y, loss=SPARSE_CE, epochs=2, batch_size=16,
                         progress=False, **kwargs).history["loss"]  # fmt: skip

    in_order = run(shuffle=False)
    assert run(shuffle=False, seed=5) == in_order  # no shuffling: the seed does not matter
    assert run(shuffle=True, seed=5) != in_order


@pytest.mark.parametrize(
    ("loss", "labels"),
    [
        (losses.SparseCategoricalCrossentropy(from_logits=True), lambda y: y),
        (losses.SparseCategoricalCrossentropy(from_logits=False), lambda y: y),
        (losses.CategoricalCrossentropy(from_logits=True), lambda y: np.eye(3)[y]),
        (keras.losses.CategoricalCrossentropy(from_logits=True), lambda y: np.eye(3)[y]),
        (losses.BinaryCrossentropy(from_logits=True), lambda y: (y == 1).astype(float)),
        (losses.BinaryCrossentropy(from_logits=False), lambda y: (y == 1).astype(float)),
        (keras.losses.BinaryCrossentropy(from_logits=False), lambda y: (y == 1).astype(float)),
    ],
)
def test_accuracy_reads_the_loss(loss, labels):
    x, y = blobs()
    targets = labels(y)
    binary = "Binary" in type(loss).__name__
    model = mlp(outputs=1 if binary else 3)
    if not loss.from_logits:
        model.add(keras.layers.Activation("sigmoid" if binary else "softmax"))
    outputs = train.predict(model, x)
    result = train.evaluate(model, x, targets, loss=loss, batch_size=32)
    expected = metrics.accuracy(targets, outputs, from_logits=loss.from_logits)
    assert 0.05 < expected < 0.95  # a random model: the threshold matters
    assert result["accuracy"] == pytest.approx(expected)
    assert result["loss"] == pytest.approx(float(loss(targets, outputs)), rel=1e-5)


def constant_output(value):
    """A model that outputs ``value`` for every input."""
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(value)),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(("from_logits", "expected"), [(True, 1.0), (False, 0.0)])
def test_binary_accuracy_thresholds_logits_at_zero(from_logits, expected):
    """An output of 0.3 is class 1 as a logit (p = 0.57) but class 0 as a probability."""
    x = np.zeros((16, 2), dtype="float32")
    y = np.ones(16, dtype="int32")
    loss = losses.BinaryCrossentropy(from_logits=from_logits)
    assert train.evaluate(constant_output(0.3), x, y, loss=loss)["accuracy"] == expected
    history = train.fit(constant_output(0.3), x, y, loss=loss, optimizer=optim.SGD(1e-6),
                        epochs=1, progress=False)  # fmt: skip
    assert history.history["accuracy"] == [expected]


def test_regression_reports_no_accuracy():
    model, x, y = line_fit()
    history = train.fit(model, x, y, loss="mse", optimizer=optim.SGD(0.3), epochs=2,
                        progress=False)  # fmt: skip
    assert set(history.history) == {"loss", "learning_rate"}
    assert set(train.evaluate(model, x, y, loss="mse")) == {"loss"}
    assert history.history["loss"][1] < history.history["loss"][0]


def test_evaluate_includes_the_weight_penalty_like_keras():
    x, y = blobs(n=50)
    model = mlp(kernel_regularizer=keras.regularizers.L2(0.1))
    keras_model = twin(model)
    keras_model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    expected = keras_model.evaluate(x, y, verbose=0)
    assert train.evaluate(model, x, y, loss=SPARSE_CE)["loss"] == pytest.approx(expected, rel=1e-5)
    plain = float(SPARSE_CE(y, model(x)))
    assert expected > plain + 0.01


def test_predict_and_compiled_forward_match_the_model():
    x, _ = blobs(n=300)
    model = mlp()
    # Different batch sizes take different matmul paths: equal up to float32 round-off.
    np.testing.assert_allclose(train.predict(model, x, batch_size=128), model(x), atol=1e-6)
    assert train.predict(model, x, batch_size=7).shape == (300, 3)
    forward = train.compiled_forward(model)
    assert train.compiled_forward(model) is forward
    np.testing.assert_allclose(forward(x[:1]), model(x[:1]), atol=1e-6)
    # The cache must not keep a model alive.
    model_ref = weakref.ref(model)
    del model, forward
    gc.collect()
    assert model_ref() is None


def test_predict_runs_in_inference_mode():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.9), keras.layers.Dense(3)])
    x, _ = blobs(n=64)
    np.testing.assert_allclose(train.predict(model, x), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize("manual", [False, True])
def test_fit_does_not_keep_the_model_alive(manual):
    def train_a_model():
        # In a function of its own: autograph may snapshot the calling frame's locals while
        # converting a model's call, and such a snapshot lives as long as that frame.
        x, y = blobs(n=40)
        model = mlp(layers)
        history = train.fit(model, x, y, loss=SPARSE_CE, epochs=1, manual=manual,
                            validation_data=(x, y), progress=False)  # fmt: skip
        assert len(history.epoch) == 1
        return weakref.ref(model)

    model_ref = train_a_model()
    gc.collect()
    assert model_ref() is None


def test_progress_bar_shows_epochs_and_can_be_turned_off(capsys):
    x, y = blobs(n=40)
    train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=2, progress=True)
    assert "Epoch 2/2" in capsys.readouterr().out
    train.fit(mlp(), x, y, loss=SPARSE_CE, epochs=2, progress=False)
    assert "Epoch" not in capsys.readouterr().out


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


def test_binary_accuracy_accepts_int_labels():
    """The toy sets return int32 labels; binary accuracy must not need a cast by the caller."""
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    history = train.fit(model, x, y, loss=losses.BinaryCrossentropy(from_logits=True),
                        optimizer=optim.SGD(0.5), epochs=3, batch_size=16, progress=False)
    assert history.history["accuracy"][-1] > 0.8


# ----------------------------------------------------------------------------- bad input

X, Y = blobs(n=20)
Y3 = np.eye(3)[Y]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
        ({"batch_size": 1.5}, TypeError, "batch_size must be a positive int"),
        ({"epochs": -1}, ValueError, "epochs must be a positive int"),
        ({"epochs": 2.0}, TypeError, "epochs must be a positive int"),
        ({"seed": -1}, ValueError, "seed must be"),
        ({"y": None}, ValueError, "y is required when x is an array"),
        ({"x": None}, ValueError, "x must be an array or a tf.data.Dataset, got None"),
        ({"y": Y[:-1]}, ValueError, "x and y must have the same number of examples, got 20 and 19"),
        ({"x": np.where(X > 1, np.nan, X)}, ValueError, "x must contain only finite numbers"),
        ({"x": X[:0], "y": Y[:0]}, ValueError, "x must hold at least one example"),
        ({"y": Y + 3}, ValueError, r"y must hold integer class labels in \[0, 3\)"),
        ({"y": Y + 0.5}, ValueError, r"y must hold integer class labels in \[0, 3\)"),
        ({"validation_split": 1.0}, ValueError, r"validation_split must be a number in \[0.0, 1"),
        ({"validation_split": 0.01}, ValueError, "leaves no example for validation"),
        ({"validation_split": 0.2, "validation_data": (X, Y)}, ValueError, "not both"),
        ({"validation_data": X}, TypeError, "validation_data must be an \\(x_val, y_val\\) pair"),
        ({"validation_data": (X, Y[:3])}, ValueError, r"validation_data\[0\] and validation_da"),
        ({"validation_data": (X, Y + 3)}, ValueError, r"validation_data\[1\] must hold integer"),
        ({"validation_data": (X[:, :1], Y)}, ValueError, "validation_data does not fit the mod"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"progress": 1}, TypeError, "progress must be True or False"),
        ({"manual": "yes"}, TypeError, "manual must be True or False"),
        ({"model": "mlp"}, TypeError, "model must be a keras.Model"),
        ({"loss": "hinge"}, ValueError, "loss must be one of"),
        ({"loss": 3}, TypeError, "loss must be a loss name or a keras.losses.Loss"),
        ({"optimizer": "adamw"}, ValueError, "optimizer must be one of"),
        ({"manual": True}, ValueError, "manual=True needs layers with a hand-written backward"),
        ({"callbacks": "print"}, TypeError, "callbacks must be a list of keras callbacks"),
        ({"callbacks": [print]}, TypeError, r"callbacks\[0\] must be a keras.callbacks.Callback"),
        ({"loss": losses.BinaryCrossentropy(from_logits=True), "y": Y + 1.0}, ValueError,
         "y must hold 0/1 labels for BinaryCrossentropy"),
        ({"loss": "mse", "y": Y3[:, :2]}, ValueError, "y does not fit the model's outputs"),
    ],
)  # fmt: skip
def test_bad_fit_arguments_are_rejected(kwargs, error, match):
    arguments = {"model": mlp(), "x": X, "y": Y, "loss": SPARSE_CE, "progress": False, **kwargs}
    if kwargs.get("loss") is not None and "Binary" in type(kwargs["loss"]).__name__:
        arguments["model"] = mlp(outputs=1)
    with pytest.raises(error, match=match):
        train.fit(**arguments)


def test_a_single_callback_is_taken_as_a_list():
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    train.fit(mlp(), X, Y, loss=SPARSE_CE, epochs=2, callbacks=callback, progress=False)
    assert seen == [0, 1]


def test_bad_manual_evaluate_and_predict_arguments_are_rejected():
    with pytest.raises(ValueError, match="manual=True needs a loss with a gradient"):
        train.fit(mlp(layers), X, Y, loss=keras.losses.SparseCategoricalCrossentropy(True),
                  manual=True, progress=False)  # fmt: skip
    inputs = keras.Input((2,))
    functional = keras.Model(inputs, layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match="manual=True needs a keras.Sequential"):
        train.fit(functional, X, Y, loss=SPARSE_CE, manual=True, progress=False)
    penalised = mlp(layers, activity_regularizer=keras.regularizers.L2(0.1))
    with pytest.raises(ValueError, match="manual=True cannot train a model with weight penalties"):
        train.fit(penalised, X, Y, loss=SPARSE_CE, manual=True, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        train.predict(mlp(), X, batch_size=0)
    with pytest.raises(ValueError, match="x must contain only finite numbers"):
        train.predict(mlp(), np.full((3, 2), np.inf))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        train.predict(lambda x: x, X)
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        train.compiled_forward("mlp")
    with pytest.raises(ValueError, match="y is required when x is an array"):
        train.evaluate(mlp(), X, loss=SPARSE_CE)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        train.evaluate(mlp(), X, Y, loss=SPARSE_CE, batch_size=-3)
    frozen = mlp()
    frozen.trainable = False
    with pytest.raises(ValueError, match="model has no trainable variables"):
        train.fit(frozen, X, Y, loss=SPARSE_CE, progress=False)
