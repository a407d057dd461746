"""The PESQ and STOI stand-ins that ``wavenet`` trains on, against the real measures.

The references are the ``pesq`` (ITU-T P.862 C code) and ``pystoi`` packages on real speech
(a held-out LibriSpeech clip) under real degradations: white noise, Opus, a band cut.
Measured on the first 4 s of 198-209-0000 (stand-in / real): PESQ-WB 3.23/3.30 and STOI
0.960/0.971 with noise at 30 dB SNR, 1.17/1.16 and 0.851/0.864 at 10 dB; through Opus at
6 kbps (narrowband, nothing above 4 kHz) 1.19/1.86 and 0.887/0.897: the PESQ stand-in does
not forgive filtering (see the last test).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")
pesq = pytest.importorskip("pesq")
pystoi = pytest.importorskip("pystoi")

import tensorflow as tf  # noqa: E402

from neuralav.plugins.wavenet import perceptual  # noqa: E402

RATE = 16000


_mos = perceptual.pesq_mos


@pytest.fixture
def speech(speech_clip) -> np.ndarray:
    from neuralav.plugins.wavenet.data import decode_file

    x = decode_file(str(speech_clip))[:4 * RATE]
    return (x * 0.05 / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def _degraded(x: np.ndarray) -> dict[str, np.ndarray]:
    from neuralav.plugins.wavenet.evaluate import run_opus

    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(x)).astype(np.float32) * np.sqrt(np.mean(x ** 2))
    return {
        "noise 30 dB": x + noise * 10 ** (-30 / 20),
        "noise 10 dB": x + noise * 10 ** (-10 / 20),
        "opus 6 kbps": run_opus(x, 6000)[0],
    }


def _both(x, y):
    ref, deg = tf.constant(x[None]), tf.constant(y[None].astype(np.float32))
    return (float(perceptual.pesq_disturbance(ref, deg)[0]),
            float(perceptual.stoi_correlation(ref, deg)[0]))


def test_identical_signals_are_undisturbed_and_fully_correlated(speech):
    disturbance, correlation = _both(speech, speech)
    assert disturbance < 1e-3
    assert correlation > 0.999


def test_stand_ins_track_pesq_wb_and_stoi_on_real_degradations(speech):
    results = {}
    for name, y in _degraded(speech).items():
        disturbance, correlation = _both(speech, y)
        real_pesq = pesq.pesq(RATE, speech.astype(np.float64), y.astype(np.float64), "wb")
        real_stoi = pystoi.stoi(speech, y, RATE)
        results[name] = (_mos(disturbance), real_pesq, correlation, real_stoi)
        assert abs(correlation - real_stoi) < 0.05, (name, results[name])
        if name.startswith("noise"):  # unfiltered: the stand-in is PESQ
            assert abs(_mos(disturbance) - real_pesq) < 0.15, (name, results[name])
        else:  # Opus at 6 kbps is narrowband: filtered, so the stand-in is stricter
            assert _mos(disturbance) < real_pesq, (name, results[name])
    assert results["noise 30 dB"][0] > results["noise 10 dB"][0]
    assert results["noise 30 dB"][2] > results["noise 10 dB"][2]


def test_gradients_reach_the_degraded_signal_and_are_finite(speech):
    rng = np.random.default_rng(1)
    y = tf.Variable((speech + 0.01 * rng.standard_normal(len(speech))).astype(np.float32)[None])
    with tf.GradientTape() as tape:
        loss = perceptual.pesq_disturbance(tf.constant(speech[None]), y) \
            + (1.0 - perceptual.stoi_correlation(tf.constant(speech[None]), y))
    grad = tape.gradient(loss, y).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_short_inputs_still_give_one_value_per_example():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.standard_normal((3, 1600)).astype(np.float32) * 0.1)
    y = x + 0.01
    assert perceptual.pesq_disturbance(x, y).shape == (3,)
    correlation = perceptual.stoi_correlation(x, y).numpy()
    assert correlation.shape == (3,) and np.all(np.isfinite(correlation))


def test_colouring_the_signal_costs_what_pesq_would_forgive(speech):
    """P.862 compensates a filter of up to ±20 dB per band; the stand-in does not, so that a
    codec cannot buy a lower loss by cutting the bands where its errors are (one did)."""
    spectrum = np.fft.rfft(speech)
    freqs = np.fft.rfftfreq(len(speech), 1.0 / RATE)
    band = (freqs >= 1000) & (freqs < 2000)
    disturbances, real = [], []
    for cut_db in (0, 6, 15):
        y = np.fft.irfft(np.where(band, spectrum * 10 ** (-cut_db / 20), spectrum), len(speech)).astype(np.float32)
        disturbances.append(_both(speech, y)[0])
        real.append(pesq.pesq(RATE, speech.astype(np.float64), y.astype(np.float64), "wb"))
    assert disturbances[0] < disturbances[1] < disturbances[2]
    assert _mos(disturbances[2]) < real[2] - 0.5  # far stricter than PESQ
