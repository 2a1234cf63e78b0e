"""``train.fit`` under the ``mixed_float16`` policy: Keras' loss scaling reaches our train_step.

float16 holds nothing below about 6e-8, so a small enough gradient becomes exactly 0 in a
float16 backward pass; the LossScaleOptimizer multiplies the loss (by 2**15 at first) before
differentiating and divides the float32 gradients back. Float16 math on the CPU is slow but
fine for these tiny models.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import layers, losses, optim, train, train_steps

LEARNING_RATE = 1e3


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


class TinyMSE(keras.losses.Loss):
    """1e-8 x the mean squared error: dL/dy_pred is about 1e-9, below float16's smallest."""

    def call(self, y_true, y_pred):
        return 1e-8 * tf.reduce_mean(tf.square(tf.cast(y_pred, "float32") - y_true), axis=-1)


def data(n=8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), np.ones((n, 1), dtype="float32")


def mlp(library=keras.layers, dtype=None, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((4,)),
            library.Dense(6, activation="tanh", dtype=dtype),
            library.Dense(1, dtype=dtype),
        ]
    )


def test_fit_under_mixed_float16_uses_a_loss_scale_optimizer(mixed_float16):
    x, y = data(64)
    model = mlp()
    assert model.layers[0].compute_dtype == "float16"
    assert model.layers[0].kernel.dtype == "float32"  # variables stay float32
    history = train.fit(model, x, y, loss="mse", optimizer=optim.Adam(0.05), epochs=5,
                        batch_size=16, progress=False)  # fmt: skip
    trainer = history.model
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(trainer.optimizer.inner_optimizer, optim.Adam)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert all(np.all(np.isfinite(w)) and w.dtype == np.float32 for w in model.get_weights())


def test_loss_scaling_saves_a_gradient_that_underflows_in_float16(mixed_float16):
    x, y = data()
    start = mlp()
    start_weights = start.get_weights()

    # Reference: the same step computed in float32, where nothing underflows.
    reference = mlp(dtype="float32")
    reference.set_weights(start_weights)
    with tf.GradientTape() as tape:
        value = TinyMSE()(y, reference(x))
    gradients = tape.gradient(value, reference.trainable_variables)
    expected = [w - LEARNING_RATE * g.numpy() for w, g in zip(start_weights, gradients)]
    assert min(float(np.abs(g).max()) for g in gradients) > 1e-10  # tiny, but not zero

    # Without loss scaling the float16 backward pass gives exact zeros: nothing moves.
    plain = keras.models.clone_model(start)
    plain.set_weights(start_weights)
    trainer = train_steps.TapeTrainer(plain)
    trainer.compile(optimizer=optim.SGD(LEARNING_RATE), loss=TinyMSE(), auto_scale_loss=False,
                    jit_compile=False)  # fmt: skip
    assert not isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    trainer.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    for after, before in zip(plain.get_weights(), start_weights):
        np.testing.assert_array_equal(after, before)

    # train.fit scales the loss: the step is the float32 one, up to float16 round-off.
    scaled = keras.models.clone_model(start)
    scaled.set_weights(start_weights)
    history = train.fit(scaled, x, y, loss=TinyMSE(), optimizer=optim.SGD(LEARNING_RATE),
                        epochs=1, batch_size=len(x), shuffle=False, progress=False)  # fmt: skip
    assert isinstance(history.model.optimizer, keras.optimizers.LossScaleOptimizer)
    for after, want, before in zip(scaled.get_weights(), expected, start_weights):
        assert np.abs(after - before).max() > 1e-6
        np.testing.assert_allclose(after - before, want - before, rtol=0.05, atol=2e-7)


class TinyManualMSE(losses.MeanSquaredError):
    """TinyMSE with the gradient the ManualTrainer starts its backward pass from."""

    def call(self, y_true, y_pred):
        return 1e-8 * super().call(y_true, y_pred)

    def gradient(self, y_true, y_pred):
        return 1e-8 * super().gradient(y_true, y_pred)


def test_manual_trainer_scales_its_upstream_gradient_too(mixed_float16):
    x, y = data()
    start = mlp(layers)
    tape_model, manual_model = (keras.models.clone_model(start) for _ in range(2))
    for model in (tape_model, manual_model):
        model.set_weights(start.get_weights())
    settings = dict(loss=TinyManualMSE(), epochs=1, batch_size=len(x), shuffle=False,
                    progress=False)  # fmt: skip
    train.fit(tape_model, x, y, optimizer=optim.SGD(LEARNING_RATE), **settings)
    history = train.fit(manual_model, x, y, optimizer=optim.SGD(LEARNING_RATE), manual=True,
                        **settings)  # fmt: skip
    assert isinstance(history.model, train_steps.ManualTrainer)
    assert isinstance(history.model.optimizer, keras.optimizers.LossScaleOptimizer)
    for manual, tape, before in zip(manual_model.get_weights(), tape_model.get_weights(),
                                    start.get_weights()):  # fmt: skip
        assert np.abs(manual - before).max() > 1e-6  # it moved: the upstream did not underflow
        np.testing.assert_allclose(manual - before, tape - before, rtol=0.05, atol=2e-7)
