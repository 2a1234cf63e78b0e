"""A character-level language model: the next character from the ones before it.

A language model is the mapping (c_1, ..., c_{t-1}) -> P(c_t | c_1, ..., c_{t-1}). Its
product over a sentence is the probability of the sentence,

    P(c_1 ... c_n) = prod_t P(c_t | c_<t),

and the model is trained by maximum likelihood: cross-entropy on every next character.
It is graded by its **perplexity** on held-out text, exp of the mean negative
log-likelihood per character: the number of equally likely characters the model is, on
average, as unsure as. A model that knows nothing has the alphabet's size; n-gram counts
(:func:`ngram_perplexity`) are the classical baselines. Sampling one character at a time
from the model's distribution (:func:`generate`) writes new text.

Every sentence is read as ``<start> c_1 ... c_n`` and must predict ``c_1 ... c_n <end>``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks

PAD, UNKNOWN, START, END = 0, 1, 2, 3
_SPECIAL = ("", "�", "<start>", "<end>")


@dataclass(frozen=True)
class CharVocabulary:
    """The characters of a training text, each with an id after the four special ones."""

    chars: tuple[str, ...]

    @classmethod
    def from_texts(cls, texts: Any) -> CharVocabulary:
        """Every character that occurs in ``texts``, most frequent first (ties by character)."""
        counts = Counter("".join(_texts("texts", texts)))
        return cls(tuple(sorted(counts, key=lambda c: (-counts[c], c))))

    @property
    def size(self) -> int:
        """Number of ids, the four special ones included."""
        return len(_SPECIAL) + len(self.chars)

    def ids(self, text: str) -> list[int]:
        """The ids of ``text``'s characters; a character not in the vocabulary is UNKNOWN."""
        index = {c: i + len(_SPECIAL) for i, c in enumerate(self.chars)}
        return [index.get(c, UNKNOWN) for c in text]

    def text(self, ids: Any) -> str:
        """The characters of ``ids`` (special ids are left out)."""
        return "".join(self.chars[i - len(_SPECIAL)] for i in ids if i >= len(_SPECIAL))


@dataclass(frozen=True)
class CharSequences:
    """Inputs ``<start> c_1 ... c_n`` and targets ``c_1 ... c_n <end>``, padded with 0."""

    inputs: np.ndarray
    targets: np.ndarray
    truncated: int  # sentences cut to fit max_length

    @property
    def characters(self) -> int:
        """Number of predicted positions (targets that are not padding)."""
        return int((self.targets != PAD).sum())


def encode(texts: Any, vocabulary: CharVocabulary, max_length: int) -> CharSequences:
    """Encode sentences for the model; a sentence longer than ``max_length - 1`` is cut.

    Cut sentences lose their end token and their last characters; ``truncated`` counts them,
    so nothing is dropped silently.
    """
    texts = _texts("texts", texts)
    max_length = _checks.positive_int("max_length", max_length)
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    inputs = np.zeros((len(texts), max_length), np.int32)
    targets = np.zeros((len(texts), max_length), np.int32)
    truncated = 0
    for row, text in enumerate(texts):
        ids = vocabulary.ids(text)
        sequence = [START, *ids, END]
        truncated += len(sequence) - 1 > max_length
        sequence = sequence[: max_length + 1]
        inputs[row, : len(sequence) - 1] = sequence[:-1]
        targets[row, : len(sequence) - 1] = sequence[1:]
    return CharSequences(inputs, targets, truncated)


def char_language_model(vocabulary_size: int, *, embedding_dim: int = 32,
                        units: int = 128) -> keras.Sequential:
    """Embedding -> GRU (one state per position) -> logits over the next character."""
    vocabulary_size = _checks.positive_int("vocabulary_size", vocabulary_size)
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(vocabulary_size, _checks.positive_int(
                "embedding_dim", embedding_dim), mask_zero=True),
            keras.layers.GRU(_checks.positive_int("units", units), return_sequences=True),
            keras.layers.Dense(vocabulary_size),
        ],
        name="char_language_model",
    )


def next_char_loss() -> keras.losses.Loss:
    """Cross-entropy on the logits of every next character, padding ignored."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD)


def perplexity(model: keras.Model, data: CharSequences, *, batch_size: int = 256) -> float:
    """exp(mean negative log-likelihood per predicted character) of ``model`` on ``data``."""
    total = 0.0
    for start in range(0, len(data.inputs), batch_size):
        logits = model(data.inputs[start : start + batch_size], training=False)
        targets = data.targets[start : start + batch_size]
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float64), axis=-1).numpy()
        picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
        total -= picked[targets != PAD].sum()
    return float(np.exp(total / data.characters))


def ngram_perplexity(train: CharSequences, test: CharSequences, order: int,
                     vocabulary_size: int) -> float:
    """Perplexity of add-one smoothed character n-gram counts (order 1 or 2) on ``test``.

    Order 1 counts characters, order 2 counts (previous character, character) pairs; the
    previous character of a sentence's first is ``<start>``, as for the network.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    vocabulary_size = _checks.positive_int("vocabulary_size", vocabulary_size)
    keep = train.targets != PAD
    previous = train.inputs[keep] if order == 2 else np.zeros(keep.sum(), np.int64)
    counts = np.ones((vocabulary_size, vocabulary_size))  # add-one smoothing
    np.add.at(counts, (previous, train.targets[keep]), 1)
    probabilities = counts / counts.sum(axis=1, keepdims=True)
    keep = test.targets != PAD
    rows = test.inputs[keep] if order == 2 else np.zeros(keep.sum(), np.int64)
    log_p = np.log(probabilities[rows, test.targets[keep]])
    return float(np.exp(-log_p.mean()))


def generate(model: keras.Model, vocabulary: CharVocabulary, *, length: int = 120,
             temperature: float = 0.7, seed: int = 0, prefix: str = "") -> str:
    """Sample a sentence one character at a time, from ``<start>`` and ``prefix``.

    Each step samples from softmax(logits / temperature): lower temperatures pick likely
    characters more often. Sampling stops at ``<end>`` or after ``length`` characters.
    The GRU carries its state from step to step, so each character costs one step of the
    recurrence, not a pass over the whole text so far.
    """
    length = _checks.positive_int("length", length)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    rng = np.random.default_rng(_checks.non_negative_int("seed", seed))
    ids = [START, *vocabulary.ids(prefix)]
    step = next_char_step(model)
    state = tf.zeros((1, _gru_of(model).units))
    for known in ids[:-1]:  # read the prefix
        _, state = step(tf.constant([known]), state)
    for _ in range(length):
        logits, state = step(tf.constant([ids[-1]]), state)
        logits = logits.numpy().astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        p[[PAD, UNKNOWN, START]] = 0.0  # never sample padding, unknowns or a second start
        choice = int(rng.choice(len(p), p=p / p.sum()))
        if choice == END:
            break
        ids.append(choice)
    return vocabulary.text(ids)


def _gru_of(model: keras.Model) -> keras.layers.GRU:
    grus = [layer for layer in model.layers if isinstance(layer, keras.layers.GRU)]
    if len(grus) != 1:
        raise ValueError(f"model must have exactly one GRU layer, got {len(grus)}")
    return grus[0]


def next_char_step(model: keras.Model) -> Any:
    """One step of :func:`char_language_model`'s recurrence as a compiled function:
    ``(character id of shape (1,), state) -> (logits of the next character, new state)``.
    Fed a text one id at a time, it gives the logits the whole model gives position by
    position."""
    gru = _gru_of(model)
    if len(model.layers) != 3 or model.layers[1] is not gru:
        raise ValueError("model must be Embedding -> GRU -> Dense, as char_language_model")
    embedding, _, dense = model.layers

    @tf.function
    def step(char_id: Any, state: Any) -> tuple[Any, Any]:
        # The lookup itself: calling the layer would attach its padding mask, which a
        # single cell cannot use.
        vector = tf.gather(embedding.embeddings, char_id)
        output, new_state = gru.cell(vector, state, training=False)
        return dense(output)[0], new_state

    return step


def _texts(name: str, texts: Any) -> list[str]:
    texts = list(texts)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError(f"{name} must be strings")
    if not texts:
        raise ValueError(f"{name} must hold at least one sentence, got none")
    return texts
