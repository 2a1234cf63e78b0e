"""mapping_lib.models.ResidualBlock: relu(x + BN(conv(relu(BN(conv(x)))))), shape kept."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import models


def block_input(channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(2, 6, 5, channels)).astype("float32")


def test_the_block_adds_its_change_to_the_input():
    block = models.ResidualBlock(4)
    x = block_input(4)
    out = block(x, training=False).numpy()
    # the same computation from the block's own sublayers, with NumPy doing the adding
    change = tf.nn.relu(block.norm1(block.conv1(x), training=False))
    change = block.norm2(block.conv2(change), training=False).numpy()
    np.testing.assert_allclose(out, np.maximum(x + change, 0.0), rtol=1e-6, atol=1e-6)
    assert out.shape == x.shape
    assert block.compute_output_shape(x.shape) == x.shape


def test_training_mode_normalises_with_the_batch_statistics():
    block = models.ResidualBlock(3)
    x = block_input(3, seed=1) * 5 + 2
    hidden = block.conv1(x).numpy()
    mean, var = hidden.mean(axis=(0, 1, 2)), hidden.var(axis=(0, 1, 2))
    expected = (hidden - mean) / np.sqrt(var + block.norm1.epsilon)  # gamma 1, beta 0 at start
    np.testing.assert_allclose(block.norm1(hidden, training=True), expected, atol=1e-4)


def test_parameters_are_two_kernels_and_two_normalisations():
    block = models.ResidualBlock(8, kernel_size=3)
    block.build((None, 7, 7, 8))
    kernels = 2 * 3 * 3 * 8 * 8  # no biases: BN's shift takes their place
    normalisation = 2 * 4 * 8  # gamma, beta, moving mean, moving variance per channel
    assert block.count_params() == kernels + normalisation
    trainable = sum(int(np.prod(w.shape)) for w in block.trainable_weights)
    assert trainable == kernels + 2 * 2 * 8


def test_the_block_survives_a_keras_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((5, 5, 6)), models.ResidualBlock(6, kernel_size=5)])
    x = block_input(6)[:, :5, :5]
    path = tmp_path / "block.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(x), model(x))
    assert loaded.layers[0].get_config()["kernel_size"] == 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": -3}, "filters must be a positive int, got -3"),
        ({"filters": 4, "kernel_size": 2}, "kernel_size must be odd, got 2"),
        ({"filters": 4, "kernel_size": 0}, "kernel_size must be a positive int"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.ResidualBlock(**kwargs)


def test_an_input_with_other_channels_is_refused():
    with pytest.raises(ValueError, match=r"input must be \(batch, height, width, 4\)"):
        models.ResidualBlock(4)(block_input(3))
