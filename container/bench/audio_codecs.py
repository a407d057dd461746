"""Audio codec adapters: registry codecs and Opus (libopus through PyAV), one interface.

A codec opens a *stream* at one setting and sample rate (untimed: models load
here); the stream codes a whole mono clip (1-D ``float32`` in [-1, 1]) into
packets and decodes them back. The rate counts the packets' bytes only: for
registry codecs the ``av.Packet`` payloads (the codec header, sent once like
``extradata``, excluded), for Opus the raw Opus packets (no Ogg pages, no
OpusHead). Decoded signals may be delayed (codec look-ahead, Opus pre-skip);
:func:`align` finds that delay before metrics are computed.
"""

from __future__ import annotations

import abc
from fractions import Fraction
from typing import Any, Sequence

import av
import numpy as np

from neuralav import registry
from neuralav.registry import Capability, CodecDescriptor, MediaType

from .errors import BenchError
from .selection import adopt_descriptor, registry_descriptors

__all__ = ["AudioCodec", "AudioStream", "OpusCodec", "RegistryAudioCodec", "registry_audio_codecs",
           "align", "OPUS_RATES", "FRAME_SAMPLES"]

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
"""Sample rates (Hz) libopus codes natively."""

FRAME_SAMPLES = 1024
"""Samples per ``av.AudioFrame`` fed to registry encoders."""


class AudioStream(abc.ABC):
    """One open encoder/decoder pair at a fixed setting and sample rate."""

    @abc.abstractmethod
    def encode(self, samples: np.ndarray) -> list[bytes]:
        """Code a whole clip (1-D ``float32``, mono); return the packets' bytes, flushed."""

    @abc.abstractmethod
    def decode(self, packets: list[bytes]) -> np.ndarray:
        """Decode every packet (and flush); return 1-D ``float32`` mono at the stream's rate."""


class AudioCodec(abc.ABC):
    """An audio codec and its settings (see :class:`~.image_codecs.ImageCodec` for the attributes)."""

    name: str
    label: str
    family: str
    setting_name: str
    settings: tuple[Any, ...]

    @abc.abstractmethod
    def open(self, setting: Any, rate: int) -> AudioStream:
        """Create the encoder and decoder for ``setting`` at ``rate`` Hz (mono)."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready description of the codec and its settings."""
        return {"name": self.name, "label": self.label, "family": self.family,
                "setting_name": self.setting_name, "settings": list(self.settings)}


def _frames(samples: np.ndarray, rate: int, size: int) -> list[av.AudioFrame]:
    frames = []
    for start in range(0, samples.size, size):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None, start:start + size], np.float32),
                                           format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        frames.append(frame)
    return frames


def _to_mono_float(frames: list[av.AudioFrame], rate: int) -> np.ndarray:
    """Concatenate decoded frames as mono ``float32`` at ``rate`` (resampled if needed)."""
    if not frames:
        return np.zeros(0, np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    parts = []
    for frame in frames:
        frame.pts = None
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


# --------------------------------------------------------------------------- Opus


class _OpusStream(AudioStream):
    def __init__(self, kbps: float, rate: int, application: str) -> None:
        self.rate = rate
        self.encoder = av.CodecContext.create("libopus", "w")
        self.encoder.sample_rate = rate
        self.encoder.layout = "mono"
        self.encoder.format = "flt"
        self.encoder.bit_rate = int(round(kbps * 1000))
        self.encoder.options = {"application": application}
        self.encoder.open()
        self.decoder = av.CodecContext.create("libopus", "r")
        self.decoder.sample_rate = rate
        self.decoder.layout = "mono"
        self.decoder.extradata = self.encoder.extradata

    def encode(self, samples: np.ndarray) -> list[bytes]:
        packets = []
        for frame in _frames(samples, self.rate, self.encoder.frame_size):
            packets += self.encoder.encode(frame)
        packets += self.encoder.encode(None)
        return [bytes(p) for p in packets]

    def decode(self, packets: list[bytes]) -> np.ndarray:
        frames = []
        for data in packets:
            frames += self.decoder.decode(av.Packet(data))
        frames += self.decoder.decode(None)
        return _to_mono_float(frames, self.rate)


class OpusCodec(AudioCodec):
    """Opus through PyAV's libopus, by target bitrate (kbps), ``application`` audio, 20 ms frames."""

    family = "standard"
    setting_name = "kbps"

    def __init__(self, kbps: Sequence[float], application: str = "audio") -> None:
        self.name = "opus"
        self.label = f"Opus (libopus via PyAV, application={application}, 20 ms frames)"
        self.settings = tuple(sorted(set(float(k) for k in kbps)))
        if not self.settings or any(not 0.5 <= k <= 256 for k in self.settings):
            raise BenchError(f"Opus bitrates must be from 0.5 to 256 kbps per channel, not {list(kbps)}")
        self.application = application

    def open(self, setting: Any, rate: int) -> AudioStream:
        if rate not in OPUS_RATES:
            raise BenchError(f"Opus codes {', '.join(map(str, OPUS_RATES))} Hz audio, not {rate} Hz: "
                             f"choose one of those with `--rate`")
        return _OpusStream(float(setting), rate, self.application)


# --------------------------------------------------------------------------- registry


class _RegistryStream(AudioStream):
    def __init__(self, name: str, options: dict[str, Any], rate: int) -> None:
        self.rate = rate
        self.encoder = registry.create_encoder(name, options, sample_rate=rate, layout="mono", format="flt")
        self.decoder = registry.create_decoder(name, self.encoder.header)

    def encode(self, samples: np.ndarray) -> list[bytes]:
        packets = []
        for frame in _frames(samples, self.rate, FRAME_SAMPLES):
            packets += self.encoder.encode(frame)
        packets += self.encoder.encode(None)
        return [bytes(p) for p in packets]

    def decode(self, packets: list[bytes]) -> np.ndarray:
        frames = []
        for data in packets:
            packet = av.Packet(data)
            frames += self.decoder.decode(packet)
        frames += self.decoder.decode(None)
        return _to_mono_float(frames, self.rate)


class RegistryAudioCodec(AudioCodec):
    """A neuralav AUDIO codec from the registry, at each value of its ``quality`` option."""

    setting_name = "quality"

    def __init__(self, descriptor: CodecDescriptor) -> None:
        adopt_descriptor(self, descriptor)
        self.lossy = Capability.LOSSY in descriptor.capabilities

    def open(self, setting: Any, rate: int) -> AudioStream:
        return _RegistryStream(self.name, {} if setting is None else {"quality": setting}, rate)


def registry_audio_codecs(names: Sequence[str] | None = None) -> list[RegistryAudioCodec]:
    """Registry AUDIO codecs: the named ones, or every installed one with ``Capability.NEURAL``.

    Raises:
        UnknownCodecError: a named codec is not installed.
        BenchError: a named codec is not an audio codec with an encoder and a decoder.
    """
    return [RegistryAudioCodec(d) for d in registry_descriptors(names, MediaType.AUDIO, "bench audio")]


def align(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Undo the decoder's delay: the lag in [0, max_lag] samples that best correlates the signals.

    Args:
        reference: The original clip, 1-D.
        decoded: The decoded clip, 1-D, possibly delayed and of another length.
        max_lag: Largest delay searched (samples).

    Returns:
        ``(reference, decoded)`` cut to the same length after removing ``lag``
        leading samples of ``decoded``, and the lag.

    Raises:
        BenchError: the decoded clip is empty.
    """
    if decoded.size == 0:
        raise BenchError("the codec decoded no samples")
    span = min(reference.size, decoded.size)
    max_lag = max(0, min(max_lag, decoded.size - 1))
    lag = 0
    if max_lag and np.any(reference[:span]):
        size = 1 << int(np.ceil(np.log2(span + max_lag + 1)))
        spectrum = np.fft.rfft(decoded[:span + max_lag].astype(np.float64), size) * \
            np.conj(np.fft.rfft(reference[:span].astype(np.float64), size))
        correlation = np.fft.irfft(spectrum, size)[:max_lag + 1]
        lag = int(np.argmax(correlation))
    length = min(reference.size, decoded.size - lag)
    return reference[:length], decoded[lag:lag + length], lag
