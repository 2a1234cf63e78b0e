"""Attention written out: ``softmax(Q K^T / sqrt(d_k)) V``, its masks, and multi-head attention.

Everything here is a few TensorFlow operations, so that the chapter can show the whole
computation and compare it with ``keras.layers.MultiHeadAttention``, which computes the same
thing from the same weights (:func:`keras_attention` copies them in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mapping_lib import _checks

# A large negative logit rather than -inf: a row whose keys are all masked then gets uniform
# weights instead of NaN, as in Keras.
_MASKED = -1e9


def scaled_dot_product_attention(
    query: Any, key: Any, value: Any, mask: Any = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """``softmax(Q K^T / sqrt(d_k)) V`` and the attention weights.

    Args:
        query: ``(..., T_q, d_k)``, one query vector per output position.
        key: ``(..., T_k, d_k)``, one key vector per input position.
        value: ``(..., T_k, d_v)``, what each input position hands on.
        mask: booleans broadcastable to ``(..., T_q, T_k)``; False forbids a query to look at
            a key (its weight becomes 0). None allows everything.

    Returns:
        The outputs ``(..., T_q, d_v)`` and the weights ``(..., T_q, T_k)``, each row a
        probability distribution over the keys.
    """
    query, key, value = (tf.convert_to_tensor(t, tf.float32) for t in (query, key, value))
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            "query, key and value must have shapes (..., T_q, d), (..., T_k, d) and "
            f"(..., T_k, d_v), got {query.shape}, {key.shape} and {value.shape}"
        )
    d_k = float(query.shape[-1])
    logits = tf.matmul(query, key, transpose_b=True) / np.sqrt(d_k)
    if mask is not None:
        logits = tf.where(tf.cast(mask, tf.bool), logits, _MASKED)
    weights = tf.nn.softmax(logits, axis=-1)
    return tf.matmul(weights, value), weights


def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` booleans: position ``i`` may look at positions ``j <= i`` only."""
    length = _checks.positive_int("length", length)
    return np.tril(np.ones((length, length), dtype=bool))


def padding_mask(tokens: Any, pad: int = 0) -> np.ndarray:
    """``(batch, 1, T)`` booleans, False at the padding tokens: no query looks at a pad.

    Args:
        tokens: ``(batch, T)`` integer token ids.
        pad: the id of the padding token.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
        raise ValueError(f"tokens must be a 2-D integer array, got {tokens.dtype} {tokens.shape}")
    return (tokens != pad)[:, None, :]


def split_heads(x: Any, heads: int) -> tf.Tensor:
    """``(batch, T, heads * d)`` to ``(batch, heads, T, d)``: each head gets its own slice."""
    heads = _checks.positive_int("heads", heads)
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank != 3 or x.shape[-1] % heads:
        raise ValueError(f"x must be (batch, T, heads * d) with heads={heads}, got {x.shape}")
    batch, length = tf.shape(x)[0], tf.shape(x)[1]
    return tf.transpose(tf.reshape(x, (batch, length, heads, x.shape[-1] // heads)), (0, 2, 1, 3))


def merge_heads(x: Any) -> tf.Tensor:
    """``(batch, heads, T, d)`` back to ``(batch, T, heads * d)``: the concatenation."""
    x = tf.transpose(tf.convert_to_tensor(x, tf.float32), (0, 2, 1, 3))
    return tf.reshape(x, (tf.shape(x)[0], tf.shape(x)[1], x.shape[2] * x.shape[3]))


@dataclass(frozen=True)
class HeadWeights:
    """The weights of multi-head attention as plain matrices.

    ``wq``, ``wk``, ``wv`` are ``(d_model, heads * d_k)`` (head ``h`` owns columns
    ``h * d_k`` to ``(h + 1) * d_k``), ``wo`` is ``(heads * d_k, d_model)``; the ``b*`` are
    the matching biases.
    """

    heads: int
    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    wo: np.ndarray
    bq: np.ndarray
    bk: np.ndarray
    bv: np.ndarray
    bo: np.ndarray


def random_weights(d_model: int, heads: int, d_k: int, *, seed: int = 0) -> HeadWeights:
    """Gaussian weights (std ``1/sqrt(fan_in)``) for :func:`multi_head_attention`."""
    d_model, heads, d_k = (
        _checks.positive_int(name, value)
        for name, value in (("d_model", d_model), ("heads", heads), ("d_k", d_k))
    )
    rng = np.random.default_rng(_checks.seed("seed", seed))
    inner = heads * d_k

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)

    return HeadWeights(
        heads, normal(d_model, inner), normal(d_model, inner), normal(d_model, inner),
        normal(inner, d_model), *(0.1 * normal(1, n)[0] for n in (inner, inner, inner, d_model)),
    )  # fmt: skip


def multi_head_attention(
    query: Any, value: Any, weights: HeadWeights, mask: Any = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Project, split into heads, attend in each head, concatenate, project back.

    Args:
        query: ``(batch, T_q, d_model)``.
        value: ``(batch, T_k, d_model)``; keys and values are both computed from it.
        weights: the projections, e.g. from :func:`random_weights`.
        mask: booleans broadcastable to ``(batch, T_q, T_k)``, the same for every head.

    Returns:
        The outputs ``(batch, T_q, d_model)`` and weights ``(batch, heads, T_q, T_k)``.
    """
    w = weights
    query, value = (tf.convert_to_tensor(t, tf.float32) for t in (query, value))
    q, k, v = (
        split_heads(tf.matmul(x, m) + b, w.heads)
        for x, m, b in ((query, w.wq, w.bq), (value, w.wk, w.bk), (value, w.wv, w.bv))
    )
    if mask is not None:
        mask = tf.expand_dims(tf.cast(mask, tf.bool), 1)  # one mask for all heads
    heads_out, scores = scaled_dot_product_attention(q, k, v, mask)
    return tf.matmul(merge_heads(heads_out), w.wo) + w.bo, scores


def keras_attention(weights: HeadWeights) -> keras.layers.MultiHeadAttention:
    """A ``keras.layers.MultiHeadAttention`` holding exactly ``weights``."""
    w = weights
    d_model, inner = w.wq.shape
    d_k = inner // w.heads
    layer = keras.layers.MultiHeadAttention(num_heads=w.heads, key_dim=d_k)
    layer.build((1, 1, d_model), (1, 1, d_model))
    # Keras keeps each projection as (d_model, heads, d_k) and the output as (heads, d_k, d).
    layer.set_weights(
        [
            w.wq.reshape(d_model, w.heads, d_k), w.bq.reshape(w.heads, d_k),
            w.wk.reshape(d_model, w.heads, d_k), w.bk.reshape(w.heads, d_k),
            w.wv.reshape(d_model, w.heads, d_k), w.bv.reshape(w.heads, d_k),
            w.wo.reshape(w.heads, d_k, d_model), w.bo,
        ]
    )  # fmt: skip
    return layer


def dot_product_spread(
    dims: Any, *, keys: int = 10, samples: int = 2000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Why ``sqrt(d_k)``: how ``q . k`` and the softmax's largest weight grow with ``d_k``.

    For each ``d`` in ``dims``, draws ``samples`` queries and ``keys`` keys per query with
    independent unit-variance entries.

    Args:
        dims: the key dimensions ``d_k`` to try.
        keys: keys per query (the softmax's length).
        samples: queries per dimension.
        seed: the random seed.

    Returns:
        ``variance`` of ``q . k`` (about ``d``), and the mean largest softmax weight over the
        keys without (``max_weight_raw``) and with (``max_weight_scaled``) the division by
        ``sqrt(d)``.
    """
    dims = [_checks.positive_int("dims", int(d)) for d in np.atleast_1d(dims)]
    keys = _checks.positive_int("keys", keys)
    samples = _checks.positive_int("samples", samples)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    result: dict[str, list[float]] = {"variance": [], "max_weight_raw": [], "max_weight_scaled": []}
    for d in dims:
        q = rng.standard_normal((samples, 1, d))
        k = rng.standard_normal((samples, keys, d))
        logits = (q * k).sum(axis=-1)
        result["variance"].append(float(logits.var()))
        for name, scale in (("max_weight_raw", 1.0), ("max_weight_scaled", np.sqrt(d))):
            z = logits / scale
            p = np.exp(z - z.max(axis=1, keepdims=True))
            result[name].append(float((p.max(axis=1) / p.sum(axis=1)).mean()))
    return {"dims": np.array(dims), **{name: np.array(v) for name, v in result.items()}}
