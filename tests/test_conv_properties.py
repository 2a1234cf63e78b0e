"""mapping_lib.conv_properties: shifts without wrap-around, relative changes, and the
multi-channel drawing; bad arguments raise ValueError naming the argument."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from mapping_lib import conv_properties  # noqa: E402


def test_shift_moves_the_content_and_lets_zeros_in():
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    right = conv_properties.shift(x, cols=1)[0, ..., 0]
    assert np.array_equal(right[:, 1:], x[0, :, :3, 0]) and not right[:, 0].any()
    up_left = conv_properties.shift(x, rows=-2, cols=-1)[0, ..., 0]
    assert np.array_equal(up_left[:2, :3], x[0, 2:, 1:, 0])
    assert not up_left[2:].any() and not up_left[:, 3].any()
    assert np.array_equal(conv_properties.shift(x), x)
    assert conv_properties.shift(x, 1, 1).dtype == x.dtype


def test_a_convolution_commutes_with_shift_away_from_the_border():
    rng = np.random.default_rng(0)
    x = np.zeros((2, 12, 12, 3), np.float32)
    x[:, 3:9, 3:9] = rng.normal(size=(2, 6, 6, 3))  # a blank margin: nothing leaves the frame
    kernel = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    conv = tf.nn.conv2d(x, kernel, 1, "SAME").numpy()
    moved = tf.nn.conv2d(conv_properties.shift(x, 2, -1), kernel, 1, "SAME").numpy()
    assert np.allclose(moved, conv_properties.shift(conv, 2, -1), atol=1e-5)


def test_relative_change():
    a = np.array([3.0, 4.0])
    assert conv_properties.relative_change(a, a) == 0.0
    assert conv_properties.relative_change(a, np.zeros(2)) == pytest.approx(1.0)
    assert conv_properties.relative_change(a, a * 1.1) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"images": np.zeros((4, 4)), "cols": 1}, "images must have shape"),
        ({"images": np.zeros((1, 4, 4, 1)), "rows": 4}, "rows must be an int"),
        ({"images": np.zeros((1, 4, 4, 1)), "cols": 1.5}, "cols must be an int"),
    ],
)
def test_bad_shifts_raise(kwargs, words):
    with pytest.raises(ValueError, match=words):
        conv_properties.shift(**kwargs)


def test_bad_relative_changes_raise():
    with pytest.raises(ValueError, match="after must have the shape"):
        conv_properties.relative_change(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="before must not be all zeros"):
        conv_properties.relative_change(np.zeros(2), np.ones(2))


def test_draw_channels_draws_one_square_per_map_and_kernel_slice():
    fig = conv_properties.draw_channels(c_in=4, c_out=3, kernel=3)
    ax = fig.axes[0]
    assert len(ax.patches) == 4 + 3 * 4 + 3  # input maps, kernel slices, output maps
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "3 kernels" in texts and "3 × 3 × 4" in texts and "H × W × 4" in texts
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"c_in": 0, "c_out": 2}, "c_in"), ({"c_in": 2, "c_out": 9}, "c_out <= 6")],
)
def test_draw_channels_refuses_what_does_not_fit(kwargs, words):
    with pytest.raises(ValueError, match=words):
        conv_properties.draw_channels(**kwargs)
