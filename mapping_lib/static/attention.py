"""The attention-map explorer in the static book: pick an example input, a decoder layer and a
head; the heatmap shows where each output token of the Transformer looked.

Python precomputes the maps with :func:`mapping_lib.transformer.attention_maps` for a handful
of inputs (the browser cannot run the model); the drop-downs only select one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np

from mapping_lib.static.views import StaticView, choice, records
from mapping_lib.transformer import AttentionMaps, Seq2Seq, attention_maps
from mapping_lib.widgets.attention import MEAN, head_weights

DIGITS = 3
"""Decimals kept of each weight: the cells print two, and the spec stays small."""


def attention_table(maps: Sequence[AttentionMaps]) -> dict[str, list]:
    """One row per (example, layer, head, output position, input position) as columns."""
    columns: dict[str, list] = {
        key: [] for key in ("example", "layer", "head", "t", "j", "output", "input", "weight")
    }
    for example in maps:
        layers, heads = example.weights.shape[:2]
        tokens = [*example.output, "END"]
        for layer in range(layers):
            for head in [MEAN, *range(heads)]:
                weights = head_weights(example, layer, head)
                for (t, j), weight in np.ndenumerate(weights):
                    output = tokens[t] if t < len(tokens) else "?"
                    row = (
                        example.source, layer, str(head), t, j, f"{t + 1}: {output}",
                        f"{j + 1}: {example.source[j]}", round(float(weight), DIGITS),
                    )  # fmt: skip
                    for key, value in zip(columns, row):
                        columns[key].append(value)
    return columns


def attention_view(net: Seq2Seq, examples: Sequence[str]) -> StaticView:
    """The static attention-map explorer over the digit strings ``examples``.

    Args:
        net: a trained model from :func:`mapping_lib.transformer.transformer`.
        examples: the inputs offered (distinct digit strings, at most ``net.max_length``
            digits each); the first is shown at first.
    """
    examples = list(examples)
    if not examples or len(set(examples)) != len(examples):
        raise ValueError(f"examples must be distinct digit strings, got {examples!r}")
    maps = [attention_maps(net, text) for text in examples]
    layers, heads = maps[0].weights.shape[:2]
    decoded = [f"{m.source} → {m.output}" for m in maps]
    params = [
        choice("example", examples, examples[0], "input → output ", labels=decoded),
        choice("layer", list(range(layers)), 0, "decoder layer "),
        choice("head", [MEAN, *map(str, range(heads))], MEAN, "head "),
    ]
    base = alt.Chart(alt.InlineData(values=records(attention_table(maps)))).encode(
        x=alt.X("input:N", sort=alt.SortField("j"), title="input position: digit",
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("output:N", sort=alt.SortField("t"), title="output position: token"),
    )  # fmt: skip
    cells = base.mark_rect().encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        title="weight"),
        tooltip=["input:N", "output:N", alt.Tooltip("weight:Q", format=".3f")],
    )  # fmt: skip
    labels = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition("datum.weight > 0.6", alt.value("white"), alt.value("black")),
    )
    chart = (
        alt.layer(cells, labels)
        .transform_filter("datum.example == example && datum.layer == layer && datum.head == head")
        .transform_calculate(label="format(datum.weight, '.2f')")  # of the selected map only
        .add_params(*params)
        .properties(width=alt.Step(34), height=alt.Step(26),
                    title="Cross-attention: where each output token looks")
    )  # fmt: skip
    return StaticView(chart, "attention-map explorer: cross-attention of a digit-reversing model")
