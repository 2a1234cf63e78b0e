"""Chapter 5 demos: input gradients, word contributions, the latent explorer; bad input."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import device, layers
from mapping_lib.widgets import applications as apps

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# A scorer without a network: the logit is (number of "good") - 2 * (number of "bad"),
# so every occlusion contribution is known exactly.
WORD_WEIGHTS = {"good": 1.0, "bad": -2.0}


def counting_scorer(sentences):
    return np.array(
        [sum(WORD_WEIGHTS.get(word.strip(".,!").lower(), 0.0) for word in s.split())
         for s in sentences]
    )  # fmt: skip


# ------------------------------------------------------------------------- input gradients


def test_input_gradient_of_a_linear_model_is_its_weight_column():
    device.seed_everything(0)
    model = keras.Sequential([keras.Input((3, 2, 1)), layers.Flatten(), layers.Dense(4)])
    images = np.random.default_rng(0).normal(size=(5, 3, 2, 1)).astype("float32")
    classes = np.array([0, 3, 1, 1, 2])
    gradient = apps.input_gradient(model, images, classes)
    kernel = model.layers[-1].kernel.numpy()  # (6, 4)
    assert gradient.shape == images.shape
    for row, c in enumerate(classes):
        np.testing.assert_allclose(gradient[row].ravel(), kernel[:, c], rtol=1e-6)


def test_input_gradient_matches_finite_differences_for_a_nonlinear_model():
    device.seed_everything(1)
    model = keras.Sequential(
        [keras.Input((4,)), layers.Dense(5, activation="tanh"), layers.Dense(3)]
    )
    x = np.random.default_rng(1).normal(size=(2, 4))
    gradient = apps.input_gradient(model, x, np.array([2, 0]))
    step = 1e-3
    for row, c in enumerate([2, 0]):
        for j in range(4):
            up, down = x[row].copy(), x[row].copy()
            up[j] += step
            down[j] -= step
            scores = model(np.stack([up, down]).astype("float32")).numpy()[:, c]
            assert gradient[row, j] == pytest.approx((scores[0] - scores[1]) / (2 * step), abs=2e-3)


@pytest.mark.parametrize(
    ("images", "classes", "error", "message"),
    [
        (np.zeros((2, 4)), np.array([0]), ValueError, "classes must hold one integer"),
        (np.zeros((2, 4)), np.array([0.0, 1.0]), ValueError, "classes must hold one integer"),
        (np.zeros((2, 4)), np.array([0, 3]), ValueError, r"classes must lie in \[0, 3\)"),
        (np.zeros(4), np.array([0]), ValueError, "images must be a batch"),
        (np.full((1, 4), np.nan), np.array([0]), ValueError, "images must contain only finite"),
    ],
)
def test_input_gradient_bad_input(images, classes, error, message):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    with pytest.raises(error, match=message):
        apps.input_gradient(model, images, classes)


def test_input_gradient_needs_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        apps.input_gradient(lambda x: x, np.zeros((1, 2)), np.array([0]))


# ------------------------------------------------------------------------- word contributions


def test_word_contributions_are_exact_for_an_additive_scorer():
    result = apps.word_contributions("Good food,   bad service. Good!", counting_scorer)
    assert result.words == ("Good", "food,", "bad", "service.", "Good!")
    assert result.sentence == "Good food, bad service. Good!"
    assert result.logit == 0.0 and result.label == "positive" and result.probability == 0.5
    np.testing.assert_allclose(result.contributions, [1, 0, -2, 0, 1])
    np.testing.assert_allclose(result.without, [-1, 0, 2, 0, -1])


def test_word_contributions_score_all_variants_in_one_call():
    calls = []

    def scorer(sentences):
        calls.append(list(sentences))
        return counting_scorer(sentences)

    apps.word_contributions("not bad at all", scorer)
    assert calls == [["not bad at all", "bad at all", "not at all", "not bad all", "not bad at"]]


def test_probability_does_not_overflow():
    result = apps.word_contributions("bad " * 50, lambda s: np.full(len(s), -1000.0))
    assert result.probability == 0.0 and result.label == "negative"
    np.testing.assert_array_equal(result.contributions, 0.0)


def test_sentence_scorer_wraps_a_string_model():
    device.seed_everything(0)
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorize.adapt(["good film", "bad film", "not good"])
    classifier = keras.Sequential(
        [keras.Input((6,), dtype="int64"), keras.layers.Embedding(20, 3),
         keras.layers.GlobalAveragePooling1D(), layers.Dense(1)]
    )  # fmt: skip
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), vectorize, classifier])
    score = apps.sentence_scorer(model)
    logits = score(["good film", "bad", "unknown words here"])
    expected = classifier(vectorize(tf.constant(["good film", "bad", "unknown words here"])))
    assert logits.shape == (3,)
    np.testing.assert_allclose(logits, np.asarray(expected).ravel(), rtol=1e-6)
    result = apps.word_contributions("good film", score)
    assert result.contributions.shape == (2,)


@pytest.mark.parametrize(
    ("sentence", "predict", "kwargs", "error", "message"),
    [
        ("   ", counting_scorer, {}, ValueError, "sentence must contain at least one word"),
        (42, counting_scorer, {}, TypeError, "sentence must be a str"),
        ("a b c", counting_scorer, {"max_words": 2}, ValueError, "at most 2 words, got 3"),
        ("a b", counting_scorer, {"max_words": 0}, ValueError, "max_words"),
        ("a b", "not callable", {}, TypeError, "predict must be callable"),
        ("a b", lambda s: np.zeros(2), {}, ValueError, "predict must return one logit"),
        ("a b", lambda s: np.full(len(s), np.inf), {}, ValueError, "finite logits"),
    ],
)
def test_word_contributions_bad_input(sentence, predict, kwargs, error, message):
    with pytest.raises(error, match=message):
        apps.word_contributions(sentence, predict, **kwargs)


def test_sentiment_explorer_redraws_and_survives_an_empty_box():
    view = apps.sentiment_explorer(
        {"count": counting_scorer, "flipped": lambda s: -counting_scorer(s)}
    )
    first = bytes(view.image.value)
    assert first.startswith(PNG_SIGNATURE)
    view.controls["sentence"].value = "bad bad good"
    assert bytes(view.image.value) != first
    view.controls["model"].value = "flipped"
    view.controls["sentence"].value = ""  # the view shows the message instead of failing
    assert bytes(view.image.value).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("scorers", "error", "message"),
    [
        ({}, ValueError, "scorers must map at least one"),
        ({"x": 3}, TypeError, r"scorers\['x'\] must be callable"),
    ],
)
def test_sentiment_explorer_bad_input(scorers, error, message):
    with pytest.raises(error, match=message):
        apps.sentiment_explorer(scorers)


# ------------------------------------------------------------------------- latent space


def linear_decoder(points):
    """A stand-in decoder: image pixel (r, c) = sigmoid(z1 * r / 27 - z2 * c / 27)."""
    points = np.asarray(points, dtype=np.float64)
    rows, cols = np.meshgrid(np.arange(28) / 27, np.arange(28) / 27, indexing="ij")
    logits = points[:, :1, None] * rows - points[:, 1:, None] * cols
    return (1 / (1 + np.exp(-logits))).reshape(len(points), 784)


def test_decode_point_and_grid_agree():
    image = apps.decode_point(linear_decoder, (2.0, -1.0))
    assert image.shape == (28, 28)
    np.testing.assert_allclose(image, linear_decoder([[2.0, -1.0]]).reshape(28, 28))
    extent = (-3.0, 3.0, -2.0, 2.0)
    grid = apps.decode_grid(linear_decoder, extent, steps=4)
    assert grid.shape == (4 * 28, 4 * 28)
    # Tile (row 0, column 3) is the top-right corner of the box: z1 = 3, z2 = 2.
    np.testing.assert_allclose(grid[:28, 3 * 28 :], apps.decode_point(linear_decoder, (3.0, 2.0)))
    np.testing.assert_allclose(grid[3 * 28 :, :28], apps.decode_point(linear_decoder, (-3.0, -2.0)))


def test_decode_point_with_a_keras_decoder():
    device.seed_everything(0)
    decoder = keras.Sequential([keras.Input((2,)), layers.Dense(784, activation="sigmoid")])
    image = apps.decode_point(decoder, (0.5, -0.5))
    np.testing.assert_allclose(
        image.ravel(), decoder(np.array([[0.5, -0.5]], "float32")).numpy().ravel(), rtol=1e-6
    )


def test_latent_extent_ignores_outliers():
    rng = np.random.default_rng(0)
    codes = rng.uniform(-1, 1, size=(1000, 2))
    codes[0] = (500.0, -500.0)
    x0, x1, y0, y1 = apps.latent_extent(codes, coverage=0.98, margin=0.0)
    assert -1 < x0 < -0.9 and 0.9 < x1 < 1 and -1 < y0 < -0.9 and 0.9 < y1 < 1
    wide = apps.latent_extent(codes, coverage=0.98, margin=0.5)
    assert wide[1] - wide[0] == pytest.approx(2 * (x1 - x0))


def test_latent_explorer_moves_the_point():
    codes = np.random.default_rng(0).normal(size=(200, 2))
    labels = np.arange(200) % 10
    view = apps.latent_explorer(linear_decoder, codes, labels, z=(0.5, -0.25))
    assert (view.controls["z1"].value, view.controls["z2"].value) == (0.5, -0.25)
    first = bytes(view.image.value)
    assert first.startswith(PNG_SIGNATURE)
    view.controls["z2"].value = view.controls["z2"].min
    assert bytes(view.image.value) != first


def test_latent_explorer_names_the_classes_on_its_colour_bar():
    codes = np.random.default_rng(0).normal(size=(200, 2))
    names = [f"garment {k}" for k in range(10)]
    image = np.zeros((28, 28))
    fig = apps.draw_latent_point(image, (0.0, 0.0), codes, np.arange(200) % 10, class_names=names)
    bar_labels = [t.get_text() for t in fig.axes[-1].get_yticklabels()]
    assert bar_labels == names
    with pytest.raises(ValueError, match="class_names must name the 10 classes"):
        apps.draw_latent_point(image, (0.0, 0.0), codes, np.arange(200) % 10, class_names=["a"])


def test_latent_explorer_refuses_a_start_outside_its_sliders():
    codes = np.random.default_rng(0).normal(size=(200, 2))
    low, high = apps.latent_extent(codes)[:2]
    interval = re.escape(f"[{low}, {high}]")
    with pytest.raises(ValueError, match=rf"z\[0\] must be a number in {interval}, got 99"):
        apps.latent_explorer(linear_decoder, codes, np.arange(200) % 10, z=(99.0, 0.0))
    with pytest.raises(ValueError, match=r"z\[1\] must be a number in"):
        apps.latent_explorer(linear_decoder, codes, np.arange(200) % 10, z=(0.0, -99.0))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: apps.decode_point(linear_decoder, (1.0, 2.0, 3.0)), ValueError, "z must be"),
        (
            lambda: apps.decode_point(linear_decoder, (1.0, 2.0), (10, 10)),
            ValueError,
            "image_shape",
        ),
        (lambda: apps.decode_point("decoder", (1.0, 2.0)), TypeError, "decoder must be"),
        (lambda: apps.latent_extent(np.zeros((5, 3))), ValueError, "codes must be"),
        (lambda: apps.latent_extent(np.zeros((5, 2)), coverage=0), ValueError, "coverage"),
        (lambda: apps.latent_extent(np.zeros((5, 2)), margin=-1), ValueError, "margin"),
        (lambda: apps.decode_grid(linear_decoder, (0, 1, 0, 1), steps=0), ValueError, "steps"),
        (lambda: apps.decode_grid(linear_decoder, (1, 0, 0, 1)), ValueError, "extent must be"),
        (lambda: apps.decode_grid(linear_decoder, (0, 1, 0)), ValueError, "extent must be"),
        (
            lambda: apps.latent_explorer(linear_decoder, np.zeros((5, 2)), np.zeros(4)),
            ValueError,
            "codes and labels",
        ),
        (
            lambda: apps.latent_explorer(linear_decoder, np.zeros((5, 2)), np.zeros(5), z=(1,)),
            ValueError,
            "z must be",
        ),
    ],
)
def test_latent_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
