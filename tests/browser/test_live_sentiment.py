"""The static sentiment explorer in Chromium: Vega tokenises and scores a sentence exactly as
the Keras bag-of-words model does, and its bars equal the occlusion contributions."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from harness import PageLog
from playwright.sync_api import Page
from static_harness import dataset_rows, page_of_views, set_signal

from mapping_lib import layers
from mapping_lib.static.sentiment import sentiment_view
from mapping_lib.widgets.applications import sentence_scorer, word_contributions

TEXTS = [
    "The food was good.",
    "Bad, bad food!",
    "Not bad at all",
    "GREAT place; great staff.",
    "awful service, don't go",
    "I loved it",
    "une bonne école",
]
LABELS = [1, 0, 1, 1, 0, 1, 1]
SENTENCES = [
    "The food was not bad at all.",
    "GREAT!!! Great... great",  # capitals, punctuation, one token three times
    "zebra quokka good",  # two unknown words share the [UNK] entry
    "zebra food",  # one unknown word
    "  don't\tgo   ",  # apostrophe stripped, tab and runs of spaces
    "... good",  # a word that standardises to nothing
    "ÉCOLE école",  # tf.strings.lower lowers A-Z only: "École" is not "école"
    "constructor toString hasOwnProperty good",  # unknown words named like JavaScript members
    "",
]
FIELDS = {"i", "word", "token", "contribution", "logit", "probability"}


def _model(mode: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    vectorizer = keras.layers.TextVectorization(max_tokens=30, output_mode=mode)
    vectorizer.adapt(TEXTS)
    classifier = keras.Sequential([keras.Input((vectorizer.vocabulary_size(),)), layers.Dense(1)])
    classifier.compile(
        optimizer=keras.optimizers.Adam(0.1),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    x = vectorizer(TEXTS).numpy().astype("float32")
    classifier.fit(x, np.array(LABELS, "float32")[:, None], epochs=5, verbose=0)
    return keras.Sequential([keras.Input(shape=(), dtype="string"), vectorizer, classifier])


@pytest.fixture(scope="module")
def models() -> dict[str, keras.Model]:
    return {mode: _model(mode) for mode in ("multi_hot", "count")}


@pytest.fixture
def sentiment_page(page: Page, page_log: PageLog, tmp_path: Path, models: dict) -> Page:
    page_of_views(page, tmp_path, [sentiment_view(models[mode]) for mode in models])
    yield page
    assert not page_log.problems(), page_log.problems()


def _browser(page: Page, index: int, sentence: str) -> tuple[float, list[dict]]:
    set_signal(page, index, "sentence", sentence)
    rows = sorted(dataset_rows(page, index, FIELDS), key=lambda row: row["i"])
    assert rows[0]["i"] == 0  # the sentinel row is there even for an empty sentence
    return rows[0]["logit"], rows[1:]


@pytest.mark.parametrize("index", [0, 1], ids=["multi_hot", "count"])
def test_browser_score_and_bars_equal_the_keras_model(
    sentiment_page: Page, models: dict, index: int
) -> None:
    model = list(models.values())[index]
    score = sentence_scorer(model)
    for sentence in SENTENCES:
        logit, words = _browser(sentiment_page, index, sentence)
        assert logit == pytest.approx(float(score([sentence])[0]), abs=1e-5), sentence
        assert [row["word"] for row in words] == sentence.split(), sentence
        if sentence.split():
            python = word_contributions(sentence, score)
            browser = [row["contribution"] for row in words]
            np.testing.assert_allclose(browser, python.contributions, atol=1e-5, err_msg=sentence)
            probability = words[0]["probability"]
            assert probability == pytest.approx(python.probability, abs=1e-6)


def test_only_ascii_capitals_are_lowered_as_tensorflow_does(
    sentiment_page: Page, models: dict
) -> None:
    # JavaScript's lower() would turn "É" into "é" as well.
    _, words = _browser(sentiment_page, 0, "GOOD École ÉCOLE école")
    assert [row["token"] for row in words] == ["good", "École", "École", "école"]
