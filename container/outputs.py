"""Creating the output streams of a transcode: a copy of the source stream, a neural codec's
stream, a PyAV encoder opened up front, or a subtitle conversion.

A PyAV encoder is opened before anything is written, so that settings it refuses are one clear
:class:`~neuralav.registry.InvalidOptionError` (with what the encoder said) rather than a failure
midway. A neural video codec with a ``bpp`` option (a target size per picture) takes ``-b``
as that target, ``rate / (width · height · frames/s)``; another neural codec without a
bitrate option takes it as the quality level with the nearest nominal rate
(:func:`_quality_for_bitrate`).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from fractions import Fraction
from typing import Any, Iterator

import av

from neuralav import registry as _registry
from neuralav.registry import InvalidOptionError, Registry

from .carried_properties import _carry_colour, _pixel_format_for
from .default_codecs import _TEXT_SUBTITLE_ENCODERS
from .errors import UnsupportedOutputError
from .routes import _Route
from .timing import _frame_rate
from .writer import OutputStream, Writer


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
                if "bpp" in option_names and track.type == "video":
                    # A per-picture target in bits per pixel: every frame gets rate/fps bits.
                    pixels_per_second = track.width * track.height * float(_frame_rate(track))
                    options["bpp"] = descriptor.option("bpp").parse(route.bit_rate / pixels_per_second)
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
