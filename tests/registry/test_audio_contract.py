"""The audio base classes' documented hooks (issue 32.4): a streaming codec needs no private.

``toystream`` is a third-party-style streaming codec written only against the documented
hooks: it codes at 8 kHz (``coded_rate``), sends 16-bit deltas whose running sum (the
decoder's state) carries across packets, and gives its last chunk the exact input-rate
duration (``AudioChunk.duration``). Its decoder implements ``inspect``, ``decode_group`` and
``reset``; the base classes do grouping, resampling, timestamps and exact stream length.
``wavenet`` is held to the same contract: it overrides no private method and no ``decode``.
"""

from __future__ import annotations

import struct
import types
from fractions import Fraction

import av
import numpy as np

from neuralav import registry
from neuralav.plugins.wavenet.codec import WavenetDecoder, WavenetEncoder
from neuralav.registry import (AudioChunk, AudioDecoder, AudioEncoder, Capability, CodecDescriptor, MediaType,
                               PacketInfo, hookimpl)

RATE = 44100
CODED = 8000


class ToyEncoder(AudioEncoder):
    coded_rate = CODED

    def encode_samples(self, samples, flush):
        chunks = []
        for start in range(0, samples.shape[1], 800):
            piece = np.round(samples[:, start:start + 800] * 32767).astype(np.int64)
            last = start + 800 >= samples.shape[1] and flush
            duration = None
            if last:  # the stream ends at the input's exact length
                duration = self.accepted_samples - round((self.stamped_samples + sum(c.samples for c in chunks))
                                                         * self.sample_rate / CODED)
            flag = struct.pack(">BI", int(last), max(duration or 0, 0))
            chunks.append(AudioChunk(flag + piece.astype(np.int16).tobytes(), piece.shape[1], duration=duration))
        return chunks


class ToyDecoder(AudioDecoder):
    coded_rate = CODED
    group_size = 3

    def __init__(self, descriptor, header):
        super().__init__(descriptor, header)
        self.groups, self.resets = [], 0

    def inspect(self, payload):
        last, duration = struct.unpack(">BI", payload[:5])
        samples = (len(payload) - 5) // 2
        return PacketInfo(samples, duration if last else None, payload[5:])

    def decode_group(self, packets):
        self.groups.append(len(packets))
        return [np.frombuffer(info.data, np.int16).astype(np.float32).reshape(1, -1) / 32767 for info in packets]

    def reset(self):
        self.resets += 1


TOY = CodecDescriptor(name="toystream", long_name="streaming test codec", media_type=MediaType.AUDIO,
                      capabilities=Capability.LOSSY, formats=("flt",), options=(), version=1, fourcc="TOYS",
                      encoder=f"{__name__}:ToyEncoder", decoder=f"{__name__}:ToyDecoder")


def _registry():
    plugin = types.ModuleType("toy_plugin")
    plugin.neuralav_register_codecs = hookimpl(lambda register: register(TOY))
    return registry.build_registry([plugin], autoload=False)


def _frames(seconds: float):
    t = np.arange(int(RATE * seconds)) / RATE
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, len(x), 1024):
        frame = av.AudioFrame.from_ndarray(x[None, start:start + 1024], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, 1000 + start, Fraction(1, RATE)
        yield frame


def test_a_streaming_codec_on_the_documented_hooks_gets_exact_length_timestamps_and_groups():
    reg = _registry()
    encoder = registry.create_encoder("toystream", registry=reg)
    packets = [p for frame in _frames(1.3) for p in encoder.encode(frame)] + encoder.encode(None)
    total = int(RATE * 1.3)
    assert packets[0].pts == 1000
    assert all(a.pts + a.duration == b.pts for a, b in zip(packets, packets[1:]))  # no drift, no gap
    assert packets[-1].pts + packets[-1].duration == 1000 + total
    decoder = registry.create_decoder("toystream", encoder.header, registry=reg)
    frames = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
    assert sum(f.samples for f in frames) == total and frames[0].pts == 1000
    assert all(a.pts + a.samples == b.pts for a, b in zip(frames, frames[1:]))
    assert decoder.groups[:-1] == [3] * (len(decoder.groups) - 1) and sum(decoder.groups) == len(packets)
    assert decoder.resets == 0


def test_a_jump_in_pts_restarts_the_stream_through_reset():
    reg = _registry()
    encoder = registry.create_encoder("toystream", registry=reg)
    packets = [p for frame in _frames(1.0) for p in encoder.encode(frame)] + encoder.encode(None)
    decoder = registry.create_decoder("toystream", encoder.header, registry=reg)
    kept = packets[:2] + packets[6:]  # a seek over four packets
    frames = [f for p in kept for f in decoder.decode(p)] + decoder.decode(None)
    assert decoder.resets == 1
    assert frames[0].pts == packets[0].pts
    restarted = [f for f in frames if f.pts >= packets[6].pts]
    assert restarted and restarted[0].pts == packets[6].pts


def test_wavenet_uses_the_hooks_and_overrides_no_private_method_nor_decode():
    assert "decode" not in WavenetDecoder.__dict__ and "decode_samples" not in WavenetDecoder.__dict__
    assert {"inspect", "decode_group", "reset"} <= set(WavenetDecoder.__dict__)
    for cls in (WavenetEncoder, WavenetDecoder):
        privates = {name for name, value in cls.__dict__.items()
                    if name.startswith("_") and not name.startswith("__") and callable(value)}
        base = AudioEncoder if cls is WavenetEncoder else AudioDecoder
        overridden = {name for name in privates if hasattr(base, name)}
        assert not overridden, (cls.__name__, overridden)
