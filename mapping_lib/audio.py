"""Sound as a picture: the log-mel spectrogram, computed with ``tf.signal``.

A waveform is a long 1-D signal (8,000 numbers per second for the spoken digits). Cut into
short overlapping frames, each frame's spectrum says which frequencies are present at that
moment; stacked side by side the spectra form an image, time along one axis and frequency
along the other. Two changes make the image closer to what an ear hears: frequencies are
pooled into bands that are narrow at low pitch and wide at high pitch (the mel scale), and
the energy is taken on a logarithmic scale. A CNN can then read the result like a photo.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from mapping_lib import _checks


def hz_to_mel(hz: Any) -> np.ndarray:
    """The mel scale used by ``tf.signal``: ``mel = 1127 ln(1 + hz / 700)``."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: Any) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * np.expm1(np.asarray(mel, dtype=np.float64) / 1127.0)


def _band(sample_rate: Any, lower_hz: Any, upper_hz: Any) -> tuple[int, float, float]:
    sample_rate = _checks.positive_int("sample_rate", sample_rate)
    nyquist = sample_rate / 2
    upper_hz = nyquist if upper_hz is None else upper_hz
    lower_hz = _checks.in_range("lower_hz", lower_hz, 0.0, nyquist)
    upper_hz = _checks.in_range("upper_hz", upper_hz, 0.0, nyquist, closed="(]")
    if lower_hz >= upper_hz:
        raise ValueError(
            f"lower_hz must be below upper_hz, got lower_hz={lower_hz} and upper_hz={upper_hz}"
        )
    return sample_rate, lower_hz, upper_hz


def mel_filterbank(
    num_mel_bins: int = 40,
    *,
    sample_rate: int = 8000,
    frame_length: int = 256,
    lower_hz: float = 20.0,
    upper_hz: float | None = None,
) -> tf.Tensor:
    """Triangular mel filters as a (frame_length // 2 + 1, num_mel_bins) float32 matrix.

    Row k is FFT bin k (frequency ``k * sample_rate / frame_length``), column m the m-th band;
    a power spectrum times this matrix gives the energy per band. ``upper_hz`` defaults to
    half the sample rate (the highest frequency a recording can hold).
    """
    num_mel_bins = _checks.positive_int("num_mel_bins", num_mel_bins)
    frame_length = _checks.positive_int("frame_length", frame_length)
    sample_rate, lower_hz, upper_hz = _band(sample_rate, lower_hz, upper_hz)
    return tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=num_mel_bins,
        num_spectrogram_bins=frame_length // 2 + 1,
        sample_rate=sample_rate,
        lower_edge_hertz=lower_hz,
        upper_edge_hertz=upper_hz,
    )


def mel_band_centres(
    num_mel_bins: int = 40,
    *,
    sample_rate: int = 8000,
    lower_hz: float = 20.0,
    upper_hz: float | None = None,
) -> np.ndarray:
    """The centre frequency in Hz of each band of :func:`mel_filterbank` (for axis labels)."""
    num_mel_bins = _checks.positive_int("num_mel_bins", num_mel_bins)
    _, lower_hz, upper_hz = _band(sample_rate, lower_hz, upper_hz)
    # tf.signal spaces num_mel_bins + 2 edges evenly in mel; band m peaks at edge m + 1.
    edges = np.linspace(hz_to_mel(lower_hz), hz_to_mel(upper_hz), num_mel_bins + 2)
    return mel_to_hz(edges[1:-1])


def log_mel_spectrogram(
    waveforms: Any,
    *,
    sample_rate: int = 8000,
    frame_length: int = 256,
    frame_step: int = 128,
    num_mel_bins: int = 40,
    lower_hz: float = 20.0,
    upper_hz: float | None = None,
    floor: float = 1e-6,
) -> tf.Tensor:
    """Waveforms (samples,) or (batch, samples) -> float32 log-mel energies (..., frames, bins).

    Each frame of ``frame_length`` samples, ``frame_step`` apart, is multiplied by a periodic
    Hann window and Fourier-transformed; its power spectrum ``|X_k|^2`` is pooled by
    :func:`mel_filterbank` and ``log(energy + floor)`` taken (``floor`` keeps silence finite).
    A recording of N samples gives ``1 + (N - frame_length) // frame_step`` frames.
    """
    waves = _checks.finite_array("waveforms", waveforms, ndim=(1, 2))
    frame_length = _checks.positive_int("frame_length", frame_length)
    frame_step = _checks.positive_int("frame_step", frame_step)
    floor = _checks.positive_float("floor", floor)
    if waves.shape[-1] < frame_length:
        raise ValueError(
            f"waveforms must have at least frame_length={frame_length} samples, "
            f"got {waves.shape[-1]}"
        )
    filters = mel_filterbank(
        num_mel_bins,
        sample_rate=sample_rate,
        frame_length=frame_length,
        lower_hz=lower_hz,
        upper_hz=upper_hz,
    )
    spectrum = tf.signal.stft(
        tf.constant(waves, dtype=tf.float32), frame_length, frame_step, fft_length=frame_length
    )
    power = tf.math.real(spectrum * tf.math.conj(spectrum))
    return tf.math.log(tf.tensordot(power, filters, axes=1) + floor)


def standardize(spectrograms: Any) -> np.ndarray:
    """Shift and scale each spectrogram (along all but the first axis) to mean 0, std 1.

    Removes differences in loudness and microphone gain between recordings, which say
    nothing about the spoken digit. A constant spectrogram becomes all zeros.
    """
    batch = _checks.finite_array("spectrograms", spectrograms)
    if batch.ndim < 2:
        raise ValueError(f"spectrograms must be a batch (rank >= 2), got shape {batch.shape}")
    axes = tuple(range(1, batch.ndim))
    mean = batch.mean(axis=axes, keepdims=True)
    std = batch.std(axis=axes, keepdims=True)
    return ((batch - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
