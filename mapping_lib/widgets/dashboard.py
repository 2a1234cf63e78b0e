"""Live training dashboard: loss, accuracy, learning rate and gradient norms while ``fit`` runs.

How it stays live. ``history = await dashboard.fit(model, x, y, loss=..., epochs=...)`` runs
:func:`mapping_lib.train.fit` in a worker thread and leaves the notebook's event loop free while
it waits. That is what lets JupyterLab deliver a click on the Stop button during training: a
cell that called ``fit`` directly would hold the kernel until training ended, and the click
would only arrive afterwards. After every epoch, fit's ``on_epoch_end`` hook (in the worker)
records the epoch's logs and the gradient norm of every layer on a fixed probe batch; the
notebook side redraws the newest state a few times a second. Once Stop is pressed the hook
returns True, so fit ends cleanly after the current epoch (``history.stop_reason == "hook"``).

The dashboard changes nothing about training: the probe runs in inference mode (no dropout
draws, no batch-norm statistics updated), so a model trained with it ends with the same weights
as one trained by ``fit`` alone. The model is built before the worker starts, because Keras keeps
its random-seed state per thread and weights created in the worker would not follow
``seed_everything``.

Pure parts, unit-tested: :func:`layer_gradient_norms`, :class:`DashboardState`,
:func:`status_line` and :func:`dashboard_figure`. :class:`TrainingDashboard` wires them to a
Stop button, a status line and an ``ipywidgets.Image`` whose last PNG stays in the static book.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import copy
import functools
import html
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import keras
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mapping_lib import _checks, losses, train
from mapping_lib.plot import figure_to_png

PROBE_SIZE = 256
"""Examples in the probe batch on which gradient norms are measured after each epoch."""

REDRAW_INTERVAL_S = 0.2
"""How often the notebook side looks for a new epoch to draw while training runs."""

_TRAIN_COLOR, _VAL_COLOR = "#0877bd", "#f59322"

_STOP_REASONS = {
    None: "finished all planned epochs",
    "early_stopping": "stopped early: the monitored metric stopped improving",
    "diverged": "stopped: the loss became NaN or infinite",
    "interrupted": "interrupted (Ctrl-C / kernel interrupt)",
    "hook": "stopped by the on_epoch_end hook",
    "stop_button": "stopped by the Stop button",
}


# ----------------------------------------------------------------------------- pure compute


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
    val_loss, val_accuracy, lr: whatever fit reported). ``gradient_norms`` lists
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
        _checks.one_of("stop_reason", stop_reason, _STOP_REASONS)
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


_SHOWN_METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "lr")


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
        line += f" | {_STOP_REASONS[state.stop_reason]}"
    return line


def _empty_panel(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="0.45", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _metric_panel(ax: Axes, state: DashboardState, key: str) -> None:
    ax.set_title(key)
    if not (state.has(key) or state.has(f"val_{key}")):
        waiting = not state.logs
        _empty_panel(ax, "waiting for the first epoch" if waiting else f"no {key} logged")
        return
    epochs = np.arange(1, state.epochs_done + 1)
    for name, color in ((key, _TRAIN_COLOR), (f"val_{key}", _VAL_COLOR)):
        if state.has(name):
            label = "validation" if name.startswith("val_") else "training"
            ax.plot(epochs, state.series(name), "o-", ms=3, color=color, label=label)
    best = state.best_epoch(f"val_{key}")
    if best is not None:
        value = state.series(f"val_{key}")[best - 1]
        ax.plot(
            [best], [value], "*", ms=12, color=_VAL_COLOR, mec="k", label=f"best (epoch {best})"
        )
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _learning_rate_panel(ax: Axes, state: DashboardState) -> None:
    ax.set_title("learning rate")
    if not state.has("lr"):
        _empty_panel(ax, "waiting for the first epoch" if not state.logs else "no lr logged")
        return
    epochs = np.arange(1, state.epochs_done + 1)
    ax.step(epochs, state.series("lr"), where="mid", color="0.2")
    ax.plot(epochs, state.series("lr"), "o", ms=3, color="0.2")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3, which="both")


def _gradient_panel(ax: Axes, state: DashboardState) -> None:
    ax.set_title("gradient norm per layer (probe batch)")
    names = state.layer_names()
    if not names:
        _empty_panel(ax, "no gradients measured yet")
        return
    for name in names:
        epochs, values = state.layer_series(name)
        # Exact zeros (a dead layer) cannot sit on a log axis; show them at its floor instead.
        ax.plot(epochs, np.maximum(values, 1e-12), "o-", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epochs completed")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2 if len(names) > 4 else 1)


def dashboard_figure(
    state: DashboardState, *, title: str | None = None, figsize: tuple[float, float] = (10, 6.2)
) -> Figure:
    """Draw the four panels (loss, accuracy, learning rate, gradient norms) of ``state``.

    Dashed vertical lines mark where a later phase (fit call) started. Built on a bare
    ``Figure`` (no pyplot), so a notebook shows it only when asked to.
    """
    fig = Figure(figsize=figsize)
    axes = fig.subplots(2, 2)
    _metric_panel(axes[0, 0], state, "loss")
    _metric_panel(axes[0, 1], state, "accuracy")
    _learning_rate_panel(axes[1, 0], state)
    _gradient_panel(axes[1, 1], state)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    for phase in state.phases[1:]:
        # Metric panels count epochs from 1 (the phase's first is start + 1); the gradient
        # panel counts epochs completed (the phase's first point is at start).
        starts = [phase.start + 0.5] * 3 + [phase.start]
        for ax, x in zip(axes.flat, starts):
            if ax.has_data():
                ax.axvline(x, color="0.5", ls="--", lw=1)
                # x in data units, y at the top of the panel whatever its scale
                where = ("data", "axes fraction")
                ax.annotate(phase.label, (x, 1.0), xycoords=where,
                            ha="left", va="top", fontsize=7, color="0.35")  # fmt: skip
    fig.suptitle(title or status_line(state), fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the view


class TrainingDashboard(widgets.VBox):
    """A Stop button, a status line and the four-panel picture, redrawn after every epoch.

    Train with ``history = await dashboard.fit(model, x, y, loss=..., epochs=..., ...)``:
    the arguments are those of :func:`mapping_lib.train.fit`. ``phase`` names the run; with
    ``reset=False`` a second ``fit`` continues the same curves (e.g. fine-tuning after a
    frozen phase). ``probe`` is the (x, y) batch for gradient norms, by default the first
    ``probe_size`` training examples.
    """

    def __init__(self, title: str | None = None, *, probe_size: int = PROBE_SIZE, dpi: int = 72):
        self.title = title
        self.probe_size = _checks.positive_int("probe_size", probe_size)
        self.dpi = _checks.positive_int("dpi", dpi)
        self.state = DashboardState()
        self.history: train.History | None = None
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger", disabled=True,
            tooltip="End training after the current epoch",
        )  # fmt: skip
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="760px"))
        self.stop_button.on_click(lambda _button: self.stop())
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()  # the worker writes self.state, the notebook reads it
        self._version = 0
        self._running = False
        super().__init__([widgets.HBox([self.stop_button, self.status]), self.image])
        self.redraw()

    @property
    def running(self) -> bool:
        """Whether a ``fit`` of this dashboard is in progress."""
        return self._running

    def stop(self) -> None:
        """Ask training to end after the current epoch (what the Stop button does)."""
        self._stop_requested.set()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping..."

    def redraw(self) -> None:
        """Draw the current state into the image and the status line."""
        snapshot = self._snapshot()
        self._show(snapshot, self._render(snapshot))

    async def _redraw_in_background(self) -> None:
        # Rendering takes a good fraction of a second; in a thread it leaves the event loop
        # free to deliver a click on Stop meanwhile.
        snapshot = self._snapshot()
        self._show(snapshot, await asyncio.to_thread(self._render, snapshot))

    def _snapshot(self) -> DashboardState:
        with self._lock:
            return copy.deepcopy(self.state)

    def _render(self, snapshot: DashboardState) -> bytes:
        return figure_to_png(dashboard_figure(snapshot, title=self.title), dpi=self.dpi)

    def _show(self, snapshot: DashboardState, png: bytes) -> None:
        self.status.value = f"<code>{html.escape(status_line(snapshot))}</code>"
        self.image.value = png

    async def fit(
        self,
        model: keras.Model,
        x: Any,
        y: Any = None,
        *,
        loss: str | keras.losses.Loss,
        phase: str = "",
        reset: bool = True,
        probe: tuple[Any, Any] | None = None,
        on_epoch_end: Callable[[int, dict[str, float]], Any] | None = None,
        **fit_kwargs: Any,
    ) -> train.History:
        """Train with :func:`mapping_lib.train.fit` while the dashboard follows; await it.

        Returns fit's History. Stop (button or :meth:`stop`) ends training after the current
        epoch with ``history.stop_reason == "hook"``, as does ``on_epoch_end`` returning True.
        """
        if self._running:
            raise RuntimeError("this dashboard is already following a training run")
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
        if on_epoch_end is not None and not callable(on_epoch_end):
            raise TypeError(f"on_epoch_end must be callable, got {type(on_epoch_end).__name__}")
        if probe is None:
            probe_x, probe_y = probe_batch(x, y, self.probe_size)
        elif isinstance(probe, (tuple, list)) and len(probe) == 2:
            probe_x, probe_y = probe
        else:
            raise TypeError(f"probe must be an (x, y) pair or None, got {type(probe).__name__}")
        # Built here, in this thread, the model's weights follow the Keras seed (see module doc).
        start_norms = layer_gradient_norms(model, probe_x, probe_y, loss)
        with self._lock:
            if reset:
                self.state = DashboardState()
            self.state.begin(phase, fit_kwargs.get("epochs", 1), start_norms)
        self._stop_requested.clear()

        def after_epoch(epoch: int, logs: dict[str, float]) -> bool:  # runs in the worker
            norms = layer_gradient_norms(model, probe_x, probe_y, loss)
            with self._lock:
                self.state.record(logs, norms)
                self._version += 1
            asked = on_epoch_end is not None and on_epoch_end(epoch, logs) is True
            return asked or self._stop_requested.is_set()

        run = functools.partial(
            train.fit, model, x, y, loss=loss, on_epoch_end=after_epoch,
            **{"progress": False, **fit_kwargs},
        )  # fmt: skip
        self.history = await self._follow(run)
        reason = self.history.stop_reason
        if reason == "hook" and self._stop_requested.is_set():
            reason = "stop_button"
        with self._lock:
            self.state.finish(reason)
        self.redraw()
        return self.history

    async def _follow(self, run: Callable[[], train.History]) -> train.History:
        """Run ``run`` in a worker thread, redrawing while it trains; return its result."""
        self._running = True
        self.stop_button.disabled = False
        self.stop_button.description = "Stop"
        drawn = self._version
        # The context carries the cell's identity, so warnings from the worker show in its output.
        context = contextvars.copy_context()
        try:
            with concurrent.futures.ThreadPoolExecutor(1, "dashboard-fit") as pool:
                work = pool.submit(context.run, run)
                try:
                    waiting = asyncio.wrap_future(work)
                    while not waiting.done():
                        await asyncio.wait({waiting}, timeout=REDRAW_INTERVAL_S)
                        if self._version != drawn:
                            drawn = self._version
                            await self._redraw_in_background()
                except BaseException:
                    # Interrupted or cancelled: let training end after its epoch; leaving the
                    # pool waits for that, so no thread keeps changing the model afterwards.
                    self._stop_requested.set()
                    raise
                return work.result()
        finally:
            self._running = False
            self.stop_button.disabled = True
            self.stop_button.description = "Stop"
