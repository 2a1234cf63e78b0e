"""The im2col derivation of Conv2D's and MaxPool2D's backward pass vs TensorFlow's kernels."""

import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import conv
from mapping_lib.gradcheck import check_layer, numerical_gradient, relative_error
from mapping_lib.layers import Conv2D, MaxPool2D

F64 = {"dtype": "float64"}

# (input shape, window, strides, padding): odd sizes, overlapping windows, mixed strides.
WINDOWS = {
    "valid-s1": ((2, 5, 5, 2), (3, 3), (1, 1), "valid"),
    "valid-s2-odd": ((2, 7, 6, 2), (3, 3), (2, 2), "valid"),
    "valid-rect": ((1, 6, 5, 3), (2, 3), (2, 1), "valid"),
    "same-s1": ((2, 5, 4, 2), (3, 3), (1, 1), "same"),
    "same-s2-odd": ((1, 5, 7, 2), (2, 3), (2, 2), "same"),
    "same-mixed": ((2, 5, 5, 1), (3, 3), (2, 1), "same"),
    "same-window-4": ((1, 6, 6, 1), (4, 4), (3, 3), "same"),
}


def _random(shape, seed):
    return tf.constant(np.random.default_rng(seed).normal(size=shape))


@pytest.mark.parametrize("case", WINDOWS)
def test_col2im_is_the_adjoint_of_im2col(case):
    shape, window, strides, padding = WINDOWS[case]
    x = _random(shape, 0)
    windows = conv.im2col(x, window, strides, padding)
    expected = conv.output_shape(shape, window, strides, padding, None)[:3]
    assert windows.shape == (*expected, *window, shape[-1])
    w = _random(windows.shape, 1)
    # <im2col(x), w> = <x, col2im(w)>: col2im sends each window entry back where it came from.
    left = tf.reduce_sum(windows * w)
    right = tf.reduce_sum(x * conv.col2im(w, shape[1:3], window, strides, padding))
    assert abs(float(left - right)) < 1e-10 * float(tf.reduce_sum(tf.abs(windows * w)))


@pytest.mark.parametrize("case", WINDOWS)
def test_conv2d_derivation_matches_tensorflow_and_central_differences(case):
    shape, window, strides, padding = WINDOWS[case]
    x, kernel = _random(shape, 2), _random((*window, shape[-1], 3), 3)
    z = tf.nn.conv2d(x, kernel, strides, padding.upper())
    assert relative_error(conv.conv2d_im2col(x, kernel, strides, padding), z) < 1e-12
    delta = _random(z.shape, 4)
    derived = conv.conv2d_backward_im2col(x, kernel, delta, strides, padding)
    fast = conv.conv2d_backward_fast(x, kernel, delta, strides, padding)

    def loss(x_value, k_value):
        return float(
            tf.reduce_sum(delta * tf.nn.conv2d(x_value, k_value, strides, padding.upper()))
        )

    numeric = (
        numerical_gradient(lambda v: loss(v, kernel), x.numpy()),
        numerical_gradient(lambda v: loss(x, v), kernel.numpy()),
    )
    for mine, theirs, differences in zip(derived, fast, numeric, strict=True):
        assert relative_error(mine, theirs) < 1e-12
        assert relative_error(mine, differences) < 1e-8


@pytest.mark.parametrize("case", WINDOWS)
def test_max_pool_derivation_matches_tensorflow_and_central_differences(case):
    shape, window, strides, padding = WINDOWS[case]
    x = _random(shape, 5)
    output = tf.nn.max_pool2d(x, window, strides, padding.upper())
    upstream = _random(output.shape, 6)
    derived = conv.max_pool_backward_im2col(x, upstream, window, strides, padding)
    fast = conv.max_pool_backward_fast(x, output, upstream, window, strides, padding)
    numeric = numerical_gradient(
        lambda v: float(
            tf.reduce_sum(
                upstream * tf.nn.max_pool2d(tf.constant(v), window, strides, padding.upper())
            )
        ),
        x.numpy(),
    )
    assert relative_error(derived, fast) < 1e-12
    assert relative_error(derived, numeric) < 1e-8


def test_max_pool_derivation_breaks_ties_like_tensorflow():
    # After a ReLU many windows hold several equal values (zeros); the first one wins.
    rng = np.random.default_rng(7)
    x = tf.constant(np.maximum(np.round(rng.normal(size=(4, 9, 9, 3))), 0).astype("float32"))
    for window, strides, padding in [((2, 2), (2, 2), "valid"), ((3, 3), (1, 1), "same")]:
        output = tf.nn.max_pool2d(x, window, strides, padding.upper())
        upstream = tf.constant(rng.normal(size=output.shape).astype("float32"))
        derived = conv.max_pool_backward_im2col(x, upstream, window, strides, padding)
        fast = conv.max_pool_backward_fast(x, output, upstream, window, strides, padding)
        np.testing.assert_allclose(derived, fast, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: Conv2D(2, 3, strides=2, padding="same", activation="tanh", **F64), (2, 5, 6, 2)),
        (lambda: Conv2D(3, (2, 3), strides=(1, 2), activation="relu", **F64), (1, 5, 7, 2)),
        (lambda: MaxPool2D(3, strides=2, padding="same", **F64), (1, 7, 5, 2)),
        (lambda: MaxPool2D((2, 3), strides=1, **F64), (2, 5, 5, 1)),
    ],
)
def test_layers_along_the_im2col_path_pass_the_gradient_check(make_layer, shape):
    fast, derived = make_layer(), make_layer()
    derived.backward_path = "im2col"
    x = np.random.default_rng(8).normal(size=shape)
    report = check_layer(derived, x)
    assert report.ok(1e-6), str(report)
    fast(x)
    fast.set_weights(derived.get_weights())
    upstream = np.random.default_rng(9).normal(size=fast(x).shape)
    for layer in (fast, derived):
        layer(x)
    assert relative_error(derived.backward(upstream), fast.backward(upstream)) < 1e-12
    for mine, theirs in zip(derived.grads, fast.grads, strict=True):
        assert relative_error(mine, theirs) < 1e-12


@pytest.mark.parametrize("size", [1, 4, 5, 6, 9])
@pytest.mark.parametrize("window, stride", [(1, 1), (2, 2), (3, 1), (3, 2), (2, 3)])
@pytest.mark.parametrize("padding", conv.PADDINGS)
def test_output_size_is_tensorflows(size, window, stride, padding):
    if padding == "valid" and window > size:
        return
    image = tf.zeros((1, size, size, 1))
    actual = tf.nn.max_pool2d(image, window, stride, padding.upper()).shape[1]
    assert conv.output_size(size, window, stride, padding) == actual
    assert conv.output_size(None, window, stride, padding) is None


def test_im2col_needs_a_known_height_and_width():
    @tf.function(input_signature=[tf.TensorSpec((1, None, 4, 1), tf.float32)])
    def windows(x):
        return conv.im2col(x, (2, 2), (1, 1), "valid")

    with pytest.raises(ValueError, match=r"im2col path needs a known height and width"):
        windows.get_concrete_function()
