"""The Playground's ipywidgets view: controls, three pictures, and a play loop.

The widgets come from :mod:`~mapping_lib.playground.controls`; here they are wired and
arranged. Every control maps to one field of :class:`PlaygroundConfig`; a change goes
through ``PlaygroundCore.configure`` and triggers a redraw. The pictures are
``ipywidgets.Image`` widgets holding PNG bytes, so the last frame also lives in the saved
widget state of a notebook and shows in the static book.

Playing runs in a background thread that trains a few epochs, redraws, and repeats until
paused. Each frame trains as many epochs as fit in about ``FRAME_SECONDS`` (measured as it
plays), so Pause and Step, which wait for the frame in progress, answer within that.
ipykernel sends widget updates from any thread, and the cell stays free, so the reader
can pause or move controls while it trains; the core's lock keeps the two apart.
Tests and notebooks use ``step()`` / ``run(epochs)`` and never need the thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from PIL import Image

from mapping_lib import _checks
from mapping_lib.playground import render
from mapping_lib.playground.config import MAX_LAYERS, MAX_NEURONS, PlaygroundConfig
from mapping_lib.playground.controls import (
    STYLE,
    digit_pickers,
    dropdown_values,
    feature_toggles,
    neuron_buttons,
    setting_fields,
    sized,
)
from mapping_lib.playground.core import BackpropTrace, PlaygroundCore

FRAME_SECONDS = 0.07
"""What one playing frame (training and redraw) aims to take, in seconds: below 100 ms,
with room for a busy machine's slower frames."""


def frame_epochs(epochs: int, seconds: float, target: float = FRAME_SECONDS) -> int:
    """Epochs for the next frame, given that the last one trained ``epochs`` in ``seconds``.

    Scales the count towards a frame of ``target`` seconds, but at most doubles it per
    frame: the redraw's share of a frame does not grow with the epochs, so a jump straight
    to the proportional count would overshoot.
    """
    if seconds <= 0:
        return 2 * epochs
    return max(1, min(2 * epochs, int(epochs * target / seconds)))


class Playground(widgets.VBox):
    """A TensorFlow-Playground-style explorer of small networks on a 2-D input plane.

    ``Playground("pg1;data=xor;net=4")`` starts from a config string (or a
    :class:`PlaygroundConfig`; None gives the defaults). While playing, each frame trains
    ``epochs_per_frame`` epochs and redraws; None (the default) trains as many as fit in
    about ``FRAME_SECONDS``, starting from one epoch after every change of the setting.
    ``frame_interval`` is the shortest time from one frame's start to the next, in seconds.
    """

    def __init__(
        self,
        config: PlaygroundConfig | str | None = None,
        *,
        epochs_per_frame: int | None = None,
        frame_interval: float = 0.05,
    ) -> None:
        whole = isinstance(epochs_per_frame, int) and not isinstance(epochs_per_frame, bool)
        if epochs_per_frame is not None and not (whole and epochs_per_frame >= 1):
            raise ValueError(
                f"epochs_per_frame must be a positive int or None, got {epochs_per_frame!r}"
            )
        self.core = PlaygroundCore(config)
        self.epochs_per_frame = epochs_per_frame
        # Checked here: a bad value would only fail in the play thread, which has no caller.
        self.frame_interval = _checks.non_negative_float("frame_interval", frame_interval)
        self._syncing = False
        self._draw_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._build_controls()
        super().__init__(self._layout())
        self.add_class("mapping-playground")
        self._sync_controls()
        self.redraw()

    # ----- the public API (the buttons call these) ----------------------------------------

    @property
    def playing(self) -> bool:
        """True while the background training loop runs."""
        return self._thread is not None and self._thread.is_alive()

    def play(self) -> None:
        """Train in a background thread, redrawing after every frame of epochs."""
        if self.playing:
            return
        self.backprop_mode.value = False
        self._stop.clear()
        self._thread = threading.Thread(target=self._play_loop, name="playground", daemon=True)
        self._set_playing(True)
        self._thread.start()

    def pause(self) -> None:
        """Stop the training loop after its current frame and wait for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._set_playing(False)

    def step(self) -> None:
        """Train one epoch and redraw."""
        self.run(1)

    def run(self, epochs: int) -> None:
        """Train ``epochs`` epochs and redraw once (what a notebook cell calls)."""
        self.core.run(epochs)
        self.redraw()

    def reset(self) -> None:
        """Back to epoch 0 with the seeded initial weights."""
        self.pause()
        self.core.reset()
        self.redraw()

    def regenerate(self) -> None:
        """New data: the seed moves on by one."""
        self.pause()
        self.core.regenerate()
        self._sync_controls()
        self.redraw()

    def export(self) -> str:
        """The current setting as one string (also shown in the config box)."""
        return self.core.export()

    def load(self, text: str) -> None:
        """Start from a config string; a bad string raises ValueError and changes nothing."""
        self.pause()
        self.core.load(text)
        self._sync_controls()
        self.redraw()

    def picture(self) -> Image.Image:
        """The current network, loss curve and output as one static image."""
        with self._draw_lock:
            return render.snapshot(self.core, self._trace())

    # ----- drawing --------------------------------------------------------------------------

    def redraw(self) -> None:
        """Render the three pictures and refresh the epoch and loss read-outs."""
        with self._draw_lock:
            network, output, curve = render.frame(self.core, self._trace())
            core = self.core
            for widget, image in (
                (self.network_image, network),
                (self.output_image, output),
                (self.curve_image, curve),
            ):
                widget.value = render.to_png(image)
                widget.layout.width = f"{image.width}px"  # sent only when it changes
            self.epoch_label.value = f"<b>Epoch</b> {core.epoch:07,d}"
            self.loss_label.value = (
                f"Test loss <b class='pg-test-loss'>{core.test_loss:.4f}</b><br>"
                f"Training loss <b class='pg-train-loss'>{core.train_loss:.4f}</b>"
            )
            if core.diverged:
                self._show_message("The loss is no longer finite: lower the learning rate.")

    def _trace(self) -> BackpropTrace | None:
        """The backprop trace of the chosen example while the backprop mode is on."""
        if not self.backprop_mode.value:
            return None
        trace = self.core.backprop(min(self.example.value, len(self.core.data.x_train) - 1))
        self.trace_label.value = (
            f"example at ({trace.point[0]:.2f}, {trace.point[1]:.2f}): target "
            f"{trace.target:g}, output {trace.prediction:.3f}, loss {trace.loss:.4f}"
        )
        return trace

    def _play_loop(self) -> None:
        setting, epochs = self.core.config, self.epochs_per_frame or 1
        while not self._stop.is_set():
            # A new setting can make an epoch many times slower (batch size 30 -> 1):
            # measure again from one epoch rather than keep a count that no longer fits.
            if self.core.config != setting:
                setting, epochs = self.core.config, self.epochs_per_frame or 1
            started = time.perf_counter()
            try:
                self.run(epochs)
            except Exception as error:  # noqa: BLE001 - a thread has no caller to raise to
                self._show_message(f"Training stopped: {error}")
                break
            if self.core.diverged:
                break
            if self.epochs_per_frame is None:
                epochs = frame_epochs(epochs, time.perf_counter() - started)
            self._stop.wait(max(0.0, self.frame_interval - (time.perf_counter() - started)))
        self._set_playing(False)

    def _set_playing(self, playing: bool) -> None:
        self.play_button.disabled = playing
        self.pause_button.disabled = not playing

    def _show_message(self, text: str) -> None:
        self.message.value = f"<span style='color:#b00'>{text}</span>" if text else ""

    # ----- controls ------------------------------------------------------------------------

    def _build_controls(self) -> None:
        def button(label: str, action: Callable[[], None], tip: str, css: str) -> widgets.Button:
            widget = widgets.Button(description=label, tooltip=tip, layout=sized())
            widget.on_click(lambda _: self._guarded(action))
            widget.add_class(css)
            return widget

        self.play_button = button("▶ Play", self.play, "train continuously", "pg-play")
        self.pause_button = button("❚❚ Pause", self.pause, "stop training", "pg-pause")
        self.step_button = button("Step", self.step, "train one epoch", "pg-step")
        self.reset_button = button("Reset", self.reset, "back to epoch 0", "pg-reset")
        self.regenerate_button = button("Regenerate", self.regenerate, "new data", "pg-regen")
        self.epoch_label = widgets.HTML()
        self.epoch_label.add_class("pg-epoch")
        self.loss_label = widgets.HTML()
        self.loss_label.add_class("pg-losses")
        self.message = widgets.HTML()

        self.fields = setting_fields()
        for field, control in self.fields.items():
            control.observe(lambda change, f=field: self._field_changed(f, change.new), "value")
        self.digit_pickers = digit_pickers()
        for picker in self.digit_pickers:
            picker.observe(self._digits_changed, "value")
        self.feature_toggles = feature_toggles()
        for toggle in self.feature_toggles.values():
            toggle.observe(self._features_changed, "value")
        self.add_layer_button = button("+ layer", lambda: self._layers(+1), "", "pg-add-layer")
        self.remove_layer_button = button("− layer", lambda: self._layers(-1), "", "pg-rm-layer")
        self.layers_label = widgets.HTML()
        self.neuron_buttons = widgets.HBox()
        self._shown_hidden: tuple[int, ...] | None = None

        self.config_text = widgets.Text(
            description="Config", layout=sized(flex="1 1 auto"), style=STYLE
        )
        self.import_button = button("Import", self._import_text, "load the config", "pg-import")
        self.backprop_mode = widgets.ToggleButton(description="Backprop mode", layout=sized())
        self.backprop_mode.add_class("pg-backprop")
        self.example = widgets.IntSlider(min=0, max=1, description="Example", style=STYLE)
        self.trace_label = widgets.HTML()
        for control in (self.backprop_mode, self.example):
            control.observe(self._backprop_changed, "value")

        # Images are shown at their own pixel size (set in redraw): the +/- buttons above the
        # network line up with its columns only if the picture is not scaled.
        self.network_image = widgets.Image(format="png", layout=sized(flex="none"))
        self.output_image = widgets.Image(format="png", layout=sized(flex="none"))
        self.curve_image = widgets.Image(format="png", layout=sized(flex="none"))
        self.network_image.add_class("pg-network")
        self.output_image.add_class("pg-output")
        self.curve_image.add_class("pg-curve")

    def _layout(self) -> list[widgets.Widget]:
        f = self.fields
        top = widgets.HBox(
            [self.play_button, self.pause_button, self.step_button, self.reset_button,
             self.epoch_label, f["learning_rate"], f["activation"], f["regularization"],
             f["regularization_rate"]],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )  # fmt: skip
        data = widgets.VBox(
            [widgets.HTML("<b>DATA</b>"), f["dataset"], *self.digit_pickers,
             f["train_percent"], f["noise"], f["batch_size"], self.regenerate_button,
             widgets.HTML("<b>FEATURES</b>"),
             widgets.GridBox(list(self.feature_toggles.values()),
                             layout=widgets.Layout(grid_template_columns="repeat(2, 84px)"))],
            layout=sized("220px", flex="none"),
        )  # fmt: skip
        network = widgets.VBox(
            [widgets.HBox([self.add_layer_button, self.remove_layer_button, self.layers_label]),
             self.neuron_buttons, self.network_image],
            layout=sized(flex="none", margin="0 12px 0 0"),
        )  # fmt: skip
        output = widgets.VBox(
            [widgets.HTML("<b>OUTPUT</b>"), self.loss_label, self.curve_image, self.output_image,
             f["show_test"], f["discretize"]],
            layout=sized(flex="none"),
        )  # fmt: skip
        share = widgets.HBox([self.config_text, self.import_button])
        backprop = widgets.HBox([self.backprop_mode, self.example, self.trace_label])
        # Too narrow for all three columns? The output column wraps below the network.
        main = widgets.HBox([data, network, output], layout=sized(flex_flow="row wrap"))
        return [top, main, backprop, share, self.message]

    def _guarded(self, action: Callable[[], None]) -> None:
        """Run a button's action; a bad value becomes a message instead of a traceback."""
        self._show_message("")
        try:
            action()
        except (TypeError, ValueError) as error:
            self._show_message(str(error))

    def _configure(self, **changes: object) -> None:
        if self._syncing:
            return
        self._show_message("")
        try:
            self.core.configure(**changes)
        except (TypeError, ValueError) as error:
            self._show_message(str(error))
        self._sync_controls()
        self.redraw()

    def _field_changed(self, field: str, value: object) -> None:
        self._configure(**{field: value})

    def _digits_changed(self, _change: object) -> None:
        self._configure(digits=tuple(p.value for p in self.digit_pickers))

    def _features_changed(self, _change: object) -> None:
        chosen = tuple(n for n, toggle in self.feature_toggles.items() if toggle.value)
        self._configure(features=chosen)

    def _layers(self, change: int) -> None:
        hidden = list(self.core.config.hidden)
        if change > 0 and len(hidden) < MAX_LAYERS:
            hidden.append(hidden[-1] if hidden else 2)
        elif change < 0 and hidden:
            hidden.pop()
        self._configure(hidden=tuple(hidden))

    def _neurons(self, layer: int, change: int) -> None:
        hidden = list(self.core.config.hidden)
        hidden[layer] = int(np.clip(hidden[layer] + change, 1, MAX_NEURONS))
        self._configure(hidden=tuple(hidden))

    def _import_text(self) -> None:
        self.load(self.config_text.value)

    def _backprop_changed(self, _change: object) -> None:
        if self._syncing:
            return
        if self.backprop_mode.value:
            self.pause()
        else:
            self.trace_label.value = ""
        self.redraw()

    def _sync_controls(self) -> None:
        """Show the core's config on every control without triggering their callbacks."""
        config = self.core.config
        self._syncing = True
        try:
            for field, control in self.fields.items():
                value = getattr(config, field)
                if isinstance(control, widgets.Dropdown) and value not in dropdown_values(control):
                    control.options = sorted([*control.options, value])
                control.value = value
            for picker, digit in zip(self.digit_pickers, config.digits):
                picker.value = digit
                picker.layout.display = None if config.dataset == "digits" else "none"
            self.fields["noise"].disabled = config.dataset == "digits"
            for name, toggle in self.feature_toggles.items():
                toggle.value = name in config.features
            self.example.max = len(self.core.data.x_train) - 1
            self.config_text.value = config.to_string()
            self._sync_layer_buttons(config.hidden)
        finally:
            self._syncing = False

    def _sync_layer_buttons(self, hidden: tuple[int, ...]) -> None:
        if hidden == self._shown_hidden:
            return
        self._shown_hidden = hidden
        n = len(hidden)
        self.layers_label.value = f"<b>{n} HIDDEN LAYER{'S' * (n != 1)}</b>"
        self.add_layer_button.disabled = n >= MAX_LAYERS
        self.remove_layer_button.disabled = n == 0
        self.neuron_buttons.children = neuron_buttons(
            hidden, lambda layer, step: self._guarded(lambda: self._neurons(layer, step))
        )
