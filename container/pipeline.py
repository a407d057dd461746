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

This module runs a transcode from start to end (:func:`transcode`); its steps live in their own
modules: :mod:`.selection` (``-map`` and per-stream options), :mod:`.default_codecs` (the codec
when ``-c`` names none), :mod:`.routes` (one route per output stream), :mod:`.outputs` (creating
output streams and opening encoders), :mod:`.carried_properties` (pixel format, tags and colours
kept from the source), :mod:`.timing` (clocks, -ss/-t and timestamps), :mod:`.packet_loop` (copy,
decode, encode and convert) and :mod:`.plugin_isolation` (a plugin codec's failures).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Sequence

from neuralav.registry import InvalidOptionError, Registry

from .atomic import refuse_input_as_output
from .carried_properties import _carry_tags
from .default_codecs import DEFAULT_ENCODERS
from .errors import StreamSelectionError, UnsupportedOutputError
from .outputs import _add_output
from .packet_loop import _run
from .pipe_output import RAW_FORMATS, STDOUT_NAMES, raw_parameters
from .plugin_isolation import EncodeWarning
from .progress import Progress
from .reader import Reader
from .routes import OutputSummary, StreamDroppedWarning, _plan
from .selection import StreamChoice, _select, matches_spec, parse_bitrate
from .timing import _Clock, _origin
from .writer import Writer, output_format_for

# The public names of the pipeline stay importable from here, wherever they are defined.
__all__ = ["StreamChoice", "TranscodeResult", "OutputSummary", "transcode", "parse_bitrate",
           "DEFAULT_ENCODERS", "matches_spec", "EncodeWarning", "StreamDroppedWarning"]


@dataclasses.dataclass
class TranscodeResult:
    """Outcome of :func:`transcode`: the output path, one summary per stream, skipped packets
    (failed to decode) and skipped frames (failed to encode)."""

    path: str
    streams: list[OutputSummary]
    skipped_packets: int
    seconds: float
    skipped_frames: int = 0


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
