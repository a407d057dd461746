"""A minimal EBML/Matroska reader and in-place patcher for the header of a file.

Just enough of Matroska (https://www.matroska.org/technical/elements.html) to
read the Tracks element that FFmpeg writes and to rewrite a track's CodecID
in place, keeping the element's size and its CRC-32 valid. Never reads a
whole file: only the EBML header, the Segment's element headers and the
Tracks element (bounded by :data:`MAX_TRACKS_BYTES`).

Ids used (with their class markers, as Matroska writes them):
``0x1A45DFA3`` EBML, ``0x18538067`` Segment, ``0x1654AE6B`` Tracks,
``0xAE`` TrackEntry, ``0xD7`` TrackNumber, ``0x83`` TrackType, ``0x86`` CodecID,
``0x63A2`` CodecPrivate, ``0x536E`` Name, ``0xBF`` CRC-32, ``0x1F43B675`` Cluster.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from typing import BinaryIO, Iterator

from neuralav.registry.errors import InvalidDataError

__all__ = ["TrackEntry", "read_tracks", "patch_codec_ids", "MAX_TRACKS_BYTES"]

EBML = 0x1A45DFA3
SEGMENT = 0x18538067
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_NUMBER = 0xD7
TRACK_TYPE = 0x83
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2
NAME = 0x536E
CRC32 = 0xBF
CLUSTER = 0x1F43B675
MAX_TRACKS_BYTES = 16 << 20
"""Largest Tracks element read (bytes); a larger one is treated as corrupt."""
_UNKNOWN_SIZE = -1


@dataclasses.dataclass(frozen=True)
class TrackEntry:
    """One Matroska TrackEntry, as far as neuralav needs it.

    Attributes:
        number: TrackNumber (FFmpeg's ``stream.id``).
        type: TrackType (1 video, 2 audio, 17 subtitle, ...).
        codec_id: CodecID string, e.g. ``V_MS/VFW/FOURCC`` (padding zeros removed).
        codec_private: CodecPrivate bytes (empty if absent).
        name: Track Name (empty if absent).
        codec_id_offset: File offset of the CodecID string's data.
        codec_id_size: Size of the CodecID string's data (bytes).
    """

    number: int
    type: int
    codec_id: str
    codec_private: bytes
    name: str
    codec_id_offset: int
    codec_id_size: int


def _read_vint(f: BinaryIO, what: str, *, keep_marker: bool) -> tuple[int, int]:
    """Read an EBML variable-size integer; returns (value, length in bytes)."""
    first = f.read(1)
    if not first:
        raise InvalidDataError(f"Matroska file is truncated in {what}")
    byte = first[0]
    length = 1
    mask = 0x80
    while length <= 8 and not byte & mask:
        mask >>= 1
        length += 1
    if length > 8:
        raise InvalidDataError(f"Matroska file has an invalid EBML number in {what}")
    rest = f.read(length - 1)
    if len(rest) != length - 1:
        raise InvalidDataError(f"Matroska file is truncated in {what}")
    value = byte if keep_marker else byte & (mask - 1)
    all_ones = (byte & (mask - 1)) == mask - 1 and all(b == 0xFF for b in rest)
    for b in rest:
        value = (value << 8) | b
    if not keep_marker and all_ones:
        return _UNKNOWN_SIZE, length
    return value, length


def _element_header(f: BinaryIO, what: str) -> tuple[int, int, int]:
    """Read an element header; returns (id, data size or -1 if unknown, header length)."""
    element_id, id_length = _read_vint(f, what, keep_marker=True)
    size, size_length = _read_vint(f, what, keep_marker=False)
    return element_id, size, id_length + size_length


def _children(f: BinaryIO, start: int, end: int, what: str) -> Iterator[tuple[int, int, int, int]]:
    """Yield (id, data offset, data size, element offset) of the children in [start, end)."""
    position = start
    while position < end:
        f.seek(position)
        element_id, size, header_length = _element_header(f, what)
        data = position + header_length
        if size == _UNKNOWN_SIZE or data + size > end:
            raise InvalidDataError(f"Matroska element 0x{element_id:X} in {what} overruns its parent")
        yield element_id, data, size, position
        position = data + size


def _find_tracks(f: BinaryIO) -> tuple[int, int, int]:
    """Return (Tracks element offset, data offset, data size)."""
    f.seek(0)
    element_id, size, header_length = _element_header(f, "the EBML header")
    if element_id != EBML or size == _UNKNOWN_SIZE:
        raise InvalidDataError("not a Matroska file (no EBML header)")
    f.seek(header_length + size)
    element_id, segment_size, header_length = _element_header(f, "the Segment")
    if element_id != SEGMENT:
        raise InvalidDataError("not a Matroska file (no Segment after the EBML header)")
    position = f.tell()
    segment_end = position + segment_size if segment_size != _UNKNOWN_SIZE else None
    while segment_end is None or position < segment_end:
        f.seek(position)
        element_id, size, header_length = _element_header(f, "the Segment")
        data = position + header_length
        if element_id == TRACKS:
            if size == _UNKNOWN_SIZE or size > MAX_TRACKS_BYTES:
                raise InvalidDataError(f"Matroska Tracks element has an invalid size ({size})")
            return position, data, size
        if element_id == CLUSTER or size == _UNKNOWN_SIZE:
            break
        position = data + size
    raise InvalidDataError("Matroska file has no Tracks element before its first Cluster")


def _string(data: bytes) -> str:
    return data.rstrip(b"\0").decode("utf-8", "replace")


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big") if data else 0


def read_tracks(f: BinaryIO) -> list[TrackEntry]:
    """Read every TrackEntry of a Matroska file opened in binary mode.

    Raises:
        InvalidDataError: the file is not Matroska, or its header is truncated or corrupt.
    """
    _, tracks_data, tracks_size = _find_tracks(f)
    entries = []
    for element_id, data, size, _ in list(_children(f, tracks_data, tracks_data + tracks_size, "Tracks")):
        if element_id != TRACK_ENTRY:
            continue
        values: dict[int, tuple[bytes, int, int]] = {}
        for child_id, child_data, child_size, _ in list(_children(f, data, data + size, "a TrackEntry")):
            if child_id in (TRACK_NUMBER, TRACK_TYPE, CODEC_ID, CODEC_PRIVATE, NAME):
                f.seek(child_data)
                raw = f.read(child_size)
                if len(raw) != child_size:
                    raise InvalidDataError("Matroska file is truncated in a TrackEntry")
                values[child_id] = (raw, child_data, child_size)
        raw_id, id_offset, id_size = values.get(CODEC_ID, (b"", 0, 0))
        entries.append(TrackEntry(
            number=_uint(values.get(TRACK_NUMBER, (b"",))[0]),
            type=_uint(values.get(TRACK_TYPE, (b"",))[0]),
            codec_id=_string(raw_id),
            codec_private=values.get(CODEC_PRIVATE, (b"",))[0],
            name=_string(values.get(NAME, (b"",))[0]),
            codec_id_offset=id_offset,
            codec_id_size=id_size,
        ))
    return entries


def patch_codec_ids(f: BinaryIO, new_ids: dict[int, str]) -> None:
    """Rewrite the CodecID of tracks in place and recompute the Tracks CRC-32.

    Args:
        f: The Matroska file, opened ``r+b``.
        new_ids: ``{track number: new CodecID}``; each new id must fit in the old
            one's size (it is zero-padded, as EBML strings may be).

    Raises:
        InvalidDataError: a track is missing or a new id does not fit.
    """
    tracks_offset, tracks_data, tracks_size = _find_tracks(f)
    by_number = {entry.number: entry for entry in read_tracks(f)}
    for number, codec_id in new_ids.items():
        entry = by_number.get(number)
        if entry is None:
            raise InvalidDataError(f"Matroska file has no track {number} to patch")
        encoded = codec_id.encode("ascii")
        if len(encoded) > entry.codec_id_size:
            raise InvalidDataError(f"CodecID {codec_id!r} does not fit in the {entry.codec_id_size} bytes "
                                   f"of track {number}'s {entry.codec_id!r}")
        f.seek(entry.codec_id_offset)
        f.write(encoded.ljust(entry.codec_id_size, b"\0"))
    children = list(_children(f, tracks_data, tracks_data + tracks_size, "Tracks"))
    if children and children[0][0] == CRC32 and children[0][2] == 4:
        _, crc_data, _, _ = children[0]
        f.seek(crc_data + 4)
        body = f.read(tracks_data + tracks_size - crc_data - 4)
        f.seek(crc_data)
        f.write(struct.pack("<I", zlib.crc32(body)))
    f.flush()


VIDEO = 0xE0
COLOUR = 0x55B0
_COLOUR_FIELDS = {0x55BB: "color_primaries", 0x55BA: "color_trc", 0x55B1: "colorspace", 0x55B9: "color_range"}
"""Colour children (Primaries, TransferCharacteristics, MatrixCoefficients, Range) -> FFmpeg's names.
Both number them as ISO/IEC 23091-4 (H.273) does, and the ranges as 1 broadcast, 2 full."""


def read_colours(f: BinaryIO) -> list[dict[str, int]]:
    """The Colour element of each track, in the order of :func:`read_tracks` (``{}`` where a track
    has none): ``[{"color_primaries": 9, "color_trc": 16, ...}, ...]``.

    PyAV shows a track's colours only through a codec context, which tracks of a codec FFmpeg
    does not know (neural ones) lack; this reads them from the header.

    Raises:
        InvalidDataError: the file is not Matroska, or its header is truncated or corrupt.
    """
    _, tracks_data, tracks_size = _find_tracks(f)
    found: list[dict[str, int]] = []
    for element_id, data, size, _ in list(_children(f, tracks_data, tracks_data + tracks_size, "Tracks")):
        if element_id != TRACK_ENTRY:
            continue
        colours: dict[str, int] = {}
        for child_id, child_data, child_size, _ in list(_children(f, data, data + size, "a TrackEntry")):
            if child_id == VIDEO:
                for video_id, video_data, video_size, _ in list(_children(f, child_data, child_data + child_size,
                                                                          "a Video element")):
                    if video_id != COLOUR:
                        continue
                    for colour_id, colour_data, colour_size, _ in list(
                            _children(f, video_data, video_data + video_size, "a Colour element")):
                        if colour_id in _COLOUR_FIELDS and colour_size <= 8:
                            f.seek(colour_data)
                            colours[_COLOUR_FIELDS[colour_id]] = _uint(f.read(colour_size))
        found.append(colours)
    return found
