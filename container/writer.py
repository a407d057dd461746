"""Writing media files whose tracks may be neural-coded, from an ordinary PyAV loop.

Example (shapes as PyAV's: ``av.VideoFrame`` / ``av.AudioFrame`` in, packets out)::

    from neuralav import container

    with container.open("out.mkv", "w", overwrite=True) as out:
        video = out.add_stream("cae", rate=25, width=352, height=288, options={"quality": 3})
        audio = out.add_stream("libopus", rate=16000, layout="mono")
        for frame in frames:
            out.mux(video.encode(frame))
        out.mux(video.encode(None))   # flush

Neural streams are carried as described in ``container/FORMAT.md``. The file is
written to a temporary name next to the target and renamed by :meth:`Writer.close`
after the Matroska CodecID patch; :meth:`Writer.abort` (or an exception inside the
``with`` block) deletes it, and the temporaries of writers that were killed are removed
by the next writer of the same path (``atomic.py``). Files are written bit-exact (no
random segment id, date or library version), so the same input gives the same bytes.
A writable file object (a pipe, ``sys.stdout.buffer``), and a path naming a FIFO or a
device, are written as the muxer goes, in any format, the neural tracks' entries patched on
their way out (``live.py``); ``pipe_output.open_pipe`` gives one on stdout.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Mapping

import av

from neuralav import registry as _registry
from neuralav.registry import Encoder, MediaType, Registry

from . import carrier, ebml, interrupts, live
from .atomic import check_target, claim, commit, release, remove_stale, temporary_path
from .carrier import NeuralTrackInfo
from .errors import OutputPathError, UnsupportedOutputError
from .pipe_output import STDOUT_NAMES, PipeSink, is_pipe_path, stdout_sink

__all__ = ["Writer", "OutputStream", "output_format_for", "COLOR_PROPERTIES"]

_IMAGE_SUFFIXES = {".png": "png", ".jpg": "mjpeg", ".jpeg": "mjpeg", ".bmp": "bmp", ".tif": "tiff",
                   ".tiff": "tiff", ".webp": "libwebp"}
_FORMAT_BY_SUFFIX = {".mkv": "matroska", ".mka": "matroska", ".mks": "matroska", ".webm": "webm",
                     ".mp4": "mp4", ".m4a": "mp4", ".mov": "mov", ".wav": "wav", ".flac": "flac",
                     ".ogg": "ogg", ".opus": "ogg", ".mp3": "mp3", ".nut": "nut"}


_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES,
                             errno.EPERM, errno.EPIPE})
"""errno values of a failed write that are the file system's (or the pipe reader's) doing, not the media's."""


def output_format_for(path: str | os.PathLike) -> str:
    """The FFmpeg muxer name for an output path, from its suffix (``x.mkv`` → ``matroska``).

    Raises:
        UnsupportedOutputError: the suffix is unknown (names the known ones).
    """
    suffix = Path(path).suffix.lower()
    if suffix in _IMAGE_SUFFIXES:
        return "image2"
    if suffix in _FORMAT_BY_SUFFIX:
        return _FORMAT_BY_SUFFIX[suffix]
    known = ", ".join(sorted(set(_FORMAT_BY_SUFFIX) | set(_IMAGE_SUFFIXES)))
    raise UnsupportedOutputError(f"cannot tell the output format of `{path}` (known suffixes: {known})")


COLOR_PROPERTIES = ("color_primaries", "color_trc", "colorspace", "color_range")
"""The colour description of a video stream: PyAV codec-context attributes (FFmpeg enum values)."""
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def _checked_language(language: str | None) -> str | None:
    """``language`` if it looks like a language code (``eng``, ``fre``, ``pt-BR``); ``None`` stays ``None``.

    Raises:
        InvalidOptionError: anything else (names the value).
    """
    if language is None or language == "":
        return None
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise _registry.InvalidOptionError(f"track language {language!r} is not a language code "
                                           "(ISO 639-2 such as `eng`, or BCP 47 such as `pt-BR`)")
    return language


def _check_color(codec: str, color: Mapping[str, int]) -> None:
    """Check a colour description (``{name in COLOR_PROPERTIES: FFmpeg enum value}``) for encoder ``codec``.

    Raises:
        InvalidOptionError: ``codec`` is not a video encoder, a key is unknown, or a value is not an int.
    """
    try:
        kind = av.Codec(codec, "w").type
    except Exception:  # an unknown codec: _add_pyav names it
        kind = "video"
    if kind != "video":
        raise _registry.InvalidOptionError(f"`color` applies to video streams, not to {kind} codec `{codec}`")
    for name, value in color.items():
        if name not in COLOR_PROPERTIES or isinstance(value, bool) or not isinstance(value, int):
            raise _registry.InvalidOptionError(
                f"colour property {name!r}={value!r}: expected one of {', '.join(COLOR_PROPERTIES)} "
                "with an FFmpeg enum value (int)")


def _carrier_layout(info: NeuralTrackInfo, channels: int) -> av.AudioLayout:
    """The channel layout of a neural audio track: its codec header's ``layout``, else ``channels``'s default."""
    named = info.parsed.fields.get("layout")
    if isinstance(named, str):
        with contextlib.suppress(ValueError, TypeError):
            return av.AudioLayout(named)
    return av.AudioLayout(f"{max(int(channels or 1), 1)}c")  # FFmpeg: N channels, default order


def _template(codec: str) -> av.stream.Stream:
    """A stream of a throwaway Matroska container, for add_stream_from_template."""
    return av.open(io.BytesIO(), "w", format="matroska").add_stream(codec)


def _start_encoder(descriptor: _registry.CodecDescriptor, options, registry: Registry | None,
                   **kwargs: Any) -> Encoder:
    """``registry.create_encoder``, with a plugin constructor's own exceptions named as its failure.

    Raises:
        PluginError: the encoder's constructor raised something other than a neuralav error.
    """
    # registry.create_encoder already turns a constructor's stray exception into a PluginError.
    return _registry.create_encoder(descriptor.name, options, registry=registry, **kwargs)


class OutputStream:
    """One output track: neural-coded, coded by a PyAV encoder, or copied.

    Attributes:
        av_stream: The underlying PyAV output stream.
        kind: ``"neural"``, ``"encode"`` or ``"copy"``.
        codec: Codec name (``cae``, ``libx264``...) or the copied stream's codec.
        encoder: The neuralav encoder (neural streams only).
        neural: The track's codec header description (neural streams only).
    """

    def __init__(self, av_stream: av.stream.Stream, kind: str, codec: str,
                 encoder: Encoder | None = None, neural: NeuralTrackInfo | None = None) -> None:
        self.av_stream = av_stream
        self.kind = kind
        self.codec = codec
        self.encoder = encoder
        self.neural = neural

    @property
    def index(self) -> int:
        """Index of the stream in the output file."""
        return self.av_stream.index

    @property
    def type(self) -> str:
        """``video``, ``audio``, ``subtitle``..."""
        return self.av_stream.type

    def encode(self, frame: av.frame.Frame | None = None) -> list[av.Packet]:
        """Encode a frame (``None`` flushes); returns packets bound to this stream, ready to mux."""
        if self.kind == "copy":
            raise TypeError(f"output stream {self.index} copies packets; it does not encode frames")
        if self.encoder is not None and frame is not None and self.type == "video":
            frame = self._at_track_size(frame)
        packets = self.encoder.encode(frame) if self.encoder is not None else self.av_stream.encode(frame)
        for packet in packets:
            packet.stream = self.av_stream
        return packets


    def _at_track_size(self, frame: av.VideoFrame) -> av.VideoFrame:
        """``frame`` scaled to the track's width x height, as PyAV's own encoders scale theirs.

        Every packet of a neural video track then has the size its header states, which
        readers hold it to (a packet of another size is refused as damage, see
        ``Reader.decode_packet``): a source whose frame size changes mid-stream is scaled,
        as ffmpeg scales it for any encoder.
        """
        context = self.av_stream.codec_context
        size = (context.width, context.height) if context is not None else (frame.width, frame.height)
        if (frame.width, frame.height) == size:
            return frame
        scaled = frame.reformat(width=size[0], height=size[1])
        scaled.pts = frame.pts
        if frame.time_base is not None:
            scaled.time_base = frame.time_base
        return scaled


class Writer:
    """A media file being written (Matroska for neural tracks; any PyAV format otherwise).

    Args:
        path: Output file. Its suffix picks the format unless ``format`` is given. Or a
            writable binary file object (a pipe, ``sys.stdout.buffer``): the bytes are
            written to it as they are muxed, as ffmpeg writes to ``pipe:``; no temporary
            file, and nothing can be taken back once sent. Matroska (the default for a file
            object) is then written as FFmpeg writes it to a pipe: no Cues, no Duration, a
            Segment of unknown size, and neural tracks patched on the way out (``live.py``).
            ``-`` (or ``pipe:``) is standard output, as in ffmpeg (``format`` required).
            A path naming an existing FIFO or character device is written the same way (opened,
            written, closed; ``overwrite`` is not needed, since nothing is replaced).
        format: FFmpeg muxer name (``matroska``, ``mp4``, ``image2``...).
        overwrite: Replace an existing file (the CLI's ``-y``).
        registry: Codec registry (default: the installed plugins).

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
        UnsupportedOutputError: unknown output suffix.
    """

    def __init__(self, path: str | os.PathLike | BinaryIO, format: str | None = None, *,
                 overwrite: bool = False, registry: Registry | None = None) -> None:
        self.overwrite = overwrite
        self.registry = registry
        self.streams: list[OutputStream] = []
        self._closed = False
        self._started = False
        self._carrier_private: dict[int, bytes] = {}  # stream index -> CodecPrivate of neural tracks
        self._temporary: Path | None = None
        self._lock: int | None = None
        self._live: live.TrackPatchingOutput | None = None
        self._sink: BinaryIO | None = None  # the file object written to, for a stream output
        self._owned_file: BinaryIO | None = None  # a FIFO or device this writer opened (closed with it)
        if isinstance(path, str) and path in STDOUT_NAMES:
            if not format:
                self._closed = True
                raise UnsupportedOutputError(f"output `{path}` (stdout) needs its format named (nut, matroska, "
                                             "rawvideo, s16le...)")
            self.path = None
            self._open_stream(stdout_sink(), "-", format)
            return
        if hasattr(path, "write"):
            self.path = None
            self._open_stream(path, str(getattr(path, "name", "<stream>")), format or "matroska")
            return
        if not isinstance(path, (str, os.PathLike)) or not is_pipe_path(path):
            self.path = check_target(path, overwrite)
        else:  # a FIFO (mkfifo) or a device: written as a stream, never replaced or renamed
            self.path = Path(path)
            self.format = format or output_format_for(self.path)
            try:
                self._owned_file = open(self.path, "wb", buffering=0)  # noqa: SIM115 (closed by _close_sink)
            except OSError as error:
                self._closed = True
                raise OutputPathError(f"cannot write output `{self.path}`: {error.strerror or error}") from None
            self._open_stream(PipeSink(self._owned_file.fileno(), str(self.path)), str(self.path), self.format)
            return
        self.name = str(self.path)
        self.format = format or output_format_for(self.path)
        remove_stale(self.path)  # temporaries of writers that were killed
        self._temporary = temporary_path(self.path)
        try:
            self._lock = claim(self._temporary)
        except BaseException:
            self._closed = True
            raise
        self._open(str(self._temporary), {"update": "1"} if self.format == "image2" else {})

    def _open_stream(self, sink: BinaryIO, name: str, format: str) -> None:
        """Write to file object ``sink`` as the muxer goes (Matroska through ``live.py``).

        Raises:
            UnsupportedOutputError: FFmpeg has no muxer ``format``.
        """
        self.name = name
        self.format = format
        self._sink = sink
        output = sink
        if self.is_matroska:
            self._live = output = live.TrackPatchingOutput(sink, self._patch_in_flight)
        try:
            self._open(output, {})
        except (ValueError, av.FFmpegError) as error:
            self._close_sink()
            raise UnsupportedOutputError(f"cannot write format `{format}` to `{name}`: {error}") from None

    def _open(self, output, options: Mapping[str, str]) -> None:
        try:
            self._container = av.open(output, "w", format=self.format, options=dict(options))
            # No random SegmentUID, date or library version: the same input gives the same bytes.
            self._container.flags |= av.container.Flags.bitexact.value
        except BaseException:
            self._closed = True
            self._remove_temporary()
            raise

    # ------------------------------------------------------------------ adding streams

    @property
    def supported_codecs(self) -> frozenset[str]:
        """Names of the codecs the output format holds as they are (FFmpeg's muxer's list: ``h264``, ``opus``...).

        What ``copy`` can put in this output; neural codecs are not listed (they need Matroska,
        see :attr:`is_matroska`).
        """
        return frozenset(self._container.supported_codecs)

    @property
    def is_matroska(self) -> bool:
        """Whether the output can carry neural tracks."""
        return self.format == "matroska"

    def add_stream(self, codec: str, rate: int | Fraction | None = None, *,
                   options: Mapping[str, Any] | None = None, width: int | None = None,
                   height: int | None = None, layout: str | None = None, pix_fmt: str | None = None,
                   sample_format: str | None = None, bit_rate: int | None = None, language: str | None = None,
                   color: Mapping[str, int] | None = None) -> OutputStream:
        """Add a stream coded by ``codec``: a neuralav codec or any PyAV encoder.

        Args:
            codec: ``cae``, ``wavenet``, ``libx264``, ``libopus``...
            rate: Frame rate (video, frames/s) or sample rate (audio, Hz).
            options: Codec options (neuralav: ``{"quality": 3}``; PyAV: ``{"crf": "23"}``).
            width, height: Frame size in pixels (video; required for neural video).
            layout: Channel layout (audio), e.g. ``mono``.
            pix_fmt: Pixel format for a PyAV encoder (default: its first supported one).
            sample_format: Input sample format of neural audio (e.g. ``s16``), or PyAV
                encoder's sample format.
            bit_rate: Target bitrate of a PyAV encoder (bits/s).
            language: The track's language, as the source names it (ISO 639-2, e.g. ``eng``;
                Matroska's Language). Default: none (readers show ``und``).
            color: Colour description of a video stream coded by a PyAV encoder, keys from
                :data:`COLOR_PROPERTIES` (PyAV's codec-context attributes), values FFmpeg's
                enum values as PyAV gives them (``source.codec_context.color_primaries``...):
                the encoder signals them (H.264/HEVC VUI) and Matroska's Colour element
                carries them. Not for neural streams, whose payload has no colour coding.

        Raises:
            UnsupportedOutputError: a neural codec for a format other than Matroska.
            UnknownCodecError: neither a neuralav codec nor a PyAV encoder.
            InvalidOptionError: a malformed ``language``, or ``color`` where it does not apply.
        """
        names = (self.registry.names() if self.registry is not None else _registry.default_registry().names())
        language = _checked_language(language)
        if codec in names:
            if color:
                raise _registry.InvalidOptionError(
                    f"`color` describes how a standard encoder codes pixels; neural codec `{codec}` has none")
            stream = self._add_neural(codec, rate, options or {}, width, height, layout, sample_format)
        else:
            if color:
                _check_color(codec, color)
            stream = self._add_pyav(codec, rate, options or {}, width, height, layout, pix_fmt, sample_format,
                                    bit_rate)
            for name, value in (color or {}).items():
                setattr(stream.av_stream.codec_context, name, value)
        if language:
            stream.av_stream.metadata["language"] = language
        return stream

    def _add_neural(self, codec: str, rate, options, width, height, layout, sample_format) -> OutputStream:
        descriptor = _registry.get_codec(codec, registry=self.registry)
        if descriptor.media_type is MediaType.VIDEO:
            if not width or not height:
                raise UnsupportedOutputError(f"neural video stream `{codec}` needs width= and height=")
            frame_rate = Fraction(rate) if rate else Fraction(25)
            encoder = _start_encoder(descriptor, options, self.registry, time_base=1 / frame_rate)
        else:
            if not rate:
                raise UnsupportedOutputError(f"neural audio stream `{codec}` needs rate= (the sample rate, Hz)")
            encoder = _start_encoder(descriptor, options, self.registry, sample_rate=int(rate),
                                     layout=layout or "mono", format=sample_format)
            frame_rate = None
        try:
            header = encoder.header
        except _registry.NeuralavError:
            raise
        except Exception as error:  # a plugin's header_fields can fail in any way
            raise _registry.PluginError(
                f"codec `{codec}` ({descriptor.distribution or 'unknown distribution'}) failed to write its "
                f"header: {type(error).__name__}: {error}") from error
        info = carrier.NeuralTrackInfo(codec, header, _registry.CodecHeader.from_bytes(header),
                                       descriptor.fourcc if descriptor.media_type is MediaType.VIDEO else "")
        stream = self._add_carrier(info, descriptor.distribution, width=width, height=height,
                                   frame_rate=frame_rate, sample_rate=int(rate or 0),
                                   channels=len(av.AudioLayout(layout or "mono").channels))
        stream.encoder = encoder
        stream.kind = "neural"
        return stream

    def add_neural_copy(self, info: NeuralTrackInfo, *, width: int = 0, height: int = 0,
                        frame_rate: Fraction | None = None, sample_rate: int = 0, channels: int = 1,
                        plugin: str | None = None, language: str | None = None) -> OutputStream:
        """Add a stream whose packets are copied from another file's neural track.

        Args:
            language: The track's language (ISO 639-2, e.g. ``eng``), as the source's track says.
        """
        language = _checked_language(language)
        stream = self._add_carrier(info, plugin, width=width, height=height, frame_rate=frame_rate,
                                   sample_rate=sample_rate, channels=channels)
        if language:
            stream.av_stream.metadata["language"] = language
        stream.kind = "copy"
        return stream

    def _add_carrier(self, info: NeuralTrackInfo, plugin: str | None, *, width, height, frame_rate,
                     sample_rate, channels) -> OutputStream:
        if not self.is_matroska:
            raise UnsupportedOutputError(
                f"neural codec `{info.codec}` needs a Matroska output (.mkv/.mka), not `{Path(self.name).name}` "
                f"({self.format}); use `neuralav decode` to get standard codecs")
        if info.parsed.media_type is MediaType.VIDEO:
            stream = self._container.add_stream_from_template(_template(carrier.VIDEO_TEMPLATE[0]))
            context = stream.codec_context
            context.width, context.height = width, height
            if frame_rate:
                context.framerate = frame_rate
            private = carrier.bitmapinfoheader(width, height, info.fourcc or "NAVV", info.header)
        else:
            stream = self._container.add_stream_from_template(_template(carrier.AUDIO_TEMPLATE[0]))
            context = stream.codec_context
            context.sample_rate = sample_rate
            # Matroska's Channels comes from the layout (the template's is stereo): it must
            # agree with the WAVEFORMATEX, or mkvmerge warns and exits 1 on every remux.
            context.layout = _carrier_layout(info, channels)
            private = carrier.waveformatex(sample_rate, context.layout.nb_channels, info.header)
        context.extradata = private
        self._carrier_private[stream.index] = private
        stream.metadata.update(carrier.track_tags(info.header, plugin))
        stream.metadata["title"] = carrier.track_name(info.codec, info.parsed.media_type)
        stream.disposition = av.stream.Disposition(0)
        output = OutputStream(stream, "neural", info.codec, neural=info)
        self.streams.append(output)
        return output

    def _add_pyav(self, codec, rate, options, width, height, layout, pix_fmt, sample_format, bit_rate):
        try:
            av_codec = av.Codec(codec, "w")
        except Exception:
            names = (self.registry.names() if self.registry is not None
                     else _registry.default_registry().names())
            raise _registry.UnknownCodecError(
                f"unknown codec `{codec}`: not a neuralav codec ({', '.join(names) or 'none installed'}) "
                "nor a PyAV/FFmpeg encoder") from None
        if av_codec.type == "video":
            stream = self._container.add_stream(codec, rate=Fraction(rate) if rate else Fraction(25),
                                                options=dict(options))
            context = stream.codec_context
            context.width, context.height = width, height
            formats = [f.name for f in (av_codec.video_formats or ())]
            context.pix_fmt = pix_fmt if pix_fmt and (not formats or pix_fmt in formats) else (
                "yuv420p" if "yuv420p" in formats else (formats[0] if formats else pix_fmt or "yuv420p"))
        elif av_codec.type == "audio":
            rates = list(av_codec.audio_rates or ())
            sample_rate = int(rate or 48000)
            if rates and sample_rate not in rates:
                sample_rate = 48000 if 48000 in rates else max(rates)
            stream = self._container.add_stream(codec, rate=sample_rate, options=dict(options))
            stream.codec_context.layout = layout or "stereo"
            formats = [f.name for f in (av_codec.audio_formats or ())]
            if formats:
                stream.codec_context.format = sample_format if sample_format in formats else formats[0]
        else:
            stream = self._container.add_stream(codec, options=dict(options))
        if bit_rate:
            stream.codec_context.bit_rate = int(bit_rate)
        if stream.type in ("video", "audio"):
            stream.disposition = av.stream.Disposition.default
        output = OutputStream(stream, "encode", codec)
        self.streams.append(output)
        return output

    def add_stream_from_template(self, template: av.stream.Stream) -> OutputStream:
        """Add a stream that copies ``template``'s packets unchanged (standard codecs)."""
        stream = self._container.add_stream_from_template(template)
        with contextlib.suppress(Exception):
            stream.metadata.update({k: v for k, v in template.metadata.items() if k.upper() != "DURATION"})
        stream.disposition = template.disposition
        output = OutputStream(stream, "copy", template.codec_context.name)
        self.streams.append(output)
        return output

    def add_attachment(self, name: str, mimetype: str, data: bytes) -> None:
        """Attach a file (fonts, cover art...) to a Matroska output."""
        self._container.add_attachment(name=name, mimetype=mimetype, data=data)

    # ------------------------------------------------------------------ writing

    def mux(self, packets: av.Packet | Iterable[av.Packet]) -> None:
        """Write packets (each bound to one of this writer's streams); empty flush packets are skipped.

        Raises:
            KeyboardInterrupt: an interrupt came that Python swallowed (e.g. Ctrl-C while PyAV
                was reading a pipe, inside its I/O callback): a stream output has no final
                rename to stop at, so every mux checks (:func:`.interrupts.check`).
        """
        interrupts.check()
        if isinstance(packets, av.Packet):
            packets = [packets]
        if not self._started:
            self._set_defaults()
            self._started = True
        try:
            for packet in packets:
                if packet.size == 0 and packet.pts is None:
                    continue
                self._container.mux_one(packet)
        except OSError as error:
            raise self._storage_error(error) from None

    def _set_defaults(self) -> None:
        """Mark the first standard video and audio track default; neural tracks never are.

        Subtitle tracks keep the disposition they were given (or copied with).
        """
        seen: set[str] = set()
        for stream in self.streams:
            if stream.neural is not None or stream.type not in ("video", "audio"):
                continue
            if stream.type in seen:
                stream.av_stream.disposition &= ~av.stream.Disposition.default
            else:
                stream.av_stream.disposition |= av.stream.Disposition.default
                seen.add(stream.type)

    def close(self) -> Path | None:
        """Finish the file: flush nothing (flush encoders yourself), patch, rename. Returns the path.

        A file object output has no path (returns ``None``): its last bytes are sent and
        it is flushed, not closed. A FIFO or device path is closed and returned.

        Raises:
            OutputExistsError: the target appeared meanwhile and ``overwrite`` is false.
        """
        if self._closed:
            return self.path
        if not self.streams:
            self.abort()
            raise UnsupportedOutputError(f"output `{self.name}` has no streams: nothing was written")
        self._closed = True
        try:
            if not self._started:
                self._set_defaults()
            # After close() PyAV's container lists no streams: note which have a TrackEntry.
            self._tracks = {s.index: s.type for s in self._container.streams if s.type != "attachment"}
            try:
                self._container.close()
                if self._live is not None:
                    self._live.finish()
                if self._sink is not None:
                    self._sink.flush()
            except OSError as error:
                raise self._storage_error(error) from None
            if self._temporary is None:
                self._close_sink()
                return self.path
            if any(s.neural is not None for s in self.streams):
                with open(self._temporary, "r+b") as f:
                    before = self._patch_codec_ids(f)
                with open(self._temporary, "rb") as f:
                    self._verify_tracks(f, before)
            commit(self._temporary, self.path, self.overwrite)
        except BaseException:
            self._remove_temporary()
            raise
        release(self._lock)
        self._lock = None
        return self.path

    def _patch_in_flight(self, f: BinaryIO) -> None:
        """Patch and check the header of a live output (``live.TrackPatchingOutput`` calls it)."""
        if not self._closed:  # close() noted them before the container forgot its streams
            self._tracks = {s.index: s.type for s in self._container.streams if s.type != "attachment"}
        before = self._patch_codec_ids(f)
        self._verify_tracks(f, before)

    def _patch_codec_ids(self, f: BinaryIO) -> dict[int, str]:
        """Turn the template CodecIDs of neural tracks into ``V_MS/VFW/FOURCC`` / ``A_MS/ACM``, then verify.

        Each track is found by its TrackUID (the writer's stream index + 1, as FFmpeg's
        muxer numbers them in bit-exact mode), never by its position in Tracks: an
        attachment takes a stream index but has no TrackEntry. Before the patch every
        neural track must still be the template (its CodecID) carrying this writer's
        CodecPrivate; after it, :meth:`_verify_tracks` reads the file back.

        Args:
            f: The Matroska file (or its beginning, up to the end of Tracks), readable and
                writable in place.

        Returns:
            ``{TrackUID: CodecID}`` as the muxer wrote them (before the patch).

        Raises:
            InvalidDataError: a track is not where, or what, the writer put there.
        """
        before = self._tracks_by_uid(f)
        new_ids = {}
        for stream in self.streams:
            if stream.neural is None:
                continue
            entry = self._entry_of(stream, before)
            expected = carrier.VIDEO_TEMPLATE[1] if stream.type == "video" else carrier.AUDIO_TEMPLATE[1]
            if entry.codec_id != expected or entry.codec_private != self._carrier_private[stream.index]:
                raise ebml.InvalidDataError(
                    f"output track {entry.number} (stream {stream.index}) has CodecID {entry.codec_id!r} "
                    f"and not the neural carrier this writer made ({expected!r}): the file was not patched")
            new_ids[entry.number] = carrier.VIDEO_CODEC_ID if stream.type == "video" else carrier.AUDIO_CODEC_ID
        ebml.patch_codec_ids(f, new_ids)
        return {uid: entry.codec_id for uid, entry in before.items()}

    def _verify_tracks(self, f: BinaryIO, codec_ids_before: Mapping[int, str]) -> None:
        """Read the written file back: every track has the CodecID it must have, and Tracks its CRC.

        Args:
            f: The Matroska file as written (or its beginning, up to the end of Tracks).
            codec_ids_before: ``{TrackUID: CodecID}`` as the muxer wrote them (before the patch).

        Raises:
            InvalidDataError: a track's CodecID or CodecPrivate is wrong, a track is missing
                or extra, or the Tracks CRC-32 does not match.
        """
        tracks = self._tracks  # {stream index: type} of the streams that have a TrackEntry
        after = self._tracks_by_uid(f)
        crc_valid = ebml.tracks_crc_valid(f)
        if len(after) != len(tracks):
            raise ebml.InvalidDataError(f"the written file has {len(after)} tracks, expected {len(tracks)}")
        for index, kind in tracks.items():
            entry = after.get(index + 1)
            if entry is None:
                raise ebml.InvalidDataError(f"the written file has no track for output stream {index}")
            if index in self._carrier_private:
                wanted = carrier.VIDEO_CODEC_ID if kind == "video" else carrier.AUDIO_CODEC_ID
                if entry.codec_private != self._carrier_private[index]:
                    raise ebml.InvalidDataError(f"neural track {entry.number} of the written file lost its "
                                                "CodecPrivate")
            else:
                wanted = codec_ids_before.get(index + 1)
            if entry.codec_id != wanted:
                raise ebml.InvalidDataError(f"track {entry.number} of the written file has CodecID "
                                            f"{entry.codec_id!r}, expected {wanted!r}")
        if not crc_valid:
            raise ebml.InvalidDataError("the written file's Tracks CRC-32 does not match its data")

    @staticmethod
    def _tracks_by_uid(f) -> dict[int, ebml.TrackEntry]:
        uids = ebml.read_track_uids(f)
        return {uids.get(entry.number, 0): entry for entry in ebml.read_tracks(f)}

    @staticmethod
    def _entry_of(stream: OutputStream, entries: Mapping[int, ebml.TrackEntry]) -> ebml.TrackEntry:
        entry = entries.get(stream.index + 1)
        if entry is None:
            raise ebml.InvalidDataError(f"the written file has no track with TrackUID {stream.index + 1} "
                                        f"(output stream {stream.index})")
        return entry

    def _storage_error(self, error: OSError) -> OSError:
        """The error to raise for ``error`` from the muxer: a full disk, a quota, an I/O error...

        Errors of the file system become an :class:`OutputPathError` naming the output and
        the reason (one line for the CLI); others (e.g. FFmpeg refusing a timestamp) pass on.
        """
        if error.errno == errno.EPIPE:
            return OutputPathError(f"cannot write output `{self.name}`: the program reading it closed the pipe "
                                   "(Broken pipe)")
        if error.errno in _STORAGE_ERRNOS:
            return OutputPathError(f"cannot write output `{self.name}`: {error.strerror or error}"
                                   + (" (nothing was written)" if self._temporary is not None else ""))
        return error

    def abort(self) -> None:
        """Stop writing and delete the temporary file; nothing appears at the target."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()
        self._remove_temporary()
        self._close_sink()

    def _close_sink(self) -> None:
        """Close the FIFO or device this writer opened (a file object given to it stays open)."""
        if self._owned_file is not None:
            with contextlib.suppress(OSError):
                self._owned_file.close()
            self._owned_file = None

    def _remove_temporary(self) -> None:
        if self._temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temporary.unlink()
        release(self._lock)
        self._lock = None

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
