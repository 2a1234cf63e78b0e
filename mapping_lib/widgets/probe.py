"""Every layer's output of a Keras model, read in one cached compiled call.

The layer-warp explorer pushes points of the plane through a dense network and the
feature-map explorer pushes an image through a CNN; both read what each layer makes of its
input from the same "every layer's output" model, built once per network.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from mapping_lib import _checks, train

# One "every layer's output" model per trained network, built once; compiled_forward caches
# its tf.function, so moving a slider costs one fast graph call.
_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def every_layer_output(model: keras.Model) -> Callable[[np.ndarray], Any]:
    """A compiled function from a batch of inputs to the list of every layer's outputs.

    Built once per ``model`` (which must be built on a ``keras.Input``) and cached: the same
    function comes back on every call, so its ``tf.function`` traces once.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if model not in _PROBES:
        try:
            inputs = model.inputs
        except (AttributeError, ValueError) as error:
            raise ValueError(
                "model must be built on a keras.Input (e.g. keras.Sequential([keras.Input((2,)), "
                "...])) so its layer outputs can be read"
            ) from error
        if not inputs or not model.layers:
            raise ValueError("model must be built on a keras.Input and have at least one layer")
        probe = keras.Model(inputs, [layer.output for layer in model.layers])
        # compiled_forward holds its model weakly; the cache entry keeps the probe alive.
        _PROBES[model] = (probe, train.compiled_forward(probe))
    return _PROBES[model][1]


def layer_outputs(model: keras.Model, points: np.ndarray) -> list[np.ndarray]:
    """``points`` and what every layer makes of them: [input, layer 1 output, ..., output]."""
    forward = every_layer_output(model)
    points = _checks.finite_array("points", points, ndim=2).astype(np.float32)
    width = layer_widths(model)[0]
    if points.shape[1] != width:
        raise ValueError(
            f"points must have {width} columns (the model's input), got shape {points.shape}"
        )
    outputs = forward(points)
    if not isinstance(outputs, (list, tuple)):  # a one-layer probe returns a single tensor
        outputs = [outputs]
    return [points, *(np.asarray(out).reshape(len(points), -1) for out in outputs)]


def layer_widths(model: keras.Model) -> list[int]:
    """The number of values per example at each stage: the input, then every layer's output."""
    shapes = [model.inputs[0].shape] + [layer.output.shape for layer in model.layers]
    return [int(np.prod(shape[1:])) for shape in shapes]
