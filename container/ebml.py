"""A minimal EBML/Matroska reader and in-place patcher for the header of a file.

Just enough of Matroska (https://www.matroska.org/technical/elements.html) to
read the Tracks element of a file (wherever its SeekHead puts it), to
rewrite a track's CodecID in place, keeping the element's size and its CRC-32
valid, and to check the CRC-32 of Clusters (:class:`ClusterChecker`). The
header functions never read a whole file: only the EBML header, the SeekHead,
a bounded number of the Segment's element headers
(:data:`MAX_TOP_LEVEL_ELEMENTS`) and the Tracks element (bounded by
:data:`MAX_TRACKS_BYTES`).

Ids used (with their class markers, as Matroska writes them):
``0x1A45DFA3`` EBML, ``0x18538067`` Segment, ``0x1654AE6B`` Tracks,
``0xAE`` TrackEntry, ``0xD7`` TrackNumber, ``0x83`` TrackType, ``0x86`` CodecID,
``0x63A2`` CodecPrivate, ``0x536E`` Name, ``0xBF`` CRC-32, ``0x1F43B675`` Cluster,
``0x114D9B74`` SeekHead, ``0x4DBB`` Seek, ``0x53AB`` SeekID, ``0x53AC`` SeekPosition.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from typing import BinaryIO, Iterator

from neuralav.registry.errors import InvalidDataError

__all__ = ["TrackEntry", "TracksNotFoundError", "ClusterChecker", "read_tracks", "segment_bounds",
           "patch_codec_ids", "MAX_TRACKS_BYTES", "MAX_TOP_LEVEL_ELEMENTS"]

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
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
MAX_TRACKS_BYTES = 16 << 20
"""Largest Tracks element read (bytes); a larger one is treated as corrupt."""
MAX_SEEK_HEAD_BYTES = 1 << 20
"""Largest SeekHead element read (bytes)."""
MAX_TOP_LEVEL_ELEMENTS = 4096
"""Most top-level element headers read while looking for Tracks (real files have a few dozen
before their first Cluster, and one per Cluster after it)."""
MAX_SEEK_HEADS = 8
"""Most SeekHeads followed (a file has one, or two when the second lists the Clusters)."""
_UNKNOWN_SIZE = -1


class TracksNotFoundError(InvalidDataError):
    """No Tracks element where a conforming reader looks (before the first Cluster, or
    where a SeekHead points), within :data:`MAX_TOP_LEVEL_ELEMENTS` element headers."""


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


def segment_bounds(f: BinaryIO) -> tuple[int, int | None]:
    """Return (offset of the Segment's data, end of the Segment or ``None`` if its size is unknown), in bytes.

    Raises:
        InvalidDataError: the file does not start with an EBML header and a Segment.
    """
    f.seek(0)
    element_id, size, header_length = _element_header(f, "the EBML header")
    if element_id != EBML or size == _UNKNOWN_SIZE:
        raise InvalidDataError("not a Matroska file (no EBML header)")
    f.seek(header_length + size)
    element_id, segment_size, header_length = _element_header(f, "the Segment")
    if element_id != SEGMENT:
        raise InvalidDataError("not a Matroska file (no Segment after the EBML header)")
    data = f.tell()
    return data, (data + segment_size if segment_size != _UNKNOWN_SIZE else None)


def _uint_children(f: BinaryIO, data: int, size: int, wanted: tuple[int, ...], what: str) -> dict[int, int]:
    """``{id: value}`` of the unsigned-integer children in ``wanted`` of the element at ``data``.

    Children longer than 8 bytes (not a valid unsigned integer) are left out.
    """
    values = {}
    for child_id, child_data, child_size, _ in list(_children(f, data, data + size, what)):
        if child_id in wanted and child_size <= 8:
            f.seek(child_data)
            values[child_id] = _uint(f.read(child_size))
    return values


def _seek_entries(f: BinaryIO, data: int, size: int) -> list[tuple[int, int]]:
    """(element id, position relative to the Segment's data) of each Seek entry of a SeekHead."""
    if size > MAX_SEEK_HEAD_BYTES:
        raise InvalidDataError(f"Matroska SeekHead element has an invalid size ({size})")
    entries = []
    for element_id, seek_data, seek_size, _ in list(_children(f, data, data + size, "the SeekHead")):
        if element_id != SEEK:
            continue
        values = _uint_children(f, seek_data, seek_size, (SEEK_ID, SEEK_POSITION), "a Seek")
        if SEEK_ID in values and SEEK_POSITION in values:
            entries.append((values[SEEK_ID], values[SEEK_POSITION]))
    return entries


def _tracks_at(f: BinaryIO, position: int, segment_end: int | None) -> tuple[int, int, int] | None:
    """(offset, data offset, data size) of the Tracks element at ``position``, or ``None`` if it is not one."""
    if segment_end is not None and position >= segment_end:
        return None
    f.seek(position)
    try:
        element_id, size, header_length = _element_header(f, "the Segment")
    except InvalidDataError:
        return None
    if element_id != TRACKS:
        return None
    if size == _UNKNOWN_SIZE or size > MAX_TRACKS_BYTES or (
            segment_end is not None and position + header_length + size > segment_end):
        raise InvalidDataError(f"Matroska Tracks element has an invalid size ({size})")
    return position, position + header_length, size


def _find_tracks(f: BinaryIO) -> tuple[int, int, int]:
    """Return (Tracks element offset, data offset, data size), found as a conforming reader does.

    The Segment's top-level elements are read in order, each skipped by its size
    (Void and unknown elements are never entered). A SeekHead's entry for the
    Tracks element is followed at once, wherever it points (mkvmerge and
    mkvpropedit may put Tracks after the Clusters); SeekHeads that a SeekHead
    points to are read too. At most :data:`MAX_TOP_LEVEL_ELEMENTS` top-level
    element headers are read, so a file padded with millions of tiny elements
    costs no more than a normal one.

    Raises:
        InvalidDataError: no Tracks element within those bounds, or a malformed header.
    """
    segment_data, segment_end = segment_bounds(f)
    position = segment_data
    seek_heads: list[int] = []
    visited = 0
    while (segment_end is None or position < segment_end) and visited < MAX_TOP_LEVEL_ELEMENTS:
        f.seek(position)
        try:
            element_id, size, header_length = _element_header(f, "the Segment")
        except InvalidDataError:
            if segment_end is not None:
                raise
            break  # a live stream's end
        visited += 1
        data = position + header_length
        if element_id == TRACKS:
            return _tracks_at(f, position, segment_end)
        if element_id == SEEK_HEAD and size != _UNKNOWN_SIZE:
            seek_heads.append(position)
            for seek_id, relative in _seek_entries(f, data, size):
                if seek_id == TRACKS and (found := _tracks_at(f, segment_data + relative, segment_end)):
                    return found
                if seek_id == SEEK_HEAD and segment_data + relative > position:
                    seek_heads.append(segment_data + relative)
        if size == _UNKNOWN_SIZE:  # a live Cluster: what follows cannot be skipped
            break
        position = data + size
    for position in seek_heads[1:MAX_SEEK_HEADS]:  # SeekHeads found only through a SeekHead
        f.seek(position)
        try:
            element_id, size, header_length = _element_header(f, "a SeekHead")
        except InvalidDataError:
            continue
        if element_id != SEEK_HEAD or size == _UNKNOWN_SIZE:
            continue
        for seek_id, relative in _seek_entries(f, position + header_length, size):
            if seek_id == TRACKS and (found := _tracks_at(f, segment_data + relative, segment_end)):
                return found
    raise TracksNotFoundError("Matroska file has no Tracks element (none among its first "
                           f"{MAX_TOP_LEVEL_ELEMENTS} top-level elements, and no SeekHead points to one)")


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


# ---------------------------------------------------------------- write side (container/writer.py)

TRACK_UID = 0x73C5


def read_track_uids(f: BinaryIO) -> dict[int, int]:
    """Return ``{TrackNumber: TrackUID}`` for every TrackEntry of a Matroska file.

    The writer identifies its own tracks by TrackUID: FFmpeg's muxer, in bit-exact
    mode, gives the stream of index ``i`` the TrackUID ``i + 1`` (attachments take
    an index but no TrackEntry, so positions in Tracks do not match stream indices).

    Raises:
        InvalidDataError: the file is not Matroska, or its Tracks element is corrupt.
    """
    _, tracks_data, tracks_size = _find_tracks(f)
    uids = {}
    for element_id, data, size, _ in list(_children(f, tracks_data, tracks_data + tracks_size, "Tracks")):
        if element_id != TRACK_ENTRY:
            continue
        values = _uint_children(f, data, size, (TRACK_NUMBER, TRACK_UID), "a TrackEntry")
        if TRACK_NUMBER in values:
            uids[values[TRACK_NUMBER]] = values.get(TRACK_UID, 0)
    return uids


def tracks_crc_valid(f: BinaryIO) -> bool:
    """Whether the Tracks element's CRC-32 matches its data (``True`` when it has none)."""
    _, tracks_data, tracks_size = _find_tracks(f)
    children = list(_children(f, tracks_data, tracks_data + tracks_size, "Tracks"))
    if not children or children[0][0] != CRC32 or children[0][2] != 4:
        return True
    _, crc_data, _, _ = children[0]
    f.seek(crc_data)
    stored = struct.unpack("<I", f.read(4))[0]
    body = f.read(tracks_data + tracks_size - crc_data - 4)
    return stored == zlib.crc32(body)


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


class ClusterChecker:
    """Checks the CRC-32 of each Cluster of a Matroska file on disk as a demuxer moves past it.

    FFmpeg writes a CRC-32 element first in every Cluster; a Cluster whose bytes no longer
    match it was damaged, whether or not the demuxer noticed. Call :meth:`passed` with each
    packet's byte position (in file order): every top-level element that ends at or before
    it is skipped by its size, and each Cluster among them is checked. Elements other than
    Clusters count against :data:`MAX_TOP_LEVEL_ELEMENTS`; past that, or at an element of
    unknown size, checking stops (it is a check, never needed to read the file).

    Args:
        f: The file, opened ``rb`` (the checker's own handle: it seeks).
    """

    _CHUNK = 1 << 20

    def __init__(self, f: BinaryIO) -> None:
        self._file = f
        segment_data, self._segment_end = segment_bounds(f)
        self._position: int | None = segment_data
        self._budget = MAX_TOP_LEVEL_ELEMENTS
        self._current_end: int | None = None
        """End of the element at ``_position``, once a packet was seen inside it."""
        self._current_time: float | None = None
        """Time of the first packet seen inside the element at ``_position`` (s)."""
        self.checked = 0
        """Clusters checked so far (with a CRC-32 element)."""

    def passed(self, position: int, time: float | None = None) -> list[tuple[int, float | None]]:
        """Check the Clusters that end at or before byte ``position`` (where a packet at ``time`` s lies).

        Returns:
            ``(offset, time of its first packet or None)`` of each Cluster whose CRC-32 does not match.
        """
        if self._current_end is not None and position < self._current_end:
            return []  # still inside the element read last
        failures = []
        while self._position is not None:
            try:
                self._file.seek(self._position)
                element_id, size, header_length = _element_header(self._file, "the Segment")
            except InvalidDataError:
                self._position = None  # the end of the file (or of what can be parsed)
                break
            end = self._position + header_length + size
            if size == _UNKNOWN_SIZE or (self._segment_end is not None and end > self._segment_end):
                self._position = None
                break
            if end > position:
                if self._current_time is None:
                    self._current_time = time
                self._current_end = end
                break
            if element_id == CLUSTER:
                if self._crc_matches(self._position + header_length, end) is False:
                    failures.append((self._position, self._current_time))
            else:
                self._budget -= 1
                if not self._budget:
                    self._position = None
                    break
            self._position, self._current_time, self._current_end = end, None, None
        return failures

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def finish(self) -> list[tuple[int, float | None]]:
        """Check the Clusters left up to the end of the Segment (or of the file)."""
        return self.passed(self._segment_end if self._segment_end is not None else 1 << 62)

    def _crc_matches(self, data: int, end: int) -> bool | None:
        """Whether a Cluster's data matches its CRC-32 element (``None``: it has none, or the file ends first)."""
        self._file.seek(data)
        head = self._file.read(6)
        if len(head) < 6 or head[:2] != b"\xbf\x84":
            return None
        crc, position = 0, data + 6
        while position < end:
            chunk = self._file.read(min(self._CHUNK, end - position))
            if not chunk:
                return None  # truncated: said elsewhere
            crc = zlib.crc32(chunk, crc)
            position += len(chunk)
        self.checked += 1
        return crc == struct.unpack("<I", head[2:])[0]
