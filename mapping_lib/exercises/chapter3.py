"""Exercises of Chapter 3 (CNNs): convolution by hand, output sizes, parameter counts,
receptive fields, the max-pooling mask and im2col."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from mapping_lib import conv, layers
from mapping_lib.exercises.registry import (
    call_answer,
    callable_answer,
    close_to,
    exercise,
    number,
    same_array,
)
from mapping_lib.widgets.sliding_window import window_geometry

SIGNAL = np.array([3, 1, 0, 2, 4, 1], dtype=np.float64)
KERNEL_1D = np.array([1, 2, -1], dtype=np.float64)
DILATED = {"size": 11, "kernel": 3, "stride": 2, "padding": 1, "dilation": 2}
CONV_LAYER = {"size": 14, "channels": 32, "filters": 64, "kernel": 3}  # "same" padding
SEED_STACK = [(3, 1), (2, 2), (3, 1), (2, 2)]  # the seed CNN: conv, pool, conv, pool
STACKS = {
    "the seed CNN's stack": SEED_STACK,
    "an empty stack (the input itself)": [],
    "a stack with a stride-2 convolution [(5, 2), (3, 1), (3, 2)]": [(5, 2), (3, 1), (3, 2)],
    "a stack of 1x1 convolutions [(1, 1), (1, 3)]": [(1, 1), (1, 3)],
}


def _differs(got: Any, expected: np.ndarray, case: str, atol: float) -> tuple[bool, str] | None:
    """``same_array``, with a result that is not an array of numbers as a wrong answer."""
    try:
        np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False, f"for {case} your function returned {type(got).__name__}, not an array"
    return same_array("3.x", got, expected, case, atol=atol)


@exercise("3.1", "compute", "A 1-D convolution by hand")
def _conv1d_by_hand(answer: Any) -> tuple[bool, str]:
    """The valid convolution (cross-correlation) of SIGNAL with KERNEL_1D, as a sequence."""
    try:
        got = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"the answer to 3.1 must be a sequence of numbers, got {answer!r}"
        ) from None
    if got.ndim != 1:
        raise ValueError(f"the answer to 3.1 must be a flat sequence of numbers, got {answer!r}")
    expected = np.correlate(SIGNAL, KERNEL_1D, mode="valid")
    if got.shape != expected.shape:
        return False, (
            f"{got.size} entries: a kernel of {KERNEL_1D.size} fits at {expected.size} positions "
            f"of a signal of {SIGNAL.size} without padding"
        )
    if np.allclose(got, expected):
        return True, "that is the output y"
    if np.allclose(got, np.convolve(SIGNAL, KERNEL_1D, mode="valid")):
        return False, "that is the flipped kernel: y_i = sum_j w_j x_(i+j) does not flip it"
    wrong = np.flatnonzero(~np.isclose(got, expected)).tolist()
    return False, f"the entries at positions {wrong} (counting from 0) are wrong"


@exercise("3.2", "compute", "The output size of a dilated, strided, padded convolution")
def _dilated_output_size(answer: Any) -> tuple[bool, str]:
    """Output units per side for DILATED, from the sliding-window explorer's geometry."""
    value = number("3.2", answer)
    if value != int(value):
        raise ValueError(f"the answer to 3.2 must be a whole number of units, got {answer!r}")
    expected = window_geometry(**DILATED).output_size
    undilated = window_geometry(**{**DILATED, "dilation": 1}).output_size
    if value == expected:
        return True, "that is the number of output units per side"
    why = close_to(value, expected)[1]
    if value == undilated:
        return False, f"{why}: the dilated kernel spans more cells than {DILATED['kernel']}"
    return False, why


@exercise("3.3", "compute", "Weight sharing: a dense layer against a convolution")
def _parameter_ratio(answer: Any) -> tuple[bool, str]:
    """(parameters of the dense layer with the same input and output) / (conv parameters)."""
    value = number("3.3", answer)
    n, c, f, k = (CONV_LAYER[key] for key in ("size", "channels", "filters", "kernel"))
    layer = layers.Conv2D(f, k, padding="same")
    layer.build((None, n, n, c))
    out = conv.output_shape((None, n, n, c), (k, k), (1, 1), "same", f)
    dense = (n * n * c + 1) * int(np.prod(out[1:]))
    expected = dense / layer.count_params()
    correct, why = close_to(value, expected)
    if correct:
        return True, "that is how many times more weights the dense layer needs"
    no_bias = n * n * c * int(np.prod(out[1:])) / (k * k * c * f)
    if abs(value - no_bias) <= 1e-3 * no_bias:
        return False, f"{why}: count the biases of both layers"
    if value in (dense, layer.count_params()):
        return False, "that is one of the two parameter counts: the answer is their ratio"
    return False, why


@exercise("3.4", "think", "Two 3x3 convolutions or one 5x5?")
def _stacked_kernels() -> None:
    """Same receptive field (5), fewer weights (18C² against 25C²), one more nonlinearity."""


def _receptive_field(stack: list[tuple[int, int]]) -> tuple[int, int]:
    field, jump = 1, 1
    for kernel, stride in stack:
        field, jump = field + (kernel - 1) * jump, jump * stride
    return field, jump


@exercise("3.5", "code", "The receptive field of a stack of layers")
def _receptive_field_code(answer: Any) -> tuple[bool, str]:
    """``receptive_field(stack)`` -> (r, j) for a list of (window, stride) pairs."""
    function = callable_answer("3.5", answer)
    for case, stack in STACKS.items():
        got, failure = call_answer("3.5", function, (list(stack),))
        if failure:
            return False, f"for {case}: {failure}"
        whole = isinstance(got, tuple | list) and len(got) == 2
        if not (whole and all(isinstance(v, int | np.integer) for v in got)):
            return False, f"for {case} it returned {got!r}, expected a pair of ints (r, j)"
        for name, mine, theirs in zip(("r", "j"), got, _receptive_field(stack)):
            if mine != theirs:
                return False, f"for {case}: {name} = {close_to(mine, theirs)[1]}"
    return True, f"r and j are right for all {len(STACKS)} stacks"


def _pooling_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    tie = rng.normal(size=(4, 4))
    tie[0, 1] = tie[1, 0] = tie[:2, :2].max() + 1.0  # two equal maxima in the first window
    return {
        "the chapter's 4x4 example": np.array(
            [[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 0, 3]], dtype=np.float64
        ),
        "a random 6x8 input": rng.normal(size=(6, 8)),
        "an odd 5x5 input (the last row and column are in no window)": rng.normal(size=(5, 5)),
        "a window with two equal maxima": tie,
    }


@exercise("3.6", "code", "The backward pass of 2x2 max pooling: the mask")
def _max_pool_backward(answer: Any) -> tuple[bool, str]:
    """``max_pool_backward(x, upstream)`` -> dL/dx for 2x2 pooling, stride 2, valid."""
    function = callable_answer("3.6", answer)
    rng = np.random.default_rng(4)
    for case, x in _pooling_cases().items():
        upstream = rng.normal(size=(x.shape[0] // 2, x.shape[1] // 2))
        got, failure = call_answer("3.6", function, (x.copy(), upstream.copy()))
        if failure:
            return False, f"for {case}: {failure}"
        with tf.device("/CPU:0"):  # TensorFlow's CPU kernel: the first maximum wins a tie
            x4, up4 = (tf.constant(a[None, ..., None], tf.float32) for a in (x, upstream))
            output = tf.nn.max_pool2d(x4, 2, 2, "VALID")
            expected = conv.max_pool_backward_fast(x4, output, up4, (2, 2), (2, 2), "valid")
        wrong = _differs(got, expected.numpy()[0, ..., 0].astype(np.float64), case, 1e-6)
        if wrong:
            return wrong
    return True, f"dL/dx is right for all {len(_pooling_cases())} inputs, ties and odd sizes too"


CONV_CASES = {  # (input shape NHWC, kernel shape, stride)
    "one 4x4 image, a 3x3 kernel": ((1, 4, 4, 1), (3, 3, 1, 1), 1),
    "2 images of 7x7x3, 4 filters": ((2, 7, 7, 3), (3, 3, 3, 4), 1),
    "a 3x2 kernel with stride 2 on 9x8x2": ((2, 9, 8, 2), (3, 2, 2, 5), 2),
    "a 1x1 kernel (it only mixes channels)": ((3, 5, 5, 4), (1, 1, 4, 2), 1),
    "a kernel as large as the image (a 1x1 output)": ((2, 5, 5, 2), (5, 5, 2, 3), 1),
}


@exercise("3.7", "code", "Convolution as one matrix product (im2col)")
def _conv2d_matmul(answer: Any) -> tuple[bool, str]:
    """``conv2d_matmul(x, kernel, stride)``: a valid convolution, compared with tf.nn.conv2d."""
    function = callable_answer("3.7", answer)
    rng = np.random.default_rng(5)
    for case, (x_shape, kernel_shape, stride) in CONV_CASES.items():
        x = rng.normal(size=x_shape).astype(np.float32)
        kernel = rng.normal(size=kernel_shape).astype(np.float32)
        got, failure = call_answer("3.7", function, (x.copy(), kernel.copy(), stride))
        if failure:
            return False, f"for {case}: {failure}"
        with tf.device("/CPU:0"):  # float32 everywhere (a GPU may multiply in TF32)
            expected = tf.nn.conv2d(x, kernel, stride, "VALID").numpy().astype(np.float64)
        wrong = _differs(got, expected, case, 1e-4)
        if wrong:
            return wrong
    return True, f"equal to tf.nn.conv2d in all {len(CONV_CASES)} cases"


@exercise("3.8", "think", "Why the receptive-field check avoids max pooling")
def _footprint_check() -> None:
    """Max pooling routes the gradient to one pixel per window; random kernels can cancel."""


POINTWISE = {"size": 14, "channels": 256, "filters": 64}  # a 1x1 convolution, with biases


@exercise("3.9", "compute", "The parameters of a 1x1 convolution")
def _pointwise_parameters(answer: Any) -> tuple[bool, str]:
    """(C_in + 1) * C_out for POINTWISE, counted by a Keras-compatible layer."""
    value = number("3.9", answer)
    n, c, f = (POINTWISE[key] for key in ("size", "channels", "filters"))
    layer = layers.Conv2D(f, 1)
    layer.build((None, n, n, c))
    expected = layer.count_params()
    if value == expected:
        return True, "that is the number of parameters"
    if value == c * f:
        return False, "count the biases too: one per output channel"
    if value == n * n * (c + 1) * f:
        return False, "a convolution's weights do not depend on the size of the image"
    return False, close_to(value, expected)[1]


@exercise("3.10", "think", "Equivariance against invariance")
def _equivariance_invariance() -> None:
    """Conv: f(shift x) = shift f(x); global pooling: g(shift x) = g(x), up to borders/strides."""
