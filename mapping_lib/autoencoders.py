"""Autoencoders ``x -> z = g(x) -> h(z) ~ x``: dense, denoising, variational.

A denoising autoencoder learns ``h(g(corrupt(x))) ~ x`` (:func:`corrupt`). A variational one
(:class:`VariationalAutoencoder`) encodes a Gaussian q(z|x), samples z from it and pulls q
towards N(0, I) with a KL penalty, so that codes drawn from N(0, I) decode to new images.
:func:`most_overlapping_classes` names the two classes a code mixes most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from sklearn.neighbors import NearestNeighbors

from mapping_lib import _checks, layers


def corrupt(images: Any, noise_std: float, *, seed: int) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``noise_std`` to every pixel, then clip to [0, 1].

    The result is clipped to the pixel range [0, 1], so that it is still an image, like the
    clean targets and the sigmoid decoders' outputs. Clipping makes the noise smaller than
    ``noise_std`` on black and white pixels: a black pixel only ever gets brighter.

    Args:
        images: pixel values in [0, 1], any shape.
        noise_std: the noise's standard deviation, > 0.
        seed: the noise's seed; the same seed gives the same noise.

    Returns:
        A float32 array of the shape of ``images``.
    """
    images = _checks.finite_array("images", images)
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            "images must hold pixel values in [0, 1], "
            f"got values from {images.min():g} to {images.max():g}"
        )
    noise_std = _checks.positive_float("noise_std", noise_std)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    noisy = images + rng.normal(0.0, noise_std, size=images.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def dense_autoencoder(
    code_dim: int = 2, hidden: Sequence[int] = (256, 64), input_dim: int = 784
) -> tuple[keras.Sequential, keras.Sequential, keras.Sequential]:
    """The chapter's dense autoencoder: ``input_dim -> hidden -> code_dim`` and the mirror.

    Args:
        code_dim: the size of the code z.
        hidden: the hidden layers' sizes on the encoder side; the decoder reverses them.
        input_dim: the size of one flat input (784 for 28 x 28 images).

    Returns:
        ``(encoder, decoder, autoencoder)``; the autoencoder shares the other two's weights.
    """
    code_dim = _checks.positive_int("code_dim", code_dim)
    hidden = _sizes(hidden)
    encoder = _mlp("encoder", input_dim, hidden, code_dim, None)
    decoder = _mlp("decoder", code_dim, hidden[::-1], input_dim, "sigmoid")
    return encoder, decoder, keras.Sequential([encoder, decoder], name="autoencoder")


def _sizes(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a list of positive ints, got {hidden!r}")
    return tuple(_checks.positive_int(f"hidden[{i}]", size) for i, size in enumerate(hidden))


def _mlp(
    name: str, inputs: int, hidden: tuple[int, ...], outputs: int, last: str | None
) -> keras.Sequential:
    inputs = _checks.positive_int("input_dim", inputs)
    stack = [layers.Dense(size, activation="relu") for size in hidden]
    return keras.Sequential(
        [keras.Input(shape=(inputs,)), *stack, layers.Dense(outputs, activation=last)], name=name
    )


def kl_to_standard_normal(mean: Any, log_variance: Any) -> tf.Tensor:
    """KL(N(mean, diag(exp(log_variance))) || N(0, I)) for each row, in closed form.

    Per dimension it is ``(exp(s) + m**2 - 1 - s) / 2`` with ``s`` the log-variance: zero
    exactly when m = 0 and s = 0, and growing as the Gaussian moves away or narrows.

    Args:
        mean, log_variance: arrays of shape (batch, latent_dim).

    Returns:
        A tensor of shape (batch,): the divergence of each example, in nats.
    """
    # float32 also under mixed precision: exp() of a float16 log-variance overflows early.
    mean = keras.ops.cast(mean, "float32")
    log_variance = keras.ops.cast(log_variance, "float32")
    terms = keras.ops.exp(log_variance) + keras.ops.square(mean) - 1.0 - log_variance
    return 0.5 * keras.ops.sum(terms, axis=-1)


@keras.saving.register_keras_serializable(package="mapping_lib")
class VariationalAutoencoder(keras.Model):
    """A VAE: encoder -> (mean, log-variance) -> sampled z -> decoder -> image in [0, 1].

    Trains with ``model.compile(optimizer)`` and ``model.fit(x)`` (or ``fit(noisy, clean)``:
    a target, when given, replaces ``x`` as what to reconstruct). Its loss per image is the
    negative evidence lower bound: binary cross-entropy summed over pixels plus the KL
    divergence of q(z|x) to N(0, I). The sum, not the mean, over pixels: it is -log p(x|z)
    of one whole image, the scale the KL term is measured on; a per-pixel mean would weigh
    the KL 784 times too heavily and squash every code onto the prior.

    Not through ``mapping_lib.train.fit``: its trainer runs its own step on ``call``, which
    would silently drop the KL term.

    Args:
        latent_dim: the size of z.
        hidden: hidden sizes of the dense encoder built when ``encoder`` is None; the
            decoder built when ``decoder`` is None reverses them.
        input_dim: the size of one flat input, for the dense networks built here.
        encoder: a model from inputs to ``2 * latent_dim`` numbers (means, then
            log-variances), or None.
        decoder: a model from ``latent_dim`` numbers to an image in [0, 1], or None.
        seed: the seed of the training noise (the reparameterisation's epsilon).
    """

    def __init__(
        self,
        latent_dim: int = 2,
        hidden: Sequence[int] = (256, 64),
        input_dim: int = 784,
        *,
        encoder: keras.Model | None = None,
        decoder: keras.Model | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.hidden = _sizes(hidden)
        self.input_dim = _checks.positive_int("input_dim", input_dim)
        self.seed = _checks.seed("seed", seed)
        for name, part in (("encoder", encoder), ("decoder", decoder)):
            if part is not None and not isinstance(part, keras.Model):
                raise TypeError(f"{name} must be a keras.Model or None, got {type(part).__name__}")
        if encoder is None:
            encoder = _mlp("encoder", input_dim, self.hidden, 2 * self.latent_dim, None)
        if decoder is None:
            decoder = _mlp("decoder", self.latent_dim, self.hidden[::-1], input_dim, "sigmoid")
        self.encoder, self.decoder = encoder, decoder
        # A seeded generator, not the global one: two VAEs with one seed train alike.
        self.noise = keras.random.SeedGenerator(self.seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")
        }

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here, Keras resets them at the start of every epoch.
        return list(self.trackers.values())

    def encode(self, x: Any, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """The mean and log-variance of q(z|x), each (batch, latent_dim)."""
        output = self.encoder(x, training=training)
        if output.shape[-1] != 2 * self.latent_dim:
            raise ValueError(
                f"encoder must output 2 * latent_dim = {2 * self.latent_dim} numbers (means, "
                f"then log-variances), got {output.shape[-1]}"
            )
        return output[..., : self.latent_dim], output[..., self.latent_dim :]

    def reparameterise(self, mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
        """z = mean + sigma * epsilon, epsilon ~ N(0, I): the noise is an input, so dz/dmean
        and dz/dsigma exist and the encoder learns through the sample."""
        epsilon = keras.random.normal(keras.ops.shape(mean), seed=self.noise)
        return mean + keras.ops.exp(0.5 * log_variance) * epsilon

    def call(self, x: Any, training: bool = False) -> tf.Tensor:
        """The reconstruction: of a sampled code in training, of the mean code otherwise."""
        mean, log_variance = self.encode(x, training=training)
        z = self.reparameterise(mean, log_variance) if training else mean
        return self.decoder(z, training=training)

    def losses_of(self, x: Any, target: Any, training: bool) -> dict[str, tf.Tensor]:
        """The batch means of the reconstruction loss, the KL term and their sum."""
        mean, log_variance = self.encode(x, training=training)
        z = self.reparameterise(mean, log_variance)  # sampled in testing too: the same ELBO
        reconstruction = self.decoder(z, training=training)
        target = keras.ops.cast(target, reconstruction.dtype)
        per_pixel = keras.ops.binary_crossentropy(target, reconstruction)
        pixel_axes = tuple(range(1, len(reconstruction.shape)))
        recon = keras.ops.mean(keras.ops.sum(per_pixel, axis=pixel_axes))
        kl = keras.ops.mean(kl_to_standard_normal(mean, log_variance))
        total = recon + kl + (keras.ops.sum(self.losses) if self.losses else 0.0)
        return {"loss": total, "reconstruction": recon, "kl": kl}

    def _report(self, values: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            values = self.losses_of(x, x if y is None else y, training=True)
            scaled = self.optimizer.scale_loss(values["loss"])  # loss scaling, mixed precision
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._report(values)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._report(self.losses_of(x, x if y is None else y, training=False))

    def encode_mean(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """The means of q(z|x) for the array ``x``, batch by batch: (N, latent_dim)."""
        batch_size = _checks.positive_int("batch_size", batch_size)
        x = _checks.finite_array("x", x)
        parts = [self.encode(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
        return np.concatenate([np.asarray(part) for part in parts])

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """Decode ``n`` codes drawn from the prior N(0, I): new images, values in [0, 1]."""
        n = _checks.positive_int("n", n)
        rng = np.random.default_rng(_checks.seed("seed", seed))  # NumPy: same on every device
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        return np.asarray(self.decoder(z, training=False))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            hidden=list(self.hidden),
            input_dim=self.input_dim,
            seed=self.seed,
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> VariationalAutoencoder:
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


class Overlap(NamedTuple):
    """Two classes a code mixes, and how often k-NN in the code takes one for the other."""

    first: int
    second: int
    rate: float


def most_overlapping_classes(codes: Any, labels: Any, *, k: int = 5) -> Overlap:
    """The pair of classes whose codes overlap most, by k-nearest-neighbour votes.

    Each code gets the majority label of its ``k`` nearest *other* codes. A pair's rate is
    the share of its two classes' codes taken for the other class of the pair; ``first``
    is the class more often mistaken for the other.

    Args:
        codes: (N, d) codes, e.g. an encoder's 2-D outputs.
        labels: (N,) integer class labels (used only for this measurement).
        k: the number of neighbours.
    """
    codes = _checks.finite_array("codes", codes, ndim=2)
    labels = _checks.finite_array("labels", labels, ndim=1)
    _checks.same_length("codes", codes, "labels", labels)
    k = _checks.positive_int("k", k)
    if not np.all(labels == np.round(labels)) or labels.min() < 0:
        raise ValueError("labels must hold non-negative integer class labels")
    labels = labels.astype(int)
    if k >= len(codes):
        raise ValueError(f"k must be smaller than the number of codes ({len(codes)}), got {k}")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must contain at least two classes")
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(codes)
    votes = labels[neighbours[:, 1:]]  # column 0 is the code itself
    classes = labels.max() + 1
    counts = np.stack([np.bincount(row, minlength=classes) for row in votes])
    predicted = counts.argmax(axis=1)  # ties: the smaller label, as bincount lists them
    confusion = np.zeros((classes, classes), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    sizes = confusion.sum(axis=1)
    pair_sizes = sizes[:, None] + sizes[None, :]
    mixed = (confusion + confusion.T) / np.maximum(pair_sizes, 1)
    np.fill_diagonal(mixed, -1.0)
    a, b = np.unravel_index(mixed.argmax(), mixed.shape)
    first, second = (a, b) if confusion[a, b] >= confusion[b, a] else (b, a)
    return Overlap(int(first), int(second), float(mixed[a, b]))
