"""Stacks of images for the Chapter 3 explorers: checking them and drawing one as a panel."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from mapping_lib import _checks


def image_panel(ax: Axes, image: np.ndarray, title: str, **imshow: Any) -> None:
    """Show ``image`` pixel by pixel in ``ax`` under ``title``, without ticks."""
    ax.imshow(image, interpolation="nearest", **imshow)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def checked_images(images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Check a non-empty stack of images (N, H, W) or (N, H, W, C) and its labels (or None)."""
    images = _checks.finite_array("images", images, ndim=(3, 4))
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got none")
    if labels is None:
        return images, None
    labels = _checks.finite_array("labels", labels, ndim=1)
    _checks.same_length("images", images, "labels", labels)
    return images, labels.astype(int)


def checked_index(index: Any, count: int) -> int:
    """Check the position of one image in a stack of ``count``."""
    index = _checks.non_negative_int("index", index)
    if index >= count:
        raise ValueError(f"index must be below the number of images {count}, got {index}")
    return index
