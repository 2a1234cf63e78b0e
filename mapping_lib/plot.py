"""Matplotlib helpers shared by the chapters and the explorers.

Every helper draws into an ``Axes`` it is given (or a new one) and returns the
figure, so a notebook can show it and an explorer can turn it into PNG bytes
with :func:`figure_to_png`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from mapping_lib import _checks

# Two colours for the two classes of the toy sets, the same orange/blue pair
# TensorFlow Playground uses, so readers who know it feel at home.
CLASS_COLORS = ("#f59322", "#0877bd")
DIVERGING = "RdBu"


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5, 4)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render ``fig`` to PNG bytes and close it (explorers redraw many times)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def loss_curves(
    history: object,
    keys: Sequence[str] = ("loss", "val_loss"),
    ax: Axes | None = None,
    log_scale: bool = False,
) -> Figure:
    """Plot per-epoch curves from a ``History`` (ours or Keras') or a dict of lists."""
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        kind = type(history).__name__
        raise TypeError(f"history must be a History or a dict of lists, got {kind}")
    fig, ax = _axes(ax)
    drawn = 0
    for key in keys:
        values = logs.get(key)
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=key)
            drawn += 1
    if drawn == 0:
        raise ValueError(
            f"keys must name curves in the history; it has {sorted(logs)}, got {list(keys)}"
        )
    ax.set_xlabel("epoch")
    ax.set_yscale("log" if log_scale else "linear")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def image_grid(
    images: np.ndarray,
    labels: Sequence[object] | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray",
    size: float = 1.2,
) -> Figure:
    """Show images (N, H, W) or (N, H, W, C) in a grid, each titled by its label."""
    images = _checks.finite_array("images", images, ndim=(3, 4))
    ncols = _checks.positive_int("ncols", ncols)
    if labels is not None:
        _checks.same_length("images", images, "labels", labels)
    count = len(images)
    ncols = min(ncols, max(count, 1))
    nrows = max(1, -(-count // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.2 * nrows))
    for index, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if index >= count:
            continue
        image = images[index]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap=cmap)
        if labels is not None:
            ax.set_title(str(labels[index]), fontsize=8)
    fig.tight_layout()
    return fig


def grid_points(extent: tuple[float, float, float, float], resolution: int) -> np.ndarray:
    """A (resolution**2, 2) float32 array of points covering ``extent`` = (x0, x1, y0, y1)."""
    resolution = _checks.positive_int("resolution", resolution)
    x0, x1, y0, y1 = extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype("float32")


def decision_regions(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 100,
    extent: tuple[float, float, float, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Colour the plane by ``predict`` (points -> P(class 1) or class scores) and overlay the data.

    The 0.5 contour of P(class 1), or the argmax boundary for several classes, is
    the decision boundary the mapping draws.
    """
    x = _checks.finite_array("x", x, ndim=2)
    if x.shape[1] != 2:
        raise ValueError(f"x must have 2 columns (points in the plane), got shape {x.shape}")
    y = np.asarray(y)
    _checks.same_length("x", x, "y", y)
    if extent is None:
        low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        extent = (low[0], high[0], low[1], high[1])
    points = grid_points(extent, resolution)
    scores = np.asarray(predict(points))
    one_each = scores.ndim > 0 and len(scores) == len(points)
    rows = scores.ndim == 2 and scores.shape[1] > 1
    if not (one_each and (rows or scores.size == len(points))):
        raise ValueError(
            "predict must return one probability or one row of class scores per point: "
            f"given points of shape {points.shape}, it returned shape {scores.shape}"
        )
    if rows:
        field = np.argmax(scores, axis=1).reshape(resolution, resolution)
        cmap, levels = "tab10", None
    else:
        field = scores.reshape(resolution, resolution)
        cmap, levels = DIVERGING, [0.5]
    fig, ax = _axes(ax)
    ax.imshow(field, origin="lower", extent=extent, cmap=cmap, alpha=0.6, aspect="auto",
              vmin=0 if levels else None, vmax=1 if levels else None)
    if levels:
        grid_x = points[:, 0].reshape(resolution, resolution)
        grid_y = points[:, 1].reshape(resolution, resolution)
        ax.contour(grid_x, grid_y, field, levels=levels, colors="k", linewidths=1)
    classes = np.unique(y)
    colors = CLASS_COLORS if len(classes) <= 2 else plt.get_cmap("tab10").colors
    ax.scatter(x[:, 0], x[:, 1], c=np.searchsorted(classes, y), s=10, edgecolors="white",
               linewidths=0.3, cmap=ListedColormap(colors[: len(classes)]))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if title:
        ax.set_title(title)
    return fig


def network_diagram(
    layer_sizes: Sequence[int],
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw a fully connected network: one column of circles per layer, every edge drawn."""
    sizes = [_checks.positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes)]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least 2 layers, got {list(layer_sizes)}")
    if labels is not None and len(labels) != len(sizes):
        raise ValueError(f"labels must name each of the {len(sizes)} layers, got {len(labels)}")
    fig, ax = _axes(ax, figsize=(1.8 * len(sizes), 3.2))
    tallest = max(sizes)
    columns = [
        [(layer, tallest / 2 - (i - (n - 1) / 2)) for i in range(n)]
        for layer, n in enumerate(sizes)
    ]
    for left, right in zip(columns, columns[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.7, zorder=1)
    for layer, column in enumerate(columns):
        color = CLASS_COLORS[1] if 0 < layer < len(columns) - 1 else CLASS_COLORS[0]
        ax.scatter(*zip(*column), s=380, color=color, edgecolors="k", zorder=2)
        if labels is not None:
            ax.text(layer, -1.0, labels[layer], ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-1.8, tallest + 0.2)
    ax.axis("off")
    return fig
