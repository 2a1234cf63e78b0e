"""Negation in sentiment classification: finding it, marking its scope, and measuring it.

A bag of words gives *not* one weight, so "not good" and "not bad" both move by the same
amount. Two classic fixes change the features instead of the model: word pairs (bigrams),
and negation-scope marking (Das & Chen, 2001; Pang et al., 2002), which writes every word
between a negation word and the next punctuation mark as ``not_<word>``. This module holds
that marking as a ``TextVectorization`` standardisation, the test for which sentences
contain a negation, and minimal-pair probes ("The food was good." / "The food was not
good."). Paired differences between two models are ``metrics.paired_difference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks

NEGATIONS = frozenset(
    "not no never nothing nobody none neither nor nowhere without cannot "
    "dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt "
    "hasnt havent hadnt aint".split()
)
"""Negation words as ``TextVectorization`` sees them: lower case, apostrophes stripped."""

# Keras' default "lower_and_strip_punctuation" removes exactly these characters.
_PUNCTUATION = r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']"
_NEGATION_WORD = "|".join(sorted(NEGATIONS, key=len, reverse=True))
# A negation word, or a word already marked, then the next word of the scope. The scope
# ends at punctuation because the next word must follow whitespace only. The texts are lower
# case and the marks upper case, so a word already marked never counts as a word to mark.
_WORD = r"[^\s[:punct:]A-Z]+"  # no space, no punctuation, no upper case (the marks)
_SCOPE_STEP = rf"\b((?:{_NEGATION_WORD})|NOT{_WORD})(\s+)({_WORD})"
_MARK_NEXT = r"\1\2NOT\3"
_MARKED_PREFIX = "not_"


def _tokens(text: str) -> list[str]:
    return re.sub(_PUNCTUATION, "", text.lower()).split()


def has_negation(texts: Any) -> np.ndarray:
    """Whether each text contains a word of :data:`NEGATIONS` (after Keras' standardisation).

    Args:
        texts: a string or a sequence of strings.

    Returns:
        A bool array, one entry per text.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a string or a sequence of strings")
    return np.array([not NEGATIONS.isdisjoint(_tokens(t)) for t in texts], dtype=bool)


@keras.saving.register_keras_serializable(package="mapping_lib")
def mark_negation_scope(texts: tf.Tensor) -> tf.Tensor:
    """Standardise like Keras, but prefix ``not_`` to each word after a negation word, up to
    the next punctuation mark: "Not bad, really" becomes "not not_bad really".

    Pass it as ``TextVectorization(standardize=mark_negation_scope)``. Works on string
    tensors of any shape, inside ``tf.data`` and compiled functions.
    """
    texts = tf.strings.lower(tf.convert_to_tensor(texts, tf.string))
    texts = tf.strings.regex_replace(texts, "'", "")  # "didn't" -> "didnt", as Keras does
    # Each pass extends every scope by one word; stop when a pass changes nothing.
    marked = tf.strings.regex_replace(texts, _SCOPE_STEP, _MARK_NEXT)
    _, marked = tf.while_loop(
        lambda before, after: tf.reduce_any(tf.not_equal(before, after)),
        lambda _, after: (after, tf.strings.regex_replace(after, _SCOPE_STEP, _MARK_NEXT)),
        (texts, marked),
    )
    # Only now the underscore, which the punctuation strip would have removed.
    marked = tf.strings.regex_replace(marked, _PUNCTUATION, "")
    return tf.strings.regex_replace(marked, "NOT", _MARKED_PREFIX)


@dataclass(frozen=True)
class ProbePairs:
    """Minimal pairs: ``plain[i]`` and ``negated[i]`` differ by one inserted "not";
    ``direction[i]`` is -1 where negation should lower P(positive) (a positive adjective)
    and +1 where it should raise it (a negative adjective)."""

    plain: tuple[str, ...]
    negated: tuple[str, ...]
    direction: np.ndarray


def probe_pairs(
    nouns: Any, positive: Any, negative: Any, template: str = "The {noun} was {adj}."
) -> ProbePairs:
    """Every noun with every adjective, once plain and once with "not " before the adjective.

    Args:
        nouns: words for ``{noun}``.
        positive, negative: adjectives of either polarity for ``{adj}``.
        template: a sentence with the fields ``{noun}`` and ``{adj}``.
    """
    if "{noun}" not in template or "{adj}" not in template:
        raise ValueError(f"template must contain {{noun}} and {{adj}}, got {template!r}")
    words = {"nouns": list(nouns), "positive": list(positive), "negative": list(negative)}
    for name, values in words.items():
        if not values or not all(isinstance(w, str) and w.strip() for w in values):
            raise ValueError(f"{name} must be a non-empty sequence of non-empty strings")
    plain, negated, direction = [], [], []
    for sign, adjectives in ((-1, words["positive"]), (1, words["negative"])):
        for noun in words["nouns"]:
            for adj in adjectives:
                plain.append(template.format(noun=noun, adj=adj))
                negated.append(template.format(noun=noun, adj=f"not {adj}"))
                direction.append(sign)
    return ProbePairs(tuple(plain), tuple(negated), np.array(direction))


def flip_rate(plain: Any, negated: Any, direction: Any) -> float:
    """The share of pairs where inserting "not" moves the score in ``direction``.

    Args:
        plain, negated: scores (logits or probabilities) of the plain and negated sentences.
        direction: -1 or +1 per pair, as in :class:`ProbePairs`; no change counts as wrong.
    """
    plain = _checks.finite_array("plain", plain, ndim=1)
    negated = _checks.finite_array("negated", negated, ndim=1)
    direction = _checks.finite_array("direction", direction, ndim=1)
    _checks.same_length("plain", plain, "negated", negated)
    _checks.same_length("plain", plain, "direction", direction)
    if not len(plain):
        raise ValueError("plain must hold at least one score")
    if not np.isin(direction, (-1, 1)).all():
        raise ValueError("direction must hold only -1 and +1")
    return float(np.mean(np.sign(negated - plain) == direction))
