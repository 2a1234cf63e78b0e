"""The digit-reversal task, the Transformer's mechanics, greedy decoding, attention maps, and
the encoder as a sentence classifier."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mapping_lib import transformer as tr


@pytest.fixture(scope="module")
def tiny() -> tr.Seq2Seq:
    keras.utils.set_random_seed(0)  # untrained: the tests check mechanics, not skill
    return tr.transformer(4, d_model=8, heads=2, layers=2)


def test_the_task_reverses_digit_strings_with_start_end_and_pad() -> None:
    data = tr.encode(["123", "90817"], 5)
    np.testing.assert_array_equal(data.source, [[4, 5, 6, 0, 0], [12, 3, 11, 4, 10]])
    np.testing.assert_array_equal(data.decoder_in[0], [tr.START, 6, 5, 4, 0, 0])
    np.testing.assert_array_equal(data.target[0], [6, 5, 4, tr.END, 0, 0])
    np.testing.assert_array_equal(data.target[1], [10, 4, 11, 3, 12, tr.END])
    assert tr.to_strings(data.target) == ["321", "71809"]


def test_random_strings_are_distinct_of_the_lengths_asked_and_avoid_exclude() -> None:
    train = tr.random_strings(500, (2, 3), seed=1)
    test = tr.random_strings(100, (2, 3), seed=2, exclude=train)
    assert len(set(train)) == 500 and not set(train) & set(test)
    assert {len(s) for s in train + test} == {2, 3}
    assert all(s.isdigit() for s in train)
    # A bag of words cannot tell a string from its reverse: the same digits, the same counts.
    assert sorted(train[0]) == sorted(train[0][::-1])


def test_training_lowers_the_loss() -> None:
    keras.utils.set_random_seed(0)
    net = tr.transformer(3, d_model=8, heads=2, layers=1)
    data = tr.encode(tr.random_strings(64, (1, 3), seed=0), 3)
    history = tr.train(net, data, epochs=3, batch_size=64, learning_rate=1e-2).history["loss"]
    assert history[-1] < history[0]


def test_decoding_has_the_target_layout(tiny: tr.Seq2Seq) -> None:
    data = tr.encode(["1234", "5"], 4)
    decoded = tr.greedy_decode(tiny, data.source)
    assert decoded.shape == (2, 5) and decoded.dtype == np.int32
    assert 0.0 <= tr.exact_match(tiny, data) <= 1.0


def test_greedy_decoding_takes_the_likeliest_token_step_by_step(tiny: tr.Seq2Seq) -> None:
    data = tr.encode(["3141"], 4)
    decoded = tr.greedy_decode(tiny, data.source)[0]
    decoder_in = np.concatenate([[tr.START], decoded[:-1]])[None].astype("int32")
    logits = np.asarray(tiny.model([data.source, decoder_in]))[0]
    np.testing.assert_array_equal(logits.argmax(axis=-1), decoded)


def test_attention_maps_have_one_row_per_output_and_rows_sum_to_one(tiny: tr.Seq2Seq) -> None:
    maps = tr.attention_maps(tiny, "271")
    rows = min(len(maps.output) + 1, 5)
    assert maps.weights.shape == (2, 2, rows, 3)
    np.testing.assert_allclose(maps.weights.sum(axis=-1), 1.0, atol=1e-5)
    shares = tr.mirror_fraction(tiny, tr.encode(["12", "345"], 4))
    assert shares.shape == (2,) and ((0 <= shares) & (shares <= 1)).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda net: tr.attention_maps(net, "12a"), "digits must be a string of the digits"),
        (lambda net: tr.attention_maps(net, "12345"), "digits must have at most 4"),
        (lambda net: tr.greedy_decode(net, np.zeros((2, 3))), r"source must be \(n, 4\)"),
        (lambda net: tr.encode(["1-2"], 4), "strings must be"),
        (lambda net: tr.random_strings(3, (3, 2), seed=0), "lengths must be"),
        (lambda net: tr.transformer(4, d_model=10, heads=4), "d_model must be a multiple"),
    ],
)
def test_bad_arguments_are_refused_by_name(tiny: tr.Seq2Seq, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(tiny)


def test_encoder_classifier_gives_one_logit_per_sentence() -> None:
    keras.utils.set_random_seed(0)
    one, two = (tr.encoder_classifier(20, 6, d_model=8, heads=2, blocks=b) for b in (1, 2))
    tokens = np.array([[4, 5, 6, 0, 0, 0], [7, 8, 9, 10, 11, 12]], np.int32)
    assert one(tokens).shape == (2, 1) and two(tokens).shape == (2, 1)
    assert two.count_params() > one.count_params()


def test_encoder_classifier_ignores_padding() -> None:
    keras.utils.set_random_seed(0)
    short, long = (tr.encoder_classifier(20, n, d_model=8, heads=2, blocks=2) for n in (4, 7))
    long.set_weights(short.get_weights())  # positions are fixed codes: same weights, any length
    sentences = [[4, 5, 6], [9], [3, 3, 17, 19]]
    padded = [np.array([s + [0] * (n - len(s)) for s in sentences], np.int32) for n in (4, 7)]
    np.testing.assert_allclose(short(padded[0]), long(padded[1]), atol=1e-5)
    assert np.isfinite(np.asarray(short(np.zeros((1, 4), np.int32)))).all()  # all padding


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"d_model": 10, "heads": 4}, ValueError, "d_model must be a multiple of heads=4"),
        ({"length": 0}, ValueError, "length must be a positive int"),
        ({"blocks": 1.5}, TypeError, "blocks must be a positive int"),
        ({"vocab_size": -1}, ValueError, "vocab_size must be a positive int"),
    ],
)
def test_encoder_classifier_refuses_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    arguments = {"vocab_size": 20, "length": 6, **kwargs}
    with pytest.raises(error, match=message):
        tr.encoder_classifier(**arguments)
