"""The shipped ``wavenet`` weights, end to end: hash, installed codec, bitrates, quality floor,
an expected bitstream and its expected decoded samples.

The quality floors sit a margin under what ``weights/MODEL_CARD.md`` reports for the held-out
LibriSpeech clip (they catch a broken model or pipeline, they are not the quality claim).
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")

from neuralav import registry  # noqa: E402
from neuralav.plugins import wavenet  # noqa: E402
from neuralav.plugins.wavenet.levels import LEVELS, WEIGHTS_DIR  # noqa: E402

WEIGHTS = WEIGHTS_DIR / "wavenet.npz"
CLIP = "198-209-0000.ogg"
EXPECTED_PACKETS_SHA256 = "85553d4285c90f7b4062d93bf4c960f430e9dd1b9cd20d7e9a5e94aec588f7fb"
"""SHA-256 of the q2 packets of the first 3 s of the held-out clip (see the test below)."""
EXPECTED_DECODED_SHA256 = "86480be8b0c7e32d141d4077683ffa6da2b5033b7acaaa3e03485e068b6808c9"
"""SHA-256 of those packets decoded to float32 at 16 kHz (``flt``, 48,000 samples)."""
LSD_CEILING_DB = {1: 10.5, 2: 10.2, 3: 10.0}
"""Log-spectral distance (dB) each level must stay under on the first 10 s of the clip
(measured with the shipped weights: 9.61, 9.05, 8.81 dB)."""
Q2_FLOORS = {"pesq_wb": 1.4, "stoi": 0.88}
"""Quality 2 on the same 10 s must stay above these (measured: PESQ-WB 1.83, STOI 0.934)."""

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not WEIGHTS.is_file(), reason="no shipped weights (export them)")]


@pytest.fixture
def reg(monkeypatch):
    monkeypatch.delenv("NEURALAV_WAVENET_WEIGHTS", raising=False)
    return registry.build_registry([wavenet], autoload=False)


def _speech(speech_clip, seconds: float) -> np.ndarray:
    from neuralav.plugins.wavenet.data import decode_file

    assert speech_clip.name == CLIP
    return decode_file(str(speech_clip))[:int(seconds * 16000)]


def _packets(reg, x: np.ndarray, quality: int) -> tuple[bytes, list[av.Packet]]:
    encoder = registry.create_encoder("wavenet", {"quality": quality}, registry=reg)
    packets = []
    for start in range(0, len(x), 960):
        frame = av.AudioFrame.from_ndarray(x[None, start:start + 960].copy(), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 16000, start, Fraction(1, 16000)
        packets += encoder.encode(frame)
    return encoder.header, packets + encoder.encode(None)


def _decode(reg, header: bytes, packets: list[av.Packet]) -> np.ndarray:
    decoder = registry.create_decoder("wavenet", header, registry=reg)
    frames = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
    return np.concatenate([f.to_ndarray()[0] for f in frames])


def test_shipped_weights_match_the_levels_table():
    digest = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert {level.sha256 for level in LEVELS.values()} == {digest}


def test_installed_entry_point_loads_the_shipped_model():
    installed = registry.build_registry()
    if "wavenet" not in [codec.name for codec in installed.codecs()]:
        pytest.skip("the `wavenet` entry point is not in the installed metadata (reinstall the package)")
    encoder = registry.create_encoder("wavenet", {"quality": 2}, registry=installed, sample_rate=16000,
                                      layout="mono", format="flt")
    assert encoder.bundle.digest == LEVELS[2].sha256


def test_levels_code_speech_at_increasing_bitrates_near_their_nominal_rates(reg, speech_clip):
    x = _speech(speech_clip, 10.0)
    rates = []
    for quality, level in sorted(LEVELS.items()):
        _, packets = _packets(reg, x, quality)
        kbps = sum(p.size for p in packets) * 8 / (len(x) / 16000) / 1000
        assert 0.7 * level.kbps <= kbps <= 1.3 * level.kbps, (quality, kbps)
        rates.append(kbps)
    assert rates == sorted(rates)


def test_held_out_speech_decodes_to_full_length_under_the_quality_floor(reg, speech_clip):
    from neuralav.plugins.wavenet.evaluate import metrics

    x = _speech(speech_clip, 10.0)
    lsd = {}
    for quality in sorted(LEVELS):
        header, packets = _packets(reg, x, quality)
        y = _decode(reg, header, packets)
        assert len(y) == len(x)
        measured = metrics(x, y, perceptual=quality == 2)
        lsd[quality] = measured["lsd"]
        assert lsd[quality] < LSD_CEILING_DB[quality], (quality, lsd[quality])
        if quality == 2:
            for name, floor in Q2_FLOORS.items():
                if name in measured:  # pesq / pystoi installed (the test extra has them)
                    assert measured[name] > floor, (name, measured[name])
    assert lsd[3] < lsd[1]  # more bits, less distortion


def test_q2_bitstream_of_a_held_out_clip_is_unchanged(reg, speech_clip):
    _, packets = _packets(reg, _speech(speech_clip, 3.0), 2)
    digest = hashlib.sha256(b"".join(bytes(p) for p in packets)).hexdigest()
    assert digest == EXPECTED_PACKETS_SHA256


def test_q2_decoded_samples_of_a_held_out_clip_are_unchanged(reg, speech_clip):
    """The decoder's output is a function of the packets and the weights file alone (fixed-point
    synthesis): the same float32 bytes on any machine, thread count or TensorFlow build."""
    header, packets = _packets(reg, _speech(speech_clip, 3.0), 2)
    assert hashlib.sha256(b"".join(bytes(p) for p in packets)).hexdigest() == EXPECTED_PACKETS_SHA256
    y = _decode(reg, header, packets)
    assert y.dtype == np.float32 and len(y) == 48000
    assert hashlib.sha256(y.tobytes()).hexdigest() == EXPECTED_DECODED_SHA256


def test_digital_silence_after_speech_decodes_without_a_dc_offset(reg, speech_clip):
    """The synthesis leaves a DC offset (7.7e-4 without the DC blocker with the eighth release's
    weights; 1.5e-5, 5.0e-4, 7.6e-3 and 2.7e-4 with the four before); the decoder's high-pass
    keeps it below 3e-5 after half a second (measured 7.2e-7 with these weights)."""
    x = np.concatenate([_speech(speech_clip, 2.0), np.zeros(32000, np.float32)])
    header, packets = _packets(reg, x, 2)
    y = _decode(reg, header, packets)
    assert abs(float(y[40000:].mean())) < 3e-5
