"""Properties of convolutions, measured: shifts, how much an output changes, and a picture
of how a multi-channel convolution is wired (Chapter 3)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from mapping_lib import _checks


def shift(images: Any, rows: int = 0, cols: int = 0) -> np.ndarray:
    """Move every image of an NHWC batch by ``rows`` down and ``cols`` right, zeros coming in.

    Unlike ``np.roll``, nothing wraps around: what leaves the frame is lost, and the cells
    that open up are zero, which is what moving a drawing on a blank page does.

    Args:
        images: array of shape (N, H, W, C).
        rows: pixels to move down (negative: up); ``|rows| < H``.
        cols: pixels to move right (negative: left); ``|cols| < W``.

    Returns:
        A new array of the same shape and dtype.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got shape {images.shape}")
    for name, step, size in (("rows", rows, images.shape[1]), ("cols", cols, images.shape[2])):
        if not isinstance(step, int | np.integer) or abs(step) >= size:
            raise ValueError(f"{name} must be an int with |{name}| < {size}, got {step!r}")
    moved = np.zeros_like(images)
    h, w = images.shape[1:3]
    src_r = slice(max(-rows, 0), h - max(rows, 0))  # rows that stay inside the frame
    src_c = slice(max(-cols, 0), w - max(cols, 0))
    dst_r = slice(max(rows, 0), h - max(-rows, 0))
    dst_c = slice(max(cols, 0), w - max(-cols, 0))
    moved[:, dst_r, dst_c] = images[:, src_r, src_c]
    return moved


def relative_change(before: Any, after: Any) -> float:
    """``||after - before|| / ||before||`` (Frobenius norms): 0 means unchanged.

    Args:
        before: the reference array; must not be all zeros.
        after: an array of the same shape.
    """
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if before.shape != after.shape:
        raise ValueError(f"after must have the shape of before, {before.shape}, got {after.shape}")
    scale = np.linalg.norm(before)
    if scale == 0:
        raise ValueError("before must not be all zeros (its norm is the scale)")
    return float(np.linalg.norm(after - before) / scale)


def _stack(ax: Any, x: float, y: float, count: int, size: float, color: str) -> None:
    """``count`` squares of side ``size``, each drawn a little up and right of the last."""
    step = size * 0.12
    for i in range(count):
        ax.add_patch(
            Rectangle((x + i * step, y + i * step), size, size, facecolor=color, edgecolor="black")
        )


def draw_channels(c_in: int, c_out: int, kernel: int = 3) -> plt.Figure:
    """Draw a convolution with ``c_in`` input channels and ``c_out`` filters.

    Left: the input, a stack of ``c_in`` maps. Middle: ``c_out`` kernels, each a stack of
    ``c_in`` slices of ``kernel`` × ``kernel`` weights (one slice per input channel). Right:
    one output map per kernel. Arrows run from every kernel to its own output map.

    Args:
        c_in: input channels, 1 to 8 (more would not fit the drawing).
        c_out: filters (kernels, output maps), 1 to 6.
        kernel: side of each kernel, 1 to 7.

    Returns:
        The figure.
    """
    _checks.positive_int("c_in", c_in)
    _checks.positive_int("c_out", c_out)
    _checks.positive_int("kernel", kernel)
    if c_in > 8 or c_out > 6 or kernel > 7:
        raise ValueError(
            f"c_in <= 8, c_out <= 6 and kernel <= 7 are expected to fit the drawing, "
            f"got c_in={c_in}, c_out={c_out}, kernel={kernel}"
        )
    fig, ax = plt.subplots(figsize=(9, 0.9 + 1.1 * c_out))
    height = 1.1 * c_out
    _stack(ax, 0.0, height / 2 - 1.0, c_in, 2.0, "#cfe3f5")
    ax.text(1.2, -0.6, f"input\nH × W × {c_in}", ha="center", va="top")
    kernel_side = 0.12 * kernel + 0.2
    for f in range(c_out):
        y = height - 1.1 * (f + 1) + 0.2
        _stack(ax, 4.0, y, c_in, kernel_side, "#f59322")
        _stack(ax, 7.0, y - 0.1, 1, 0.9, "#dbeccd")
        start = (4.3 + kernel_side + 0.2, y + 0.35)
        ax.annotate("", (6.9, y + 0.35), start, arrowprops={"arrowstyle": "->"})
    label = f"{c_out} kernels,\neach {kernel} × {kernel} × {c_in}"
    ax.text(4.4, -0.6, label, ha="center", va="top")
    ax.text(7.45, -0.6, f"output\nH' × W' × {c_out}", ha="center", va="top")
    ax.set_xlim(-0.3, 8.6)
    ax.set_ylim(-1.6, height + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig
