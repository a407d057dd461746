"""The codec an output stream gets when the command line names none (no ``-c``).

As ffmpeg: a stream is copied only into a format made for its codec (AAC to ``.wav`` becomes
PCM, a neural track to ``.mp4`` becomes H.264), text subtitles are converted where their codec
does not fit (SRT to ``mov_text`` in MP4), and a stream the output cannot hold at all is an
:class:`~neuralav.container.errors.UnsupportedOutputError`. The per-format encoders are one
table, :data:`DEFAULT_ENCODERS`.
"""

from __future__ import annotations

import av

from .errors import UnsupportedOutputError
from .reader import Track
from .writer import Writer


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
