"""``wavenet`` encoder and decoder: streaming causal transforms, range-coded packets.

Coding happens at :data:`~.levels.CODED_RATE` (16 kHz); each channel is coded on its own
(stereo round-trips as stereo). The encoder buffers its input and codes it one second at
a time (``Capability.DELAY``); it emits packets of ``FRAMES_PER_PACKET`` latent frames
(100 ms). Every packet is range-coded on its own with the level's factorized prior, so
every packet is a keyframe: a decoder that starts at any packet (after a seek) decodes it,
with a warm-up of a few milliseconds while its convolution state fills. A decoder that
receives packets in order carries the state of its causal convolutions from packet to
packet, so the output has no packet boundaries at all: decoding packet by packet gives
the same samples as decoding the whole stream at once. The decoder's synthesis is fixed point
(:mod:`.fixed`), so these samples are bit-identical whatever the packet grouping, thread
count, TensorFlow kernels or CPU: decoded audio is a function of the packets and the weights.

Packet payload (integers big-endian)::

    byte 0      high nibble: payload format (2); low nibble: model level index
    byte 1      bits 7-5: channels - 1; bit 4: final packet; bits 3-0: latent frames (0..10)
    [final]     2 bytes: valid samples at 16 kHz (0..frames*hop)
                4 bytes: samples this packet stands for at the input rate (the stream's last;
                at most (frames + 1) * hop resampled to the input rate)
    2 bytes per channel but the last: length of that channel's range-coded string
    strings     one per channel (tfc ``ContinuousBatchedEntropyModel.compress`` output)
    2 bytes     CRC-16 of everything before it: ``binascii.crc_hqx(data, 0xFFFF) ^ 0xFFFF``
                (CRC-16/GENIBUS; the final XOR makes appended zero bytes fail the check)

Format 1 (the first releases) ended in a 4-byte CRC-32. The CRC-16 still catches every
error burst of up to 16 bits and all but 1 in 65,536 others, for half the bytes: 4 bytes of
framing per mono 100 ms packet (0.32 kbps) instead of 6 (0.48 kbps), 3% of the 6 kbps level.

A non-final packet stands for ``frames * hop`` samples at 16 kHz; its duration at the input
rate is the difference of the rounded cumulative positions, so pts add up exactly, and
the final packet makes the decoded total equal the encoder's input length.

The weights file can be overridden with the environment variable
``NEURALAV_WAVENET_WEIGHTS`` (path of an exported ``wavenet.npz``; no hash check then).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
from binascii import crc_hqx
from pathlib import Path
from typing import Any

import av
import numpy as np

from neuralav.registry import (AudioChunk, AudioDecoder, AudioEncoder, FormatNotSupportedError, InvalidDataError,
                               PacketInfo, PluginError)

from .analysis import FloatAnalysis
from .fixed import DCBlocker, FixedSynthesis
from .levels import CODED_RATE, LEVELS, WEIGHTS_DIR

__all__ = ["WavenetEncoder", "WavenetDecoder", "Bundle", "load_bundle", "FRAMES_PER_PACKET",
           "SEGMENT_PACKETS", "DECODE_GROUP", "WEIGHTS_ENV"]

PAYLOAD_FORMAT = 2
FRAMES_PER_PACKET = 10
"""Latent frames per packet (10 x 10 ms = 100 ms with the shipped hop of 160 samples)."""
SEGMENT_PACKETS = 10
"""Packets the encoder codes per transform call (1 s): its algorithmic delay."""
DECODE_GROUP = SEGMENT_PACKETS
"""Packets the decoder synthesizes per call (it waits for them, or for the final packet)."""
WEIGHTS_ENV = "NEURALAV_WAVENET_WEIGHTS"
MAX_CHANNELS = 8
"""Most channels a stream may have (3 bits in the packet)."""
_CRC = struct.Struct(">H")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_path(quality: int) -> tuple[Path, str | None]:
    """Weights file of a ``quality`` level and its expected SHA-256 (``None``: not checked)."""
    override = os.environ.get(WEIGHTS_ENV)
    if override:
        return Path(override), None
    level = LEVELS[quality]
    return WEIGHTS_DIR / level.weights, level.sha256


class Bundle:
    """A loaded model: the numpy analysis (:class:`~.analysis.FloatAnalysis`) for encoding,
    the fixed-point synthesis (:class:`~.fixed.FixedSynthesis`) for decoding, and the range
    coding as ``tf.function``s with fixed signatures.

    Shared by every encoder and decoder of the same weights file (see :func:`load_bundle`).
    The transforms take a batch of channels: waveforms (channels, samples, 1), latents
    (channels, frames, M), and the streaming state of every causal convolution.
    """

    def __init__(self, path: Path) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CPU-only start-up errors are noise (registry.TF_LOG_ENV)
        import tensorflow as tf
        import tensorflow_compression as tfc

        from .model import ModelConfig, WavenetModel, read_weights

        try:
            meta, weights, arrays = read_weights(path)
            config = ModelConfig.from_dict(meta["config"])
        except (OSError, KeyError, ValueError) as error:
            raise PluginError(f"cannot read `wavenet` weights {path}: {error}") from error
        self.path, self.meta, self.config = path, meta, config
        self.hop = config.hop
        self.digest = _sha256(path)
        model = WavenetModel(config)
        model.load_weights(weights)
        self.model = model
        m = config.latent_channels
        self.analysis = FloatAnalysis(model.weights(), config)
        """The encoder's analysis: numpy float32 on two threads (see :mod:`.analysis`)."""
        self.fixed_synthesis = FixedSynthesis(model.weights(), config)
        """The decoder's synthesis: fixed point, the same bits everywhere (see :mod:`.fixed`)."""
        self.dc_blocker = DCBlocker()
        """Run on the synthesis's output: takes out the DC offset it leaves (integer, exact)."""
        self.compress, self.decompress = [], []
        for level in range(config.levels):
            em = tfc.ContinuousBatchedEntropyModel(
                prior_shape=[m], coding_rank=2, compression=True, stateless=True, offset_heuristic=False,
                cdf=tf.constant(arrays[f"level{level}/cdf"]),
                cdf_offset=tf.constant(arrays[f"level{level}/cdf_offset"]))
            gain = model.gain(level)

            def compress(y, em=em, gain=gain):
                # (P, frames, M) latents -> P strings, one per packet.
                return em.compress(y * gain)

            def decompress(strings, frames, em=em):
                # The integers y_hat: the fixed-point synthesis applies the inverse gain itself.
                return em.decompress(strings, [frames])

            self.compress.append(tf.function(compress, input_signature=[tf.TensorSpec([None, None, m])]))
            self.decompress.append(tf.function(
                decompress, input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32)]))
        self._tf = tf
        self.lock = threading.Lock()

    def zero_state(self, which: str, channels: int) -> list[np.ndarray]:
        """Streaming state at the start of a stream, of ``analysis`` or ``synthesis`` (numpy)."""
        if which == "synthesis":
            return self.fixed_synthesis.zero_state(channels) + [self.dc_blocker.zero_state(channels)]
        return self.analysis.zero_state(channels)

    def analyze(self, x: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """Waveform (channels, samples, 1) float32, samples a multiple of the hop -> latent
        (channels, frames, M) before the gain, and the new state; BLAS on one thread meanwhile."""
        with _one_blas_thread():
            return self.analysis(x, state)

    def synthesize(self, y_hat: np.ndarray, level: int, state: list) -> tuple[np.ndarray, list]:
        """Range-decoded integers (channels, frames, M) of ``level`` -> float32 samples
        (channels, frames * hop) and the new state, with BLAS held to one thread meanwhile
        (the products are exact on any thread count; one thread is faster on small matrices).
        The fixed-point synthesis, then the DC blocker; the state is theirs, in that order."""
        with _one_blas_thread():
            x, synthesis_state = self.fixed_synthesis(y_hat, level, state[:-1])
        x, dc_state = self.dc_blocker(x, state[-1])
        return x, synthesis_state + [dc_state]

    def errors(self) -> tuple[type[BaseException], ...]:
        """TensorFlow's errors that mean bad input data."""
        return (self._tf.errors.InvalidArgumentError, self._tf.errors.OutOfRangeError)


_BLAS_LOCK = threading.Lock()
"""Held while BLAS is limited: two overlapping limits could otherwise restore each other's
setting (and leave numpy on one thread for good)."""
_BLAS: list = []


@contextlib.contextmanager
def _one_blas_thread():
    """Limit numpy's BLAS to one thread for the ``with`` block (``threadpoolctl``; the library
    scan is done once per process, the limit is set and restored per call)."""
    with _BLAS_LOCK:
        if not _BLAS:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())
        with _BLAS[0].limit(limits=1, user_api="blas"):
            yield


_BUNDLES: dict[str, Bundle] = {}
_BUNDLES_LOCK = threading.Lock()


def load_bundle(quality: int) -> Bundle:
    """Load (once per file) the model of a ``quality`` level.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    path, sha256 = weights_path(quality)
    key = str(path.resolve())
    with _BUNDLES_LOCK:
        if key not in _BUNDLES:
            if not path.is_file():
                raise PluginError(f"`wavenet` weights not found at {path} (export them with "
                                  f"`python -m neuralav.plugins.wavenet.train --export {path.parent}`)")
            bundle = Bundle(path)
            if sha256 is not None and bundle.digest != sha256:
                raise PluginError(f"`wavenet` weights {path} have SHA-256 {bundle.digest}, "
                                  f"expected {sha256}")
            _BUNDLES[key] = bundle
        return _BUNDLES[key]


# ---------------------------------------------------------------------------- payloads


def _crc16(data: bytes) -> int:
    """CRC-16/GENIBUS (polynomial 0x1021, initial value and final XOR 0xFFFF) of ``data``."""
    return crc_hqx(data, 0xFFFF) ^ 0xFFFF


def pack_payload(level: int, frames: int, strings: list[bytes], final: tuple[int, int] | None) -> bytes:
    """Serialize one packet (layout in the module docstring)."""
    channels = len(strings)
    out = bytearray([(PAYLOAD_FORMAT << 4) | level,
                     ((channels - 1) << 5) | ((final is not None) << 4) | frames])
    if final is not None:
        out += struct.pack(">HI", *final)
    for string in strings[:-1]:
        out += struct.pack(">H", len(string))
    for string in strings:
        out += string
    out += _CRC.pack(_crc16(out))
    return bytes(out)


def unpack_payload(payload: bytes, *, level: int, channels: int, hop: int):
    """Check and split a packet: returns (frames, strings, final) with final = (valid, input samples).

    Raises:
        InvalidDataError: wrong CRC, truncated, another level or format, wrong channel count.
    """
    if len(payload) < 4:
        raise InvalidDataError(f"`wavenet` packet of {len(payload)} bytes is truncated (at least 4 needed)")
    body, (crc,) = payload[:-2], _CRC.unpack(payload[-2:])
    fmt, packet_level = body[0] >> 4, body[0] & 15
    if fmt == PAYLOAD_FORMAT and _crc16(body) != crc:
        raise InvalidDataError("`wavenet` packet fails its CRC-16 check (corrupt or truncated)")
    if fmt != PAYLOAD_FORMAT:  # also a format-1 packet (CRC-32 trailer): name its format
        raise InvalidDataError(f"`wavenet` packet has payload format {fmt}; this decoder reads {PAYLOAD_FORMAT}")
    if packet_level != level:
        raise InvalidDataError(f"`wavenet` packet is of model level {packet_level}, but this decoder "
                               f"decodes level {level} (another `quality`?)")
    packet_channels, final_flag, frames = (body[1] >> 5) + 1, bool(body[1] & 16), body[1] & 15
    if packet_channels != channels:
        raise InvalidDataError(f"`wavenet` packet has {packet_channels} channels; the stream has {channels}")
    if not 1 <= frames <= FRAMES_PER_PACKET:
        raise InvalidDataError(f"`wavenet` packet claims {frames} latent frames (1 to {FRAMES_PER_PACKET})")
    position = 2
    final = None
    if final_flag:
        if len(body) < position + 6:
            raise InvalidDataError("`wavenet` packet is truncated in its final-packet lengths")
        final = struct.unpack(">HI", body[position:position + 6])
        position += 6
        if final[0] > frames * hop:
            raise InvalidDataError(f"`wavenet` packet claims {final[0]} valid samples of {frames * hop}")
    lengths = []
    for _ in range(channels - 1):
        if len(body) < position + 2:
            raise InvalidDataError("`wavenet` packet is truncated in its string lengths")
        lengths.append(struct.unpack(">H", body[position:position + 2])[0])
        position += 2
    strings = []
    for length in lengths:
        if len(body) < position + length:
            raise InvalidDataError("`wavenet` packet is truncated in its coded strings")
        strings.append(body[position:position + length])
        position += length
    strings.append(body[position:])
    return frames, strings, final


def _quality_level(options: dict[str, Any]) -> int:
    return LEVELS[int(options["quality"])].index


# ---------------------------------------------------------------------------- encoder


class WavenetEncoder(AudioEncoder):
    """Codes 16 kHz float samples, one second per transform call, into 100 ms packets."""

    coded_rate = CODED_RATE

    def __init__(self, descriptor, options, **kwargs) -> None:
        super().__init__(descriptor, options, **kwargs)
        self.level = _quality_level(self.options)
        self._bundle: Bundle | None = None
        self._buffer: np.ndarray | None = None
        self._state = None
        self._coded = 0  # coded-rate samples in the chunks made so far

    @property
    def bundle(self) -> Bundle:
        if self._bundle is None:
            self._bundle = load_bundle(int(self.options["quality"]))
        return self._bundle

    def header_fields(self) -> dict[str, int | str | bytes]:
        fields = super().header_fields()
        fields["model"] = self.bundle.digest[:16]
        return fields

    def encode(self, frame: av.AudioFrame | None = None) -> list[av.Packet]:
        """Encode one frame (``None`` flushes); returns the packets now complete.

        Raises:
            FormatNotSupportedError: more than :data:`MAX_CHANNELS` channels, or what the base
                class refuses (see :meth:`AudioEncoder.encode`).
        """
        if isinstance(frame, av.AudioFrame) and not 1 <= len(frame.layout.channels) <= MAX_CHANNELS:
            raise FormatNotSupportedError(f"`wavenet` codes 1 to {MAX_CHANNELS} channels, not "
                                          f"{len(frame.layout.channels)} ({frame.layout.name})")
        return super().encode(frame)

    def encode_samples(self, samples: np.ndarray, flush: bool) -> list[AudioChunk]:
        """Buffer ``samples`` (channels, n) and code every complete second (everything on flush)."""
        samples = np.asarray(samples, np.float32)  # channels checked in encode()
        self._buffer = samples if self._buffer is None else np.concatenate([self._buffer, samples], axis=1)
        segment = SEGMENT_PACKETS * FRAMES_PER_PACKET * self.bundle.hop
        chunks: list[AudioChunk] = []
        # Keep at least one sample back until the flush, so that the last packet says it is final.
        usable = self._buffer.shape[1] - 1
        if usable >= segment:
            count = usable // segment * segment
            chunks += self._code(self._buffer[:, :count], final=False)
            self._buffer = self._buffer[:, count:]
        if flush and self._buffer.shape[1]:
            chunks += self._code(self._buffer, final=True)
            self._buffer = self._buffer[:, :0]
        return chunks

    def _code(self, samples: np.ndarray, final: bool) -> list[AudioChunk]:
        bundle = self.bundle
        channels, n = samples.shape
        hop = bundle.hop
        frames = -(-n // hop)
        padded = np.zeros((channels, frames * hop, 1), np.float32)
        padded[:, :n, 0] = np.clip(samples, -1.0, 1.0)
        if self._state is None:
            self._state = bundle.zero_state("analysis", channels)
        segment = SEGMENT_PACKETS * FRAMES_PER_PACKET * hop  # bounds the memory of one call
        latents = []
        with bundle.lock:
            for begin in range(0, padded.shape[1], segment):
                y, self._state = bundle.analyze(padded[:, begin:begin + segment], self._state)
                latents.append(y)
            y = np.concatenate(latents, axis=1)
            full = frames // FRAMES_PER_PACKET
            pieces = []  # (frames in the packet, strings (C,) as numpy)
            if full:
                strings = bundle.compress[self.level](
                    y[:, :full * FRAMES_PER_PACKET].reshape(channels * full, FRAMES_PER_PACKET, -1))
                pieces += [(FRAMES_PER_PACKET, column) for column in strings.numpy().reshape(channels, full).T]
            if frames % FRAMES_PER_PACKET:
                strings = bundle.compress[self.level](y[:, full * FRAMES_PER_PACKET:])
                pieces.append((frames % FRAMES_PER_PACKET, strings.numpy()))
        chunks, start = [], 0
        for index, (count, strings) in enumerate(pieces):
            valid = min(count * hop, n - start * hop)
            start += count
            tail, duration = None, None
            if final and index == len(pieces) - 1:
                # The stream's last packet ends it at the input's exact length (in its payload
                # for the decoder, in the chunk for the packet's duration).
                begin = round(self._coded * self.sample_rate / CODED_RATE)
                duration = max(self.accepted_samples - begin, 0)
                tail = (valid, duration & 0xFFFFFFFF)
            chunk = AudioChunk(pack_payload(self.level, count, [bytes(s) for s in strings], tail), valid,
                               keyframe=True, duration=duration)
            self._coded += valid
            chunks.append(chunk)
        return chunks


# ---------------------------------------------------------------------------- decoder


class WavenetDecoder(AudioDecoder):
    """Decodes packets in order, carrying the synthesis state across packet boundaries.

    A streaming decoder of the base class's contract (:class:`AudioDecoder`): packets are
    checked (CRC, level, channels) as they arrive (:meth:`inspect`), then decoded in groups
    of :data:`DECODE_GROUP` (one range-decoding and one synthesis call per group, which costs
    a third of decoding them one by one; the encoder emits its packets in groups of the same
    size, so a live pipeline waits for nothing more). The base class resamples to the input
    rate, keeps the stream's length equal to the encoder's input length and stamps pts in
    samples; a pts discontinuity (a seek) resets the synthesis state (:meth:`reset`).
    """

    coded_rate = CODED_RATE
    group_size = DECODE_GROUP

    def __init__(self, descriptor, header: bytes) -> None:
        super().__init__(descriptor, header)
        self.level = _quality_level(self.options)
        if self.channels > MAX_CHANNELS:
            raise InvalidDataError(f"`wavenet` header claims {self.channels} channels ({self.layout}); "
                                   f"the codec codes 1 to {MAX_CHANNELS}")
        self.bundle = load_bundle(int(self.options["quality"]))
        model = self.header.fields.get("model")
        if model is not None and model != self.bundle.digest[:16]:
            raise InvalidDataError(f"stream was coded with `wavenet` model {model}, but the installed "
                                   f"weights are {self.bundle.digest[:16]}")
        self.reset()

    def reset(self) -> None:
        """Start the synthesis (and DC blocker) from zero state."""
        self._state = self.bundle.zero_state("synthesis", self.channels)

    def inspect(self, payload: bytes) -> PacketInfo:
        """Check a packet; its samples at 16 kHz and, for the final one, at the input rate.

        Raises:
            InvalidDataError: wrong CRC, truncated, another level or format, wrong channel
                count, or a final packet claiming more input samples than it can stand for.
        """
        frames, strings, final = unpack_payload(payload, level=self.level, channels=self.channels,
                                                hop=self.bundle.hop)
        if final is not None:
            # The input-rate length of the final packet is its coded length resampled, give or
            # take the resampler's rounding: allow one hop more. Checked before it sizes output.
            limit = -(-(frames + 1) * self.bundle.hop * self.sample_rate // CODED_RATE)
            if final[1] > limit:
                raise InvalidDataError(f"`wavenet` final packet claims {final[1]} samples at "
                                       f"{self.sample_rate} Hz for {frames} latent frames (at most {limit})")
            return PacketInfo(final[0], final[1], (frames, strings))
        return PacketInfo(frames * self.bundle.hop, None, (frames, strings))

    def decode_group(self, packets: list[PacketInfo]) -> list[np.ndarray]:
        """Range-decode packets (runs of equal frame counts in one call) and synthesize them in
        one call from the carried state: one (channels, valid samples) float32 array per packet."""
        samples = self._synthesize([info.data for info in packets])
        hop, position, pieces = self.bundle.hop, 0, []
        for info in packets:
            frames = info.data[0]
            pieces.append(samples[:, position:position + frames * hop][:, :info.samples])
            position += frames * hop
        return pieces

    def _synthesize(self, packets: list[tuple[int, list[bytes]]]) -> np.ndarray:
        """(frames, strings) of packets in order -> (channels, sum of frames * hop) at 16 kHz."""
        bundle, channels = self.bundle, self.channels
        latents, index = [], 0
        try:
            with bundle.lock:
                while index < len(packets):
                    frames = packets[index][0]
                    run = index
                    while run < len(packets) and packets[run][0] == frames:
                        run += 1
                    if frames:
                        strings = np.array([s for _, packet_strings in packets[index:run]
                                            for s in packet_strings], dtype=object)
                        y = bundle.decompress[self.level](strings, frames).numpy()
                        y = y.reshape(run - index, channels, frames, -1).transpose(1, 0, 2, 3)
                        latents.append(y.reshape(channels, (run - index) * frames, -1))
                    index = run
                if not latents:
                    return np.zeros((channels, 0), np.float32)
                x, self._state = bundle.synthesize(np.concatenate(latents, axis=1), self.level, self._state)
        except bundle.errors() as error:
            raise InvalidDataError(f"`wavenet` packet does not decode: {error.message}") from None
        return x
