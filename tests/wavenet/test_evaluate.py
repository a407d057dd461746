"""The evaluation measures and the Opus anchor used for ``wavenet``'s model card."""

from __future__ import annotations

import numpy as np
import pytest

from neuralav.plugins.wavenet.evaluate import metrics, run_opus


def _speech_like(seconds: float = 2.0, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    return (0.1 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * tone + 0.003 * rng.standard_normal(len(t))
            ).astype(np.float32)


def test_metrics_rank_a_clean_copy_above_a_noisy_one():
    x = _speech_like()
    noisy = x + 0.02 * np.random.default_rng(2).standard_normal(len(x)).astype(np.float32)
    same, worse = metrics(x, x.copy(), perceptual=False), metrics(x, noisy, perceptual=False)
    assert same["lsd"] == pytest.approx(0.0, abs=1e-6) and same["mcd"] == pytest.approx(0.0, abs=1e-6)
    assert same["snr"] > 100 > worse["snr"]
    assert worse["lsd"] > 1.0 and worse["mcd"] > 0.5


def test_opus_anchor_codes_at_about_its_bitrate_and_keeps_the_length():
    x = _speech_like(4.0)
    y, size = run_opus(x, 12000)
    assert len(y) == len(x)
    assert 6 <= size * 8 / 4.0 / 1000 <= 16
    assert metrics(x, y, perceptual=False)["snr"] > 3.0  # delay removed: the waveforms line up


def test_opus_anchor_runs_in_libopus_speech_mode_too():
    x = _speech_like(2.0)
    (audio, _), (voip, size) = run_opus(x, 6000, "audio"), run_opus(x, 6000, "voip")
    assert len(voip) == len(x) and size > 0
    assert not np.array_equal(audio, voip)  # the option reaches libopus
