"""Layers: hand-derived backward vs GradientTape and central differences, Keras integration."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import activations
from mapping_lib import layers as layers_module
from mapping_lib.gradcheck import check_layer, relative_error
from mapping_lib.layers import (
    BackpropLayer,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    backward_sequence,
    sequence_backward,
    sequence_forward,
)

F64 = {"dtype": "float64"}

# (layer factory, input shape): small shapes keep the element-by-element differences fast.
GRADIENT_CASES = {
    "dense-linear": (lambda: Dense(4, **F64), (3, 5)),
    "dense-sigmoid": (lambda: Dense(4, "sigmoid", **F64), (3, 5)),
    "dense-tanh": (lambda: Dense(3, "tanh", **F64), (3, 5)),
    "dense-relu": (lambda: Dense(4, "relu", **F64), (3, 5)),
    "dense-leaky-rank3": (lambda: Dense(3, activations.leaky_relu(0.1), **F64), (2, 3, 4)),
    "dense-softmax": (lambda: Dense(4, "softmax", **F64), (3, 5)),
    "conv-valid-s1": (lambda: Conv2D(3, 3, **F64), (2, 5, 5, 2)),
    "conv-valid-s2-odd": (lambda: Conv2D(2, 3, strides=2, activation="relu", **F64), (2, 7, 6, 2)),
    "conv-same-s1": (lambda: Conv2D(2, 3, padding="same", activation="tanh", **F64), (2, 5, 4, 2)),
    "conv-same-s2-odd": (lambda: Conv2D(3, (2, 3), strides=2, padding="same", **F64), (1, 5, 7, 2)),
    "conv-same-mixed-strides": (
        lambda: Conv2D(2, 3, strides=(2, 1), padding="same", activation="sigmoid", **F64),
        (2, 5, 5, 1),
    ),
    "pool-valid-2": (lambda: MaxPool2D(**F64), (2, 6, 6, 2)),
    "pool-valid-odd": (lambda: MaxPool2D(2, **F64), (2, 5, 7, 2)),
    "pool-valid-overlapping": (lambda: MaxPool2D(3, strides=1, **F64), (1, 5, 5, 2)),
    "pool-same-odd": (lambda: MaxPool2D(2, padding="same", **F64), (2, 5, 5, 2)),
    "pool-same-overlapping": (lambda: MaxPool2D(3, strides=2, padding="same", **F64), (1, 7, 5, 2)),
    "pool-same-rect": (
        lambda: MaxPool2D((3, 2), strides=(1, 2), padding="same", **F64),
        (1, 5, 5, 1),
    ),
    "flatten": (lambda: Flatten(**F64), (2, 3, 2, 2)),
    "dropout-training": (lambda: Dropout(0.4, seed=3, **F64), (4, 6)),
}


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_backward_matches_tape_and_central_differences(case):
    make_layer, shape = GRADIENT_CASES[case]
    x = np.random.default_rng(1).normal(size=shape)
    report = check_layer(make_layer(), x)
    assert report.ok(1e-6), str(report)


def test_dropout_inference_is_identity_forward_and_backward():
    layer = Dropout(0.5, seed=0)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    upstream = np.ones_like(x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(upstream), upstream)
    assert check_layer(Dropout(0.5, seed=0, **F64), x, training=False).ok()


def test_dropout_backward_reuses_the_forward_mask():
    rate = 0.3
    layer = Dropout(rate, seed=11)
    x = np.random.default_rng(2).uniform(1.0, 2.0, size=(50, 40)).astype("float32")
    upstream = np.random.default_rng(3).normal(size=x.shape).astype("float32")
    output = layer(x, training=True).numpy()
    kept = output != 0
    np.testing.assert_allclose(output[kept], x[kept] / (1 - rate), rtol=1e-6)
    expected = np.where(kept, upstream / (1 - rate), 0.0)
    np.testing.assert_allclose(layer.backward(upstream), expected, rtol=1e-6)
    assert abs((~kept).mean() - rate) < 0.05
    # A second call draws a new mask, and backward follows the newest one.
    second = layer(x, training=True).numpy() != 0
    assert (second != kept).any()
    np.testing.assert_array_equal(layer.backward(upstream).numpy() != 0, second)


def test_dropout_seed_makes_masks_reproducible():
    x = np.ones((8, 8), "float32")
    first = Dropout(0.5, seed=5)(x, training=True)
    again = Dropout(0.5, seed=5)(x, training=True)
    other = Dropout(0.5, seed=6)(x, training=True)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_grads_follow_trainable_variables():
    layer = Dense(3, dtype="float64")
    x = np.ones((2, 4))
    layer(x)
    layer.backward(np.ones((2, 3)))
    assert [g.shape for g in layer.grads] == [v.shape for v in layer.trainable_variables]
    layer.trainable = False
    layer(x)
    layer.backward(np.ones((2, 3)))
    assert layer.grads == [] and layer.trainable_variables == []


def test_weights_match_keras_conventions():
    dense = Dense(3)
    dense.build((None, 4))
    assert [v.name for v in dense.weights] == ["kernel", "bias"]
    np.testing.assert_array_equal(dense.bias, np.zeros(3))
    limit = np.sqrt(6 / (4 + 3))  # Glorot uniform bound
    assert np.all(np.abs(dense.kernel.numpy()) <= limit)
    conv = Conv2D(5, (2, 3))
    conv.build((None, 6, 6, 4))
    assert conv.kernel.shape == (2, 3, 4, 5) and conv.bias.shape == (5,)


def test_mixed_precision_gradients_come_back_in_variable_dtype():
    layer = Dense(3, "relu", dtype="mixed_float16")
    layer(np.ones((2, 4), "float32"))
    grad_input = layer.backward(np.ones((2, 3), "float32"))
    assert grad_input.dtype == tf.float16
    assert [g.dtype for g in layer.grads] == [tf.float32, tf.float32]


def _small_cnn(dtype="float32"):
    return keras.Sequential(
        [
            keras.Input((6, 6, 1), dtype=dtype),
            Conv2D(3, 3, padding="same", activation="relu", dtype=dtype),
            MaxPool2D(2, dtype=dtype),
            Flatten(dtype=dtype),
            Dropout(0.25, seed=4, dtype=dtype),
            Dense(8, activation=activations.leaky_relu(0.2), dtype=dtype),
            Dense(3, "softmax", dtype=dtype),
        ]
    )


@pytest.mark.parametrize("path", ["fast", "im2col"])
def test_sequence_forward_and_backward_in_tf_function_match_tape(path):
    model = _small_cnn("float64")
    model.layers[-2].trainable = False  # a frozen layer has no gradients to return
    for layer in model.layers:
        if isinstance(layer, (Conv2D, MaxPool2D)):
            layer.backward_path = path
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(size=(5, 6, 6, 1)))
    upstream = tf.constant(rng.normal(size=(5, 3)))

    @tf.function
    def both_ways(x, upstream):
        # One forward pass (one Dropout mask) serves the tape and the hand-derived backward.
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, caches = sequence_forward(model.layers, x, training=True)
        by_tape = tape.gradient(output, [x, *model.trainable_variables], upstream)
        grad_input, grads = sequence_backward(model.layers, caches, upstream)
        return output, by_tape, [grad_input, *grads]

    output, by_tape, by_hand = both_ways(x, upstream)
    assert len(by_hand) == len(by_tape) == 1 + 2 * 2
    for tape_grad, hand_grad in zip(by_tape, by_hand):
        assert relative_error(hand_grad, tape_grad) < 1e-10
    # Outside training the chain is the model itself.
    inference, _ = sequence_forward(model.layers, x)
    np.testing.assert_allclose(inference, model(x, training=False), rtol=1e-12)
    assert output.shape == (5, 3)


def test_backward_sequence_after_an_eager_model_call_matches_tape():
    model = _small_cnn("float64")
    rng = np.random.default_rng(8)
    x = tf.constant(rng.normal(size=(4, 6, 6, 1)))
    upstream = tf.constant(rng.normal(size=(4, 3)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        output = model(x, training=True)  # the eager call the layers remember
    by_tape = tape.gradient(output, [x, *model.trainable_variables], upstream)
    grad_input, grads = backward_sequence(model.layers, upstream)
    for tape_grad, hand_grad in zip(by_tape, [grad_input, *grads], strict=True):
        assert relative_error(hand_grad, tape_grad) < 1e-10
    assert [g.shape for g in model.layers[-1].grads] == [(8, 3), (3,)]


@pytest.mark.parametrize(
    "layer",
    [
        Dense(4, activations.leaky_relu(0.3)),
        Conv2D(2, (3, 1), strides=(1, 2), padding="same", activation="tanh"),
        MaxPool2D(3, strides=1, padding="same"),
        Flatten(),
        Dropout(0.2, seed=9),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_get_config_round_trip(layer):
    x = np.random.default_rng(5).normal(size=(2, 4, 4, 3)).astype("float32")
    expected = layer(x)
    clone = type(layer).from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone(x), expected)


def test_keras_file_round_trip(tmp_path):
    model = _small_cnn()
    x = np.random.default_rng(6).normal(size=(4, 6, 6, 1)).astype("float32")
    expected = model(x, training=False)
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert loaded.layers[-2].activation == activations.leaky_relu(0.2)
    np.testing.assert_array_equal(loaded(x, training=False), expected)


# jit_compile=True checks that call() stays XLA-compilable; backward() is not (see MaxPool2D).
@pytest.mark.parametrize("jit_compile", [False, True])
def test_model_fit_trains_the_layers(jit_compile):
    keras.utils.set_random_seed(0)
    model = _small_cnn()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile,
    )
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _backward_along(path):
    layer = MaxPool2D()
    layer.backward_path = path
    layer(np.ones((1, 4, 4, 1), "float32"))
    return layer.backward(np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: Dense(-3), ValueError, r"units must be a positive int, got -3"),
        (lambda: Dense(2.5), TypeError, r"units must be a positive int, got 2.5"),
        (lambda: Dense(3, activation="relux"), ValueError, r"activation must be one of"),
        (lambda: Conv2D(4, (3, 3, 3)), ValueError, r"kernel_size must be .* pair"),
        (lambda: Conv2D(4, 3, strides=0), ValueError, r"strides must be a positive int, got 0"),
        (
            lambda: Conv2D(4, 3, padding="full"),
            ValueError,
            r"padding must be one of 'valid', 'same'",
        ),
        (lambda: Conv2D(0, 3), ValueError, r"filters must be a positive int"),
        (lambda: MaxPool2D((2, 0)), ValueError, r"pool_size must be a positive int, got 0"),
        (lambda: MaxPool2D(padding="VALID"), ValueError, r"padding must be one of"),
        (lambda: Dropout(1.0), ValueError, r"rate must be a number in \[0.0, 1.0\), got 1.0"),
        (lambda: Dropout("0.5"), TypeError, r"rate must be a number"),
        (lambda: Dropout(0.5, seed=-1), ValueError, r"seed must be a non-negative int"),
        (lambda: Dense(3)(np.ones(4)), ValueError, r"Dense inputs must have rank >= 2"),
        (lambda: Conv2D(2, 3)(np.ones((2, 5, 5))), ValueError, r"Conv2D inputs must have rank 4"),
        (
            lambda: Conv2D(2, 5)(np.ones((1, 4, 6, 1))),
            ValueError,
            r"kernel_size \(5, 5\) is larger than the input's height and width \(4, 6\)",
        ),
        (lambda: MaxPool2D()(np.ones((2, 4, 4))), ValueError, r"MaxPool2D inputs must have rank 4"),
        (lambda: MaxPool2D(3)(np.ones((1, 2, 2, 1))), ValueError, r"pool_size \(3, 3\) is larger"),
        (
            lambda: Dense(3, name="fresh").backward(np.ones((1, 3))),
            RuntimeError,
            r"Dense 'fresh'.backward\(\) needs an eager forward call first; "
            r"it has not been called yet",
        ),
        (
            lambda: backward_sequence([Flatten(), keras.layers.Dense(2)], np.ones((1, 2))),
            TypeError,
            r"layers\[1\] must be a mapping_lib layer .*keras.*Dense",
        ),
        (
            lambda: sequence_forward([keras.layers.Flatten()], np.ones((1, 2, 2))),
            TypeError,
            r"layers\[0\] must be a mapping_lib layer .*keras.*Flatten",
        ),
        (
            lambda: sequence_backward([Flatten(), Flatten()], [{}], np.ones((1, 2))),
            ValueError,
            r"caches must hold one cache per layer \(2\), got 1",
        ),
        (lambda: _backward_along("tensorflow"), ValueError, r"backward_path must be one of"),
        (
            lambda: Dense(3).forward(np.ones((2, 4), "int32")),
            TypeError,
            r"Dense inputs must hold floating point numbers, got dtype int32",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


FLOAT_LAYERS = {
    "Dense": (lambda: Dense(3), (2, 4)),
    "Conv2D": (lambda: Conv2D(2, 3), (1, 5, 5, 1)),
    "Dropout": (lambda: Dropout(0.5), (2, 4)),
}
SHAPE_LAYERS = {
    "MaxPool2D": (lambda: MaxPool2D(2), (1, 4, 4, 1)),
    "Flatten": (lambda: Flatten(), (2, 2, 2)),
}


@pytest.mark.parametrize("name", FLOAT_LAYERS)
@pytest.mark.parametrize("dtype", ["int64", "uint8", "bool", "str"])
def test_weighted_layers_refuse_inputs_that_are_not_floats(name, dtype):
    make, shape = FLOAT_LAYERS[name]
    inputs = np.ones(shape).astype(dtype)
    match = rf"{name} inputs must hold floating point numbers, got dtype \w*{dtype[:3]}"
    with pytest.raises(TypeError, match=match + r".*astype\('float32'\)"):
        make()(inputs, training=True)
    with pytest.raises(TypeError, match=match):
        make()(tf.constant(inputs))


@pytest.mark.parametrize("name", SHAPE_LAYERS)
def test_shape_layers_refuse_strings_and_keep_integers(name):
    make, shape = SHAPE_LAYERS[name]
    with pytest.raises(TypeError, match=rf"{name} inputs must hold .*numbers.*, got dtype str"):
        make()(np.full(shape, "a"))
    ints = np.arange(np.prod(shape)).reshape(shape)
    np.testing.assert_array_equal(make()(ints), make()(ints.astype("float32")))


def test_integer_data_still_reaches_the_layers_as_floats_through_keras_input():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 1)), Conv2D(2, 3), Flatten(), Dense(2)])
    pixels = np.arange(32).reshape(2, 4, 4, 1)
    np.testing.assert_allclose(model(pixels.astype("uint8")), model(pixels.astype("float32")))


def test_dropout_seed_must_fit_the_seed_range():
    assert Dropout(0.5, seed=2**32 - 1).seed == 2**32 - 1
    with pytest.raises(ValueError, match=r"seed must be a non-negative int below 2\*\*32"):
        Dropout(0.5, seed=2**63)


def test_upstream_of_the_wrong_shape_is_named():
    layer = Dense(3)
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"upstream must have the shape .* \(2, 3\), got \(2, 4\)"):
        layer.backward(np.ones((2, 4)))


def test_flatten_needs_known_sizes():
    with pytest.raises(ValueError, match=r"Flatten inputs need known sizes"):
        keras.Sequential([keras.Input((None, 3)), Flatten()])


def test_every_public_layer_has_its_own_backward_and_a_gradient_case():
    # A layer added to mapping_lib.layers without a backward pass, or without a case in the
    # gradient checks above, fails here.
    public = {
        cls
        for name, cls in vars(layers_module).items()
        if inspect.isclass(cls)
        and issubclass(cls, keras.layers.Layer)
        and cls.__module__ == "mapping_lib.layers"
        and not name.startswith("_")
    }
    assert public == {Dense, Conv2D, MaxPool2D, Flatten, Dropout}
    checked = {type(make()) for make, _ in GRADIENT_CASES.values()}
    assert checked == public
    for cls in public:
        assert issubclass(cls, BackpropLayer), cls
        for method in ("_forward", "_backward", "compute_output_shape"):
            assert getattr(cls, method) is not getattr(BackpropLayer, method), (cls, method)


# ----- forward / backward_from: pure, graph-safe ------------------------------------------


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_backward_from_in_tf_function_matches_tape(case):
    make_layer, shape = GRADIENT_CASES[case]
    layer = make_layer()
    rng = np.random.default_rng(9)
    x = tf.constant(rng.normal(size=shape))
    output, _ = layer.forward(x, training=True)  # builds the layer
    upstream = tf.constant(rng.normal(size=output.shape))

    @tf.function
    def both_ways(x, upstream):
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, cache = layer.forward(x, training=True)
        by_tape = tape.gradient(output, [x, *layer.trainable_variables], upstream)
        grad_input, grads = layer.backward_from(cache, upstream)
        return by_tape, [grad_input, *grads]

    by_tape, by_hand = both_ways(x, upstream)
    assert len(by_hand) == len(by_tape) == 1 + len(layer.trainable_variables)
    for tape_grad, hand_grad in zip(by_tape, by_hand):
        assert relative_error(hand_grad, tape_grad) < 1e-10


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_compute_output_shape_is_the_actual_shape(case):
    make_layer, shape = GRADIENT_CASES[case]
    layer = make_layer()
    actual = tuple(layer(np.ones(shape), training=True).shape)
    assert layer.compute_output_shape(shape) == actual
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *actual[1:])
    model = keras.Sequential([keras.Input(shape[1:], dtype="float64"), make_layer()])
    assert model.output_shape == (None, *actual[1:])


def test_forward_changes_nothing_and_backward_follows_the_eager_call():
    layer = Dense(2, "tanh", **F64)
    rng = np.random.default_rng(10)
    x, other = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    upstream = rng.normal(size=(3, 2))
    _, cache = layer.forward(x)  # builds the weights, remembers nothing
    with pytest.raises(RuntimeError, match="it has not been called yet"):
        layer.backward(upstream)
    layer(x)
    layer.forward(other)
    expected, expected_grads = layer.backward_from(cache, upstream)
    np.testing.assert_array_equal(layer.backward(upstream), expected)
    # The cache holds the kernel the forward pass used: a later update does not leak in.
    layer.kernel.assign(layer.kernel * 2)
    np.testing.assert_array_equal(layer.backward(upstream), expected)
    for grad, want in zip(layer.grads, expected_grads, strict=True):
        np.testing.assert_array_equal(grad, want)


def test_forward_casts_like_keras_call():
    mixed = Dense(3, "relu", dtype="mixed_float16")
    output, cache = mixed.forward(np.ones((2, 4)))
    assert output.dtype == tf.float16 and mixed.kernel.dtype == "float32"
    grad_input, grads = mixed.backward_from(cache, np.ones((2, 3)))
    assert grad_input.dtype == tf.float16 and [g.dtype for g in grads] == [tf.float32] * 2
    pool = MaxPool2D()
    ints = np.arange(16).reshape(1, 4, 4, 1)
    output, cache = pool.forward(ints)
    assert output.dtype == tf.int64
    np.testing.assert_array_equal(output, pool(ints))
    grad_input, _ = pool.backward_from(cache, np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(grad_input[0, ..., 0], np.kron(np.ones((2, 2)), [[0, 0], [0, 1]]))


# ----- backward() needs the last call to be an eager forward call ---------------------------

NOT_EAGER = "needs an eager forward call first; "


def _dense_model():
    return keras.Sequential([keras.Input((4,)), Dense(3, "relu"), Dense(2)])


def test_backward_after_the_symbolic_build_raises():
    model = _dense_model()  # Keras calls the layers on KerasTensors to build the model
    for layer in model.layers:
        with pytest.raises(RuntimeError, match=NOT_EAGER + "its last call was symbolic"):
            layer.backward(np.ones((1, layer.units)))
    model(np.ones((1, 4), "float32"))  # an eager call makes backward available
    _, grads = backward_sequence(model.layers, np.ones((1, 2)))
    assert len(grads) == 4


def test_backward_after_a_call_inside_tf_function_raises():
    layer = Dense(3)
    x = tf.ones((2, 4))
    layer(x)
    tf.function(layer)(x)
    message = NOT_EAGER + r"its last call was traced inside a tf.function \(Model.fit"
    with pytest.raises(RuntimeError, match=message):
        layer.backward(np.ones((2, 3)))


def test_backward_after_model_fit_raises():
    keras.utils.set_random_seed(1)
    model = _dense_model()
    x = np.random.default_rng(11).normal(size=(16, 4)).astype("float32")
    y = np.zeros((16, 2), "float32")
    model(x)  # fills the caches, so the error below is fit's doing
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for layer in model.layers:
        with pytest.raises(RuntimeError, match=NOT_EAGER + "its last call was traced"):
            layer.backward(np.ones((16, layer.units)))
    with pytest.raises(RuntimeError, match=r"Dense 'dense_\d+'.backward\(\)"):
        backward_sequence(model.layers, np.ones((16, 2)))


@pytest.mark.parametrize("model_kind", ["sequential", "functional"])
def test_backward_of_a_shared_layer_raises(model_kind):
    shared = Dense(4, "tanh")
    if model_kind == "sequential":
        model = keras.Sequential([keras.Input((4,)), shared, shared])
    else:
        inputs = keras.Input((4,))
        model = keras.Model(inputs, shared(inputs) + shared(2 * inputs))
    x = np.ones((2, 4), "float32")
    model(x)
    with pytest.raises(RuntimeError, match=NOT_EAGER + "it was called 2 times in one forward"):
        shared.backward(np.ones((2, 4)))
    # Called on its own, the layer is one mapping again: the newest call counts.
    shared(x)
    assert shared.backward(np.ones((2, 4))).shape == (2, 4)


def test_backward_after_a_failed_call_raises():
    layer = Dense(3)
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError):
        layer(np.ones((2, 5), "float32"))
    with pytest.raises(RuntimeError, match=NOT_EAGER + "its last call raised an error"):
        layer.backward(np.ones((2, 3)))
