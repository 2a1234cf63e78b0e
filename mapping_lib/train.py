"""Training with one call: ``fit``, ``evaluate`` and ``predict`` on arrays or Datasets.

:func:`fit` is the short convenience the chapters call: it checks the data, builds the
tf.data pipeline (``mapping_lib.inputs``, seeded shuffling, autotune off), compiles a trainer
of ``mapping_lib.train_steps`` (the GradientTape step, or the layers' hand-derived backward
with ``manual=True``) and calls Keras' ``Model.fit``, which runs the loop and the callbacks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks, device, inputs, losses, optim
from mapping_lib.callbacks import LearningRateLog, StopOnDivergence
from mapping_lib.layers import BackpropLayer
from mapping_lib.train_steps import ManualTrainer, TapeTrainer

EVAL_BATCH_SIZE = 256


def fit(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    loss: str | keras.losses.Loss,
    optimizer: Any = "adam",
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: Any = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    manual: bool = False,
    progress: bool = True,
) -> keras.callbacks.History:
    """Train ``model`` with ``Model.fit`` and a :class:`TapeTrainer` (or a ManualTrainer).

    Args:
        model: any Keras model; it is trained in place.
        x, y: arrays with one example per row, or ``x`` a Dataset of ``(x, y)`` batches.
        loss: a loss object or name (``mapping_lib.losses.get``).
        optimizer: an optimizer object or name (``mapping_lib.optim.get``).
        epochs, batch_size, validation_data, validation_split: as in ``Model.fit``.
        shuffle: reshuffle array inputs every epoch.
        seed: the shuffling seed (default: the book's, ``device.book_seed()``).
        callbacks: Keras callbacks, e.g. ``keras.callbacks.EarlyStopping(...)``.
        manual: gradients from the layers' ``backward`` instead of the tape.
        progress: show Keras' progress bar.

    Returns:
        Keras' ``History`` (also ``model.history``, even after Ctrl-C): one value per epoch
        of "loss", "accuracy" (classification losses), "val_*" (with validation data) and
        "learning_rate". Training that diverges stops with the best finite weights
        (:class:`~mapping_lib.callbacks.StopOnDivergence`, added unless ``callbacks`` has
        one).
    """
    _check_model(model)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    seed = device.book_seed() if seed is None else _checks.seed("seed", seed)
    for name, flag in (("shuffle", shuffle), ("manual", manual), ("progress", progress)):
        _check_flag(name, flag)
    callbacks = _checked_callbacks(callbacks)
    loss = losses.get(loss)
    train_source, val_source = inputs.training_and_validation(
        x, y, validation_data, validation_split
    )
    train_batches = inputs.batches(train_source, batch_size, shuffle=shuffle, seed=seed)
    _probe(model, loss, train_batches, train_source, "x", "y")
    val_batches = None
    if val_source is not None:
        val_batches = inputs.batches(val_source, EVAL_BATCH_SIZE)
        _probe(model, loss, val_batches, val_source, "validation_data", "validation_data[1]")
    if manual:
        _check_manual(model, loss)
    if not model.trainable_variables:
        raise ValueError("model has no trainable variables: there is nothing to train")

    trainer = _compiled(model, loss, _optimizer_for(model, optimizer), manual=manual)
    if not any(isinstance(callback, StopOnDivergence) for callback in callbacks):
        callbacks.append(StopOnDivergence("val_loss" if val_batches is not None else "loss"))
    try:
        return trainer.fit(
            train_batches,
            epochs=epochs,
            validation_data=val_batches,
            shuffle=False,  # the pipeline shuffles arrays itself; a Dataset comes as it is
            callbacks=[LearningRateLog(), *callbacks],
            verbose="auto" if progress else 0,
        )
    finally:
        # Keras sets trainer.history when fit starts; an error before that must not be
        # hidden behind an AttributeError here.
        if getattr(trainer, "history", None) is not None:
            model.history = trainer.history


def evaluate(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    loss: str | keras.losses.Loss,
    batch_size: int = EVAL_BATCH_SIZE,
) -> dict[str, float]:
    """Return {"loss": ..., "accuracy": ...} of ``model`` in inference mode, by ``Model.evaluate``.

    Accepts the same data as :func:`fit`; "accuracy" appears for classification losses. The
    loss includes the model's regularisation penalties (``model.losses``), as in Keras.
    """
    _check_model(model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    loss = losses.get(loss)
    source = inputs.examples(x, y)
    batches = inputs.batches(source, batch_size)
    _probe(model, loss, batches, source, "x", "y")
    trainer = _compiled(model, loss, optimizer=None, manual=False)
    return trainer.evaluate(batches, verbose=0, return_dict=True)


def predict(model: keras.Model, x: Any, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """Return the model's outputs for the array ``x``, computed batch by batch in inference mode."""
    _check_model(model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    x = inputs.as_examples("x", x)
    forward = compiled_forward(model)
    outputs = [forward(x[start : start + batch_size]) for start in range(0, len(x), batch_size)]
    return np.concatenate([np.asarray(output) for output in outputs])


_FORWARD_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_forward(model: keras.Model) -> Callable[[Any], tf.Tensor]:
    """Return ``x -> model(x, training=False)`` as a ``tf.function``, one per model.

    Call it with a batch (one example ``e`` is ``e[None]``). It costs about a millisecond per
    call where ``model.predict`` costs tens, which is what interactive widgets need.
    """
    _check_model(model)
    if model not in _FORWARD_FUNCTIONS:
        # The function must not hold the model itself, or the cache would keep it alive.
        model_ref = weakref.ref(model)

        @tf.function(reduce_retracing=True)
        def forward(x: Any) -> tf.Tensor:
            return model_ref()(x, training=False)

        _FORWARD_FUNCTIONS[model] = forward
    return _FORWARD_FUNCTIONS[model]


# ----------------------------------------------------------------------------- compiling


# Losses after which fit also reports accuracy, and the Keras metric that measures it.
def _accuracy(loss: keras.losses.Loss) -> list[keras.metrics.Metric]:
    kind = type(loss).__name__
    if kind == "SparseCategoricalCrossentropy":
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if kind == "CategoricalCrossentropy":
        return [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if kind == "BinaryCrossentropy":
        # A logit of 0 is a probability of 1/2.
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
        return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)]
    return []


def _compiled(
    model: keras.Model, loss: keras.losses.Loss, optimizer: Any, *, manual: bool
) -> TapeTrainer:
    """A compiled trainer for ``model``, reused while loss, optimizer and weights stay the same.

    Reusing it reuses Keras' traced ``train_function`` (tracing costs about a second), as
    repeated ``Model.fit`` calls on one compiled model do.
    """
    kind = "evaluate" if optimizer is None else ("manual" if manual else "tape")
    key = (id(loss), id(optimizer), tuple(id(v) for v in model.trainable_variables))
    # Kept on the model itself (outside Keras' attribute tracking): a cache keyed by the
    # model would keep it alive, since the trainer holds the model. The dunder name keeps
    # it out of Keras' saving, which walks attributes (skipping "__" ones): it would save
    # the trainer into model.save_weights files and recurse model -> trainer -> model on
    # load_weights (and in BackupAndRestore).
    trainers = model.__dict__.setdefault("__mapping_lib_trainers__", {})
    if kind in trainers and trainers[kind][0] == key:
        return trainers[kind][1]
    # Created in the model's strategy scope, so that a model built under a
    # tf.distribute strategy is trained with it.
    with model.distribute_strategy.scope():
        trainer = (ManualTrainer if manual else TapeTrainer)(model)
        trainer.compile(
            optimizer=optimizer if optimizer is not None else "sgd",
            loss=loss,
            metrics=_accuracy(loss),
            jit_compile=False,  # XLA made the book's models slower on CPU
        )
    trainers[kind] = (key, trainer)
    return trainer


# ----------------------------------------------------------------------------- checks


def _probe(
    model: keras.Model,
    loss: keras.losses.Loss,
    batches: tf.data.Dataset,
    source: inputs.Source,
    name: str,
    labels_name: str,
) -> None:
    """Run one batch eagerly: builds the model and lets data errors surface with clear text."""
    if isinstance(source, tf.data.Dataset):
        inputs.check_batched(name, source, model)
    x, y = next(iter(batches))
    if isinstance(source, tf.data.Dataset):
        for part, value in ((name, x), (labels_name, y)):
            _checks.finite_array(f"the first batch of {part}", np.asarray(value))
    if name == "x":  # the first call builds the model: its errors are the model's own
        y_pred = model(x, training=False)
    else:
        try:
            y_pred = model(x, training=False)
        except ValueError as error:
            raise ValueError(f"{name} does not fit the model: {error}") from error
    if not isinstance(source, tf.data.Dataset):
        _check_targets(loss, labels_name, source[1], int(y_pred.shape[-1]))
    try:
        loss(y, y_pred)
    except ValueError as error:
        raise ValueError(f"{labels_name} does not fit the model's outputs: {error}") from error


def _check_targets(loss: keras.losses.Loss, name: str, y: np.ndarray, num_outputs: int) -> None:
    """Reject labels that cannot match the model's outputs, before any training."""
    kind = type(loss).__name__
    if kind == "SparseCategoricalCrossentropy":
        if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= num_outputs:
            raise ValueError(
                f"{name} must hold integer class labels in [0, {num_outputs}) for a model "
                f"with {num_outputs} outputs, got values from {y.min()} to {y.max()}"
            )
    elif kind == "BinaryCrossentropy" and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            f"{name} must hold 0/1 labels for BinaryCrossentropy, "
            f"got values from {y.min()} to {y.max()}"
        )


def _check_manual(model: keras.Model, loss: keras.losses.Loss) -> None:
    if not isinstance(model, keras.Sequential):
        raise ValueError(
            "manual=True needs a keras.Sequential of mapping_lib layers, "
            f"got a {type(model).__name__}"
        )
    foreign = [
        f"{layer.name} ({type(layer).__module__}.{type(layer).__name__})"
        for layer in model.layers
        if not isinstance(layer, BackpropLayer)
    ]
    if foreign:
        raise ValueError(
            "manual=True needs layers with a hand-written backward pass (mapping_lib.layers); "
            f"these have none: {', '.join(foreign)}"
        )
    if not callable(getattr(loss, "gradient", None)):
        raise ValueError(
            "manual=True needs a loss with a gradient(y_true, y_pred) method "
            f"(mapping_lib.losses), got {type(loss).__module__}.{type(loss).__name__}"
        )
    if model.losses:
        raise ValueError(
            "manual=True cannot train a model with weight penalties (model.losses): the "
            "hand-derived backward passes leave them out; use the optimizer's l1/l2 instead"
        )


def _optimizer_for(model: keras.Model, optimizer: Any) -> keras.optimizers.Optimizer:
    """``optim.get(optimizer)``, made in the model's strategy scope if given by name.

    An optimizer object keeps the strategy it was created under; Keras can only train a
    model built under a tf.distribute strategy with an optimizer of the same one.
    """
    strategy = model.distribute_strategy
    with strategy.scope():
        optimizer = optim.get(optimizer)
    own = getattr(optimizer, "_distribution_strategy", strategy)  # Keras' TF optimizers
    if own is not strategy:
        raise ValueError(
            f"optimizer was created outside the {type(strategy).__name__} scope the model was "
            f"built in (it belongs to {type(own).__name__}): create it inside "
            "`with strategy.scope():` too, or pass its name, e.g. optimizer='adam'"
        )
    return optimizer


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            "model must be a keras.Model (Sequential, functional or subclassed), "
            f"got {type(model).__name__}"
        )


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def _checked_callbacks(callbacks: Any) -> list[keras.callbacks.Callback]:
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of keras callbacks, got {callbacks!r}")
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                f"callbacks[{index}] must be a keras.callbacks.Callback, "
                f"got {type(callback).__name__}"
            )
    return list(callbacks)
