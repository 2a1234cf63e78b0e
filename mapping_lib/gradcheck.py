"""Check a hand-derived backward pass two independent ways.

``check_layer`` compares ``layer.backward`` with TensorFlow's GradientTape (automatic
differentiation) and with central differences, ``(f(x + eps) - f(x - eps)) / (2 eps)``, which
need nothing but the forward pass. All in float64: in float32 the rounding error of the
differences alone is about 1e-3, too coarse to catch a subtly wrong formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib._checks import finite_array, positive_float


def numerical_gradient(f: Callable[[np.ndarray], Any], x: Any, eps: float = 1e-6) -> np.ndarray:
    """Return df/dx by central differences, one element of ``x`` at a time, in float64.

    ``f`` maps an array shaped like ``x`` to a scalar. It receives the same array each time,
    nudged in place, so it must not keep a reference to it.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning a scalar, got {type(f).__name__}")
    eps = positive_float("eps", eps)
    x = finite_array("x", x).astype(np.float64)  # astype copies: the caller's x stays intact
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = float(f(x))
        x[index] = original - eps
        below = float(f(x))
        x[index] = original
        grad[index] = (above - below) / (2 * eps)
    return grad


def relative_error(a: Any, b: Any) -> float:
    """Return ``max|a - b| / max(|a| + |b|)``: 0 for equal arrays, about 1 for unrelated ones.

    One scale for the whole array, so tiny entries near zero do not blow the ratio up.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / scale


@dataclass(frozen=True)
class GradCheckReport:
    """Relative errors of ``layer.backward`` per tensor ("input", then each weight by name)."""

    layer: str
    vs_tape: dict[str, float]
    vs_numeric: dict[str, float]

    @property
    def max_error(self) -> float:
        """The largest error in the report."""
        return max([*self.vs_tape.values(), *self.vs_numeric.values()])

    def ok(self, tol: float = 1e-6) -> bool:
        """True when every error is at most ``tol``."""
        return self.max_error <= positive_float("tol", tol)

    def __str__(self) -> str:
        lines = [f"{self.layer}: backward vs GradientTape / vs central differences"]
        for name in self.vs_tape:
            lines.append(f"  {name:<8} {self.vs_tape[name]:.2e} / {self.vs_numeric[name]:.2e}")
        return "\n".join(lines)


def check_layer(
    layer: keras.layers.Layer,
    x: Any,
    upstream: Any = None,
    *,
    training: bool = True,
    eps: float = 1e-6,
    seed: int = 0,
) -> GradCheckReport:
    """Compare ``layer.backward`` with GradientTape and with central differences.

    The scalar being differentiated is ``sum(upstream * layer(x))``, so ``backward(upstream)``
    is exactly its gradient. ``upstream`` defaults to standard-normal noise (seeded by
    ``seed``); all-ones would hide mistakes, e.g. softmax's gradient against ones is zero.
    The layer must compute in float64 (``dtype="float64"``). Stateful randomness such as a
    Dropout mask is rewound before every forward pass, so each one is the same mapping.
    """
    if not callable(getattr(layer, "backward", None)):
        raise TypeError(
            f"layer must have a backward() method, got {type(layer).__module__}."
            f"{type(layer).__name__}"
        )
    if layer.compute_dtype != "float64":
        raise ValueError(
            "layer must compute in float64 for a gradient check (create it with "
            f"dtype='float64'), got {layer.compute_dtype}"
        )
    x = finite_array("x", x).astype(np.float64)
    layer(x, training=training)  # builds the weights and fixes the output shape
    rewind = [(v, v.numpy()) for v in layer.non_trainable_variables]

    def forward(inputs: Any) -> tf.Tensor:
        for variable, value in rewind:
            variable.assign(value)
        return layer(inputs, training=training)

    output_shape = tuple(forward(x).shape)
    if upstream is None:
        upstream = np.random.default_rng(seed).standard_normal(output_shape)
    upstream = finite_array("upstream", upstream).astype(np.float64)
    if upstream.shape != output_shape:
        raise ValueError(
            f"upstream must have the layer's output shape {output_shape}, got {upstream.shape}"
        )

    weights = list(layer.trainable_variables)
    names = ["input", *(w.name for w in weights)]
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        output = forward(x_tensor)
    tape_grads = tape.gradient(output, [x_tensor, *weights], output_gradients=upstream)
    backward_grads = [layer.backward(upstream), *layer.grads]
    if len(layer.grads) != len(weights):
        raise ValueError(
            f"layer.grads must hold one gradient per trainable variable ({len(weights)}), "
            f"got {len(layer.grads)}"
        )

    def loss_of_input(value: np.ndarray) -> float:
        return float(tf.reduce_sum(upstream * forward(value)))

    numeric_grads = [numerical_gradient(loss_of_input, x, eps)]
    for weight in weights:
        original = weight.numpy()

        def loss_of_weight(value: np.ndarray, weight: Any = weight) -> float:
            weight.assign(value)
            return loss_of_input(x)

        try:
            numeric_grads.append(numerical_gradient(loss_of_weight, original, eps))
        finally:
            weight.assign(original)

    return GradCheckReport(
        layer=layer.name,
        vs_tape={n: relative_error(b, t) for n, b, t in zip(names, backward_grads, tape_grads)},
        vs_numeric={
            n: relative_error(b, g) for n, b, g in zip(names, backward_grads, numeric_grads)
        },
    )
