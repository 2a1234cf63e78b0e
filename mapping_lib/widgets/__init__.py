"""Explorers: a pure compute function plus a thin ipywidgets view.

Every view draws into an ``ipywidgets.Image`` holding PNG bytes, redrawn by the kernel
whenever a control moves, so these views need a kernel (JupyterLab). Each explorer also has a
static view in :mod:`mapping_lib.static`, which stays live in the HTML book without one; the
chapters leave the kernel-backed views' dead output out of the book.
Chapter explorers live in submodules of this package and share :class:`Explorer`; in
Chapters 1 and 3 each explorer has a module of its own:

* Chapter 1: :mod:`~mapping_lib.widgets.activation`, :mod:`~mapping_lib.widgets.neuron`,
  :mod:`~mapping_lib.widgets.layer_warp` (on :mod:`~mapping_lib.widgets.plane`, the view box
  and decision lines, and :mod:`~mapping_lib.widgets.probe`, every layer's output);
* Chapter 3: :mod:`~mapping_lib.widgets.kernels`, :mod:`~mapping_lib.widgets.feature_maps`
  (on :mod:`~mapping_lib.widgets.images`, checking and drawing stacks of images).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure

from mapping_lib.plot import figure_to_png


class Explorer(widgets.HBox):
    """Controls on the left, the rendered picture on the right.

    ``render(**values)`` receives the current value of every control by name
    and returns a matplotlib figure.
    """

    def __init__(
        self,
        render: Callable[..., Figure],
        controls: Mapping[str, widgets.ValueWidget],
        *,
        title: str | None = None,
    ) -> None:
        if not controls:
            raise ValueError("controls must name at least one widget, got none")
        self.render = render
        self.controls = dict(controls)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="680px"))
        panel = list(self.controls.values())
        if title:
            panel.insert(0, widgets.HTML(f"<b>{title}</b>"))
        super().__init__([widgets.VBox(panel), self.image])
        for control in self.controls.values():
            control.observe(self.redraw, names="value")
        self.redraw()

    @property
    def values(self) -> dict[str, object]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self, _change: object = None) -> None:
        """Render with the current control values and show the new picture."""
        self.image.value = figure_to_png(self.render(**self.values))


def __getattr__(name: str) -> object:
    # The Playground pulls in TensorFlow; import it only when someone asks for it, so the
    # lighter explorers (and `import mapping_lib.widgets`) stay quick to load.
    if name == "Playground":
        from mapping_lib.widgets.playground import Playground

        return Playground
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
