"""A scalar graph like Chapter 2's ``Value`` (a copy of the notebook's class), two graphs built
from it, and their values and gradients from GradientTape, for the graph-trace tests."""

from __future__ import annotations

import math

import tensorflow as tf


class Value:
    """Chapter 2's teaching scalar (notebooks/02_backprop.ipynb), without its printing."""

    def __init__(self, data, parents=(), local=(), op="", name=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local = local
        self.op = op
        self.name = name

    def __add__(self, other):
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), (other.data, self.data), "×")

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        return Value(s, (self,), (s * (1.0 - s),), "σ")

    def named(self, name):
        self.name = name
        return self


def chapter_graph() -> Value:
    """f = σ(a·b + c)·a with a = 2, b = -0.5, c = 1.5, as Chapter 2 builds it."""
    a, b, c = Value(2.0, name="a"), Value(-0.5, name="b"), Value(1.5, name="c")
    d = (a * b).named("d")
    e = (d + c).named("e")
    s = e.sigmoid().named("s")
    return (s * a).named("f")


def triple_graph() -> Value:
    """g = σ(x·x·y + x): x is used three times, twice by the same product."""
    x, y = Value(0.7, name="x"), Value(-1.3, name="y")
    p = (x * x).named("p")
    q = (p * y).named("q")
    r = (q + x).named("r")
    return r.sigmoid().named("g")


def graph_nodes(output: Value) -> list[Value]:
    """Every node, each after its parents (Value.nodes() of the chapter)."""
    seen, order = set(), []

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(output)
    return order


def tape_values_and_grads(output: Value) -> dict[str, tuple[float, float]]:
    """Every node's value and ∂output/∂node, by GradientTape in float64, replaying the graph
    with TensorFlow ops (inputs are variables, the rest is recomputed)."""
    order = graph_nodes(output)
    ops = {"+": lambda u, v: u + v, "×": lambda u, v: u * v, "σ": tf.sigmoid}
    with tf.GradientTape(persistent=True) as tape:
        tensors = {}
        for node in order:
            if node.parents:
                tensors[node.name] = ops[node.op](*(tensors[p.name] for p in node.parents))
            else:
                tensors[node.name] = tf.Variable(node.data, dtype=tf.float64)
            tape.watch(tensors[node.name])
    names = [node.name for node in order]
    grads = tape.gradient(tensors[output.name], [tensors[name] for name in names])
    return {name: (float(tensors[name]), float(grad)) for name, grad in zip(names, grads)}
