"""A small Transformer encoder-decoder (Vaswani et al., 2017) and the task it learns here:
reversing a string of digits; and :func:`encoder_classifier`, the encoder alone as a
sentence classifier.

Tokens: 0 is padding, 1 starts the output, 2 ends it, and the digits 0-9 are 3-12. The
encoder reads the padded source digits; the decoder reads the start token and the output so
far and predicts the next token. Training feeds the true previous tokens (teacher forcing);
:func:`greedy_decode` feeds the model its own most likely tokens, one position at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from mapping_lib import _checks

PAD, START, END, DIGIT0 = 0, 1, 2, 3
VOCABULARY = DIGIT0 + 10


@dataclass(frozen=True)
class Reversal:
    """Digit strings and their reversals as token arrays.

    ``source`` ``(n, max_length)``: the digits, then padding. ``decoder_in``
    ``(n, max_length + 1)``: START, the reversed digits, padding. ``target``: the reversed
    digits, END, padding (what the decoder should predict at each position).
    """

    strings: tuple[str, ...]
    source: np.ndarray
    decoder_in: np.ndarray
    target: np.ndarray


def encode(strings: Any, max_length: int) -> Reversal:
    """The token arrays of ``strings`` (digit strings of at most ``max_length`` digits)."""
    strings = tuple(str(s) for s in strings)
    if not strings or any(not s.isdigit() or not s.isascii() for s in strings):
        raise ValueError("strings must be non-empty strings of the digits 0-9")
    if max(map(len, strings)) > max_length:
        raise ValueError(f"strings must have at most max_length={max_length} digits")
    n = len(strings)
    source = np.full((n, max_length), PAD, np.int32)
    decoder_in = np.full((n, max_length + 1), PAD, np.int32)
    target = np.full((n, max_length + 1), PAD, np.int32)
    for row, text in enumerate(strings):
        digits = np.array([DIGIT0 + int(c) for c in text], np.int32)
        source[row, : len(digits)] = digits
        decoder_in[row, 0] = START
        decoder_in[row, 1 : len(digits) + 1] = digits[::-1]
        target[row, : len(digits)] = digits[::-1]
        target[row, len(digits)] = END
    return Reversal(strings, source, decoder_in, target)


def random_strings(
    n: int, lengths: tuple[int, int] = (5, 8), *, seed: int, exclude: Any = ()
) -> tuple[str, ...]:
    """``n`` distinct random digit strings, lengths uniform in ``lengths`` (inclusive), none
    in ``exclude`` (so a test set never repeats a training string)."""
    n = _checks.positive_int("n", n)
    low, high = lengths
    if not 1 <= low <= high:
        raise ValueError(f"lengths must be (low, high) with 1 <= low <= high, got {lengths}")
    rng = np.random.default_rng(_checks.seed("seed", seed))
    taken, found = set(exclude), []
    while len(found) < n:
        length = int(rng.integers(low, high + 1))
        text = "".join(map(str, rng.integers(0, 10, length)))
        if text not in taken:
            taken.add(text)
            found.append(text)
    return tuple(found)


def positions(length: int, d_model: int) -> np.ndarray:
    """Sinusoidal position codes ``(length, d_model)``: sin and cos at geometric frequencies."""
    angle = np.arange(length)[:, None] / 10_000 ** (np.arange(0, d_model, 2) / d_model)
    codes = np.zeros((length, d_model), np.float32)
    codes[:, 0::2], codes[:, 1::2] = np.sin(angle), np.cos(angle)
    return codes


def _embed(tokens: Any, layer: keras.layers.Layer, length: int, d_model: int) -> Any:
    return layer(tokens) * np.sqrt(d_model) + positions(length, d_model)


def _add_norm(x: Any, y: Any, name: str) -> Any:
    # Each sublayer: x + sublayer(x), then layer normalisation (the original "post-norm").
    return keras.layers.LayerNormalization(name=f"{name}_norm")(x + y)


def _feed_forward(x: Any, d_model: int, name: str) -> Any:
    hidden = keras.layers.Dense(2 * d_model, activation="relu", name=f"{name}_ff1")(x)
    return _add_norm(x, keras.layers.Dense(d_model, name=f"{name}_ff2")(hidden), f"{name}_ff")


def _encoder_stack(x: Any, mask: Any, *, blocks: int, d_model: int, heads: int) -> Any:
    # Each block: self-attention that skips the masked (padding) keys, then feed-forward.
    for i in range(blocks):
        attention = keras.layers.MultiHeadAttention(heads, d_model // heads, name=f"enc{i}_self")
        x = _add_norm(x, attention(x, x, attention_mask=mask), f"enc{i}_self")
        x = _feed_forward(x, d_model, f"enc{i}")
    return x


@dataclass(frozen=True)
class Seq2Seq:
    """The trainable ``model`` (source, decoder input) -> logits, and ``with_attention``, the
    same layers also returning every decoder layer's cross-attention weights."""

    model: keras.Model
    with_attention: keras.Model
    max_length: int


def transformer(
    max_length: int = 8, *, d_model: int = 64, heads: int = 4, layers: int = 1
) -> Seq2Seq:
    """A Transformer encoder-decoder for sources of up to ``max_length`` digits.

    Args:
        max_length: the longest source; outputs get one more position for END.
        d_model: the width of every position's vector.
        heads: attention heads per attention layer (``d_model`` must be a multiple).
        layers: encoder layers and decoder layers (as many of each).
    """
    max_length, d_model, heads, layers = (
        _checks.positive_int(k, v)
        for k, v in (("max_length", max_length), ("d_model", d_model), ("heads", heads),
                     ("layers", layers))
    )  # fmt: skip
    if d_model % heads:
        raise ValueError(f"d_model must be a multiple of heads={heads}, got {d_model}")
    source = keras.Input((max_length,), dtype="int32", name="source")
    decoder_in = keras.Input((max_length + 1,), dtype="int32", name="decoder_in")
    # Padding mask (batch, 1, T_source), repeated for every query position it is used with.
    keep = ops.expand_dims(ops.not_equal(source, PAD), 1)
    self_mask = ops.repeat(keep, max_length, axis=1)
    cross_mask = ops.repeat(keep, max_length + 1, axis=1)
    embedding = keras.layers.Embedding(VOCABULARY, d_model, name="embedding")

    def mha(name: str) -> keras.layers.MultiHeadAttention:
        return keras.layers.MultiHeadAttention(heads, d_model // heads, name=name)

    x = _embed(source, embedding, max_length, d_model)
    x = _encoder_stack(x, self_mask, blocks=layers, d_model=d_model, heads=heads)
    y = _embed(decoder_in, embedding, max_length + 1, d_model)
    cross_scores = []
    for i in range(layers):
        attended = mha(f"dec{i}_self")(y, y, use_causal_mask=True)  # no look at later tokens
        y = _add_norm(y, attended, f"dec{i}_self")
        attended, scores = mha(f"dec{i}_cross")(
            y, x, attention_mask=cross_mask, return_attention_scores=True
        )
        cross_scores.append(scores)
        y = _feed_forward(_add_norm(y, attended, f"dec{i}_cross"), d_model, f"dec{i}")
    logits = keras.layers.Dense(VOCABULARY, name="logits")(y)
    model = keras.Model([source, decoder_in], logits, name="reverser")
    with_attention = keras.Model([source, decoder_in], [logits, *cross_scores])
    return Seq2Seq(model, with_attention, max_length)


def encoder_classifier(
    vocab_size: int, length: int, *, d_model: int = 32, heads: int = 2, blocks: int = 1
) -> keras.Model:
    """A Transformer encoder that maps ``length`` token ids (0 = padding) to one logit.

    Token and position embeddings, ``blocks`` encoder layers (self-attention that ignores
    padding, then a feed-forward layer), the mean over the real tokens, and a dense layer.

    Args:
        vocab_size: token ids run from 0 to ``vocab_size - 1``.
        length: tokens per input (padded or cut, e.g. by ``TextVectorization``).
        d_model: the width of every position's vector.
        heads: attention heads per layer (``d_model`` must be a multiple).
        blocks: encoder layers.
    """
    vocab_size, length, d_model, heads, blocks = (
        _checks.positive_int(k, v)
        for k, v in (("vocab_size", vocab_size), ("length", length), ("d_model", d_model),
                     ("heads", heads), ("blocks", blocks))
    )  # fmt: skip
    if d_model % heads:
        raise ValueError(f"d_model must be a multiple of heads={heads}, got {d_model}")
    tokens = keras.Input((length,), dtype="int32", name="tokens")
    real = ops.cast(ops.not_equal(tokens, PAD), "float32")  # (batch, length)
    mask = ops.repeat(ops.expand_dims(real > 0, 1), length, axis=1)  # no query sees padding
    x = _embed(tokens, keras.layers.Embedding(vocab_size, d_model, name="embedding"),
               length, d_model)  # fmt: skip
    x = _encoder_stack(x, mask, blocks=blocks, d_model=d_model, heads=heads)
    # Mean over the real tokens only; max(., 1) keeps an all-padding input finite.
    summed = ops.sum(x * ops.expand_dims(real, -1), axis=1)
    pooled = summed / ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0)
    return keras.Model(tokens, keras.layers.Dense(1, name="logit")(pooled), name="encoder")


def train(
    net: Seq2Seq,
    data: Reversal,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
) -> keras.callbacks.History:
    """Train ``net.model`` with teacher forcing and Keras' ``fit`` (padding ignored in the loss).

    Args:
        net: the model from :func:`transformer`.
        data: the training strings, from :func:`encode`.
        epochs, batch_size: as in ``Model.fit``.
        learning_rate: Adam's step size.
    """
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    net.model.compile(
        optimizer=keras.optimizers.Adam(_checks.positive_float("learning_rate", learning_rate)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD),
    )
    return net.model.fit(
        [data.source, data.decoder_in], data.target,
        epochs=epochs, batch_size=batch_size, verbose=0,
    )  # fmt: skip


def greedy_decode(net: Seq2Seq, source: np.ndarray) -> np.ndarray:
    """Decode ``source`` tokens one position at a time, always taking the likeliest token.

    Returns:
        ``(n, max_length + 1)`` predicted tokens (the ``target`` layout of :class:`Reversal`).
    """
    source = np.asarray(source, np.int32)
    if source.ndim != 2 or source.shape[1] != net.max_length:
        raise ValueError(f"source must be (n, {net.max_length}) tokens, got {source.shape}")
    decoder_in = np.full((len(source), net.max_length + 1), PAD, np.int32)
    decoder_in[:, 0] = START
    out = np.zeros_like(decoder_in)
    for t in range(net.max_length + 1):
        # Causal attention: position t's prediction depends on decoder_in[:, :t + 1] only.
        logits = np.asarray(net.model([source, decoder_in], training=False))
        out[:, t] = logits[:, t].argmax(axis=-1)
        if t + 1 <= net.max_length:
            decoder_in[:, t + 1] = out[:, t]
    return out


def to_strings(tokens: np.ndarray) -> list[str]:
    """Predicted token rows as digit strings, cut at the first END (other tokens dropped)."""
    texts = []
    for row in np.asarray(tokens):
        stop = np.flatnonzero(row == END)
        row = row[: stop[0]] if len(stop) else row
        texts.append("".join(str(t - DIGIT0) for t in row if t >= DIGIT0))
    return texts


def exact_match(net: Seq2Seq, data: Reversal) -> float:
    """The share of ``data.strings`` whose greedy decoding is exactly the reversed string."""
    predicted = to_strings(greedy_decode(net, data.source))
    return float(np.mean([p == s[::-1] for p, s in zip(predicted, data.strings)]))


@dataclass(frozen=True)
class AttentionMaps:
    """Where each output position looks: ``weights[layer, head, t, j]`` is the cross-attention
    weight of output position ``t`` (predicting ``output[t]``, the last row END) on source
    digit ``j``."""

    source: str
    output: str
    weights: np.ndarray


def attention_maps(net: Seq2Seq, digits: str) -> AttentionMaps:
    """Greedy-decode the digit string ``digits`` and return its cross-attention weights.

    Args:
        net: a model from :func:`transformer`.
        digits: 1 to ``net.max_length`` of the digits 0-9.
    """
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"digits must be a string of the digits 0-9, got {digits!r}")
    if len(digits) > net.max_length:
        raise ValueError(f"digits must have at most {net.max_length} digits, got {len(digits)}")
    data = encode([digits], net.max_length)
    tokens = greedy_decode(net, data.source)[0]
    ends = np.flatnonzero(tokens == END)
    rows = int(ends[0]) + 1 if len(ends) else len(tokens)
    decoder_in = np.concatenate([[START], tokens[:-1]]).astype(np.int32)[None]
    _, *scores = net.with_attention([data.source, decoder_in], training=False)
    weights = np.stack([np.asarray(s)[0] for s in scores])[:, :, :rows, : len(digits)]
    return AttentionMaps(digits, to_strings(tokens[None])[0], weights.astype(np.float64))


def mirror_fraction(net: Seq2Seq, data: Reversal) -> np.ndarray:
    """Per decoder layer, the share of output digits whose largest cross-attention weight
    (averaged over heads, teacher-forced) sits on the mirrored source digit."""
    _, *scores = net.with_attention([data.source, data.decoder_in], training=False)
    lengths = np.array([len(s) for s in data.strings])
    t = np.arange(data.source.shape[1])
    digit_rows = t[None] < lengths[:, None]  # output positions that produce a digit
    mirrored = lengths[:, None] - 1 - t[None]
    shares = []
    for s in scores:
        looked_at = np.asarray(s).mean(axis=1)[:, : len(t)].argmax(axis=-1)
        shares.append(float((looked_at == mirrored)[digit_rows].mean()))
    return np.array(shares)
