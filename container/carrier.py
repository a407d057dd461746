"""How a neural track is carried in Matroska: Video-for-Windows / ACM forms and tags.

See ``container/FORMAT.md`` for the on-disk format. In short, a neural track is a
``V_MS/VFW/FOURCC`` (video) or ``A_MS/ACM`` (audio) track whose CodecPrivate is a
BITMAPINFOHEADER (40 bytes, ``biCompression`` = the codec's FourCC) or a
WAVEFORMATEX (18 bytes, ``wFormatTag`` = :data:`NEURAL_FORMAT_TAG`) followed by the
neuralav codec header (``NAVH...``, :class:`neuralav.registry.CodecHeader`).
Matroska tags repeat what a person or a tag-aware tool wants to see.
"""

from __future__ import annotations

import base64
import dataclasses
import struct

from neuralav.registry import CodecHeader, MediaType
from neuralav.registry.errors import InvalidDataError

__all__ = ["NEURAL_FORMAT_TAG", "VIDEO_CODEC_ID", "AUDIO_CODEC_ID", "NeuralTrackInfo",
           "bitmapinfoheader", "waveformatex", "parse_codec_private", "track_tags", "track_name",
           "TAG_CODEC", "TAG_HEADER", "TAG_PLUGIN"]

VIDEO_CODEC_ID = "V_MS/VFW/FOURCC"
AUDIO_CODEC_ID = "A_MS/ACM"
VIDEO_TEMPLATE = ("mpeg4", "V_MPEG4/ISO/ASP")
"""(PyAV codec used as the stream template, the CodecID FFmpeg writes for it)."""
AUDIO_TEMPLATE = ("pcm_s16le", "A_PCM/INT/LIT")
NEURAL_FORMAT_TAG = 0x4E41
"""WAVEFORMATEX ``wFormatTag`` of neural audio tracks (``"NA"``; unknown to FFmpeg and players)."""
TAG_CODEC = "NEURALAV_CODEC"
TAG_HEADER = "NEURALAV_HEADER"
TAG_PLUGIN = "NEURALAV_PLUGIN"
_BIH = struct.Struct("<IiiHHIIiiII")
_WFX = struct.Struct("<HHIIHHH")


@dataclasses.dataclass(frozen=True)
class NeuralTrackInfo:
    """What a file says about one neural track.

    Attributes:
        codec: Codec name from the header, e.g. ``cae``.
        header: The codec header bytes (build a decoder from them).
        parsed: The parsed header (version, media type, fields such as quality).
        fourcc: FourCC (video) or ``""`` (audio).
    """

    codec: str
    header: bytes
    parsed: CodecHeader
    fourcc: str = ""


def bitmapinfoheader(width: int, height: int, fourcc: str, header: bytes) -> bytes:
    """BITMAPINFOHEADER (40 bytes, ``biSize`` = 40 + len(header)) followed by ``header``."""
    code = struct.unpack("<I", fourcc.encode("ascii"))[0]
    return _BIH.pack(40 + len(header), width, height, 1, 24, code, 0, 0, 0, 0, 0) + header


def waveformatex(sample_rate: int, channels: int, header: bytes) -> bytes:
    """WAVEFORMATEX (18 bytes, ``cbSize`` = len(header)) followed by ``header``.

    ``nAvgBytesPerSec`` and ``nBlockAlign`` are 0 / 1: the payload has no fixed rate.
    """
    return _WFX.pack(NEURAL_FORMAT_TAG, channels, sample_rate, 0, 1, 0, len(header)) + header


def parse_codec_private(codec_id: str, private: bytes) -> NeuralTrackInfo | None:
    """Return the neural track description in a CodecPrivate, or ``None`` for other tracks.

    A track is neural when its CodecID is a VfW/ACM one and the bytes after the
    BITMAPINFOHEADER/WAVEFORMATEX start with the codec header magic.

    Raises:
        InvalidDataError: the CodecPrivate claims a neural header that is malformed.
    """
    if codec_id == VIDEO_CODEC_ID and len(private) >= _BIH.size:
        size = _BIH.unpack(private[:_BIH.size])[0]
        extra = private[_BIH.size:size] if _BIH.size <= size <= len(private) else b""
        fourcc = private[16:20].decode("latin-1")
    elif codec_id == AUDIO_CODEC_ID and len(private) >= _WFX.size:
        tag, *_, cb_size = _WFX.unpack(private[:_WFX.size])
        extra = private[_WFX.size:_WFX.size + cb_size] if tag == NEURAL_FORMAT_TAG else b""
        fourcc = ""
    else:
        return None
    if not extra.startswith(b"NAVH"):
        return None
    parsed = CodecHeader.from_bytes(extra)
    return NeuralTrackInfo(parsed.codec, extra, parsed, fourcc)


def track_name(codec: str, media_type: MediaType) -> str:
    """The Matroska track Name of a neural track: what a player shows in its track menu."""
    return f"neuralav {codec} (neural {media_type.value}, needs the neuralav `{codec}` plugin)"


def track_tags(header: bytes, distribution: str | None) -> dict[str, str]:
    """Matroska tags of a neural track: codec, version, each header field, the header (base64)."""
    parsed = CodecHeader.from_bytes(header)
    tags = {TAG_CODEC: parsed.codec, "NEURALAV_VERSION": str(parsed.version),
            TAG_HEADER: base64.b64encode(header).decode("ascii")}
    for key, value in parsed.fields.items():
        if not isinstance(value, bytes):
            tags[f"NEURALAV_{key.upper()}"] = str(value)
    if distribution:
        tags[TAG_PLUGIN] = distribution
    return tags


def header_from_tags(tags: dict[str, str]) -> bytes | None:
    """The codec header stored in a track's tags, or ``None`` if there is none."""
    for key, value in tags.items():
        if key.upper() == TAG_HEADER:
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                raise InvalidDataError(f"track tag {TAG_HEADER} is not valid base64") from None
    return None


def bitmapinfoheader_size(private: bytes) -> tuple[int, int] | None:
    """The frame size a BITMAPINFOHEADER states: ``(biWidth, |biHeight|)`` in pixels.

    A negative ``biHeight`` (a top-down bitmap) counts by its magnitude. Returns ``None``
    when ``private`` is too short to hold the two fields (12 bytes). The values are
    unchecked: callers bound them.
    """
    if len(private) < 12:
        return None
    _, width, height = struct.unpack("<Iii", private[:12])
    return width, abs(height)
