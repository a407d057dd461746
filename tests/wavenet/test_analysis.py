"""The encoder's numpy analysis (``plugins/wavenet/analysis.py``): the float model's latents,
streamed, and the same on two threads as on one."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")

from neuralav.plugins.wavenet import fixed  # noqa: E402
from neuralav.plugins.wavenet.analysis import SPLIT_FIELDS, FloatAnalysis  # noqa: E402
from neuralav.plugins.wavenet.model import CONFIGS, WavenetModel  # noqa: E402

HOP = CONFIGS["tiny"].hop


@pytest.fixture(scope="module")
def model():
    return WavenetModel(CONFIGS["tiny"], seed=4)


def _waveform(samples: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)[None, :, None]
    return (tone + rng.normal(0.0, 0.1, (channels, samples, 1))).astype(np.float32)


def _stream(analysis: FloatAnalysis, x: np.ndarray, piece: int) -> np.ndarray:
    state, parts = analysis.zero_state(x.shape[0]), []
    for start in range(0, x.shape[1], piece):
        y, state = analysis(x[:, start:start + piece], state)
        parts.append(y)
    return np.concatenate(parts, axis=1)


def test_gives_the_latents_of_the_tensorflow_model_in_any_pieces(model):
    analysis = FloatAnalysis(model.weights(), model.config)
    x = _waveform(60 * HOP)
    expected = model.analysis(x)[0].numpy()
    scale = np.abs(expected).max()
    assert scale > 0.1
    for piece in (HOP, 7 * HOP, 60 * HOP):
        np.testing.assert_allclose(_stream(analysis, x, piece), expected, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("frames", [60, 2])
def test_the_two_thread_split_gives_the_latents_of_one_thread(model, monkeypatch, frames):
    analysis = FloatAnalysis(model.weights(), model.config)
    x = _waveform(frames * HOP, seed=1)
    monkeypatch.setattr(fixed, "PIPELINE", False)
    serial = _stream(analysis, x, 20 * HOP)
    monkeypatch.setattr(fixed, "PIPELINE", True)
    calls = []
    split = analysis._split_head
    monkeypatch.setattr(analysis, "_split_head", lambda x, state: calls.append(x.shape[1]) or split(x, state))
    np.testing.assert_allclose(_stream(analysis, x, 20 * HOP), serial, rtol=1e-6, atol=1e-6)
    long_enough = SPLIT_FIELDS * analysis.head_field * analysis.head_hop
    assert (max(calls) >= long_enough) == (min(frames, 20) * HOP >= long_enough)


def test_the_head_forgets_any_state_within_its_receptive_field(model):
    analysis = FloatAnalysis(model.weights(), model.config)
    x = _waveform(30 * HOP, seed=2)
    head_state = analysis.zero_state(2)[:analysis._head_states]
    exact, exact_state = analysis._head(x, head_state)
    field, hop = analysis.head_field, analysis.head_hop
    start = 41  # head output samples
    rng = np.random.default_rng(3)
    garbage = [rng.normal(0.0, 1.0, s.shape).astype(np.float32) for s in head_state]
    h, state = analysis._head(x[:, (start - field) * hop:], garbage)
    np.testing.assert_allclose(h[:, field:], exact[:, start:], rtol=1e-6, atol=1e-6)
    for got, want in zip(state, exact_state):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # and the field is needed: a warm-up two samples shorter gives other values
    h, _ = analysis._head(x[:, (start - field + 2) * hop:], garbage)
    assert np.abs(h[:, field - 2:] - exact[:, start:]).max() > 1e-3


def test_input_that_is_not_whole_frames_is_refused(model):
    analysis = FloatAnalysis(model.weights(), model.config)
    with pytest.raises(ValueError, match="not a multiple of the hop"):
        analysis(_waveform(HOP + 1), analysis.zero_state(2))
