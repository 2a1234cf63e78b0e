"""Input pipelines: arrays or Datasets in, batches that ``keras.Model.fit`` can iterate out.

Arrays: ``x`` and ``y`` with one example per row. Floating point data becomes float32, integer
data is kept (a model's ``keras.Input`` casts it). They become a ``tf.data.Dataset`` that is
shuffled with a fixed seed (a new order every epoch, the same orders in every run) and batched.

A ``tf.data.Dataset`` must yield ``(x, y)`` pairs of *batches*, as ``keras.Model.fit`` expects:
it is used as it is, so ``batch_size`` and ``shuffle`` do not apply to it (batched with
``drop_remainder=True`` or not makes no difference). A Dataset of single examples is an error
once the model shows it (see :func:`check_batched`).

Every pipeline runs with :func:`pipeline_options`: tf.data's autotune stalled 4-7 s at some
epoch ends on the machine this book is built on.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks

PREFETCH_BATCHES = 2

Examples = tuple[np.ndarray, np.ndarray]
Source = Examples | tf.data.Dataset


def pipeline_options() -> tf.data.Options:
    """tf.data options for the book: autotune off (it stalled 4-7 s per epoch here), fixed order."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return options


def examples(x: Any, y: Any, names: tuple[str, str] = ("x", "y")) -> Source:
    """Check ``(x, y)`` arrays, or a Dataset ``x`` with ``y`` None; return them ready to batch.

    Args:
        x: inputs, one example per row, or a Dataset of ``(x, y)`` batches.
        y: targets (None when ``x`` is a Dataset).
        names: what to call ``x`` and ``y`` in error messages.
    """
    x_name, y_name = names
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError(
                f"{y_name} must be None when {x_name} is a tf.data.Dataset "
                "(the dataset yields the (x, y) pairs)"
            )
        return _checked_dataset(x_name, x)
    if x is None:
        raise ValueError(f"{x_name} must be an array or a tf.data.Dataset, got None")
    if y is None:
        raise ValueError(
            f"{y_name} is required when {x_name} is an array: pass the targets, "
            "or a tf.data.Dataset of (x, y) pairs as x"
        )
    x, y = as_examples(x_name, x), as_examples(y_name, y)
    _checks.same_length(x_name, x, y_name, y)
    return x, y


def as_examples(name: str, value: Any) -> np.ndarray:
    """Return ``value`` as a finite array of at least one example; floats become float32."""
    array = _checks.finite_array(name, value)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating) or array.dtype == bool:
        array = array.astype(np.float32, copy=False)
    return array


def training_and_validation(
    x: Any, y: Any, validation_data: Any, validation_split: float
) -> tuple[Source, Source | None]:
    """Check the training data and split off (or check) the validation data.

    ``validation_split`` holds out the last fraction of the arrays, before shuffling, as
    Keras does.
    """
    validation_split = _checks.in_range("validation_split", validation_split, 0.0, 1.0)
    train = examples(x, y)
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        return train, _validation_examples(validation_data)
    if not validation_split:
        return train, None
    if isinstance(train, tf.data.Dataset):
        raise ValueError(
            "validation_split needs array inputs; with a tf.data.Dataset pass validation_data"
        )
    x, y = train
    split_at = math.ceil(len(x) * (1.0 - validation_split))  # Keras' rule
    if split_at == len(x):
        raise ValueError(
            f"validation_split={validation_split} of {len(x)} examples leaves no example "
            "for validation; use a larger validation_split"
        )
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def batches(
    source: Source, batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """Turn arrays into a shuffled (if asked), batched, prefetched Dataset; pass Datasets on.

    Args:
        source: ``(x, y)`` arrays from :func:`examples`, or a Dataset of batches.
        batch_size: examples per batch (arrays only); the last batch may be smaller.
        shuffle: reshuffle the arrays every epoch (arrays only).
        seed: the shuffling seed: the same seed gives the same order of orders.
    """
    if isinstance(source, tf.data.Dataset):
        return source.with_options(pipeline_options())
    dataset = tf.data.Dataset.from_tensor_slices(source)
    if shuffle:
        dataset = dataset.shuffle(len(source[0]), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).with_options(pipeline_options()).prefetch(PREFETCH_BATCHES)


def check_batched(name: str, dataset: tf.data.Dataset, model: keras.Model) -> None:
    """Raise if ``dataset`` yields single examples where ``model`` takes batches.

    Keras' ``fit`` iterates a Dataset as batches; a Dataset of single examples would feed
    each example as a batch of rows. Only checkable for models with known inputs.
    """
    model_inputs = getattr(model, "inputs", None)
    if not model_inputs or len(model_inputs) != 1:
        return
    element = tf.nest.flatten(dataset.element_spec[0])
    if len(element) == 1 and element[0].shape.rank == len(model_inputs[0].shape) - 1:
        raise ValueError(
            f"{name} yields single examples of shape {tuple(element[0].shape)}, but the model "
            f"takes batches of shape {tuple(model_inputs[0].shape)}: batch the Dataset "
            "first, e.g. dataset.batch(32), as keras.Model.fit expects"
        )


def _validation_examples(validation_data: Any) -> Source:
    if isinstance(validation_data, tf.data.Dataset):
        return _checked_dataset("validation_data", validation_data)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        return examples(*validation_data, ("validation_data[0]", "validation_data[1]"))
    raise TypeError(
        "validation_data must be an (x_val, y_val) pair or a tf.data.Dataset, "
        f"got {type(validation_data).__name__}"
    )


def _checked_dataset(name: str, dataset: tf.data.Dataset) -> tf.data.Dataset:
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"{name} must yield (x, y) pairs, got elements of {spec}")
    size = int(dataset.cardinality())
    if size == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            f"{name} is an infinite Dataset (repeat() without a count), so an epoch would "
            "never end; use take(n) or drop the repeat()"
        )
    if size == 0:
        raise ValueError(f"{name} is an empty Dataset")
    return dataset
