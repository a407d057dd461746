"""Matroska files laid out as other muxers and editors leave them: Tracks after the Clusters
(mkvpropedit, mkvmerge), and megabytes of EBML Void elements before Tracks."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from neuralav import container
from neuralav.container import ebml

from .conftest import run_tool
from .test_writer_reader import write_mixed

LONG_TITLE = "A long title that no longer fits where the track header was " * 100


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """neuralav's own output: H.264 + zlibv video, zliba + Opus audio."""
    path = tmp_path_factory.mktemp("layout") / "mixed.mkv"
    images, _ = write_mixed(path)
    return path, images


def _level1_offsets(path) -> dict[str, list[int]]:
    """Offsets of the Tracks and Cluster elements, as `mkvinfo -v -v` prints them."""
    result = run_tool("mkvinfo", "-v", "-v", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    offsets: dict[str, list[int]] = {"Tracks": [], "Cluster": []}
    for line in result.stdout.splitlines():
        match = re.match(r"\|\+ (Tracks|Cluster) at (\d+)", line)
        if match:
            offsets[match.group(1)].append(int(match.group(2)))
    return offsets


def _assert_reads_back(path, images):
    with container.open(path) as f:
        assert [(t.type, t.codec, t.is_neural) for t in f.streams] == [
            ("video", "h264", False), ("video", "zlibv", True), ("audio", "zliba", True), ("audio", "opus", False)]
        assert (f.streams[1].width, f.streams[1].height) == (images[0].shape[1], images[0].shape[0])
        video = list(f.decode(f.streams[1]))
    assert len(video) == len(images)
    for frame, image in zip(video, images):
        np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), image)


@pytest.mark.parametrize("remux", [False, True], ids=["neuralav-output", "mkvmerge-output"])
def test_tracks_moved_after_the_clusters_by_mkvpropedit_are_found_through_the_seekhead(mixed, tmp_path, remux):
    path, images = mixed
    edited = tmp_path / "edited.mkv"
    if remux:  # mkvmerge's own layout, with a second SeekHead listing the Clusters
        assert run_tool("mkvmerge", "-q", "--clusters-in-meta-seek", "-o", str(edited), str(path)).returncode == 0
    else:
        edited.write_bytes(path.read_bytes())
    result = run_tool("mkvpropedit", str(edited), "--edit", "track:v1", "--set", f"name={LONG_TITLE}")
    assert result.returncode == 0, result.stdout
    offsets = _level1_offsets(edited)
    assert offsets["Tracks"] and offsets["Cluster"] and offsets["Tracks"][0] > max(offsets["Cluster"])
    _assert_reads_back(edited, images)
    with container.open(edited) as f:
        assert f.streams[0].av_stream.metadata.get("title") == LONG_TITLE


# --------------------------------------------------------------- EBML Void floods

def _vint_size(size: int) -> bytes:
    return (size | (1 << 56)).to_bytes(8, "big")  # 8-byte EBML size


def _element(element_id: int, data: bytes) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + _vint_size(len(data)) + data


def _void_flood(path, out, void_bytes: int, *, seek_head: bool):
    """Rebuild ``path``'s Segment as [SeekHead] + ``void_bytes`` of 2-byte Void elements + Info,
    Tracks, Tags + the Clusters (Cues dropped: their positions would be stale)."""
    data = path.read_bytes()
    with open(path, "rb") as f:
        segment_data, segment_end = ebml.segment_bounds(f)
        children = list(ebml._children(f, segment_data, segment_end, "the Segment"))
    header = data[:segment_data - 12]  # EBML header; FFmpeg writes the Segment's size in 8 bytes
    assert data[segment_data - 12:segment_data - 8] == b"\x18\x53\x80\x67"
    kept = {ebml.SEGMENT: []}
    front, clusters = [], []
    for element_id, start, size, offset in children:
        raw = data[offset:start + size]
        if element_id in (0x1549A966, ebml.TRACKS, 0x1254C367):  # Info, Tracks, Tags
            front.append((element_id, raw))
        elif element_id == ebml.CLUSTER:
            clusters.append(raw)
    flood = b"\xec\x80" * (void_bytes // 2)
    entries_size = len(front) * len(_element(ebml.SEEK, _element(ebml.SEEK_ID, b"\0" * 4)
                                             + _element(ebml.SEEK_POSITION, b"\0" * 8)))
    position = (len(_element(ebml.SEEK_HEAD, b"\0" * entries_size)) if seek_head else 0) + len(flood)
    seeks = b""
    for element_id, raw in front:
        seeks += _element(ebml.SEEK, _element(ebml.SEEK_ID, element_id.to_bytes(4, "big"))
                          + _element(ebml.SEEK_POSITION, position.to_bytes(8, "big")))
        position += len(raw)
    body = (_element(ebml.SEEK_HEAD, seeks) if seek_head else b"") + flood + b"".join(
        raw for _, raw in front) + b"".join(clusters)
    out.write_bytes(header + _element(ebml.SEGMENT, body))
    return out


class CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes read and the calls to ``read``."""

    def __init__(self, path):
        self._file = open(path, "rb")
        self.bytes = self.reads = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def read(self, size=-1):
        chunk = self._file.read(size)
        self.bytes += len(chunk)
        self.reads += 1
        return chunk

    def close(self):
        self._file.close()
        super().close()


@pytest.fixture(scope="module")
def flooded(mixed, tmp_path_factory):
    """The mixed file with 10 MB of 2-byte Void elements before Info and Tracks, with and without a SeekHead."""
    path, images = mixed
    folder = tmp_path_factory.mktemp("flood")
    return {kind: _void_flood(path, folder / f"{kind}.mkv", 10 << 20, seek_head=kind == "seekhead")
            for kind in ("seekhead", "bare")}, images


def test_ten_megabytes_of_void_elements_are_valid_matroska_for_ffprobe(flooded):
    files, _ = flooded
    for path in files.values():
        probe = run_tool("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", str(path))
        assert probe.returncode == 0 and probe.stdout.split() == ["video", "video", "audio", "audio"], probe.stderr


def test_void_flood_with_a_seekhead_costs_a_few_element_headers(flooded):
    files, images = flooded
    counting = CountingFile(files["seekhead"])
    with counting:
        entries = ebml.read_tracks(counting)
    assert [e.codec_id for e in entries] == ["V_MPEG4/ISO/AVC", "V_MS/VFW/FOURCC", "A_MS/ACM", "A_OPUS"]
    assert counting.reads < 400 and counting.bytes < 16 << 10  # the file holds 5 million elements
    _assert_reads_back(files["seekhead"], images)


def test_void_flood_without_a_seekhead_stops_after_a_bounded_walk_and_still_reads(flooded):
    files, images = flooded
    counting = CountingFile(files["bare"])
    with counting, pytest.raises(ebml.TracksNotFoundError):
        ebml.read_tracks(counting)
    assert counting.reads <= 4 * ebml.MAX_TOP_LEVEL_ELEMENTS + 20  # id and size: two reads each
    with container.open(files["bare"]) as f:  # libavformat found the Tracks: the tags name the neural codecs
        assert [(t.codec, t.is_neural) for t in f.streams] == [
            ("h264", False), ("zlibv", True), ("zliba", True), ("opus", False)]
        video = list(f.decode(f.streams[1]))
    assert len(video) == len(images)
    np.testing.assert_array_equal(video[-1].to_ndarray(format="rgb24"), images[-1])
