"""Losses: one number that says how far a mapping's outputs are from the targets.

Every loss here is a ``keras.losses.Loss``, so ``Model.compile(loss=...)`` accepts it, and
it also knows its own derivative: ``loss.gradient(y_true, y_pred)`` returns dL/dy_pred,
derived by hand with plain TF ops. That derivative is where a manual backward pass starts.

Averaging follows Keras: each example's loss is the mean (squared error, binary
crossentropy) or the sum (categorical crossentropy) over the last axis, and the loss is the
mean of the per-example losses over the batch. So with N examples of D outputs each,
MSE = sum((y_pred - y)^2) / (N*D) and CE = -sum(y * log p) / N.

The crossentropies take Keras' default, ``from_logits=False``: ``y_pred`` holds
probabilities (the outputs of a final sigmoid/softmax), clipped to [eps, 1 - eps] with
``eps = keras.config.epsilon()`` so that log(0) never happens. Values outside [0, 1] are no
probabilities (most likely logits): in eager mode they trigger a warning, since the clip would
give them a zero gradient. ``from_logits=True`` means ``y_pred`` holds raw scores z and the
sigmoid/softmax happens inside the loss, in a numerically stable form; (categorical) rows that
look like softmax outputs then trigger a warning, since softmax would be applied twice. Pass
``from_logits=True`` whenever the model's last layer has no sigmoid/softmax.

The constructors follow Keras' signatures: ``from_logits`` is the first argument, ``name`` and
``dtype`` are keyword-only (Keras puts ``label_smoothing``, ``axis``, ``reduction`` or
``ignore_class`` before them; those are not supported here), so any call accepted here means
the same to ``keras.losses``.

``y_true`` and ``y_pred`` must hold real numbers (bool, int or float); strings, objects and
complex numbers raise a TypeError.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import tensorflow as tf

from mapping_lib._checks import numeric_dtype, one_of

# Softmax rows sum to 1 up to float32 round-off (~1e-7); rows of real logits that are all
# non-negative and sum to 1 within 1e-3 are so unlikely that a warning costs nothing.
_ROW_SUM_TOLERANCE = 1e-3


def _shape(tensor: tf.Tensor) -> tuple:
    return tuple(tensor.shape)


def _count(tensor: tf.Tensor) -> tf.Tensor:
    """Number of entries of ``tensor``, in its dtype (the divisor of a mean)."""
    return tf.cast(tf.size(tensor), tensor.dtype)


def _rows(y_pred: tf.Tensor) -> tf.Tensor:
    """Number of examples: all entries divided by the length of the last (class) axis."""
    return tf.cast(tf.size(y_pred) // tf.shape(y_pred)[-1], y_pred.dtype)


def _clip(probabilities: tf.Tensor) -> tf.Tensor:
    eps = keras.config.epsilon()
    return tf.clip_by_value(probabilities, eps, 1.0 - eps)


def _inside_clip(probabilities: tf.Tensor) -> tf.Tensor:
    """1 where clipping left the entry alone, else 0: the derivative of the clip."""
    eps = keras.config.epsilon()
    inside = (probabilities >= eps) & (probabilities <= 1.0 - eps)
    return tf.cast(inside, probabilities.dtype)


def _require_batch(y_pred: tf.Tensor) -> None:
    if y_pred.shape.rank == 0:
        raise ValueError(
            "y_pred must have at least one axis (a batch of predictions), got a scalar"
        )


def _match_rank(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Let targets of shape (N,) meet predictions of shape (N, 1) and the reverse.

    Without this, broadcasting would silently turn (N,) - (N, 1) into an (N, N) matrix.
    """
    extra_axes = y_pred.shape.rank - y_true.shape.rank
    if extra_axes == 1 and y_pred.shape[-1] == 1:
        return tf.expand_dims(y_true, -1)
    if extra_axes == -1 and y_true.shape[-1] == 1:
        return tf.squeeze(y_true, -1)
    return y_true


def _one_hot_labels(labels: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Check integer class labels against ``y_pred`` and turn them into one-hot rows."""
    if labels.shape.rank == y_pred.shape.rank and labels.shape[-1] == 1:
        labels = tf.squeeze(labels, -1)
    if not labels.shape.is_compatible_with(y_pred.shape[:-1]):
        raise ValueError(
            f"y_true must hold one class label per row of y_pred, so its shape must be "
            f"{_shape(y_pred)[:-1]}; got y_true shape {_shape(labels)} and y_pred shape "
            f"{_shape(y_pred)}"
        )
    num_classes = tf.shape(y_pred)[-1]
    if tf.executing_eagerly():
        _check_labels_eagerly(labels, int(num_classes))
    else:
        # A one-hot row of an out-of-range label is all zeros: the example would silently
        # contribute nothing. These checks cost two reductions per batch.
        message = "y_true must hold class labels in [0, number of classes of y_pred)"
        tf.debugging.assert_non_negative(labels, message=message)
        tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype), message=message)
    return tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=y_pred.dtype)


def _check_labels_eagerly(labels: tf.Tensor, num_classes: int) -> None:
    if tf.size(labels) == 0:
        return
    whole = labels == tf.round(labels)
    if not bool(tf.reduce_all(whole)):
        example = float(tf.boolean_mask(labels, ~whole)[0])
        raise ValueError(f"y_true must hold integer class labels, got {example}")
    low, high = float(tf.reduce_min(labels)), float(tf.reduce_max(labels))
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"y_true must hold class labels in [0, {num_classes}) because y_pred has "
            f"{num_classes} classes, got labels from {low:g} to {high:g}"
        )


def _warn_if_probabilities(loss_name: str, y_pred: tf.Tensor) -> None:
    """Warn when 'logits' look exactly like softmax outputs (checked in eager mode only)."""
    if not tf.executing_eagerly() or y_pred.shape[-1] in (None, 1) or tf.size(y_pred) == 0:
        return
    row_sums = tf.reduce_sum(y_pred, axis=-1)
    non_negative = bool(tf.reduce_min(y_pred) >= 0)
    if non_negative and float(tf.reduce_max(tf.abs(row_sums - 1))) <= _ROW_SUM_TOLERANCE:
        warnings.warn(
            f"{loss_name}(from_logits=True) got y_pred whose rows are all non-negative and "
            "sum to 1: these look like softmax probabilities, not logits. Applying softmax "
            "twice flattens the outputs and slows learning. Either remove the softmax from "
            "the model's last layer or use from_logits=False.",
            UserWarning,
            stacklevel=2,
        )


def _warn_if_not_probabilities(loss_name: str, y_pred: tf.Tensor) -> None:
    """Warn when 'probabilities' leave [0, 1] (checked in eager mode only, like the above).

    The clip maps them to eps or 1 - eps, where the gradient is 0: training would stall.
    """
    if not tf.executing_eagerly() or tf.size(y_pred) == 0:
        return
    low, high = float(tf.reduce_min(y_pred)), float(tf.reduce_max(y_pred))
    if low < 0 or high > 1:
        warnings.warn(
            f"{loss_name}(from_logits=False) got y_pred values from {low:g} to {high:g}, "
            "outside [0, 1]: these are not probabilities. They are clipped to [eps, 1 - eps], "
            "where the gradient is 0, so training stalls. If the model's last layer has no "
            "sigmoid/softmax (its outputs are logits), use from_logits=True.",
            UserWarning,
            stacklevel=2,
        )


def _check_numbers(y_true: Any, y_pred: Any) -> None:
    """Raise a TypeError naming y_true or y_pred when it holds no real numbers."""
    numeric_dtype("y_true", y_true)
    numeric_dtype("y_pred", y_pred)


class _Loss(keras.losses.Loss):
    """Shared plumbing: preparing inputs, the Keras hook ``call`` and ``gradient``.

    Subclasses write ``_per_example(y_true, y_pred)`` (one loss per example; Keras takes
    the batch mean) and ``_gradient(y_true, y_pred)`` (dL/dy_pred of that batch mean).
    """

    def __init__(self, name: str, dtype: Any = None) -> None:
        super().__init__(name=name, reduction="sum_over_batch_size", dtype=dtype)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tf.Tensor:
        """Return the batch mean of the losses, checking the dtypes before Keras converts."""
        _check_numbers(y_true, y_pred)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        """Per-example losses; ``keras.losses.Loss.__call__`` averages them."""
        return self._per_example(*self._prepare(*self._tensors(y_true, y_pred)))

    def gradient(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        """Return dL/dy_pred of ``L = self(y_true, y_pred)``, with the shape of ``y_pred``."""
        _check_numbers(y_true, y_pred)
        return self._gradient(*self._prepare(*self._tensors(y_true, y_pred)))

    def _tensors(self, y_true: Any, y_pred: Any) -> tuple[tf.Tensor, tf.Tensor]:
        # Keras converts nested lists element by element, so convert them whole here.
        return (
            keras.ops.convert_to_tensor(y_true, dtype=self.dtype),
            keras.ops.convert_to_tensor(y_pred, dtype=self.dtype),
        )

    def _prepare(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        _require_batch(y_pred)
        y_true = _match_rank(y_true, y_pred)
        if not y_true.shape.is_compatible_with(y_pred.shape):
            raise ValueError(
                f"y_true and y_pred must have the same shape, got y_true shape "
                f"{_shape(y_true)} and y_pred shape {_shape(y_pred)}"
            )
        return y_true, y_pred

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class _Crossentropy(_Loss):
    """A loss that reads ``y_pred`` either as logits or as probabilities."""

    def __init__(self, from_logits: bool, name: str, dtype: Any) -> None:
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        super().__init__(name=name, dtype=dtype)
        self.from_logits = from_logits

    def _prepare(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        y_true, y_pred = super()._prepare(y_true, y_pred)
        if not self.from_logits:
            _warn_if_not_probabilities(type(self).__name__, y_pred)
        return y_true, y_pred

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="mapping_lib")
class MeanSquaredError(_Loss):
    """L = mean over all entries of (y_pred - y)^2;  dL/dy_pred = 2 (y_pred - y) / (N*D)."""

    def __init__(self, *, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)

    def _gradient(self, y_true, y_pred):
        return 2.0 * (y_pred - y_true) / _count(y_pred)


@keras.saving.register_keras_serializable(package="mapping_lib")
class BinaryCrossentropy(_Crossentropy):
    """L = mean over all entries of -[y log p + (1 - y) log(1 - p)].

    By default (``from_logits=False``, as in Keras) ``y_pred`` holds the probabilities p, e.g.
    the outputs of a final sigmoid, and dL/dp = (p - y) / (p (1 - p)) / (N*D), 0 where p was
    clipped. With ``from_logits=True`` it holds logits z and p = sigmoid(z); the value is then
    computed as max(z, 0) - z y + log(1 + exp(-|z|)), which never overflows, and
    dL/dz = (sigmoid(z) - y) / (N*D).
    """

    def __init__(
        self, from_logits: bool = False, *, name: str = "binary_crossentropy", dtype: Any = None
    ) -> None:
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            entries = tf.maximum(z, 0.0) - z * y_true + tf.math.log1p(tf.exp(-tf.abs(z)))
        else:
            p = _clip(y_pred)
            entries = -(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
        return tf.reduce_mean(entries, axis=-1)

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            return (tf.sigmoid(y_pred) - y_true) / _count(y_pred)
        p = _clip(y_pred)
        return (p - y_true) / (p * (1.0 - p)) * _inside_clip(y_pred) / _count(y_pred)


@keras.saving.register_keras_serializable(package="mapping_lib")
class CategoricalCrossentropy(_Crossentropy):
    """L = mean over examples of -sum_c y_c log p_c, y one-hot rows.

    By default (``from_logits=False``, as in Keras) ``y_pred`` holds the probability rows p,
    e.g. the outputs of a final softmax. With ``from_logits=True`` it holds logits z and
    p = softmax(z): log p_c = z_c - logsumexp(z) and logsumexp subtracts max(z) before
    exponentiating, so large scores do not overflow. dL/dz = (softmax(z) * sum_c y_c - y)/N,
    which is (softmax(z) - y)/N for one-hot or probability targets. From probabilities,
    dL/dp = -y / p / N, and 0 where p was clipped. Probability rows are used as given
    (Keras also rescales them to sum to 1).

    With ``from_logits=True``, ``y_pred`` rows that look like softmax outputs trigger a
    warning in eager mode: softmax followed by a from-logits loss is a common bug.
    """

    def __init__(
        self,
        from_logits: bool = False,
        *,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)

    def _prepare(self, y_true, y_pred):
        y_true, y_pred = super()._prepare(y_true, y_pred)
        if self.from_logits:
            _warn_if_probabilities(type(self).__name__, y_pred)
        return y_true, y_pred

    def _per_example(self, y_true, y_pred):
        if self.from_logits:
            log_p = y_pred - tf.reduce_logsumexp(y_pred, axis=-1, keepdims=True)
        else:
            log_p = tf.math.log(_clip(y_pred))
        return -tf.reduce_sum(y_true * log_p, axis=-1)

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            target_mass = tf.reduce_sum(y_true, axis=-1, keepdims=True)
            return (tf.nn.softmax(y_pred) * target_mass - y_true) / _rows(y_pred)
        return -y_true / _clip(y_pred) * _inside_clip(y_pred) / _rows(y_pred)


@keras.saving.register_keras_serializable(package="mapping_lib")
class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy with integer class labels instead of one-hot rows.

    ``y_true`` has shape ``y_pred.shape[:-1]`` (or that plus a trailing 1) and holds
    labels in [0, number of classes). They become one-hot rows, so value and gradient are
    those of ``CategoricalCrossentropy``: from probabilities (the default,
    ``from_logits=False``) dL/dp = -one_hot(y) / p / N; from logits (``from_logits=True``)
    dL/dz = (softmax(z) - one_hot(y)) / N.
    """

    def __init__(
        self,
        from_logits: bool = False,
        *,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)

    def _prepare(self, y_true, y_pred):
        _require_batch(y_pred)
        return super()._prepare(_one_hot_labels(y_true, y_pred), y_pred)


_BY_NAME = {
    "mse": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(name_or_obj: str | keras.losses.Loss) -> keras.losses.Loss:
    """Return a loss by name or pass a loss object through.

    Names: "mse", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy". As with ``keras.losses.get``, the crossentropies
    built from a name read ``y_pred`` as probabilities (``from_logits=False``); for a model
    that outputs logits pass e.g. ``SparseCategoricalCrossentropy(from_logits=True)``
    instead of the name. Any ``keras.losses.Loss`` is returned unchanged.
    """
    if isinstance(name_or_obj, keras.losses.Loss):
        return name_or_obj
    if not isinstance(name_or_obj, str):
        raise TypeError(
            f"loss must be a loss name or a keras.losses.Loss, got {type(name_or_obj).__name__}"
        )
    return _BY_NAME[one_of("loss", name_or_obj, _BY_NAME)]()
