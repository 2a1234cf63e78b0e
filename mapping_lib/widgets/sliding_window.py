"""The sliding-window explorer: how kernel size, stride, padding and dilation decide the
output size of a convolution and which input pixels one output unit sees.

:func:`window_geometry` computes the geometry of one layer along both sides of a square
input; :meth:`WindowGeometry.covered` marks the padded input cells under one output unit
(its receptive field in this layer); :func:`draw_window` plots them and
:func:`window_explorer` is the thin :class:`~mapping_lib.widgets.Explorer` view on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer

LIMITS = {
    "size": (3, 12),
    "kernel": (1, 5),
    "stride": (1, 3),
    "padding": (0, 2),
    "dilation": (1, 3),
}
"""The range (inclusive) the explorers offer for each setting."""

CELL_COLORS = ("#d9d9d9", "#ffffff", CLASS_COLORS[1])
"""Padding, input pixel, pixel under the selected output unit."""


@dataclass(frozen=True)
class WindowGeometry:
    """One convolution or pooling layer over a ``size`` × ``size`` input.

    ``padding`` zeros are added on each side; the kernel's taps are ``dilation`` cells apart,
    so it spans ``dilation * (kernel - 1) + 1`` cells.
    """

    size: int
    kernel: int
    stride: int
    padding: int
    dilation: int

    @property
    def span(self) -> int:
        """Cells between the first and last tap of the kernel, both included."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def output_size(self) -> int:
        """floor((n + 2p - d(k - 1) - 1) / s) + 1 output units along each side."""
        return (self.size + 2 * self.padding - self.span) // self.stride + 1

    def covered(self, row: int, col: int) -> np.ndarray:
        """Boolean mask over the padded input: the cells output unit (row, col) reads."""
        last = self.output_size - 1
        row = int(_checks.in_range("row", row, 0, last, closed="[]"))
        col = int(_checks.in_range("col", col, 0, last, closed="[]"))
        taps = np.zeros(self.size + 2 * self.padding, dtype=bool)
        rows, cols = taps.copy(), taps.copy()
        offsets = np.arange(self.kernel) * self.dilation
        rows[row * self.stride + offsets] = True
        cols[col * self.stride + offsets] = True
        return rows[:, None] & cols[None, :]


def window_geometry(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> WindowGeometry:
    """Check the settings against ``LIMITS`` and return the layer's geometry.

    Raises ValueError when the dilated kernel does not fit into the padded input.
    """
    values = {"size": size, "kernel": kernel, "stride": stride, "padding": padding}
    values["dilation"] = dilation
    for name, value in values.items():
        _checks.non_negative_int(name, value)
        low, high = LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"{name} must be an int in [{low}, {high}], got {value}")
    geometry = WindowGeometry(**values)
    if geometry.span > size + 2 * padding:
        raise ValueError(
            f"the kernel spans {geometry.span} cells (dilation * (kernel - 1) + 1), more than "
            f"the padded input's {size + 2 * padding}: lower kernel or dilation, or pad more"
        )
    return geometry


def draw_window(geometry: WindowGeometry, row: int = 0, col: int = 0) -> Figure:
    """The padded input with the cells under output unit (row, col), and the output grid."""
    cells = np.ones((geometry.size + 2 * geometry.padding,) * 2, dtype=int)
    if geometry.padding:
        cells[: geometry.padding], cells[-geometry.padding :] = 0, 0
        cells[:, : geometry.padding], cells[:, -geometry.padding :] = 0, 0
    cells[geometry.covered(row, col)] = 2
    output = np.ones((geometry.output_size,) * 2, dtype=int)
    output[row, col] = 2
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.8), width_ratios=[cells.shape[0], 8])
    colors = ListedColormap(CELL_COLORS)
    for ax, grid, title in (
        (left, cells, f"input {geometry.size}×{geometry.size}, padding {geometry.padding}"),
        (right, output, f"output {geometry.output_size}×{geometry.output_size}"),
    ):
        ax.imshow(grid, cmap=colors, vmin=0, vmax=2)
        ax.set_xticks(np.arange(grid.shape[1] + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(grid.shape[0] + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="0.6", lw=0.6)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(title, fontsize=10)
    right.set_xlim(-0.5, 7.5)
    right.set_ylim(7.5, -0.5)
    fig.suptitle(
        f"kernel {geometry.kernel}, stride {geometry.stride}, dilation {geometry.dilation}: "
        f"unit ({row}, {col}) sees {geometry.span}×{geometry.span} cells",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def window_explorer(
    size: int = 7, kernel: int = 3, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Explorer:
    """Sliders for every setting and for the output unit; the picture follows."""
    window_geometry(size, kernel, stride, padding, dilation)  # reject bad defaults up front
    start = {"size": size, "kernel": kernel, "stride": stride, "padding": padding}
    start["dilation"] = dilation
    controls = {
        name: widgets.IntSlider(value=start[name], min=low, max=high, description=name)
        for name, (low, high) in LIMITS.items()
    }
    last = window_geometry(**start).output_size - 1
    for name in ("row", "col"):
        controls[name] = widgets.IntSlider(value=0, min=0, max=last, description=name)

    def fit_unit_sliders(_change: object) -> None:
        # Registered before the Explorer's redraw: the unit sliders shrink (visibly moving a
        # thumb that is now past the end) before the picture is drawn.
        try:
            geometry = window_geometry(**{name: controls[name].value for name in LIMITS})
        except ValueError:
            return
        for name in ("row", "col"):
            controls[name].max = geometry.output_size - 1

    for name in LIMITS:
        controls[name].observe(fit_unit_sliders, names="value")

    def render(row: int, col: int, **settings: int) -> Figure:
        try:
            geometry = window_geometry(**settings)
        except ValueError as error:  # a setting the reader may still change: say why
            fig, ax = plt.subplots(figsize=(7.5, 1.2))
            ax.axis("off")
            ax.text(0.5, 0.5, str(error), ha="center", va="center", wrap=True, fontsize=9)
            return fig
        return draw_window(geometry, row, col)

    return Explorer(render, controls, title="Sliding window")
