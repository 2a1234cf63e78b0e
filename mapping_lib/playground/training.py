"""The Playground's training loop: whole epochs of mini-batch SGD in one compiled call.

A network this small does one mini-batch update in microseconds, far less than a
``tf.function`` call costs, so one call trains a whole frame of epochs: a graph loop over
the epochs whose body, one epoch, is compiled with XLA (``jit_compile``). XLA fuses the
dozens of tiny ops of an update into a few machine-code loops, where the graph executor
would dispatch every op by itself; that is what lets it keep up with a NumPy loop.

Each update is mapping_lib's hand-derived backward pass: the loss's ``gradient``, then every
Dense layer's ``backward_from`` (``layers.sequence_backward``), then the two SGD optimizers
(kernels with the L1/L2 penalty, biases without): the numbers of a GradientTape step with
those optimizers, except at a logit of exactly 0 (dead ReLUs, zero biases), where a tape
through the log-loss's max(z, 0) + log1p(exp(-|z|)) takes the slope 1 - y and the
hand-derived one is sigmoid(0) - y.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import layers, optim


def shuffled_batches(rng: np.random.Generator, n: int, batch_size: int, epochs: int) -> np.ndarray:
    """Row indices of ``epochs`` epochs of mini-batches, int32 (epochs, batches, batch_size).

    Each epoch is a fresh permutation of the ``n`` training points, cut into batches of
    exactly ``batch_size``: the last one is topped up with points drawn (without
    replacement) from the whole training set, as in TensorFlow Playground's epoch counter.
    """
    # The top-up draws fewer than batch_size points, so n >= batch_size leaves enough.
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, n={n}], got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    per_epoch = -(-n // batch_size)
    rows = []
    for _ in range(epochs):
        order = rng.permutation(n)
        top_up = rng.choice(n, per_epoch * batch_size - n, replace=False)
        rows.append(np.concatenate([order, top_up]).reshape(per_epoch, batch_size))
    return np.stack(rows).astype(np.int32)


class EpochTrainer:
    """Trains a stack of Dense layers in place by SGD, any number of epochs per call.

    ``trainer(x_train, y_train, x_test, y_test, batches)`` runs the mini-batches of
    ``batches`` (as made by :func:`shuffled_batches`) and returns the data loss on all
    training and test points after each epoch, float64 (epochs, 2). The graph is traced once:
    epoch counts, batch sizes and learning rates are tensors or variables, not constants.
    """

    def __init__(
        self,
        dense_layers: Sequence[layers.Dense],
        loss: keras.losses.Loss,
        kernel_optimizer: optim.SGD,
        bias_optimizer: optim.SGD,
    ) -> None:
        self._layers = list(dense_layers)
        self._loss = loss
        self._optimizers = (kernel_optimizer, bias_optimizer)
        features = self._layers[0].kernel.shape[0]
        matrix = tf.TensorSpec([None, features], tf.float32)
        column = tf.TensorSpec([None, 1], tf.float32)
        # Partials, not bound methods: TensorFlow's retracing detector keys on the code
        # object, so the trainers of successive networks would look like one function
        # retraced in a loop and print a warning.
        self._epochs = tf.function(
            functools.partial(self._epochs_graph),
            input_signature=[matrix, column, matrix, column, tf.TensorSpec([None] * 3, tf.int32)],
        )
        # Traced inside the graph above with unknown sizes; XLA compiles it once per data and
        # batch size (a new batch size costs one compilation, then is cached).
        self._epoch = tf.function(functools.partial(self._epoch_graph), jit_compile=True)

    @property
    def tracing_count(self) -> int:
        """How many times the training graph has been traced (1 after any number of calls)."""
        return self._epochs.experimental_get_tracing_count()

    def __call__(
        self,
        x_train: tf.Tensor,
        y_train: tf.Tensor,
        x_test: tf.Tensor,
        y_test: tf.Tensor,
        batches: np.ndarray,
    ) -> np.ndarray:
        """Train on every mini-batch of ``batches``; return the losses after each epoch."""
        batches = np.asarray(batches)
        if batches.ndim != 3 or batches.size == 0 or not np.issubdtype(batches.dtype, np.integer):
            raise ValueError(
                "batches must be a non-empty int array (epochs, batches, batch_size), got "
                f"{batches.dtype} {batches.shape}"
            )
        # XLA clamps out-of-range gather indices instead of failing: check them here.
        if batches.min() < 0 or batches.max() >= len(x_train):
            raise ValueError(f"batches must index the {len(x_train)} training points")
        recorded = self._epochs(x_train, y_train, x_test, y_test, tf.constant(batches, tf.int32))
        return recorded.numpy().astype(float)

    def _epochs_graph(
        self,
        x_train: tf.Tensor,
        y_train: tf.Tensor,
        x_test: tf.Tensor,
        y_test: tf.Tensor,
        batches: tf.Tensor,
    ) -> tf.Tensor:
        epochs = tf.shape(batches)[0]
        recorded = tf.TensorArray(tf.float32, size=epochs)
        for epoch in tf.range(epochs):
            losses = self._epoch(x_train, y_train, x_test, y_test, batches[epoch])
            recorded = recorded.write(epoch, losses)
        return recorded.stack()

    def _epoch_graph(
        self,
        x_train: tf.Tensor,
        y_train: tf.Tensor,
        x_test: tf.Tensor,
        y_test: tf.Tensor,
        batches: tf.Tensor,
    ) -> tf.Tensor:
        for batch in tf.range(tf.shape(batches)[0]):
            rows = batches[batch]
            self._update(tf.gather(x_train, rows), tf.gather(y_train, rows))
        train_loss = self._loss(y_train, self._forward(x_train))
        test_loss = self._loss(y_test, self._forward(x_test))
        return tf.stack([train_loss, test_loss])

    def _forward(self, x: tf.Tensor) -> tf.Tensor:
        for layer in self._layers:
            x = layer(x)
        return x

    def _update(self, x: tf.Tensor, y: tf.Tensor) -> None:
        y_pred, caches = layers.sequence_forward(self._layers, x, training=True)
        upstream = self._loss.gradient(y, y_pred)
        _, grads = layers.sequence_backward(self._layers, caches, upstream)
        # Per layer: kernel, then bias (creation order).
        kernel_grads, bias_grads = grads[0::2], grads[1::2]
        kernel_optimizer, bias_optimizer = self._optimizers
        kernel_optimizer.apply_gradients(zip(kernel_grads, [lay.kernel for lay in self._layers]))
        bias_optimizer.apply_gradients(zip(bias_grads, [lay.bias for lay in self._layers]))
