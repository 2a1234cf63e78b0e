"""What reverse mode and forward mode cost on a model: parameters, stored activations, timings.

Reverse mode (``tf.GradientTape``) returns the gradient of a scalar loss with respect to all N
parameters in one backward sweep, but must keep the forward pass's intermediate values until
that sweep uses them. Forward mode (``tf.autodiff.ForwardAccumulator``) carries one tangent
direction along with the forward pass and so stores nothing extra, but yields one directional
derivative per pass: the full gradient takes N passes. This module counts both sides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks


def parameter_count(model: keras.Model) -> int:
    """N, the number of trainable scalars of ``model``."""
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def stored_floats(model: keras.Sequential, example: Any) -> int:
    """Floats per example a reverse-mode sweep keeps: the input and every layer's output.

    Args:
        model: a built ``keras.Sequential``.
        example: one input example, without a batch axis.
    """
    if not isinstance(model, keras.Sequential):
        raise ValueError(f"model must be a keras.Sequential, got {type(model).__name__}")
    values = tf.convert_to_tensor(example)[tf.newaxis]
    count = int(np.prod(values.shape))
    for layer in model.layers:
        values = layer(values)
        count += int(np.prod(values.shape))
    return count


def _variables(model: keras.Model) -> list[tf.Variable]:
    # ForwardAccumulator needs the backend's tf.Variable, not Keras 3's wrapper around it.
    return [getattr(v, "value", v) for v in model.trainable_variables]


def loss_functions(
    model: keras.Model, loss: Callable[[Any, Any], Any], x: Any, y: Any
) -> dict[str, Callable[..., Any]]:
    """Compiled ``forward``, ``gradient`` (reverse mode) and ``jvp(tangents)`` (forward mode).

    Args:
        model: the network.
        loss: ``loss(y, prediction)``, a scalar.
        x, y: one batch.
    """
    variables = _variables(model)

    @tf.function
    def forward() -> tf.Tensor:
        return loss(y, model(x))

    @tf.function
    def gradient() -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            value = loss(y, model(x))
        return tape.gradient(value, variables)

    @tf.function
    def jvp(tangents: Sequence[tf.Tensor]) -> tf.Tensor:
        with tf.autodiff.ForwardAccumulator(variables, list(tangents)) as accumulator:
            value = loss(y, model(x))
        return accumulator.jvp(value)

    return {"forward": forward, "gradient": gradient, "jvp": jvp}


def unit_tangents(model: keras.Model, index: int) -> list[tf.Tensor]:
    """The tangent that is 1 on trainable scalar number ``index`` and 0 elsewhere."""
    total = parameter_count(model)
    index = _checks.non_negative_int("index", index)
    if not 0 <= index < total:
        raise ValueError(f"index must be in [0, {total}), got {index}")
    flat = np.zeros(total)
    flat[index] = 1.0
    tangents, start = [], 0
    for v in model.trainable_variables:
        size = int(np.prod(v.shape))
        tangents.append(tf.constant(flat[start : start + size].reshape(v.shape), dtype=v.dtype))
        start += size
    return tangents


def fastest_times(calls: dict[str, Callable[[], Any]], repeats: int = 10) -> dict[str, float]:
    """The fastest of ``repeats`` wall-clock times of each call, in seconds, interleaved.

    Interleaving exposes every call to the same load on the machine, and the minimum is the
    time least disturbed by other work; only ratios of these times mean anything.

    Args:
        calls: name -> a function without arguments (its result is fetched, so that
            asynchronous work is included).
        repeats: how many times each call runs after one warm-up run.
    """
    repeats = _checks.positive_int("repeats", repeats)
    for call in calls.values():  # warm-up: tracing and first-run allocation
        tf.nest.map_structure(np.asarray, call())
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            tf.nest.map_structure(np.asarray, call())
            best[name] = min(best[name], time.perf_counter() - start)
    return best
