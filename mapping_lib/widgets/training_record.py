"""What the training dashboard records: logs and gradient norms per epoch, and why fit ended.

Pure parts of :mod:`mapping_lib.widgets.dashboard`, unit-tested without widgets:
:func:`layer_gradient_norms` (measured on a fixed probe batch, in inference mode, so that
measuring changes no state), :class:`DashboardState`, :func:`status_line` and
:func:`stop_reason`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks, losses
from mapping_lib.callbacks import StopOnDivergence

PROBE_SIZE = 256
"""Examples in the probe batch on which gradient norms are measured after each epoch."""

STOP_REASONS = {
    None: "finished all planned epochs",
    "early_stopping": "stopped early: the monitored metric stopped improving",
    "diverged": "stopped: the loss became NaN or infinite",
    "callback": "stopped by a callback",
    "stop_button": "stopped by the Stop button",
}


def trainable_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of ``model`` that have trainable weights, looking inside nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(trainable_layers(layer))
        elif layer.trainable_weights:
            found.append(layer)
    return found


def layer_gradient_norms(
    model: keras.Model, x: Any, y: Any, loss: str | keras.losses.Loss
) -> dict[str, float]:
    """The L2 norm of dL/dw over each trainable layer's weights, on the batch ``(x, y)``.

    L is ``loss`` plus the model's regularisation penalties, the objective ``fit`` minimises,
    evaluated in inference mode so that measuring changes no state (dropout draws, batch-norm
    statistics). Keys are layer names in model order; layers without trainable weights (frozen
    ones included) are left out. The norm over a layer is sqrt(sum of squared entries of all
    its weight gradients), kernel and bias together.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    objective = losses.get(loss)
    layers = trainable_layers(model)
    if not layers:
        raise ValueError("model has no trainable layers: there are no gradients to measure")
    variables = [variable for layer in layers for variable in layer.trainable_weights]
    with tf.GradientTape() as tape:
        value = objective(y, model(x, training=False))
        if model.losses:
            value += tf.add_n(model.losses)
    gradients = tape.gradient(value, variables)
    norms, start = {}, 0
    for layer in layers:
        count = len(layer.trainable_weights)
        squares = [
            tf.reduce_sum(tf.square(tf.cast(gradient, tf.float32)))
            for gradient in gradients[start : start + count]
            if gradient is not None  # a weight that does not affect the loss
        ]
        start += count
        norms[layer.name] = float(tf.sqrt(tf.add_n(squares))) if squares else 0.0
    return norms


def probe_batch(x: Any, y: Any, size: int = PROBE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The first ``size`` training examples, the fixed batch gradient norms are measured on."""
    size = _checks.positive_int("probe_size", size)
    if isinstance(x, tf.data.Dataset):
        # Drawing from the dataset would advance its shuffling state and change training.
        raise ValueError(
            "probe must be given as an (x, y) pair of arrays when x is a tf.data.Dataset "
            "(reading the probe from the dataset would change its shuffling order)"
        )
    if y is None:
        raise ValueError("y is required when x is an array")
    x, y = np.asarray(x), np.asarray(y)
    _checks.same_length("x", x, "y", y)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
    return x[:size], y[:size]


@dataclass(frozen=True)
class Phase:
    """One ``fit`` call shown on the dashboard: where it starts and what it is called."""

    start: int  # epochs completed before it began
    label: str
    planned_epochs: int


@dataclass
class DashboardState:
    """Everything the dashboard draws, built up one epoch at a time.

    ``logs[k]`` holds the logs of epoch k + 1 counted across all phases (loss, accuracy,
    val_loss, val_accuracy, learning_rate: whatever fit reported). ``gradient_norms`` lists
    ``(epochs_completed, {layer: norm})`` pairs: one when each phase starts, one per epoch.
    """

    logs: list[dict[str, float]] = field(default_factory=list)
    gradient_norms: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    stop_reason: str | None = None
    finished: bool = False

    @property
    def epochs_done(self) -> int:
        """Epochs completed so far, across phases."""
        return len(self.logs)

    @property
    def planned_epochs(self) -> int:
        """Epochs completed before the current phase plus the epochs it plans to run."""
        if not self.phases:
            return 0
        return self.phases[-1].start + self.phases[-1].planned_epochs

    def begin(self, label: str, planned_epochs: int, norms: Mapping[str, float]) -> None:
        """Start a phase (one fit call), with the gradient norms before its first step."""
        planned_epochs = _checks.positive_int("epochs", planned_epochs)
        self.phases.append(Phase(self.epochs_done, str(label), planned_epochs))
        self.gradient_norms.append((self.epochs_done, dict(norms)))
        self.stop_reason, self.finished = None, False

    def record(self, logs: Mapping[str, float], norms: Mapping[str, float]) -> None:
        """Add one finished epoch: its logs and the gradient norms after it."""
        if not self.phases:
            raise ValueError("record needs a phase: call begin() before the first epoch")
        self.logs.append({key: float(value) for key, value in logs.items()})
        self.gradient_norms.append((self.epochs_done, dict(norms)))

    def finish(self, stop_reason: str | None) -> None:
        """Mark the current phase as ended, for the reason fit (or the Stop button) gave."""
        _checks.one_of("stop_reason", stop_reason, STOP_REASONS)
        self.stop_reason, self.finished = stop_reason, True

    def series(self, key: str) -> np.ndarray:
        """One logged metric per epoch (NaN for epochs that did not log it)."""
        return np.array([logs.get(key, math.nan) for logs in self.logs], dtype=float)

    def has(self, key: str) -> bool:
        """Whether any epoch logged ``key``."""
        return any(key in logs for logs in self.logs)

    def best_epoch(self, key: str = "val_loss") -> int | None:
        """The epoch (counted from 1) with the lowest loss, or highest accuracy, of ``key``."""
        values = self.series(key)
        if not np.isfinite(values).any():
            return None
        pick = np.nanargmax if key.endswith("accuracy") else np.nanargmin
        return int(pick(np.where(np.isfinite(values), values, np.nan))) + 1

    def layer_names(self) -> list[str]:
        """Every layer that has a gradient-norm value, in the order first seen."""
        names: dict[str, None] = {}
        for _, norms in self.gradient_norms:
            names.update(dict.fromkeys(norms))
        return list(names)

    def layer_series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(epochs completed, norm) points of one layer, for the gradient-norm panel."""
        points = [(epoch, norms[name]) for epoch, norms in self.gradient_norms if name in norms]
        epochs, values = zip(*points) if points else ((), ())
        return np.array(epochs, dtype=int), np.array(values, dtype=float)


_SHOWN_METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")


def status_line(state: DashboardState) -> str:
    """One line for the reader: progress, the latest metrics, and why training ended."""
    if not state.phases:
        return "waiting for training to start"
    phase = state.phases[-1]
    parts = [f"{phase.label}: " if phase.label else ""]
    parts[0] += f"epoch {state.epochs_done}/{state.planned_epochs}"
    if state.logs:
        latest = state.logs[-1]
        parts += [f"{key} {latest[key]:.4g}" for key in _SHOWN_METRICS if key in latest]
    line = " | ".join(parts)
    if state.finished:
        line += f" | {STOP_REASONS[state.stop_reason]}"
    return line


def stop_reason(
    history: keras.callbacks.History, planned_epochs: int, callbacks: list, stop_pressed: bool
) -> str | None:
    """Why a dashboard's fit ended: a key of the reasons the status line can show."""
    if stop_pressed:
        return "stop_button"
    if any(isinstance(c, StopOnDivergence) and c.diverged_at is not None for c in callbacks):
        return "diverged"
    if len(history.epoch) >= planned_epochs:
        return None
    stopped_early = any(
        isinstance(c, keras.callbacks.EarlyStopping) and c.stopped_epoch > 0 for c in callbacks
    )
    return "early_stopping" if stopped_early else "callback"
