"""The static sentiment explorer: the closed form it reads from a bag-of-words model, its spec
and its refusals."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from mapping_lib import layers
from mapping_lib.static.sentiment import bag_of_words, sentiment_view

TEXTS = ["good food", "bad food", "not bad at all", "great, GREAT place!"]


def _vectorizer(**kwargs) -> keras.layers.TextVectorization:
    vectorizer = keras.layers.TextVectorization(**{"output_mode": "multi_hot", **kwargs})
    vectorizer.adapt(TEXTS)
    return vectorizer


def _string_model(vectorizer: keras.layers.Layer, *head: keras.layers.Layer) -> keras.Model:
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((vectorizer.vocabulary_size(),)), *head])
    return keras.Sequential([keras.Input(shape=(), dtype="string"), vectorizer, classifier])


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return _string_model(_vectorizer(), layers.Dense(1))


def _datasets(spec: dict, field: str) -> list[list[dict]]:
    return [rows for rows in spec.get("datasets", {}).values() if rows and field in rows[0]]


@pytest.mark.parametrize("dense", [layers.Dense, keras.layers.Dense])
def test_the_closed_form_reproduces_the_model(dense: type) -> None:
    vectorizer = _vectorizer()
    string_model = _string_model(vectorizer, dense(1))
    bow = bag_of_words(string_model)
    sentences = ["good good food", "zebra not bad", ""]
    counts = vectorizer(sentences).numpy()
    logits = counts @ np.r_[bow.oov_weight, bow.weights] + bow.bias
    expected = string_model(np.array(sentences)).numpy().ravel()
    np.testing.assert_allclose(logits, expected, atol=1e-6)
    assert bow.tokens == tuple(vectorizer.get_vocabulary()[1:])
    assert (bow.mode, bow.standardize) == ("multi_hot", "lower_and_strip_punctuation")


def test_the_view_carries_the_weights_and_the_text_box(model: keras.Model) -> None:
    bow = bag_of_words(model)
    spec = sentiment_view(model, "good food", max_words=20).to_dict()
    params = {param["name"]: param for param in spec["params"]}
    assert params["sentence"]["value"] == "good food"
    assert params["sentence"]["bind"]["input"] == "text"
    assert spec["data"]["sequence"]["stop"] == 21  # row 0 for the score, then one per word
    [table] = _datasets(spec, "token")
    assert [row["token"] for row in table] == list(bow.tokens)
    np.testing.assert_array_equal([row["weight"] for row in table], bow.weights)
    assert len(json.dumps(spec)) < 1_500_000


def test_the_count_mode_is_accepted() -> None:
    bow = bag_of_words(_string_model(_vectorizer(output_mode="count"), layers.Dense(1)))
    assert bow.mode == "count"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _string_model(_vectorizer(output_mode="tf_idf"), layers.Dense(1)), "output_mode"),
        (lambda: _string_model(_vectorizer(ngrams=2), layers.Dense(1)), "ngrams"),
        (lambda: _string_model(_vectorizer(split="character"), layers.Dense(1)), "split"),
        (lambda: _string_model(_vectorizer(), layers.Dense(2)), "linear Dense\\(1\\)"),
        (lambda: _string_model(_vectorizer(), layers.Dense(1, "sigmoid")), "linear Dense"),
        (
            lambda: _string_model(_vectorizer(), layers.Dense(4, "relu"), layers.Dense(1)),
            "got layers",
        ),
    ],
)
def test_models_without_the_closed_form_are_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sentiment_view(build())


def test_bad_arguments_are_refused_by_name(model: keras.Model) -> None:
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        sentiment_view(lambda sentences: np.zeros(len(sentences)))
    with pytest.raises(TypeError, match="sentence must be a str"):
        sentiment_view(model, sentence=3)
    with pytest.raises(ValueError, match="max_words must be a positive int"):
        sentiment_view(model, max_words=0)
