"""mapping_lib.inputs: arrays and Datasets into the batches ``Model.fit`` iterates.

A tf.data.Dataset is taken as batches, as Keras takes it; arrays are shuffled with a seed and
batched here.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import blobs, mlp, twin

from mapping_lib import inputs, losses, optim, train

LOSS = losses.SparseCategoricalCrossentropy(from_logits=True)


class BatchShapes(keras.callbacks.Callback):
    """Counts the training steps of each epoch."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


# ----------------------------------------------------------------------------- Datasets


def test_a_batched_dataset_trains_like_the_same_arrays():
    x, y = blobs(n=100)
    start = mlp()
    arrays = train.fit(twin(start), x, y, loss=LOSS, epochs=2, batch_size=16, shuffle=False,
                       validation_data=(x, y), progress=False)  # fmt: skip
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    history = train.fit(
        twin(start), pairs.batch(16), loss=LOSS, epochs=2, validation_data=pairs.batch(50),
        progress=False,
    )  # fmt: skip
    assert set(history.history) == set(arrays.history)
    for key, values in arrays.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("batch_size", [16, 32])
def test_a_dataset_is_used_as_its_batches_not_batched_again(batch_size):
    x, y = blobs(n=100)
    counter = BatchShapes()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16, drop_remainder=True)
    history = train.fit(mlp(), dataset, loss=LOSS, epochs=2, batch_size=batch_size,
                        callbacks=[counter], progress=False)  # fmt: skip
    assert counter.steps == [100 // 16] * 2  # 6 steps: the remainder of 4 examples dropped
    assert len(history.epoch) == 2
    # The same 96 examples as arrays in batches of 16, in order.
    arrays = train.fit(mlp(), x[:96], y[:96], loss=LOSS, epochs=2, batch_size=16,
                       shuffle=False, progress=False)  # fmt: skip
    np.testing.assert_allclose(history.history["loss"], arrays.history["loss"], rtol=1e-6)


def test_arrays_give_ceil_n_over_batch_size_steps():
    x, y = blobs(n=100)
    counter = BatchShapes()
    train.fit(mlp(), x, y, loss=LOSS, epochs=1, batch_size=16, callbacks=[counter],
              progress=False)  # fmt: skip
    assert counter.steps == [7]  # the last batch holds the remaining 4


def test_a_shuffled_dataset_is_not_shuffled_again():
    x, y = blobs(n=100)
    start = mlp()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(20)

    def run(seed):
        return train.fit(twin(start), dataset, loss=LOSS, epochs=2, seed=seed, shuffle=True,
                         progress=False).history["loss"]  # fmt: skip

    assert run(1) == run(2)  # seed and shuffle apply to arrays only


def test_an_unbatched_dataset_is_a_clear_error_naming_x():
    x, y = blobs(n=20)
    examples = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(ValueError, match=r"x yields single examples of shape \(2,\).*batch"):
        train.fit(mlp(), examples, loss=LOSS, progress=False)
    with pytest.raises(ValueError, match=r"^validation_data yields single examples"):
        train.fit(mlp(), x, y, loss=LOSS, validation_data=examples, progress=False)
    with pytest.raises(ValueError, match=r"^x yields single examples"):
        train.evaluate(mlp(), examples, loss=LOSS)


def test_nan_in_a_datasets_first_batch_is_an_error_naming_the_argument():
    x, y = blobs(n=40)
    bad_x = x.copy()
    bad_x[3, 1] = np.nan
    good = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    bad = tf.data.Dataset.from_tensor_slices((bad_x, y)).batch(10)
    with pytest.raises(ValueError, match="the first batch of validation_data must contain only"):
        train.fit(mlp(), good, loss=LOSS, validation_data=bad, progress=False)
    with pytest.raises(ValueError, match="the first batch of x must contain only finite"):
        train.fit(mlp(), bad, loss=LOSS, progress=False)
    bad_labels = tf.data.Dataset.from_tensor_slices((x, np.full(40, np.inf))).batch(10)
    with pytest.raises(ValueError, match=r"the first batch of validation_data\[1\] must contain"):
        train.fit(mlp(), good, loss=LOSS, validation_data=bad_labels, progress=False)


def test_bad_datasets_are_rejected():
    x, y = blobs(n=20)
    pairs = tf.data.Dataset.from_tensor_slices((x, y)).batch(5)
    with pytest.raises(ValueError, match="y must be None when x is a tf.data.Dataset"):
        train.fit(mlp(), pairs, y, loss=LOSS, progress=False)
    with pytest.raises(ValueError, match="x is an infinite Dataset"):
        train.fit(mlp(), pairs.repeat(), loss=LOSS, progress=False)
    with pytest.raises(ValueError, match="validation_data is an infinite Dataset"):
        train.fit(mlp(), pairs, validation_data=pairs.repeat(), loss=LOSS, progress=False)
    with pytest.raises(ValueError, match="x is an empty Dataset"):
        train.fit(mlp(), pairs.take(0), loss=LOSS, progress=False)
    with pytest.raises(ValueError, match=r"x must yield \(x, y\) pairs"):
        train.fit(mlp(), tf.data.Dataset.from_tensor_slices(x).batch(5), loss=LOSS)
    with pytest.raises(ValueError, match="validation_split needs array inputs"):
        train.fit(mlp(), pairs, loss=LOSS, validation_split=0.5)


# ----------------------------------------------------------------------------- arrays


def test_examples_convert_floats_to_float32_and_keep_integers():
    x, y = inputs.examples(np.zeros((4, 2), dtype="float64"), np.arange(4, dtype="int64"))
    assert x.dtype == np.float32 and y.dtype == np.int64
    x, y = inputs.examples([[1, 2], [3, 4]], [True, False])
    assert x.dtype.kind == "i" and y.dtype == np.float32


def test_validation_split_holds_out_the_last_examples_like_keras():
    x = np.arange(10, dtype="float32")[:, None]
    (train_x, _), (val_x, val_y) = inputs.training_and_validation(x, 2 * x, None, 0.25)
    # Keras: ceil(10 * 0.75) = 8 for training, the last 2 for validation, before shuffling.
    np.testing.assert_array_equal(train_x[:, 0], np.arange(8))
    np.testing.assert_array_equal(val_x[:, 0], [8, 9])
    np.testing.assert_array_equal(val_y[:, 0], [16, 18])


def epoch_orders(dataset, epochs=3):
    return [np.concatenate([batch_x[:, 0] for batch_x, _ in dataset]) for _ in range(epochs)]


def test_array_batches_reshuffle_every_epoch_and_repeat_with_the_seed():
    x = np.arange(20, dtype="float32")[:, None]
    source = inputs.examples(x, x)
    first = epoch_orders(inputs.batches(source, 6, shuffle=True, seed=3))
    assert all(sorted(order) == list(range(20)) for order in first)
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    again = epoch_orders(inputs.batches(source, 6, shuffle=True, seed=3))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = epoch_orders(inputs.batches(source, 6, shuffle=True, seed=4))
    assert not np.array_equal(first[0], other[0])
    in_order = epoch_orders(inputs.batches(source, 6))
    np.testing.assert_array_equal(in_order[0], np.arange(20))
    sizes = [len(batch_x) for batch_x, _ in inputs.batches(source, 6)]
    assert sizes == [6, 6, 6, 2]


def test_pipelines_run_without_autotune():
    x = np.zeros((8, 2), dtype="float32")
    for dataset in (
        inputs.batches(inputs.examples(x, x), 4),
        inputs.batches(tf.data.Dataset.from_tensor_slices((x, x)).batch(4), 4),
    ):
        options = dataset.options()
        assert options.autotune.enabled is False
        assert options.deterministic is True


def test_check_batched_passes_batches_and_models_without_known_inputs():
    x, y = blobs(n=8)
    examples = tf.data.Dataset.from_tensor_slices((x, y))
    inputs.check_batched("x", examples.batch(4), mlp())  # batches: fine
    with pytest.raises(ValueError, match="x yields single examples"):
        inputs.check_batched("x", examples, mlp())

    class NoInputs(keras.Model):
        def call(self, inputs):
            return inputs

    inputs.check_batched("x", examples, NoInputs())  # cannot tell: no error


def test_bad_arrays_are_rejected_with_their_names():
    with pytest.raises(ValueError, match="x must be an array or a tf.data.Dataset, got None"):
        inputs.examples(None, np.zeros(3))
    with pytest.raises(ValueError, match="labels is required when inputs is an array"):
        inputs.examples(np.zeros((3, 1)), None, ("inputs", "labels"))
    with pytest.raises(ValueError, match="x must hold at least one example, got shape \\(\\)"):
        inputs.as_examples("x", 3.0)
    with pytest.raises(ValueError, match="must contain only finite numbers"):
        inputs.as_examples("x", [[1.0, np.inf]])
    with pytest.raises(TypeError, match="validation_data must be an"):
        inputs.training_and_validation(np.zeros((4, 1)), np.zeros(4), "val", 0.0)
    with pytest.raises(ValueError, match="validation_split must be a number in"):
        inputs.training_and_validation(np.zeros((4, 1)), np.zeros(4), None, -0.1)


def test_a_dataset_of_integer_images_is_cast_by_the_model_input():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(32, 4, 4, 1)).astype("uint8")
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
         keras.layers.Dense(2)]
    )  # fmt: skip
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = train.fit(model, dataset, loss=LOSS, optimizer=optim.Adam(0.05), epochs=3,
                        progress=False)  # fmt: skip
    assert np.all(np.isfinite(history.history["loss"]))
