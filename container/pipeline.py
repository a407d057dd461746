"""The transcode pipeline behind ``neuralav transcode``, ``decode`` and ``demo``.

Inputs are opened with :class:`~neuralav.container.reader.Reader` (so neural
tracks decode like standard ones), streams are chosen with ffmpeg's ``-map``
syntax, each output stream is copied (packets byte-identical) or coded by a
neural codec or a PyAV encoder, and the output is written by
:class:`~neuralav.container.writer.Writer` (temporary file, then rename).

Stream specifiers (``-map`` and ``-c:SPEC``), as ffmpeg's: ``v``, ``a``, ``s``,
``t`` (attachments), a type and an index (``v:0``) or an index (``2``). In
``-map`` they follow the input number: ``0``, ``0:v``, ``1:a:0``, ``0:2``.
When several ``-c`` options match a stream the last one wins.

As ffmpeg: a stream is copied only into a format made for its codec (AAC to ``.wav`` becomes
PCM), text subtitles are converted where their codec does not fit (SRT to ``mov_text`` in MP4),
and what an output cannot hold at all is left out with a :class:`StreamDroppedWarning` when it
was chosen by default. Each input's timeline is rebased to start at 0, and the source's colour
properties, pixel format (when the encoder takes it), language and titles are carried.

A plugin's codec is isolated: whatever it raises while encoding or decoding becomes a
:class:`~neuralav.registry.PluginError` naming the codec and its distribution, and with
``ignore_errors`` the frame or packet is skipped (:class:`EncodeWarning`,
:class:`~neuralav.container.reader.DecodeWarning`) while every other stream goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import math
import os
import tempfile
import time
import warnings
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import av

from neuralav import registry as _registry
from neuralav.registry import InvalidOptionError, NeuralavError, PluginError, Registry
from neuralav.registry.samples import array_to_frame, frame_to_array

from .atomic import refuse_input_as_output
from . import ebml
from .errors import StreamSelectionError, UnsupportedOutputError
from .frames import slice_frame
from .pipe_output import RAW_FORMATS, STDOUT_NAMES, raw_parameters
from .progress import Progress
from .reader import DecodeWarning, Reader, Track
from .writer import OutputStream, Writer, output_format_for

__all__ = ["StreamChoice", "TranscodeResult", "OutputSummary", "transcode", "parse_bitrate",
           "DEFAULT_ENCODERS", "matches_spec", "EncodeWarning", "StreamDroppedWarning"]

_TYPE_LETTERS = {"v": "video", "a": "audio", "s": "subtitle", "t": "attachment", "d": "data"}

DEFAULT_ENCODERS: dict[str, dict[str, str]] = {
    "matroska": {"video": "libx264", "audio": "libopus"},
    "mp4": {"video": "libx264", "audio": "aac"},
    "mov": {"video": "libx264", "audio": "aac"},
    "webm": {"video": "libvpx-vp9", "audio": "libopus"},
    "wav": {"audio": "pcm_s16le"},
    "flac": {"audio": "flac"},
    "ogg": {"audio": "libopus"},
    "mp3": {"audio": "libmp3lame"},
    "image2": {"video": "png"},
    "nut": {"video": "ffv1", "audio": "pcm_s16le"},
    "rawvideo": {"video": "rawvideo"},
    "s16le": {"audio": "pcm_s16le"},
    "s16be": {"audio": "pcm_s16be"},
    "f32le": {"audio": "pcm_f32le"},
    "u8": {"audio": "pcm_u8"},
}
"""Output format → media type → the standard encoder used when a stream cannot be copied
(e.g. a neural track written to mp4). Image outputs pick their encoder from the suffix."""

_IMAGE_ENCODERS = {".png": "png", ".jpg": "mjpeg", ".jpeg": "mjpeg", ".bmp": "bmp", ".tif": "tiff",
                   ".tiff": "tiff", ".webp": "libwebp"}

_TEXT_SUBTITLE_ENCODERS = ("mov_text", "webvtt", "ass", "subrip", "text")
"""Subtitle encoders a text subtitle (SRT, ASS, WebVTT...) is converted to, in order of preference,
when the output format cannot hold its codec: MP4 and MOV take ``mov_text``, WebM ``webvtt``."""


class EncodeWarning(UserWarning):
    """A frame failed to encode and was skipped (``ignore_errors=True``)."""


class StreamDroppedWarning(UserWarning):
    """A stream chosen by default (no ``-map``) was left out: the output format cannot hold it
    (e.g. PGS subtitles or an attachment in MP4). An explicit ``-map`` of it is an error instead."""


@dataclasses.dataclass(frozen=True)
class StreamChoice:
    """A per-stream option from the command line: ``-c:v cae`` is ``StreamChoice("v", "cae")``."""

    spec: str
    value: str


def parse_bitrate(text: str) -> int:
    """``6k`` → 6000, ``1.5M`` → 1500000, ``64000`` → 64000 (bits/s).

    Raises:
        InvalidOptionError: not a positive number with an optional k/M suffix.
    """
    scale = {"k": 1000, "K": 1000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = float(number) * scale
    except ValueError:
        raise InvalidOptionError(f"bitrate {text!r} is not a number of bits/s (e.g. 6k, 64000, 1.5M)") from None
    if not value > 0:
        raise InvalidOptionError(f"bitrate {text!r} must be positive")
    if not value < 2 ** 31:  # FFmpeg's bit rates are int64, its encoders' options int32
        raise InvalidOptionError(f"bitrate {text!r} is too large (at most 2G bits/s)")
    return int(value)


def matches_spec(spec: str, track_type: str, type_index: int, index: int) -> bool:
    """Whether a stream specifier (``""``, ``v``, ``a:1``, ``2``) selects a stream.

    Raises:
        StreamSelectionError: the specifier is malformed.
    """
    if spec == "":
        return True
    parts = spec.split(":")
    if parts[0] in _TYPE_LETTERS:
        if _TYPE_LETTERS[parts[0]] != track_type:
            return False
        if len(parts) == 1:
            return True
        if len(parts) == 2 and parts[1].isdigit():
            return int(parts[1]) == type_index
    elif len(parts) == 1 and parts[0].isdigit():
        return int(parts[0]) == index
    raise StreamSelectionError(f"invalid stream specifier {spec!r} (use v, a, s, t, v:0, a:1 or a stream index)")


def _select(readers: list[Reader], maps: Sequence[str], output_format: str) -> list[tuple[int, Track]]:
    """The (input number, track) pairs of the output, in order."""
    chosen: list[tuple[int, Track]] = []
    if not maps:
        wanted = {"image2": ("video",), "wav": ("audio",), "flac": ("audio",), "mp3": ("audio",),
                  "ogg": ("audio",), **{name: (kind,) for name, kind in RAW_FORMATS.items()}}.get(
                      output_format, ("video", "audio", "subtitle", "attachment"))
        for number, reader in enumerate(readers):
            for track in reader.streams:
                if track.type in wanted and not ((output_format == "image2" or output_format in RAW_FORMATS)
                                                 and chosen):
                    chosen.append((number, track))
        if not chosen:
            raise StreamSelectionError(f"no input stream can go into a {output_format} output")
        return chosen
    for text in maps:
        number_text, _, spec = text.partition(":")
        if not number_text.isdigit() or int(number_text) >= len(readers):
            raise StreamSelectionError(f"-map {text!r}: input {number_text!r} does not exist "
                                       f"(there {'is' if len(readers) == 1 else 'are'} {len(readers)} input(s), "
                                       f"numbered from 0)")
        reader = readers[int(number_text)]
        counts: dict[str, int] = {}
        found = []
        for track in reader.streams:
            type_index = counts.get(track.type, 0)
            counts[track.type] = type_index + 1
            if matches_spec(spec, track.type, type_index, track.index):
                found.append((int(number_text), track))
        if not found:
            raise StreamSelectionError(f"-map {text!r} matches no stream of `{reader.path}` "
                                       f"({', '.join(t.describe() for t in reader.streams) or 'no streams'})")
        chosen += found
    return chosen


@dataclasses.dataclass
class OutputSummary:
    """What one output stream received: frames (or packets, when copied) and coded bytes."""

    index: int
    type: str
    codec: str
    mode: str
    source: str
    frames: int = 0
    bytes: int = 0
    first: float | None = None
    last: float | None = None

    @property
    def kbps(self) -> float | None:
        """Average bitrate over the stream's span (kbit/s), if it spans any time."""
        if self.first is None or self.last is None or self.last <= self.first:
            return None
        return self.bytes * 8 / (self.last - self.first) / 1000


@dataclasses.dataclass
class TranscodeResult:
    """Outcome of :func:`transcode`: the output path, one summary per stream, skipped packets
    (failed to decode) and skipped frames (failed to encode)."""

    path: str
    streams: list[OutputSummary]
    skipped_packets: int
    seconds: float
    skipped_frames: int = 0


@dataclasses.dataclass
class _Route:
    """One output stream and where its data comes from."""

    reader: Reader
    track: Track
    codec: str
    options: dict[str, Any]
    bit_rate: int | None
    quality: str | None
    output: OutputStream | None = None
    summary: OutputSummary | None = None
    clock: float = 0.0
    """Source time (s) the next frame starts at, for sources without timestamps."""
    max_frames: int | None = None
    """Stop after this many frames (a still-image output takes the first frame)."""
    ignore_errors: bool = False
    """Skip frames the codec fails to encode (with an :class:`EncodeWarning`)."""
    skipped: int = 0
    """Frames skipped because they failed to encode."""
    last_pts: int | None = None
    """Output pts of the last video frame given to the encoder (they must increase)."""

    @property
    def copies(self) -> bool:
        return self.codec == "copy"


def _last_match(choices: Sequence[StreamChoice], track: Track, type_index: int, out_index: int) -> str | None:
    value = None
    for choice in choices:
        if matches_spec(choice.spec, track.type, type_index, out_index):
            value = choice.value
    return value


def _options_for(choices: Sequence[StreamChoice], track: Track, type_index: int, out_index: int
                 ) -> dict[str, str]:
    options = {}
    for choice in choices:
        if matches_spec(choice.spec, track.type, type_index, out_index):
            key, sep, value = choice.value.partition("=")
            if not sep or not key:
                raise InvalidOptionError(f"codec option {choice.value!r} must look like KEY=VALUE")
            options[key] = value
    return options


def _default_codec(track: Track, writer: Writer, output_suffix: str, decode_neural: bool) -> str:
    """``copy`` if the output format can hold the track as it is, else a standard encoder."""
    if writer.format == "image2":
        return _IMAGE_ENCODERS.get(output_suffix, "png")
    if track.is_neural:
        if writer.is_matroska and not decode_neural:
            return "copy"
    elif track.type in ("subtitle", "attachment"):
        return _default_subtitle_codec(track, writer) if track.type == "subtitle" else _attachment_codec(track, writer)
    elif _holds_natively(writer, track.codec):
        return "copy"
    encoders = DEFAULT_ENCODERS.get(writer.format, {})
    if track.type not in encoders:
        raise UnsupportedOutputError(f"a {writer.format} output cannot hold {track.describe()} "
                                     "(choose another -map or output)")
    return encoders[track.type]


_NATIVE_CODECS = {
    "rawvideo": lambda codec: codec == "rawvideo",
    "s16le": lambda codec: codec == "pcm_s16le",
    "s16be": lambda codec: codec == "pcm_s16be",
    "f32le": lambda codec: codec == "pcm_f32le",
    "u8": lambda codec: codec == "pcm_u8",
    "wav": lambda codec: codec.startswith("pcm_"),
    "ogg": lambda codec: codec in ("opus", "vorbis", "flac", "speex", "theora"),
}
"""Formats whose muxer accepts more codecs than the format is made for: WAV takes AAC, MP3...
under a format tag, but readers of WAV (Python's ``wave``, most tools) expect PCM; Ogg is listed
because FFmpeg's codec query knows only two of its codecs."""


def _holds_natively(writer: Writer, codec: str) -> bool:
    """Whether a track coded with ``codec`` is copied into ``writer``'s format as it is.

    As ffmpeg's choice of codec: only a codec the format is made for (PCM for WAV), not
    everything its muxer would take.
    """
    native = _NATIVE_CODECS.get(writer.format)
    if native is not None:
        return native(codec)
    return codec in writer.supported_codecs


def _default_subtitle_codec(track: Track, writer: Writer) -> str:
    """``copy`` if the output holds the subtitle codec, else a text subtitle encoder it holds.

    Matroska holds every subtitle codec (PyAV's list of them misses bitmap ones such as PGS).
    Text subtitles are converted as ffmpeg does (SRT to ``mov_text`` for MP4); bitmap ones
    cannot become text.

    Raises:
        UnsupportedOutputError: the output can hold neither the codec nor a conversion of it.
    """
    supported = writer.supported_codecs
    if writer.is_matroska or track.codec in supported:
        return "copy"
    context = track.av_stream.codec_context
    text = context is not None and bool(context.codec.properties & av.codec.codec.Properties.TEXT_SUB.value)
    if text:
        for name in _TEXT_SUBTITLE_ENCODERS:
            if name in supported:
                return name
    kind = "text" if text else "bitmap"
    raise UnsupportedOutputError(f"a {writer.format} output cannot hold {track.describe()} ({kind} subtitles"
                                 f"{'' if text else ', which cannot be converted to text'})")


def _attachment_codec(track: Track, writer: Writer) -> str:
    """``copy``: only Matroska outputs take attachments.

    Raises:
        UnsupportedOutputError: the output is not Matroska.
    """
    if writer.is_matroska:
        return "copy"
    raise UnsupportedOutputError(f"a {writer.format} output cannot hold attachments ({track.describe()} "
                                 f"`{track.av_stream.name}`)")


def _frame_rate(track: Track) -> Fraction:
    """The frame rate an encoder of ``track`` runs at (frames/s), as ffmpeg picks it.

    FFmpeg's guess (``r_frame_rate``, the rate the timestamps are on) comes first: the average
    rate of a file without frame durations is its mean packet spacing, which Matroska's 1 ms
    ticks round (a 60 fps source without durations averages 62.5 fps: 16 ms frames). Then the
    reader's rate, then 25.
    """
    guessed = None
    if track.av_stream is not None and not track.is_neural:
        guessed = getattr(track.av_stream, "guessed_rate", None)
    for rate in (guessed, track.frame_rate):
        if rate and 0 < rate <= 1000:
            return Fraction(rate)
    return Fraction(25)


def _add_output(writer: Writer, route: _Route, registry: Registry | None) -> OutputStream:
    track = route.track
    if route.copies:
        if track.type == "attachment":
            return None
        if track.is_neural:
            return writer.add_neural_copy(track.neural, width=track.width, height=track.height,
                                          frame_rate=track.frame_rate, sample_rate=track.sample_rate,
                                          channels=track.channels, plugin=track.plugin)
        if track.av_stream.codec_context is None:
            raise UnsupportedOutputError(f"cannot copy {track.describe()} of `{route.reader.path}`")
        return writer.add_stream_from_template(track.av_stream)
    if track.type == "subtitle":
        return _add_subtitle_conversion(writer, route)
    if not track.is_neural and track.av_stream.codec_context is None:
        raise _registry.InvalidDataError(
            f"`{route.reader.path}` {track.describe()} cannot be decoded: its codec is neither a neuralav "
            "codec header nor one FFmpeg knows (a damaged track header?)")
    names = registry.names() if registry is not None else _registry.default_registry().names()
    neural = route.codec in names
    options: dict[str, Any] = dict(route.options)
    if neural:
        descriptor = _registry.get_codec(route.codec, registry=registry)
        if descriptor.media_type.value != track.type:
            raise UnsupportedOutputError(f"codec `{route.codec}` codes {descriptor.media_type.value}, "
                                         f"but {track.describe()} is {track.type}")
        option_names = [o.name for o in descriptor.options]
        if route.quality is not None:
            if "quality" not in option_names:
                raise InvalidOptionError(f"codec `{route.codec}` has no quality levels (-q); its options: "
                                         f"{', '.join(option_names) or 'none'}")
            options["quality"] = route.quality
        if route.bit_rate is not None:
            for name in ("bitrate", "bit_rate", "kbps"):
                if name in option_names:
                    options[name] = route.bit_rate / 1000 if name == "kbps" else route.bit_rate
                    break
            else:
                channels = track.channels if track.type == "audio" else 1
                options["quality"] = _quality_for_bitrate(descriptor, route.bit_rate, channels or 1)
    if track.type == "video":
        source_format = None
        if not track.is_neural and track.av_stream.codec_context is not None:
            source_format = getattr(track.av_stream.codec_context.format, "name", None)
        pix_fmt = None if neural else _pixel_format_for(route.codec, track.width, track.height, source_format)
        stream = writer.add_stream(route.codec, _frame_rate(track), options=options, width=track.width,
                                   height=track.height, bit_rate=None if neural else route.bit_rate,
                                   pix_fmt=pix_fmt)
        _carry_colour(route.reader, track, stream)
        if not neural:
            _open_encoder(stream, route)
        return stream
    if track.type == "audio":
        if track.is_neural:
            sample_format = str(track.neural.parsed.fields.get("input_format", "flt"))
        else:
            sample_format = track.av_stream.codec_context.format.name
        stream = writer.add_stream(route.codec, track.sample_rate, options=options,
                                   layout=track.layout or "mono", sample_format=sample_format,
                                   bit_rate=None if neural else route.bit_rate)
        if not neural:
            _open_encoder(stream, route)
        return stream
    raise UnsupportedOutputError(f"cannot encode {track.describe()} with `{route.codec}`; use -c:{track.type[0]} copy")


def _open_encoder(stream: OutputStream, route: _Route) -> None:
    """Apply ``-q`` (qscale) and open a PyAV encoder now, before anything is written, so that
    settings it refuses (``-opt:v preset=nonsense``, a size it cannot code) are one clear error.

    Raises:
        InvalidOptionError: ``-q`` is not a number, or the encoder refuses its settings.
    """
    context = stream.av_stream.codec_context
    if route.quality is not None:
        try:
            quality = float(route.quality)
        except ValueError:
            quality = float("nan")
        if not math.isfinite(quality) or not -(2 ** 31) < quality < 2 ** 31:
            raise InvalidOptionError(f"-q {route.quality!r} for `{route.codec}` must be a number "
                                     f"(the encoder's qscale)")
        context.qscale = int(quality)
    # The encoder's own complaint (x264: "invalid preset 'nonsense'") is captured for the error
    # line rather than printed on a line of its own.
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs, _stderr_kept(logs):
            context.open(strict=False)
    except av.FFmpegError as error:
        settings = ", ".join([f"{k}={v}" for k, v in route.options.items()]
                             + ([f"-b {route.bit_rate}"] if route.bit_rate else [])
                             + ([f"-q {route.quality}"] if route.quality is not None else []))
        said = "; ".join(message.strip() for level, _, message in logs if level <= av.logging.ERROR)
        raise InvalidOptionError(f"encoder `{route.codec}` refused to start for {route.track.describe()}"
                                 f"{' with ' + settings if settings else ''}: {said or error}") from None
    finally:
        av.logging.set_level(previous)


@contextlib.contextmanager
def _stderr_kept(logs: list) -> Iterator[None]:
    """Within the block, what C libraries write to file descriptor 2 themselves (x264 prints
    "invalid preset" there, outside FFmpeg's logging) goes to ``logs`` as ``(ERROR, "", text)``
    entries if the block raises, else back to stderr as it was."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to redirect
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            if failed:
                logs.extend((av.logging.ERROR, "", line) for line in text.splitlines() if line.strip())
            elif text:
                os.write(2, text.encode())


def _pixel_format_for(encoder: str, width: int, height: int, source: str | None = None) -> str | None:
    """The pixel format for a PyAV video encoder of ``width`` x ``height`` pictures, or ``None``
    for the writer's default (yuv420p, which every player decodes).

    The source's own format comes first when the encoder takes it (as ffmpeg: a 10-bit HDR
    source stays 10-bit in libx264).

    A 4:2:0 picture of odd width or height has a half chroma sample at its edge, which libx264
    (and MPEG-4 and others) refuse. For such sizes this returns the first format the encoder
    takes that keeps full chroma resolution along each odd side (libx264: yuv444p for 97x65,
    yuv422p for 96x65), which is what ffmpeg picks for an RGB source of any size.
    """
    try:
        formats = [f.name for f in (av.Codec(encoder, "w").video_formats or ())]
    except Exception:  # not a PyAV encoder: the writer names it
        return None
    if source in formats and _full_chroma_where_odd(source, width, height):
        return source
    if width % 2 == 0 and height % 2 == 0:
        return None
    for name in formats:
        if len(av.VideoFormat(name).components) >= 3 and _full_chroma_where_odd(name, width, height):
            return name  # (gray, with fewer components, would lose the colour)
    return None


def _full_chroma_where_odd(pix_fmt: str, width: int, height: int) -> bool:
    """Whether ``pix_fmt`` has no chroma subsampling along an odd side of the picture.

    Planes are measured at 3x3 (a 4:2:0 chroma plane is 2x2 there), since at 1x1 a subsampled
    plane rounds up to the full size.
    """
    return all((c.width == 3 or width % 2 == 0) and (c.height == 3 or height % 2 == 0)
               for c in av.VideoFormat(pix_fmt, 3, 3).components)


_NOT_CARRIED_TAGS = {"DURATION", "ENCODER", "HANDLER_NAME", "VENDOR_ID", "BPS", "NUMBER_OF_FRAMES",
                     "NUMBER_OF_BYTES", "_STATISTICS_WRITING_APP", "_STATISTICS_WRITING_DATE_UTC", "_STATISTICS_TAGS"}
"""Tags that describe the source's coding, not its content: a re-encoded track does not keep them."""


def _carry_tags(track: Track, output: OutputStream) -> None:
    """Keep a re-encoded track's language (``eng`` stays ``eng``, neural tracks included) and, between
    standard codecs, its other descriptive tags (title...), as ffmpeg does.

    A neural track's own tags (its codec header, its title) are the carrier's: only the language
    crosses between neural and standard.
    """
    source = dict(track.av_stream.metadata)
    language = source.get("language")
    if language and language != "und":
        output.av_stream.metadata["language"] = language
    if track.is_neural or output.kind == "neural":
        return
    for key, value in source.items():
        if key.upper() not in _NOT_CARRIED_TAGS and key != "language":
            output.av_stream.metadata[key] = value


_COLOUR_PROPERTIES = ("color_primaries", "color_trc", "colorspace", "color_range")
"""What a source says about its colours (FFmpeg's enums: BT.2020 primaries are 9, PQ transfer 16...)."""


def _carry_colour(reader: Reader, track: Track, output: OutputStream) -> None:
    """Give the output stream the source's colour primaries, transfer, matrix and range, as ffmpeg
    does; the muxer writes them (Matroska: the track's Colour element, MP4: its colr box).

    Values the source leaves unspecified stay unspecified. A neural track's are read from its
    Matroska Colour element (PyAV shows colours only through a codec context, which it lacks).
    """
    if track.is_neural:
        try:
            with open(reader.path, "rb") as f:  # paired by position, as the reader pairs its tracks
                entries = ebml.read_colours(f)
            colours = dict(entries[track.index]) if track.index < len(entries) else {}
        except (OSError, NeuralavError):  # informative only: the reader has checked the header
            colours = {}
        # A neural track's decoded frames reach the encoder through a conversion to its pixel
        # format, which gives limited-range YUV: a full range (an RGB or JPEG source's) no longer holds.
        if colours.get("color_range") == 2:
            del colours["color_range"]
    else:
        colours = {name: getattr(track.av_stream, name, 0) for name in _COLOUR_PROPERTIES}
    for name in _COLOUR_PROPERTIES:
        value = colours.get(name, 0)
        if value:
            # Encoders read the codec context; a neural track's template stream (which PyAV does
            # not refresh from its context) is written from the stream's parameters.
            if output.av_stream.codec_context is not None:
                setattr(output.av_stream.codec_context, name, value)
            setattr(output.av_stream, name, value)


def _add_subtitle_conversion(writer: Writer, route: _Route) -> OutputStream:
    """An output stream that re-encodes a text subtitle track (e.g. SRT as ``mov_text``).

    The encoder takes the source decoder's ASS header (styles), as ffmpeg's conversion does.

    Raises:
        UnsupportedOutputError: the codec is not a subtitle encoder, or the source has no decoder.
    """
    track, source = route.track, route.track.av_stream.codec_context
    try:
        encoder = av.Codec(route.codec, "w")
    except Exception:
        encoder = None
    if encoder is None or encoder.type != "subtitle" or source is None:
        raise UnsupportedOutputError(f"cannot convert {track.describe()} with `{route.codec}` (a subtitle "
                                     f"encoder such as {', '.join(_TEXT_SUBTITLE_ENCODERS)} is needed)")
    stream = writer.add_stream(route.codec)
    source.open(strict=False)  # the decoder's subtitle header exists once it is open
    if source.subtitle_header:
        stream.av_stream.codec_context.subtitle_header = source.subtitle_header
    with contextlib.suppress(Exception):
        stream.av_stream.metadata.update({k: v for k, v in track.av_stream.metadata.items()
                                          if k.upper() != "DURATION"})
    stream.av_stream.time_base = track.time_base or Fraction(1, 1000)
    return stream


def _quality_for_bitrate(descriptor: _registry.CodecDescriptor, bit_rate: int, channels: int = 1,
                         pixels_per_second: float | None = None) -> int:
    """The ``quality`` value whose nominal rate is closest to ``bit_rate`` (bits/s, whole stream).

    For neural codecs without a bitrate option, ``-b`` picks a level from the ``quality``
    option's :class:`~neuralav.registry.NominalRates` (typed fields, never help text). Rates
    given per channel count ``channels`` times (stereo ``wavenet`` at ``-b:a 12k`` gets the
    ~6 kbps level); rates in bits per pixel (image codecs) need ``pixels_per_second``
    (width x height x frames/s) to become bits/s. Ties go to the lower level.

    Raises:
        InvalidOptionError: the codec has no ``quality`` option, its levels state no rates,
            or they are per pixel and the frame size and rate are not known.
    """
    names = [o.name for o in descriptor.options]
    if "quality" not in names:
        raise InvalidOptionError(f"codec `{descriptor.name}` takes no bitrate (-b) nor quality (-q)")
    option = descriptor.option("quality")
    if option.nominal_rates is None:
        raise InvalidOptionError(f"codec `{descriptor.name}` does not take a bitrate (-b): its levels state no "
                                 f"rate; use -q (quality: {option.range_text()})")
    rates = option.nominal_rates.bits_per_second(channels=channels, pixels_per_second=pixels_per_second)
    if rates is None:
        raise InvalidOptionError(f"codec `{descriptor.name}` states its levels' rates in bits per pixel "
                                 f"({option.nominal_rates.describe()}), and -b needs the frame size and rate to "
                                 f"use them; use -q (quality: {option.range_text()})")
    return min(rates, key=lambda level: (abs(rates[level] - bit_rate), level))


def _packet_time(packet: av.Packet) -> float:
    if packet.pts is None or packet.time_base is None:
        return float("-inf")
    return float(packet.pts * packet.time_base)


def _merged_packets(readers: list[Reader], routes: list[_Route]) -> Iterator[tuple[Reader, av.Packet]]:
    """Packets of every routed track of every input, merged in time order."""
    def one(number: int, reader: Reader) -> Iterator[tuple[float, int, int, Reader, av.Packet]]:
        tracks = {r.track.index: r.track for r in routes if r.reader is reader and r.track.type != "attachment"}
        for order, packet in enumerate(reader.demux(list(tracks.values()))):
            yield _packet_time(packet), number, order, reader, packet
    streams = [one(number, reader) for number, reader in enumerate(readers)]
    for _, _, _, reader, packet in heapq.merge(*streams, key=lambda item: item[:3]):
        yield reader, packet


class _Clock:
    """Output-time window: ``start`` (-ss) and ``duration`` (-t), in seconds."""

    def __init__(self, start: float, duration: float | None) -> None:
        self.start = start
        self.end = start + duration if duration is not None else None

    def before(self, seconds: float) -> bool:
        return seconds < self.start - 1e-9

    def after(self, seconds: float) -> bool:
        return self.end is not None and seconds >= self.end - 1e-9


def _frame_seconds(frame: av.frame.Frame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def transcode(inputs: Sequence[str | os.PathLike], output: str | os.PathLike, *,
              maps: Sequence[str] = (), codecs: Sequence[StreamChoice] = (),
              qualities: Sequence[StreamChoice] = (), bitrates: Sequence[StreamChoice] = (),
              codec_options: Sequence[StreamChoice] = (), start: float = 0.0, duration: float | None = None,
              overwrite: bool = False, ignore_errors: bool = False, registry: Registry | None = None,
              input_format: str | None = None, progress: bool | None = None,
              decode_neural: bool = False, output_format: str | None = None,
              announce: Callable[[str], None] | None = None) -> TranscodeResult:
    """Convert ``inputs`` into ``output``, like ``ffmpeg -i ... [options] output``.

    Args:
        inputs: Input files (video, audio, images, image sequences such as ``img%03d.png``).
        output: Output file; its suffix picks the format (Matroska for neural tracks).
        maps: ``-map`` values (``0:v``, ``1:a:0``); default: every stream the output can hold.
        codecs: ``-c[:SPEC]`` values: ``copy``, a neuralav codec or a PyAV encoder.
            Default: ``copy`` when the output format holds the stream, else a standard encoder.
        qualities: ``-q[:SPEC]`` values (neural codecs: their ``quality`` level).
        bitrates: ``-b[:SPEC]`` values (``6k``): a PyAV encoder's bitrate; a neural codec's
            quality level with the nearest nominal rate.
        codec_options: ``-opt[:SPEC] KEY=VALUE`` codec options.
        start: Skip the first ``start`` seconds (``-ss``); copied streams start at their
            last keyframe before it.
        duration: Stop after ``duration`` seconds of output (``-t``).
        overwrite: Replace an existing output (``-y``).
        ignore_errors: Skip packets that fail to decode, and frames a neural codec fails to
            encode, instead of stopping (each reported with a warning).
        registry: Codec registry (default: the installed plugins).
        input_format: FFmpeg demuxer for the inputs (e.g. ``h264`` for raw streams).
        progress: Show a progress bar (default: only when stderr is a terminal).
        decode_neural: Neural tracks without a ``-c`` default to a standard encoder even
            in Matroska (``neuralav decode``).
        output_format: FFmpeg muxer of the output (``-f``), instead of the one its suffix names;
            required for ``output="-"``, which writes to stdout in one pass (``nut``,
            ``matroska`` with neural tracks too, raw ``rawvideo``/``s16le``). An output
            path naming a FIFO or a device is written in one pass as well.
        announce: Called with one line per raw output stream saying how to read it back
            (``-f rawvideo -pix_fmt yuv420p -video_size 96x64 -framerate 25``).

    Returns:
        A :class:`TranscodeResult`.

    Raises:
        InputError, StreamSelectionError, UnknownCodecError, InvalidOptionError,
        UnsupportedOutputError, OutputExistsError, PacketDecodeError, InvalidDataError.
    """
    began = time.monotonic()
    if not 0 <= start <= 1e9 or (duration is not None and not 0 < duration <= 1e9):  # nan fails too
        raise InvalidOptionError(f"-ss must be from 0 to 1e9 s and -t above 0 up to 1e9 s "
                                 f"(got -ss {start}, -t {duration})")
    to_pipe = str(output) in STDOUT_NAMES
    if to_pipe and not output_format:
        raise UnsupportedOutputError("output `-` (stdout) needs its format named (-f nut, -f matroska, "
                                     "-f rawvideo, -f s16le...)")
    output_format = output_format or output_format_for(output)
    readers: list[Reader] = []
    writer: Writer | None = None
    try:
        for path in inputs:
            readers.append(Reader(path, registry=registry, ignore_errors=ignore_errors, format=input_format))
        if not readers:
            raise StreamSelectionError("no input given (-i FILE)")
        selected = _select(readers, maps, output_format)
        if output_format in RAW_FORMATS and len(selected) > 1:
            raise StreamSelectionError(f"a {output_format} output holds one stream; choose it with -map "
                                       f"({len(selected)} selected)")
        if not to_pipe:
            refuse_input_as_output(inputs, output)
        writer = Writer(str(output) if to_pipe else output, format=output_format, overwrite=overwrite,
                        registry=registry)
        routes = _plan(readers, selected, writer, codecs, qualities, bitrates, codec_options, str(output),
                       decode_neural, explicit=bool(maps))
        if not routes:
            raise StreamSelectionError(f"no input stream can go into a {writer.format} output")
        for route in routes:
            route.ignore_errors = ignore_errors
        for route in routes:
            route.output = _add_output(writer, route, registry)
            if route.output is not None and not route.copies:
                _carry_tags(route.track, route.output)
            kind = route.track.type
            route.summary = OutputSummary(route.output.index if route.output else -1, kind,
                                          route.output.codec if route.output else route.track.codec,
                                          "copy" if route.copies else ("neural" if route.output and
                                                                       route.output.kind == "neural" else "encode"),
                                          f"{readers.index(route.reader)}:{route.track.index} {route.track.codec}")
            if kind == "attachment" and route.copies:
                stream = route.track.av_stream
                writer.add_attachment(stream.name, stream.mimetype, bytes(stream.data))
            if output_format in RAW_FORMATS and route.output is not None and announce is not None:
                announce(f"output stream #{route.output.index} is raw, read it with: {raw_parameters(route.output)}")
        # As ffmpeg (without -copyts): each input's timeline starts at 0 in the output, and -ss
        # counts from the input's own start.
        clocks = {id(reader): _Clock(start + _origin(reader), duration) for reader in readers}
        if start > 0:
            for reader in readers:
                reader.seek(start + _origin(reader))
        total = duration if duration is not None else max(
            [d - start for d in (r.duration for r in readers) if d is not None] or [0.0])
        with Progress(total, enabled=progress, label="decode" if decode_neural else "transcode") as bar:
            _run(readers, routes, writer, clocks, bar, registry)
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        for reader in readers:
            reader.close()
    return TranscodeResult("-" if to_pipe else str(writer.path), [r.summary for r in routes if r.output is not None or
                                              r.track.type == "attachment"],
                           sum(r.errors for r in readers), time.monotonic() - began,
                           sum(r.skipped for r in routes))


def _plan(readers, selected, writer, codecs, qualities, bitrates, codec_options, output,
          decode_neural, explicit: bool = True) -> list[_Route]:
    """One route per selected stream; streams chosen by default (``explicit`` false) that the
    output cannot hold are left out with a :class:`StreamDroppedWarning`."""
    routes = []
    counts: dict[str, int] = {}
    suffix = os.path.splitext(output)[1].lower()
    for number, track in selected:
        out_index = len(routes)  # output stream numbers close up over streams left out
        type_index = counts.get(track.type, 0)
        counts[track.type] = type_index + 1
        codec = _last_match(codecs, track, type_index, out_index)
        if codec is None:
            try:
                codec = _default_codec(track, writer, suffix, decode_neural)
            except UnsupportedOutputError as error:
                if explicit or track.type not in ("subtitle", "attachment"):
                    raise
                warnings.warn(f"{error}: left out", StreamDroppedWarning, stacklevel=3)
                counts[track.type] = type_index
                continue
        quality = _last_match(qualities, track, type_index, out_index)
        bit_rate = _last_match(bitrates, track, type_index, out_index)
        options = _options_for(codec_options, track, type_index, out_index)
        if codec == "copy" and (quality or bit_rate or options):
            raise InvalidOptionError(f"{track.describe()} is copied (-c copy): -q, -b and -opt do not apply")
        routes.append(_Route(readers[number], track, codec, options,
                             parse_bitrate(bit_rate) if bit_rate else None, quality,
                             max_frames=1 if writer.format == "image2" else None))
    return routes


def _emit(writer: Writer, route: _Route, packets: list[av.Packet], bar: Progress) -> None:
    summary = route.summary
    for packet in packets:
        if packet.size == 0:
            continue
        summary.bytes += packet.size
        seconds = _packet_time(packet)
        if seconds != float("-inf"):
            summary.first = seconds if summary.first is None else min(summary.first, seconds)
            end = seconds + (float(packet.duration * packet.time_base) if packet.duration else 0.0)
            summary.last = end if summary.last is None else max(summary.last, end)
        bar.add_bytes(packet.size)
    writer.mux(packets)


def _plugin_failure(codec: str, registry: Registry | None, what: str, error: Exception) -> str:
    """``codec `x` (its distribution) failed to <what>: Type: message`` for an exception a codec raised."""
    from neuralav.registry import guard

    try:
        distribution = _registry.get_codec(codec, registry=registry).distribution
    except NeuralavError:
        distribution = None
    return str(guard.plugin_error(codec, distribution, what, error))


def _encode(route: _Route, frame: av.frame.Frame | None, seconds: float | None,
            registry: Registry | None) -> list[av.Packet]:
    """Encode one frame (``None`` flushes) on a route; a neural codec's failure is isolated.

    Raises:
        PluginError: the codec raised something other than a neuralav error (names it).
        NeuralavError: the codec refused the frame (unless ``ignore_errors``).
    """
    output = route.output
    try:
        return output.encode(frame)
    except Exception as error:
        if output.kind != "neural":
            raise
        if isinstance(error, NeuralavError):
            failure, detail = error, str(error)
        else:
            detail = _plugin_failure(output.codec, registry, "encode a frame", error)
            failure = PluginError(detail)
        if not route.ignore_errors:
            raise failure from error
        when = f"{seconds:.3f} s" if seconds is not None else "end of stream"
        route.skipped += 1
        warnings.warn(f"output stream {output.index} ({output.codec}) frame at {when} failed to encode: "
                      f"{detail} (skipped)", EncodeWarning, stacklevel=2)
        return []


def _decode(reader: Reader, track: Track, packet: av.Packet | None, registry: Registry | None
            ) -> list[av.frame.Frame]:
    """Decode one packet; what a neural codec raises besides neuralav errors is isolated too.

    The reader reports neuralav errors itself (or skips them with ``ignore_errors``); this
    adds the exceptions a plugin raises outside the base classes' wrapping (its decoder's
    constructor, a ``decode`` override).

    Raises:
        PluginError: naming the track, the time, the codec and its distribution.
    """
    try:
        return reader.decode_packet(track, packet)
    except NeuralavError:
        raise
    except Exception as error:
        if not track.is_neural:
            raise
        when = (f"{float(packet.pts * packet.time_base):.3f} s"
                if packet is not None and packet.pts is not None and packet.time_base else "end of stream")
        message = (f"`{reader.path}` track {track.index} ({track.codec}) packet at {when} failed to decode: "
                   f"{_plugin_failure(track.codec, registry, 'decode', error)}")
        if not reader.ignore_errors:
            raise PluginError(message) from error
        reader.errors += 1
        warnings.warn(message + " (skipped)", DecodeWarning, stacklevel=2)
        return []


def _encode_frame(writer: Writer, route: _Route, frame: av.frame.Frame, clock: _Clock, bar: Progress,
                  registry: Registry | None) -> bool:
    """Encode one decoded frame if it falls in the window; returns False once past its end."""
    seconds = _frame_seconds(frame)
    if seconds is None:  # raw streams (e.g. Annex-B H.264) carry no timestamps: count frames
        seconds = route.clock
    if route.track.type == "video":
        route.clock = seconds + 1 / float(_frame_rate(route.track))
    else:
        route.clock = seconds + frame.samples / frame.sample_rate
        # Audio is cut at the sample where -ss/-t fall, as ffmpeg does, not at frame edges.
        first = max(0, int(round((clock.start - seconds) * frame.sample_rate)))
        stop = frame.samples if clock.end is None else int(round((clock.end - seconds) * frame.sample_rate))
        if stop <= 0:
            return False
        if first >= min(stop, frame.samples):
            return True
        if first or stop < frame.samples:
            frame = slice_frame(frame, first, min(stop, frame.samples))
        # What is left starts in the window, at its start if it straddled it (the cut is rounded
        # to a sample, which may fall a fraction of a sample before -ss).
        seconds = max(seconds + first / frame.sample_rate, clock.start)
    if clock.before(seconds):
        return True
    if clock.after(seconds) or (route.max_frames is not None and route.summary.frames >= route.max_frames):
        return False
    shifted = seconds - clock.start
    if route.track.type == "video":
        # The source's time base when it resolves single frames (Matroska: 1 ms), so that
        # -ss shifts are exact; else one tick per frame.
        rate = _frame_rate(route.track)
        source = route.track.time_base
        base = source if source is not None and source <= 1 / rate else 1 / rate
        if frame.duration and frame.time_base is not None:
            frame.duration = max(1, int(round(frame.duration * frame.time_base / base)))
        frame.time_base = base
        frame.pts = int(round(shifted / base))
        if route.last_pts is not None and frame.pts <= route.last_pts:
            return True  # as ffmpeg's -vsync vfr: a frame at or before the last one is dropped
        route.last_pts = frame.pts
        frame.pict_type = av.video.frame.PictureType.NONE  # as ffmpeg: the encoder picks frame types
    else:
        frame.time_base = Fraction(1, frame.sample_rate)
        frame.pts = int(round(shifted * frame.sample_rate))
    route.summary.frames += 1
    _emit(writer, route, _encode(route, frame, shifted, registry), bar)
    # The bar follows the input consumed (audio too: an audio-only transcode stayed at 0 %).
    if route.track.type == "video":
        bar.advance(shifted, frames=1)
    else:
        bar.advance(shifted + frame.samples / frame.sample_rate)
    return True


def _origin(reader: Reader) -> float:
    """Where the input's timeline starts (s): the container's start time, 0 if unknown.

    ffmpeg subtracts it from every timestamp (a file cut from 10 s on starts at 0 in the output).
    """
    start = reader.container.start_time
    return start / av.time_base if start is not None else 0.0


def _run(readers: list[Reader], routes: list[_Route], writer: Writer, clocks: dict[int, _Clock],
         bar: Progress, registry: Registry | None) -> None:
    by_source: dict[tuple[int, int], list[_Route]] = {}
    for route in routes:
        if route.output is not None:
            by_source.setdefault((id(route.reader), route.track.index), []).append(route)
    finished: set[int] = set()
    guesses: dict[tuple[int, int], _TimestampGuess] = {}
    active = sum(len(group) for group in by_source.values())
    for reader, packet in _merged_packets(readers, routes):
        if len(finished) == active:
            break
        key = (id(reader), packet.stream.index)
        clock = clocks[id(reader)]
        targets = [r for r in by_source.get(key, []) if id(r) not in finished]
        if not targets:
            continue
        seconds = _packet_time(packet)
        encoders = [r for r in targets if not r.copies and r.track.type != "subtitle"]
        for route in targets:
            if not route.copies and route.track.type == "subtitle":
                _convert_subtitle(writer, route, packet, clock, bar)
        # Decode before copying: muxing rescales the packet's timestamps in place to the output
        # stream's time base, which the decoder would then read as the source's.
        if encoders:
            track = encoders[0].track
            for frame in _timestamps_guessed(_decode(reader, track, packet, registry), guesses, key):
                for route in encoders:
                    if id(route) not in finished and not _encode_frame(writer, route, _clone(frame, len(encoders)),
                                                                       clock, bar, registry):
                        finished.add(id(route))
        for route in targets:
            if not route.copies:
                continue
            if seconds != float("-inf") and clock.after(seconds):
                finished.add(id(route))
                continue
            _copy(writer, route, packet, clock, bar)
    # Flush each source's decoder once and give its last frames to every route still taking them
    # (a second flush of the same decoder fails, and the other routes would lose those frames).
    for group in by_source.values():
        encoders = [r for r in group if not r.copies and r.track.type != "subtitle"]
        live = [r for r in encoders if id(r) not in finished]
        if live:
            clock = clocks[id(live[0].reader)]
            key = (id(live[0].reader), live[0].track.index)
            for frame in _timestamps_guessed(_decode(live[0].reader, live[0].track, None, registry), guesses, key):
                for route in live:
                    if id(route) not in finished and not _encode_frame(writer, route, _clone(frame, len(live)),
                                                                       clock, bar, registry):
                        finished.add(id(route))
        for route in encoders:
            _emit(writer, route, _encode(route, None, None, registry), bar)


class _TimestampGuess:
    """FFmpeg's ``best_effort_timestamp`` for a stream of decoded frames (libavcodec's
    ``guess_correct_pts``, which PyAV does not expose): a frame's pts, unless pts have gone
    backwards more often than the packets' dts have, then its dts.

    Files whose B-frames were given pts = dts (``ffmpeg -f h264 -i raw.264 -c copy x.mp4``)
    decode to frames whose pts jump back and forth; encoders need them in order.
    """

    def __init__(self) -> None:
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


def _timestamps_guessed(frames: list, guesses: dict, key: tuple[int, int]) -> list:
    """Video frames with FFmpeg's best-effort pts (:class:`_TimestampGuess`, one per source track)."""
    for frame in frames:
        if isinstance(frame, av.VideoFrame):
            frame.pts = guesses.setdefault(key, _TimestampGuess())(frame.pts, frame.dts)
    return frames


def _convert_subtitle(writer: Writer, route: _Route, packet: av.Packet, clock: _Clock, bar: Progress) -> None:
    """Decode one subtitle packet and re-encode it with the route's subtitle encoder.

    Timing is the source packet's (start and duration), shifted by -ss; subtitles that start
    outside the -ss/-t window are left out.
    """
    seconds = _packet_time(packet)
    if seconds == float("-inf") or clock.before(seconds) or clock.after(seconds):
        return
    try:
        subtitles = route.track.av_stream.codec_context.decode2(packet)
    except av.FFmpegError as error:
        raise UnsupportedOutputError(f"`{route.reader.path}` {route.track.describe()}: subtitle at "
                                     f"{seconds:.3f} s cannot be decoded for conversion: {error}") from None
    if subtitles is None:
        return
    coded = route.output.av_stream.codec_context.encode_subtitle(subtitles)
    coded.time_base = packet.time_base
    coded.pts = coded.dts = packet.pts - int(round(clock.start / packet.time_base))
    coded.duration = packet.duration
    coded.stream = route.output.av_stream
    route.summary.frames += 1
    _emit(writer, route, [coded], bar)


def _clone(frame: av.frame.Frame, users: int) -> av.frame.Frame:
    """The frame itself, or a copy (pixels, pts, time base, duration) when several encoders share it.

    Each encoder rewrites its frame's timestamps. ``frame.reformat()`` to the frame's own
    format returns the frame itself, so the copy goes through an array (formats PyAV has
    no array form for stay shared).
    """
    if users == 1:
        return frame
    if isinstance(frame, av.VideoFrame):
        try:
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
        except (ValueError, TypeError):  # a pixel format without an ndarray form: shared, as before
            return frame
    else:
        copy = array_to_frame(frame_to_array(frame), frame.format.name, frame.layout.name, frame.sample_rate)
    copy.pts = frame.pts
    if frame.time_base is not None:
        copy.time_base = frame.time_base
    if isinstance(frame, av.VideoFrame) and frame.duration:
        copy.duration = frame.duration
    return copy


def _copy(writer: Writer, route: _Route, packet: av.Packet, clock: _Clock, bar: Progress) -> None:
    """Remux one packet unchanged, shifted by -ss.

    Raises:
        UnsupportedOutputError: the packet has no timestamps (a raw stream such as Annex-B
            H.264): the muxer needs them, and with B-frames they cannot be counted.
    """
    if packet.pts is None and packet.dts is None:
        raise UnsupportedOutputError(
            f"cannot copy {route.track.describe()} of `{route.reader.path}`: its packets carry no timestamps "
            f"(a raw stream); re-encode it (e.g. -c:{route.track.type[0]} libx264)")
    if clock.start != 0 and packet.pts is not None and packet.time_base is not None:
        shift = int(round(clock.start / packet.time_base))
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
    packet.stream = route.output.av_stream
    route.summary.frames += 1
    _emit(writer, route, [packet], bar)
    if route.track.type in ("video", "audio") and packet.pts is not None and packet.time_base is not None:
        bar.advance(float(packet.pts * packet.time_base), frames=int(route.track.type == "video"))
