"""The backprop step-through explorer in the static book: Chapter 2's graph, one node at a time.

A ``step`` slider (and Play) walks through :func:`mapping_lib.graph_trace.trace_graph`'s steps:
first each node's value becomes known, in evaluation order, then each node's gradient is
complete, in reverse order, and it sends ∂f/∂node · local back along its edges. Every number
and every caption is computed in Python; the browser only compares each row's step numbers
with the slider.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt

from mapping_lib import _checks
from mapping_lib.graph_trace import GraphTrace, trace_graph
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, slider

HIGHLIGHT = "#d62728"
"""The current node, and the edges that carry a gradient at this step."""

PLAY_INTERVAL_MS = 900
"""Time between two steps when Play walks through the graph: long enough to read a caption."""

_EDGE_COLOR = "#777"
_KINDS = {"input": ("#fdf0e1", CLASS_COLORS[0]), "operation": ("#eef5fb", CLASS_COLORS[1])}
_PX_X, _PX_Y = 170, 70  # pixels per column, per row
_HALF_W, _HALF_H = 0.3, 0.37  # a box, in columns and rows
_LANE = 0.35  # rows between the lanes of the edges that arc over other columns


def _paths(trace: GraphTrace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The edges as polylines (one row per point) and one row per edge (labels, arrowheads).

    An edge between neighbouring columns is a straight line from box to box; a longer one
    rises to a lane above every box and comes down at its child, as ``draw_graph`` arcs it.
    """
    top = max(node.y for node in trace.nodes) + _HALF_H + 0.3
    points, edges = [], []
    long_edges = 0
    for k, edge in enumerate(trace.edges):
        parent, child = trace.node(edge.parent), trace.node(edge.child)
        lane = child.parents[: edge.slot].count(edge.parent)  # x * x: two edges, side by side
        x0, y0 = parent.column + _HALF_W, parent.y - 0.15 * lane
        x1, y1 = child.column - _HALF_W, child.y - 0.15 * lane
        path = [(x0, y0), (x1, y1)]
        if child.column - parent.column > 1:
            level = top + _LANE * long_edges
            long_edges += 1
            y0, y1 = y0 + _HALF_H / 2, y1 + _HALF_H / 2
            path = [(x0, y0), (x0 + 0.2, level), (x1 - 0.2, level), (x1, y1)]
        points += [
            {"edge": k, "order": order, "x": x, "y": y, "sent_at": edge.step}
            for order, (x, y) in enumerate(path)
        ]
        (xa, ya), (xb, yb) = path[len(path) // 2 - 1], path[len(path) // 2]
        (xc, yc), (xd, yd) = path[-2:]
        edges.append(
            {
                "edge": k,
                "parent": edge.parent,
                "child": edge.child,
                "local": edge.local,
                "contribution": edge.contribution,
                "sent_at": edge.step,
                "label_x": (xa + xb) / 2,
                "label_y": (ya + yb) / 2 - 0.5 * lane,
                "local_text": f"∂{edge.child}/∂{edge.parent} = {edge.local:.4g}",
                "sends_text": f"sends {edge.contribution:+.4f}",
                "tip_x": xd,
                "tip_y": yd,
                # Vega turns symbols clockwise on screen, where y grows downwards.
                "angle": math.degrees(math.atan2(-(yd - yc) * _PX_Y, (xd - xc) * _PX_X)),
            }
        )
    return points, edges


def _tables(trace: GraphTrace) -> dict[str, list[dict[str, Any]]]:
    """``nodes`` (value, gradient and the steps that reveal them), ``points`` and ``edges``
    (see :func:`_paths`) and ``captions`` (what each step does, 0 to the last)."""
    nodes = [
        {
            "name": node.name,
            "formula": node.formula,
            "kind": "operation" if node.parents else "input",
            "x": node.column,
            "y": node.y,
            "value": node.value,
            "grad": node.grad,
            "known_at": node.forward_step,
            "complete_at": node.backward_step,
            "value_text": f"value {node.value:+.4f}",
            "grad_text": f"grad  {node.grad:+.4f}",
        }
        for node in trace.nodes
    ]
    points, edges = _paths(trace)
    captions = [{"step": k, "caption": trace.caption(k)} for k in range(len(trace.steps) + 1)]
    return {"nodes": nodes, "points": points, "edges": edges, "captions": captions}


def _when(test: str, yes: float | str, no: Any) -> Any:
    """``yes`` where the Vega expression ``test`` holds, else ``no`` (a value or a channel)."""
    return alt.condition(
        test, alt.value(yes), alt.value(no) if isinstance(no, (str, float, int)) else no
    )


def graph_steps_view(output: Any, *, play_interval_ms: int = PLAY_INTERVAL_MS) -> StaticView:
    """Step through the graph that ends in ``output``: forward values, then gradients.

    Args:
        output: the output node of a scalar graph of Chapter 2's ``Value`` nodes (or any nodes
            with ``data``, ``parents``, ``local``, ``op`` and ``name``; see
            :func:`~mapping_lib.graph_trace.trace_graph`).
        play_interval_ms: time between two steps of the Play button.
    """
    play_interval_ms = _checks.positive_int("play_interval_ms", play_interval_ms)
    trace = trace_graph(output)
    data = _tables(trace)
    last = len(trace.steps)
    columns = max(node.column for node in trace.nodes)
    x_domain = [-_HALF_W - 0.05, columns + _HALF_W + 0.05]
    high = max([node.y + _HALF_H for node in trace.nodes] + [p["y"] for p in data["points"]])
    y_domain = [min(node.y for node in trace.nodes) - _HALF_H - 0.1, high + 0.3]
    width = round((x_domain[1] - x_domain[0]) * _PX_X)
    height = round((y_domain[1] - y_domain[0]) * _PX_Y)

    def x(field: str) -> alt.X:
        return alt.X(f"{field}:Q", axis=None, scale=alt.Scale(domain=x_domain, nice=False))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", axis=None, scale=alt.Scale(domain=y_domain, nice=False))

    sending = "datum.sent_at == step"
    lines = (
        alt.Chart(alt.Data(name="points"))
        .mark_line()
        .encode(
            x=x("x"),
            y=y("y"),
            detail="edge:N",
            order="order:Q",
            color=_when(sending, HIGHLIGHT, _EDGE_COLOR),
            strokeWidth=_when(sending, 2.5, 1.2),
        )
    )
    edges = alt.Chart(alt.Data(name="edges"))
    heads = edges.mark_point(shape="triangle-right", filled=True, size=50, opacity=1).encode(
        x=x("tip_x"),
        y=y("tip_y"),
        angle=alt.Angle("angle:Q", scale=None),
        color=_when(sending, HIGHLIGHT, _EDGE_COLOR),
    )
    label = {"x": x("label_x"), "y": y("label_y"), "color": _when(sending, HIGHLIGHT, "#555")}
    locals_ = (
        edges.mark_text(fontSize=10, dy=-8)
        .encode(text="local_text:N", **label)
        .properties(name="local")
    )
    sends = (
        edges.transform_filter("datum.sent_at <= step")
        .mark_text(fontSize=10, dy=7)
        .encode(text="sends_text:N", **label)
        .properties(name="sends")
    )
    nodes = alt.Chart(alt.Data(name="nodes")).transform_calculate(
        left=f"datum.x - {_HALF_W}",
        right=f"datum.x + {_HALF_W}",
        bottom=f"datum.y - {_HALF_H}",
        top=f"datum.y + {_HALF_H}",
        shown_value="datum.known_at <= step ? datum.value_text : 'value ?'",
        shown_grad="datum.complete_at <= step ? datum.grad_text : 'grad  ?'",
    )
    current = "datum.known_at == step || datum.complete_at == step"
    kinds = list(_KINDS)
    boxes = (
        nodes.mark_rect(cornerRadius=5)
        .encode(
            x=x("left"),
            x2="right:Q",
            y=y("bottom"),
            y2="top:Q",
            fill=alt.Fill(
                "kind:N",
                legend=None,
                scale=alt.Scale(domain=kinds, range=[_KINDS[kind][0] for kind in kinds]),
            ),
            stroke=_when(
                current,
                HIGHLIGHT,
                alt.Stroke(
                    "kind:N",
                    legend=None,
                    scale=alt.Scale(domain=kinds, range=[_KINDS[kind][1] for kind in kinds]),
                ),
            ),
            strokeWidth=_when(current, 3, 1.2),
        )
        .properties(name="boxes")
    )
    text = {"x": x("x"), "y": y("y")}
    lines_of_box = [
        nodes.mark_text(font="monospace", fontSize=10.5, dy=dy)
        .encode(text=f"{field}:N", **text)
        .properties(name=name)
        for dy, field, name in (
            (-15, "formula", "formula"),
            (0, "shown_value", "value"),
            (15, "shown_grad", "grad"),
        )
    ]
    caption = (
        alt.Chart(alt.Data(name="captions"))
        .transform_filter("datum.step == step")
        .mark_text(align="left", baseline="top", fontSize=13, x=0, y=0)
        .encode(text="caption:N")
        .properties(width=width, height=22, name="caption")
    )
    graph = alt.layer(lines, heads, locals_, sends, boxes, *lines_of_box).properties(
        width=width, height=height
    )
    chart = (
        alt.vconcat(caption, graph)
        .add_params(slider("step", 0, last, 1, 0, "step "))
        .properties(
            title=f"Backprop, one node at a time: {trace.output}, forward then backward",
            datasets=data,
        )
        .configure_view(stroke=None)
    )
    return StaticView(
        chart,
        f"backprop step by step: {len(trace.nodes)} nodes of {trace.output}, {last} steps",
        play="step",
        play_interval_ms=play_interval_ms,
    )
