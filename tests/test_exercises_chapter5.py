"""Chapter 5's exercises: model solutions pass, typical mistakes fail with a useful message that
does not give the answer away, malformed answers raise, None and think exercises are not judged."""

import math

import numpy as np
import pytest

import mapping_lib.exercises.chapter5 as ch5
from mapping_lib.exercises.registry import EXERCISES, check

Q = np.array([1.0, 2.0, 0.0, 1.0])
K = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [2.0, 1.0, 0.0, 0.0]])


def softmax_weight(scale):
    logits = K @ Q / scale
    return float(np.exp(logits[2]) / np.exp(logits).sum())


def causal_attention(q, k, v):
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    length = q.shape[-2]
    logits = np.where(np.tril(np.ones((length, length), bool)), logits, -np.inf)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def count_vector(ids, vocab_size):
    counts = np.zeros((len(ids), vocab_size))
    for row, sentence in enumerate(ids):
        for token in sentence:
            if token:
                counts[row, token] += 1
    return counts


SOLUTIONS = {
    "5.1": 1 + (24_000 - 400) // 160,
    "5.2": softmax_weight(2.0),
    "5.3": (600 + 300) * (3 + 1),
    "5.4": causal_attention,
    "5.5": count_vector,
}


def test_chapter_5_has_seven_exercises_of_all_kinds():
    ids = [key for key in EXERCISES if key.startswith("5.")]
    assert ids == [f"5.{k}" for k in range(1, 8)]
    kinds = [EXERCISES[key].kind for key in ids]
    assert all(kinds.count(kind) >= 2 for kind in ("compute", "code", "think"))


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_model_solutions_pass(key):
    verdict = check(key, SOLUTIONS[key])
    assert verdict.correct, verdict.message


@pytest.mark.parametrize(
    ("key", "answer", "hint"),
    [
        ("5.1", 24_000 / 160, "fit whole"),
        ("5.1", (24_000 - 400) // 160, "first frame"),
        ("5.1", 24_000 // 400, "overlap"),
        ("5.2", softmax_weight(1.0), "sqrt(d_k)"),
        ("5.2", softmax_weight(4.0), "not by d_k"),
        ("5.2", 2.0 / 4.0, "softmax"),
        ("5.3", 600 * 300, "rating table"),
        ("5.3", 900 * 3, "bias"),
        ("5.3", 3601, "fixed"),
    ],
)
def test_typical_mistakes_get_a_hint(key, answer, hint):
    verdict = check(key, answer)
    assert verdict.correct is False and hint in verdict.message
    assert f"{SOLUTIONS[key]:g}" not in verdict.message
    assert f"{SOLUTIONS[key]:.3f}" not in verdict.message


def test_wrong_attention_fails_with_the_case():
    def no_mask(q, k, v):
        logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        weights = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return weights @ v, weights

    verdict = check("5.4", no_mask)
    assert verdict.correct is False and "later positions" in verdict.message

    def unscaled(q, k, v):
        return causal_attention(q * np.sqrt(q.shape[-1]), k, v)

    verdict = check("5.4", unscaled)
    assert verdict.correct is False and "5 positions" in verdict.message
    assert "off by up to" in verdict.message
    verdict = check("5.4", lambda q, k, v: causal_attention(q, k, v)[0])
    assert verdict.correct is False and "(outputs, weights)" in verdict.message

    def mixes_the_batch(q, k, v):  # each sequence reads the other one's keys
        return causal_attention(q, k[::-1] if k.ndim == 3 else k, v)

    verdict = check("5.4", mixes_the_batch)
    assert verdict.correct is False and "batch of 2" in verdict.message
    verdict = check("5.4", lambda q, k, v: None)
    assert verdict.correct is False and "returned None" in verdict.message


def test_wrong_count_vector_fails_with_the_case():
    def with_padding(ids, vocab_size):
        return np.stack([np.bincount(row, minlength=vocab_size) for row in ids])

    verdict = check("5.5", with_padding)
    assert verdict.correct is False and "padding" in verdict.message

    def multi_hot(ids, vocab_size):
        return np.minimum(count_vector(ids, vocab_size), 1)

    verdict = check("5.5", multi_hot)
    assert verdict.correct is False and "repeated word" in verdict.message
    verdict = check("5.5", lambda ids, vocab_size: count_vector(ids, vocab_size)[:, 1:])
    assert verdict.correct is False and "shape" in verdict.message
    verdict = check("5.5", lambda ids, vocab_size: [[math.nan] * 2] + 1)
    assert verdict.correct is False and "TypeError" in verdict.message


def test_malformed_answers_raise_and_none_waits():
    with pytest.raises(TypeError, match="5.1"):
        check("5.1", "148")
    with pytest.raises(TypeError, match="function"):
        check("5.4", 0.5)
    with pytest.raises(TypeError, match="3 argument"):
        check("5.4", lambda q, k: (q, k))
    with pytest.raises(TypeError, match="2 argument"):
        check("5.5", lambda ids: ids)
    assert check("5.2", None).correct is None
    assert check("5.6", "anything").correct is None
    assert check("5.7", None).correct is None


def test_the_module_constants_match_the_statements():
    assert ch5.SPECTROGRAM == {
        "seconds": 1.5,
        "sample_rate": 16_000,
        "frame_length": 400,
        "frame_step": 160,
    }
    assert ch5.ATTENTION_QUERY == Q.tolist() and ch5.ATTENTION_KEYS == K.tolist()
    assert ch5.FACTORIZATION == {"users": 600, "items": 300, "rank": 3}
