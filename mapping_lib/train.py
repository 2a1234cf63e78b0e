"""Training: the GradientTape loop of the seed texts, written out once and done carefully.

Each step runs ``model(x, training=True)`` under a ``tf.GradientTape``, asks the tape for
dL/dw and hands the gradients to the optimizer, all inside one ``tf.function`` (no XLA: it
is slower on CPU here). Batches come from a tf.data pipeline with autotune off. Around that
loop ``fit`` adds what the seed texts left out: a validation pass in inference mode,
per-epoch averages weighted by batch size, early stopping, learning-rate reduction, a guard
that stops when the loss becomes NaN, a clean stop on Ctrl-C and a progress bar.

``fit(..., manual=True)`` swaps the tape for the layers' own hand-derived backward passes
(``mapping_lib.layers``), so the two ways of computing gradients can be compared on the
same model, data and optimizer.

Data rules. Arrays: ``x`` and ``y`` with one example per row; floating point data becomes
float32, integer data is kept (a model's ``keras.Input`` casts it). A ``tf.data.Dataset``
must yield ``(x, y)`` pairs. One of single examples (what ``from_tensor_slices`` gives) is
shuffled and batched like arrays; one that is already batched (its leading dimension is
unknown, which is what ``.batch()`` without ``drop_remainder`` gives) is used as it is, so
``batch_size`` and ``shuffle`` do not apply to it.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from mapping_lib import _checks, device, losses, optim
from mapping_lib.data import pipeline_options
from mapping_lib.layers import BackpropLayer, backward_sequence

EVAL_BATCH_SIZE = 256
PREFETCH_BATCHES = 2
# A Dataset of unknown length cannot be shuffled as a whole; this many examples are mixed.
STREAM_SHUFFLE_BUFFER = 10_000

# Losses after which fit also reports accuracy, and how it reads the targets.
_CLASSIFICATION_KINDS = {
    "BinaryCrossentropy": "binary",
    "CategoricalCrossentropy": "categorical",
    "SparseCategoricalCrossentropy": "sparse",
}

Examples = tuple[np.ndarray, np.ndarray]
Source = Examples | tf.data.Dataset
Logs = dict[str, float]


# ----------------------------------------------------------------------------- public objects


@dataclass
class History:
    """What ``fit`` learned along the way, shaped like Keras' ``History``.

    ``history`` maps "loss", "accuracy" (classification losses), "val_loss", "val_accuracy"
    (with validation data) and "lr" (the learning rate used during the epoch) to one value per
    completed epoch; ``epoch`` lists their indices (from 0, as in Keras); ``stop_reason`` says
    why training ended early: None (it ran all epochs), "early_stopping", "diverged",
    "interrupted" or "hook".
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    stop_reason: str | None = None

    def record(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Append one epoch's logs."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


@dataclass(frozen=True)
class EarlyStopping:
    """Stop once ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Metrics whose name ends in "accuracy" improve upwards, all others downwards. Without
    validation data a "val_" monitor falls back to its training twin (with a warning). With
    ``restore_best`` the model ends with the weights of its best epoch, however training ended
    (except on Ctrl-C, which keeps the current weights).
    """

    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self) -> None:
        _check_monitor_name(self.monitor)
        _checks.non_negative_int("patience", self.patience)
        _checks.non_negative_float("min_delta", self.min_delta)
        _check_flag("restore_best", self.restore_best)


@dataclass(frozen=True)
class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    The rate never drops below ``min_lr``. Works with mapping_lib and Keras optimizers that
    have a plain (not scheduled) learning rate.
    """

    monitor: str = "val_loss"
    factor: float = 0.5
    patience: int = 2
    min_lr: float = 1e-6

    def __post_init__(self) -> None:
        _check_monitor_name(self.monitor)
        _checks.in_range("factor", self.factor, 0.0, 1.0, closed="()")
        _checks.positive_int("patience", self.patience)
        _checks.non_negative_float("min_lr", self.min_lr)


# ----------------------------------------------------------------------------- public functions


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
    early_stopping: EarlyStopping | None = None,
    reduce_lr: ReduceLROnPlateau | None = None,
    on_epoch_end: Callable[[int, Logs], Any] | None = None,
    manual: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` on ``(x, y)`` (arrays) or on ``x`` (a Dataset of pairs); return a History.

    A Dataset of single examples is shuffled and batched like arrays; an already batched one
    is used as it is (see the module doc). ``loss`` and ``optimizer`` are objects or names
    (``mapping_lib.losses.get``, ``mapping_lib.optim.get``). ``validation_split`` holds out
    the last fraction of the arrays, before shuffling (as Keras does); validation runs in
    batches of ``EVAL_BATCH_SIZE``. ``seed`` fixes the shuffling order (default: the book's
    seed, ``mapping_lib.device.book_seed()``); initial weights and dropout masks follow Keras'
    seeding (``mapping_lib.device.seed_everything``).
    ``on_epoch_end(epoch, logs)`` runs after every epoch; returning True (also a NumPy or TF
    boolean) stops training.
    ``manual=True`` computes gradients with the layers' ``backward`` instead of a tape.

    A non-finite batch loss stops training at once with a warning and restores the best
    weights seen so far (the initial ones if no epoch finished). Ctrl-C stops training, keeps
    the current weights and returns the history so far.
    """
    _check_model(model)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    seed = device.book_seed() if seed is None else _checks.non_negative_int("seed", seed)
    for name, flag in (("shuffle", shuffle), ("manual", manual), ("progress", progress)):
        _check_flag(name, flag)
    _check_optional("early_stopping", early_stopping, EarlyStopping)
    _check_optional("reduce_lr", reduce_lr, ReduceLROnPlateau)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be callable, got {type(on_epoch_end).__name__}")

    train_source, val_source = _training_and_validation(x, y, validation_data, validation_split)
    objective = _Objective(losses.get(loss))
    optimizer = optim.get(optimizer)
    if manual:
        _check_manual(model, objective.loss)
    if reduce_lr is not None:
        _check_settable_learning_rate(optimizer)

    train_batches = _batches(train_source, batch_size, shuffle=shuffle, seed=seed)
    _probe(model, objective, train_batches, train_source, "y")
    if not model.trainable_variables:
        raise ValueError("model has no trainable variables: there is nothing to train")
    evaluate_validation = None
    if val_source is not None:
        val_batches = _batches(val_source, EVAL_BATCH_SIZE)
        _probe(model, objective, val_batches, val_source, "validation_data[1]")
        evaluate_validation = _evaluator(model, objective, val_batches)
    _build_keras_optimizer(optimizer, model)

    loop = _TrainingLoop(
        model=model,
        optimizer=optimizer,
        train_step=_compiled_train_step(
            model, objective, optimizer, train_batches.element_spec, manual=manual
        ),
        train_batches=train_batches,
        evaluate=evaluate_validation,
        metric_names=objective.metric_names(validation=val_source is not None),
        early_stopping=early_stopping,
        reduce_lr=reduce_lr,
        on_epoch_end=on_epoch_end,
    )
    return loop.run(epochs, progress)


def evaluate(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    loss: str | keras.losses.Loss,
    batch_size: int = EVAL_BATCH_SIZE,
) -> Logs:
    """Return {"loss": ..., "accuracy": ...} of ``model`` in inference mode on ``(x, y)``.

    Accepts the same data as ``fit``; "accuracy" appears for classification losses. The loss
    includes the model's regularisation penalties (``model.losses``), as in Keras.
    """
    _check_model(model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    source = _examples(x, y)
    objective = _Objective(losses.get(loss))
    batches = _batches(source, batch_size)
    _probe(model, objective, batches, source, "y")
    return _evaluator(model, objective, batches)()


def predict(model: keras.Model, x: Any, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """Return the model's outputs for the array ``x``, computed batch by batch in inference mode."""
    _check_model(model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    x = _as_examples("x", x)
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


# ----------------------------------------------------------------------------- the epoch loop


class _Diverged(Exception):
    def __init__(self, epoch: int, batch: int, loss: float) -> None:
        super().__init__(epoch, batch, loss)
        self.epoch, self.batch, self.loss = epoch, batch, loss


class _Plateau:
    """The best value one logged metric has reached, and the epochs since it last improved."""

    def __init__(self, monitor: str, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.min_delta = min_delta
        # Compare as "smaller is better" by flipping the sign of accuracies.
        self._sign = -1.0 if monitor.endswith("accuracy") else 1.0
        self._best = math.inf
        self.epochs_without_improvement = 0

    def update(self, logs: Mapping[str, float]) -> bool:
        """Take one epoch's logs; return whether the monitored metric improved."""
        value = self._sign * logs[self.monitor]
        if value < self._best - self.min_delta:  # NaN never counts as an improvement
            self._best = value
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return False


class _BestWeights:
    """A copy of the weights from the epoch where the monitored metric was best."""

    def __init__(self, model: keras.Model, plateau: _Plateau) -> None:
        self.model = model
        self.plateau = plateau
        self.weights = model.get_weights()
        self.epoch: int | None = None

    def update(self, epoch: int, logs: Mapping[str, float]) -> None:
        if self.plateau.update(logs):
            self.weights = self.model.get_weights()
            self.epoch = epoch

    def restore(self) -> None:
        self.model.set_weights(self.weights)

    def describe(self) -> str:
        if self.epoch is None:
            return "the initial weights (no finished epoch improved on them)"
        return f"the weights from the end of epoch {self.epoch + 1} (best {self.plateau.monitor})"


class _TrainingLoop:
    """Epochs of batches, then the end-of-epoch decisions; one instance per ``fit`` call."""

    def __init__(
        self,
        *,
        model: keras.Model,
        optimizer: Any,
        train_step: Callable[[Any, Any], dict[str, tf.Tensor]],
        train_batches: tf.data.Dataset,
        evaluate: Callable[[], Logs] | None,
        metric_names: list[str],
        early_stopping: EarlyStopping | None,
        reduce_lr: ReduceLROnPlateau | None,
        on_epoch_end: Callable[[int, Logs], Any] | None,
    ) -> None:
        self.optimizer = optimizer
        self.train_step = train_step
        self.train_batches = train_batches
        self.evaluate = evaluate
        self.early_stopping = early_stopping
        self.reduce_lr = reduce_lr
        self.on_epoch_end = on_epoch_end
        monitor, min_delta = ("val_loss" if evaluate is not None else "loss"), 0.0
        if early_stopping is not None:
            monitor = _resolve_monitor("early_stopping", early_stopping.monitor, metric_names)
            min_delta = early_stopping.min_delta
        # The best epoch by this monitor is what divergence and early stopping fall back to.
        self.best = _BestWeights(model, _Plateau(monitor, min_delta))
        self.lr_plateau = None
        if reduce_lr is not None:
            monitor = _resolve_monitor("reduce_lr", reduce_lr.monitor, metric_names)
            self.lr_plateau = _Plateau(monitor)
        self.history = History()
        self.epoch = 0

    def run(self, epochs: int, progress: bool) -> History:
        steps = int(self.train_batches.cardinality())
        total = epochs * steps if steps > 0 else None
        with tqdm(total=total, disable=not progress, unit="batch", dynamic_ncols=True) as bar:
            try:
                for epoch in range(epochs):
                    self.epoch = epoch
                    bar.set_description(f"epoch {self.epoch + 1}/{epochs}")
                    logs = self._run_epoch(bar)
                    bar.set_postfix(logs)
                    self.history.stop_reason = self._end_epoch(logs)
                    if self.history.stop_reason is not None:
                        break
            except _Diverged as diverged:
                self._stop_diverged(diverged, epochs)
            except KeyboardInterrupt:
                self._stop_interrupted(epochs)
        if self.history.stop_reason not in ("diverged", "interrupted") and self._restores_best:
            self.best.restore()
        return self.history

    @property
    def _restores_best(self) -> bool:
        return self.early_stopping is not None and self.early_stopping.restore_best

    def _run_epoch(self, bar: tqdm) -> Logs:
        learning_rate = _learning_rate(self.optimizer)
        totals = _Totals()
        for batch, (x, y) in enumerate(self.train_batches):
            stats = totals.add(self.train_step(x, y))
            if not math.isfinite(stats["loss"]):
                raise _Diverged(self.epoch, batch, stats["loss"])
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.4g}", refresh=False)
        logs = totals.averages()
        if self.evaluate is not None:
            logs.update({f"val_{key}": value for key, value in self.evaluate().items()})
        logs["lr"] = learning_rate
        return logs

    def _end_epoch(self, logs: Logs) -> str | None:
        """Record the epoch and return why training must stop now, or None."""
        self.history.record(self.epoch, logs)
        self.best.update(self.epoch, logs)
        if self.on_epoch_end is not None:
            if _asks_to_stop(self.on_epoch_end(self.epoch, dict(logs))):
                return "hook"
        if self.early_stopping is not None and self._patience_ran_out():
            return "early_stopping"
        if self.lr_plateau is not None:
            self._maybe_reduce_learning_rate(logs)
        return None

    def _patience_ran_out(self) -> bool:
        waited = self.best.plateau.epochs_without_improvement
        # waited > 0: with patience=0 an improving epoch must still not stop training.
        return waited > 0 and waited >= self.early_stopping.patience

    def _maybe_reduce_learning_rate(self, logs: Logs) -> None:
        if self.lr_plateau.update(logs):
            return
        if self.lr_plateau.epochs_without_improvement >= self.reduce_lr.patience:
            current = _learning_rate(self.optimizer)
            reduced = max(current * self.reduce_lr.factor, self.reduce_lr.min_lr)
            if reduced < current:  # a rate already at min_lr stays there
                self.optimizer.learning_rate = reduced
            self.lr_plateau.epochs_without_improvement = 0

    def _stop_diverged(self, diverged: _Diverged, epochs: int) -> None:
        self.history.stop_reason = "diverged"
        self.best.restore()
        warnings.warn(
            f"Training diverged: the loss became {diverged.loss} in epoch "
            f"{diverged.epoch + 1}/{epochs}, batch {diverged.batch + 1}. Stopped and restored "
            f"{self.best.describe()}. Try a lower learning rate (10x smaller is a good first "
            "step) and check the data for NaN/inf values. The optimizer's state may hold "
            "NaN as well: pass a fresh optimizer when training again.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _stop_interrupted(self, epochs: int) -> None:
        self.history.stop_reason = "interrupted"
        completed = len(self.history.epoch)
        print(
            f"Training interrupted in epoch {self.epoch + 1}/{epochs}. The model keeps its "
            f"current weights; the history holds the {completed} completed epoch(s)."
        )


def _asks_to_stop(answer: Any) -> bool:
    """Whether a hook's return value is True, as a Python, NumPy or TF boolean scalar.

    ``np.float32(loss) < 0.1`` is a ``numpy.bool_``, which ``is True`` would miss. Other values
    (None, numbers, strings) never stop training, as before.
    """
    if isinstance(answer, bool):
        return answer
    kind = _checks.dtype_kind(answer)[0] if hasattr(answer, "dtype") else None
    return kind == "bool" and np.ndim(answer) == 0 and bool(answer)


class _Totals:
    """Running sums over batches, for averages weighted by batch size (as Keras reports)."""

    def __init__(self) -> None:
        self.examples = 0.0
        self.loss = 0.0
        self.correct: float | None = None

    def add(self, stats: Mapping[str, tf.Tensor]) -> dict[str, float]:
        """Add one batch's statistics; return them as Python floats."""
        values = {key: float(value) for key, value in stats.items()}
        self.examples += values["count"]
        self.loss += values["loss"] * values["count"]
        if "correct" in values:
            self.correct = (self.correct or 0.0) + values["correct"]
        return values

    def averages(self) -> Logs:
        logs = {"loss": self.loss / self.examples}
        if self.correct is not None:
            logs["accuracy"] = self.correct / self.examples
        return logs


def _resolve_monitor(owner: str, monitor: str, metric_names: list[str]) -> str:
    if monitor.startswith("val_") and "val_loss" not in metric_names:
        fallback = monitor.removeprefix("val_")
        warnings.warn(
            f"{owner} monitors {monitor!r}, but fit has no validation data; "
            f"monitoring the training {fallback!r} instead",
            UserWarning,
            stacklevel=4,
        )
        monitor = fallback
    return _checks.one_of(f"{owner}.monitor", monitor, metric_names)


# ----------------------------------------------------------------------------- the steps


class _Objective:
    """The loss to minimise, plus the accuracy that goes with it for classification losses."""

    def __init__(self, loss: keras.losses.Loss) -> None:
        self.loss = loss
        self.kind = _CLASSIFICATION_KINDS.get(type(loss).__name__)
        self.from_logits = bool(getattr(loss, "from_logits", False))

    def metric_names(self, validation: bool) -> list[str]:
        names = ["loss"] if self.kind is None else ["loss", "accuracy"]
        return names + [f"val_{name}" for name in names] if validation else names

    def batch_stats(self, y_true: tf.Tensor, y_pred: tf.Tensor, loss: tf.Tensor) -> dict:
        """The batch's mean loss, its size and, for classification, how many it got right."""
        stats = {"loss": loss, "count": tf.shape(y_pred)[0]}
        if self.kind is not None:
            stats["correct"] = tf.reduce_sum(self._hits(y_true, y_pred))
        return stats

    def _hits(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """Per example: 1 where the predicted class is right (binary: the fraction right)."""
        if self.kind == "binary":
            threshold = 0.0 if self.from_logits else 0.5
            predicted = y_pred > threshold
            # Labels may arrive as int32 (the toy sets) or float; compare them as floats.
            actual = tf.reshape(tf.cast(y_true, tf.float32), tf.shape(y_pred)) > 0.5
            hits = tf.cast(predicted == actual, tf.float32)
            return tf.reduce_mean(tf.reshape(hits, [tf.shape(y_pred)[0], -1]), axis=-1)
        predicted = tf.argmax(y_pred, axis=-1)
        if self.kind == "categorical":
            actual = tf.argmax(y_true, axis=-1)
        else:
            actual = tf.cast(tf.reshape(y_true, tf.shape(predicted)), predicted.dtype)
        return tf.cast(tf.equal(predicted, actual), tf.float32)

    def check_targets(self, name: str, y: np.ndarray, num_outputs: int) -> None:
        """Reject labels that cannot match the model's outputs, before any training."""
        if self.kind == "sparse":
            if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= num_outputs:
                raise ValueError(
                    f"{name} must hold integer class labels in [0, {num_outputs}) for a model "
                    f"with {num_outputs} outputs, got values from {y.min()} to {y.max()}"
                )
        elif self.kind == "binary" and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"{name} must hold 0/1 labels for BinaryCrossentropy, "
                f"got values from {y.min()} to {y.max()}"
            )


def _regularization_penalty(model: keras.Model) -> tf.Tensor | float:
    # Keras' own train and test steps add these (kernel_regularizer, add_loss) to the loss.
    return tf.add_n(model.losses) if model.losses else 0.0


# Compiled steps are kept per model and reused by later calls with the same loss, optimizer
# and batch layout, as Keras keeps ``model.train_function``: tracing costs about a second per
# call, and TensorFlow warns when it happens often. Only the latest step of each kind is kept,
# so the slots of discarded optimizers do not pile up. Identity keys are safe: a cached step
# keeps its loss and optimizer alive. Steps hold the model weakly, as compiled_forward does.
_COMPILED_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(model: keras.Model, kind: str, key: tuple, build: Callable[[], Callable]) -> Callable:
    steps = _COMPILED_STEPS.setdefault(model, {})
    if kind not in steps or steps[kind][0] != key:
        steps[kind] = (key, build())
    return steps[kind][1]


def _compiled_train_step(
    model: keras.Model, objective: _Objective, optimizer: Any, signature: Any, *, manual: bool
) -> Callable:
    variables = tuple(id(variable) for variable in model.trainable_variables)
    key = (manual, id(objective.loss), id(optimizer), repr(signature), variables)
    make_step = _manual_train_step if manual else _tape_train_step
    return _cached(model, "train", key, lambda: make_step(model, objective, optimizer, signature))


def _tape_train_step(
    model: keras.Model, objective: _Objective, optimizer: Any, signature: Any
) -> Callable:
    model_ref = weakref.ref(model)
    variables = model.trainable_variables

    @tf.function(input_signature=signature)
    def train_step(x: Any, y: tf.Tensor) -> dict:
        model = model_ref()  # Python code runs while tracing only: the graph holds no model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = objective.loss(y, y_pred) + _regularization_penalty(model)
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return objective.batch_stats(y, y_pred, loss)

    return train_step


def _manual_train_step(
    model: keras.Sequential, objective: _Objective, optimizer: Any, signature: Any
) -> Callable:
    layers = list(model.layers)
    # backward_sequence returns gradients in this order: layer by layer, as created.
    variables = [variable for layer in layers for variable in layer.trainable_variables]

    # A plain Python loop over a fixed list of layers: nothing for autograph to convert, and
    # converting it would snapshot the caller's locals (keeping the model alive a while).
    @tf.function(input_signature=signature, autograph=False)
    def train_step(x: tf.Tensor, y: tf.Tensor) -> dict:
        y_pred = x
        for layer in layers:
            y_pred = layer(y_pred, training=True)
        _, gradients = backward_sequence(layers, objective.loss.gradient(y, y_pred))
        optimizer.apply_gradients(zip(gradients, variables))
        return objective.batch_stats(y, y_pred, objective.loss(y, y_pred))

    return train_step


def _evaluator(
    model: keras.Model, objective: _Objective, batches: tf.data.Dataset
) -> Callable[[], Logs]:
    """Return a function that averages loss (and accuracy) over ``batches``, inference mode."""
    signature = batches.element_spec
    key = (id(objective.loss), repr(signature))
    eval_step = _cached(model, "evaluate", key, lambda: _eval_step(model, objective, signature))

    def evaluate() -> Logs:
        totals = _Totals()
        for x, y in batches:
            totals.add(eval_step(x, y))
        return totals.averages()

    return evaluate


def _eval_step(model: keras.Model, objective: _Objective, signature: Any) -> Callable:
    model_ref = weakref.ref(model)

    @tf.function(input_signature=signature)
    def eval_step(x: Any, y: tf.Tensor) -> dict:
        model = model_ref()  # as in _tape_train_step
        y_pred = model(x, training=False)
        loss = objective.loss(y, y_pred) + _regularization_penalty(model)
        return objective.batch_stats(y, y_pred, loss)

    return eval_step


def _probe(
    model: keras.Model,
    objective: _Objective,
    batches: tf.data.Dataset,
    source: Source,
    labels_name: str,
) -> None:
    """Run one batch eagerly: builds the model and lets shape errors surface with clear text."""
    x, y = next(iter(batches))
    y_pred = model(x, training=False)
    if not isinstance(source, tf.data.Dataset):
        objective.check_targets(labels_name, source[1], int(y_pred.shape[-1]))
    objective.loss(y, y_pred)


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


def _learning_rate(optimizer: Any) -> float:
    return float(np.asarray(optimizer.learning_rate))


def _check_settable_learning_rate(optimizer: Any) -> None:
    # A plain rate is a variable (ours and Keras'); a scheduled one reads as a fresh tensor.
    if not isinstance(optimizer.learning_rate, (tf.Variable, keras.Variable)):
        raise ValueError(
            "reduce_lr needs an optimizer with a plain learning rate, "
            "got one that follows a learning-rate schedule"
        )


def _build_keras_optimizer(optimizer: Any, model: keras.Model) -> None:
    # Keras optimizers create their slot variables in build(); doing it here, eagerly, keeps
    # variable creation out of the compiled step. mapping_lib optimizers need no build.
    if isinstance(optimizer, keras.optimizers.Optimizer) and not optimizer.built:
        optimizer.build(model.trainable_variables)


# ----------------------------------------------------------------------------- data


def _training_and_validation(
    x: Any, y: Any, validation_data: Any, validation_split: float
) -> tuple[Source, Source | None]:
    validation_split = _checks.in_range("validation_split", validation_split, 0.0, 1.0)
    train = _examples(x, y)
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


def _examples(x: Any, y: Any, names: tuple[str, str] = ("x", "y")) -> Source:
    """Check ``(x, y)`` arrays, or a Dataset ``x`` with ``y`` None."""
    x_name, y_name = names
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError(
                f"{y_name} must be None when {x_name} is a tf.data.Dataset "
                "(the dataset yields the (x, y) pairs)"
            )
        return _check_dataset(x_name, x)
    if x is None:
        raise ValueError(f"{x_name} must be an array or a tf.data.Dataset, got None")
    if y is None:
        raise ValueError(
            f"{y_name} is required when {x_name} is an array: pass the targets, "
            "or a tf.data.Dataset of (x, y) pairs as x"
        )
    x, y = _as_examples(x_name, x), _as_examples(y_name, y)
    _checks.same_length(x_name, x, y_name, y)
    return x, y


def _validation_examples(validation_data: Any) -> Source:
    if isinstance(validation_data, tf.data.Dataset):
        return _check_dataset("validation_data", validation_data)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        return _examples(*validation_data, ("validation_data[0]", "validation_data[1]"))
    raise TypeError(
        "validation_data must be an (x_val, y_val) pair or a tf.data.Dataset, "
        f"got {type(validation_data).__name__}"
    )


def _as_examples(name: str, value: Any) -> np.ndarray:
    array = _checks.finite_array(name, value)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating) or array.dtype == bool:
        array = array.astype(np.float32, copy=False)
    return array


def _check_dataset(name: str, dataset: tf.data.Dataset) -> tf.data.Dataset:
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


def _is_batched(dataset: tf.data.Dataset) -> bool:
    first_input = tf.nest.flatten(dataset.element_spec[0])[0]
    return bool(first_input.shape.rank) and first_input.shape[0] is None


def _batches(
    source: Source, batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """Turn arrays or a Dataset into a prefetched Dataset of batches (see the module doc)."""
    dataset = (
        source
        if isinstance(source, tf.data.Dataset)
        else tf.data.Dataset.from_tensor_slices(source)
    )
    if not _is_batched(dataset):
        if shuffle:
            size = int(dataset.cardinality())
            buffer = size if size > 0 else STREAM_SHUFFLE_BUFFER
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
    return dataset.with_options(pipeline_options()).prefetch(PREFETCH_BATCHES)


# ----------------------------------------------------------------------------- argument checks


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            "model must be a keras.Model (Sequential, functional or subclassed), "
            f"got {type(model).__name__}"
        )


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def _check_optional(name: str, value: Any, kind: type) -> None:
    if value is not None and not isinstance(value, kind):
        raise TypeError(
            f"{name} must be None or an instance of {kind.__name__}, got {type(value).__name__}"
        )


def _check_monitor_name(monitor: Any) -> None:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
