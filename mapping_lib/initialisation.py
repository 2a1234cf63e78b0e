"""Weight initialisation from variance propagation, and the per-layer statistics that test it.

For a dense layer ``z = a W`` with independent, zero-mean weights of variance ``Var[w]``,
``Var[z] = n_in Var[w] E[a^2]`` going forward and ``Var[dL/da] = n_out Var[w] Var[dL/dz]``
going back. Keeping both sizes constant gives the rules of :func:`weight_variance`;
:func:`layer_statistics` measures what a deep stack actually does with a given variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from mapping_lib import _checks

SCHEMES = ("lecun", "xavier", "he")
ACTIVATIONS = {"tanh": tf.tanh, "relu": tf.nn.relu, "linear": tf.identity}


def weight_variance(scheme: str, fan_in: int, fan_out: int | None = None) -> float:
    """Var[w] of an initialisation scheme.

    Args:
        scheme: ``"lecun"`` (1/n_in: keeps the forward variance of a linear or tanh layer),
            ``"xavier"`` (Glorot: 2/(n_in + n_out), the compromise between the forward rule
            1/n_in and the backward rule 1/n_out) or ``"he"`` (2/n_in: ReLU zeroes half of its
            inputs, so E[a^2] is half of Var[z]).
        fan_in: n_in, the inputs each unit sums over.
        fan_out: n_out, the units each input feeds; needed for ``"xavier"``.
    """
    _checks.one_of("scheme", scheme, SCHEMES)
    fan_in = _checks.positive_int("fan_in", fan_in)
    if scheme == "xavier":
        if fan_out is None:
            raise ValueError("fan_out must be given for scheme 'xavier', got None")
        return 2.0 / (fan_in + _checks.positive_int("fan_out", fan_out))
    return (1.0 if scheme == "lecun" else 2.0) / fan_in


@dataclass(frozen=True)
class LayerStatistics:
    """Per-layer sizes in a deep stack; index 0 is the layer nearest the input.

    Attributes:
        activation_std: the standard deviation of each layer's output a^l over batch and units.
        gradient_std: the standard deviation of dL/da^l, for an upstream gradient of standard
            normal entries arriving at the top.
    """

    activation_std: np.ndarray
    gradient_std: np.ndarray


def layer_statistics(
    activation: str, variance: float, x: np.ndarray, depth: int, *, seed: int
) -> LayerStatistics:
    """Activation and gradient sizes, layer by layer, of a square bias-free dense stack.

    Args:
        activation: ``"tanh"``, ``"relu"`` or ``"linear"``.
        variance: Var[w] of the normal weights of every layer.
        x: a batch of inputs, shape (batch, width); the width is that of every layer.
        depth: the number of layers.
        seed: the seed of the weights and of the upstream gradient.
    """
    _checks.one_of("activation", activation, ACTIVATIONS)
    variance = _checks.positive_float("variance", variance)
    x = _checks.finite_array("x", x, ndim=2)
    depth = _checks.positive_int("depth", depth)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    width = x.shape[1]
    function = ACTIVATIONS[activation]
    kernels = [rng.normal(scale=np.sqrt(variance), size=(width, width)) for _ in range(depth)]
    outputs = []
    with tf.GradientTape() as tape:
        values = tf.constant(x, dtype=tf.float32)
        for kernel in kernels:
            values = function(values @ tf.constant(kernel, dtype=tf.float32))
            tape.watch(values)  # so that the tape can return dL/da for this layer too
            outputs.append(values)
        # A scalar whose gradient at the top is a fixed standard normal matrix.
        upstream = tf.constant(rng.normal(size=values.shape), dtype=tf.float32)
        loss = tf.reduce_sum(values * upstream)
    gradients = tape.gradient(loss, outputs)
    return LayerStatistics(
        activation_std=np.array([float(tf.math.reduce_std(a)) for a in outputs]),
        gradient_std=np.array([float(tf.math.reduce_std(g)) for g in gradients]),
    )
