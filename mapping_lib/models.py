"""Reference architectures the book returns to, built from either layer library.

Keeping the seed texts' CNN here means Chapter 3, Chapter 4 and the benchmarks
train the very same mapping instead of three copies of it; ``modern_cnn`` is the
same design with batch normalisation, dropout and a third stage.
"""

from __future__ import annotations

from typing import Any

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


def modern_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    widths: tuple[int, ...] = (32, 64, 128),
    dense_units: int = 128,
    dropout: float = 0.3,
) -> keras.Sequential:
    """The seed CNN brought up to date: batch normalisation, a third stage, dropout.

    One stage per entry of ``widths``: a 3×3 convolution with "same" padding and no
    bias (batch normalisation's shift replaces it), 2×2 max pooling, which halves the
    image (28 → 14 → 7 → 3), then batch normalisation and ReLU. Normalising after the
    pooling handles a quarter of the numbers; ReLU commutes with max pooling exactly,
    and so does the normalisation's per-channel affine map wherever its scale is
    positive, so only the batch statistics differ from the usual conv-BN-ReLU-pool
    order. Then the dense head of the seed CNN with dropout before each dense layer.
    Returns logits.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of outputs (logits).
        widths: channels of each convolution stage.
        dense_units: units of the hidden dense layer.
        dropout: rate of both dropout layers, in [0, 1).
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    dense_units = _checks.positive_int("dense_units", dense_units)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if not widths:
        raise ValueError("widths must name at least one stage, got ()")
    widths = tuple(_checks.positive_int("widths", width) for width in widths)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if min(input_shape[:2]) < 2 ** len(widths):
        raise ValueError(
            f"input_shape {input_shape!r} is too small for {len(widths)} stages of 2×2 pooling"
        )
    stages = []
    for width in widths:
        stages += [
            keras.layers.Conv2D(width, 3, padding="same", use_bias=False),
            keras.layers.MaxPool2D(2),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *stages,
            keras.layers.Flatten(),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(dense_units, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(num_classes),
        ],
        name="modern_cnn",
    )


@keras.saving.register_keras_serializable(package="mapping_lib")
class ResidualBlock(keras.layers.Layer):
    """``relu(x + BN(conv(relu(BN(conv(x))))))``: two 3×3 convolutions and a shortcut.

    He et al. (2016): the block learns the *change* F(x) to its input rather than a
    whole new mapping, and the identity path carries the gradient past the block
    unchanged, which is what lets very deep networks train. The input must already
    have ``filters`` channels, so the shortcut needs no projection.

    Args:
        filters: number of channels, in and out.
        kernel_size: side of both convolution kernels (odd, so "same" padding centres them).
    """

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = _checks.positive_int("filters", filters)
        self.kernel_size = _checks.positive_int("kernel_size", kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        conv = dict(padding="same", use_bias=False)  # BN's shift makes a bias redundant
        self.conv1 = keras.layers.Conv2D(filters, kernel_size, **conv)
        self.norm1 = keras.layers.BatchNormalization()
        self.conv2 = keras.layers.Conv2D(filters, kernel_size, **conv)
        self.norm2 = keras.layers.BatchNormalization()

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if len(input_shape) != 4 or input_shape[-1] != self.filters:
            raise ValueError(
                f"input must be (batch, height, width, {self.filters}) for filters="
                f"{self.filters}, got {tuple(input_shape)}"
            )
        self.conv1.build(input_shape)
        self.norm1.build(input_shape)
        self.conv2.build(input_shape)
        self.norm2.build(input_shape)

    def call(self, x: Any, training: bool | None = None) -> Any:
        change = keras.ops.relu(self.norm1(self.conv1(x), training=training))
        change = self.norm2(self.conv2(change), training=training)
        return keras.ops.relu(x + change)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}
