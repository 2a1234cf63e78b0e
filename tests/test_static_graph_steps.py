"""The static backprop step-through: its tables are the trace's numbers, its slider and Play
cover every step, long edges arc over the boxes, bad input is refused."""

from __future__ import annotations

import json

import pytest
from graph_helpers import chapter_graph, triple_graph

from mapping_lib.graph_trace import trace_graph
from mapping_lib.static.graph_steps import PLAY_INTERVAL_MS, graph_steps_view
from mapping_lib.static.views import PLAY_KEY


def test_the_step_slider_and_play_cover_every_step() -> None:
    spec = graph_steps_view(chapter_graph()).to_dict()
    (param,) = spec["params"]
    assert param["name"] == "step" and param["value"] == 0
    assert [param["bind"][key] for key in ("min", "max", "step")] == [0, 14, 1]
    assert spec["usermeta"][PLAY_KEY] == {"play": "step", "interval_ms": PLAY_INTERVAL_MS}
    assert len(json.dumps(spec)) < 20_000  # about 13 kB: seven nodes, seven edges


@pytest.mark.parametrize("build", [chapter_graph, triple_graph])
def test_the_tables_are_the_trace(build) -> None:
    trace = trace_graph(build())
    tables = graph_steps_view(build()).to_dict()["datasets"]
    assert [(row["name"], row["value"], row["grad"]) for row in tables["nodes"]] == [
        (node.name, node.value, node.grad) for node in trace.nodes
    ]
    assert [(row["x"], row["y"]) for row in tables["nodes"]] == [
        (node.column, node.y) for node in trace.nodes
    ]
    assert [(row["known_at"], row["complete_at"]) for row in tables["nodes"]] == [
        (node.forward_step, node.backward_step) for node in trace.nodes
    ]
    assert [(r["parent"], r["child"], r["local"], r["contribution"]) for r in tables["edges"]] == [
        (edge.parent, edge.child, edge.local, edge.contribution) for edge in trace.edges
    ]
    assert [row["caption"] for row in tables["captions"]] == [
        trace.caption(k) for k in range(len(trace.steps) + 1)
    ]


def test_edges_run_from_box_to_box_and_long_ones_arc_over_the_rest() -> None:
    trace = trace_graph(chapter_graph())
    points = graph_steps_view(chapter_graph()).to_dict()["datasets"]["points"]
    highest_box = max(node.y for node in trace.nodes) + 0.37
    for k, edge in enumerate(trace.edges):
        path = [(row["x"], row["y"]) for row in points if row["edge"] == k]
        parent, child = trace.node(edge.parent), trace.node(edge.child)
        assert path[0][0] == pytest.approx(parent.column + 0.3)
        assert path[-1][0] == pytest.approx(child.column - 0.3)
        if (edge.parent, edge.child) == ("a", "f"):  # a → f spans four columns
            assert len(path) == 4 and min(y for _, y in path[1:3]) > highest_box
        else:
            assert len(path) == 2


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="lacks data"):
        graph_steps_view("f")
    with pytest.raises(ValueError, match="play_interval_ms must be a positive int"):
        graph_steps_view(chapter_graph(), play_interval_ms=0)
