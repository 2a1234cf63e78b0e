"""Losses: values against keras.losses, hand-derived gradients against GradientTape."""

import inspect
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import losses

KERAS_EQUIVALENT = {
    "mse": lambda from_logits: keras.losses.MeanSquaredError(),
    "binary_crossentropy": lambda from_logits: keras.losses.BinaryCrossentropy(
        from_logits=from_logits
    ),
    "categorical_crossentropy": lambda from_logits: keras.losses.CategoricalCrossentropy(
        from_logits=from_logits
    ),
    "sparse_categorical_crossentropy": lambda from_logits: (
        keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    ),
}


# Our crossentropy classes next to the Keras classes they mirror (defaults, signatures).
CROSSENTROPIES = {
    "binary_crossentropy": (losses.BinaryCrossentropy, keras.losses.BinaryCrossentropy),
    "categorical_crossentropy": (
        losses.CategoricalCrossentropy,
        keras.losses.CategoricalCrossentropy,
    ),
    "sparse_categorical_crossentropy": (
        losses.SparseCategoricalCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
    ),
}
CLASS_PAIRS = {"mse": (losses.MeanSquaredError, keras.losses.MeanSquaredError), **CROSSENTROPIES}


def make_loss(name, from_logits, dtype=None):
    cls = type(losses.get(name))
    if name == "mse":
        return cls(dtype=dtype)
    return cls(from_logits=from_logits, dtype=dtype)


def sample(name, from_logits, shape, rng, dtype="float32"):
    """Random (y_true, y_pred) of ``shape`` that suit loss ``name``."""
    num_classes = shape[-1]
    scores = rng.normal(scale=2.0, size=shape)
    if name == "mse":
        return rng.normal(size=shape).astype(dtype), scores.astype(dtype)
    if name == "binary_crossentropy":
        y_true = rng.uniform(size=shape)  # soft targets exercise the general formula
        y_pred = scores if from_logits else 1 / (1 + np.exp(-scores))
        return y_true.astype(dtype), y_pred.astype(dtype)
    probabilities = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    y_pred = scores if from_logits else probabilities
    labels = rng.integers(0, num_classes, size=shape[:-1])
    if name == "sparse_categorical_crossentropy":
        return labels, y_pred.astype(dtype)
    return np.eye(num_classes)[labels].astype(dtype), y_pred.astype(dtype)


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)


LOSS_CASES = [
    ("mse", False),
    ("binary_crossentropy", True),
    ("binary_crossentropy", False),
    ("categorical_crossentropy", True),
    ("categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False),
]


@pytest.mark.parametrize("name, from_logits", LOSS_CASES)
@pytest.mark.parametrize("shape", [(8, 3), (4, 5, 2)])
def test_value_matches_keras(name, from_logits, shape):
    rng = np.random.default_rng(1)
    y_true, y_pred = sample(name, from_logits, shape, rng)
    ours = make_loss(name, from_logits)(y_true, y_pred)
    theirs = KERAS_EQUIVALENT[name](from_logits)(y_true, y_pred)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", CROSSENTROPIES)
def test_defaults_equal_keras_defaults(name):
    """Built with no arguments, or by name, ours reads probabilities exactly as Keras does."""
    ours_class, keras_class = CROSSENTROPIES[name]
    ours, theirs = ours_class(), keras_class()
    assert ours.get_config()["from_logits"] is False
    assert ours.get_config()["from_logits"] == theirs.get_config()["from_logits"]
    assert ours.name == theirs.name
    y_true, probabilities = sample(name, False, (8, 3), np.random.default_rng(11))
    expected = theirs(y_true, probabilities).numpy()
    np.testing.assert_allclose(ours(y_true, probabilities).numpy(), expected, rtol=1e-6)

    by_name, keras_by_name = losses.get(name), keras.losses.get(name)
    assert by_name.get_config()["from_logits"] is False
    assert inspect.signature(keras_by_name).parameters["from_logits"].default is False
    keras_value = keras.ops.mean(keras_by_name(y_true, probabilities))
    np.testing.assert_allclose(by_name(y_true, probabilities).numpy(), keras_value, rtol=1e-6)


@pytest.mark.parametrize("name", CROSSENTROPIES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_from_logits_means_what_it_means_in_keras(name, from_logits):
    """Passed by keyword or as the first positional argument, as Keras allows."""
    ours_class, keras_class = CROSSENTROPIES[name]
    y_true, y_pred = sample(name, from_logits, (6, 4), np.random.default_rng(12))
    expected = keras_class(from_logits=from_logits)(y_true, y_pred).numpy()
    for ours in (ours_class(from_logits=from_logits), ours_class(from_logits)):
        assert ours.get_config()["from_logits"] is from_logits
        np.testing.assert_allclose(ours(y_true, y_pred).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", CLASS_PAIRS)
def test_constructor_arguments_sit_where_keras_has_them(name):
    """Every argument we accept has Keras' name and default; positional ones Keras' place."""
    ours_class, keras_class = CLASS_PAIRS[name]
    ours = list(inspect.signature(ours_class).parameters.values())
    theirs = inspect.signature(keras_class).parameters
    for index, parameter in enumerate(ours):
        assert parameter.name in theirs
        assert parameter.default == theirs[parameter.name].default
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            assert list(theirs)[index] == parameter.name
        else:
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert [p.name for p in ours if p.kind is inspect.Parameter.KEYWORD_ONLY] == ["name", "dtype"]
    # Keras reads a second positional argument as label_smoothing, reduction or ignore_class.
    with pytest.raises(TypeError):
        ours_class(*([False] if name in CROSSENTROPIES else []), "my_loss")


@pytest.mark.parametrize("name", CROSSENTROPIES)
def test_default_loss_fed_logits_warns(name):
    """Logits into a default (probability) loss: the mirror image of the double softmax."""
    y_true, logits = sample(name, True, (8, 3), np.random.default_rng(13))
    with pytest.warns(UserWarning, match=r"outside \[0, 1\].*use from_logits=True"):
        CROSSENTROPIES[name][0]()(y_true, logits)


@pytest.mark.parametrize("name", ["mse", "binary_crossentropy"])
def test_flat_targets_meet_single_column_predictions_like_keras(name):
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 2, size=10).astype("float32")  # shape (10,)
    y_pred = rng.normal(size=(10, 1)).astype("float32")
    loss = make_loss(name, True)
    np.testing.assert_allclose(
        loss(y_true, y_pred).numpy(),
        KERAS_EQUIVALENT[name](True)(y_true, y_pred).numpy(),
        rtol=1e-6,
    )
    assert loss.gradient(y_true, y_pred).shape == (10, 1)


def test_logits_far_from_zero_stay_finite():
    y_pred = tf.constant([[1000.0, -1000.0, 0.0], [-800.0, 900.0, 5.0]])
    categorical = losses.CategoricalCrossentropy(from_logits=True)
    assert np.isfinite(categorical([[0, 1, 0], [0, 0, 1]], y_pred))
    assert np.isfinite(losses.BinaryCrossentropy(from_logits=True)([[1, 0, 1], [1, 0, 0]], y_pred))
    assert np.all(np.isfinite(categorical.gradient([[0, 1, 0]], y_pred[:1])))


GRADIENT_CASES = [
    (name, from_logits, shape)
    for name, from_logits in LOSS_CASES
    for shape in [(5, 3), (2, 4, 6), (7, 1), (6,)]
    # With a single class, categorical crossentropy is identically zero.
    if not ("categorical" in name and shape[-1] == 1)
]


@pytest.mark.parametrize("name, from_logits, shape", GRADIENT_CASES)
def test_gradient_matches_gradient_tape(name, from_logits, shape):
    rng = np.random.default_rng(sum(shape))
    y_true, y_pred = sample(name, from_logits, shape, rng, dtype="float64")
    if name == "categorical_crossentropy" and from_logits:
        y_true = y_true * rng.uniform(0.5, 2.0, size=shape)  # targets not summing to 1
    loss = make_loss(name, from_logits, dtype="float64")
    y_pred = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        value = loss(y_true, y_pred)
    expected = tape.gradient(value, y_pred)
    ours = loss.gradient(y_true, y_pred)
    assert ours.shape == y_pred.shape and ours.dtype == tf.float64
    assert relative_error(ours, expected) < 1e-6


@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy"])
def test_probability_gradient_is_zero_where_clipped(name):
    y_pred = tf.constant([[0.0, 1.0, 0.3], [1e-12, 0.5, 0.5 - 1e-12]], tf.float64)
    y_true = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], tf.float64)
    loss = make_loss(name, False, dtype="float64")
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        value = loss(y_true, y_pred)
    ours = loss.gradient(y_true, y_pred)
    assert np.isfinite(value)
    assert ours[0, 0] == 0.0 and ours[1, 0] == 0.0  # p below eps: clipped, no gradient
    assert relative_error(ours, tape.gradient(value, y_pred)) < 1e-6


def test_sparse_labels_may_carry_a_trailing_axis():
    rng = np.random.default_rng(3)
    labels, logits = sample("sparse_categorical_crossentropy", True, (6, 4), rng)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(loss(labels[:, None], logits), loss(labels, logits))
    np.testing.assert_allclose(
        loss.gradient(labels[:, None], logits), loss.gradient(labels, logits)
    )


def test_sparse_gradient_is_softmax_minus_one_hot_over_batch():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], "float32")
    labels = np.array([0, 2])
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = (softmax - np.eye(3)[labels]) / 2
    got = losses.SparseCategoricalCrossentropy(from_logits=True).gradient(labels, logits)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_softmax_outputs_passed_as_logits_warn():
    probabilities = tf.nn.softmax(tf.random.stateless_normal((5, 4), seed=(0, 1)))
    labels = [0, 1, 2, 3, 0]
    with pytest.warns(UserWarning, match="look like softmax probabilities"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(labels, probabilities)
    with pytest.warns(UserWarning, match="from_logits=False"):
        losses.CategoricalCrossentropy(from_logits=True).gradient(
            tf.one_hot(labels, 4), probabilities
        )


def test_no_softmax_warning_for_logits_probabilities_mode_or_graph_mode():
    logits = tf.random.stateless_normal((5, 4), seed=(0, 2))
    probabilities = tf.nn.softmax(logits)
    labels = tf.constant([0, 1, 2, 3, 0])
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def compiled(y_pred):
        return from_logits(labels, y_pred)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_logits(labels, logits)
        losses.SparseCategoricalCrossentropy(from_logits=False)(labels, probabilities)
        losses.SparseCategoricalCrossentropy()(labels, probabilities)  # the default
        compiled(probabilities)


PROBABILITY_LOSSES = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]


@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (0.2, 1.5)])
def test_probabilities_outside_zero_one_warn(name, low, high):
    """Values outside [0, 1] would be clipped to a zero gradient: say so, for value and gradient."""
    y_true, y_pred = sample(name, False, (4, 3), np.random.default_rng(6))
    y_pred = y_pred.copy()
    y_pred[1, 2], y_pred[2, 0] = low, high
    loss = make_loss(name, False)
    for compute in (loss, loss.gradient):
        with pytest.warns(UserWarning, match=r"y_pred values from .* outside \[0, 1\]") as caught:
            compute(y_true, y_pred)
        assert "from_logits=True" in str(caught[0].message)
        assert type(loss).__name__ in str(caught[0].message)


@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
def test_probabilities_inside_zero_one_do_not_warn(name):
    y_true, y_pred = sample(name, False, (4, 3), np.random.default_rng(7))
    y_pred = y_pred.copy()
    y_pred[0, 0], y_pred[1, 1] = 0.0, 1.0  # the ends of [0, 1] are probabilities too
    loss = make_loss(name, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(y_true, y_pred)
        loss.gradient(y_true, y_pred)
        make_loss(name, True)(y_true, 5 * y_pred - 2)  # logits may take any value


@pytest.mark.parametrize("name, from_logits", LOSS_CASES)
def test_loss_and_gradient_work_inside_tf_function(name, from_logits):
    rng = np.random.default_rng(4)
    y_true, y_pred = sample(name, from_logits, (6, 3), rng)
    loss = make_loss(name, from_logits)

    @tf.function
    def value_and_gradient(y_true, y_pred):
        return loss(y_true, y_pred), loss.gradient(y_true, y_pred)

    value, gradient = value_and_gradient(tf.constant(y_true), tf.constant(y_pred))
    np.testing.assert_allclose(value, loss(y_true, y_pred), rtol=1e-6)
    np.testing.assert_allclose(gradient, loss.gradient(y_true, y_pred), rtol=1e-6, atol=1e-9)


def test_out_of_range_label_fails_inside_tf_function():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    step = tf.function(lambda labels, logits: loss(labels, logits))
    with pytest.raises(tf.errors.InvalidArgumentError, match="class labels in"):
        step(tf.constant([0, 3]), tf.zeros((2, 3)))


def test_model_compile_fit_and_evaluate_agree_with_the_loss():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = rng.integers(0, 4, size=32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)  # Dense(4): logits
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    evaluated = model.evaluate(x, y, batch_size=32, verbose=0)
    direct = loss(y, model(x))
    np.testing.assert_allclose(evaluated, direct, rtol=1e-5)


@pytest.mark.parametrize(
    "loss",
    [
        losses.MeanSquaredError(),
        losses.BinaryCrossentropy(),
        losses.CategoricalCrossentropy(from_logits=True),
        losses.SparseCategoricalCrossentropy(from_logits=False, dtype="float64"),
    ],
)
def test_serialization_round_trip(loss):
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()


def test_get_by_name_and_pass_through():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    sparse = losses.get("sparse_categorical_crossentropy")
    assert isinstance(sparse, losses.SparseCategoricalCrossentropy) and not sparse.from_logits
    loss = losses.BinaryCrossentropy(from_logits=False)
    assert losses.get(loss) is loss


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: losses.get("cross_entropy"), ValueError, "loss must be one of 'mse'"),
        (lambda: losses.get(3), TypeError, "loss must be a loss name"),
        (lambda: losses.BinaryCrossentropy(from_logits="yes"), TypeError, "from_logits"),
        (
            lambda: losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2))),
            ValueError,
            r"y_true and y_pred must have the same shape, got y_true shape \(4, 3\) "
            r"and y_pred shape \(4, 2\)",
        ),
        (
            lambda: losses.CategoricalCrossentropy().gradient(np.zeros((5, 3)), np.ones((4, 3))),
            ValueError,
            r"y_true shape \(5, 3\)",
        ),
        (lambda: losses.MeanSquaredError()(1.0, 2.0), ValueError, "y_pred must have at least"),
        (
            lambda: losses.SparseCategoricalCrossentropy()([0, 3], np.zeros((2, 3))),
            ValueError,
            r"class labels in \[0, 3\).*from 0 to 3",
        ),
        (
            lambda: losses.SparseCategoricalCrossentropy()([0, -1], np.zeros((2, 3))),
            ValueError,
            r"class labels in \[0, 3\)",
        ),
        (
            lambda: losses.SparseCategoricalCrossentropy().gradient([0.5, 1], np.zeros((2, 3))),
            ValueError,
            "y_true must hold integer class labels, got 0.5",
        ),
        (
            lambda: losses.SparseCategoricalCrossentropy()(np.zeros((2, 3)), np.zeros((2, 3))),
            ValueError,
            r"one class label per row of y_pred, so its shape must be \(2,\)",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()


NOT_NUMBERS = {
    "strings": np.array([["a", "b"], ["c", "d"]]),
    "objects": np.array([[None, 1.0], [2.0, 3.0]], dtype=object),
    "complex": np.ones((2, 2)) * 1j,
    "ragged list": [[1.0, 2.0], [3.0]],
}


@pytest.mark.parametrize("kind", NOT_NUMBERS)
@pytest.mark.parametrize("name", ["mse", "binary_crossentropy", "categorical_crossentropy"])
def test_inputs_that_are_not_numbers_raise_a_type_error_naming_them(name, kind):
    loss, bad, good = make_loss(name, True), NOT_NUMBERS[kind], np.ones((2, 2))
    for compute in (loss, loss.gradient):
        expected = r"y_true must hold real numbers \(bool, int or float\), got"
        with pytest.raises(TypeError, match=expected):
            compute(bad, good)
        with pytest.raises(TypeError, match=r"y_pred must hold real numbers"):
            compute(good, bad)


def test_string_labels_raise_a_type_error_also_inside_tf_function():
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.raises(TypeError, match="y_true must hold real numbers .*got dtype str"):
        loss(["0", "1"], np.zeros((2, 3)))
    step = tf.function(lambda labels, logits: loss(labels, logits))
    with pytest.raises(TypeError, match="y_true must hold real numbers .*got dtype string"):
        step(tf.constant(["0", "1"]), tf.zeros((2, 3)))


def test_integer_and_bool_inputs_are_still_accepted():
    ints, bools = np.array([[0, 1], [1, 0]]), np.array([[False, True], [True, False]])
    expected = losses.MeanSquaredError()(ints.astype("float32"), ints.astype("float32") + 1)
    np.testing.assert_allclose(losses.MeanSquaredError()(bools, ints + 1), expected)
    logits = np.array([[0, 2], [3, 0]])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        loss(tf.constant([0, 1]), logits), loss([0.0, 1.0], logits.astype("float32"))
    )
