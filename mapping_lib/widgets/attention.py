"""The attention-map explorer (JupyterLab): type a digit string, pick a decoder layer and a
head, see where each output position of the Transformer looks in the input.

The numbers come from :func:`mapping_lib.transformer.attention_maps`; this module only draws.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mapping_lib.transformer import AttentionMaps, Seq2Seq, attention_maps
from mapping_lib.widgets import Explorer

MEAN = "mean"
"""The head option that averages the layer's heads."""


def head_weights(maps: AttentionMaps, layer: int, head: int | str) -> np.ndarray:
    """One layer's weights ``(outputs, sources)`` for ``head``, or their mean for ``MEAN``."""
    layers, heads = maps.weights.shape[:2]
    if not isinstance(layer, int) or not 0 <= layer < layers:
        raise ValueError(f"layer must be an int in [0, {layers}), got {layer!r}")
    if head == MEAN:
        return maps.weights[layer].mean(axis=0)
    if not isinstance(head, int) or not 0 <= head < heads:
        raise ValueError(f"head must be an int in [0, {heads}) or {MEAN!r}, got {head!r}")
    return maps.weights[layer, head]


def draw_attention(
    maps: AttentionMaps, layer: int = 0, head: int | str = MEAN, ax: Axes | None = None
) -> Figure:
    """A heatmap of the cross-attention weights: one row per output token, one column per
    input digit, each cell labelled with its weight."""
    weights = head_weights(maps, layer, head)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * weights.shape[1] + 1.6, 0.45 * weights.shape[0] + 1.2))
    ax.imshow(weights, cmap="Blues", vmin=0, vmax=1)
    for (t, j), w in np.ndenumerate(weights):
        ax.text(j, t, f"{w:.2f}"[1:] if w < 1 else "1", ha="center", va="center", fontsize=7,
                color="white" if w > 0.6 else "black")  # fmt: skip
    outputs = [*maps.output[: weights.shape[0]], "END"][: weights.shape[0]]
    ax.set_xticks(range(len(maps.source)), list(maps.source))
    ax.set_yticks(range(weights.shape[0]), outputs)
    ax.set_xlabel("input digit")
    ax.set_ylabel("output token")
    ax.set_title(f"layer {layer}, head {head}: {maps.source} → {maps.output}", fontsize=9)
    return ax.figure


def attention_explorer(net: Seq2Seq, digits: str = "1234567") -> Explorer:
    """A text box for the input digits and drop-downs for the layer and head."""
    first = attention_maps(net, digits)  # reject a bad default up front
    layers, heads = first.weights.shape[:2]
    controls = {
        "digits": widgets.Text(value=digits, description="digits", continuous_update=False),
        "layer": widgets.Dropdown(options=list(range(layers)), description="layer"),
        "head": widgets.Dropdown(options=[MEAN, *range(heads)], description="head"),
    }

    def render(digits: str, layer: int, head: int | str) -> Figure:
        try:
            return draw_attention(attention_maps(net, digits), layer, head)
        except ValueError as error:  # e.g. a letter in the box: say so, keep the view alive
            fig, ax = plt.subplots(figsize=(5, 1.2))
            ax.axis("off")
            ax.text(0.5, 0.5, str(error), ha="center", va="center", wrap=True)
            return fig

    return Explorer(render, controls, title="Where each output digit looks")
