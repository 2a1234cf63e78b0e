"""The kernel editor: what one 3x3 filter makes of an image.

:func:`apply_kernel` is the cross-correlation a Conv2D layer computes, :data:`KERNEL_PRESETS`
the classic hand-made filters; :func:`kernel_effect` and :func:`draw_kernel_effect` show an
image, a kernel and the filtered image, and :func:`kernel_editor` is the thin
:class:`~mapping_lib.widgets.Explorer` view where the reader edits the kernel's nine numbers
or picks a preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib.plot import DIVERGING
from mapping_lib.widgets import Explorer
from mapping_lib.widgets.images import checked_images, checked_index, image_panel


def _kernel(rows: Sequence[Sequence[float]], scale: float = 1.0) -> np.ndarray:
    kernel = np.asarray(rows, dtype=np.float32) * np.float32(scale)
    kernel.setflags(write=False)  # shared by every caller: nobody may edit a preset in place
    return kernel


KERNEL_PRESETS: Mapping[str, np.ndarray] = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box blur": _kernel([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9),
    "gaussian blur": _kernel([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    # Cross-correlation (what conv layers compute) does not flip the kernel, so sobel x is
    # positive where the image gets brighter from left to right, sobel y from top to bottom.
    "sobel x": _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel y": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "laplacian": _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "outline": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "emboss": _kernel([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
}
"""Classic hand-made 3x3 filters, by name (read-only float32 arrays)."""

CUSTOM = "custom"
"""What the kernel editor's preset menu shows once the kernel matches no preset."""

PADDINGS = ("same", "valid")


def apply_kernel(image: Any, kernel: Any, *, padding: str = "same") -> np.ndarray:
    """Slide ``kernel`` over the grey ``image`` (H, W): the cross-correlation a Conv2D computes.

    ``padding="same"`` pads with zeros so the output has the image's size; "valid" keeps only
    the positions where the kernel lies fully inside the image.
    """
    image = _checks.finite_array("image", image, ndim=2).astype(np.float32)
    kernel = _checks.finite_array("kernel", kernel, ndim=2).astype(np.float32)
    padding = _checks.one_of("padding", padding, PADDINGS)
    if padding == "valid" and (
        kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]
    ):
        raise ValueError(
            f"kernel {kernel.shape} must fit inside the image {image.shape} with padding='valid'"
        )
    output = tf.nn.conv2d(image[None, ..., None], kernel[..., None, None], 1, padding.upper())
    return output.numpy()[0, ..., 0]


@dataclass(frozen=True)
class KernelEffect:
    """An image, a kernel, and the filtered image (same size: zero padding)."""

    image: np.ndarray
    kernel: np.ndarray
    output: np.ndarray

    @property
    def preset(self) -> str:
        """The name of the preset this kernel equals, or ``CUSTOM``."""
        return matching_preset(self.kernel)


def kernel_effect(image: Any, kernel: Any) -> KernelEffect:
    """Filter ``image`` with ``kernel`` (zero padding, output as large as the image)."""
    image = _checks.finite_array("image", image, ndim=2).astype(np.float32)
    kernel = _checks.finite_array("kernel", kernel, ndim=2).astype(np.float32)
    return KernelEffect(image, kernel, apply_kernel(image, kernel))


def matching_preset(kernel: Any) -> str:
    """The name of the preset equal to ``kernel`` (within 1e-6), else ``CUSTOM``."""
    kernel = _checks.finite_array("kernel", kernel, ndim=2)
    for name, preset in KERNEL_PRESETS.items():
        if preset.shape == kernel.shape and np.allclose(preset, kernel, rtol=0, atol=1e-6):
            return name
    return CUSTOM


def draw_kernel_effect(effect: KernelEffect) -> Figure:
    """Three panels: the image, the kernel with its numbers, and the filtered image.

    The output uses a diverging colour scale centred on 0: edge filters answer with both
    signs (red where the kernel's positive side meets ink, blue for the negative side).
    """
    fig, (left, middle, right) = plt.subplots(
        1, 3, figsize=(7.2, 2.5), width_ratios=[1.0, 0.8, 1.0]
    )
    image_panel(left, effect.image, "image", cmap="gray_r")

    kernel = effect.kernel
    limit = float(np.abs(kernel).max()) or 1.0
    image_panel(
        middle, kernel, f"kernel: {effect.preset}", cmap=DIVERGING + "_r", vmin=-limit, vmax=limit
    )
    for (row, col), value in np.ndenumerate(kernel):
        strong = abs(value) > 0.6 * limit
        middle.text(
            col,
            row,
            f"{value:.3g}",
            ha="center",
            va="center",
            fontsize=9,
            color="white" if strong else "black",
        )

    output = effect.output
    reach = float(np.abs(output).max()) or 1.0
    image_panel(
        right,
        output,
        f"output: {output.min():.2f} to {output.max():.2f}",
        cmap=DIVERGING + "_r",
        vmin=-reach,
        vmax=reach,
    )
    fig.tight_layout()
    return fig


CELL_NAMES = tuple(f"k{row}{col}" for row in range(3) for col in range(3))
"""The kernel editor's controls for the nine kernel entries, row by row (``k00`` ... ``k22``)."""


def kernel_editor(
    images: Any,
    *,
    preset: str = "sobel x",
    index: int = 0,
) -> Explorer:
    """Nine number boxes hold a 3x3 kernel; a menu loads a preset; a slider picks the image.

    ``images`` has shape (N, H, W) (grey images, e.g. digits). Editing a number redraws the
    filtered image; the menu then shows which preset the kernel equals, or "custom".
    """
    images, _ = checked_images(images, None)
    if images.ndim != 3:
        raise ValueError(f"images must be grey images of shape (N, H, W), got {images.shape}")
    _checks.one_of("preset", preset, KERNEL_PRESETS)
    index = checked_index(index, len(images))

    cells = {
        name: widgets.FloatText(value=float(value), step=0.1, layout=widgets.Layout(width="72px"))
        for name, value in zip(CELL_NAMES, KERNEL_PRESETS[preset].ravel())
    }
    picker = widgets.IntSlider(
        value=index, min=0, max=len(images) - 1, description="image #", continuous_update=False
    )
    menu = widgets.Dropdown(options=[*KERNEL_PRESETS, CUSTOM], value=preset, description="preset")

    def render(index: int, **cells: float) -> Figure:
        kernel = np.array([cells[name] for name in CELL_NAMES]).reshape(3, 3)
        return draw_kernel_effect(kernel_effect(images[index], kernel))

    explorer = Explorer(render, {"index": picker, **cells})
    explorer.preset = menu

    def load_preset(change: Mapping[str, Any]) -> None:
        if change["new"] == CUSTOM:
            return
        values = KERNEL_PRESETS[change["new"]].ravel()
        for name, value in zip(CELL_NAMES, values):
            cell = cells[name]
            cell.unobserve(explorer.redraw, names="value")  # one redraw for all nine numbers
            cell.value = float(value)
            cell.observe(explorer.redraw, names="value")
        explorer.redraw()

    def show_preset(_change: object) -> None:
        kernel = np.array([cells[name].value for name in CELL_NAMES]).reshape(3, 3)
        name = matching_preset(kernel)
        if menu.value != name:
            menu.unobserve(load_preset, names="value")
            menu.value = name
            menu.observe(load_preset, names="value")

    menu.observe(load_preset, names="value")
    for cell in cells.values():
        cell.observe(show_preset, names="value")

    grid = widgets.GridBox(
        list(cells.values()),
        layout=widgets.Layout(grid_template_columns="repeat(3, 76px)", grid_gap="4px"),
    )
    heading = widgets.HTML("<b>Kernel editor</b>")
    panel = widgets.VBox([heading, menu, grid, picker], layout=widgets.Layout(min_width="260px"))
    explorer.children = (panel, explorer.image)
    return explorer
