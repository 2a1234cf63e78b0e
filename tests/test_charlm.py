"""mapping_lib.charlm: vocabulary, encoding, perplexity, n-gram baselines and sampling."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import charlm, train

TEXTS = ["abba", "abab", "baba", "aab"]


def test_vocabulary_orders_characters_by_frequency_and_maps_the_rest_to_unknown():
    vocabulary = charlm.CharVocabulary.from_texts(["aab", "c"])
    assert vocabulary.chars == ("a", "b", "c") and vocabulary.size == 7
    assert vocabulary.ids("abz") == [4, 5, charlm.UNKNOWN]
    assert vocabulary.text([charlm.START, 4, 6, charlm.END, charlm.PAD]) == "ac"


def test_encoding_shifts_targets_by_one_and_counts_what_it_cuts():
    vocabulary = charlm.CharVocabulary.from_texts(TEXTS)
    a, b = vocabulary.ids("ab")
    data = charlm.encode(["ab", "abab"], vocabulary, max_length=4)
    assert data.inputs.tolist() == [[charlm.START, a, b, 0], [charlm.START, a, b, a]]
    assert data.targets.tolist() == [[a, b, charlm.END, 0], [a, b, a, b]]
    assert data.truncated == 1  # "abab" lost its end token
    assert data.characters == 7


def test_ngram_perplexity_by_hand():
    vocabulary = charlm.CharVocabulary.from_texts(["ab"])
    data = charlm.encode(["ab"], vocabulary, max_length=3)
    size = vocabulary.size  # 6 ids; targets a, b, <end>
    # unigram, add-one: every target seen once -> (1 + 1) / (3 + 6) each
    assert charlm.ngram_perplexity(data, data, 1, size) == pytest.approx(9 / 2)
    # bigram: each previous id was followed by its target once -> (1 + 1) / (1 + 6)
    assert charlm.ngram_perplexity(data, data, 2, size) == pytest.approx(7 / 2)
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        charlm.ngram_perplexity(data, data, 3, size)


def test_an_untrained_model_is_about_as_unsure_as_the_alphabet_and_training_lowers_it():
    keras.utils.set_random_seed(0)
    texts = ["abcabcabc", "bcabcabca", "cabcabcab"] * 20
    vocabulary = charlm.CharVocabulary.from_texts(texts)
    data = charlm.encode(texts, vocabulary, max_length=12)
    model = charlm.char_language_model(vocabulary.size, embedding_dim=8, units=16)
    before = charlm.perplexity(model, data)
    assert before == pytest.approx(vocabulary.size, rel=0.1)
    train.fit(model, data.inputs, data.targets, loss=charlm.next_char_loss(),
              optimizer=keras.optimizers.Adam(0.03), epochs=15, batch_size=20, progress=False)
    after = charlm.perplexity(model, data)
    # the cycle a -> b -> c -> a is deterministic once the first character is known
    assert after < 1.6 < charlm.ngram_perplexity(data, data, 1, vocabulary.size)
    sample = charlm.generate(model, vocabulary, length=9, temperature=0.2, seed=0, prefix="a")
    assert sample.startswith("abc")


def test_perplexity_equals_the_exponent_of_the_masked_cross_entropy():
    keras.utils.set_random_seed(1)
    vocabulary = charlm.CharVocabulary.from_texts(TEXTS)
    data = charlm.encode(TEXTS, vocabulary, max_length=6)
    model = charlm.char_language_model(vocabulary.size, embedding_dim=4, units=8)
    loss = charlm.next_char_loss()(data.targets, model(data.inputs))
    assert charlm.perplexity(model, data) == pytest.approx(math.exp(float(loss)), rel=1e-5)


def test_generation_is_seeded_and_stops_at_its_length():
    keras.utils.set_random_seed(2)
    vocabulary = charlm.CharVocabulary.from_texts(TEXTS)
    model = charlm.char_language_model(vocabulary.size, embedding_dim=4, units=8)
    first = charlm.generate(model, vocabulary, length=30, seed=5)
    assert first == charlm.generate(model, vocabulary, length=30, seed=5)
    assert len(first) <= 30 and set(first) <= set("ab")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda v: charlm.encode([], v, 5), ValueError, "texts must hold at least one"),
        (lambda v: charlm.encode([3], v, 5), TypeError, "texts must be strings"),
        (lambda v: charlm.encode(["ab"], v, 1), ValueError, "max_length must be at least 2"),
        (lambda v: charlm.char_language_model(0), ValueError, "vocabulary_size must be a pos"),
        (lambda v: charlm.generate(None, v, temperature=0), ValueError, "temperature must be"),
    ],
)
def test_bad_input_is_named(call, error, message):
    vocabulary = charlm.CharVocabulary.from_texts(TEXTS)
    with pytest.raises(error, match=message):
        call(vocabulary)


def test_the_step_gives_the_whole_model_s_logits_position_by_position() -> None:
    keras.utils.set_random_seed(0)
    model = charlm.char_language_model(20, units=16)
    text = np.random.default_rng(0).integers(3, 20, size=(1, 12)).astype("int32")
    whole = np.asarray(model(text, training=False))[0]
    step, state = charlm.next_char_step(model), tf.zeros((1, 16))
    for position in range(text.shape[1]):
        logits, state = step(tf.constant(text[0, position : position + 1]), state)
        np.testing.assert_allclose(np.asarray(logits), whole[position], atol=1e-5)


def test_the_step_refuses_a_model_without_one_gru() -> None:
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(5, 2)])
    with pytest.raises(ValueError, match="exactly one GRU"):
        charlm.next_char_step(model)
