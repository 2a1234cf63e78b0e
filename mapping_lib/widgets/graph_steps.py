"""The backprop step-through explorer: Chapter 2's computational graph, one node at a time.

:func:`draw_graph_step` draws a :class:`~mapping_lib.graph_trace.GraphTrace` as it stands
after a given step (values known so far, gradients complete so far, the current node and the
edges it sends gradients along highlighted) and :func:`graph_steps_explorer` is the thin
:class:`~mapping_lib.widgets.Explorer` view with one ``step`` slider.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from mapping_lib import _checks
from mapping_lib.graph_trace import GraphTrace, trace_graph
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer

HIGHLIGHT = "#d62728"
"""The current node, and the edges that carry a gradient at this step."""

_DX, _DY = 4.3, 1.8  # draw_graph's spacing, a little wider for the contributions


def node_text(trace: GraphTrace, name: str, step: int) -> str:
    """A node's box after ``step``: its formula, its value once computed, its gradient once
    complete ("?" before)."""
    node = trace.node(name)
    value = f"{node.value:+.4f}" if step >= node.forward_step else "?"
    grad = f"{node.grad:+.4f}" if step >= node.backward_step else "?"
    return f"{node.formula}\nvalue {value}\ngrad  {grad}"


def draw_graph_step(trace: GraphTrace, step: int) -> Figure:
    """The graph after ``step`` steps (0: nothing computed yet), titled with what it did.

    Args:
        trace: the traced graph.
        step: 0 to ``len(trace.steps)``.
    """
    step = _checks.non_negative_int("step", step)
    if step > len(trace.steps):
        raise ValueError(f"step must be at most {len(trace.steps)} (the last step), got {step}")
    position = {node.name: (_DX * node.column, _DY * node.y) for node in trace.nodes}
    column = {node.name: node.column for node in trace.nodes}
    current = trace.steps[step - 1] if step else None
    fig, ax = plt.subplots(figsize=(12, 4.2))
    for k, edge in enumerate(trace.edges):
        (x0, y0), (x1, y1) = position[edge.parent], position[edge.child]
        skips = column[edge.child] - column[edge.parent] > 1  # long edges arc over the rest
        lane = trace.node(edge.child).parents[: edge.slot].count(edge.parent)  # x * x: 2 edges
        lift = 0.3 * skips - 0.6 * lane
        sending = current is not None and k in current.edges
        color = HIGHLIGHT if sending else "0.45"
        ax.annotate(
            "",
            xy=(x1 - 0.85, y1 + lift),
            xytext=(x0 + 0.85, y0 + lift),
            arrowprops={
                "arrowstyle": "->",
                "color": color,
                "lw": 2.2 if sending else 1.2,
                "connectionstyle": f"arc3,rad={-0.3 if skips else 0.0}",
            },
        )
        label = f"∂{edge.child}/∂{edge.parent} = {edge.local:.4g}"
        if step >= edge.step:  # sent: show what went back along this edge
            label += f"\nsends {edge.contribution:+.4f}"
        label_y = max(y0, y1) + 1.45 if skips else (y0 + y1) / 2 + 0.3 + lift
        ax.text(
            (x0 + x1) / 2,
            label_y,
            label,
            color=color,
            fontsize=8,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
        )
    for node in trace.nodes:
        here = current is not None and current.node == node.name
        border = CLASS_COLORS[1] if node.parents else CLASS_COLORS[0]
        ax.text(
            *position[node.name],
            node_text(trace, node.name, step),
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
            bbox={
                "boxstyle": "round,pad=0.4",
                "fc": "#eef5fb" if node.parents else "#fdf0e1",
                "ec": HIGHLIGHT if here else border,
                "lw": 2.5 if here else 1.0,
            },
        )
    xs, ys = zip(*position.values())
    ax.set_xlim(min(xs) - 1.1, max(xs) + 1.1)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 2.0)
    ax.axis("off")
    ax.set_title(f"step {step}/{len(trace.steps)}  {trace.caption(step)}", fontsize=10)
    return fig


def graph_steps_explorer(output: Any) -> Explorer:
    """Step through the graph that ends in ``output``: forward values, then gradients.

    Args:
        output: the output node of a scalar graph of Chapter 2's ``Value`` nodes (or any nodes
            with ``data``, ``parents``, ``local``, ``op`` and ``name``; see
            :func:`~mapping_lib.graph_trace.trace_graph`).
    """
    trace = trace_graph(output)
    step = widgets.IntSlider(value=0, min=0, max=len(trace.steps), description="step")
    return Explorer(
        lambda step: draw_graph_step(trace, step),
        {"step": step},
        title="Backprop, one node at a time",
    )
