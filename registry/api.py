"""The codec API: encoders take PyAV frames and return PyAV packets, decoders the reverse.

It mirrors ``av.CodecContext``: ``encoder.encode(frame) -> list[av.Packet]``
(``None`` flushes), ``encoder.header`` plays the role of ``extradata``, and
``decoder.decode(packet) -> list[frame]`` (``None`` flushes). Packets carry
pts/dts/duration/time_base and keyframe flags; decoded frames keep the
packet's pts and time_base, so the classes drop into an ordinary PyAV loop.

Codec authors subclass :class:`VideoEncoder`/:class:`VideoDecoder` (intra-only
image/video codecs), :class:`~neuralav.registry.inter.InterVideoEncoder`/``InterVideoDecoder``
(stateful video: keyframes and P-frames, see :mod:`neuralav.registry.inter`) or
:class:`AudioEncoder`/:class:`AudioDecoder` and implement one method each; the base
classes do format conversion, timestamps, bounds checks and error wrapping.

Video packet layout (the base classes write and parse it; the codec's own
payload follows)::

    1 byte  n = length of the coded pixel format name
    2 bytes width in pixels (big-endian, 1..MAX_DIMENSION)
    2 bytes height in pixels (1..MAX_DIMENSION; width x height at most MAX_PIXELS)
    n bytes coded pixel format (one of the codec's ``formats``)
    1 byte  m, then m bytes: pixel format of the encoder's input frame
            (decoded frames are converted back to it)
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import struct
from fractions import Fraction
from typing import Any, ClassVar

import av
import numpy as np

from . import guard
from .descriptor import Capability, CodecDescriptor, MediaType
from .errors import FormatNotSupportedError, InvalidDataError, NeuralavError, PluginError
from .header import CodecHeader
from .samples import DTYPES, array_to_frame, float_to_frames, frame_to_array, to_float

__all__ = [
    "MAX_DIMENSION",
    "MAX_PIXELS",
    "Encoder",
    "Decoder",
    "VideoEncoder",
    "VideoDecoder",
    "AudioChunk",
    "AudioEncoder",
    "AudioDecoder",
    "PacketInfo",
    "LOSSLESS_PIXEL_CONVERSIONS",
]

MAX_DIMENSION = 16384
"""Largest frame width or height (pixels) a neuralav video packet may claim."""

MAX_PIXELS = 1 << 25
"""Largest frame area (width x height, pixels; 8192x4096, above 8K UHD) a video packet may claim.

Checked before a decoder allocates anything: a neural decoder's activations are
tens of bytes per pixel, so 16384x16384 (allowed by :data:`MAX_DIMENSION` alone)
would need tens of GB."""

LOSSLESS_PIXEL_CONVERSIONS: dict[str, tuple[str, ...]] = {
    "bgr24": ("rgb24",),
    "rgb24": ("bgr24",),
    "bgra": ("rgba", "argb", "abgr"),
    "rgba": ("bgra", "argb", "abgr"),
    "argb": ("rgba", "bgra", "abgr"),
    "abgr": ("rgba", "bgra", "argb"),
    "gbrp": ("rgb24", "bgr24"),
}
"""Pixel formats that can be reordered into another without changing any value."""


def _check_finite(frame: av.frame.Frame, codec: str) -> None:
    """Refuses a float frame holding NaN or ±inf (any conversion would hide them as garbage).

    Raises:
        InvalidDataError: naming the codec and how many values are not finite.
    """
    name = frame.format.name
    if not any(tag in name for tag in ("f16", "f32", "f64", "flt", "dbl")):
        return
    values = frame_to_array(frame) if isinstance(frame, av.AudioFrame) else frame.to_ndarray()
    bad = values.size - int(np.count_nonzero(np.isfinite(values)))
    if bad:
        kind = "video frame" if isinstance(frame, av.VideoFrame) else "audio frame"
        raise InvalidDataError(
            f"cannot encode a `{name}` {kind} with {bad} NaN or infinite value(s) "
            f"(codec `{codec}`)")


def _default_time_base(frame: av.frame.Frame, fallback: Fraction) -> Fraction:
    return frame.time_base if frame.time_base is not None else fallback


_BYTES = (bytes, bytearray, memoryview)


def _guarded(method, what: str, returns: type, returns_text: str):
    """``method`` (a subclass's ``encode``/``decode``) run under :func:`guard.call`, its result checked."""
    if getattr(method, "_neuralav_guarded", False):
        return method

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        result = self._call_codec(what, method, self, *args, **kwargs)
        self._check_return(what, result, list, f"a list of {returns_text}")
        for item in result:
            self._check_return(what, item, returns, returns_text)
        return result

    wrapper._neuralav_guarded = True
    return wrapper


class _Codec:
    """What encoders and decoders share: the descriptor and error wrapping."""

    def __init__(self, descriptor: CodecDescriptor) -> None:
        self.descriptor = descriptor

    @property
    def name(self) -> str:
        """The codec's name, e.g. ``cae``."""
        return self.descriptor.name

    def _call_codec(self, what: str, function, *args, **kwargs):
        """Run a codec method under :func:`guard.call`: what it raises by mistake (``SystemExit``
        and a ``KeyboardInterrupt`` without Ctrl-C included) names the codec's distribution."""
        return guard.call(self.name, self.descriptor.distribution, what, function, *args, **kwargs)

    def _check_return(self, what: str, value: object, expected, expected_text: str) -> None:
        """Refuse a codec method's return value of the wrong type (see :func:`guard.check_return`)."""
        guard.check_return(self.name, self.descriptor.distribution, what, value, expected, expected_text)


class Encoder(_Codec, abc.ABC):
    """Base of every encoder.

    Args:
        descriptor: The codec's descriptor.
        options: Option values, already resolved by ``descriptor.resolve_options``.
        time_base: Time base of frames that carry none (default 1/25 for video,
            1/sample_rate for audio).
    """

    def __init__(self, descriptor: CodecDescriptor, options: dict[str, Any], *,
                 time_base: Fraction | None = None) -> None:
        super().__init__(descriptor)
        self.options = dict(options)
        self.time_base = time_base

    def header_fields(self) -> dict[str, int | str | bytes]:
        """Codec-specific header fields. The default writes every option's value."""
        fields: dict[str, int | str | bytes] = {}
        for name, value in self.options.items():
            fields[name] = int(value) if isinstance(value, (bool, int)) else str(value)
        return fields

    @property
    def header(self) -> bytes:
        """The codec header (like ``extradata``) a decoder is built from.

        Raises:
            PluginError: ``header_fields`` failed or returned something other than a dict.
        """
        fields = self._call_codec("write its header", self.header_fields)
        self._check_return("write its header", fields, dict, "a dict of header fields")
        return CodecHeader(self.name, self.descriptor.version, self.descriptor.media_type, fields).to_bytes()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every encode() a subclass defines runs guarded and returns a checked list of packets,
        # so a codec that implements encode() itself is held to the same contract.
        super().__init_subclass__(**kwargs)
        if "encode" in cls.__dict__ and not getattr(cls.encode, "__isabstractmethod__", False):
            cls.encode = _guarded(cls.__dict__["encode"], "encode", av.Packet, "av.Packet")

    @abc.abstractmethod
    def encode(self, frame: av.frame.Frame | None = None) -> list[av.Packet]:
        """Encode one frame; ``None`` flushes buffered input. Returns the packets now ready.

        A subclass's ``encode`` runs under :func:`guard.call` (stray exceptions become a
        :class:`PluginError` naming the codec) and must return a ``list`` of ``av.Packet``.
        """


class Decoder(_Codec, abc.ABC):
    """Base of every decoder: parses and checks the codec header.

    Raises:
        InvalidDataError: the header is malformed.
        HeaderMismatchError: the header is for another codec or bitstream version.
    """

    def __init__(self, descriptor: CodecDescriptor, header: bytes) -> None:
        super().__init__(descriptor)
        self.header = CodecHeader.from_bytes(header)
        self.header.check(descriptor.name, descriptor.version)
        self.options = descriptor.resolve_options(
            {k: v for k, v in self.header.fields.items() if any(o.name == k for o in descriptor.options)}
        ) if descriptor.options else {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # As for encoders: every decode() a subclass defines is guarded and its result checked.
        super().__init_subclass__(**kwargs)
        if "decode" in cls.__dict__ and not getattr(cls.decode, "__isabstractmethod__", False):
            cls.decode = _guarded(cls.__dict__["decode"], "decode", av.frame.Frame, "av.AudioFrame/av.VideoFrame")

    @abc.abstractmethod
    def decode(self, packet: av.Packet | None = None) -> list[av.frame.Frame]:
        """Decode one packet; ``None`` flushes. Returns the frames now ready.

        A subclass's ``decode`` runs under :func:`guard.call` and must return a ``list`` of
        frames.
        """

    def discontinuity(self) -> None:
        """Say that the next packet does not follow the last one decoded.

        Callers (the container's reader) call it after a seek, and after skipping or losing
        packets themselves. Decoders of stateful codecs (:class:`Capability.INTER
        <neuralav.registry.descriptor.Capability>`, see :class:`~neuralav.registry.inter.InterVideoDecoder`)
        then drop their reference frames, and the next packet they decode must be a keyframe.
        Intra-only decoders keep nothing from packet to packet, and audio decoders find jumps
        from the packets' pts themselves: the default does nothing.
        """

    def _check_packet(self, packet: object) -> None:
        """Refuse anything but an ``av.Packet`` (e.g. bare bytes) with an error naming it.

        Raises:
            FormatNotSupportedError: ``packet`` is not an ``av.Packet``.
        """
        if not isinstance(packet, av.Packet):
            raise FormatNotSupportedError(f"codec `{self.name}` decodes av.Packet, not {type(packet).__name__} "
                                          "(wrap bytes as av.Packet(data))")


# --------------------------------------------------------------------------- video


class VideoEncoder(Encoder):
    """Base of intra-only video/image encoders: one frame in, one keyframe packet out.

    Subclasses implement :meth:`encode_image`. Frames in a pixel format the
    codec does not list are converted: to the first listed format if the codec
    is lossy, or through a lossless reordering (``bgr24`` → ``rgb24``) if not.
    """

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Code one image.

        Args:
            image: ``frame.to_ndarray(format=pix_fmt)``: for ``rgb24`` an HxWx3
                uint8 array (0–255), for ``gray`` HxW, for planar YUV the planes
                stacked as PyAV returns them.
            pix_fmt: One of the codec's ``formats``.

        Returns:
            The coded payload (range-coded bytes for neural codecs).
        """
        raise NotImplementedError

    def _coded_format(self, frame: av.VideoFrame) -> str:
        source = frame.format.name
        formats = self.descriptor.formats
        if source in formats:
            return source
        if Capability.LOSSY in self.descriptor.capabilities:
            return formats[0]
        for target in LOSSLESS_PIXEL_CONVERSIONS.get(source, ()):
            if target in formats:
                return target
        raise FormatNotSupportedError(
            f"codec `{self.name}` cannot code pixel format `{source}` without loss "
            f"(it accepts {', '.join(formats)})"
        )

    def encode(self, frame: av.VideoFrame | None = None) -> list[av.Packet]:
        """Encode one frame into one keyframe packet (``None`` flushes: nothing is buffered).

        Raises:
            FormatNotSupportedError: not a video frame, an empty frame, or a pixel
                format the codec cannot take.
            InvalidDataError: a float frame holding NaN or infinite values.
        """
        if frame is None:
            return []
        coded_format = self._check_frame(frame)
        image = frame.to_ndarray(format=coded_format)
        payload = self._call_codec("encode a frame", self.encode_image, image, coded_format)
        self._check_return("encode a frame", payload, _BYTES, "bytes")
        return [self._packet(frame, coded_format, bytes(payload), keyframe=True)]

    def _check_frame(self, frame: object) -> str:
        """Refuse a frame the codec cannot take; return the pixel format it is coded in.

        Raises:
            FormatNotSupportedError: not a video frame, an empty or oversized frame, or a
                pixel format the codec cannot take.
            InvalidDataError: a float frame holding NaN or infinite values.
        """
        if not isinstance(frame, av.VideoFrame):
            raise FormatNotSupportedError(
                f"codec `{self.name}` encodes av.VideoFrame, not {type(frame).__name__}")
        if frame.width <= 0 or frame.height <= 0:
            raise FormatNotSupportedError(f"cannot encode an empty {frame.width}x{frame.height} frame")
        if frame.width > MAX_DIMENSION or frame.height > MAX_DIMENSION:
            raise FormatNotSupportedError(
                f"frame of {frame.width}x{frame.height} exceeds the {MAX_DIMENSION}-pixel limit")
        if frame.width * frame.height > MAX_PIXELS:
            raise FormatNotSupportedError(
                f"frame of {frame.width}x{frame.height} exceeds the {MAX_PIXELS}-pixel area limit")
        _check_finite(frame, self.name)
        return self._coded_format(frame)

    def _packet(self, frame: av.VideoFrame, coded_format: str, payload: bytes, *, keyframe: bool) -> av.Packet:
        """The packet of one coded frame: the video prefix (module docstring), then ``payload``;
        pts/dts/duration from the frame (or counted in ``time_base`` when it has none)."""
        source = frame.format.name.encode("ascii")
        coded = coded_format.encode("ascii")
        prefix = struct.pack(">BHH", len(coded), frame.width, frame.height) + coded
        prefix += struct.pack(">B", len(source)) + source
        packet = av.Packet(prefix + payload)
        packet.time_base = _default_time_base(frame, self.time_base or Fraction(1, 25))
        packet.pts = frame.pts if frame.pts is not None else self._next_pts()
        packet.dts = packet.pts
        if frame.duration:
            packet.duration = frame.duration
        elif frame.pts is None:
            packet.duration = 1
        packet.is_keyframe = keyframe
        self._last_pts = packet.pts
        return packet

    def _next_pts(self) -> int:
        last = getattr(self, "_last_pts", None)
        return 0 if last is None else last + 1


@dataclasses.dataclass(frozen=True)
class _VideoPacketInfo:
    width: int
    height: int
    coded_format: str
    output_format: str
    payload: bytes


def _pixel_format(name: bytes) -> str:
    try:
        text = name.decode("ascii")
        av.VideoFormat(text)
    except (UnicodeDecodeError, ValueError):
        raise InvalidDataError(f"packet names an unknown pixel format {name[:32]!r}") from None
    return text


def parse_video_packet(data: bytes) -> _VideoPacketInfo:
    """Split a neuralav video packet into its frame description and codec payload.

    Raises:
        InvalidDataError: truncated packet, dimensions out of 1..MAX_DIMENSION,
            an area above MAX_PIXELS, or an unknown pixel format.
    """
    if len(data) < 5:
        raise InvalidDataError(f"video packet of {len(data)} bytes is truncated (at least 5 needed)")
    coded_length, width, height = struct.unpack(">BHH", data[:5])
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise InvalidDataError(f"video packet claims a {width}x{height} frame (1 to {MAX_DIMENSION} allowed)")
    if width * height > MAX_PIXELS:
        raise InvalidDataError(f"video packet claims a {width}x{height} frame, above the "
                               f"{MAX_PIXELS}-pixel area limit")
    position = 5 + coded_length
    if coded_length == 0 or len(data) < position + 1:
        raise InvalidDataError("video packet is truncated in its pixel format")
    coded_format = _pixel_format(data[5:position])
    output_length = data[position]
    if output_length == 0 or len(data) < position + 1 + output_length:
        raise InvalidDataError("video packet is truncated in its output pixel format")
    output_format = _pixel_format(data[position + 1:position + 1 + output_length])
    return _VideoPacketInfo(width, height, coded_format, output_format,
                            data[position + 1 + output_length:])


class VideoDecoder(Decoder):
    """Base of intra-only video/image decoders. Subclasses implement :meth:`decode_image`."""

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decode one image.

        Args:
            payload: What :meth:`VideoEncoder.encode_image` returned.
            width: Frame width in pixels.
            height: Frame height in pixels.
            pix_fmt: The pixel format it was coded in (one of the codec's ``formats``).

        Returns:
            The image as ``frame.to_ndarray(format=pix_fmt)`` would give it
            (``rgb24``: HxWx3 uint8).

        Raises:
            InvalidDataError: the payload is truncated or corrupt.
        """
        raise NotImplementedError

    def decode(self, packet: av.Packet | None = None) -> list[av.VideoFrame]:
        """Decode one packet into one frame in the encoder's input pixel format.

        Raises:
            InvalidDataError: malformed or corrupt packet.
        """
        if packet is None:
            return []
        info = self._check_info(packet)
        image = self._call_codec("decode a frame", self.decode_image, info.payload,
                                 info.width, info.height, info.coded_format)
        return [self._frame(image, info, packet)]

    def _check_info(self, packet: object) -> _VideoPacketInfo:
        """Parse a packet's video prefix and check its coded format is one the codec produces.

        Raises:
            FormatNotSupportedError: not an ``av.Packet``.
            InvalidDataError: malformed prefix, or a coded format foreign to the codec.
        """
        self._check_packet(packet)
        info = parse_video_packet(bytes(packet))
        if info.coded_format not in self.descriptor.formats:
            raise InvalidDataError(
                f"packet is coded as `{info.coded_format}`, which codec `{self.name}` does not produce")
        return info

    def _frame(self, image: object, info: _VideoPacketInfo, packet: av.Packet) -> av.VideoFrame:
        """The frame of a decoded image: checked, converted to the output format, stamped with
        the packet's pts, time base and duration.

        Raises:
            PluginError: the codec returned something that is not an image of the packet's size.
            InvalidDataError: the packet asks for an output format the image cannot be converted to.
        """
        self._check_return("decode a frame", image, np.ndarray, "a numpy array")
        try:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=info.coded_format)
        except (ValueError, TypeError) as error:
            raise PluginError(guard.failure_message(
                self.name, self.descriptor.distribution, "decode a frame",
                f"it returned an image PyAV cannot use: {error}")) from error
        if (frame.width, frame.height) != (info.width, info.height):
            raise PluginError(guard.failure_message(
                self.name, self.descriptor.distribution, "decode a frame",
                f"it returned a {frame.width}x{frame.height} image for a {info.width}x{info.height} frame"))
        if info.output_format != info.coded_format:
            try:
                frame = frame.reformat(format=info.output_format)
            except (av.FFmpegError, ValueError) as error:  # hardware or Bayer formats, for one
                raise InvalidDataError(f"video packet asks for output pixel format `{info.output_format}`, "
                                       f"which `{info.coded_format}` cannot be converted to: {error}") from None
        frame.pts = packet.pts
        if packet.time_base is not None:  # a packet built from bytes alone has none
            frame.time_base = packet.time_base
        if packet.duration:
            frame.duration = packet.duration
        return frame


# --------------------------------------------------------------------------- audio


@dataclasses.dataclass(frozen=True)
class AudioChunk:
    """One coded audio packet's worth of data.

    Attributes:
        payload: The coded bytes.
        samples: Number of samples (per channel) it decodes to, at the coded rate.
        keyframe: Whether decoding can start at this packet.
        duration: Samples at the input rate the packet stands for, or ``None`` (the usual
            case): ``samples`` at the input rate, from rounded cumulative positions so that
            durations add up without drift. Give it for the stream's last chunk of a codec
            that resamples, to end the stream at the input's exact length
            (:attr:`AudioEncoder.accepted_samples`).
    """

    payload: bytes
    samples: int
    keyframe: bool = True
    duration: int | None = None


class AudioEncoder(Encoder):
    """Base of audio encoders.

    Frames are converted to the codec's first accepted sample format (lossless
    reorderings such as ``s16p`` → ``s16`` always; other format or rate changes
    only for lossy codecs) with ``av.AudioResampler``. Subclasses implement
    :meth:`encode_samples`; the base sets pts/duration in samples (time base
    ``1/sample_rate``). The header is known once the input's rate and layout are:
    pass ``sample_rate``/``layout`` at construction, or encode a frame first.

    The caller's frames are left as they were (their pts is cleared during the call, so one
    frame must not be encoded from two threads at once). Frames with pts but no time base
    are read in ``time_base`` (default ``1/sample_rate``). The input's rate, layout and
    sample format are fixed by the first frame, as for an FFmpeg encoder. After a flush the
    encoder takes no more frames.

    Timestamps: packets get pts and duration in samples at the input rate, from the
    cumulative position of their coded samples (``round(coded * input_rate / coded_rate)``),
    counted from the first frame's pts; an :class:`AudioChunk` may set its own ``duration``
    (the stream's last one).

    Attributes:
        coded_rate: Sample rate (Hz) the codec works at, or ``None`` for the input's.
        accepted_samples: Samples (per channel, at the input rate) of the frames handed to
            :meth:`encode_samples` so far (a codec that then fails on one keeps or drops those
            samples as it documents; the flush pads the coded stream to this length).
        stamped_samples: Coded-rate samples of the chunks turned into packets so far.
    """

    coded_rate: ClassVar[int | None] = None

    def __init__(self, descriptor: CodecDescriptor, options: dict[str, Any], *,
                 time_base: Fraction | None = None, sample_rate: int | None = None,
                 layout: str | None = None, format: str | None = None) -> None:
        super().__init__(descriptor, options, time_base=time_base)
        self.sample_rate = sample_rate
        self.layout = layout
        self.input_format = format
        self.accepted_samples = 0
        self._converted = 0  # samples handed to encode_samples, at the coded rate
        self.stamped_samples = 0
        self._resampler: av.AudioResampler | None = None
        self._first_pts: int | None = None  # pts of the first frame, in samples at the input rate
        self._flushed = False
        self._source_format: str | None = None  # sample format of the first frame taken

    def encode_samples(self, samples: np.ndarray, flush: bool) -> list[AudioChunk]:
        """Code samples.

        Args:
            samples: Array of shape (channels, n) in the codec's sample format at
                ``coded_rate`` (or the input rate); may be empty when flushing.
            flush: True at the end of the stream: emit everything buffered.

        Returns:
            The chunks now complete, in order.
        """
        raise NotImplementedError

    def header_fields(self) -> dict[str, int | str | bytes]:
        if self.sample_rate is None or self.layout is None:
            raise NeuralavError(f"the `{self.name}` header needs the input sample rate and layout: "
                                "pass sample_rate= and layout= or encode a frame first")
        fields = super().header_fields()
        input_format = self.input_format or self.descriptor.formats[0]
        fields.update(sample_rate=self.sample_rate, layout=self.layout, input_format=input_format,
                      coded_format=self._coded_format(input_format))
        return fields

    def _coded_format(self, source: str) -> str:
        formats = self.descriptor.formats
        if source in formats:
            return source
        packed = av.AudioFormat(source).packed.name
        if packed in formats:
            return packed
        if Capability.LOSSY in self.descriptor.capabilities:
            return formats[0]
        raise FormatNotSupportedError(
            f"codec `{self.name}` cannot code sample format `{source}` without loss "
            f"(it accepts {', '.join(formats)})")

    def _to_array(self, frame: av.AudioFrame) -> np.ndarray:
        if self._resampler is None:
            rate = self.coded_rate or self.sample_rate
            if rate != self.sample_rate and Capability.LOSSY not in self.descriptor.capabilities:
                raise FormatNotSupportedError(f"lossless codec `{self.name}` cannot resample audio")
            self._resampler = av.AudioResampler(format=self._coded_format(self.input_format),
                                                layout=self.layout, rate=rate)
        pts, frame.pts = frame.pts, None  # the base class counts samples itself
        try:
            return self._join(self._resampler.resample(frame))
        finally:
            frame.pts = pts

    def _join(self, frames: list[av.AudioFrame]) -> np.ndarray:
        """Resampler output as one (channels, n) array of the coded format's dtype."""
        coded = av.AudioFormat(self._coded_format(self.input_format))
        channels = len(av.AudioLayout(self.layout).channels)
        arrays = [frame_to_array(f) for f in frames]
        joined = np.concatenate(arrays, axis=1) if arrays else np.zeros((channels, 0), DTYPES[coded.packed.name])
        self._converted += joined.shape[1]
        return joined

    def _flush_tail(self) -> np.ndarray:
        """What the resampler still holds, padded with silence to the input's full length.

        libswresample can return fewer samples than the input stands for (nothing at all for
        the first few dozen input samples), so the coded stream would end early or be empty.
        """
        tail = self._join(self._resampler.resample(None))
        rate = self.coded_rate or self.sample_rate
        expected = -(-self.accepted_samples * rate // self.sample_rate)  # ceil
        if self._converted < expected:
            silence = 128 if tail.dtype == np.uint8 else 0
            pad = np.full((tail.shape[0], expected - self._converted), silence, tail.dtype)
            tail = np.concatenate([tail, pad], axis=1)
            self._converted = expected
        return tail

    def encode(self, frame: av.AudioFrame | None = None) -> list[av.Packet]:
        """Encode one frame (``None`` flushes); returns the packets now complete.

        Raises:
            FormatNotSupportedError: not an audio frame, or a change of rate, layout or
                sample format mid-stream.
            InvalidDataError: a float frame holding NaN or infinite samples.
            NeuralavError: a frame after the flush.
        """
        if self._flushed:
            raise NeuralavError(f"the `{self.name}` encoder was flushed (encode(None)); "
                                "start a new encoder for another stream")
        if frame is None:
            self._flushed = True
            if self._resampler is None:
                return []
            tail = self._flush_tail()
            return self._packets("flush", self._call_codec("flush", self.encode_samples, tail, True))
        if not isinstance(frame, av.AudioFrame):
            raise FormatNotSupportedError(f"codec `{self.name}` encodes av.AudioFrame, not {type(frame).__name__}")
        if frame.samples <= 0:
            return []
        if self.sample_rate is None or self.layout is None:
            self.sample_rate = self.sample_rate or frame.sample_rate
            self.layout = self.layout or frame.layout.name
        self.input_format = self.input_format or frame.format.name
        if (frame.sample_rate, frame.layout.name) != (self.sample_rate, self.layout):
            raise FormatNotSupportedError(
                f"audio changed from {self.sample_rate} Hz {self.layout} to "
                f"{frame.sample_rate} Hz {frame.layout.name} mid-stream")
        if self._source_format is None:
            if self._coded_format(frame.format.name) != self._coded_format(self.input_format):
                raise FormatNotSupportedError(
                    f"`{frame.format.name}` samples given to a `{self.name}` encoder set up for "
                    f"`{self.input_format}` (a lossless codec cannot convert them)")
        elif frame.format.name != self._source_format:
            raise FormatNotSupportedError(
                f"audio changed from `{self._source_format}` to `{frame.format.name}` samples mid-stream")
        _check_finite(frame, self.name)
        if self._first_pts is None:
            time_base = frame.time_base or self.time_base or Fraction(1, self.sample_rate)
            self._first_pts = int(round(frame.pts * time_base * self.sample_rate)) if frame.pts is not None else 0
        samples = self._to_array(frame)
        self._source_format = frame.format.name
        self.accepted_samples += frame.samples
        return self._packets("encode samples",
                             self._call_codec("encode samples", self.encode_samples, samples, False))

    def _check_chunks(self, what: str, chunks: object) -> None:
        """Refuse what ``encode_samples`` returned unless it is a list of well-formed chunks."""
        self._check_return(what, chunks, list, "a list of AudioChunk")
        for chunk in chunks:
            self._check_return(what, chunk, AudioChunk, "AudioChunk")
            self._check_return(what, chunk.payload, _BYTES, "AudioChunk.payload as bytes")
            self._check_return(what, chunk.samples, int, "AudioChunk.samples as an int")
            if chunk.duration is not None:
                self._check_return(what, chunk.duration, int, "AudioChunk.duration as an int or None")
            if chunk.samples < 0:
                raise PluginError(guard.failure_message(self.name, self.descriptor.distribution, what,
                                                        f"it returned a chunk of {chunk.samples} samples"))

    def _packets(self, what: str, chunks: list[AudioChunk]) -> list[av.Packet]:
        self._check_chunks(what, chunks)
        packets = []
        coded_rate = self.coded_rate or self.sample_rate
        for chunk in chunks:
            begin = round(self.stamped_samples * self.sample_rate / coded_rate)
            self.stamped_samples += chunk.samples
            end = round(self.stamped_samples * self.sample_rate / coded_rate)
            packet = av.Packet(bytes(chunk.payload))
            packet.time_base = Fraction(1, self.sample_rate)
            packet.pts = packet.dts = self._first_pts + begin
            packet.duration = chunk.duration if chunk.duration is not None else end - begin
            packet.is_keyframe = chunk.keyframe
            packets.append(packet)
        return packets


@dataclasses.dataclass(frozen=True)
class PacketInfo:
    """What an audio decoder learns from a packet before decoding it (:meth:`AudioDecoder.inspect`).

    Attributes:
        samples: Samples (per channel, at the coded rate) the packet decodes to.
        final_duration: For the stream's last packet, the samples at the input rate it stands
            for (the decoded stream then ends at the encoder's input length exactly);
            ``None`` for every other packet.
        data: What :meth:`AudioDecoder.decode_group` needs of the packet (e.g. its parsed
            payload; the default ``decode_group`` passes it to ``decode_samples``).
    """

    samples: int
    final_duration: int | None = None
    data: Any = None


class AudioDecoder(Decoder):
    """Base of audio decoders.

    Frames come back in the encoder's input sample format, rate and layout. A codec
    implements one of two contracts:

    * **Packet by packet** (the simple one): :meth:`decode_samples` turns one payload into
      samples. Each packet is decoded as it arrives; frames take the packet's pts.
    * **Streaming**: :meth:`inspect` checks each payload as it arrives and says how many
      samples it decodes to (and, for the last packet, how many input samples it stands
      for); :meth:`decode_group` decodes packets in order, carrying the codec's state
      (causal filters, overlap) from call to call; :meth:`reset` drops that state. The base
      class then groups packets (:attr:`group_size` per call; the stream's last packet, a
      jump in pts and the flush decode what is waiting), resamples from :attr:`coded_rate`
      to the input rate with one resampler for the whole stream, counts samples so that
      the output is exactly as long as the encoder's input, and stamps frames with pts in
      samples (time base ``1/sample_rate``) from the first packet's pts. A packet whose pts
      is not where the previous one ended (a seek) finishes what came before and restarts
      the stream from it (:meth:`reset`).
    """

    group_size: ClassVar[int] = 1
    """Streaming decoders: packets handed to :meth:`decode_group` at once (more can be faster)."""

    coded_rate: ClassVar[int | None] = None

    def __init__(self, descriptor: CodecDescriptor, header: bytes) -> None:
        super().__init__(descriptor, header)
        fields = self.header.fields
        try:
            self.sample_rate = int(fields["sample_rate"])
            # The name must read back: frames and resamplers are built from it (a channel
            # mask such as "631529058257287" gives a layout whose name does not).
            self.layout = av.AudioLayout(av.AudioLayout(str(fields["layout"])).name).name
            self.output_format = av.AudioFormat(str(fields["input_format"])).name
            self.coded_format = av.AudioFormat(str(fields["coded_format"])).name
        except (KeyError, ValueError, TypeError) as error:
            raise InvalidDataError(f"`{self.name}` header lacks a valid sample_rate/layout/"
                                   f"input_format/coded_format: {error}") from None
        if self.coded_format not in descriptor.formats:
            raise InvalidDataError(f"`{self.name}` header names coded format `{self.coded_format}`, "
                                   f"which the codec does not produce ({', '.join(descriptor.formats)})")
        if not 1 <= self.sample_rate <= 768000:
            raise InvalidDataError(f"`{self.name}` header claims a sample rate of {self.sample_rate} Hz")
        self.channels = len(av.AudioLayout(self.layout).channels)
        self._output_resampler: av.AudioResampler | None = None
        self._streaming = False
        self._restart_stream()

    # ---------------------------------------------------------------- hooks for codecs

    def decode_samples(self, payload: bytes) -> np.ndarray:
        """Decode one packet's payload to an array of shape (channels, n).

        The array's dtype must match ``self.coded_format`` (int16 for ``s16``,
        float32 for ``flt``...), at ``coded_rate`` (or the input rate).

        Raises:
            InvalidDataError: the payload is truncated or corrupt.
        """
        raise NotImplementedError

    def inspect(self, payload: bytes) -> PacketInfo | None:
        """Streaming decoders: check a payload as it arrives and describe it.

        Returns:
            A :class:`PacketInfo`, or ``None`` (the default) for a codec that decodes packet
            by packet with :meth:`decode_samples`.

        Raises:
            InvalidDataError: the payload is truncated, corrupt or foreign.
        """
        return None

    def decode_group(self, packets: list[PacketInfo]) -> list[np.ndarray]:
        """Streaming decoders: decode inspected packets, in stream order, continuing the stream.

        Returns:
            One array per packet, of shape (channels, ``info.samples``), in the coded format's
            dtype at the coded rate. The default calls :meth:`decode_samples` on each
            ``info.data``.
        """
        return [self.decode_samples(info.data) for info in packets]

    def reset(self) -> None:
        """Streaming decoders: forget the stream's state; the next packet starts a new stream
        (called after a jump in pts, e.g. a seek). Set up the initial state in ``__init__``."""

    # ---------------------------------------------------------------- the base's work

    def _restart_stream(self) -> None:
        self._stream_resampler: av.AudioResampler | None = None
        self._fifo = np.zeros((self.channels, 0), np.float32)  # decoded, at the input rate
        self._pending: list[PacketInfo] = []
        self._arrived = 0  # coded-rate samples of the packets received since (re)start
        self._decoded = 0  # coded-rate samples decoded since (re)start
        self._due = 0  # output samples owed since (re)start
        self._emitted = 0  # output samples emitted since (re)start
        self._start_pts: int | None = None
        self._expected_pts: int | None = None

    def decode(self, packet: av.Packet | None = None) -> list[av.AudioFrame]:
        """Take one packet (``None`` flushes); returns the frames now decoded.

        Raises:
            InvalidDataError: corrupt, truncated or foreign packet.
        """
        if packet is None:
            return self._call_codec("decode packets", self._run_pending, True) if self._streaming else []
        self._check_packet(packet)
        if self._streaming:
            out = self._jump(packet)
        else:
            out = []
        payload = bytes(packet)
        info = self._call_codec("decode a packet", self.inspect, payload)
        if info is None:
            if self._streaming:
                raise PluginError(guard.failure_message(self.name, self.descriptor.distribution, "decode a packet",
                                                        "its inspect() returned None in a streaming decoder"))
            return self._decode_now(packet, payload)
        self._check_return("decode a packet", info, PacketInfo, "PacketInfo or None")
        self._check_return("decode a packet", info.samples, int, "PacketInfo.samples as an int")
        self._streaming = True
        rate = self.coded_rate or self.sample_rate
        pts = self._pts_in_samples(packet)
        if self._start_pts is None:
            self._start_pts = pts if pts is not None else 0
        final = info.final_duration is not None
        before = round(self._arrived * self.sample_rate / rate)
        self._arrived += info.samples
        after = before + info.final_duration if final else round(self._arrived * self.sample_rate / rate)
        if pts is not None:
            self._expected_pts = pts + (after - before)
        self._pending.append(info)
        if len(self._pending) >= self.group_size or final:
            out += self._call_codec("decode packets", self._run_pending, final)
        return out

    def _pts_in_samples(self, packet: av.Packet) -> int | None:
        if packet.pts is None or packet.time_base is None:
            return None
        return int(round(packet.pts * packet.time_base * self.sample_rate))

    def _jump(self, packet: av.Packet) -> list[av.AudioFrame]:
        """At a seek (pts not where the last packet ended), finish what came before and restart.
        One tick of a coarse time base is tolerated (Matroska reads back in milliseconds)."""
        pts = self._pts_in_samples(packet)
        tolerance = 1 + (int(np.ceil(packet.time_base * self.sample_rate)) if packet.time_base else 0)
        if self._expected_pts is None or pts is None or abs(pts - self._expected_pts) <= tolerance:
            return []
        out = self._call_codec("decode packets", self._run_pending, True)
        self._restart_stream()
        self._call_codec("restart after a seek", self.reset)
        return out

    def _run_pending(self, flush: bool) -> list[av.AudioFrame]:
        """Decode the packets waiting, account for each, and emit what is due."""
        pending, self._pending = self._pending, []
        pieces = self.decode_group(pending) if pending else []
        self._check_return("decode packets", pieces, list, "a list of arrays")
        rate = self.coded_rate or self.sample_rate
        for info, piece in zip(pending, pieces):
            self._check_return("decode packets", piece, np.ndarray, "a list of arrays")
            if piece.shape != (self.channels, info.samples):
                raise PluginError(guard.failure_message(
                    self.name, self.descriptor.distribution, "decode packets",
                    f"it returned an array of shape {piece.shape}; expected ({self.channels}, {info.samples})"))
            before = round(self._decoded * self.sample_rate / rate)
            self._decoded += piece.shape[1]
            if info.final_duration is not None:
                self._due = before + info.final_duration
            else:
                self._due = round(self._decoded * self.sample_rate / rate)
        if len(pieces) != len(pending):
            raise PluginError(guard.failure_message(self.name, self.descriptor.distribution, "decode packets",
                                                    f"it returned {len(pieces)} arrays for {len(pending)} packets"))
        if pieces:
            self._push(np.concatenate(pieces, axis=1))
        ended = flush or any(info.final_duration is not None for info in pending)
        return self._emit(flush=ended)

    def _push(self, samples: np.ndarray) -> None:
        """Decoded samples (coded rate and format) into the output FIFO, as float32 at the input rate."""
        if not samples.shape[1]:
            return
        samples = to_float(samples)
        if self.sample_rate == (self.coded_rate or self.sample_rate):
            self._fifo = np.concatenate([self._fifo, samples], axis=1)
            return
        if self._stream_resampler is None:
            self._stream_resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.sample_rate)
        frame = array_to_frame(np.ascontiguousarray(samples, np.float32), "fltp", self.layout, self.coded_rate)
        self._fifo = np.concatenate(
            [self._fifo] + [frame_to_array(f) for f in self._stream_resampler.resample(frame)], axis=1)

    def _emit(self, flush: bool) -> list[av.AudioFrame]:
        """The output samples now due, as frames; at the end of the stream, exactly what is owed."""
        if flush and self._stream_resampler is not None:
            tail = [frame_to_array(f) for f in self._stream_resampler.resample(None)]
            self._fifo = np.concatenate([self._fifo] + tail, axis=1)
            self._stream_resampler = None
        count = self._due - self._emitted
        if flush and self._fifo.shape[1] < count:  # the resampler came up short: pad the last samples
            pad = np.zeros((self.channels, count - self._fifo.shape[1]), np.float32)
            self._fifo = np.concatenate([self._fifo, pad], axis=1)
        count = min(count, self._fifo.shape[1])
        if count <= 0:
            if flush:
                self._fifo = self._fifo[:, :0]
            return []
        out, self._fifo = self._fifo[:, :count], self._fifo[:, count:]
        if flush:
            self._fifo = self._fifo[:, :0]
        frames = float_to_frames(out, self.output_format, self.layout, self.sample_rate)
        pts = self._start_pts + self._emitted
        for frame in frames:
            frame.pts, frame.time_base = pts, Fraction(1, self.sample_rate)
            pts += frame.samples
        self._emitted += count
        return frames

    def _decode_now(self, packet: av.Packet, payload: bytes) -> list[av.AudioFrame]:
        """The packet-by-packet contract: :meth:`decode_samples`, converted to the output format."""
        samples = self._call_codec("decode a packet", self.decode_samples, payload)
        self._check_return("decode a packet", samples, np.ndarray, "a numpy array")
        coded_format = self.coded_format
        if samples.ndim != 2 or samples.shape[0] != self.channels:
            raise PluginError(guard.failure_message(
                self.name, self.descriptor.distribution, "decode a packet",
                f"it returned an array of shape {samples.shape}; expected ({self.channels}, samples)"))
        frame = array_to_frame(samples, coded_format, self.layout, self.coded_rate or self.sample_rate)
        if coded_format != self.output_format or frame.sample_rate != self.sample_rate:
            if self._output_resampler is None:
                self._output_resampler = av.AudioResampler(
                    format=self.output_format, layout=self.layout, rate=self.sample_rate)
            converted = self._output_resampler.resample(frame)
            frames = converted
        else:
            frames = [frame]
        pts = packet.pts
        for out in frames:
            out.pts = pts
            if packet.time_base is not None:
                out.time_base = packet.time_base
            if pts is not None and packet.time_base is not None:
                pts += int(round(out.samples / self.sample_rate / packet.time_base))
        return frames
