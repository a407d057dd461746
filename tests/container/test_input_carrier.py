"""The reader takes a neural video track's frame size from carrier's BITMAPINFOHEADER parser (issue 32.6)."""

from __future__ import annotations

from neuralav import container
from neuralav.container import carrier, ebml

from .test_writer_reader import write_mixed


def test_bitmapinfoheader_size_reads_what_bitmapinfoheader_writes():
    assert carrier.bitmapinfoheader_size(carrier.bitmapinfoheader(97, 65, "ZLBV", b"NAVH")) == (97, 65)
    assert carrier.bitmapinfoheader_size(carrier.bitmapinfoheader(97, -65, "ZLBV", b"")) == (97, 65)  # top-down
    assert carrier.bitmapinfoheader_size(b"\x28\0\0\0\x61\0\0") is None


def test_reader_sizes_a_neural_track_from_its_codec_private(tmp_path):
    path = tmp_path / "mixed.mkv"
    write_mixed(path)
    with open(path, "rb") as f:
        entry = ebml.read_tracks(f)[1]
    with container.open(path) as f:
        assert f.streams[1].is_neural and f.streams[1].av_stream.codec_context is None
        assert (f.streams[1].width, f.streams[1].height) == carrier.bitmapinfoheader_size(entry.codec_private)
