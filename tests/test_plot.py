"""mapping_lib.plot: each helper draws what it says, read back from the artists (Agg backend)."""

import io
import struct
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from mapping_lib import plot  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def png_size(data):
    # The IHDR chunk comes first: width and height, big-endian, after length and type.
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


# figure_to_png


def test_figure_to_png_renders_the_figure_and_closes_it():
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.axis("off")
    ax.add_patch(plt.Rectangle((0, 0), 1, 1, color="red", transform=ax.transAxes))
    number = fig.number
    data = plot.figure_to_png(fig)
    assert isinstance(data, bytes) and data.startswith(PNG_SIGNATURE)
    assert not plt.fignum_exists(number)
    pixels = plt.imread(io.BytesIO(data))
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.1) & (pixels[..., 2] < 0.1)
    assert red.mean() > 0.5  # the red rectangle fills the tightly cropped image
    assert png_size(data) == pixels.shape[1::-1]


def test_figure_to_png_dpi_scales_the_image():
    def size(dpi):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, 1])
        return np.array(png_size(plot.figure_to_png(fig, dpi=dpi)))

    small, large = size(40), size(120)
    np.testing.assert_allclose(large / small, 3, rtol=0.1)


# loss_curves

HISTORY = {"loss": [3.0, 2.0, 1.5, 1.2], "val_loss": [3.5, 2.5, 2.4, 2.6], "accuracy": [0.1] * 4}


def test_loss_curves_draws_one_line_per_key_against_the_epoch():
    fig = plot.loss_curves(HISTORY)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    for line, key in zip(lines, ["loss", "val_loss"]):
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])  # epochs count from 1
        np.testing.assert_array_equal(line.get_ydata(), HISTORY[key])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["loss", "val_loss"]
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "linear"


def test_loss_curves_reads_a_history_object_into_a_given_axes_on_a_log_scale():
    fig, (left, right) = plt.subplots(1, 2)
    history = SimpleNamespace(history={"loss": [1.0, 0.1], "acc": [0.5, 0.9]})
    returned = plot.loss_curves(history, keys=("acc", "val_acc"), ax=right, log_scale=True)
    assert returned is fig
    assert left.get_lines() == [] and len(right.get_lines()) == 1  # val_acc is missing: skipped
    np.testing.assert_array_equal(right.get_lines()[0].get_ydata(), [0.5, 0.9])
    assert right.get_yscale() == "log"


def test_loss_curves_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match="history must be a History or a dict of lists, got list"):
        plot.loss_curves([1.0, 2.0])
    with pytest.raises(ValueError, match=r"keys must name curves.*\['accuracy', 'loss', "):
        plot.loss_curves(HISTORY, keys=("lr",))
    with pytest.raises(ValueError, match="keys must name curves"):
        plot.loss_curves({"loss": []})  # an empty curve is nothing to draw


# image_grid


def test_image_grid_shows_each_image_with_its_label():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(5, 4, 6, 1))
    fig = plot.image_grid(images, labels=[3, 1, 4, 1, 5], ncols=3, cmap="viridis")
    assert len(fig.axes) == 6  # 2 rows of 3
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert shown == fig.axes[:5]
    for index, ax in enumerate(shown):
        (image,) = ax.get_images()
        np.testing.assert_array_equal(image.get_array(), images[index, ..., 0])  # (H, W)
        assert image.get_cmap().name == "viridis"
        assert ax.get_title() == str([3, 1, 4, 1, 5][index])
    assert all(not ax.axison for ax in fig.axes)
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [
        (2, 3, index, index) for index in range(6)
    ]  # 2 rows of 3, filled row by row


def test_image_grid_keeps_colour_images_and_narrows_to_the_image_count():
    images = np.random.default_rng(1).uniform(size=(2, 3, 3, 3))
    fig = plot.image_grid(images)  # ncols=8 by default, but only 2 images
    assert len(fig.axes) == 2
    assert fig.axes[0].get_images()[0].get_array().shape == (3, 3, 3)
    assert [ax.get_title() for ax in fig.axes] == ["", ""]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"images": np.zeros((4, 4))}, ValueError, "images must have rank 3 or 4"),
        ({"images": np.full((1, 2, 2), np.nan)}, ValueError, "images must contain only finite"),
        ({"images": np.zeros((2, 3, 3)), "labels": ["a"]}, ValueError,
         "images and labels must have the same number of examples, got 2 and 1"),
        ({"images": np.zeros((2, 3, 3)), "ncols": 0}, ValueError, "ncols must be a positive int"),
    ],
)  # fmt: skip
def test_image_grid_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        plot.image_grid(**kwargs)


# grid_points


def test_grid_points_cover_the_extent_row_by_row():
    points = plot.grid_points((-1.0, 3.0, 10.0, 12.0), 5)
    assert points.shape == (25, 2) and points.dtype == np.float32
    np.testing.assert_allclose(points[:5, 0], [-1, 0, 1, 2, 3])  # x varies fastest
    np.testing.assert_allclose(points[:5, 1], 10)
    np.testing.assert_allclose(points[::5, 1], [10, 10.5, 11, 11.5, 12])
    np.testing.assert_allclose(points[-1], [3, 12])
    with pytest.raises(ValueError, match="resolution must be a positive int, got 0"):
        plot.grid_points((0, 1, 0, 1), 0)


# decision_regions

X = np.array([[-1.0, -2.0], [1.0, 2.0], [0.5, -1.0], [-0.5, 1.5]])
Y = np.array([0, 1, 0, 1])


def test_decision_regions_colours_the_plane_by_the_probability():
    seen = []

    def predict(points):  # class 1 above the line y = 0
        seen.append(points)
        return (points[:, 1] > 0).astype("float32")[:, None]

    fig = plot.decision_regions(predict, X, Y, resolution=20, title="upper half")
    (ax,) = fig.axes
    (points,) = seen
    assert points.shape == (400, 2) and points.dtype == np.float32
    extent = (-1.5, 1.5, -2.5, 2.5)  # the data's range plus 0.5 on each side
    np.testing.assert_allclose(points[[0, -1]], [extent[::2], extent[1::2]])
    (image,) = ax.get_images()
    field = image.get_array()
    assert field.shape == (20, 20)
    # origin="lower": row 0 is the bottom of the plane, where y < 0 and P(class 1) = 0.
    assert np.all(field[:10] == 0) and np.all(field[10:] == 1)
    assert image.origin == "lower"
    np.testing.assert_allclose(image.get_extent(), extent)
    assert image.get_clim() == (0, 1)
    (contour,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    np.testing.assert_array_equal(contour.levels, [0.5])
    (dots,) = scatters(ax)
    np.testing.assert_array_equal(dots.get_offsets(), X)
    fig.canvas.draw()  # mapped colours are computed when the figure is drawn
    colours = dots.get_facecolors()
    np.testing.assert_allclose(colours[Y == 0], [to_rgba(plot.CLASS_COLORS[0])] * 2)
    np.testing.assert_allclose(colours[Y == 1], [to_rgba(plot.CLASS_COLORS[1])] * 2)
    np.testing.assert_allclose(ax.get_xlim(), extent[:2])
    np.testing.assert_allclose(ax.get_ylim(), extent[2:])
    assert ax.get_title() == "upper half"


def test_decision_regions_takes_the_argmax_of_several_class_scores():
    centres = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])

    def predict(points):  # negative squared distance to each centre
        return -((points[:, None, :] - centres[None]) ** 2).sum(axis=2)

    x = np.array([[-1.0, 0.1], [1.0, -0.1], [0.1, 2.0]])
    fig, ax = plt.subplots()
    returned = plot.decision_regions(predict, x, [0, 1, 2], resolution=30, ax=ax,
                                     extent=(-2, 2, -1, 3))  # fmt: skip
    assert returned is fig
    field = ax.get_images()[0].get_array()
    grid = plot.grid_points((-2, 2, -1, 3), 30)
    nearest = ((grid[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(field, nearest.reshape(30, 30))
    assert not [c for c in ax.collections if isinstance(c, ContourSet)]  # no 0.5 contour
    fig.canvas.draw()
    colours = scatters(ax)[0].get_facecolors()
    tab10 = plt.get_cmap("tab10").colors
    np.testing.assert_allclose(colours[:, :3], tab10[:3])  # one colour per class
    np.testing.assert_allclose(ax.get_xlim(), (-2, 2))


def test_decision_regions_rejects_bad_points():
    def predict(points):
        return np.zeros(len(points))

    with pytest.raises(ValueError, match=r"x must have 2 columns .*got shape \(4, 3\)"):
        plot.decision_regions(predict, np.zeros((4, 3)), Y)
    with pytest.raises(ValueError, match="x and y must have the same number of examples"):
        plot.decision_regions(predict, X, Y[:3])
    with pytest.raises(ValueError, match="x must have rank 2"):
        plot.decision_regions(predict, X[:, 0], Y)
    with pytest.raises(ValueError, match="resolution must be a positive int"):
        plot.decision_regions(predict, X, Y, resolution=-5)


@pytest.mark.parametrize(
    "predict",
    [
        lambda points: np.zeros(10),  # not one score per point
        lambda points: np.zeros((len(points), 0)),  # no scores at all
        lambda points: np.zeros((len(points), 2, 2)),  # neither a probability nor a row
        lambda points: np.float32(0.5),  # a single number
    ],
)
def test_decision_regions_names_a_predict_that_returns_the_wrong_shape(predict):
    with pytest.raises(
        ValueError,
        match=r"predict must return one probability or one row of class scores per point: "
        r"given points of shape \(100, 2\)",
    ):
        plot.decision_regions(predict, X, Y, resolution=10)


# network_diagram


def test_network_diagram_draws_every_neuron_and_edge():
    fig = plot.network_diagram([2, 3, 1], labels=["in", "hidden", "out"])
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 2 * 3 + 3 * 1  # fully connected: one line per weight
    columns = scatters(ax)
    assert [len(column.get_offsets()) for column in columns] == [2, 3, 1]
    for layer, column in enumerate(columns):
        np.testing.assert_array_equal(column.get_offsets()[:, 0], layer)
    hidden, outer = to_rgba(plot.CLASS_COLORS[1]), to_rgba(plot.CLASS_COLORS[0])
    assert [tuple(column.get_facecolors()[0]) for column in columns] == [outer, hidden, outer]
    assert [text.get_text() for text in ax.texts] == ["in", "hidden", "out"]
    # Every edge joins a neuron of one layer to one of the next.
    neurons = {tuple(p) for column in columns for p in column.get_offsets()}
    for line in ax.get_lines():
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        assert x1 == x0 + 1 and (x0, y0) in neurons and (x1, y1) in neurons
    assert not ax.axison


@pytest.mark.parametrize(
    ("sizes", "labels", "error", "match"),
    [
        ([3], None, ValueError, r"layer_sizes must list at least 2 layers, got \[3\]"),
        ([2, 0], None, ValueError, r"layer_sizes\[1\] must be a positive int, got 0"),
        ([2, 1.5], None, TypeError, r"layer_sizes\[1\] must be a positive int"),
        ([2, 3], ["in"], ValueError, "labels must name each of the 2 layers, got 1"),
    ],
)
def test_network_diagram_rejects_bad_sizes(sizes, labels, error, match):
    with pytest.raises(error, match=match):
        plot.network_diagram(sizes, labels=labels)
