"""Exercises of Chapter 5 (applications): the frames of a log-mel spectrogram, one attention
weight, the size of a matrix factorization, causal attention and a bag-of-words count vector
written by hand, and two questions about held-out speakers and position codes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mapping_lib import attention, audio, recommend
from mapping_lib.exercises.registry import (
    call_answer,
    callable_answer,
    close_to,
    exercise,
    number,
    same_array,
)

SPECTROGRAM = {"seconds": 1.5, "sample_rate": 16_000, "frame_length": 400, "frame_step": 160}
ATTENTION_QUERY = [1.0, 2.0, 0.0, 1.0]
ATTENTION_KEYS = [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [2.0, 1.0, 0.0, 0.0]]
FACTORIZATION = {"users": 600, "items": 300, "rank": 3}


@exercise("5.1", "compute", "The number of frames of a log-mel spectrogram")
def _frames(answer: Any) -> tuple[bool, str]:
    """1 + (N - L) // H frames, counted by running the library on a silent recording."""
    value = number("5.1", answer)
    samples = round(SPECTROGRAM["seconds"] * SPECTROGRAM["sample_rate"])
    length, step = SPECTROGRAM["frame_length"], SPECTROGRAM["frame_step"]
    silence = np.zeros(samples, dtype=np.float32)
    spectrogram = audio.log_mel_spectrogram(
        silence,
        sample_rate=SPECTROGRAM["sample_rate"],
        frame_length=length,
        frame_step=step,
    )
    expected = int(spectrogram.shape[0])
    if value == expected:
        return True, "that is the number of frames"
    if value in (samples / step, math.ceil(samples / step), samples // step):
        return False, "the last frames would run past the end: every frame must fit whole"
    if value in ((samples - length) // step, (samples - length) / step):
        return False, "that counts the steps between frames: count the first frame too"
    if value == samples // length:
        return False, "frames start every frame_step samples, so they overlap"
    return False, close_to(value, expected, rel=0, abs_=0.5)[1]


def _weights(scale: float) -> np.ndarray:
    logits = np.asarray(ATTENTION_KEYS) @ np.asarray(ATTENTION_QUERY) / scale
    return np.exp(logits) / np.exp(logits).sum()


@exercise("5.2", "compute", "One scaled dot-product attention weight")
def _attention_weight(answer: Any) -> tuple[bool, str]:
    """softmax(K q / sqrt(d_k)) at the third key, as the library computes it."""
    value = number("5.2", answer)
    query = np.asarray([ATTENTION_QUERY], dtype=np.float32)
    _, weights = attention.scaled_dot_product_attention(query, ATTENTION_KEYS, ATTENTION_KEYS)
    expected = float(weights.numpy()[0, 2])
    if abs(value - expected) <= 5e-4:
        return True, "that is the weight of the third key"
    d_k = len(ATTENTION_QUERY)
    if abs(value - _weights(1.0)[2]) <= 5e-4:
        return False, "the logits must be divided by sqrt(d_k) before the softmax"
    if abs(value - _weights(float(d_k))[2]) <= 5e-4:
        return False, "divide by the square root of d_k, not by d_k itself"
    logits = np.asarray(ATTENTION_KEYS) @ np.asarray(ATTENTION_QUERY) / math.sqrt(d_k)
    if abs(value - logits[2] / logits.sum()) <= 5e-4:
        return False, "the weights come from a softmax: exponentiate before normalising"
    return False, close_to(value, expected, rel=0, abs_=5e-4)[1]


@exercise("5.3", "compute", "How many numbers matrix factorization learns")
def _factorization_size(answer: Any) -> tuple[bool, str]:
    """(users + items) * (rank + 1): a vector and a bias each; the mean rating is fixed."""
    value = number("5.3", answer)
    users, items, rank = FACTORIZATION["users"], FACTORIZATION["items"], FACTORIZATION["rank"]
    model = recommend.MatrixFactorization(users, items, rank=rank, mean=3.5)
    model(np.zeros((1, 2), dtype=np.int64))  # build the tables
    expected = model.count_params()
    if value == expected:
        return True, "that is the number of learned parameters"
    if value == users * items:
        return False, "that is the size of the rating table, which the model approximates"
    if value == (users + items) * rank:
        return False, "each user and each item also has a bias of its own"
    if value == expected + 1:
        return False, "the mean rating mu is fixed before training, not learned"
    if value == users * items * rank:
        return False, "a vector per user and a vector per item, not one per rating"
    return False, close_to(value, expected, rel=0, abs_=0.5)[1]


def _attention_cases() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    cases = {}
    for case, shape, d_v in [
        ("5 positions, d_k = 8", (5, 8), 3),
        ("a batch of 2 sequences of 4 positions, d_k = 16", (2, 4, 16), 16),
        ("a single position", (1, 4), 2),
    ]:
        q, k = rng.standard_normal(shape), rng.standard_normal(shape)
        v = rng.standard_normal((*shape[:-1], d_v))
        cases[case] = (q, k, v)
    return cases


@exercise("5.4", "code", "Scaled dot-product attention with a causal mask")
def _causal_attention(answer: Any) -> tuple[bool, str]:
    """``causal_attention(q, k, v) -> (outputs, weights)`` against the library's attention."""
    function = callable_answer("5.4", answer)
    for case, (q, k, v) in _attention_cases().items():
        got, failure = call_answer("5.4", function, (q.copy(), k.copy(), v.copy()))
        if failure:
            return False, f"for {case}: {failure}"
        if not isinstance(got, tuple | list) or len(got) != 2:
            return False, f"for {case} your function must return (outputs, weights)"
        mask = attention.causal_mask(q.shape[-2])
        out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
        try:
            got_weights = np.asarray(got[1], dtype=np.float64)
        except (TypeError, ValueError):
            return False, f"for {case} the weights are not an array of numbers"
        if got_weights.shape == weights.shape:
            if np.abs(np.triu(got_weights, 1)).max() > 1e-6:
                return False, f"for {case} a position attends to later positions"
            if not np.allclose(got_weights.sum(axis=-1), 1, atol=1e-5):
                return False, f"for {case} the weights of a position do not sum to 1"
        for name, mine, ours in (("weights", got[1], weights), ("outputs", got[0], out)):
            try:
                wrong = same_array("5.4", mine, ours.numpy().astype(np.float64), case, atol=1e-5)
            except (TypeError, ValueError):
                return False, f"for {case} the {name} are not an array of numbers"
            if wrong:
                return False, f"{wrong[1]} (the {name})"
    return True, f"your attention matches the library for all {len(_attention_cases())} cases"


def _token_cases() -> dict[str, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(3)
    padded = rng.integers(1, 9, size=(4, 10))
    padded[:, 7:] = 0  # sentences of 7 tokens, padded to 10
    return {
        "4 padded sentences over a vocabulary of 9": (padded, 9),
        "a sentence with repeated words": (np.array([[2, 5, 2, 2, 7, 5]]), 8),
        "an empty (all-padding) sentence": (np.zeros((1, 5), dtype=np.int64), 6),
    }


def _counts(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    counts = np.stack([np.bincount(row, minlength=vocab_size) for row in ids]).astype(float)
    counts[:, 0] = 0  # index 0 is padding, not a word
    return counts


@exercise("5.5", "code", "A bag-of-words count vector")
def _bag_of_words(answer: Any) -> tuple[bool, str]:
    """``count_vector(ids, vocab_size)``: (N, T) padded token ids to (N, V) word counts."""
    function = callable_answer("5.5", answer)
    for case, (ids, vocab_size) in _token_cases().items():
        got, failure = call_answer("5.5", function, (ids.copy(), vocab_size))
        if failure:
            return False, f"for {case}: {failure}"
        expected = _counts(ids, vocab_size)
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return False, f"for {case} your function returned {got!r}, not an array"
        if got.shape == expected.shape:
            if np.any(got[:, 0] != 0):
                return False, f"for {case} column 0 counts the padding, which is not a word"
            if got.max() <= 1 < expected.max():
                return False, f"for {case} a repeated word must be counted every time"
        wrong = same_array("5.5", got, expected, case)
        if wrong:
            return wrong
    return True, f"your counts are right for all {len(_token_cases())} cases"


@exercise("5.6", "think", "Why the test speaker is held out whole")
def _held_out_speaker() -> None:
    """Random recordings would test known voices; a deployed recogniser meets new ones."""


@exercise("5.7", "think", "A Transformer without position codes")
def _no_positions() -> None:
    """Without position codes the encoder sees a set: the bag of digits, not their order."""
