"""The base of mapping_lib's layers: a Keras layer with its own backward pass, and chains of them.

A ``BackpropLayer`` writes its mapping and its chain rule side by side, like an op of
micrograd: ``_forward(x) -> (output, cache)`` and ``_backward(cache, dL/d(output))`` returning
dL/d(input) and the weights' gradients. Two ways to use them:

* pure, for compiled code: ``forward(x)`` returns the output and the cache, and
  ``backward_from(cache, upstream)`` the gradients; ``sequence_forward`` and
  ``sequence_backward`` chain them through a list of layers.
* interactive: ``layer(x)`` remembers its cache, then ``layer.backward(upstream)`` returns
  dL/d(input) and sets ``layer.grads``; ``backward_sequence`` goes through a model's layers.
  Only an eager call remembers: after a symbolic call (Keras building a model), a call traced
  in a ``tf.function`` (``Model.fit``) or a second call of a shared layer within one forward
  pass, ``backward`` raises a RuntimeError that says which of these happened.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from mapping_lib._checks import dtype_kind, numeric_dtype

Cache = dict[str, Any]
"""What a layer's forward pass keeps for its backward pass, by name."""
WeightGrads = list[tuple[Any, tf.Tensor]]
"""(variable, dL/d(variable)) pairs, in the order the layer created its variables."""


class _LastCall(NamedTuple):
    """What ``backward()`` knows about the layer's last call."""

    cache: Cache | None  # None: there is nothing to differentiate, for the reason in ``why``
    why: str
    forward_pass: Any  # weak reference to the Keras call context of the call that cached
    calls: int  # calls of the layer within that forward pass


class BackpropLayer(keras.layers.Layer):
    """Base class: a Keras layer plus ``forward``/``backward_from`` and ``backward``/``grads``.

    Subclasses define ``_forward(x, training)`` and ``_backward(cache, upstream)``, which
    returns dL/d(input) and (variable, gradient) pairs for every weight in creation order.
    """

    # Which input dtypes the layer takes (kinds of _checks.dtype_kind) and how to say so.
    # Keras casts float inputs to the layer's dtype but passes integers through, and tf.matmul
    # then fails on int64 x float32 deep inside TensorFlow.
    _input_dtypes: tuple[tuple[str, ...], str] = (("float",), "floating point numbers")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Set around Keras' attribute tracking: it would wrap these containers in tracked
        # copies and walk the (possibly symbolic) tensors they hold.
        object.__setattr__(self, "grads", [])
        self._forget("it has not been called yet")

    def _check_dtype(self, inputs: Any) -> None:
        kinds, expected = self._input_dtypes
        numeric_dtype(
            f"{type(self).__name__} inputs",
            inputs,
            kinds=kinds,
            expected=expected,
            hint="; convert them first, e.g. x.astype('float32')",
        )

    def forward(self, inputs: Any, training: bool = False) -> tuple[tf.Tensor, Cache]:
        """Return the output and what ``backward_from`` needs; changes nothing in the layer.

        (Dropout's random draw advances its seed generator.) Works inside a ``tf.function``.
        """
        self._check_dtype(inputs)
        x = tf.convert_to_tensor(inputs)
        # As Keras' __call__ does: floats take the compute dtype, integers stay integers.
        if dtype_kind(x)[0] == "float" and x.dtype != self.compute_dtype:
            x = tf.cast(x, self.compute_dtype)
        if not self.built:
            self.build(tuple(x.shape))
        return self._forward(x, training)

    def backward_from(self, cache: Cache, upstream: Any) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Return dL/d(input) and the weight gradients, given ``upstream`` = dL/d(output).

        The gradients line up with ``self.trainable_variables`` (none for a frozen layer) and
        have the variables' dtype. Pure; works inside a ``tf.function``.
        """
        upstream = tf.cast(upstream, self.compute_dtype)
        expected = cache["output"].shape
        if not upstream.shape.is_compatible_with(expected):
            raise ValueError(
                f"upstream must have the shape of {self.name}'s output {tuple(expected)}, "
                f"got {tuple(upstream.shape)}"
            )
        grad_input, weight_grads = self._backward(cache, upstream)
        # Variables may be stored in float32 while the layer computes in float16.
        grads = [tf.cast(g, v.dtype) for v, g in weight_grads if self.trainable and v.trainable]
        return grad_input, grads

    def _forward(self, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, Cache]:
        raise NotImplementedError

    def _backward(self, cache: Cache, upstream: tf.Tensor) -> tuple[tf.Tensor, WeightGrads]:
        raise NotImplementedError

    # ----- the interactive API: layer(x), then layer.backward(upstream) ---------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Check the inputs' dtype, then run Keras' ``Layer.__call__``."""
        inputs = args[0] if args else kwargs.get("inputs")
        if inputs is not None:
            self._check_dtype(inputs)
        # Keras does not run call() on KerasTensors (compute_output_shape answers instead).
        if isinstance(inputs, keras.KerasTensor):
            self._forget("its last call was symbolic, on KerasTensors (Keras building a model)")
        elif not tf.executing_eagerly():
            self._forget(
                "its last call was traced inside a tf.function (Model.fit or compiled code)"
            )
        try:
            return super().__call__(*args, **kwargs)
        except Exception:
            self._forget("its last call raised an error")
            raise

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        output, cache = self.forward(inputs, training)
        if tf.executing_eagerly():
            self._remember(cache)
        return output

    def backward(self, upstream: Any) -> tf.Tensor:
        """Return dL/d(input of the last call) from ``upstream`` = dL/d(output).

        Also sets ``self.grads``, one gradient per entry of ``self.trainable_variables``.
        The last call must have been an eager forward call.
        """
        last = self._last_call
        if last.cache is None:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r}.backward() needs an eager forward call "
                f"first; {last.why}"
            )
        grad_input, grads = self.backward_from(last.cache, upstream)
        object.__setattr__(self, "grads", grads)
        return grad_input

    def _forget(self, why: str) -> None:
        object.__setattr__(self, "_last_call", _LastCall(None, why, None, 0))

    def _remember(self, cache: Cache) -> None:
        # Keras opens one call context per outermost call, e.g. one per model(x), and hands
        # it to nested calls (Layer._get_call_context, its own bookkeeping): a second call
        # within the same context is this layer used twice in one forward pass.
        context = self._get_call_context()
        last = self._last_call
        if last.forward_pass is not None and last.forward_pass() is context:
            calls = last.calls + 1
            why = (
                f"it was called {calls} times in one forward pass (a shared layer), so it is "
                "ambiguous which call to differentiate; use forward() and backward_from() "
                "with each call's cache"
            )
            object.__setattr__(self, "_last_call", _LastCall(None, why, last.forward_pass, calls))
        else:
            object.__setattr__(self, "_last_call", _LastCall(cache, "", weakref.ref(context), 1))


def _backprop_layers(layers: Sequence[keras.layers.Layer]) -> list[BackpropLayer]:
    layers = list(layers)
    for index, layer in enumerate(layers):
        if not isinstance(layer, BackpropLayer):
            raise TypeError(
                f"layers[{index}] must be a mapping_lib layer with a backward pass, "
                f"got {type(layer).__module__}.{type(layer).__name__}"
            )
    return layers


def sequence_forward(
    layers: Sequence[keras.layers.Layer], x: Any, training: bool = False
) -> tuple[tf.Tensor, list[Cache]]:
    """Run ``forward`` through ``layers``: the last output and one cache per layer. Pure."""
    caches = []
    for layer in _backprop_layers(layers):
        x, cache = layer.forward(x, training)
        caches.append(cache)
    return x, caches


def sequence_backward(
    layers: Sequence[keras.layers.Layer], caches: Sequence[Cache], upstream: Any
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Run ``backward_from`` through ``layers`` from last to first, with ``sequence_forward``'s
    caches. Pure.

    Returns dL/d(input of the first layer) and the weight gradients, aligned with the
    concatenation of the layers' ``trainable_variables`` (for a ``keras.Sequential`` of these
    layers: ``model.trainable_variables``).
    """
    layers = _backprop_layers(layers)
    if len(caches) != len(layers):
        raise ValueError(f"caches must hold one cache per layer ({len(layers)}), got {len(caches)}")
    per_layer = []
    for layer, cache in zip(reversed(layers), reversed(caches)):
        upstream, grads = layer.backward_from(cache, upstream)
        per_layer.append(grads)
    return upstream, [grad for grads in reversed(per_layer) for grad in grads]


def backward_sequence(
    layers: Sequence[keras.layers.Layer], upstream: Any
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Run ``backward`` through ``layers`` from last to first, after an eager forward call.

    Returns what ``sequence_backward`` does; also sets every layer's ``grads``.
    """
    layers = _backprop_layers(layers)
    for layer in reversed(layers):
        upstream = layer.backward(upstream)
    return upstream, [grad for layer in layers for grad in layer.grads]
