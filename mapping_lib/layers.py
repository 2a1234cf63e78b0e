"""Keras layers that also carry their own, hand-derived backward pass.

Each layer is an ordinary ``keras.layers.Layer``: it works in ``keras.Sequential``, in
``Model.fit`` (which differentiates ``call`` with a GradientTape) and in ``.keras`` files.
On top of that, ``call`` remembers what the chain rule will need, and ``backward(upstream)``
turns ``dL/d(output)`` into ``dL/d(input)`` while storing ``dL/d(weights)`` in ``layer.grads``.
``call`` and ``backward`` must run in the same eager context or the same ``tf.function``.

Inputs must be floating point (Dense, Conv2D, Dropout: their weights and masks are floats) or
at least real numbers (MaxPool2D, Flatten); anything else raises a TypeError naming the layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from mapping_lib import activations
from mapping_lib._checks import in_range, numeric_dtype, one_of, positive_int
from mapping_lib._checks import seed as _seed

_PADDINGS = ("valid", "same")


def _pair(name: str, value: Any) -> tuple[int, int]:
    """Read a 2-D size given as ``3`` or ``(3, 3)``; configs loaded from JSON hold lists."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
        return positive_int(name, value[0]), positive_int(name, value[1])
    size = positive_int(name, value)
    return size, size


def _check_rank(layer: keras.layers.Layer, input_shape: Any, rank: int, layout: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(
            f"{type(layer).__name__} inputs must have rank {rank} {layout}, "
            f"got shape {tuple(input_shape)}"
        )


def _check_window_fits(
    layer: keras.layers.Layer, input_shape: Any, name: str, window: tuple[int, int], padding: str
) -> None:
    # With "valid" padding a window larger than the image leaves no output at all.
    spatial = tuple(input_shape[1:3])
    if padding == "valid" and any(s is not None and s < w for s, w in zip(spatial, window)):
        raise ValueError(
            f"{type(layer).__name__} {name} {window} is larger than the input's height and width "
            f"{spatial} with padding='valid'; use padding='same' or a smaller {name}"
        )


class BackpropLayer(keras.layers.Layer):
    """Base class: a Keras layer plus ``backward(upstream)`` and ``grads``."""

    # Which input dtypes the layer takes (kinds of _checks.dtype_kind) and how to say so.
    # Keras casts float inputs to the layer's dtype but passes integers through, and tf.matmul
    # then fails on int64 x float32 deep inside TensorFlow.
    _input_dtypes: tuple[tuple[str, ...], str] = (("float",), "floating point numbers")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Set around Keras' attribute tracking: it would wrap these containers in tracked
        # copies and walk the (possibly symbolic) tensors they hold.
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "grads", [])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Check the inputs' dtype, then run Keras' ``Layer.__call__``."""
        inputs = args[0] if args else kwargs.get("inputs")
        if inputs is not None:
            kinds, expected = self._input_dtypes
            numeric_dtype(
                f"{type(self).__name__} inputs",
                inputs,
                kinds=kinds,
                expected=expected,
                hint="; convert them first, e.g. x.astype('float32')",
            )
        return super().__call__(*args, **kwargs)

    def backward(self, upstream: Any) -> tf.Tensor:
        """Return dL/d(input of the last call) from ``upstream`` = dL/d(output).

        Also sets ``self.grads``, one gradient per entry of ``self.trainable_variables``.
        """
        if "output" not in self._cache:
            raise RuntimeError(f"{self.name}.backward() needs a forward call of the layer first")
        upstream = tf.cast(upstream, self.compute_dtype)
        expected = self._cache["output"].shape
        if not upstream.shape.is_compatible_with(expected):
            raise ValueError(
                f"upstream must have the shape of {self.name}'s output {tuple(expected)}, "
                f"got {tuple(upstream.shape)}"
            )
        grad_input, weight_grads = self._backward(upstream)
        # Variables may be stored in float32 while the layer computes in float16.
        grads = [tf.cast(g, v.dtype) for v, g in weight_grads if self.trainable and v.trainable]
        object.__setattr__(self, "grads", grads)
        return grad_input

    def _backward(self, upstream: tf.Tensor) -> tuple[tf.Tensor, list[tuple[Any, tf.Tensor]]]:
        """Return dL/d(input) and (variable, dL/d(variable)) pairs in creation order."""
        raise NotImplementedError


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

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        z = self._linear(inputs, self.kernel) + self.bias
        a = self.activation(z)
        self._cache.update(input=inputs, z=z, output=a)
        return a

    def _backward(self, upstream: tf.Tensor) -> tuple[tf.Tensor, list[tuple[Any, tf.Tensor]]]:
        cache = self._cache
        grad_z = self.activation.backward(cache["z"], cache["output"], upstream)
        kernel = tf.cast(self.kernel, grad_z.dtype)
        grad_input, grad_kernel = self._linear_backward(cache["input"], kernel, grad_z)
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
    """2-D convolution on NHWC images: ``a = activation(conv(x, kernel) + bias)``."""

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
        self.padding = one_of("padding", padding, _PADDINGS)

    def build(self, input_shape: Any) -> None:
        _check_rank(self, input_shape, 4, "(batch, height, width, channels)")
        if input_shape[-1] is None:
            raise ValueError(f"Conv2D inputs need a known channel count, got {tuple(input_shape)}")
        _check_window_fits(self, input_shape, "kernel_size", self.kernel_size, self.padding)
        channels = input_shape[-1]
        self._add_kernel_and_bias((*self.kernel_size, channels, self.filters), self.filters)
        self.input_spec = keras.InputSpec(ndim=4, axes={-1: channels})

    def _linear(self, x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.nn.conv2d(x, kernel, self.strides, self.padding.upper())

    def _linear_backward(
        self, x: tf.Tensor, kernel: tf.Tensor, grad_z: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        # Each output pixel was a dot product of one input patch with the kernel; these two ops
        # send its gradient back to the patch (input) and accumulate patch * gradient (kernel).
        strides = [1, *self.strides, 1]
        padding = self.padding.upper()
        grad_input = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=tf.shape(x),
            filter=kernel,
            out_backprop=grad_z,
            strides=strides,
            padding=padding,
        )
        grad_kernel = tf.raw_ops.Conv2DBackpropFilter(
            input=x,
            filter_sizes=tf.shape(kernel),
            out_backprop=grad_z,
            strides=strides,
            padding=padding,
        )
        return grad_input, grad_kernel

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
    """Keep the largest value of each window of an NHWC image; ``strides`` default to the window."""

    _input_dtypes = (("int", "float"), "int or float numbers")

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
        self.padding = one_of("padding", padding, _PADDINGS)

    def build(self, input_shape: Any) -> None:
        _check_rank(self, input_shape, 4, "(batch, height, width, channels)")
        _check_window_fits(self, input_shape, "pool_size", self.pool_size, self.padding)
        self.input_spec = keras.InputSpec(ndim=4)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        # Plain max_pool2d keeps call() compilable by XLA (Model.fit may jit-compile it).
        # backward() finds where each maximum came from with max_pool_with_argmax, which XLA
        # lacks: a hand-derived backward pass must run in a tf.function without jit_compile.
        output = tf.nn.max_pool2d(inputs, self.pool_size, self.strides, self.padding.upper())
        self._cache.update(input=inputs, output=output)
        return output

    def _backward(self, upstream: tf.Tensor) -> tuple[tf.Tensor, list[tuple[Any, tf.Tensor]]]:
        x = self._cache["input"]
        _, argmax = tf.nn.max_pool_with_argmax(
            x, self.pool_size, self.strides, self.padding.upper(), include_batch_in_index=True
        )
        # Only the winner of each window influenced the output, so it receives the whole
        # upstream gradient; overlapping windows that share a winner add up (scatter_nd sums).
        flat = tf.scatter_nd(
            tf.reshape(argmax, [-1, 1]),
            tf.reshape(upstream, [-1]),
            shape=tf.reshape(tf.size(x, out_type=tf.int64), [1]),
        )
        return tf.reshape(flat, tf.shape(x)), []

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

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        output = tf.reshape(inputs, [-1, math.prod(inputs.shape[1:])])
        self._cache.update(input_shape=tf.shape(inputs), output=output)
        return output

    def _backward(self, upstream: tf.Tensor) -> tuple[tf.Tensor, list[tuple[Any, tf.Tensor]]]:
        return tf.reshape(upstream, self._cache["input_shape"]), []


@keras.saving.register_keras_serializable(package="mapping_lib")
class Dropout(BackpropLayer):
    """While training, zero each value with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` so the expected output equals the input; at inference it does nothing."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = in_range("rate", rate, 0.0, 1.0, closed="[)")
        self.seed = None if seed is None else _seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training or self.rate == 0:
            self._cache.update(mask=None, output=inputs)
            return inputs
        noise = keras.random.uniform(
            tf.shape(inputs), dtype=self.compute_dtype, seed=self.seed_generator
        )
        mask = tf.cast(noise >= self.rate, inputs.dtype) / (1 - self.rate)
        output = inputs * mask
        self._cache.update(mask=mask, output=output)
        return output

    def _backward(self, upstream: tf.Tensor) -> tuple[tf.Tensor, list[tuple[Any, tf.Tensor]]]:
        # The forward pass multiplied by the mask, so the backward pass multiplies by it too.
        mask = self._cache["mask"]
        return (upstream if mask is None else upstream * mask), []

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def backward_sequence(
    layers: Sequence[keras.layers.Layer], upstream: Any
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Run ``backward`` through ``layers`` from last to first.

    Returns dL/d(input of the first layer) and the weight gradients, aligned with the
    concatenation of the layers' ``trainable_variables`` (for a ``keras.Sequential`` of these
    layers: ``model.trainable_variables``).
    """
    layers = list(layers)
    for index, layer in enumerate(layers):
        if not isinstance(layer, BackpropLayer):
            raise TypeError(
                f"layers[{index}] must be a mapping_lib layer with a backward pass, "
                f"got {type(layer).__module__}.{type(layer).__name__}"
            )
    for layer in reversed(layers):
        upstream = layer.backward(upstream)
    return upstream, [grad for layer in layers for grad in layer.grads]
