"""Live training dashboard: loss, accuracy, learning rate and gradient norms while ``fit`` runs.

How it stays live. ``history = await dashboard.fit(model, x, y, loss=..., epochs=...)`` runs
:func:`mapping_lib.train.fit` in a worker thread and leaves the notebook's event loop free while
it waits. That is what lets JupyterLab deliver a click on the Stop button during training: a
cell that called ``fit`` directly would hold the kernel until training ended, and the click
would only arrive afterwards. The dashboard is a Keras callback (:class:`DashboardCallback`):
after every epoch it records the epoch's logs and the gradient norm of every layer on a fixed
probe batch; the notebook side redraws the newest state a few times a second. Once Stop is
pressed the callback sets ``model.stop_training``, so ``Model.fit`` ends cleanly after the
current batch.

The dashboard changes nothing about training: the probe runs in inference mode (no dropout
draws, no batch-norm statistics updated), so a model trained with it ends with the same weights
as one trained by ``fit`` alone. The model is built before the worker starts, because Keras keeps
its random-seed state per thread and weights created in the worker would not follow
``seed_everything``.

What is recorded lives in :mod:`mapping_lib.widgets.training_record`; here are the picture
(:func:`dashboard_figure`, unit-tested), the callback, and :class:`TrainingDashboard`, which
wires them to a Stop button, a status line and an ``ipywidgets.Image`` whose last PNG stays
in the static book.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import copy
import functools
import html
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mapping_lib import _checks, train
from mapping_lib.callbacks import StopOnDivergence
from mapping_lib.plot import figure_to_png
from mapping_lib.widgets.training_record import (
    PROBE_SIZE,
    DashboardState,
    layer_gradient_norms,
    probe_batch,
    status_line,
    stop_reason,
)

REDRAW_INTERVAL_S = 0.2
"""How often the notebook side looks for a new epoch to draw while training runs."""

_TRAIN_COLOR, _VAL_COLOR = "#0877bd", "#f59322"


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
    if not state.has("learning_rate"):
        waiting = not state.logs
        _empty_panel(ax, "waiting for the first epoch" if waiting else "no learning rate logged")
        return
    epochs = np.arange(1, state.epochs_done + 1)
    ax.step(epochs, state.series("learning_rate"), where="mid", color="0.2")
    ax.plot(epochs, state.series("learning_rate"), "o", ms=3, color="0.2")
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


class DashboardCallback(keras.callbacks.Callback):
    """Records each epoch into ``state`` (under ``lock``) and stops when ``stop`` is set.

    Args:
        state: where the epochs' logs and gradient norms go.
        lock: held while ``state`` changes (another thread draws it).
        stop: once set, training ends after the current batch.
        norms: returns the gradient norms per layer on the probe batch.
    """

    def __init__(
        self,
        state: DashboardState,
        lock: threading.Lock,
        stop: threading.Event,
        norms: Callable[[], dict[str, float]],
    ) -> None:
        super().__init__()
        self.state, self.lock, self.stop, self.norms = state, lock, stop, norms
        self.version = 0  # epochs recorded, for the view to see that something changed

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.stop.is_set():
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        norms = self.norms()
        with self.lock:
            self.state.record(dict(logs or {}), norms)
            self.version += 1
        if self.stop.is_set():
            self.model.stop_training = True


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
        self.history: keras.callbacks.History | None = None
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger", disabled=True,
            tooltip="End training after the current epoch",
        )  # fmt: skip
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="760px"))
        self.stop_button.on_click(lambda _button: self.stop())
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()  # the worker writes self.state, the notebook reads it
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
        callbacks: Sequence[keras.callbacks.Callback] = (),
        **fit_kwargs: Any,
    ) -> keras.callbacks.History:
        """Train with :func:`mapping_lib.train.fit` while the dashboard follows; await it.

        Returns fit's History. Stop (button or :meth:`stop`) ends training after the current
        batch; ``callbacks`` (Keras callbacks) run as in ``fit``.
        """
        if self._running:
            raise RuntimeError("this dashboard is already following a training run")
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
        if probe is None:
            probe_x, probe_y = probe_batch(x, y, self.probe_size)
        elif isinstance(probe, (tuple, list)) and len(probe) == 2:
            probe_x, probe_y = probe
        else:
            raise TypeError(f"probe must be an (x, y) pair or None, got {type(probe).__name__}")
        # Built here, in this thread, the model's weights follow the Keras seed (see module doc).
        start_norms = layer_gradient_norms(model, probe_x, probe_y, loss)
        planned = fit_kwargs.get("epochs", 1)
        with self._lock:
            if reset:
                self.state = DashboardState()
            self.state.begin(phase, planned, start_norms)
        self._stop_requested.clear()
        recorder = DashboardCallback(
            self.state, self._lock, self._stop_requested,
            lambda: layer_gradient_norms(model, probe_x, probe_y, loss),
        )  # fmt: skip
        monitor = "val_loss" if fit_kwargs.get("validation_data") is not None else "loss"
        callbacks = [callbacks] if isinstance(callbacks, keras.callbacks.Callback) else callbacks
        callbacks = list(callbacks)
        if not any(isinstance(callback, StopOnDivergence) for callback in callbacks):
            callbacks.append(StopOnDivergence(monitor))  # one guard: stop_reason reads it
        all_callbacks = [*callbacks, recorder]
        run = functools.partial(
            train.fit, model, x, y, loss=loss, callbacks=all_callbacks,
            **{"progress": False, **fit_kwargs},
        )  # fmt: skip
        self.history = await self._follow(run, recorder)
        reason = stop_reason(self.history, planned, all_callbacks, self._stop_requested.is_set())
        with self._lock:
            self.state.finish(reason)
        self.redraw()
        return self.history

    async def _follow(
        self, run: Callable[[], keras.callbacks.History], recorder: DashboardCallback
    ) -> keras.callbacks.History:
        """Run ``run`` in a worker thread, redrawing while it trains; return its result."""
        self._running = True
        self.stop_button.disabled = False
        self.stop_button.description = "Stop"
        drawn = recorder.version
        # The context carries the cell's identity, so warnings from the worker show in its output.
        context = contextvars.copy_context()
        try:
            with concurrent.futures.ThreadPoolExecutor(1, "dashboard-fit") as pool:
                work = pool.submit(context.run, run)
                try:
                    waiting = asyncio.wrap_future(work)
                    while not waiting.done():
                        await asyncio.wait({waiting}, timeout=REDRAW_INTERVAL_S)
                        if recorder.version != drawn:
                            drawn = recorder.version
                            await self._redraw_in_background()
                except BaseException:
                    # Interrupted or cancelled: let training end after this batch; leaving the
                    # pool waits for that, so no thread keeps changing the model afterwards.
                    self._stop_requested.set()
                    raise
                # Awaited (not work.result()), so asyncio sees its exception retrieved.
                return await waiting
        finally:
            self._running = False
            self.stop_button.disabled = True
            self.stop_button.description = "Stop"
