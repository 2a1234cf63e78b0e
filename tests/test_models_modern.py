"""mapping_lib.models.modern_cnn: the architecture, its size, its errors."""

import keras
import numpy as np
import pytest

from mapping_lib import models


def test_three_stages_then_the_dense_head():
    model = models.modern_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    stage = ["Conv2D", "MaxPooling2D", "BatchNormalization", "ReLU"]
    head = ["Flatten", "Dropout", "Dense", "Dropout", "Dense"]
    assert kinds == stage * 3 + head
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [32, 64, 128]
    assert all(not conv.use_bias and conv.padding == "same" for conv in convs)
    assert model.output_shape == (None, 10)
    # 28 -> 14 -> 7 -> 3 after three poolings
    assert model.layers[-5].output.shape[1:] == (3 * 3 * 128,)


def test_parameter_count_by_hand():
    convs = 3 * 3 * 1 * 32 + 3 * 3 * 32 * 64 + 3 * 3 * 64 * 128
    norms = 4 * (32 + 64 + 128)  # gamma, beta, moving mean, moving variance
    dense = (3 * 3 * 128) * 128 + 128 + 128 * 10 + 10
    assert models.modern_cnn().count_params() == convs + norms + dense == 242_218


def test_options_change_the_architecture():
    model = models.modern_cnn((32, 32, 3), 5, widths=(8, 16), dense_units=20, dropout=0.5)
    assert model.output_shape == (None, 5)
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.5, 0.5]
    assert model.layers[-2 - 1].units == 20
    assert model.layers[-5].output.shape[1:] == (8 * 8 * 16,)


def test_pooling_first_equals_pooling_last_when_the_scale_is_positive():
    # with batch statistics frozen (inference) and gamma > 0, BN and ReLU commute with the
    # max pooling: the layer order only changes the statistics BN computes in training
    keras.utils.set_random_seed(1)
    conv = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)
    norm = keras.layers.BatchNormalization()
    pool = keras.layers.MaxPool2D(2)
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 1)).astype("float32")
    z = conv(x)
    norm.build(z.shape)
    norm.gamma.assign([0.5, 1.0, 2.0, 3.0])
    norm.beta.assign([-0.3, 0.0, 0.2, 1.0])
    norm.moving_mean.assign([0.1, -0.2, 0.0, 0.3])
    norm.moving_variance.assign([0.5, 1.0, 2.0, 0.7])
    first = keras.ops.relu(norm(pool(z), training=False))
    last = pool(keras.ops.relu(norm(z, training=False)))
    np.testing.assert_allclose(first, last, rtol=1e-6, atol=1e-6)


def test_training_and_inference_differ_only_through_dropout_and_batch_statistics():
    keras.utils.set_random_seed(0)
    model = models.modern_cnn(widths=(4,), dense_units=8, dropout=0.0)
    x = np.random.default_rng(0).normal(size=(16, 28, 28, 1)).astype("float32")
    inference = model(x, training=False).numpy()
    assert np.allclose(model(x, training=False).numpy(), inference)
    # with batch statistics the outputs change; the moving averages start at 0 and 1
    assert not np.allclose(model(x, training=True).numpy(), inference)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 0}, "num_classes must be a positive int, got 0"),
        ({"dense_units": -3}, "dense_units must be a positive int, got -3"),
        ({"widths": ()}, "widths must name at least one stage"),
        ({"widths": (32, 0)}, "widths must be a positive int, got 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"input_shape": (28, 28)}, "input_shape must be"),
        ({"input_shape": (6, 6, 1)}, "too small for 3 stages"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.modern_cnn(**kwargs)
