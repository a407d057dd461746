"""The packet loop of a transcode: packets of every input in time order, each copied,
decoded and encoded on every route that takes it, or converted (subtitles), within the
-ss/-t window; then each decoder and encoder is flushed.

A source decoded for several routes is decoded once and its frames shared (copied per encoder,
since each one rewrites their timestamps). Audio is cut at the sample where -ss/-t fall.
"""

from __future__ import annotations

import heapq
from fractions import Fraction
from typing import Iterator

import av

from neuralav.registry import Registry
from neuralav.registry.samples import array_to_frame, frame_to_array

from .errors import UnsupportedOutputError
from .frames import slice_frame
from .plugin_isolation import _decode, _encode
from .progress import Progress
from .reader import Reader
from .routes import _Route
from .timing import _Clock, _frame_rate, _frame_seconds, _packet_time, _TimestampGuess, _timestamps_guessed
from .writer import Writer


def _merged_packets(readers: list[Reader], routes: list[_Route]) -> Iterator[tuple[Reader, av.Packet]]:
    """Packets of every routed track of every input, merged in time order."""
    def one(number: int, reader: Reader) -> Iterator[tuple[float, int, int, Reader, av.Packet]]:
        tracks = {r.track.index: r.track for r in routes if r.reader is reader and r.track.type != "attachment"}
        for order, packet in enumerate(reader.demux(list(tracks.values()))):
            yield _packet_time(packet), number, order, reader, packet
    streams = [one(number, reader) for number, reader in enumerate(readers)]
    for _, _, _, reader, packet in heapq.merge(*streams, key=lambda item: item[:3]):
        yield reader, packet


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
