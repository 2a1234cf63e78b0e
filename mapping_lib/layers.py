"""Keras layers that carry their own, hand-derived backward pass.

Each layer is an ordinary ``keras.layers.Layer``: it works in ``keras.Sequential``, in
``Model.fit`` (which differentiates ``call`` with a GradientTape) and in ``.keras`` files. On
top of that it is a ``BackpropLayer`` (``mapping_lib.backprop``): ``forward`` and
``backward_from`` for compiled code, ``layer(x)`` then ``layer.backward(upstream)`` to explore.
Conv2D and MaxPool2D differentiate with TensorFlow's kernels by default, or with the im2col
derivation of ``mapping_lib.conv`` (``backward_path = "im2col"``).

Inputs must be floating point (Dense, Conv2D, Dropout: their weights and masks are floats) or
at least real numbers (MaxPool2D, Flatten); anything else raises a TypeError naming the layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from mapping_lib import activations, conv
from mapping_lib._checks import in_range, one_of, positive_int
from mapping_lib._checks import seed as _seed
from mapping_lib.backprop import (
    BackpropLayer,
    Cache,
    WeightGrads,
    backward_sequence,
    sequence_backward,
    sequence_forward,
)

__all__ = [
    "BACKWARD_PATHS",
    "BackpropLayer",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "MaxPool2D",
    "backward_sequence",
    "sequence_backward",
    "sequence_forward",
]

BACKWARD_PATHS = ("fast", "im2col")
"""Conv2D's and MaxPool2D's ``backward_path``: TensorFlow's kernels or the derivation."""


def _pair(name: str, value: Any) -> tuple[int, int]:
    """Read a 2-D size given as ``3`` or ``(3, 3)``; configs loaded from JSON hold lists."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
        return positive_int(name, value[0]), positive_int(name, value[1])
    size = positive_int(name, value)
    return size, size


def _check_image(
    layer: keras.layers.Layer, input_shape: Any, name: str, window: tuple[int, int], padding: str
) -> None:
    if len(input_shape) != 4:
        raise ValueError(
            f"{type(layer).__name__} inputs must have rank 4 (batch, height, width, channels), "
            f"got shape {tuple(input_shape)}"
        )
    # With "valid" padding a window larger than the image leaves no output at all.
    spatial = tuple(input_shape[1:3])
    if padding == "valid" and any(s is not None and s < w for s, w in zip(spatial, window)):
        raise ValueError(
            f"{type(layer).__name__} {name} {window} is larger than the input's height and width "
            f"{spatial} with padding='valid'; use padding='same' or a smaller {name}"
        )


class _Affine(BackpropLayer):
    """Shared by Dense and Conv2D: ``z = linear_map(x) + bias``, ``a = activation(z)``."""

    def __init__(self, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def _add_kernel_and_bias(self, kernel_shape: tuple[int, ...], units: int) -> None:
        # Same initialisers as Keras' own Dense and Conv2D.
        self.kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")

    def _forward(self, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, Cache]:
        # The cache keeps the kernel as used here, so backward matches this forward pass even
        # if an optimizer updates the variable in between.
        kernel = tf.cast(self.kernel, self.compute_dtype)
        z = self._linear(x, kernel) + tf.cast(self.bias, self.compute_dtype)
        a = self.activation(z)
        return a, {"input": x, "kernel": kernel, "z": z, "output": a}

    def _backward(self, cache: Cache, upstream: tf.Tensor) -> tuple[tf.Tensor, WeightGrads]:
        grad_z = self.activation.backward(cache["z"], cache["output"], upstream)
        grad_input, grad_kernel = self._linear_backward(cache["input"], cache["kernel"], grad_z)
        # The bias is added at every position (batch, time, pixel), so its gradient sums them.
        grad_bias = tf.reduce_sum(tf.reshape(grad_z, [-1, grad_z.shape[-1]]), axis=0)
        return grad_input, [(self.kernel, grad_kernel), (self.bias, grad_bias)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation.get_config()}


@keras.saving.register_keras_serializable(package="mapping_lib")
class Dense(_Affine):
    """Fully connected layer: ``a = activation(x @ kernel + bias)`` on the last axis."""

    def __init__(self, units: int, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)
        self.units = positive_int("units", units)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "Dense inputs must have rank >= 2 (batch, ..., features) with a known "
                f"feature size, got shape {tuple(input_shape)}"
            )
        features = input_shape[-1]
        self._add_kernel_and_bias((features, self.units), self.units)
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: features})

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (*input_shape[:-1], self.units)

    def _linear(self, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.matmul(x, kernel)

    def _linear_backward(
        self, x: tf.Tensor, kernel: tf.Tensor, grad_z: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        grad_input = tf.matmul(grad_z, kernel, transpose_b=True)
        # Every leading position (batch, time, ...) is one more example for the kernel.
        rows_x = tf.reshape(x, [-1, kernel.shape[0]])
        rows_g = tf.reshape(grad_z, [-1, self.units])
        return grad_input, tf.matmul(rows_x, rows_g, transpose_a=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="mapping_lib")
class Conv2D(_Affine):
    """2-D convolution on NHWC images: ``a = activation(conv(x, kernel) + bias)``.

    ``backward_path`` chooses how the convolution is differentiated: "fast" (the default) runs
    TensorFlow's fused kernels, "im2col" the derivation dK = Pᵀ·Δ, dP = Δ·Kᵀ, col2im written
    out in ``mapping_lib.conv``. Both give the same gradients.
    """

    backward_path = "fast"

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        activation: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activation, **kwargs)
        self.filters = positive_int("filters", filters)
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.strides = _pair("strides", strides)
        self.padding = one_of("padding", padding, conv.PADDINGS)

    def build(self, input_shape: Any) -> None:
        _check_image(self, input_shape, "kernel_size", self.kernel_size, self.padding)
        if input_shape[-1] is None:
            raise ValueError(f"Conv2D inputs need a known channel count, got {tuple(input_shape)}")
        channels = input_shape[-1]
        self._add_kernel_and_bias((*self.kernel_size, channels, self.filters), self.filters)
        self.input_spec = keras.InputSpec(ndim=4, axes={-1: channels})

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return conv.output_shape(
            input_shape, self.kernel_size, self.strides, self.padding, self.filters
        )

    def _linear(self, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.nn.conv2d(x, kernel, self.strides, self.padding.upper())

    def _linear_backward(
        self, x: tf.Tensor, kernel: tf.Tensor, grad_z: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        # Each output pixel is one window of the input times the kernel: the gradient goes back
        # to the window (input) and accumulates window * gradient (kernel).
        if one_of("backward_path", self.backward_path, BACKWARD_PATHS) == "fast":
            return conv.conv2d_backward_fast(x, kernel, grad_z, self.strides, self.padding)
        return conv.conv2d_backward_im2col(x, kernel, grad_z, self.strides, self.padding)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
        }


@keras.saving.register_keras_serializable(package="mapping_lib")
class MaxPool2D(BackpropLayer):
    """Keep the largest value of each window of an NHWC image; ``strides`` default to the window.

    ``backward_path``: "fast" (the default, TensorFlow's fused kernel) or "im2col" (the winner
    of each window found in the im2col view, written out in ``mapping_lib.conv``).
    """

    _input_dtypes = (("int", "float"), "int or float numbers")
    backward_path = "fast"

    def __init__(
        self,
        pool_size: int | Sequence[int] = 2,
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = _pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair("strides", strides)
        self.padding = one_of("padding", padding, conv.PADDINGS)

    def build(self, input_shape: Any) -> None:
        _check_image(self, input_shape, "pool_size", self.pool_size, self.padding)
        self.input_spec = keras.InputSpec(ndim=4)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return conv.output_shape(
            input_shape, self.pool_size, self.strides, self.padding, input_shape[3]
        )

    def _forward(self, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, Cache]:
        output = tf.nn.max_pool2d(x, self.pool_size, self.strides, self.padding.upper())
        return output, {"input": x, "output": output}

    def _backward(self, cache: Cache, upstream: tf.Tensor) -> tuple[tf.Tensor, WeightGrads]:
        # Only the winner of each window influenced the output, so it receives the whole
        # upstream gradient; overlapping windows that share a winner add up.
        x, window = cache["input"], (self.pool_size, self.strides, self.padding)
        if one_of("backward_path", self.backward_path, BACKWARD_PATHS) == "fast":
            return conv.max_pool_backward_fast(x, cache["output"], upstream, *window), []
        return conv.max_pool_backward_im2col(x, upstream, *window), []

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }


@keras.saving.register_keras_serializable(package="mapping_lib")
class Flatten(BackpropLayer):
    """Reshape ``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``."""

    _input_dtypes = (("bool", "int", "float"), "real numbers (bool, int or float)")

    def build(self, input_shape: Any) -> None:
        if any(size is None for size in input_shape[1:]):
            raise ValueError(
                f"Flatten inputs need known sizes after the batch axis, got {tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (input_shape[0], math.prod(input_shape[1:]))

    def _forward(self, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, Cache]:
        output = tf.reshape(x, [-1, math.prod(x.shape[1:])])
        return output, {"input_shape": tf.shape(x), "output": output}

    def _backward(self, cache: Cache, upstream: tf.Tensor) -> tuple[tf.Tensor, WeightGrads]:
        return tf.reshape(upstream, cache["input_shape"]), []


@keras.saving.register_keras_serializable(package="mapping_lib")
class Dropout(BackpropLayer):
    """While training, zero each value with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` so the expected output equals the input; at inference it does nothing."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = in_range("rate", rate, 0.0, 1.0, closed="[)")
        self.seed = None if seed is None else _seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def _forward(self, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, Cache]:
        if not training or self.rate == 0:
            return x, {"mask": None, "output": x}
        noise = keras.random.uniform(
            tf.shape(x), dtype=self.compute_dtype, seed=self.seed_generator
        )
        mask = tf.cast(noise >= self.rate, x.dtype) / (1 - self.rate)
        output = x * mask
        return output, {"mask": mask, "output": output}

    def _backward(self, cache: Cache, upstream: tf.Tensor) -> tuple[tf.Tensor, WeightGrads]:
        # The forward pass multiplied by the mask, so the backward pass multiplies by it too.
        mask = cache["mask"]
        return (upstream if mask is None else upstream * mask), []

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
