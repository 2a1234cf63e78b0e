"""Chapter 5 demos: what a trained network looks at, reads and has learned to draw.

Each demo is a pure compute function (unit-tested, usable on its own in the book), a drawing
function, and for the interactive ones a thin :class:`~mapping_lib.widgets.Explorer` view.

* :func:`input_gradient`: how strongly each pixel moves a class score, ``d score / d x``.
* :func:`word_contributions` / :func:`sentiment_explorer`: type a sentence, see P(positive)
  and how much each word adds to its log-odds (occlusion: drop the word, measure the change).
* :func:`decode_point` / :func:`latent_explorer`: move a point through an autoencoder's 2-D
  latent space and see the image the decoder makes of it.

All model calls go through :func:`mapping_lib.train.compiled_forward` (a cached
``tf.function``), never ``model.predict``, so a redraw costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mapping_lib import _checks, train
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.widgets import Explorer

# --------------------------------------------------------------------------------------------
# 1. Gradient saliency
# --------------------------------------------------------------------------------------------


def input_gradient(model: keras.Model, images: Any, classes: Any) -> np.ndarray:
    """``d z_c / d x``: the gradient of class ``c``'s score with respect to every input value.

    ``images`` is a batch in the model's input shape, ``classes`` one class index per image;
    the result has the shape of ``images``. The score is the model's raw output (the logit),
    which a softmax does not squash. ``abs`` of it is the classic saliency map; ``images *``
    it estimates, to first order, how much the score falls when an input value is set to 0.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    batch = _checks.finite_array("images", images).astype(np.float32)
    if batch.ndim < 2:
        raise ValueError(f"images must be a batch of inputs, got shape {batch.shape}")
    wanted = np.asarray(classes)
    if wanted.shape != (len(batch),) or not np.issubdtype(wanted.dtype, np.integer):
        raise ValueError(
            f"classes must hold one integer class per image ({len(batch)}), got {classes!r}"
        )
    x = tf.constant(batch)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = model(x, training=False)
        num_classes = scores.shape[-1]
        if wanted.min() < 0 or wanted.max() >= num_classes:
            raise ValueError(f"classes must lie in [0, {num_classes}), got {wanted.tolist()}")
        chosen = tf.gather(scores, wanted, axis=1, batch_dims=1)
    return tape.gradient(chosen, x).numpy()


# --------------------------------------------------------------------------------------------
# 2. Sentiment: word contributions by occlusion
# --------------------------------------------------------------------------------------------

MAX_WORDS = 60
"""Longest sentence the sentiment demo takes (one model call scores all its variants)."""

Scorer = Callable[[list[str]], Any]
"""A function from a list of sentences to one logit (log-odds of "positive") per sentence."""


def sentence_scorer(model: keras.Model) -> Scorer:
    """Wrap a model that maps strings to one logit into ``sentences -> logits`` (a 1-D array).

    The model (e.g. ``keras.Sequential([keras.Input(shape=(), dtype="string"),
    text_vectorization, classifier])``) runs through ``compiled_forward``; a batch of
    sentences is one call.
    """
    forward = train.compiled_forward(model)

    def score(sentences: list[str]) -> np.ndarray:
        logits = forward(tf.constant(list(sentences), dtype=tf.string))
        return np.asarray(logits).reshape(-1)

    return score


def _sigmoid(logit: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logit)))  # = 1 / (1 + e^-x), no overflow


@dataclass(frozen=True)
class WordContributions:
    """The logit of a sentence, and of the sentence with each word left out in turn.

    ``contributions[i] = logit - without[i]``, in log-odds: positive where word i pushes the
    prediction towards "positive", negative where it pushes towards "negative". Log-odds,
    unlike probabilities, do not saturate: in a sentence scored P = 0.999 a word can still
    visibly matter.
    """

    sentence: str
    words: tuple[str, ...]
    logit: float
    without: np.ndarray

    @property
    def probability(self) -> float:
        """P(positive) of the whole sentence."""
        return float(_sigmoid(self.logit))

    @property
    def contributions(self) -> np.ndarray:
        """Each word's contribution to the logit, in reading order."""
        return self.logit - self.without

    @property
    def label(self) -> str:
        """The predicted class: "positive" when P(positive) >= 0.5."""
        return "positive" if self.logit >= 0 else "negative"


def _logits(predict: Scorer, sentences: list[str]) -> np.ndarray:
    values = np.asarray(predict(sentences), dtype=np.float64).reshape(-1)
    if values.shape != (len(sentences),):
        raise ValueError(
            f"predict must return one logit per sentence ({len(sentences)}), "
            f"got {values.size} values"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("predict must return finite logits, got NaN or inf")
    return values


def word_contributions(
    sentence: str, predict: Scorer, *, max_words: int = MAX_WORDS
) -> WordContributions:
    """Score ``sentence`` and every copy of it with one word removed, in one call of ``predict``.

    Words are the sentence's whitespace-separated pieces as typed (punctuation stays attached:
    the model's own text vectorization strips it). ``predict`` maps a list of sentences to
    their logits, e.g. :func:`sentence_scorer`.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    if not callable(predict):
        raise TypeError(f"predict must be callable, got {type(predict).__name__}")
    max_words = _checks.positive_int("max_words", max_words)
    words = tuple(sentence.split())
    if not words:
        raise ValueError("sentence must contain at least one word, got an empty sentence")
    if len(words) > max_words:
        raise ValueError(f"sentence must have at most {max_words} words, got {len(words)}")
    variants = [" ".join(words)]
    variants += [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
    logits = _logits(predict, variants)
    return WordContributions(" ".join(words), words, float(logits[0]), logits[1:])


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10)
    ax.axis("off")


def draw_word_contributions(result: WordContributions, ax: Axes | None = None) -> Figure:
    """One horizontal bar per word, in reading order: blue pushes to positive, orange negative."""
    if ax is None:
        height = 1.2 + 0.28 * len(result.words)
        _, ax = plt.subplots(figsize=(6.2, height))
    values = result.contributions
    rows = np.arange(len(values))
    colors = [CLASS_COLORS[1] if value >= 0 else CLASS_COLORS[0] for value in values]
    ax.barh(rows, values, color=colors)
    ax.set_yticks(rows, result.words)
    ax.invert_yaxis()  # first word on top
    ax.axvline(0, color="0.3", lw=0.8)
    limit = max(0.5, float(np.abs(values).max()) * 1.15)
    ax.set_xlim(-limit, limit)
    ax.set_xlabel("log-odds of positive: with the word  -  without it")
    ax.set_title(f"P(positive) = {result.probability:.3f}  ->  {result.label}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig = ax.figure
    fig.tight_layout()
    return fig


def sentiment_explorer(
    scorers: Mapping[str, Scorer], sentence: str = "The food was not bad at all."
) -> Explorer:
    """A text box and a model menu; shows P(positive) and each word's contribution.

    ``scorers`` maps a model's name to its :func:`sentence_scorer` (sentences -> logits).
    """
    if not isinstance(scorers, Mapping) or not scorers:
        raise ValueError("scorers must map at least one model name to a scoring function")
    for name, scorer in scorers.items():
        if not callable(scorer):
            raise TypeError(f"scorers[{name!r}] must be callable, got {type(scorer).__name__}")
    word_contributions(sentence, next(iter(scorers.values())))  # reject a bad default up front
    controls = {
        "sentence": widgets.Text(
            value=sentence,
            description="sentence",
            continuous_update=False,  # score when Enter is pressed or the box loses focus
            layout=widgets.Layout(width="340px"),
        ),
        "model": widgets.Dropdown(options=list(scorers), description="model"),
    }

    def render(sentence: str, model: str) -> Figure:
        try:
            return draw_word_contributions(word_contributions(sentence, scorers[model]))
        except ValueError as error:  # e.g. an empty box: say so instead of breaking the view
            fig, ax = plt.subplots(figsize=(6.2, 1.5))
            _message(ax, str(error))
            return fig

    return Explorer(render, controls, title="Sentiment of a sentence, word by word")


# --------------------------------------------------------------------------------------------
# 3. Autoencoder latent space
# --------------------------------------------------------------------------------------------

Extent = tuple[float, float, float, float]


def _decoder_function(decoder: Any) -> Callable[[Any], Any]:
    if isinstance(decoder, keras.Model):
        return train.compiled_forward(decoder)
    if callable(decoder):
        return decoder
    raise TypeError(f"decoder must be a keras.Model or callable, got {type(decoder).__name__}")


def _latent_codes(codes: Any) -> np.ndarray:
    points = _checks.finite_array("codes", codes, ndim=2)
    if points.shape[1] != 2 or len(points) < 2:
        raise ValueError(f"codes must be at least 2 points of shape (N, 2), got {points.shape}")
    return points


def latent_extent(codes: Any, *, coverage: float = 0.98, margin: float = 0.1) -> Extent:
    """A box (z1 min, z1 max, z2 min, z2 max) around the central ``coverage`` of the codes.

    Outlying codes would stretch sliders over empty space, so the box spans the central
    quantiles of each axis, widened by ``margin`` times its size on every side.
    """
    points = _latent_codes(codes)
    coverage = _checks.in_range("coverage", coverage, 0.0, 1.0, closed="(]")
    margin = _checks.non_negative_float("margin", margin)
    tail = (1.0 - coverage) / 2
    low, high = np.quantile(points, [tail, 1.0 - tail], axis=0)
    size = np.maximum(high - low, 1e-6)
    low, high = low - margin * size, high + margin * size
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def decode_point(
    decoder: Any, z: Sequence[float], image_shape: Sequence[int] = (28, 28)
) -> np.ndarray:
    """The decoder's image for one latent point ``z = (z1, z2)``, shape ``image_shape``."""
    point = _checks.finite_array("z", z, ndim=1)
    if point.shape != (2,):
        raise ValueError(f"z must be a point (z1, z2), got shape {point.shape}")
    output = np.asarray(_decoder_function(decoder)(point[None].astype(np.float32)))
    size = int(np.prod(image_shape))
    if output.size != size:
        raise ValueError(
            f"image_shape {tuple(image_shape)} holds {size} values, but the decoder returned "
            f"{output.size}"
        )
    return output.reshape(tuple(image_shape))


def decode_grid(
    decoder: Any, extent: Extent, *, steps: int = 12, image_shape: Sequence[int] = (28, 28)
) -> np.ndarray:
    """Decode a ``steps`` x ``steps`` grid of latent points into one tiled image.

    Row 0 of the tiled image is the top of the box (largest z2), as in a scatter plot.
    """
    steps = _checks.positive_int("steps", steps)
    box = _checks.finite_array("extent", extent, ndim=1)
    if box.shape != (4,) or not (box[0] < box[1] and box[2] < box[3]):
        raise ValueError(
            f"extent must be (x0, x1, y0, y1) with x0 < x1 and y0 < y1, got {extent!r}"
        )
    x0, x1, y0, y1 = (float(v) for v in box)
    height, width = (int(v) for v in image_shape)
    z1, z2 = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y1, y0, steps))
    points = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
    images = np.asarray(_decoder_function(decoder)(points)).reshape(steps, steps, height, width)
    return images.transpose(0, 2, 1, 3).reshape(steps * height, steps * width)


def draw_latent_point(
    image: np.ndarray,
    z: Sequence[float],
    codes: Any,
    labels: Any,
    *,
    extent: Extent | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """Left: the codes of real images, coloured by class, and the point ``z``; right: its image.

    ``labels`` are class numbers 0-9; ``class_names`` (one per class) label the colour bar.
    """
    points = _latent_codes(codes)
    labels = np.asarray(labels)
    _checks.same_length("codes", points, "labels", labels)
    if class_names is not None and len(class_names) != 10:
        raise ValueError(f"class_names must name the 10 classes, got {len(class_names)}")
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(8.2, 3.9), gridspec_kw={"width_ratios": [1.35, 1]}
    )
    scatter = left.scatter(*points.T, c=labels, cmap="tab10", s=4, alpha=0.6, vmin=-0.5, vmax=9.5)
    left.plot(*z, marker="X", color="k", markersize=13, markeredgecolor="white")
    if extent is not None:
        left.set_xlim(extent[0], extent[1])
        left.set_ylim(extent[2], extent[3])
    left.set_xlabel("$z_1$")
    left.set_ylabel("$z_2$")
    left.set_title("latent codes of test images", fontsize=10)
    bar = fig.colorbar(scatter, ax=left, ticks=range(10), fraction=0.05, label="class")
    if class_names is not None:
        bar.ax.set_yticklabels(class_names, fontsize=7)
    right.imshow(image, cmap="gray", vmin=0, vmax=1)
    right.set_title(f"decoder(({z[0]:.2f}, {z[1]:.2f}))", fontsize=10)
    right.axis("off")
    fig.tight_layout()
    return fig


def latent_explorer(
    decoder: Any,
    codes: Any,
    labels: Any,
    z: Sequence[float] | None = None,
    *,
    image_shape: Sequence[int] = (28, 28),
    class_names: Sequence[str] | None = None,
) -> Explorer:
    """Two sliders move a point through the latent plane; the decoder draws what it sees there.

    ``codes`` (N, 2) and ``labels`` are the encoded test images shown for orientation; the
    sliders span :func:`latent_extent` of the codes and start at ``z`` (default: its centre),
    which must lie inside that box. ``class_names`` label the classes 0-9 in the legend.
    """
    decode = _decoder_function(decoder)
    points = _latent_codes(codes)
    extent = latent_extent(points)
    if z is None:
        z = ((extent[0] + extent[1]) / 2, (extent[2] + extent[3]) / 2)
    start = _checks.finite_array("z", z, ndim=1)
    if start.shape != (2,):
        raise ValueError(f"z must be a point (z1, z2), got shape {start.shape}")
    for axis in (0, 1):
        # A slider clamps a value outside its range silently; refuse it instead.
        low, high = extent[2 * axis], extent[2 * axis + 1]
        _checks.in_range(f"z[{axis}]", float(start[axis]), low, high, closed="[]")

    def slider(axis: int, description: str) -> widgets.FloatSlider:
        low, high = extent[2 * axis], extent[2 * axis + 1]
        return widgets.FloatSlider(
            value=float(start[axis]),
            min=low,
            max=high,
            step=(high - low) / 200,
            description=description,
            continuous_update=True,
            readout_format=".2f",
        )

    controls = {"z1": slider(0, "z1"), "z2": slider(1, "z2")}

    def render(z1: float, z2: float) -> Figure:
        image = decode_point(decode, (z1, z2), image_shape)
        return draw_latent_point(
            image, (z1, z2), points, labels, extent=extent, class_names=class_names
        )

    return Explorer(render, controls, title="Walk through the latent space")
