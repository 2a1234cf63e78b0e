"""Tests for mapping_lib.audio: the mel scale, the filterbank and the log-mel spectrogram."""

from __future__ import annotations

import numpy as np
import pytest

from mapping_lib import audio

RATE = 8000


def tone(hz: float, seconds: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * hz * t).astype(np.float32)


def numpy_log_mel(wave: np.ndarray, length: int, step: int, bins: int) -> np.ndarray:
    """The recipe written out independently: frames, periodic Hann window, |rfft|^2, filters."""
    frames = np.stack(
        [wave[start : start + length] for start in range(0, len(wave) - length + 1, step)]
    ).astype(np.float64)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    power = np.abs(np.fft.rfft(frames * hann, axis=1)) ** 2
    filters = audio.mel_filterbank(bins, sample_rate=RATE, frame_length=length).numpy()
    return np.log(power @ filters + 1e-6)


def test_mel_scale_round_trip_and_known_value():
    hz = np.array([0.0, 100.0, 700.0, 1000.0, 4000.0])
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(hz)), hz, atol=1e-9)
    assert audio.hz_to_mel(700.0) == pytest.approx(1127.0 * np.log(2.0))


@pytest.mark.parametrize(
    ("length", "step", "bins"), [(256, 128, 40), (200, 80, 20), (512, 256, 64)]
)
def test_log_mel_matches_the_numpy_recipe(length, step, bins):
    rng = np.random.default_rng(0)
    wave = (0.3 * rng.normal(size=3000) + tone(440, 3000 / RATE)).astype(np.float32)
    result = audio.log_mel_spectrogram(
        wave, sample_rate=RATE, frame_length=length, frame_step=step, num_mel_bins=bins
    ).numpy()
    assert result.shape == (1 + (3000 - length) // step, bins)
    np.testing.assert_allclose(result, numpy_log_mel(wave, length, step, bins), atol=1e-3)


def test_batch_equals_one_by_one():
    waves = np.stack([tone(300), tone(1200), np.zeros(4000, np.float32)])
    batch = audio.log_mel_spectrogram(waves).numpy()
    for row, wave in zip(batch, waves):
        np.testing.assert_allclose(row, audio.log_mel_spectrogram(wave).numpy(), atol=1e-5)
    # Silence gives log(floor) everywhere: finite, and the same in every band.
    np.testing.assert_allclose(batch[2], np.log(1e-6), atol=1e-5)


@pytest.mark.parametrize("hz", [250.0, 600.0, 1000.0, 2000.0, 3200.0])
def test_a_pure_tone_peaks_in_the_band_around_its_frequency(hz):
    spectrum = audio.log_mel_spectrogram(tone(hz)).numpy().mean(axis=0)
    centres = audio.mel_band_centres(40)
    loudest = int(spectrum.argmax())
    # The loudest band is the one whose centre is nearest to the tone on the mel scale.
    nearest = int(np.argmin(np.abs(audio.hz_to_mel(centres) - audio.hz_to_mel(hz))))
    assert abs(loudest - nearest) <= 1, (loudest, nearest)


def test_filterbank_shape_and_band_centres():
    filters = audio.mel_filterbank(40, sample_rate=RATE, frame_length=256).numpy()
    assert filters.shape == (129, 40) and (filters >= 0).all()
    frequencies = np.arange(129) * RATE / 256
    peaks = frequencies[filters.argmax(axis=0)]
    centres = audio.mel_band_centres(40, sample_rate=RATE)
    # Each triangle peaks at the FFT bin next to its centre (bins are 31.25 Hz apart).
    assert np.all(np.abs(peaks - centres) <= RATE / 256)
    assert np.all(np.diff(centres) > 0) and np.all(np.diff(np.diff(centres)) > 0)  # widening


def test_standardize_per_example():
    rng = np.random.default_rng(1)
    batch = rng.normal(3.0, 5.0, size=(4, 10, 6)).astype(np.float32)
    batch[3] = 7.0  # constant: becomes zeros, not NaN
    result = audio.standardize(batch)
    np.testing.assert_allclose(result[:3].mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(result[:3].std(axis=(1, 2)), 1.0, atol=1e-5)
    assert (result[3] == 0).all() and result.dtype == np.float32


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: audio.log_mel_spectrogram(np.zeros(100)), ValueError, "waveforms must have"),
        (lambda: audio.log_mel_spectrogram(np.zeros((2, 2, 400))), ValueError, "waveforms must"),
        (lambda: audio.log_mel_spectrogram([np.nan] * 400), ValueError, "waveforms must contain"),
        (lambda: audio.log_mel_spectrogram(["a"] * 400), TypeError, "waveforms must be"),
        (lambda: audio.log_mel_spectrogram(np.zeros(400), frame_step=0), ValueError, "frame_step"),
        (
            lambda: audio.log_mel_spectrogram(np.zeros(400), frame_length=2.5),
            TypeError,
            "frame_length",
        ),
        (lambda: audio.log_mel_spectrogram(np.zeros(400), floor=0), ValueError, "floor"),
        (lambda: audio.log_mel_spectrogram(np.zeros(400), upper_hz=5000), ValueError, "upper_hz"),
        (lambda: audio.mel_filterbank(40, lower_hz=3000, upper_hz=2000), ValueError, "lower_hz"),
        (lambda: audio.mel_filterbank(0), ValueError, "num_mel_bins"),
        (lambda: audio.mel_filterbank(40, sample_rate=-8000), ValueError, "sample_rate"),
        (lambda: audio.mel_band_centres(40, lower_hz=-1.0), ValueError, "lower_hz"),
        (lambda: audio.standardize(np.zeros(5)), ValueError, "spectrograms must be a batch"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
