"""Distortion and rate metrics of images and audio.

Images are HxWx3 ``uint8`` RGB arrays (0–255); audio signals are 1-D
``float`` arrays in [-1, 1] at one sample rate (Hz). Metrics that are infinite
for identical inputs (PSNR, SNR) return ``math.inf``; the report stores those as
``null`` in JSON. TensorFlow (MS-SSIM), ``pesq`` and ``pystoi`` are imported
only when their metric is computed.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import MetricError

__all__ = [
    "bits_per_pixel", "kbps", "psnr", "msssim", "msssim_db", "MSSSIM_MIN_SIDE",
    "snr_db", "log_spectral_distance", "pesq_wb", "stoi",
]

MSSSIM_MIN_SIDE = 161
"""Smallest image side (pixels) for 5-scale MS-SSIM with an 11-tap window: (11 - 1) * 2**4 + 1."""


def bits_per_pixel(num_bytes: int, width: int, height: int) -> float:
    """Rate in bits per pixel: ``8 * num_bytes / (width * height)``."""
    if width <= 0 or height <= 0:
        raise MetricError(f"cannot compute bpp of a {width}x{height} image")
    return 8.0 * num_bytes / (width * height)


def kbps(num_bytes: int, duration_s: float) -> float:
    """Rate in kilobits per second: ``8 * num_bytes / duration_s / 1000``."""
    if duration_s <= 0:
        raise MetricError(f"cannot compute kbps of a clip lasting {duration_s} s")
    return 8.0 * num_bytes / duration_s / 1000.0


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise MetricError(f"reference of shape {a.shape} and reconstruction of shape {b.shape} differ")


def psnr(reference: np.ndarray, reconstruction: np.ndarray) -> float:
    """RGB PSNR in dB (peak 255), from the MSE over all pixels and channels; ``inf`` if identical."""
    _check_pair(reference, reconstruction)
    mse = np.mean((reference.astype(np.float64) - reconstruction.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def msssim(reference: np.ndarray, reconstruction: np.ndarray) -> float | None:
    """MS-SSIM (5 scales, Wang et al. 2003 weights, peak 255) from ``tf.image.ssim_multiscale``.

    Returns:
        A value in about [0, 1] (1 for identical images), or ``None`` when the
        image is smaller than :data:`MSSSIM_MIN_SIDE` pixels on a side.
    """
    _check_pair(reference, reconstruction)
    if min(reference.shape[:2]) < MSSSIM_MIN_SIDE:
        return None
    import tensorflow as tf  # lazy: 5 s to import

    value = tf.image.ssim_multiscale(tf.constant(reference[None], tf.float32),
                                     tf.constant(reconstruction[None], tf.float32), 255.0)
    return float(value[0])


def msssim_db(value: float | None) -> float | None:
    """MS-SSIM on a dB scale, ``-10 log10(1 - value)`` (``inf`` for 1, ``None`` for ``None``)."""
    if value is None:
        return None
    return math.inf if value >= 1.0 else float(-10.0 * math.log10(1.0 - value))


def _check_signals(reference: np.ndarray, degraded: np.ndarray) -> None:
    if reference.ndim != 1 or reference.shape != degraded.shape:
        raise MetricError(f"audio metrics need two 1-D signals of equal length, "
                         f"got shapes {reference.shape} and {degraded.shape}")


def snr_db(reference: np.ndarray, degraded: np.ndarray) -> float:
    """Signal-to-noise ratio in dB: ``10 log10(sum(x²) / sum((x - y)²))``; ``inf`` if identical."""
    _check_signals(reference, degraded)
    x = reference.astype(np.float64)
    noise = np.sum((x - degraded.astype(np.float64)) ** 2)
    signal = np.sum(x ** 2)
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return float(10.0 * np.log10(signal / noise))


def log_spectral_distance(reference: np.ndarray, degraded: np.ndarray, *, n_fft: int = 512,
                          hop: int = 128, floor: float = 1e-10) -> float:
    """Log-spectral distance in dB.

    Power spectra from a Hann-windowed STFT (``n_fft`` samples, ``hop``
    samples); per frame the RMS over frequency bins of
    ``10 log10(P + floor) - 10 log10(P̂ + floor)``, averaged over frames.
    0 for identical signals.
    """
    from scipy.signal import stft

    _check_signals(reference, degraded)
    if reference.size < n_fft:
        raise MetricError(f"clip of {reference.size} samples is shorter than the {n_fft}-sample STFT window")
    _, _, ref = stft(reference.astype(np.float64), nperseg=n_fft, noverlap=n_fft - hop, window="hann")
    _, _, deg = stft(degraded.astype(np.float64), nperseg=n_fft, noverlap=n_fft - hop, window="hann")
    diff = 10.0 * np.log10(np.abs(ref) ** 2 + floor) - 10.0 * np.log10(np.abs(deg) ** 2 + floor)
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=0))))


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, rate: int) -> float | None:
    """Wideband PESQ (ITU-T P.862.2, MOS-LQO 1.0–4.64) from the ``pesq`` package.

    Returns ``None`` if PESQ finds no utterance (e.g. silence).

    Raises:
        MetricError: ``rate`` is not 16000 Hz (wideband PESQ is defined at 16 kHz only).
    """
    _check_signals(reference, degraded)
    if rate != 16000:
        raise MetricError(f"wideband PESQ needs 16000 Hz audio, not {rate} Hz")
    from pesq import NoUtterancesError, pesq

    try:
        return float(pesq(rate, reference.astype(np.float64), degraded.astype(np.float64), "wb"))
    except NoUtterancesError:
        return None


def stoi(reference: np.ndarray, degraded: np.ndarray, rate: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011, 0–1) from ``pystoi``."""
    _check_signals(reference, degraded)
    from pystoi import stoi as _stoi

    return float(_stoi(reference.astype(np.float64), degraded.astype(np.float64), rate, extended=False))
