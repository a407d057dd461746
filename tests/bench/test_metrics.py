"""Metrics (neuralav.registry.metrics): rate units, PSNR, MS-SSIM and the audio measures on known inputs."""

import math

import numpy as np
import pytest

from neuralav.registry import metrics
from neuralav.registry.metrics import MetricError


def test_bpp_is_eight_bits_per_byte_over_pixels():
    assert metrics.bits_per_pixel(1000, 100, 40) == 8 * 1000 / 4000
    with pytest.raises(MetricError, match="0x40"):
        metrics.bits_per_pixel(10, 0, 40)


def test_kbps_is_bits_per_second_over_1000():
    assert metrics.kbps(1500, 2.0) == 6.0
    with pytest.raises(MetricError, match="0"):
        metrics.kbps(10, 0)


def test_psnr_of_a_known_error_and_of_identical_images():
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[..., 0] += 3  # MSE = 9 / 3 = 3
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 3))
    assert metrics.psnr(a, a) == math.inf
    with pytest.raises(MetricError, match="shape"):
        metrics.psnr(a, a[:4])


def test_msssim_is_one_for_identical_images_lower_with_noise_none_when_small(photo):
    assert metrics.msssim(photo, photo) == pytest.approx(1.0, abs=1e-5)
    noisy = np.clip(photo.astype(int) + np.random.default_rng(0).integers(-20, 21, photo.shape), 0, 255)
    value = metrics.msssim(photo, noisy.astype(np.uint8))
    assert 0.5 < value < 0.99
    assert metrics.msssim(photo[:100, :100], photo[:100, :100]) is None
    assert metrics.msssim_db(0.99) == pytest.approx(20.0)
    assert metrics.msssim_db(1.0) == math.inf and metrics.msssim_db(None) is None


def _tone(seconds=1.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(1)
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
            ).astype(np.float32)


def test_snr_of_a_known_noise_level():
    x = _tone()
    noise = 0.1 * x
    assert metrics.snr_db(x, x + noise) == pytest.approx(20.0)
    assert metrics.snr_db(x, x) == math.inf


def test_log_spectral_distance_is_zero_for_identical_and_grows_with_noise():
    x = _tone()
    rng = np.random.default_rng(2)
    small = metrics.log_spectral_distance(x, x + 0.001 * rng.standard_normal(x.size).astype(np.float32))
    large = metrics.log_spectral_distance(x, x + 0.05 * rng.standard_normal(x.size).astype(np.float32))
    assert metrics.log_spectral_distance(x, x) == 0.0
    assert 0 < small < large
    with pytest.raises(MetricError, match="shorter"):
        metrics.log_spectral_distance(x[:100], x[:100])


def test_pesq_and_stoi_rank_clean_above_noisy_speech(speech_folder):
    from neuralav.container.bench.audio import load_clip

    clip = load_clip(sorted(speech_folder.glob("*.ogg"))[0], 16000, max_seconds=4.0)
    noisy = clip + 0.05 * np.random.default_rng(3).standard_normal(clip.size).astype(np.float32)
    assert metrics.pesq_wb(clip, clip, 16000) > 4.5
    assert metrics.pesq_wb(clip, noisy, 16000) < 3.0
    assert metrics.stoi(clip, clip, 16000) == pytest.approx(1.0, abs=1e-6)
    assert metrics.stoi(clip, noisy, 16000) < 0.99
    with pytest.raises(MetricError, match="16000 Hz"):
        metrics.pesq_wb(clip, clip, 8000)
