"""The Playground: config strings, data, the compute core over its ranges, pictures, the view."""

from __future__ import annotations

import dataclasses
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mapping_lib import layers, losses, optim
from mapping_lib.playground import Playground, PlaygroundConfig, PlaygroundCore, render
from mapping_lib.playground.config import ACTIVATIONS, DATASETS, MAX_NEURONS, REGRESSION_SETS
from mapping_lib.playground.controls import (
    DATASET_CHOICES,
    dropdown_values,
    neuron_buttons,
    setting_fields,
)
from mapping_lib.playground.core import MINI_RESOLUTION, OUTPUT_RESOLUTION
from mapping_lib.playground.datasets import DIGITS_RADIUS, digit_plane, make_data
from mapping_lib.playground.features import FEATURE_NAMES, feature_matrix, plane_grid
from mapping_lib.playground.training import EpochTrainer, shuffled_batches
from mapping_lib.playground.view import FRAME_SECONDS, frame_epochs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FEATURES = ",".join(FEATURE_NAMES)


def numpy_forward(core: PlaygroundCore, points: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for plane points, recomputed in NumPy from the core's weights."""
    functions = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "linear": lambda z: z,
    }
    a = feature_matrix(points, core.features).astype(np.float64)
    outputs = []
    weights = core.weights()
    for i, (kernel, bias) in enumerate(weights):
        z = a @ kernel + bias
        a = functions[core.config.activation](z) if i < len(weights) - 1 else z
        outputs.append(a)
    return outputs


# ----- config strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        PlaygroundConfig(),
        PlaygroundConfig(dataset="digits", digits=(1, 7), seed=12345, train_percent=90),
        PlaygroundConfig(dataset="reg-gauss", hidden=(), features=FEATURE_NAMES, noise=50),
        PlaygroundConfig(hidden=(8,) * 6, learning_rate=1e-5, batch_size=1, discretize=True),
        PlaygroundConfig(learning_rate=10, regularization="l1", regularization_rate=0.003),
        PlaygroundConfig(learning_rate=0.05, regularization="l2", regularization_rate=10.0,
                         batch_size=30, train_percent=10, show_test=True, activation="relu"),
    ],
)  # fmt: skip
def test_config_string_round_trip(config):
    text = config.to_string()
    assert PlaygroundConfig.from_string(text) == config
    assert len(text) < 160 and "\n" not in text and " " not in text


def test_config_string_fills_left_out_keys_with_defaults():
    config = PlaygroundConfig.from_string(" pg1; data=spiral ;net=8,8; ")
    assert config == PlaygroundConfig(dataset="spiral", hidden=(8, 8))
    assert PlaygroundConfig.from_string("pg1;net=").hidden == ()


def test_config_puts_features_in_canonical_order():
    config = PlaygroundConfig(features=("sin(x2)", "x1", "x1"))
    assert config.features == ("x1", "sin(x2)")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("data=xor", "pg1"),
        ("pg2;data=xor", "pg1"),
        ("pg1;colour=red", "colour"),
        ("pg1;data=xor;data=circle", "data"),
        ("pg1;data", "data"),
        ("pg1;data=moons", "dataset"),
        ("pg1;noise=60", "noise"),
        ("pg1;noise=5.5", "noise"),
        ("pg1;train=95", "train_percent"),
        ("pg1;train=5", "train_percent"),
        ("pg1;net=4,9", "hidden"),
        ("pg1;net=0", "hidden"),
        ("pg1;net=1,1,1,1,1,1,1", "hidden"),
        ("pg1;net=4,x", "net"),
        ("pg1;feat=", "features"),
        ("pg1;feat=x1,x3", "features"),
        ("pg1;act=softmax", "activation"),
        ("pg1;reg=l3", "regularization"),
        ("pg1;rate=11", "regularization_rate"),
        ("pg1;rate=-1", "regularization_rate"),
        ("pg1;lr=20", "learning_rate"),
        ("pg1;lr=0", "learning_rate"),
        ("pg1;lr=nan", "learning_rate"),
        ("pg1;lr=fast", "lr"),
        ("pg1;batch=31", "batch_size"),
        ("pg1;batch=0", "batch_size"),
        ("pg1;seed=-1", "seed"),
        ("pg1;seed=99999999999999999999", r"seed must be a non-negative int below 2\*\*32"),
        ("pg1;seed=4294967296", r"seed must be a non-negative int below 2\*\*32"),
        ("pg1;test=yes", "test"),
        ("pg1;digits=3,3", "digits"),
        ("pg1;digits=3,10", "digits"),
        ("pg1;digits=3", "digits"),
    ],
)
def test_invalid_config_string_raises_a_value_error_naming_the_setting(text, names):
    with pytest.raises(ValueError, match=names):
        PlaygroundConfig.from_string(text)


def test_config_type_errors():
    with pytest.raises(TypeError, match="features"):
        PlaygroundConfig(features="x1")
    with pytest.raises(TypeError, match="config string"):
        PlaygroundConfig.from_string(42)
    with pytest.raises(TypeError, match="show_test"):
        PlaygroundConfig(show_test=1)
    with pytest.raises(TypeError, match="config"):
        PlaygroundCore(config=3.0)


def test_config_problem_follows_the_dataset():
    for name in DATASETS:
        expected = "regression" if name in REGRESSION_SETS else "classification"
        assert PlaygroundConfig(dataset=name).problem == expected


# ----- features and data ---------------------------------------------------------------------


def test_features_are_the_playground_formulas():
    points = np.array([[0.5, -2.0], [3.0, 1.5]], np.float32)
    x1, x2 = points[:, 0], points[:, 1]
    expected = np.stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)], axis=1)
    np.testing.assert_allclose(feature_matrix(points, FEATURE_NAMES), expected, rtol=1e-6)
    assert feature_matrix(points, ["x1*x2"]).shape == (2, 1)


def test_plane_grid_has_its_top_row_at_the_largest_x2():
    grid = plane_grid(6.0, 5).reshape(5, 5, 2)
    assert grid[0, 0].tolist() == [-6.0, 6.0]
    assert grid[-1, -1].tolist() == [6.0, -6.0]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("train_percent", [10, 50, 90])
def test_data_split_and_ranges(dataset, train_percent):
    config = PlaygroundConfig(dataset=dataset, train_percent=train_percent, noise=30)
    data = make_data(config)
    total = len(data.x_train) + len(data.x_test)
    assert abs(len(data.x_train) / total - train_percent / 100) < 0.01
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.shape == (len(y), 2) and x.dtype == np.float32 and y.dtype == np.float32
        assert np.abs(x).max() <= 9.5  # noise may push a few points past the plane
        if config.problem == "classification":
            assert set(np.unique(y)) == {0.0, 1.0}
        else:
            assert np.abs(y).max() <= 2.0
    again = make_data(config)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    other = make_data(config.replace(seed=1))
    assert not np.array_equal(other.x_train, data.x_train)


def test_digit_plane_projects_two_classes_onto_two_principal_components():
    from sklearn.datasets import load_digits

    points, labels = digit_plane((0, 1))
    targets = load_digits().target
    assert len(points) == np.sum(np.isin(targets, (0, 1)))
    assert labels.sum() == np.sum(targets == 1)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1).max(), DIGITS_RADIUS, rtol=1e-5)
    # Principal components are uncorrelated and the first carries the most variance.
    centred = points - points.mean(axis=0)
    covariance = centred.T @ centred
    assert abs(covariance[0, 1]) < 1e-3 * covariance[0, 0]
    assert covariance[0, 0] > covariance[1, 1]
    # 0 and 1 are easy: the first component alone separates their class means widely.
    means = [points[labels == c, 0].mean() for c in (0, 1)]
    assert abs(means[0] - means[1]) > 3


# ----- the compute core over its ranges ------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_trains_and_its_heatmaps_have_the_right_shapes(dataset):
    core = PlaygroundCore(PlaygroundConfig(dataset=dataset, hidden=(3, 2), noise=10))
    before = core.train_loss
    core.run(20)
    assert core.epoch == 20 and len(core.history["test_loss"]) == 20
    assert np.all(np.isfinite(core.history["train_loss"]))
    assert core.train_loss < before
    maps = core.heatmaps()
    assert maps.inputs.shape == (2, MINI_RESOLUTION, MINI_RESOLUTION)
    assert [m.shape for m in maps.hidden] == [(3, 40, 40), (2, 40, 40)]
    assert maps.output.shape == (OUTPUT_RESOLUTION, OUTPUT_RESOLUTION)
    if core.config.problem == "classification":
        assert np.abs(maps.output).max() <= 1.0


@pytest.mark.parametrize(
    ("hidden", "features"),
    [((), ("x1",)), ((), FEATURE_NAMES), ((1,), FEATURE_NAMES), ((8,), ("x1",)),
     ((8,) * 6, FEATURE_NAMES), ((1, 8, 1), ("x2", "sin(x1)"))],
)  # fmt: skip
def test_network_shapes_follow_features_and_hidden_layers(hidden, features):
    core = PlaygroundCore(PlaygroundConfig(hidden=hidden, features=features))
    sizes = [len(features), *hidden, 1]
    assert [k.shape for k, _ in core.weights()] == list(zip(sizes, sizes[1:]))
    assert all(np.all(b == 0) for _, b in core.weights())
    core.run(2)
    assert len(core.heatmaps().hidden) == len(hidden)
    assert core.heatmaps().inputs.shape[0] == len(features)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_heatmaps_match_a_numpy_forward_pass(activation):
    config = PlaygroundConfig(activation=activation, hidden=(5, 3), features=FEATURE_NAMES)
    core = PlaygroundCore(config)
    core.run(3)
    maps = core.heatmaps()
    mini = numpy_forward(core, plane_grid(core.extent, MINI_RESOLUTION))
    for layer, heat in zip(mini, maps.hidden):
        np.testing.assert_allclose(heat, layer.T.reshape(heat.shape), atol=2e-4, rtol=1e-4)
    logits = numpy_forward(core, plane_grid(core.extent, OUTPUT_RESOLUTION))[-1][:, 0]
    probability = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(maps.output.ravel(), 2 * probability - 1, atol=2e-4)
    points = np.array([[1.0, -2.0], [0.0, 0.0]], np.float32)
    expected = np.tanh(numpy_forward(core, points)[-1][:, 0] / 2)
    np.testing.assert_allclose(core.predict(points), expected, atol=2e-4)


def test_regression_output_is_the_raw_linear_output():
    core = PlaygroundCore("pg1;data=reg-plane;net=2;act=tanh")
    core.run(3)
    logits = numpy_forward(core, plane_grid(core.extent, OUTPUT_RESOLUTION))[-1][:, 0]
    np.testing.assert_allclose(core.heatmaps().output.ravel(), logits, atol=2e-4)


def test_reported_losses_are_the_data_losses_on_all_points():
    core = PlaygroundCore("pg1;data=circle;net=3;reg=l2;rate=0.3")
    core.run(4)
    for x, y, reported in (
        (core.data.x_train, core.data.y_train, core.train_loss),
        (core.data.x_test, core.data.y_test, core.test_loss),
    ):
        z = numpy_forward(core, x)[-1][:, 0]
        bce = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
        assert reported == pytest.approx(bce, rel=1e-4)
    core = PlaygroundCore("pg1;data=reg-gauss;net=3")
    z = numpy_forward(core, core.data.x_test)[-1][:, 0]
    assert core.test_loss == pytest.approx(np.mean((z - core.data.y_test) ** 2), rel=1e-4)


def kernel_and_bias_size(core: PlaygroundCore) -> tuple[float, float]:
    weights = core.weights()
    return sum(np.abs(k).sum() for k, _ in weights), sum(np.abs(b).sum() for _, b in weights)


@pytest.mark.parametrize("regularization", ["l1", "l2"])
def test_penalties_shrink_the_kernels(regularization):
    base = "pg1;data=gauss;net=4,4;act=tanh;lr=0.03"
    free = PlaygroundCore(base)
    penalised = PlaygroundCore(f"{base};reg={regularization};rate=0.3")
    free.run(30)
    penalised.run(30)
    assert kernel_and_bias_size(penalised)[0] < 0.5 * kernel_and_bias_size(free)[0]
    none_with_rate = PlaygroundCore(f"{base};reg=none;rate=0.3")
    none_with_rate.run(30)
    assert none_with_rate.history == free.history


def test_l1_silences_inputs_that_carry_no_information():
    # The circle's label is a function of x1^2 + x2^2 alone; the other five features are noise.
    core = PlaygroundCore(f"pg1;data=circle;feat={ALL_FEATURES};net=;reg=l1;rate=0.03;lr=0.03")
    core.run(200)
    weights = dict(zip(FEATURE_NAMES, np.abs(core.weights()[0][0][:, 0])))
    assert weights["x1^2"] > 0.3 and weights["x2^2"] > 0.3, weights
    for name in ("x1", "x2", "x1*x2", "sin(x1)", "sin(x2)"):
        assert weights[name] < 0.01, (name, weights)
    assert core.test_loss < 0.1


def test_penalty_leaves_the_biases_alone():
    # A tiny learning rate makes one epoch almost linear: the L1 term moves every kernel
    # entry by lr * rate per update (25 updates), while the biases only feel the (tiny)
    # knock-on effect. Penalised biases would also move by lr * rate per update.
    free = PlaygroundCore("pg1;data=gauss;net=3;lr=0.00001")
    penalised = PlaygroundCore("pg1;data=gauss;net=3;lr=0.00001;reg=l1;rate=10")
    free.run(1)
    penalised.run(1)
    per_epoch = 25 * 1e-5 * 10
    for (k0, b0), (k1, b1) in zip(free.weights(), penalised.weights()):
        assert np.abs(k1 - k0).max() == pytest.approx(per_epoch, rel=0.05)
        assert np.abs(b1 - b0).max() < 0.01 * per_epoch


def test_learning_rate_extremes():
    # At the smallest rates a step is so short that the loss falls in proportion to it.
    decrease = {}
    for lr in (1e-5, 1e-4):
        slow = PlaygroundCore(f"pg1;data=gauss;lr={lr}")
        before = slow.train_loss
        slow.run(5)
        decrease[lr] = before - slow.train_loss
    assert 0 < decrease[1e-5] < 2e-3
    assert decrease[1e-4] / decrease[1e-5] == pytest.approx(10, rel=0.1)
    wild = PlaygroundCore("pg1;data=reg-plane;net=4;act=linear;lr=10")
    wild.run(3)
    assert wild.diverged
    maps = wild.heatmaps()  # NaNs must not break the pictures
    render.network_image(maps, wild.weights(), wild.features)
    render.output_image(maps.output, wild.data, wild.extent, classification=False)
    render.loss_curve_image(wild.history["train_loss"], wild.history["test_loss"])


def test_smaller_batches_mean_more_updates_per_epoch():
    losses = {}
    for batch in (1, 30):
        core = PlaygroundCore(f"pg1;data=gauss;batch={batch};lr=0.03")
        core.run(1)
        losses[batch] = core.train_loss
    assert losses[1] < 0.5 * losses[30]


def test_same_config_string_gives_the_same_losses():
    text = "pg1;data=spiral;noise=20;feat=x1,x2,sin(x1);net=5,3;act=relu;batch=7;seed=3"
    first, second = PlaygroundCore(text), PlaygroundCore(text)
    first.run(15)
    for _ in range(3):
        second.run(5)
    assert first.history == second.history
    np.testing.assert_array_equal(first.heatmaps().output, second.heatmaps().output)
    other = PlaygroundCore(text.replace("seed=3", "seed=4"))
    other.run(15)
    assert other.history != first.history


def test_the_largest_seed_trains_and_new_data_then_starts_again_from_zero():
    core = PlaygroundCore("pg1;data=xor;net=2;seed=4294967295")
    core.run(1)
    assert np.isfinite(core.train_loss)
    core.regenerate()
    assert core.config.seed == 0


def test_export_import_round_trip_keeps_the_seed():
    core = PlaygroundCore("pg1;data=xor;seed=7")
    core.regenerate()
    assert core.config.seed == 8 and "seed=8" in core.export()
    core.run(4)
    copy = PlaygroundCore(core.export())
    copy.run(4)
    assert copy.history == core.history
    copy.load("pg1;data=circle;net=2")
    assert copy.config == PlaygroundConfig(dataset="circle", hidden=(2,)) and copy.epoch == 0
    with pytest.raises(ValueError, match="config string"):
        copy.load("pg1;net=9")
    assert copy.config.hidden == (2,)


def test_reset_restores_the_seeded_start():
    core = PlaygroundCore("pg1;data=circle;net=3")
    start = core.weights()
    core.run(5)
    history = dict(core.history)
    core.reset()
    assert core.epoch == 0
    for (k0, b0), (k1, b1) in zip(start, core.weights()):
        np.testing.assert_array_equal(k0, k1)
        np.testing.assert_array_equal(b0, b1)
    core.run(5)
    assert core.history == history


def test_configure_rebuilds_only_what_the_change_needs():
    core = PlaygroundCore("pg1;data=circle;net=3")
    core.run(3)
    core.configure(learning_rate=0.1, batch_size=20, show_test=True)
    assert core.epoch == 3
    core.configure(regularization="l2", regularization_rate=0.01)
    assert core.epoch == 3
    core.run(1)
    assert core.epoch == 4
    core.configure(activation="relu")
    assert core.epoch == 0
    core.run(2)
    core.configure(noise=20)
    assert core.epoch == 0 and core.config.noise == 20
    with pytest.raises(ValueError, match="noise"):
        core.configure(noise=70)
    assert core.config.noise == 20
    with pytest.raises(TypeError):
        core.configure(colour="red")


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True])
def test_run_rejects_bad_epoch_counts(epochs):
    with pytest.raises(ValueError, match="epochs"):
        PlaygroundCore().run(epochs)


# ----- the compiled training loop against step-by-step training ------------------------------


def step_by_step(text: str, plan: list[tuple[dict, int]]) -> tuple[np.ndarray, list]:
    """The reference: one eager GradientTape step per mini-batch, then the two SGD optimizers.

    Starts from the core's seeded data and initial weights; ``plan`` lists (config changes,
    epochs) like calls of ``configure`` and ``run``. Returns the (epochs, 2) train/test
    losses and the final (kernel, bias) pairs.
    """
    core = PlaygroundCore(text)
    config = core.config
    x_train, x_test = (
        feature_matrix(x, core.features) for x in (core.data.x_train, core.data.x_test)
    )
    y_train, y_test = core.data.y_train[:, None], core.data.y_test[:, None]
    units = [*config.hidden, 1]
    dense = [
        layers.Dense(n, activation=config.activation if i < len(config.hidden) else None)
        for i, n in enumerate(units)
    ]
    model = keras.Sequential([keras.Input((len(config.features),)), *dense])
    for layer, (kernel, bias) in zip(dense, core.weights()):
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
    kernels, biases = [lay.kernel for lay in dense], [lay.bias for lay in dense]
    classification = config.problem == "classification"

    def loss(y: np.ndarray, z: tf.Tensor) -> tf.Tensor:
        # TensorFlow's own log-loss, not mapping_lib's: a tape through max(z, 0) + log1p(e^-|z|)
        # gets the slope at z = 0 exactly wrong (1 - y, not 1/2 - y), and a network of dead
        # ReLUs with zero biases outputs exactly 0. The compiled training uses the hand-derived
        # gradient, which is right there too.
        if classification:
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, z))
        return tf.reduce_mean(tf.square(z - y))

    rng = np.random.default_rng(config.seed)
    recorded = []
    for changes, epochs in plan:
        config = config.replace(**changes)
        rate = config.regularization_rate
        kernel_sgd = optim.SGD(
            config.learning_rate,
            l1=rate if config.regularization == "l1" else 0.0,
            l2=rate if config.regularization == "l2" else 0.0,
        )
        bias_sgd = optim.SGD(config.learning_rate)
        n, size = len(x_train), config.batch_size
        per_epoch = -(-n // size)
        for _ in range(epochs):
            order = rng.permutation(n)
            top_up = rng.choice(n, per_epoch * size - n, replace=False)
            for rows in np.concatenate([order, top_up]).reshape(per_epoch, size):
                with tf.GradientTape() as tape:
                    batch_loss = loss(y_train[rows], model(x_train[rows]))
                kernel_grads, bias_grads = tape.gradient(batch_loss, [kernels, biases])
                kernel_sgd.apply_gradients(zip(kernel_grads, kernels))
                bias_sgd.apply_gradients(zip(bias_grads, biases))
            recorded.append(
                [float(loss(y, model(x))) for x, y in ((x_train, y_train), (x_test, y_test))]
            )
    return np.array(recorded), [(k.numpy(), b.numpy()) for k, b in zip(kernels, biases)]


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("pg1;data=circle;net=4,2;act=tanh;batch=1;train=10", [({}, 3)]),
        ("pg1;data=spiral;feat=x1,x2,sin(x1);net=5,3;act=relu;batch=7;train=30;reg=l1;rate=0.01;seed=3",
         [({}, 2), ({"learning_rate": 0.1, "batch_size": 4}, 1),
          ({"regularization": "l2", "regularization_rate": 0.03}, 2)]),
        ("pg1;data=reg-gauss;net=3;act=sigmoid;batch=30;train=20;reg=l2;rate=0.003;lr=0.1",
         [({}, 4)]),
        ("pg1;data=xor;feat=x1,x2,x1*x2;net=;act=linear;batch=10;train=10", [({}, 2), ({}, 3)]),
    ],
)  # fmt: skip
def test_compiled_training_matches_step_by_step_training(text, plan):
    expected_losses, expected_weights = step_by_step(text, plan)
    core = PlaygroundCore(text)
    for changes, epochs in plan:
        core.configure(**changes)
        core.run(epochs)
    losses_ = np.column_stack([core.history["train_loss"], core.history["test_loss"]])
    np.testing.assert_allclose(losses_, expected_losses, rtol=1e-4, atol=1e-6)
    for (kernel, bias), (expected_kernel, expected_bias) in zip(core.weights(), expected_weights):
        np.testing.assert_allclose(kernel, expected_kernel, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bias, expected_bias, rtol=1e-4, atol=1e-5)


def small_trainer() -> tuple[EpochTrainer, tuple[tf.Tensor, ...], list[layers.Dense], optim.SGD]:
    """A 2-3-1 tanh network on 30 + 10 random points of an xor pattern."""
    dense = [layers.Dense(3, activation="tanh"), layers.Dense(1)]
    keras.Sequential([keras.Input((2,)), *dense])  # builds the layers' weights
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float32)
    tensors = tuple(tf.constant(v) for v in (x[:30], y[:30], x[30:], y[30:]))
    kernel_sgd = optim.SGD(0.1)
    loss = losses.BinaryCrossentropy(from_logits=True)
    return EpochTrainer(dense, loss, kernel_sgd, optim.SGD(0.1)), tensors, dense, kernel_sgd


def test_epoch_trainer_traces_once_for_any_epochs_batch_size_and_learning_rate():
    trainer, tensors, dense, kernel_sgd = small_trainer()
    rng = np.random.default_rng(1)
    first = trainer(*tensors, shuffled_batches(rng, 30, 5, 1))
    start = dense[0].kernel.numpy()
    for epochs, batch_size in ((3, 5), (7, 2), (2, 30)):
        recorded = trainer(*tensors, shuffled_batches(rng, 30, batch_size, epochs))
        assert recorded.shape == (epochs, 2) and recorded.dtype == np.float64
    kernel_sgd.learning_rate = 0.5
    trainer(*tensors, shuffled_batches(rng, 30, 5, 2))
    assert trainer.tracing_count == 1
    assert first.shape == (1, 2) and not np.array_equal(dense[0].kernel.numpy(), start)


@pytest.mark.parametrize(
    ("batches", "message"),
    [(np.zeros((2, 3), np.int32), "batches"), (np.zeros((1, 2, 3)), "batches"),
     (np.zeros((0, 2, 3), np.int32), "batches"), (np.full((1, 2, 3), 30), "training points"),
     (np.full((1, 2, 3), -1), "training points")],
)  # fmt: skip
def test_epoch_trainer_rejects_bad_batches(batches, message):
    trainer, tensors, _, _ = small_trainer()
    with pytest.raises(ValueError, match=message):
        trainer(*tensors, batches)


def test_shuffled_batches_are_a_permutation_topped_up_per_epoch():
    batches = shuffled_batches(np.random.default_rng(5), 23, 5, 4)
    assert batches.shape == (4, 5, 5) and batches.dtype == np.int32
    for epoch in batches.reshape(4, -1):
        assert sorted(epoch[:23]) == list(range(23))
        assert len(set(epoch[23:])) == 2  # the top-up draws without replacement
    assert not np.array_equal(batches[0], batches[1])
    again = shuffled_batches(np.random.default_rng(5), 23, 5, 4)
    np.testing.assert_array_equal(batches, again)
    assert shuffled_batches(np.random.default_rng(5), 20, 5, 1).shape == (1, 4, 5)


@pytest.mark.parametrize(
    ("n", "batch_size", "epochs", "name"),
    [(10, 0, 1, "batch_size"), (10, 11, 1, "batch_size"), (10, 2, 0, "epochs"),
     (10, 2, 1.0, "epochs"), (10, 2, True, "epochs")],
)  # fmt: skip
def test_shuffled_batches_rejects_bad_sizes(n, batch_size, epochs, name):
    with pytest.raises(ValueError, match=name):
        shuffled_batches(np.random.default_rng(0), n, batch_size, epochs)


def test_frame_epochs_aim_at_the_frame_budget():
    assert frame_epochs(10, 0.16, target=0.08) == 5  # too slow: shrink in proportion
    assert frame_epochs(10, 0.04, target=0.08) == 20
    assert frame_epochs(10, 0.001, target=0.08) == 20  # grow at most twofold per frame
    assert frame_epochs(1, 3.0, target=0.08) == 1  # never below one epoch
    assert frame_epochs(4, 0.0) == 8
    assert frame_epochs(50, FRAME_SECONDS) == 50


# ----- backprop mode -------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dataset", ["spiral", "reg-gauss"])
def test_backprop_trace_matches_gradient_tape(activation, dataset):
    core = PlaygroundCore(
        PlaygroundConfig(dataset=dataset, activation=activation, hidden=(4, 3),
                         features=("x1", "x2", "x1*x2"), learning_rate=0.003)
    )  # fmt: skip
    core.run(2)
    trace = core.backprop(11)
    x = tf.constant(feature_matrix(core.data.x_train[11:12], core.features), tf.float64)
    y = float(core.data.y_train[11])
    functions = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid, "linear": tf.identity}
    kernels = [tf.constant(k, tf.float64) for k, _ in core.weights()]
    biases = [tf.constant(b, tf.float64) for _, b in core.weights()]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, *kernels])
        a, zs, outputs = x, [], []
        for i, (kernel, bias) in enumerate(zip(kernels, biases)):
            z = a @ kernel + bias
            a = functions[activation](z) if i < len(kernels) - 1 else z
            zs.append(z)
            outputs.append(a)
        if dataset == "spiral":
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(tf.constant([[y]], tf.float64), a)
            )
        else:
            loss = tf.reduce_mean((a - y) ** 2)
    assert trace.loss == pytest.approx(float(loss), rel=1e-4, abs=1e-7)
    assert trace.target == y
    close = {"rtol": 1e-3, "atol": 1e-6}
    for i, (z, out) in enumerate(zip(zs, outputs)):
        np.testing.assert_allclose(trace.activations[i], out.numpy()[0], **close)
        np.testing.assert_allclose(
            trace.grad_pre_activations[i], tape.gradient(loss, z).numpy()[0], **close
        )
        np.testing.assert_allclose(
            trace.grad_activations[i], tape.gradient(loss, out).numpy()[0], **close
        )
        np.testing.assert_allclose(
            trace.grad_kernels[i], tape.gradient(loss, kernels[i]).numpy(), **close
        )
    np.testing.assert_allclose(trace.grad_inputs, tape.gradient(loss, x).numpy()[0], **close)
    np.testing.assert_allclose(trace.point, core.data.x_train[11])


def test_backprop_rejects_bad_examples():
    core = PlaygroundCore()
    with pytest.raises(ValueError, match="index"):
        core.backprop(len(core.data.x_train))
    with pytest.raises(ValueError, match="split"):
        core.backprop(0, split="validation")
    assert core.backprop(0, split="test").point.tolist() == core.data.x_test[0].tolist()


# ----- pictures ------------------------------------------------------------------------------


def test_shade_maps_values_onto_the_orange_grey_blue_scale():
    top = render.SHADES - 1
    indices = render.shade(np.array([-5.0, -1.0, 0.0, 1.0, 7.0, np.nan]))
    assert indices.tolist() == [0, 0, round(top / 2), top, top, round(top / 2)]
    orange, blue = render.PALETTE[0], render.PALETTE[render.SHADES - 1]
    assert orange[0] > orange[2] and blue[2] > blue[0]
    assert render.shade(np.array([-0.01, 0.3]), discretize=True).tolist() == [0, render.SHADES - 1]


def test_pictures_grow_with_the_network_and_encode_as_png():
    small = PlaygroundCore("pg1;net=;feat=x1")
    large = PlaygroundCore(f"pg1;net=8,8,8,8,8,8;feat={ALL_FEATURES}")
    pictures = [render.network_image(c.heatmaps(), c.weights(), c.features) for c in (small, large)]
    assert pictures[0].width < pictures[1].width and pictures[0].height < pictures[1].height
    assert render.to_png(pictures[1]).startswith(PNG_SIGNATURE)
    trace = large.backprop(0)
    with_gradients = render.network_image(large.heatmaps(), large.weights(), large.features, trace)
    assert with_gradients.size == pictures[1].size
    assert np.any(np.asarray(with_gradients) != np.asarray(pictures[1]))


def test_output_picture_shows_test_points_only_when_asked():
    core = PlaygroundCore("pg1;data=xor")
    maps = core.heatmaps()
    hidden = np.asarray(render.output_image(maps.output, core.data, core.extent))
    shown = np.asarray(render.output_image(maps.output, core.data, core.extent, show_test=True))
    assert np.sum(shown == render.BLACK) > np.sum(hidden == render.BLACK) + 100
    sharp = render.output_image(maps.output, core.data, core.extent, discretize=True)
    smooth_heat, sharp_heat = (np.asarray(im)[4:304, 22:322] for im in (hidden, sharp))

    def in_between(heat: np.ndarray) -> float:
        return float(np.mean((heat > 0) & (heat < render.SHADES - 1)))

    assert in_between(sharp_heat) < 0.05 < 0.5 < in_between(smooth_heat)


def test_loss_curve_draws_both_series():
    empty = np.asarray(render.loss_curve_image([], []))
    curve = np.asarray(render.loss_curve_image([1.0, 0.5, 0.2], [1.1, 0.7, np.nan]))
    assert np.sum(curve == render.INK) > np.sum(empty == render.INK)
    assert np.sum(curve == render.FAINT) > 0


# ----- the view ------------------------------------------------------------------------------


def test_controls_offer_every_dataset_and_stop_at_the_neuron_limits():
    fields = setting_fields()
    assert set(fields) <= {field.name for field in dataclasses.fields(PlaygroundConfig)}
    assert sorted(dropdown_values(fields["dataset"])) == sorted(DATASETS)
    assert dropdown_values(fields["dataset"]) == [value for _, value in DATASET_CHOICES]
    clicks = []
    spacer, *pairs = neuron_buttons((1, MAX_NEURONS), lambda *click: clicks.append(click))
    assert not spacer.children and len(pairs) == 2
    (plus_1, minus_1), (plus_2, minus_2) = (pair.children for pair in pairs)
    assert minus_1.disabled and not plus_1.disabled  # one neuron: nothing left to remove
    assert plus_2.disabled and not minus_2.disabled  # MAX_NEURONS: nothing left to add
    plus_1.click()
    minus_2.click()
    assert clicks == [(0, +1), (1, -1)]


def test_view_buttons_train_reset_and_redraw():
    view = Playground("pg1;data=xor;net=4")
    first = bytes(view.output_image.value)
    assert first.startswith(PNG_SIGNATURE)
    assert bytes(view.network_image.value).startswith(PNG_SIGNATURE)
    view.step_button.click()
    assert view.core.epoch == 1 and "000,001" in view.epoch_label.value
    view.run(20)
    assert bytes(view.output_image.value) != first
    assert f"{view.core.test_loss:.4f}" in view.loss_label.value
    view.reset_button.click()
    assert view.core.epoch == 0 and bytes(view.output_image.value) == first
    view.regenerate_button.click()
    assert view.core.config.seed == 1 and "seed=1" in view.config_text.value


def test_view_controls_change_the_config():
    view = Playground("pg1;data=circle;net=2")
    view.fields["dataset"].value = "spiral"
    view.fields["learning_rate"].value = 0.3
    view.fields["batch_size"].value = 25
    view.fields["show_test"].value = True
    view.feature_toggles["sin(x1)"].value = True
    view.add_layer_button.click()
    view.neuron_buttons.children[2].children[0].click()  # + on the second hidden layer
    view.neuron_buttons.children[1].children[1].click()  # - on the first one
    expected = PlaygroundConfig(
        dataset="spiral", learning_rate=0.3, batch_size=25, show_test=True,
        features=("x1", "x2", "sin(x1)"), hidden=(1, 3),
    )  # fmt: skip
    assert view.core.config == expected
    assert view.config_text.value == expected.to_string()
    view.remove_layer_button.click()
    assert view.core.config.hidden == (1,)


def test_view_refuses_bad_changes_with_a_message():
    view = Playground("pg1;feat=x1")
    view.feature_toggles["x1"].value = False
    assert "features" in view.message.value and view.core.config.features == ("x1",)
    assert view.feature_toggles["x1"].value  # the toggle springs back
    view.config_text.value = "pg1;lr=99"
    view.import_button.click()
    assert "learning_rate" in view.message.value and view.core.config.learning_rate == 0.03
    view.config_text.value = "pg1;data=reg-gauss;lr=0.05;seed=4"
    view.import_button.click()
    assert view.message.value == "" and view.core.config.learning_rate == 0.05
    assert 0.05 in view.fields["learning_rate"].options  # a rate off the list is added
    assert view.fields["dataset"].value == "reg-gauss"


def test_view_digits_mode_shows_the_digit_pickers():
    view = Playground()
    assert view.digit_pickers[0].layout.display == "none"
    assert view.play_button.layout.display is None  # hiding the pickers hides nothing else
    view.fields["dataset"].value = "digits"
    assert view.digit_pickers[0].layout.display is None and view.fields["noise"].disabled
    view.digit_pickers[1].value = 9
    assert view.core.config.digits == (3, 9)
    view.digit_pickers[1].value = 3
    assert "digits" in view.message.value and view.core.config.digits == (3, 9)


def test_view_backprop_mode_draws_the_gradients_of_one_example():
    view = Playground("pg1;data=circle;net=3")
    plain = bytes(view.network_image.value)
    view.backprop_mode.value = True
    assert bytes(view.network_image.value) != plain and "loss" in view.trace_label.value
    view.example.value = 5
    point = view.core.data.x_train[5]
    assert f"({point[0]:.2f}, {point[1]:.2f})" in view.trace_label.value
    assert isinstance(view.picture(), Image.Image)


def test_view_play_trains_in_the_background_until_paused():
    view = Playground("pg1;data=circle;net=3", epochs_per_frame=2)
    view.play_button.click()
    assert view.playing and view.pause_button.disabled is False
    deadline = time.monotonic() + 60
    while view.core.epoch < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    view.pause_button.click()
    assert not view.playing and view.play_button.disabled is False
    epochs = view.core.epoch
    assert epochs >= 6
    time.sleep(0.3)
    assert view.core.epoch == epochs  # nothing trains after the pause
    assert f"{view.core.test_loss:.4f}" in view.loss_label.value


@pytest.mark.parametrize("epochs_per_frame", [0, 2.5, True])
def test_view_rejects_bad_epochs_per_frame(epochs_per_frame):
    with pytest.raises(ValueError, match="epochs_per_frame"):
        Playground(epochs_per_frame=epochs_per_frame)


@pytest.mark.parametrize(
    ("frame_interval", "error"),
    [("fast", TypeError), (-0.1, ValueError), (float("nan"), ValueError)],
)
def test_view_rejects_a_bad_frame_interval_before_the_play_thread_sees_it(frame_interval, error):
    with pytest.raises(error, match="frame_interval must be a non-negative number"):
        Playground(frame_interval=frame_interval)


def test_view_play_stops_by_itself_when_training_diverges():
    view = Playground("pg1;data=reg-plane;net=4;act=linear;lr=10")
    view.play()
    view._thread.join(timeout=60)
    assert not view.playing and view.core.diverged
    assert "learning rate" in view.message.value
