"""The training steps: the GradientTape step of the seed texts as a ``train_step`` Model.fit runs.

Keras' documented way to change what one training step does is to override
``keras.Model.train_step``; ``Model.fit`` then runs everything around it: epochs, batches,
validation, callbacks (early stopping, learning-rate schedules, checkpoints), progress bar,
distribution strategies and, under the ``mixed_float16`` policy, loss scaling. Two steps:

- :class:`TapeTrainer`: forward pass under a ``tf.GradientTape``, dL/dw from the tape, the
  optimizer's update. The step the seed texts teach.
- :class:`ManualTrainer`: the same step with the gradients from the layers' own hand-derived
  backward passes (``mapping_lib.layers``) instead of the tape.

Both wrap a model (``TapeTrainer(model)``) and share its weights, so any Keras model can be
trained either way and stays an ordinary model afterwards. ``mapping_lib.train.fit`` compiles
one and calls its ``fit``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf

from mapping_lib.layers import sequence_backward, sequence_forward


class TapeTrainer(keras.Model):
    """Trains ``network`` with ``Model.fit``, one GradientTape step per batch.

    Args:
        network: the model to train; the trainer shares its weights.
    """

    def __init__(self, network: keras.Model, **kwargs: Any) -> None:
        super().__init__(name=f"{network.name}_trainer", **kwargs)
        self.network = network
        # No weights of its own: built when the network is. BackupAndRestore refuses to
        # restore into an unbuilt model.
        self.built = network.built

    def call(self, inputs: Any, training: bool = False) -> tf.Tensor:
        return self.network(inputs, training=training)

    # Keras' callbacks save and restore ``self.model``, here the trainer. These write the
    # network's own layout, so that ``ModelCheckpoint`` files load into the trained model.

    def save(self, filepath: Any, *args: Any, **kwargs: Any) -> None:
        """Save the network (a ``.keras`` file of the model being trained)."""
        self.network.save(filepath, *args, **kwargs)

    def save_weights(self, filepath: Any, *args: Any, **kwargs: Any) -> None:
        """Write the network's weights, laid out as ``network.save_weights`` does, plus the
        optimizer's state: ``network.load_weights(filepath)`` reads the file, and
        ``BackupAndRestore`` resumes with the optimizer where it was."""
        with _optimizer_on(self.network, self.optimizer):
            self.network.save_weights(filepath, *args, **kwargs)

    def load_weights(self, filepath: Any, *args: Any, **kwargs: Any) -> None:
        """Read a file of :meth:`save_weights` (or of ``network.save_weights``)."""
        with _optimizer_on(self.network, self.optimizer):
            self.network.load_weights(filepath, *args, **kwargs)

    def train_step(self, data: tuple[Any, Any]) -> dict[str, tf.Tensor]:
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)  # includes model.losses
            # Under mixed_float16 the optimizer is a LossScaleOptimizer: it multiplies the
            # loss so that small float16 gradients do not underflow, and divides them back.
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self.report(loss, x, y, y_pred)

    def report(self, loss: tf.Tensor, x: Any, y: Any, y_pred: tf.Tensor) -> dict[str, tf.Tensor]:
        """Update the loss and the compiled metrics; return the logs of the epoch so far."""
        # compute_loss divides by the number of replicas (their gradients are summed);
        # the logged loss is the batch mean, weighted by batch size as Keras' own step does.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        batch_size = tf.shape(tf.nest.flatten(x)[0])[0]
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss * replicas, sample_weight=batch_size)
        logs = self.compute_metrics(x, y, y_pred)
        if _multi_worker(self.distribute_strategy):  # workaround (2), see below
            logs = tf.nest.map_structure(lambda value: tf.reshape(value, [1]), logs)
        return logs

    # WORKAROUND for Keras 3.15's TensorFlow trainer under MultiWorkerMirroredStrategy
    # (keras-team/keras#20585, tensorflow/tensorflow#72388); nothing changes without one:
    # (1) _maybe_symbolic_build calls strategy.reduce("MEAN", batch) on the PerReplica first
    #     batch, which fails ("Attempt to convert a value (PerReplica...)"): build from the
    #     first local replica's batch instead (only its shapes matter).
    # (2) reduce_per_replica reduces the step's logs with strategy.reduce("MEAN", v, axis=0),
    #     which fails on scalars ("Invalid reduction dimension 0"): report logs of shape [1].
    # Once Keras fixes them, delete this method, _multi_worker and the two lines in report.

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        strategy = self._distribute_strategy  # None: Keras builds nothing here
        if strategy is None or iterator is None or not _multi_worker(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        _, _, batches = next(iter(iterator))
        data_batch = tf.nest.map_structure(
            lambda value: strategy.experimental_local_results(value)[0], next(batches)
        )
        return super()._maybe_symbolic_build(data_batch=data_batch)


def _multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether Keras' trainer takes its multi-worker reduction path (its own test)."""
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


@contextlib.contextmanager
def _optimizer_on(network: keras.Model, optimizer: Any) -> Iterator[None]:
    """Show ``optimizer`` as ``network.optimizer`` to Keras' saving, which walks attributes."""
    missing = object()
    before = network.__dict__.get("optimizer", missing)
    if optimizer is not None:
        network.__dict__["optimizer"] = optimizer  # untracked: the network stays as it was
    try:
        yield
    finally:
        if before is missing:
            network.__dict__.pop("optimizer", None)
        else:
            network.__dict__["optimizer"] = before


class ManualTrainer(TapeTrainer):
    """Like :class:`TapeTrainer`, with gradients from the layers' hand-derived ``backward``.

    ``network`` must be a ``keras.Sequential`` of ``mapping_lib.layers`` without weight
    penalties, and the loss must know its gradient (``mapping_lib.losses``).
    """

    def train_step(self, data: tuple[Any, Any]) -> dict[str, tf.Tensor]:
        x, y = data
        layers = self.network.layers
        y_pred, caches = sequence_forward(layers, x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        upstream = self.loss.gradient(y, y_pred) / replicas  # dL/dy_pred, as compute_loss
        _, gradients = sequence_backward(layers, caches, self.optimizer.scale_loss(upstream))
        self.optimizer.apply_gradients(zip(gradients, self.network.trainable_variables))
        return self.report(loss, x, y, y_pred)
