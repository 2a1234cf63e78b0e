"""The static backprop step-through in Chromium: at every sample step the numbers drawn are the
trace's, the right node and edges are highlighted, and Play walks to the last step."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_helpers import chapter_graph
from harness import PageLog
from playwright.sync_api import Page
from static_harness import page_of_views, set_signal

from mapping_lib.graph_trace import GraphTrace, trace_graph
from mapping_lib.static.graph_steps import HIGHLIGHT, graph_steps_view

# Every drawn item of every named mark (Vega-Lite names it "<name>_marks"): its text, its
# colours and the plain fields of its row, from Vega's scenegraph.
DRAWN_ITEMS = """(i) => {
    const found = {};
    const plain = (row) => Object.fromEntries(Object.entries(row || {}).filter(
        ([, value]) => value === null || typeof value !== "object"));
    const walk = (node) => {
        if (node.role === "mark" && node.name) {
            found[node.name.replace(/_marks$/, "")] = node.items.map((item) => ({
                text: item.text, fill: item.fill, stroke: item.stroke, ...plain(item.datum),
            }));
        }
        (node.items || []).forEach(walk);
    };
    walk(mappingStaticViews[i].view.scenegraph().root);
    return found;
}"""


@pytest.fixture(scope="module")
def trace() -> GraphTrace:
    return trace_graph(chapter_graph())


@pytest.fixture
def steps_page(page: Page, page_log: PageLog, tmp_path: Path) -> Page:
    page_of_views(page, tmp_path, [graph_steps_view(chapter_graph(), play_interval_ms=40)])
    yield page
    assert not page_log.problems(), page_log.problems()


def assert_drawn_as_traced(page: Page, trace: GraphTrace, step: int) -> None:
    drawn = page.evaluate(DRAWN_ITEMS, 0)
    assert [item["text"] for item in drawn["caption"]] == [trace.caption(step)]
    values = {item["name"]: (item["text"], item["value"]) for item in drawn["value"]}
    grads = {item["name"]: (item["text"], item["grad"]) for item in drawn["grad"]}
    for node in trace.nodes:
        known = step >= node.forward_step
        assert values[node.name] == (f"value {node.value:+.4f}" if known else "value ?", node.value)
        complete = step >= node.backward_step
        assert grads[node.name] == (f"grad  {node.grad:+.4f}" if complete else "grad  ?", node.grad)
    current = trace.steps[step - 1] if step else None
    highlighted = {item["name"] for item in drawn["boxes"] if item["stroke"] == HIGHLIGHT}
    assert highlighted == ({current.node} if current else set())
    sends = {item["edge"]: item for item in drawn["sends"]}
    assert sorted(sends) == [k for k, edge in enumerate(trace.edges) if edge.step <= step]
    for k, item in sends.items():
        edge = trace.edges[k]
        assert (item["parent"], item["child"]) == (edge.parent, edge.child)
        assert item["text"] == f"sends {edge.contribution:+.4f}"
        assert item["contribution"] == edge.contribution
    carrying = {k for k, item in sends.items() if item["fill"] == HIGHLIGHT}
    assert carrying == set(current.edges if current else ())


@pytest.mark.parametrize("step", [0, 3, 7, 8, 10, 12, 14])
def test_each_step_shows_the_traced_numbers(steps_page: Page, trace: GraphTrace, step: int):
    set_signal(steps_page, 0, "step", step)
    assert_drawn_as_traced(steps_page, trace, step)


def test_play_walks_to_the_last_step(steps_page: Page, trace: GraphTrace) -> None:
    assert_drawn_as_traced(steps_page, trace, 0)  # the view opens before the forward pass
    steps_page.click(".mapping-static-view-play")
    steps_page.wait_for_function(
        "(last) => mappingStaticViews[0].view.signal('step') === last",
        arg=len(trace.steps),
        timeout=10_000,
    )
    steps_page.evaluate("() => mappingStaticViews[0].view.runAsync().then(() => null)")
    assert_drawn_as_traced(steps_page, trace, len(trace.steps))
