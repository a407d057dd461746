"""What a re-encoded output stream keeps of its source: pixel format, tags and colours.

As ffmpeg: the source's pixel format when the encoder takes it (a 10-bit HDR source stays
10-bit), its language and titles, and its colour primaries, transfer, matrix and range. Tags
that describe the source's coding (durations, statistics, encoder) are not kept.
"""

from __future__ import annotations

import av

from neuralav.registry import NeuralavError

from . import ebml
from .reader import Reader, Track
from .writer import COLOR_PROPERTIES, OutputStream


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
        colours = {name: getattr(track.av_stream, name, 0) for name in COLOR_PROPERTIES}
    for name in COLOR_PROPERTIES:
        value = colours.get(name, 0)
        if value:
            # Encoders read the codec context; a neural track's template stream (which PyAV does
            # not refresh from its context) is written from the stream's parameters.
            if output.av_stream.codec_context is not None:
                setattr(output.av_stream.codec_context, name, value)
            setattr(output.av_stream, name, value)
