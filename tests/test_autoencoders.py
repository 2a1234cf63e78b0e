"""Tests for mapping_lib.autoencoders: corruption, the KL term, the VAE and the overlap measure."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from mapping_lib import autoencoders as ae
from mapping_lib import device

# ------------------------------------------------------------------------------- corrupt


def test_corrupt_adds_noise_of_the_asked_size_and_keeps_the_input():
    grey = np.full((200, 28, 28), 0.5, dtype=np.float32)
    noisy = ae.corrupt(grey, 0.1, seed=0)
    assert noisy.shape == grey.shape and noisy.dtype == np.float32
    assert np.all(grey == 0.5)  # the input is not changed in place
    # 0.5 is five standard deviations from both ends: clipping does (almost) nothing.
    assert np.mean(noisy - grey) == pytest.approx(0.0, abs=1e-3)
    assert np.std(noisy - grey) == pytest.approx(0.1, rel=0.01)


def test_corrupt_clips_to_the_pixel_range():
    black = np.zeros((100, 784))
    noisy = ae.corrupt(black, 0.4, seed=1)
    assert noisy.min() == 0.0 and noisy.max() <= 1.0
    # Half the noise is negative and clipped away; the rest is a half-normal, mean s/sqrt(2 pi).
    assert np.mean(noisy == 0.0) == pytest.approx(0.5, abs=0.01)
    assert noisy.mean() == pytest.approx(0.4 / np.sqrt(2 * np.pi), rel=0.02)
    assert ae.corrupt(np.ones((10, 10)), 0.4, seed=1).max() == 1.0


def test_corrupt_is_deterministic_in_its_seed():
    images = np.random.default_rng(0).random((20, 28, 28))
    np.testing.assert_array_equal(ae.corrupt(images, 0.3, seed=5), ae.corrupt(images, 0.3, seed=5))
    assert not np.array_equal(ae.corrupt(images, 0.3, seed=5), ae.corrupt(images, 0.3, seed=6))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"noise_std": -1}, "noise_std must be a positive number, got -1"),
        ({"noise_std": 0}, "noise_std"),
        ({"noise_std": float("nan")}, "noise_std"),
        ({"seed": -1}, "seed"),
        ({"images": np.full((2, 2), 1.5)}, "images must hold pixel values in"),
        ({"images": np.array([[0.0, np.inf]])}, "images"),
    ],
)
def test_corrupt_rejects_bad_arguments(kwargs, name):
    arguments = {"images": np.zeros((2, 2)), "noise_std": 0.3, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        ae.corrupt(arguments.pop("images"), arguments.pop("noise_std"), **arguments)


# --------------------------------------------------------------------------- the KL term


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = np.zeros((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(ae.kl_to_standard_normal(zeros, zeros), np.zeros(3))
    # One dimension, mean 1, variance 1: (1 + 1 - 1 - 0) / 2.
    assert float(ae.kl_to_standard_normal([[1.0]], [[0.0]])[0]) == pytest.approx(0.5)
    assert float(ae.kl_to_standard_normal([[0.0]], [[1.0]])[0]) > 0  # wider than the prior
    assert float(ae.kl_to_standard_normal([[0.0]], [[-1.0]])[0]) > 0  # narrower


def test_kl_matches_a_monte_carlo_estimate():
    mean = np.array([0.5, -1.2, 0.0])
    log_variance = np.array([0.4, -0.8, -2.0])
    std = np.exp(0.5 * log_variance)
    z = mean + std * np.random.default_rng(0).standard_normal((400_000, 3))
    # KL(q || p) = E_q[log q(z) - log p(z)]; the 2 pi terms cancel.
    log_q = -0.5 * (((z - mean) / std) ** 2 + log_variance)
    log_p = -0.5 * z**2
    estimate = np.mean(np.sum(log_q - log_p, axis=1))
    exact = float(ae.kl_to_standard_normal(mean[None], log_variance[None])[0])
    assert exact == pytest.approx(estimate, rel=0.01)


# --------------------------------------------------------------------------------- VAE


def _patterns(n: int = 512) -> np.ndarray:
    """Binary 16-pixel images: two prototypes with 1 in 16 pixels flipped."""
    rng = np.random.default_rng(0)
    prototypes = np.array([[1.0] * 8 + [0.0] * 8, [0.0, 1.0] * 8])
    flips = rng.random((n, 16)) < 1 / 16
    return np.abs(prototypes[rng.integers(0, 2, n)] - flips).astype(np.float32)


def test_reparameterisation_lets_the_gradient_reach_mean_and_variance():
    vae = ae.VariationalAutoencoder(latent_dim=3, hidden=(4,), input_dim=5)
    mean = tf.Variable(tf.zeros((6, 3)))
    log_variance = tf.Variable(tf.fill((6, 3), -0.5))
    with tf.GradientTape() as tape:
        z = vae.reparameterise(mean, log_variance)
        total = tf.reduce_sum(z)
    grad_mean, grad_log_variance = tape.gradient(total, [mean, log_variance])
    np.testing.assert_allclose(grad_mean, np.ones((6, 3)))  # dz/dmean = 1
    # dz/ds = 0.5 * exp(s / 2) * epsilon = 0.5 * (z - mean): the sample, not zero.
    np.testing.assert_allclose(grad_log_variance, 0.5 * (z - mean), rtol=1e-5)
    assert np.all(grad_log_variance != 0)


def test_train_step_lowers_the_loss_and_reports_its_parts():
    device.seed_everything(0)
    x = _patterns()
    vae = ae.VariationalAutoencoder(latent_dim=2, hidden=(16,), input_dim=16, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(0.01))
    before = vae.evaluate(x, x, batch_size=128, verbose=0, return_dict=True)
    history = vae.fit(x, epochs=8, batch_size=64, verbose=0).history
    after = vae.evaluate(x, batch_size=128, verbose=0, return_dict=True)
    assert set(history) == {"loss", "reconstruction", "kl"}
    assert history["loss"][-1] < 0.7 * history["loss"][0], history["loss"]
    assert after["loss"] < 0.7 * before["loss"], (before, after)
    assert after["loss"] == pytest.approx(after["reconstruction"] + after["kl"], rel=1e-4)
    assert after["kl"] > 0
    # Two prototypes: the mean codes of the two kinds must separate.
    codes = vae.encode_mean(x)
    kind = x[:, 0] == 1
    assert np.linalg.norm(codes[kind].mean(0) - codes[~kind].mean(0)) > 1.0


def test_sample_and_encode_mean():
    vae = ae.VariationalAutoencoder(latent_dim=2, hidden=(8,), input_dim=16, seed=3)
    images = vae.sample(7, seed=1)
    assert images.shape == (7, 16) and images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, vae.sample(7, seed=1))
    assert not np.array_equal(images, vae.sample(7, seed=2))
    x = _patterns(10)
    codes = vae.encode_mean(x, batch_size=3)  # batches that do not divide 10
    np.testing.assert_allclose(codes, np.asarray(vae.encoder(x))[:, :2], rtol=1e-6)
    np.testing.assert_allclose(vae(x), vae.decoder(codes), rtol=1e-5)  # inference: the mean


def test_given_networks_and_config_round_trip():
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])  # 2 * 4 numbers
    decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="sigmoid")])
    vae = ae.VariationalAutoencoder(latent_dim=4, encoder=encoder, decoder=decoder)
    assert vae(np.zeros((2, 6), np.float32)).shape == (2, 6)
    config = vae.get_config()
    copy = ae.VariationalAutoencoder.from_config(config)
    assert copy.get_config() == config and copy.encoder.output_shape == (None, 8)
    wrong = ae.VariationalAutoencoder(latent_dim=3, encoder=encoder, decoder=decoder)
    with pytest.raises(ValueError, match="encoder must output 2 \\* latent_dim = 6"):
        wrong.encode_mean(np.zeros((2, 6)))


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: ae.VariationalAutoencoder(latent_dim=0), "latent_dim"),
        (lambda: ae.VariationalAutoencoder(hidden=(16, -2)), "hidden\\[1\\]"),
        (lambda: ae.VariationalAutoencoder(input_dim=0), "input_dim"),
        (lambda: ae.VariationalAutoencoder(seed=-1), "seed"),
        (lambda: ae.VariationalAutoencoder(2, (4,), 4).sample(0, seed=0), "n must"),
        (lambda: ae.VariationalAutoencoder(2, (4,), 4).sample(3, seed=-1), "seed"),
        (lambda: ae.VariationalAutoencoder(2, (4,), 4).encode_mean([[0.0] * 4], 0), "batch_size"),
        (lambda: ae.dense_autoencoder(code_dim=0), "code_dim"),
        (lambda: ae.dense_autoencoder(hidden=[0]), "hidden\\[0\\]"),
    ],
)
def test_vae_and_builders_reject_bad_arguments(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_wrong_types_raise_type_errors_naming_the_argument():
    with pytest.raises(TypeError, match="encoder must be a keras.Model"):
        ae.VariationalAutoencoder(encoder="dense")
    with pytest.raises(TypeError, match="hidden must be a list"):
        ae.dense_autoencoder(hidden=64)
    with pytest.raises(TypeError, match="noise_std"):
        ae.corrupt(np.zeros(3), "0.3", seed=0)


def test_dense_autoencoder_shares_weights_and_mirrors():
    encoder, decoder, model = ae.dense_autoencoder(3, hidden=(32, 8), input_dim=20)
    assert [layer.units for layer in encoder.layers] == [32, 8, 3]
    assert [layer.units for layer in decoder.layers] == [8, 32, 20]
    x = np.random.default_rng(0).random((4, 20)).astype(np.float32)
    np.testing.assert_allclose(model(x), decoder(encoder(x)), rtol=1e-6)


# ------------------------------------------------------------------ overlapping classes


def test_most_overlapping_classes_finds_the_mixed_pair():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [0.5, 0.0], [10.0, 10.0]])  # 0 and 1 overlap, 2 apart
    labels = np.repeat([0, 1, 2], [300, 200, 300])
    codes = centres[labels] + rng.normal(0, 0.5, (800, 2))
    overlap = ae.most_overlapping_classes(codes, labels, k=5)
    # The smaller class 1 is outvoted inside the shared cloud more often than class 0.
    assert (overlap.first, overlap.second) == (1, 0)
    assert 0.2 < overlap.rate < 0.6
    # No code votes for itself: with k = 1 the nearest *other* code decides.
    assert ae.most_overlapping_classes(codes, labels, k=1).rate > 0.2
    separated = centres[labels] * 10 + rng.normal(0, 0.5, (800, 2))
    assert ae.most_overlapping_classes(separated, labels).rate == 0.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"k": 0}, "k must"),
        ({"k": 10}, "k must be smaller"),
        ({"labels": np.arange(9) % 2}, "codes and labels"),
        ({"labels": np.zeros(10)}, "two classes"),
        ({"labels": np.full(10, 0.5)}, "labels must hold"),
        ({"codes": np.zeros(10)}, "codes must have rank 2"),
    ],
)
def test_most_overlapping_classes_rejects_bad_arguments(kwargs, name):
    arguments = {"codes": np.arange(20.0).reshape(10, 2), "labels": np.arange(10) % 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        ae.most_overlapping_classes(arguments.pop("codes"), arguments.pop("labels"), **arguments)
