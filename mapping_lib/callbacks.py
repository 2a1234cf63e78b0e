"""Keras callbacks the book adds to ``Model.fit``: a divergence guard and a learning-rate log.

Everything else a training run needs (early stopping with restore-best, learning-rate
reduction on a plateau, schedules, checkpoints, backup and restore) is Keras' own
``keras.callbacks``; ``mapping_lib.train.fit`` passes them through.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np


def _finite(logs: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    return all(math.isfinite(float(logs[key])) for key in keys if key in logs)


class StopOnDivergence(keras.callbacks.Callback):
    """Stop when training diverges and end with the best finite weights seen.

    Keras' ``TerminateOnNaN`` looks at the batch loss only, which is computed *before* the
    batch's update: a blow-up in the last update, or a NaN validation loss, would pass. This
    callback also checks, at every epoch end, the weights themselves (after the update) and
    every logged value. The weights of the epoch with the lowest ``monitor`` value (among
    epochs whose weights and logs are finite) are kept; the initial weights if none was.

    After training, ``diverged_at`` is the epoch (from 0) where it stopped, or None.

    Args:
        monitor: the logged value that decides which epoch was best; when it is not logged
            (no validation data for "val_loss") the training "loss" decides.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
        self.monitor = monitor
        self.diverged_at: int | None = None
        self._best_value = math.inf
        self._best_weights: list[np.ndarray] | None = None
        self._epoch = 0

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.diverged_at = None
        self._best_value = math.inf
        self._best_weights = self.model.get_weights()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if logs and not _finite(logs, ("loss",)):
            self._stop(f"the training loss became {float(logs['loss'])} in batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        weights = self.model.get_weights()
        if not all(np.all(np.isfinite(w)) for w in weights if np.issubdtype(w.dtype, np.inexact)):
            self._stop("a weight became NaN or infinite in the epoch's last updates")
            return
        bad = [key for key, value in logs.items() if not math.isfinite(float(value))]
        if bad:
            self._stop(f"{', '.join(bad)} became NaN or infinite")
            return
        key = self.monitor if self.monitor in logs else "loss"
        if key in logs and float(logs[key]) < self._best_value:
            self._best_value, self._best_weights = float(logs[key]), weights

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self.diverged_at is not None and self._best_weights is not None:
            self.model.set_weights(self._best_weights)

    def _stop(self, what: str) -> None:
        if self.diverged_at is None:
            self.diverged_at = self._epoch
            warnings.warn(
                f"training diverged in epoch {self._epoch + 1}: {what}; stopped and restored "
                "the best finite weights (try a smaller learning rate)",
                RuntimeWarning,
                stacklevel=2,
            )
        self.model.stop_training = True


class LearningRateLog(keras.callbacks.Callback):
    """Log the learning rate used during each epoch as ``logs["learning_rate"]``.

    The name is the one Keras' ``LearningRateScheduler`` and ``ReduceLROnPlateau`` use. The
    rate is read when the epoch's first batch begins, after every callback's
    ``on_epoch_begin`` (a scheduler's) and before any ``on_epoch_end`` (a plateau reduction).
    """

    def __init__(self) -> None:
        super().__init__()
        self._rate = math.nan

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if batch == 0:
            self._rate = float(np.asarray(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self._rate
