"""The graph trace: values and gradients against GradientTape, layout, steps, refusals, and the
ipywidgets view that draws a trace."""

from __future__ import annotations

import numpy as np
import pytest
from explorer_helpers import PNG_SIGNATURE, redraws
from graph_helpers import chapter_graph, graph_nodes, tape_values_and_grads, triple_graph

from mapping_lib.graph_trace import START_CAPTION, trace_graph
from mapping_lib.widgets.graph_steps import graph_steps_explorer


@pytest.mark.parametrize("build", [chapter_graph, triple_graph])
def test_values_and_gradients_equal_gradient_tape(build) -> None:
    output = build()
    for node in graph_nodes(output):
        node.grad = 99.0  # a stale backward pass: the trace must not read it
    trace = trace_graph(output)
    tape = tape_values_and_grads(output)
    assert [node.name for node in trace.nodes] == list(tape)  # Value.nodes() order
    for node in trace.nodes:
        value, grad = tape[node.name]
        assert node.value == pytest.approx(value, abs=1e-12), node.name
        assert node.grad == pytest.approx(grad, abs=1e-12), node.name
    # Each edge carries ∂f/∂child · local, and a node's gradient is the sum of what it receives.
    for edge in trace.edges:
        child = trace.node(edge.child)
        assert edge.contribution == child.grad * edge.local
        assert edge.step == child.backward_step
    for node in trace.nodes[:-1]:
        received = [edge.contribution for edge in trace.edges if edge.parent == node.name]
        assert sum(received) == pytest.approx(node.grad, abs=1e-15)


def test_chapter_graph_layout_is_draw_graphs() -> None:
    trace = trace_graph(chapter_graph())
    placed = {node.name: (node.column, node.row, node.y) for node in trace.nodes}
    assert placed == {
        "a": (0, 0, 0.5), "b": (0, 1, -0.5), "d": (1, 0, 0.5), "c": (1, 1, -0.5),
        "e": (2, 0, 0.0), "s": (3, 0, 0.0), "f": (4, 0, 0.0),
    }  # fmt: skip
    assert [node.formula for node in trace.nodes] == [
        "a (input)", "b (input)", "d = a × b", "c (input)", "e = d + c", "s = σ(e)", "f = s × a",
    ]  # fmt: skip
    edges = [(edge.parent, edge.child, edge.local) for edge in trace.edges]
    a, b, s = 2.0, -0.5, trace.node("s").value
    assert edges == [
        ("a", "d", b), ("b", "d", a), ("d", "e", 1.0), ("c", "e", 1.0),
        ("e", "s", s * (1 - s)), ("s", "f", a), ("a", "f", s),
    ]  # fmt: skip


def test_a_parent_used_twice_by_one_child_gives_two_edges() -> None:
    trace = trace_graph(triple_graph())
    uses = [(edge.child, edge.slot) for edge in trace.edges if edge.parent == "x"]
    assert uses == [("p", 0), ("p", 1), ("r", 1)]
    assert trace.node("x").column == 0 and trace.node("r").column == 3
    assert "= " + f"{trace.node('x').grad:.4f}" in trace.steps[-1].caption


def test_steps_go_forward_then_back_one_node_at_a_time() -> None:
    trace = trace_graph(chapter_graph())
    order = [node.name for node in trace.nodes]
    assert [step.node for step in trace.steps] == order + order[::-1]
    assert [step.phase for step in trace.steps] == ["forward"] * 7 + ["backward"] * 7
    for number, step in enumerate(trace.steps, start=1):
        node = trace.node(step.node)
        assert number == (node.forward_step if step.phase == "forward" else node.backward_step)
        expected = [k for k, edge in enumerate(trace.edges) if edge.child == step.node]
        assert list(step.edges) == (expected if step.phase == "backward" else [])
    e, a = trace.node("e"), trace.node("a")
    assert trace.caption(0) == START_CAPTION
    assert trace.caption(e.forward_step) == "forward: e = d + c = 0.5000"
    assert trace.caption(e.backward_step) == (
        f"backward: ∂f/∂e = {e.grad:.4f}, sends ∂f/∂e · 1 to d and c"
    )
    assert trace.caption(trace.node("f").backward_step).startswith("backward: ∂f/∂f = 1.0000")
    into_a = [edge.contribution for edge in trace.edges if edge.parent == "a"]
    assert trace.caption(a.backward_step) == (
        f"backward: ∂f/∂a = {into_a[0]:.4f} + {into_a[1]:.4f} = {a.grad:.4f}, "
        "an input: sends nothing"
    )


class Bare:
    """A node-like object whose attributes a test sets one by one."""

    def __init__(self, **attributes):
        self.__dict__.update({"data": 1.0, "parents": (), "local": (), "op": "", "name": "x"})
        self.__dict__.update(attributes)


def test_bad_graphs_are_refused() -> None:
    with pytest.raises(TypeError, match="must have data, parents, local, op, name.*lacks local"):
        trace_graph(type("NoLocal", (), {"data": 1.0, "parents": (), "op": "", "name": "x"})())
    with pytest.raises(TypeError, match="lacks data"):
        trace_graph(3.0)
    with pytest.raises(ValueError, match="one local derivative per parent.*2 parents and 1"):
        trace_graph(Bare(parents=(Bare(name="u"), Bare(name="v")), local=(1.0,), name="w"))
    with pytest.raises(ValueError, match="needs a name"):
        trace_graph(Bare(parents=(Bare(name=""),), local=(1.0,), name="w"))
    with pytest.raises(ValueError, match=r"distinct names, found several called \['u'\]"):
        trace_graph(Bare(parents=(Bare(name="u"), Bare(name="u")), local=(1.0, 1.0), name="w"))
    with pytest.raises(TypeError, match="'w': data must be a real number"):
        trace_graph(Bare(data="1", name="w"))
    with pytest.raises(ValueError, match="'w': local must be finite"):
        trace_graph(Bare(parents=(Bare(),), local=(np.nan,), name="w"))
    with pytest.raises(TypeError, match="'w': parents must be a tuple or list"):
        trace_graph(Bare(parents=5, name="w"))
    looped = Bare(name="w")
    looped.parents, looped.local = (looped,), (1.0,)
    with pytest.raises(ValueError, match="cycle through node 'w'"):
        trace_graph(looped)


def test_the_explorer_draws_every_step_and_refuses_non_graphs() -> None:
    explorer = graph_steps_explorer(chapter_graph())
    slider = explorer.controls["step"]
    assert (slider.min, slider.value, slider.max) == (0, 0, 14)
    assert bytes(explorer.image.value).startswith(PNG_SIGNATURE)
    redraws(explorer, "step", 14)
    with pytest.raises(TypeError, match="lacks data"):
        graph_steps_explorer("f")
    with pytest.raises(ValueError, match="step must be at most 14"):
        explorer.render(step=15)
