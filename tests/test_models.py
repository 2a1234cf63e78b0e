"""mapping_lib.models.seed_cnn: the architecture, its size, and a NumPy forward pass."""

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mapping_lib import layers as ml_layers
from mapping_lib import models

SOURCES = {"mapping_lib": ml_layers, "keras": keras.layers}
# (kind, filters or units, activation) of the seed texts' CNN, input to output.
ARCHITECTURE = [
    ("Conv2D", 32, "relu"),
    ("MaxPool2D", None, None),
    ("Conv2D", 64, "relu"),
    ("MaxPool2D", None, None),
    ("Flatten", None, None),
    ("Dense", 128, "relu"),
    ("Dense", "classes", "linear"),
]


def activation_name(layer):
    activation = layer.activation
    return getattr(activation, "name", None) or activation.__name__


def layer_summary(layer, lib, num_classes):
    """(kind, size, activation) read from a built layer, checked against ``lib``'s classes."""
    for kind, _, _ in ARCHITECTURE:
        if isinstance(layer, getattr(lib, kind)):
            break
    else:
        raise AssertionError(f"{layer!r} is none of {lib.__name__}'s layers")
    if kind == "Conv2D":
        assert tuple(layer.kernel_size) == (3, 3) and tuple(layer.strides) == (1, 1)
        assert layer.padding == "valid"
        return kind, layer.filters, activation_name(layer)
    if kind == "MaxPool2D":
        assert tuple(layer.pool_size) == (2, 2) and tuple(layer.strides) == (2, 2)
        assert layer.padding == "valid"
        return kind, None, None
    if kind == "Dense":
        size = "classes" if layer.units == num_classes else layer.units
        return kind, size, activation_name(layer)
    return kind, None, None


def expected_sizes(input_shape, num_classes):
    """Output shape and weight count of every layer, from the sizes alone."""
    height, width, channels = input_shape
    sizes = []
    for filters in (32, 64):
        height, width = height - 2, width - 2  # 3x3 kernel, no padding
        sizes.append(((height, width, filters), 3 * 3 * channels * filters + filters))
        height, width, channels = height // 2, width // 2, filters  # 2x2 pooling, stride 2
        sizes.append(((height, width, channels), 0))
    flat = height * width * channels
    sizes.append(((flat,), 0))
    sizes.append(((128,), flat * 128 + 128))
    sizes.append(((num_classes,), 128 * num_classes + num_classes))
    return sizes


def numpy_forward(weights, x):
    """The CNN's forward pass in NumPy, from ``get_weights()`` (kernel, bias per layer)."""
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    k1, b1, k2, b2, k3, b3, k4, b4 = weights

    def conv(a, kernel, bias):
        patches = sliding_window_view(a, (3, 3), axis=(1, 2))  # (N, H', W', C, 3, 3)
        return np.einsum("nhwcij,ijcf->nhwf", patches, kernel) + bias

    def pool(a):
        n, h, w, c = a.shape
        a = a[:, : h // 2 * 2, : w // 2 * 2]  # "valid": a leftover row or column is dropped
        return a.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    a = pool(relu(conv(x, k1, b1)))
    a = pool(relu(conv(a, k2, b2)))
    a = a.reshape(len(a), -1)  # row-major, like Flatten on NHWC
    return relu(a @ k3 + b3) @ k4 + b4


def random_weights(model, seed):
    rng = np.random.default_rng(seed)
    # Non-zero biases, so a dropped or misplaced bias shows.
    return [rng.normal(scale=0.2, size=w.shape).astype("float32") for w in model.get_weights()]


@pytest.mark.parametrize("layers_from", list(SOURCES))
@pytest.mark.parametrize(("input_shape", "num_classes"), [((28, 28, 1), 10), ((17, 20, 3), 4)])
def test_seed_cnn_builds_the_documented_architecture(layers_from, input_shape, num_classes):
    model = models.seed_cnn(input_shape, num_classes, layers_from=layers_from)
    assert model.name == f"seed_cnn_{layers_from}"
    assert model.input_shape == (None, *input_shape)
    summary = [layer_summary(layer, SOURCES[layers_from], num_classes) for layer in model.layers]
    assert summary == ARCHITECTURE
    sizes = expected_sizes(input_shape, num_classes)
    for layer, (shape, count) in zip(model.layers, sizes):
        assert tuple(layer.output.shape) == (None, *shape), layer.name
        assert layer.count_params() == count, layer.name
    assert model.output_shape == (None, num_classes)
    assert model.count_params() == sum(count for _, count in sizes)


def test_the_mnist_cnn_has_the_seed_texts_parameter_count():
    # Worked out by hand: 320 + 18,496 + 1,600 * 128 + 128 + 1,290.
    assert models.seed_cnn().count_params() == 225_034
    assert models.seed_cnn(layers_from="keras").count_params() == 225_034


def test_mapping_lib_variant_is_built_from_backprop_layers():
    model = models.seed_cnn(layers_from="mapping_lib")
    assert all(isinstance(layer, ml_layers.BackpropLayer) for layer in model.layers)
    keras_model = models.seed_cnn(layers_from="keras")
    assert not any(isinstance(layer, ml_layers.BackpropLayer) for layer in keras_model.layers)


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (17, 20, 3)])
def test_both_variants_compute_the_same_logits_with_the_same_weights(input_shape):
    ours = models.seed_cnn(input_shape, 5, layers_from="mapping_lib")
    theirs = models.seed_cnn(input_shape, 5, layers_from="keras")
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = random_weights(ours, seed=1)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = np.random.default_rng(2).uniform(size=(3, *input_shape)).astype("float32")
    expected = numpy_forward([w.astype("float64") for w in weights], x.astype("float64"))
    ours_out = keras.ops.convert_to_numpy(ours(x))
    theirs_out = keras.ops.convert_to_numpy(theirs(x))
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours_out, expected, rtol=1e-4, atol=1e-4)
    # Logits, not probabilities: no softmax at the end.
    assert ours_out.min() < 0 and not np.allclose(ours_out.sum(axis=1), 1)
    # With different weights the logits differ: the comparison above can fail.
    theirs.set_weights(random_weights(theirs, seed=3))
    assert not np.allclose(keras.ops.convert_to_numpy(theirs(x)), ours_out, atol=1e-3)


def test_fresh_models_start_from_keras_initialisers():
    for layers_from in SOURCES:
        weights = models.seed_cnn(layers_from=layers_from).get_weights()
        kernels, biases = weights[::2], weights[1::2]
        assert all(np.all(bias == 0) for bias in biases), layers_from
        # Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out)) and not all zero.
        first = kernels[0]
        limit = np.sqrt(6 / (3 * 3 * 1 + 3 * 3 * 32))
        assert 0 < np.abs(first).max() <= limit, layers_from


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layers_from": "torch"}, ValueError,
         "layers_from must be one of 'mapping_lib', 'keras', got 'torch'"),
        ({"layers_from": "Keras"}, ValueError, "layers_from must be one of .*got 'Keras'"),
        ({"layers_from": None}, ValueError, "layers_from must be one of .*got None"),
        ({"num_classes": 0}, ValueError, "num_classes must be a positive int, got 0"),
        ({"num_classes": 2.0}, TypeError, "num_classes must be a positive int, got 2.0"),
        ({"input_shape": (28, 28)}, ValueError,
         r"input_shape must be \(height, width, channels\), got \(28, 28\)"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        models.seed_cnn(**kwargs)
