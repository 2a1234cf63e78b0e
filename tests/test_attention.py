"""Attention written out: it equals Keras' MultiHeadAttention, and its masks hold."""

from __future__ import annotations

import numpy as np
import pytest

from mapping_lib import attention as at


@pytest.mark.parametrize(
    ("batch", "t_q", "t_k", "d_model", "heads", "d_k"),
    [(1, 1, 1, 4, 1, 4), (2, 3, 5, 8, 2, 4), (3, 6, 4, 12, 3, 2), (2, 4, 4, 16, 4, 8)],
)
@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_equals_keras(
    batch: int, t_q: int, t_k: int, d_model: int, heads: int, d_k: int, masked: bool
) -> None:
    rng = np.random.default_rng(batch + t_q)
    query = rng.standard_normal((batch, t_q, d_model)).astype("float32")
    value = rng.standard_normal((batch, t_k, d_model)).astype("float32")
    weights = at.random_weights(d_model, heads, d_k, seed=t_k)
    mask = None
    if masked:
        mask = rng.random((batch, t_q, t_k)) < 0.6
        mask[..., 0] = True  # every query keeps at least one key
    ours, our_scores = at.multi_head_attention(query, value, weights, mask)
    keras_out, keras_scores = at.keras_attention(weights)(
        query, value, attention_mask=mask, return_attention_scores=True
    )
    np.testing.assert_allclose(ours, keras_out, atol=1e-5)
    np.testing.assert_allclose(our_scores, keras_scores, atol=1e-6)


def test_attention_is_the_formula() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(shape) for shape in ((3, 4), (5, 4), (5, 2)))
    out, weights = at.scaled_dot_product_attention(q, k, v)
    logits = q @ k.T / 2.0  # sqrt(d_k) = 2
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-5)
    np.testing.assert_allclose(out, expected @ v, rtol=1e-5, atol=1e-6)


def test_causal_mask_puts_no_weight_on_later_positions() -> None:
    x = np.random.default_rng(1).standard_normal((2, 6, 4))
    _, weights = at.scaled_dot_product_attention(x, x, x, at.causal_mask(6))
    weights = np.asarray(weights)
    assert (weights[:, np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-6)
    assert weights[:, 0, 0] == pytest.approx(1.0)


def test_padding_mask_puts_no_weight_on_pads() -> None:
    tokens = np.array([[5, 6, 0, 0], [7, 0, 0, 0]])
    x = np.random.default_rng(2).standard_normal((2, 4, 3))
    _, weights = at.scaled_dot_product_attention(x, x, x, at.padding_mask(tokens))
    weights = np.asarray(weights)
    assert (weights[tokens[:, None, :].repeat(4, axis=1) == 0] == 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-6)


def test_heads_split_and_merge_back() -> None:
    x = np.arange(2 * 3 * 8, dtype="float32").reshape(2, 3, 8)
    split = at.split_heads(x, 4)
    assert split.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(split[0, 1, 2], x[0, 2, 2:4])  # head 1 owns columns 2-3
    np.testing.assert_array_equal(at.merge_heads(split), x)


def test_dot_products_spread_like_d_and_scaling_undoes_it() -> None:
    spread = at.dot_product_spread([4, 64, 256], samples=2000)
    np.testing.assert_allclose(spread["variance"] / spread["dims"], 1.0, rtol=0.1)
    assert spread["max_weight_raw"][-1] > 0.85 > spread["max_weight_raw"][0]
    assert np.ptp(spread["max_weight_scaled"]) < 0.05


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: at.scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 4))),
         "query, key and value must"),
        (lambda: at.split_heads(np.ones((1, 2, 6)), 4), "x must be"),
        (lambda: at.padding_mask(np.ones(3, dtype=int)), "tokens must be"),
        (lambda: at.causal_mask(0), "length must be"),
        (lambda: at.random_weights(8, 0, 2), "heads must be"),
        (lambda: at.dot_product_spread([0]), "dims must be"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_by_name(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
