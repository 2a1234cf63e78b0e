"""Convolution and max pooling as matrix products over image windows (im2col).

A 2-D convolution multiplies every window of the image by the same kernel. Lay the windows out
as the rows of a matrix P (im2col: one row per output pixel, one column per kernel entry) and
the kernel as a matrix K with one column per filter: the convolution is Z = P·K. Its backward
pass is then two matrix products,

    dK = Pᵀ·Δ    and    dP = Δ·Kᵀ,    with Δ = dL/dZ,

followed by col2im, which adds each entry of dP back onto the pixel it was read from: a pixel
inside several windows collects a gradient from each of them. Max pooling reads the same
windows and keeps the largest value of each, so the whole of Δ goes to that winner, and col2im
again sums the overlaps.

The ``*_im2col`` functions are this derivation written out, the readable reference. The
``*_fast`` functions call TensorFlow's fused kernels for the same gradients (what GradientTape
itself uses); the layers use them by default. The tests check the two paths against each other
and against central differences. All images are NHWC: (batch, height, width, channels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

PADDINGS = ("valid", "same")


def output_size(size: int | None, window: int, stride: int, padding: str) -> int | None:
    """Number of windows along one axis of length ``size`` (None when unknown).

    "valid" keeps only windows that fit; "same" pads so that there are ``ceil(size / stride)``.
    """
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - window) // stride + 1


def output_shape(
    input_shape: Sequence[int | None],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    channels: int | None,
) -> tuple[int | None, ...]:
    """(batch, out_height, out_width, channels) of a windowed op on an NHWC ``input_shape``."""
    height, width = (
        output_size(size, k, s, padding) for size, k, s in zip(input_shape[1:3], window, strides)
    )
    return (input_shape[0], height, width, channels)


def _padding(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    # TensorFlow's "same": just enough padding for the last window, the odd pixel at the end.
    if padding == "valid":
        return 0, 0
    total = max((output_size(size, window, stride, padding) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _windows(
    image: Sequence[int | None], window: tuple[int, int], strides: tuple[int, int], padding: str
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Where each window entry reads in the padded image, and the padding per spatial axis.

    The positions have shape (out_h, out_w, window_h, window_w, 2): output pixel (i, j) reads
    padded pixel (i * stride + di, j * stride + dj) at kernel offset (di, dj).
    """
    if any(size is None for size in image):
        raise ValueError(f"the im2col path needs a known height and width, got {tuple(image)}")
    pads = [_padding(size, k, s, padding) for size, k, s in zip(image, window, strides)]
    axes = []
    for size, k, s in zip(image, window, strides):
        starts = np.arange(output_size(size, k, s, padding)) * s
        axes.append(starts[:, None] + np.arange(k)[None, :])  # (out, window)
    rows, cols = axes
    positions = np.stack(
        np.broadcast_arrays(rows[:, None, :, None], cols[None, :, None, :]), axis=-1
    )
    return positions.astype(np.int32), pads


def im2col(
    x: tf.Tensor,
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    pad_value: float = 0.0,
) -> tf.Tensor:
    """The windows of ``x``: shape (batch, out_h, out_w, window_h, window_w, channels).

    ``pad_value`` fills the border that "same" padding adds (0 for a convolution).
    """
    positions, ((top, bottom), (left, right)) = _windows(x.shape[1:3], window, strides, padding)
    padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=pad_value)
    # gather_nd indexes the leading axes, so the spatial axes go first for the gather.
    windows = tf.gather_nd(tf.transpose(padded, [1, 2, 0, 3]), positions)
    return tf.transpose(windows, [4, 0, 1, 2, 3, 5])


def col2im(
    windows: tf.Tensor,
    image: Sequence[int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tf.Tensor:
    """The adjoint of ``im2col``: add every window entry onto the pixel it was read from.

    ``windows`` has im2col's shape; the result is (batch, height, width, channels) for the
    ``image`` size (height, width). Pixels read by several windows get the sum.
    """
    positions, ((top, bottom), (left, right)) = _windows(image, window, strides, padding)
    height, width = image
    by_pixel = tf.transpose(windows, [1, 2, 3, 4, 0, 5])
    batch, channels = tf.shape(windows)[0], tf.shape(windows)[-1]
    shape = tf.stack([top + height + bottom, left + width + right, batch, channels])
    padded = tf.scatter_nd(positions, by_pixel, shape)  # scatter_nd adds repeated positions
    image_part = padded[top : top + height, left : left + width]
    return tf.transpose(image_part, [2, 0, 1, 3])


def conv2d_im2col(
    x: tf.Tensor, kernel: tf.Tensor, strides: tuple[int, int], padding: str
) -> tf.Tensor:
    """The convolution as Z = P·K; equals ``tf.nn.conv2d`` (the layers' forward pass)."""
    height, width, channels, filters = kernel.shape
    windows = im2col(x, (height, width), strides, padding)
    p = tf.reshape(windows, [-1, height * width * channels])
    z = tf.matmul(p, tf.reshape(kernel, [-1, filters]))
    return tf.reshape(z, tf.concat([tf.shape(windows)[:3], [filters]], axis=0))


def conv2d_backward_im2col(
    x: tf.Tensor, kernel: tf.Tensor, grad_z: tf.Tensor, strides: tuple[int, int], padding: str
) -> tuple[tf.Tensor, tf.Tensor]:
    """dL/dx and dL/dkernel of ``Z = conv2d(x, kernel)`` from ``grad_z`` = Δ, derived."""
    height, width, channels, filters = kernel.shape
    windows = im2col(x, (height, width), strides, padding)
    p = tf.reshape(windows, [-1, height * width * channels])
    delta = tf.reshape(grad_z, [-1, filters])
    grad_kernel = tf.reshape(tf.matmul(p, delta, transpose_a=True), kernel.shape)  # Pᵀ·Δ
    grad_p = tf.matmul(delta, tf.reshape(kernel, [-1, filters]), transpose_b=True)  # Δ·Kᵀ
    grad_x = col2im(
        tf.reshape(grad_p, tf.shape(windows)), x.shape[1:3], (height, width), strides, padding
    )
    return grad_x, grad_kernel


def conv2d_backward_fast(
    x: tf.Tensor, kernel: tf.Tensor, grad_z: tf.Tensor, strides: tuple[int, int], padding: str
) -> tuple[tf.Tensor, tf.Tensor]:
    """The same gradients as ``conv2d_backward_im2col``, from TensorFlow's fused kernels.

    The fast path: these two ops are what GradientTape runs for ``tf.nn.conv2d``.
    """
    tf_strides = [1, *strides, 1]
    grad_x = tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.shape(x),
        filter=kernel,
        out_backprop=grad_z,
        strides=tf_strides,
        padding=padding.upper(),
    )
    grad_kernel = tf.raw_ops.Conv2DBackpropFilter(
        input=x,
        filter_sizes=tf.shape(kernel),
        out_backprop=grad_z,
        strides=tf_strides,
        padding=padding.upper(),
    )
    return grad_x, grad_kernel


def max_pool_backward_im2col(
    x: tf.Tensor,
    upstream: tf.Tensor,
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tf.Tensor:
    """dL/dx of ``max_pool2d(x)`` from ``upstream`` = dL/d(output), derived.

    Only the largest entry of a window reaches the output, so it alone receives that output's
    gradient; on a tie the first entry (row by row) wins, as in TensorFlow's kernel.
    """
    # The padding must never win a window: fill it with the lowest value there is.
    lowest = -np.inf if x.dtype.is_floating else x.dtype.min
    windows = im2col(x, pool_size, strides, padding, pad_value=lowest)
    # One row of window_h * window_w candidates per (batch, out_h, out_w, channel).
    candidates = tf.transpose(windows, [0, 1, 2, 5, 3, 4])
    shape = tf.shape(candidates)
    candidates = tf.reshape(candidates, tf.concat([shape[:4], [-1]], axis=0))
    winner = tf.one_hot(
        tf.argmax(candidates, axis=-1), pool_size[0] * pool_size[1], dtype=upstream.dtype
    )
    grad_windows = tf.transpose(tf.reshape(winner * upstream[..., None], shape), [0, 1, 2, 4, 5, 3])
    return col2im(grad_windows, x.shape[1:3], pool_size, strides, padding)


def max_pool_backward_fast(
    x: tf.Tensor,
    output: tf.Tensor,
    upstream: tf.Tensor,
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tf.Tensor:
    """The same gradient as ``max_pool_backward_im2col``, from TensorFlow's fused kernel.

    The fast path: ``MaxPoolGrad`` is what GradientTape runs for ``tf.nn.max_pool2d``.
    """
    return tf.raw_ops.MaxPoolGrad(
        orig_input=tf.cast(x, upstream.dtype),  # integer images: the kernel wants one dtype
        orig_output=tf.cast(output, upstream.dtype),
        grad=upstream,
        ksize=[1, *pool_size, 1],
        strides=[1, *strides, 1],
        padding=padding.upper(),
    )
