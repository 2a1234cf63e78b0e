"""Reference architectures the book returns to, built from either layer library.

Keeping the seed texts' CNN here means Chapter 3, Chapter 4 and the benchmarks
train the very same mapping instead of three copies of it.
"""

from __future__ import annotations

import keras

from mapping_lib import _checks
from mapping_lib import layers as ml_layers

LAYER_SOURCES = ("mapping_lib", "keras")


def seed_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    layers_from: str = "mapping_lib",
) -> keras.Sequential:
    """conv32-pool-conv64-pool-dense128-dense10, the CNN of the seed texts.

    The last layer has no softmax: it returns logits, to be paired with a loss
    built with ``from_logits=True``. (The seed texts put a softmax there *and*
    said ``from_logits=True``, which applies softmax twice.)
    """
    _checks.one_of("layers_from", layers_from, LAYER_SOURCES)
    num_classes = _checks.positive_int("num_classes", num_classes)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    lib = ml_layers if layers_from == "mapping_lib" else keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            lib.Conv2D(32, 3, activation="relu"),
            lib.MaxPool2D(2),
            lib.Conv2D(64, 3, activation="relu"),
            lib.MaxPool2D(2),
            lib.Flatten(),
            lib.Dense(128, activation="relu"),
            lib.Dense(num_classes),
        ],
        name=f"seed_cnn_{layers_from}",
    )
