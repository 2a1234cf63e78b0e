"""Finding negations, marking their scope, and minimal-pair probes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import negation as ng


def _marked(texts: list[str]) -> list[str]:
    return [t.decode() for t in ng.mark_negation_scope(tf.constant(texts)).numpy()]


def test_has_negation_sees_words_as_text_vectorization_does() -> None:
    texts = [
        "I didn't like it.",  # apostrophe stripped: "didnt"
        "NOT good!",
        "Never again",
        "(no) way",
        "Nothing works, sadly",
        "A knot in the notebook; nobody's fault",  # "nobodys" is no negation word
        "Good, fine, cannot complain",
        "Another great note.",
    ]
    np.testing.assert_array_equal(
        ng.has_negation(texts), [True, True, True, True, True, False, True, False]
    )
    assert ng.has_negation("wasn't") == np.array([True])


def test_has_negation_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="texts must be a string or a sequence of strings"):
        ng.has_negation(["fine", 3])


def test_scope_runs_from_the_negation_word_to_the_next_punctuation() -> None:
    assert _marked(
        [
            "The food was not bad at all.",
            "Not bad, really good!",
            "I didn't like it. Great food though",
            "Never",
            "no  two-word",
            "Works fine",
        ]
    ) == [
        "the food was not not_bad not_at not_all",
        "not not_bad really good",
        "i didnt not_like not_it great food though",
        "never",
        "no  not_twoword",  # the hyphen goes after marking, with the rest of the punctuation
        "works fine",
    ]


def test_scope_marking_without_negation_matches_keras_standardisation() -> None:
    texts = ["It's GREAT: 10/10, a_b (really)", "Hello   world!", "Ünïcode café", ""]
    marking = keras.layers.TextVectorization(standardize=ng.mark_negation_scope)
    default = keras.layers.TextVectorization()
    for layer in (marking, default):
        layer.adapt(texts)
    assert marking.get_vocabulary() == default.get_vocabulary()
    np.testing.assert_array_equal(marking(texts), default(texts))


def test_scope_marking_builds_a_vocabulary_inside_text_vectorization() -> None:
    vectorize = keras.layers.TextVectorization(standardize=ng.mark_negation_scope)
    vectorize.adapt(["not good", "good"])
    assert set(vectorize.get_vocabulary()) == {"", "[UNK]", "good", "not", "not_good"}
    ids = vectorize(tf.constant(["good, not good"])).numpy()[0]
    vocabulary = vectorize.get_vocabulary()
    assert [vocabulary[i] for i in ids] == ["good", "not", "not_good"]


def test_probe_pairs_insert_not_before_every_adjective() -> None:
    pairs = ng.probe_pairs(["food", "phone"], ["good"], ["bad", "awful"])
    assert len(pairs.plain) == len(pairs.negated) == 6
    assert pairs.plain[0] == "The food was good." and pairs.negated[0] == "The food was not good."
    assert pairs.negated[-1] == "The phone was not awful."
    np.testing.assert_array_equal(pairs.direction, [-1, -1, 1, 1, 1, 1])
    custom = ng.probe_pairs(["it"], ["fun"], ["dull"], template="{noun} is {adj}")
    assert custom.negated == ("it is not fun", "it is not dull")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"template": "The {noun} was fine."}, "template must contain"),
        ({"nouns": []}, "nouns must be a non-empty sequence"),
        ({"negative": ["bad", " "]}, "negative must be a non-empty sequence"),
    ],
)
def test_probe_pairs_errors(kwargs: dict, match: str) -> None:
    arguments = {"nouns": ["food"], "positive": ["good"], "negative": ["bad"], **kwargs}
    with pytest.raises(ValueError, match=match):
        ng.probe_pairs(**arguments)


def test_flip_rate_counts_moves_in_the_right_direction() -> None:
    direction = np.array([-1, -1, 1, 1])
    # A bag of words adds the same negative weight for "not" to every sentence:
    plain = np.array([2.0, 1.0, -2.0, -1.0])
    assert ng.flip_rate(plain, plain - 0.5, direction) == 0.5
    assert ng.flip_rate(plain, np.array([0.0, 0.0, 0.0, -1.0]), direction) == 0.75  # a tie
    with pytest.raises(ValueError, match="direction must hold only -1 and \\+1"):
        ng.flip_rate(plain, plain, [0, 1, 1, 1])
    with pytest.raises(ValueError, match="plain and negated must have the same number"):
        ng.flip_rate(plain, plain[:3], direction)
    with pytest.raises(ValueError, match="plain must hold at least one score"):
        ng.flip_rate([], [], [])
