"""Reading media files whose tracks may be neural-coded, like ``av.open``.

Example::

    from neuralav import container

    with container.open("clip.mkv") as f:
        for track in f.streams:
            print(track.index, track.type, track.codec, track.is_neural)
        for frame in f.decode(video=0):      # av.VideoFrame, neural or not
            ...
        f.seek(1.5)                          # each track restarts at its keyframe <= 1.5 s

Neural tracks are found by parsing the Matroska Tracks element (CodecID and
CodecPrivate, see ``container/FORMAT.md``), wherever the SeekHead puts it;
PyAV gives them no codec context. Neural audio frames get sample-exact
timestamps (time base ``1/sample_rate``): the first packet read after opening
or seeking anchors the timeline at its millisecond timestamp, and each decoded
frame advances it by its sample count.

Pipes (``"-"`` for standard input, FIFOs, file objects that cannot seek) are
read once, in order. When the packets of a track run out, what the input lost
(a Cluster failing its CRC-32, a hole in a track, a tail cut off) is added to
``Reader.damage`` and warned of (:class:`~neuralav.container.damage.DamageWarning`).
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import stat
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import av

from neuralav import registry as _registry
from neuralav.registry import Decoder, InvalidDataError, NeuralavError, Registry
from neuralav.registry.api import MAX_DIMENSION, MAX_PIXELS, parse_video_packet

from . import carrier, ebml, interrupts
from .carrier import NeuralTrackInfo
from .damage import DamageWarning, PacketLog
from .errors import InputError, MissingPluginError, PacketDecodeError

__all__ = ["Reader", "Track", "DecodeWarning", "DamageWarning"]


class DecodeWarning(UserWarning):
    """A packet failed to decode and was skipped (``ignore_errors=True``)."""


_DURATION_TAG = re.compile(r"(\d{1,9}):(\d{1,2}):(\d{1,2}(?:\.\d{0,12})?)", re.ASCII)
"""Matroska's per-track ``DURATION`` tag, as FFmpeg writes it (``00:00:02.008000000``)."""


@dataclasses.dataclass
class Track:
    """One track of an input file.

    Attributes:
        index: Stream index (as PyAV's ``stream.index``).
        type: ``video``, ``audio``, ``subtitle``, ``attachment`` or ``data``.
        codec: Codec name: the neural codec (``cae``) or FFmpeg's (``h264``).
        av_stream: The PyAV stream.
        neural: The neural codec header, or ``None`` for a standard track.
        width, height: Frame size in pixels (video).
        sample_rate: Hz (audio); channels: channel count (audio).
        frame_rate: Average frame rate (video), if known.
        plugin: Distribution that wrote a neural track (from its tags), if known.
    """

    index: int
    type: str
    codec: str
    av_stream: av.stream.Stream
    neural: NeuralTrackInfo | None = None
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0
    layout: str = ""
    frame_rate: Fraction | None = None
    plugin: str | None = None

    @property
    def is_neural(self) -> bool:
        """Whether the track is coded by a neuralav codec."""
        return self.neural is not None

    @property
    def time_base(self) -> Fraction | None:
        """Time base of the track's packets (Matroska: 1/1000)."""
        return self.av_stream.time_base

    @property
    def duration(self) -> float | None:
        """Duration in seconds from the container or its ``DURATION`` tag (``HH:MM:SS.fff``), if known."""
        stream = self.av_stream
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        match = _DURATION_TAG.fullmatch(stream.metadata.get("DURATION", "").strip("\0 "))
        if match:  # a damaged tag is no duration (informative only)
            hours, minutes, seconds = match.groups()
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        return None

    def describe(self) -> str:
        """``#1 video cae (quality 3, v1) 352x288`` and the like."""
        what = self.codec
        if self.neural is not None:
            fields = ", ".join(f"{k} {v}" for k, v in self.neural.parsed.fields.items()
                               if k in ("quality", "model", "level"))
            what += f" (neural, {fields + ', ' if fields else ''}v{self.neural.parsed.version})"
        if self.type == "video":
            what += f" {self.width}x{self.height}"
        elif self.type == "audio":
            what += f" {self.sample_rate} Hz {self.layout or str(self.channels) + ' ch'}"
        return f"#{self.index} {self.type} {what}"


_TRACK_TYPES = {1: "video", 2: "audio", 17: "subtitle"}
"""Matroska TrackType -> PyAV stream type."""


_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
STDIN_NAMES = ("-", "pipe:", "pipe:0")
"""Input names that mean standard input, as in ffmpeg."""


def _matroska_header(f: BinaryIO) -> tuple[list[ebml.TrackEntry] | None, int | None]:
    """(the TrackEntries, or ``None`` where no header walk reaches them; where the Segment says the
    file ends in bytes, or ``None`` for a live stream) of a Matroska file read from its start.

    Raises:
        InvalidDataError: the header is truncated or corrupt.
    """
    if f.read(4) != _EBML_MAGIC:
        return None, None
    segment_end = ebml.segment_bounds(f)[1]
    try:
        return ebml.read_tracks(f), segment_end
    except ebml.TracksNotFoundError:
        return None, segment_end  # libavformat found them: the tracks' tags name neural codecs


class _HeadRecorder(io.RawIOBase):
    """A non-seekable input read once, in order, for PyAV; its first bytes are kept for the
    Matroska header parser (a live Matroska stream has its Tracks before its first Cluster).

    Args:
        source: A binary file object (stdin, a FIFO, a socket, ``io.BytesIO``...).
        keep: Bytes to keep from the start (the header parser gets no more).
    """

    def __init__(self, source: BinaryIO, keep: int) -> None:
        super().__init__()
        self._source = source
        self._keep = keep
        self.head = bytearray()
        self.total = 0
        """Bytes read so far."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        # An interrupt (Ctrl-C, SIGTERM) must end the read: PyAV's read callback passes on
        # Exceptions only (a KeyboardInterrupt is printed and lost), not an OSError (FFmpeg
        # retries EINTR); the demuxer reads on after an error, and then meets the end.
        if interrupts.received():
            return b""
        try:
            chunk = self._source.read(size if size is not None and size >= 0 else io.DEFAULT_BUFFER_SIZE)
        except KeyboardInterrupt as interrupt:
            raise RuntimeError(f"reading the input was interrupted ({interrupt})") from interrupt
        if chunk and len(self.head) < self._keep:
            self.head += chunk[:self._keep - len(self.head)]
        self.total += len(chunk or b"")
        return chunk or b""

    def release(self) -> bytes:
        """The kept first bytes; nothing more is kept from now on."""
        head, self.head, self._keep = bytes(self.head), bytearray(), 0
        return head


def _is_stream(path: Path) -> bool:
    """Whether ``path`` names something that can be read only once, in order (FIFO, socket, device)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


class Reader:
    """An open input file. Use :func:`neuralav.container.open`.

    Streams (standard input as ``"-"`` or ``"pipe:"``, a FIFO, a character device, and any
    binary file object, even one that could seek) are read exactly once, in order: PyAV
    reads them through a file object, and the Matroska header parser gets the bytes PyAV
    read first. :meth:`seek` is refused on them; give a path to seek.

    Args:
        path: Input file (anything PyAV opens; neural tracks need Matroska), ``"-"`` for
            standard input, or a binary file object.
        registry: Codec registry (default: the installed plugins).
        ignore_errors: Skip packets that fail to decode (with a :class:`DecodeWarning`)
            instead of raising :class:`PacketDecodeError`.
        format: FFmpeg demuxer name, when the file name does not tell (``h264``; on a
            pipe PyAV guesses from the first bytes).

    Raises:
        InputError: the file does not exist or is not readable media.
        InvalidDataError: the Matroska header is truncated or corrupt.
    """

    def __init__(self, path: str | os.PathLike | BinaryIO, *, registry: Registry | None = None,
                 ignore_errors: bool = False, format: str | None = None) -> None:
        self.registry = registry
        self.ignore_errors = ignore_errors
        self.errors = 0
        """Number of packets skipped because they failed to decode."""
        source: BinaryIO | None = None
        self._owned: BinaryIO | None = None
        if hasattr(path, "read"):
            source = path
            name = getattr(path, "name", None)
            self.path = Path(name if isinstance(name, str) else "pipe:")
        elif os.fspath(path) in STDIN_NAMES:
            source = sys.stdin.buffer
            self.path = Path("pipe:")
        else:
            self.path = Path(path)
            if not self.path.exists() and "%" not in self.path.name:
                raise InputError(f"input `{self.path}` does not exist")
            if _is_stream(self.path):
                try:
                    source = self._owned = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed in close())
                except OSError as error:
                    raise InputError(f"cannot read `{self.path}`: {error.strerror}") from None
        self.seekable = source is None
        """Whether the input can seek (a file on disk); a pipe is read once, in order."""
        self._recorder = _HeadRecorder(source, ebml.MAX_TRACKS_BYTES + (1 << 20)) if source is not None else None
        try:
            # A damaged tag must not make the file unreadable: undecodable bytes become U+FFFD.
            self.container = av.open(self._recorder if self._recorder is not None else str(self.path), "r",
                                     format=format, metadata_errors="replace")
        except av.FFmpegError as error:
            self._close_source()
            if self._recorder is not None:  # PyAV names no file ('<none>'): say where the stream stopped
                raise InputError(f"cannot read `{self.path}` as media: {error.strerror} (after reading "
                                 f"{self._recorder.total} bytes of it)") from None
            raise InputError(f"cannot read `{self.path}` as media: {error}") from None
        entries = None
        self._stated_size: int | None = None
        self.damage: list[str] = []
        """What the input lost to damage or truncation, one line each (see :mod:`.damage`)."""
        if self.container.format.name.startswith("matroska"):
            try:
                if self._recorder is None:
                    with open(self.path, "rb") as f:
                        entries, self._stated_size = _matroska_header(f)
                else:
                    entries = self._streamed_tracks()
            except ebml.InvalidDataError as error:
                self.close()
                raise ebml.InvalidDataError(f"`{self.path}`: {error}") from None
        elif self._recorder is not None:
            self._recorder.release()
        try:
            self.streams = [self._track(stream, entries) for stream in self.container.streams]
        except NeuralavError as error:  # a malformed neural track header
            self.close()
            raise type(error)(f"`{self.path}`: {error}") from None
        self._decoders: dict[int, Decoder] = {}
        self._audio_clock: dict[int, int] = {}
        self._seek_to: float | None = None
        self._seeked = False
        self._pending: dict[int, list[av.Packet]] = {}

    def _streamed_tracks(self) -> list[ebml.TrackEntry] | None:
        """The TrackEntries in the bytes PyAV read first from a pipe (``None`` if they are not there)."""
        head = self._recorder.release()
        try:
            entries, self._stated_size = _matroska_header(io.BytesIO(head))
        except ebml.InvalidDataError:
            if len(head) < self._recorder.total:
                return None  # Tracks lie beyond what PyAV read to open the stream: the tags tell
            raise
        return entries

    @property
    def size(self) -> int:
        """Size of the input in bytes (of a pipe: the bytes read so far; 0 for a file name pattern)."""
        if self._recorder is not None:
            return self._recorder.total
        try:
            return self.path.stat().st_size
        except OSError:
            return 0  # img%03d.png: many files

    def _track(self, stream: av.stream.Stream, entries: list[ebml.TrackEntry] | None) -> Track:
        entry = entries[stream.index] if entries is not None and stream.index < len(entries) else None
        if entry is not None and _TRACK_TYPES.get(entry.type, stream.type) != stream.type:
            entry = None  # FFmpeg skipped a track: do not pair by position, use the tags
        info = carrier.parse_codec_private(entry.codec_id, entry.codec_private) if entry else None
        metadata = dict(stream.metadata)
        if info is None and stream.codec_context is None:
            header = carrier.header_from_tags(metadata)
            if header is not None:
                parsed = _registry.CodecHeader.from_bytes(header)
                info = NeuralTrackInfo(parsed.codec, header, parsed)
        track = Track(stream.index, stream.type, info.codec if info else "", stream, info)
        track.plugin = metadata.get(carrier.TAG_PLUGIN)
        context = stream.codec_context
        if info is None:
            track.codec = context.name if context is not None else "unknown"
        if stream.type == "video":
            if context is not None:
                track.width, track.height = context.width, context.height
            elif entry is not None and (size := carrier.bitmapinfoheader_size(entry.codec_private)) is not None:
                width, height = size
                if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION
                        and width * height <= MAX_PIXELS):
                    if info is not None:
                        raise InvalidDataError(
                            f"neural video track {stream.index} claims a {width}x{height} frame (1 to "
                            f"{MAX_DIMENSION} pixels a side and {MAX_PIXELS} in all allowed)")
                    width = height = 0  # not ours, and only informative: unknown
                track.width, track.height = width, height
            rate = stream.average_rate or getattr(stream, "guessed_rate", None)
            track.frame_rate = Fraction(rate) if rate else None
        elif stream.type == "audio":
            if info is not None:
                fields = info.parsed.fields
                try:
                    track.sample_rate = int(fields.get("sample_rate", 0))
                    track.layout = str(fields.get("layout", ""))
                    track.channels = len(av.AudioLayout(track.layout).channels) if track.layout else 0
                except (ValueError, TypeError):  # informative here; the decoder names the bad field
                    track.sample_rate, track.layout, track.channels = 0, "", 0
            elif context is not None:
                track.sample_rate, track.layout = context.sample_rate, context.layout.name
                track.channels = context.channels
        return track

    # ------------------------------------------------------------------ selection

    @property
    def duration(self) -> float | None:
        """File duration in seconds, if known."""
        if self.container.duration is not None:
            return self.container.duration / av.time_base
        durations = [d for d in (t.duration for t in self.streams) if d is not None]
        return max(durations) if durations else None

    def select(self, video: int | None = None, audio: int | None = None) -> list[Track]:
        """Tracks chosen like ``av.container.decode(video=0, audio=0)`` (per-type indices)."""
        chosen = []
        for kind, wanted in (("video", video), ("audio", audio)):
            if wanted is None:
                continue
            of_type = [t for t in self.streams if t.type == kind]
            if wanted >= len(of_type):
                raise IndexError(f"`{self.path}` has {len(of_type)} {kind} track(s); no {kind}={wanted}")
            chosen.append(of_type[wanted])
        return chosen

    # ------------------------------------------------------------------ decoding

    def decoder(self, track: Track) -> Decoder:
        """The neuralav decoder of a neural track (built once).

        Raises:
            MissingPluginError: no installed plugin provides the track's codec.
        """
        if track.index not in self._decoders:
            info = track.neural
            names = (self.registry.names() if self.registry is not None
                     else _registry.default_registry().names())
            if info.codec not in names:
                plugin = f" (it was written by the `{track.plugin}` distribution)" if track.plugin else ""
                raise MissingPluginError(
                    f"`{self.path}` track {track.index} uses neural codec `{info.codec}`, which no installed "
                    f"neuralav plugin provides{plugin}; install the plugin that registers `{info.codec}` "
                    f"(installed: {', '.join(names) or 'none'})")
            self._decoders[track.index] = _registry.create_decoder(info.codec, info.header, registry=self.registry)
        return self._decoders[track.index]

    def demux(self, tracks: Iterable[Track] | None = None) -> Iterator[av.Packet]:
        """Yield the packets of ``tracks`` (default: all) in file order; empty packets are dropped.

        After :meth:`seek`, each track starts at its last keyframe at or before the target.
        """
        wanted = list(tracks) if tracks is not None else list(self.streams)
        streams = [t.av_stream for t in wanted]
        log = PacketLog()
        for track in wanted:
            if track.type in ("video", "audio"):
                log.watch(track.index, track.codec)
        checker = self._cluster_checker()
        bad_clusters: list[tuple[int, float | None]] = []
        try:
            for packet in self.container.demux(streams):
                if packet.size == 0 and packet.pts is None:
                    continue
                time = (float(packet.pts * packet.time_base)
                        if packet.pts is not None and packet.time_base is not None else None)
                if packet.time_base is not None:
                    log.add(packet.stream.index, time, float((packet.duration or 0) * packet.time_base))
                if checker is not None and packet.pos is not None and packet.pos >= 0:
                    bad_clusters += checker.passed(packet.pos, time)
                if self._seek_to is None:
                    yield packet
                else:
                    yield from self._after_seek(packet)
            if checker is not None:
                bad_clusters += checker.finish()
        except av.FFmpegError as error:
            raise ebml.InvalidDataError(f"`{self.path}` is damaged or truncated: {error}") from None
        finally:
            if checker is not None:
                checker.close()
        for index in list(self._pending):
            yield from self._pending.pop(index)
        self._report_losses(log, wanted, bad_clusters)

    def _cluster_checker(self) -> ebml.ClusterChecker | None:
        """A CRC-32 checker of the Clusters, for a first pass over a Matroska file on disk (else ``None``)."""
        if self._stated_size is None or not self.seekable or self._seeked:
            return None
        try:
            return ebml.ClusterChecker(open(self.path, "rb"))  # noqa: SIM115 (closed by its close())
        except (OSError, ebml.InvalidDataError):
            return None

    def _report_losses(self, log: PacketLog, tracks: list[Track],
                       bad_clusters: list[tuple[int, float | None]] = ()) -> None:
        """Warn (:class:`DamageWarning`) of each Cluster failing its CRC-32, hole and missing tail."""
        size = self.size if self._stated_size is not None else 0
        truncated = self._stated_size is not None and size < self._stated_size
        expected = {t.index: t.duration if t.duration is not None else (self.duration if truncated else None)
                    for t in tracks}
        lines = [f"`{self.path}`: the Cluster at byte {offset}"
                 + (f" (packets from {time:.3f} s)" if time is not None else "")
                 + " fails its CRC-32: its data is damaged" for offset, time in bad_clusters]
        losses = log.losses(expected, truncated=truncated)
        for loss in losses:
            cause = (f" (the file is truncated: {size} of {self._stated_size} bytes)" if truncated and loss.tail
                     else " (damaged data the demuxer skipped)" if not loss.tail else "")
            lines.append(loss.describe(str(self.path), cause))
        if truncated and not any(loss.tail for loss in losses):
            lines.append(f"`{self.path}` is truncated: {size} of {self._stated_size} bytes")
        for line in lines:
            if line not in self.damage:
                self.damage.append(line)
                warnings.warn(line, DamageWarning, stacklevel=3)

    def _after_seek(self, packet: av.Packet) -> Iterator[av.Packet]:
        """Hold a track's packets until it passes the seek target; emit from its last keyframe."""
        index = packet.stream.index
        if index not in self._pending:
            return (yield packet)
        time = float(packet.pts * packet.time_base) if packet.pts is not None else None
        buffer = self._pending[index]
        if time is not None and time <= self._seek_to:
            if packet.is_keyframe:
                buffer[:] = [packet]
            elif buffer:
                buffer.append(packet)
            return
        del self._pending[index]
        if not self._pending:
            self._seek_to = None
        yield from buffer
        yield packet

    def decode_packet(self, track: Track, packet: av.Packet) -> list[av.frame.Frame]:
        """Decode one packet of ``track`` (``None`` flushes).

        Raises:
            PacketDecodeError: naming the track, codec and timestamp (unless ``ignore_errors``).
        """
        try:
            if track.neural is not None:
                if track.type == "video" and packet is not None:
                    _check_frame_size(track, packet)
                frames = self.decoder(track).decode(packet)
                if track.type == "audio":
                    frames = self._sample_exact(track, packet, frames)
                return frames
            context = track.av_stream.codec_context
            if context is None:
                raise InvalidDataError("the track's codec is unknown: neither a neuralav codec header "
                                       "nor a codec FFmpeg can decode (CodecID damaged?)")
            frames = context.decode(packet)
            for frame in frames:  # frames flushed out of a decoder carry no time base
                if frame.time_base is None:
                    frame.time_base = track.av_stream.time_base
            return frames
        except (NeuralavError, av.FFmpegError) as error:
            if isinstance(error, MissingPluginError):
                raise
            when = (f"{float(packet.pts * packet.time_base):.3f} s"
                    if packet is not None and packet.pts is not None and packet.time_base else "end of stream")
            message = f"`{self.path}` track {track.index} ({track.codec}) packet at {when} failed to decode: {error}"
            if not self.ignore_errors:
                raise PacketDecodeError(message) from None
            self.errors += 1
            warnings.warn(message + " (skipped)", DecodeWarning, stacklevel=2)
            return []

    def _sample_exact(self, track: Track, packet: av.Packet | None, frames: list) -> list:
        rate = track.sample_rate
        if track.index not in self._audio_clock and packet is not None and packet.pts is not None:
            self._audio_clock[track.index] = int(round(packet.pts * packet.time_base * rate))
        clock = self._audio_clock.get(track.index, 0)
        for frame in frames:
            frame.pts = clock
            frame.time_base = Fraction(1, rate)
            clock += frame.samples
        self._audio_clock[track.index] = clock
        return frames

    def decode(self, *tracks: Track, video: int | None = None, audio: int | None = None
               ) -> Iterator[av.frame.Frame]:
        """Yield decoded frames of the given tracks (or ``video=``/``audio=`` indices; default all
        video and audio tracks), neural or standard alike, in file order."""
        chosen = list(tracks) or self.select(video, audio) or [
            t for t in self.streams if t.type in ("video", "audio")]
        by_index = {t.index: t for t in chosen}
        for packet in self.demux(chosen):
            yield from self.decode_packet(by_index[packet.stream.index], packet)
        for track in chosen:
            yield from self.decode_packet(track, None)

    def seek(self, seconds: float) -> None:
        """Seek so that each track restarts at its last keyframe at or before ``seconds``.

        Raises:
            InputError: the input is a pipe (read once, in order: it cannot seek).
        """
        if not self.seekable:
            raise InputError(f"`{self.path}` is a pipe or stream, read once in order: it cannot seek "
                             f"(to {seconds:g} s); give a file instead, or cut the stream before it")
        landing = max(0.0, seconds - inter_preroll(self.streams, self.registry))
        self.container.seek(int(landing * av.time_base), backward=True, any_frame=False)
        self._seek_to = seconds
        self._seeked = True
        self._pending = {t.index: [] for t in self.streams if t.type in ("video", "audio")}
        self._audio_clock.clear()
        for track in self.streams:
            if track.neural is None and track.av_stream.codec_context is not None:
                track.av_stream.codec_context.flush_buffers()
        for decoder in self._decoders.values():
            decoder.decode(None)
            decoder.discontinuity()  # stateful (inter) decoders drop their references: a keyframe comes next

    def close(self) -> None:
        """Close the file."""
        self.container.close()
        self._close_source()

    def _close_source(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def inter_preroll(tracks: Iterable[Track], registry: Registry | None = None) -> float:
    """How far before a seek target (s) the demuxer must land for every stateful neural track
    to meet a keyframe at or before the target.

    The demuxer lands on a cue, and FFmpeg writes cues for the first video track only: a
    stateful (``Capability.INTER``) track's keyframe before the target may lie before that
    cue, and its P-frames after the cue cannot be decoded. Its encoder codes a keyframe at
    least every ``g`` frames (the header's keyframe interval), so landing ``g`` frames before
    the target finds one. An INTER track of unknown frame rate asks for the whole stream.
    """
    preroll = 0.0
    for track in tracks:
        if track.neural is None or track.type != "video":
            continue
        try:
            descriptor = _registry.get_codec(track.neural.codec, registry=registry)
        except NeuralavError:  # not installed: the track cannot be decoded anyway
            continue
        if _registry.Capability.INTER not in descriptor.capabilities:
            continue
        interval = track.neural.parsed.fields.get(_registry.KEYFRAME_INTERVAL)
        if not isinstance(interval, int) or not track.frame_rate:
            return float("inf")
        preroll = max(preroll, (interval + 1) / float(track.frame_rate))
    return preroll


def _check_frame_size(track: Track, packet: av.Packet) -> None:
    """Refuse a neural video packet whose frame size is not the track's, before it is decoded.

    A track's frames are scaled to the size its header states (PyAV scales frames to an
    encoder's size), so a 17 KB file whose header claims 16384x2048 over 96x64 packets
    would make gigabytes of picture: the size a packet codes, read from its prefix, must be
    the header's (the writer scales every frame to the track's size).

    Raises:
        InvalidDataError: the sizes differ, or the packet's prefix is damaged.
    """
    if not track.width or not track.height:
        return
    info = parse_video_packet(bytes(packet))
    if (info.width, info.height) != (track.width, track.height):
        raise InvalidDataError(f"packet codes a {info.width}x{info.height} frame, but the track header says "
                               f"{track.width}x{track.height}")
