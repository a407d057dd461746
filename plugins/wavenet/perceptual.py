"""Differentiable stand-ins for PESQ and STOI, used as training losses of ``wavenet``.

A spectral loss alone leaves the artefacts PESQ punishes most (phase and level wobble in
the loudness domain), so training also minimises the quantities the two measures are built
from. Both functions take waveforms of shape (batch, samples), float32, 16 kHz, full scale
±1, reference first, and return one value per example (batch,).

- :func:`pesq_disturbance`: the disturbance of ITU-T P.862 (PESQ) in its wideband form,
  ``0.1 d_sym + 0.0309 d_asym``; PESQ's raw score is ``4.5`` minus it. Followed: level
  alignment (300-3500 Hz power to 1e7, int16 units), the wideband input filter (applied to
  the power spectrum), 32 ms Hann frames at 50 % overlap, the 49 Bark bands with their
  power-density corrections, compensation of the frame gain, Zwicker loudness, the dead
  zone, the asymmetry factor, and the L6-over-20-frames / L2-over-time aggregation. Left
  out: time alignment (the codec has a fixed, removed delay), the IIR level filter (an FFT
  band sum instead), and, on purpose, P.862's compensation of the frequency response: it
  forgives a filter of up to ±20 dB per band, and a codec trained through it learns to
  colour its output (measured: -17.5 dB at 1-2 kHz after 3,500 steps). So the stand-in is
  stricter than PESQ for any filtering. The band tables are P.862's values for 16 kHz.
- :func:`stoi_correlation`: STOI's intermediate intelligibility measure (Taal et al. 2011)
  at 16 kHz: 15 one-third-octave band envelopes from 150 Hz, 25 ms frames every 12.5 ms,
  30-frame segments, the degraded envelope scaled to the reference's energy and clipped at
  -15 dB SDR, then the correlation per band and segment. STOI's silent-frame removal is
  left out: training crops are chosen to be active.

These are losses, not the measures: evaluation uses the ``pesq`` and ``pystoi`` packages.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["pesq_disturbance", "pesq_mos", "stoi_correlation"]

RATE = 16000

# ITU-T P.862 wideband tables (16 kHz, 512-point FFT, 49 Bark bands).
_BINS_PER_BAND = [
    1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4,
    3, 4, 5, 4, 5, 6, 6, 7, 8, 9, 9, 12, 12, 15, 16, 18, 21, 25, 20]
_CENTRE_BARK = [
    0.078672, 0.316341, 0.636559, 0.961246, 1.290450, 1.624217, 1.962597, 2.305636, 2.653383,
    3.005889, 3.363201, 3.725371, 4.092449, 4.464486, 4.841533, 5.223642, 5.610866, 6.003256,
    6.400869, 6.803755, 7.211971, 7.625571, 8.044611, 8.469146, 8.899232, 9.334927, 9.776288,
    10.223374, 10.676242, 11.134952, 11.599563, 12.070135, 12.546731, 13.029408, 13.518232,
    14.013264, 14.514566, 15.022202, 15.536238, 16.056736, 16.583761, 17.117382, 17.657663,
    18.204674, 18.758478, 19.319147, 19.886751, 20.461355, 21.043034]
_WIDTH_BARK = [
    0.157344, 0.317994, 0.322441, 0.326934, 0.331474, 0.336061, 0.340697, 0.345381, 0.350114,
    0.354897, 0.359729, 0.364611, 0.369544, 0.374529, 0.379565, 0.384653, 0.389794, 0.394989,
    0.400236, 0.405538, 0.410894, 0.416306, 0.421773, 0.427297, 0.432877, 0.438514, 0.444209,
    0.449962, 0.455774, 0.461645, 0.467577, 0.473569, 0.479621, 0.485736, 0.491912, 0.498151,
    0.504454, 0.510819, 0.517250, 0.523745, 0.530308, 0.536934, 0.543629, 0.550390, 0.557220,
    0.564119, 0.571085, 0.578125, 0.585232]
_POWER_DENSITY_CORRECTION = [
    100.0, 99.999992, 100.0, 100.000008, 100.000008, 100.000015, 99.999992, 99.999969,
    50.000027, 100.0, 99.999969, 100.000015, 99.999947, 100.000061, 53.047077, 110.000046,
    117.991989, 65.0, 68.760147, 69.999931, 71.428818, 75.000038, 76.843384, 80.968781,
    88.646126, 63.864388, 68.155350, 72.547775, 75.584831, 58.379192, 80.950836, 64.135651,
    54.384785, 73.821884, 64.437073, 59.176456, 65.521278, 61.399822, 58.144047, 57.004543,
    64.126297, 54.311001, 61.114979, 55.077751, 56.849335, 55.628868, 53.137054, 54.985844,
    79.546974]
_HEARING_THRESHOLD = [
    51286152.0, 2454709.5, 70794.59375, 4897.788574, 1174.897705, 389.045166, 104.71286,
    45.70882, 17.782795, 9.772372, 4.897789, 3.090296, 1.905461, 1.258925, 0.977237, 0.724436,
    0.562341, 0.457088, 0.389045, 0.331131, 0.295121, 0.269153, 0.25704, 0.251189, 0.251189,
    0.251189, 0.251189, 0.263027, 0.288403, 0.30903, 0.338844, 0.371535, 0.398107, 0.436516,
    0.467735, 0.489779, 0.501187, 0.501187, 0.512861, 0.524807, 0.524807, 0.524807, 0.512861,
    0.47863, 0.42658, 0.371535, 0.363078, 0.416869, 0.537032]
_SP = 6.910853e-06  # power scale of the Bark spectrum
_SL = 1.866055e-01  # loudness scale
_ZWICKER_POWER = 0.23
# The wideband input filter of P.862.2 (a 100 Hz high-pass), as a biquad at 16 kHz.
_INPUT_FILTER_B = (2.740826, -5.4816519, 2.740826)
_INPUT_FILTER_A = (1.0, -1.9444777, 0.94597794)

_FFT = 512
_HOP = 256


def _bark_matrix() -> np.ndarray:
    """(257, 49): FFT power bins -> Bark band powers, with P.862's density corrections and
    the input filter's power response folded in (the DC bin is not used)."""
    matrix = np.zeros((_FFT // 2 + 1, len(_BINS_PER_BAND)), np.float64)
    start = 1
    for band, count in enumerate(_BINS_PER_BAND):
        matrix[start - 1:start - 1 + count, band] = 1.0
        start += count
    matrix[0, :] = 0.0
    omega = np.exp(-1j * np.pi * np.arange(_FFT // 2 + 1) / (_FFT // 2))
    response = np.polyval(_INPUT_FILTER_B[::-1], omega) / np.polyval(_INPUT_FILTER_A[::-1], omega)
    matrix *= (np.abs(response) ** 2)[:, None]
    return (matrix * np.array(_POWER_DENSITY_CORRECTION) * _SP).astype(np.float32)


def _power(spectrum: tf.Tensor) -> tf.Tensor:
    # |z|^2 as re^2 + im^2: tf.abs of a complex zero has a NaN gradient.
    return tf.math.real(spectrum) ** 2 + tf.math.imag(spectrum) ** 2


def _aligned(x: tf.Tensor) -> tf.Tensor:
    """Scale (B, T) so that its 300-3500 Hz power is 1e7 in int16 units (P.862's level)."""
    n = x.shape[1]
    if n is None:
        raise ValueError("pesq_disturbance needs a static number of samples")
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    spectrum = _power(tf.signal.rfft(x * 32768.0))
    band = ((freqs >= 300) & (freqs <= 3500)).astype(np.float32)
    power = 2.0 * tf.reduce_sum(spectrum * band, axis=1) / float(n) ** 2
    return x * 32768.0 * tf.sqrt(1e7 / (power + 1.0))[:, None]


def _audible(power: tf.Tensor, factor: float) -> tf.Tensor:
    """Sum over bands of the power above ``factor`` times the hearing threshold: (B, F)."""
    threshold = np.float32(factor) * np.array(_HEARING_THRESHOLD, np.float32)
    return tf.reduce_sum(tf.where(power > threshold, power, 0.0), axis=-1)


def _loudness(power: tf.Tensor) -> tf.Tensor:
    threshold = np.array(_HEARING_THRESHOLD, np.float32)
    exponent = (_ZWICKER_POWER * np.clip(6.0 / (np.array(_CENTRE_BARK) + 2.0), 1.0, 2.0) ** 0.15).astype(np.float32)
    loud = _SL * (2.0 * threshold) ** exponent * ((0.5 + 0.5 * power / threshold) ** exponent - 1.0)
    return tf.where(power > threshold, loud, 0.0)


def _weighted_norm(values: tf.Tensor, p: int) -> tf.Tensor:
    """P.862's width-weighted Lp norm over bands 1.. of (B, F, 49): (B, F)."""
    width = np.array(_WIDTH_BARK, np.float32)[1:]
    total = float(width.sum())
    v = tf.abs(values[..., 1:]) * width
    if p == 1:
        return tf.reduce_sum(v, axis=-1)
    return total * tf.sqrt(tf.reduce_sum(v ** 2, axis=-1) / total + 1e-12)


def _l6_l2(frames: tf.Tensor) -> tf.Tensor:
    """P.862's aggregation of frame disturbances (B, F): L6 over 20-frame windows at a
    10-frame hop, then L2 over the windows: (B,)."""
    windows = tf.signal.frame(frames, 20, 10, axis=1) if frames.shape[1] >= 20 else frames[:, None, :]
    l6 = (tf.reduce_mean(windows ** 6, axis=-1) + 1e-24) ** (1.0 / 6.0)
    return tf.sqrt(tf.reduce_mean(l6 ** 2, axis=-1) + 1e-12)


def pesq_disturbance(reference: tf.Tensor, degraded: tf.Tensor) -> tf.Tensor:
    """PESQ's disturbance ``0.1 d_sym + 0.0309 d_asym`` of (B, T) 16 kHz waveforms: (B,).

    0 for identical signals; PESQ-WB's raw score is 4.5 minus it (a disturbance of 2.8
    maps to a MOS-LQO near 1.7, 2.3 to about 2.2). T must be static and at least 512.
    """
    bark = _bark_matrix()

    def bark_power(x):
        spectrum = tf.signal.stft(_aligned(x), _FFT, _HOP, _FFT, window_fn=tf.signal.hann_window)
        return tf.tensordot(_power(spectrum), bark, 1)  # (B, F, 49)

    ref, deg = bark_power(reference), bark_power(degraded)

    # P.862 would now compensate the system's frequency response, up to ±20 dB per band,
    # by equalizing the reference to the degraded signal. A loss must not: a codec trained
    # through it learnt to cut 1-2 kHz by 17 dB, which cost it nothing in the loss.
    # The compensation of the short-term gain (applied to the degraded signal) stays.
    gain = (_audible(ref, 1.0) + 5e3) / (_audible(deg, 1.0) + 5e3)
    gain = tf.concat([gain[:, :1], 0.8 * gain[:, 1:] + 0.2 * gain[:, :-1]], axis=1)
    deg = tf.clip_by_value(gain, 3e-4, 5.0)[..., None] * deg

    loud_ref, loud_deg = _loudness(ref), _loudness(deg)
    difference = loud_deg - loud_ref
    dead_zone = 0.25 * tf.minimum(loud_ref, loud_deg)
    disturbance = tf.sign(difference) * tf.nn.relu(tf.abs(difference) - dead_zone)
    asymmetry = ((deg + 50.0) / (ref + 50.0)) ** 1.2
    asymmetry = tf.where(asymmetry < 3.0, 0.0, tf.minimum(asymmetry, 12.0))
    weight = ((_audible(ref, 1.0) + 1e5) / 1e7) ** 0.04
    d_sym = tf.minimum(_weighted_norm(disturbance, 2) / weight, 45.0)
    d_asym = tf.minimum(_weighted_norm(disturbance * asymmetry, 1) / weight, 45.0)
    return 0.1 * _l6_l2(d_sym) + 0.0309 * _l6_l2(d_asym)


def pesq_mos(disturbance):
    """PESQ-WB's MOS-LQO of a disturbance (raw score ``4.5 - disturbance``); numpy or TF."""
    return 0.999 + 4.0 / (1.0 + np.e ** (-1.3669 * (4.5 - disturbance) + 3.8224))


_STOI_FRAME, _STOI_HOP, _STOI_SEGMENT = 400, 200, 30


def _third_octave_matrix() -> np.ndarray:
    """(257, 15): FFT power bins -> one-third-octave band powers, centres 150 Hz * 2^(k/3)."""
    freqs = np.fft.rfftfreq(_FFT, 1.0 / RATE)
    centres = 150.0 * 2.0 ** (np.arange(15) / 3.0)
    low, high = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    return ((freqs[:, None] >= low) & (freqs[:, None] < high)).astype(np.float32)


def stoi_correlation(reference: tf.Tensor, degraded: tf.Tensor) -> tf.Tensor:
    """STOI's mean envelope correlation of (B, T) 16 kHz waveforms: (B,), 1 for identical.

    Segments are 30 frames (0.39 s) every 5 frames; a shorter T (at least 400 samples)
    makes one segment of all its frames.
    """
    bands = _third_octave_matrix()

    def envelopes(x):
        spectrum = tf.signal.stft(x, _STOI_FRAME, _STOI_HOP, _FFT, window_fn=tf.signal.hann_window)
        env = tf.sqrt(tf.tensordot(_power(spectrum), bands, 1) + 1e-10)  # (B, F, 15)
        if env.shape[1] is not None and env.shape[1] < _STOI_SEGMENT:
            return env[:, None]  # shorter than a segment: one segment of all frames
        return tf.signal.frame(env, _STOI_SEGMENT, _STOI_SEGMENT // 6, axis=1)  # (B, S, 30, 15)

    x, y = envelopes(reference), envelopes(degraded)
    norm = lambda v: tf.sqrt(tf.reduce_sum(v ** 2, axis=2, keepdims=True) + 1e-10)  # noqa: E731
    y = tf.minimum(y * norm(x) / norm(y), (1.0 + 10.0 ** (15.0 / 20.0)) * x)
    x = x - tf.reduce_mean(x, axis=2, keepdims=True)
    y = y - tf.reduce_mean(y, axis=2, keepdims=True)
    correlation = tf.reduce_sum(x * y, axis=2) / (norm(x)[:, :, 0] * norm(y)[:, :, 0])
    return tf.reduce_mean(correlation, axis=[1, 2])
