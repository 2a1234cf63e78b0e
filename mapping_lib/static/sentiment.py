"""The sentiment explorer in the static book, for the bag-of-words model: type a sentence, see
P(positive) and each word's contribution to the log-odds.

A bag-of-words model (a ``TextVectorization`` in ``multi_hot`` or ``count`` mode followed by
one linear ``Dense(1)``) has a closed form: ``logit = b + sum of w[token]`` over the sentence's
distinct tokens (``multi_hot``) or over all of them (``count``), every unknown token counting
as the ``[UNK]`` entry. The view carries the weights as a table; the browser tokenises the
sentence exactly as the layer does (ASCII lower case, Keras' punctuation regexp, split on
ASCII whitespace) and adds up. Each bar is what
:func:`mapping_lib.widgets.applications.word_contributions` measures by occlusion, also in
closed form: a word's weight when its token occurs once in the sentence (``multi_hot``: else
0, as dropping one copy leaves the token present), and always its weight (``count``).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

import altair as alt
import keras
import numpy as np

from mapping_lib import _checks
from mapping_lib import activations as _activations
from mapping_lib.plot import CLASS_COLORS
from mapping_lib.static.views import StaticView, records, text_box
from mapping_lib.widgets.applications import MAX_WORDS

MODES = ("multi_hot", "count")
"""The ``TextVectorization`` output modes whose model the view can write in closed form."""

STANDARDIZE = (None, "lower", "strip_punctuation", "lower_and_strip_punctuation")
"""The built-in standardisations the browser reproduces."""

STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
"""Keras' punctuation class (``TextVectorization``, Keras 3); RE2 and JavaScript read it alike."""

WHITESPACE_REGEX = "[ \\t\\n\\v\\f\\r]+"
"""What ``tf.strings.split`` splits on: runs of ASCII whitespace only (not e.g. U+00A0)."""

_OOV = "[UNK]"


@dataclass(frozen=True)
class BagOfWords:
    """The closed form of a bag-of-words model: one weight per vocabulary token.

    ``tokens`` and ``weights`` exclude the out-of-vocabulary entry, whose weight is
    ``oov_weight``; ``mode`` is ``"multi_hot"`` or ``"count"``.
    """

    tokens: tuple[str, ...]
    weights: np.ndarray
    oov_weight: float
    bias: float
    mode: str
    standardize: str | None


def _leaves(model: keras.Model) -> list[keras.layers.Layer]:
    # A string model is often Sequential([vectorizer, Sequential([..., Dense(1)])]).
    found: list[keras.layers.Layer] = []
    for layer in model.layers:
        found += _leaves(layer) if isinstance(layer, keras.Model) else [layer]
    return found


def _is_linear(dense: keras.layers.Layer) -> bool:
    activation = getattr(dense, "activation", None)
    return activation is keras.activations.linear or activation is _activations.linear


def bag_of_words(model: keras.Model) -> BagOfWords:
    """Read the vocabulary, weights and bias of a string-to-logit bag-of-words ``model``.

    Args:
        model: ``keras.Sequential([keras.Input(shape=(), dtype="string"), vectorizer,
            classifier])`` where the vectorizer is a ``TextVectorization`` (``multi_hot`` or
            ``count``, a built-in standardisation, whitespace split, no n-grams) and the
            classifier one linear ``Dense(1)`` (possibly inside a nested Sequential).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    leaves = _leaves(model)
    kinds = [type(layer).__name__ for layer in leaves]
    expected = (
        "model must be a TextVectorization followed by one linear Dense(1) layer "
        "(a bag-of-words model)"
    )
    if len(leaves) != 2 or not isinstance(leaves[0], keras.layers.TextVectorization):
        raise ValueError(f"{expected}, got layers {kinds}")
    vectorizer, dense = leaves
    kernel = getattr(dense, "kernel", None)
    if kernel is None or tuple(kernel.shape)[1:] != (1,) or not _is_linear(dense):
        raise ValueError(
            f"{expected}, got {kinds[1]} {dense.name!r} of another shape or activation"
        )
    config = vectorizer.get_config()
    _checks.one_of("the vectorizer's output_mode", config["output_mode"], MODES)
    _checks.one_of("the vectorizer's standardize", config["standardize"], STANDARDIZE)
    _checks.one_of("the vectorizer's split", config["split"], ("whitespace",))
    _checks.one_of("the vectorizer's ngrams", config["ngrams"], (None,))
    vocabulary = [str(token) for token in vectorizer.get_vocabulary()]
    weights = np.asarray(kernel, dtype=np.float64)[:, 0]
    if vocabulary[0] != _OOV or len(weights) != len(vocabulary):
        raise ValueError(
            f"{expected}: the Dense layer needs one weight per vocabulary entry "
            f"({len(vocabulary)}, [UNK] first), got {len(weights)}"
        )
    bias = float(np.asarray(dense.bias)[0]) if dense.bias is not None else 0.0
    return BagOfWords(
        tuple(vocabulary[1:]), weights[1:], float(weights[0]), bias,
        config["output_mode"], config["standardize"],
    )  # fmt: skip


def _standardized(expression: str, standardize: str | None) -> str:
    """A Vega expression applying the layer's standardisation to the string ``expression``."""
    if standardize in ("lower", "lower_and_strip_punctuation"):
        # tf.strings.lower changes A-Z only ("É" stays); JavaScript's lower() would change more.
        for letter in string.ascii_uppercase:
            expression = f"replace({expression}, regexp('{letter}', 'g'), '{letter.lower()}')"
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        expression = f"replace({expression}, regexp({json.dumps(STRIP_REGEX)}, 'g'), '')"
    return expression


def _verdict(max_words: int) -> str:
    return (
        f"datum.n > {max_words} ? 'at most {max_words} words, please' : "
        "'P(positive) = ' + format(datum.probability, '.3f') + '  →  ' + "
        "(datum.logit >= 0 ? 'positive' : 'negative')"
    )


def sentiment_view(
    model: keras.Model,
    sentence: str = "The food was not bad at all.",
    *,
    max_words: int = MAX_WORDS,
) -> StaticView:
    """The static sentiment explorer for a bag-of-words ``model``.

    Args:
        model: a string-to-logit bag-of-words model, as :func:`bag_of_words` describes.
        sentence: the sentence in the text box at first.
        max_words: the longest sentence scored (the view draws one bar per word).
    """
    bow = bag_of_words(model)
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    max_words = _checks.positive_int("max_words", max_words)
    table = alt.InlineData(values=records({"token": list(bow.tokens), "weight": bow.weights}))
    whitespace = f"regexp({json.dumps(WHITESPACE_REGEX)})"
    ends = f"regexp({json.dumps(f'^{WHITESPACE_REGEX}|{WHITESPACE_REGEX}$')}, 'g')"
    # Row 0 holds no word, so it exists even for an empty box and carries the sentence's
    # score; rows 1..n are the words as typed.
    trimmed = f"replace(sentence, {ends}, '')"
    once = bow.mode == "multi_hot"
    chart = (
        alt.vconcat(
            alt.Chart()
            .transform_filter("datum.i == 0")
            .mark_text(align="left", fontSize=14, fontWeight="bold")
            .encode(text="verdict:N", x=alt.value(0))
            .properties(width=480, height=20),
            alt.hconcat(
                _words_column(),
                _bars(),
                spacing=4,
            ),
            data=alt.sequence(0, max_words + 1, as_="i"),
        )
        .transform_calculate(words=f"split({trimmed}, {whitespace})")
        .transform_calculate(
            n=f"{trimmed} == '' ? 0 : length(datum.words)",
            word="datum.i == 0 ? '' : datum.words[datum.i - 1]",
        )
        .transform_filter(f"datum.i <= min(datum.n, {max_words})")
        .transform_calculate(token=_standardized("datum.word", bow.standardize))
        .transform_lookup(
            lookup="token", from_=alt.LookupData(data=table, key="token", fields=["weight"])
        )
        .transform_calculate(
            kind=f"datum.token == '' ? 'none' : isValid(datum.weight) ? 'word' : '{_OOV}'",
        )
        .transform_calculate(
            key=f"datum.kind == '{_OOV}' ? '{_OOV}' : datum.token",
            w=f"datum.kind == 'none' ? 0 : datum.kind == 'word' ? datum.weight : {bow.oov_weight}",
        )
        .transform_joinaggregate(uses="count()", groupby=["key"])
        .transform_calculate(
            # multi_hot: a token counts once however often it occurs, so its copies share it.
            term="datum.w / datum.uses" if once else "datum.w",
            contribution="datum.uses == 1 ? datum.w : 0" if once else "datum.w",
        )
        .transform_joinaggregate(total="sum(term)")
        .transform_calculate(logit=f"{bow.bias} + datum.total")
        .transform_calculate(probability="1 / (1 + exp(-datum.logit))")
        .transform_calculate(verdict=_verdict(max_words))
        .add_params(text_box("sentence", sentence, "sentence ", placeholder="type a sentence"))
        .properties(title="Sentiment of a sentence, word by word (bag of words)")
        .configure_view(stroke=None)  # no frames around the score line and the word column
    )
    return StaticView(
        chart, f"sentiment explorer: P(positive) and word weights of a {bow.mode} bag of words"
    )


def _words_column() -> alt.Chart:
    return (
        alt.Chart()
        .transform_filter("datum.i > 0")
        .mark_text(align="right", baseline="middle")
        .encode(y=alt.Y("i:O", axis=None), text="word:N", x=alt.value(96))
        .properties(width=100, height=alt.Step(20))
    )


def _bars() -> alt.Chart:
    base = alt.Chart().transform_filter("datum.i > 0")
    bars = base.mark_bar().encode(
        y=alt.Y("i:O", axis=None),
        x=alt.X("contribution:Q", title="log-odds of positive: with the word − without it"),
        color=alt.condition(
            "datum.contribution >= 0", alt.value(CLASS_COLORS[1]), alt.value(CLASS_COLORS[0])
        ),
        tooltip=["word:N", "token:N", alt.Tooltip("contribution:Q", format="+.3f")],
    )
    zero = alt.Chart(alt.Data(values=[{}])).mark_rule(color="#4d4d4d").encode(x=alt.datum(0))
    return alt.layer(bars, zero).properties(width=380, height=alt.Step(20))
