"""A scalar computational graph traced step by step: forward values, then gradients flowing back.

:func:`trace_graph` reads any graph built from nodes that look like Chapter 2's ``Value``
(duck typing, nothing is imported from the chapter) and returns a :class:`GraphTrace`: the
nodes in evaluation order with their values and gradients, the edges with their local
derivatives and the contribution each carries back, and the steps an explorer walks through,
one node at a time. The explorers in :mod:`mapping_lib.widgets.graph_steps` and
:mod:`mapping_lib.static.graph_steps` only draw such a trace.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

NODE_ATTRIBUTES = ("data", "parents", "local", "op", "name")
"""What every node of a traced graph must have (Chapter 2's ``Value`` has all five)."""

START_CAPTION = "start: the graph before the forward pass; step through it or press Play"
"""What an explorer says at step 0, before any value is known."""


@dataclass(frozen=True)
class TraceNode:
    """One node: its value, its gradient ∂(output)/∂(node), and where the graph drawing puts it.

    ``column`` is Chapter 2's ``draw_graph`` placement (one column after the node's latest
    parent; an input just left of its first user), ``row`` its index from the top among the
    nodes of that column and ``y`` its height there (rows centred on 0, 1 apart).
    ``forward_step`` and ``backward_step`` are the step numbers (from 1) at which its value and
    its gradient become known.
    """

    name: str
    op: str
    formula: str
    parents: tuple[str, ...]
    value: float
    grad: float
    column: int
    row: int
    y: float
    forward_step: int
    backward_step: int


@dataclass(frozen=True)
class TraceEdge:
    """One use of ``parent`` by ``child``: ``local`` = ∂child/∂parent, and the contribution
    ∂f/∂child · local that the backward pass sends along it at step ``step``. A parent used
    twice by one child (``x * x``) gives two edges, ``slot`` 0 and 1."""

    parent: str
    child: str
    slot: int
    local: float
    contribution: float
    step: int


@dataclass(frozen=True)
class TraceStep:
    """What one step does: ``phase`` "forward" (``node``'s value becomes known) or "backward"
    (its gradient is complete and it sends a contribution along ``edges``, indices into
    :attr:`GraphTrace.edges`), in the words of ``caption``."""

    phase: str
    node: str
    edges: tuple[int, ...]
    caption: str


@dataclass(frozen=True)
class GraphTrace:
    """A traced graph: nodes in evaluation order, edges, and the forward then backward steps."""

    output: str
    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]
    steps: tuple[TraceStep, ...]

    def node(self, name: str) -> TraceNode:
        """The node called ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"the graph has no node named {name!r}")

    def caption(self, step: int) -> str:
        """What step ``step`` (0 to ``len(steps)``) does; step 0 is the start."""
        return self.steps[step - 1].caption if step else START_CAPTION


def _checked_node(node: Any) -> None:
    missing = [attribute for attribute in NODE_ATTRIBUTES if not hasattr(node, attribute)]
    if missing:
        raise TypeError(
            f"graph nodes must have {', '.join(NODE_ATTRIBUTES)} (like Chapter 2's Value); "
            f"{type(node).__name__} object {getattr(node, 'name', '')!r} lacks {', '.join(missing)}"
        )
    name = node.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"every graph node needs a name (a non-empty str), got {name!r}")
    for attribute in ("parents", "local"):
        if not isinstance(getattr(node, attribute), (tuple, list)):
            kind = type(getattr(node, attribute)).__name__
            raise TypeError(f"node {name!r}: {attribute} must be a tuple or list, got {kind}")
    checked = [("data", node.data)] + [("local", local) for local in node.local]
    for attribute, number in checked:
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise TypeError(f"node {name!r}: {attribute} must be a real number, got {number!r}")
        if not math.isfinite(number):
            raise ValueError(f"node {name!r}: {attribute} must be finite, got {number!r}")
    if len(node.parents) != len(node.local):
        raise ValueError(
            f"node {name!r} needs one local derivative per parent, "
            f"got {len(node.parents)} parents and {len(node.local)} local"
        )


def _evaluation_order(output: Any) -> list[Any]:
    """Every node reachable from ``output``, each after its parents: the depth-first order of
    ``Value.nodes()``, so that the trace lists the nodes as the chapter prints them."""
    order: list[Any] = []
    done: set[int] = set()
    visiting: set[int] = set()  # on the current path: meeting one again means a cycle

    def visit(node: Any) -> None:
        if id(node) in done:
            return
        if id(node) in visiting:
            raise ValueError(f"the graph has a cycle through node {node.name!r}")
        _checked_node(node)
        visiting.add(id(node))
        for parent in node.parents:
            visit(parent)
        visiting.discard(id(node))
        done.add(id(node))
        order.append(node)

    visit(output)
    names = [node.name for node in order]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"graph nodes need distinct names, found several called {repeated}")
    return order


def _columns(order: list[Any]) -> dict[int, int]:
    """``draw_graph``'s columns: one after the latest parent, inputs just before first use."""
    column: dict[int, int] = {}
    for node in order:
        column[id(node)] = 1 + max((column[id(parent)] for parent in node.parents), default=-1)
    for node in reversed(order):
        users = [column[id(child)] for child in order if any(p is node for p in child.parents)]
        if not node.parents and users:
            column[id(node)] = min(users) - 1
    return column


def formula(name: str, op: str, parents: tuple[str, ...]) -> str:
    """How a node was computed, as the chapter writes it: 'd = a × b', 's = σ(e)', 'a (input)'.

    Args:
        name: the node's name.
        op: its operation ("+", "×", "σ", ...).
        parents: its parents' names, in order.
    """
    if not parents:
        return f"{name} (input)"
    if len(parents) == 2:
        return f"{name} = {parents[0]} {op} {parents[1]}"
    return f"{name} = {op}({', '.join(parents)})"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _forward_caption(node: TraceNode) -> str:
    if not node.parents:
        return f"forward: {node.name} = {node.value:.4f} (an input)"
    return f"forward: {node.formula} = {node.value:.4f}"


def _factor(value: float) -> str:
    # "∂f/∂d · (-0.5)" rather than "∂f/∂d · -0.5"
    return f"{value:.4g}" if value >= 0 else f"({value:.4g})"


def _backward_caption(
    output: str, node: TraceNode, received: list[float], sent: list[TraceEdge]
) -> str:
    grad = f"∂{output}/∂{node.name}"
    if not received:
        text = f"backward: {grad} = {node.grad:.4f} (the start)"
    elif len(received) == 1:
        text = f"backward: {grad} = {node.grad:.4f}"
    else:  # a node used several times: its gradient sums one contribution per use
        terms = f"{received[0]:.4f}" + "".join(
            f" {'−' if value < 0 else '+'} {abs(value):.4f}" for value in received[1:]
        )
        text = f"backward: {grad} = {terms} = {node.grad:.4f}"
    if not sent:
        return text + ", an input: sends nothing"
    locals_ = {_factor(edge.local) for edge in sent}
    if len(locals_) == 1:
        return text + f", sends {grad} · {locals_.pop()} to {_listing([e.parent for e in sent])}"
    return (
        text + ", sends " + _listing([f"{grad} · {_factor(e.local)} to {e.parent}" for e in sent])
    )


def trace_graph(output: Any) -> GraphTrace:
    """Trace the scalar graph that ends in ``output``: forward values, then the backward pass.

    The nodes are duck-typed: each needs ``data`` (its value, a real number), ``parents``
    (the nodes it was computed from), ``local`` (∂node/∂parent, one real number per parent),
    ``op`` (a short str such as "+") and ``name`` (a str, distinct across the graph). The
    backward pass is recomputed here from ``data`` and ``local`` in float64 (Python floats);
    the nodes' own ``grad`` is never read.

    Args:
        output: the node whose gradients are traced (``f`` in Chapter 2).

    Returns:
        A :class:`GraphTrace` with one forward step per node in evaluation order, then one
        backward step per node in reverse order.
    """
    order = _evaluation_order(output)
    index = {id(node): k for k, node in enumerate(order)}
    grads = [0.0] * len(order)
    grads[-1] = 1.0  # ∂f/∂f; the output comes last in evaluation order
    for k in reversed(range(len(order))):  # a node's gradient is complete when we reach it
        for parent, local in zip(order[k].parents, order[k].local):
            grads[index[id(parent)]] += float(local) * grads[k]
    column = _columns(order)
    members: dict[int, list[int]] = {}
    for k, node in enumerate(order):
        members.setdefault(column[id(node)], []).append(k)
    count = len(order)
    nodes = []
    for k, node in enumerate(order):
        same = members[column[id(node)]]
        parents = tuple(parent.name for parent in node.parents)
        nodes.append(
            TraceNode(
                name=node.name,
                op=str(node.op),
                formula=formula(node.name, str(node.op), parents),
                parents=parents,
                value=float(node.data),
                grad=grads[k],
                column=column[id(node)],
                row=same.index(k),
                y=(len(same) - 1) / 2 - same.index(k),
                forward_step=k + 1,
                backward_step=2 * count - k,
            )
        )
    edges = tuple(
        TraceEdge(
            parent=parent.name,
            child=node.name,
            slot=slot,
            local=float(local),
            contribution=grads[k] * float(local),
            step=nodes[k].backward_step,
        )
        for k, node in enumerate(order)
        for slot, (parent, local) in enumerate(zip(node.parents, node.local))
    )
    steps = [TraceStep("forward", node.name, (), _forward_caption(node)) for node in nodes]
    for node in reversed(nodes):
        sent = [k for k, edge in enumerate(edges) if edge.child == node.name]
        received = [edge.contribution for edge in edges if edge.parent == node.name]
        caption = _backward_caption(output.name, node, received, [edges[k] for k in sent])
        steps.append(TraceStep("backward", node.name, tuple(sent), caption))
    return GraphTrace(output.name, tuple(nodes), edges, tuple(steps))
