"""The CodecID patch finds neural tracks by TrackUID and the written file is checked before the rename.

Attachments take a stream index but no TrackEntry: a patch by position rewrote the wrong
tracks (issue 27.2). Each test checks the file with mkvmerge/ffmpeg as well as neuralav.
"""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container import carrier, ebml
from neuralav.container.cli import main
from neuralav.registry import InvalidDataError

from . import media
from .conftest import run_tool


def make_mpeg4(path, frames: int = 6):
    """An MPEG-4 Part 2 (``V_MPEG4/ISO/ASP``, the video carrier's template CodecID) Matroska file."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=media.FPS)
        stream.width, stream.height, stream.pix_fmt = media.WIDTH, media.HEIGHT, "yuv420p"
        for i, image in enumerate(media.video_frames(frames)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """(clip with an attachment, a zlibv file, an MPEG-4 file)."""
    folder = tmp_path_factory.mktemp("sources")
    attached = media.make_clip(folder / "attached.mkv", frames=6, with_attachment=True)
    neural = folder / "neural.mkv"
    assert main(["transcode", "-i", str(attached), "-map", "0:v", "-c:v", "zlibv", str(neural)]) == 0
    return attached, neural, make_mpeg4(folder / "mpeg4.mkv")


def mkvmerge_tracks(path):
    report = json.loads(run_tool("mkvmerge", "-J", str(path)).stdout)
    assert report["errors"] == []
    return [(t["type"], t["properties"]["codec_id"]) for t in report["tracks"]], len(report["attachments"])


def test_an_attachment_before_a_neural_track_and_an_mpeg4_track_patches_the_right_tracks(sources, tools, tmp_path):
    if not (tools["mkvmerge"] and tools["ffmpeg"]):
        pytest.skip("mkvtoolnix and ffmpeg needed")
    attached, neural, mpeg4 = sources
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(attached), "-i", str(neural), "-i", str(mpeg4),
                 "-map", "0:t", "-map", "1:v:0", "-map", "2:v", "-c", "copy", str(out)]) == 0
    assert mkvmerge_tracks(out) == ([("video", "V_MS/VFW/FOURCC"), ("video", "V_MPEG4/ISO/ASP")], 1)
    # The MPEG-4 track is still MPEG-4 to ffmpeg, and decodes; the neural one is refused cleanly.
    counted = run_tool("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:1", "-show_entries",
                       "stream=codec_name,nb_read_frames", "-of", "json", str(out))
    assert json.loads(counted.stdout)["streams"] == [{"codec_name": "mpeg4", "nb_read_frames": "6"}]
    assert run_tool("ffmpeg", "-v", "error", "-i", str(out), "-map", "0:v:0", "-f", "null", "-").returncode != 0
    with container.open(out) as f:
        assert [(t.codec, t.is_neural) for t in f.streams if t.type == "video"] == [("zlibv", True), ("mpeg4", False)]
    assert media.packets(out, 1) == media.packets(mpeg4, 0)  # attachments read back last


def test_an_attachment_first_then_a_neural_encode_is_written_not_an_index_error(sources, tools, tmp_path):
    if not tools["mkvmerge"]:
        pytest.skip("mkvtoolnix not installed")
    attached, _, _ = sources
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(attached), "-map", "0:t", "-map", "0:v:0", "-c:v", "zlibv", str(out)]) == 0
    assert mkvmerge_tracks(out) == ([("video", "V_MS/VFW/FOURCC")], 1)
    with container.open(out) as f:
        video = [t for t in f.streams if t.type == "video"]
        assert [t.codec for t in video] == ["zlibv"]
        assert sum(1 for _ in f.decode(video[0])) == 6


def test_neural_tracks_after_attachments_added_through_the_writer_are_patched(tmp_path):
    out = tmp_path / "out.mkv"
    with container.open(out, "w") as writer:
        writer.add_attachment("a.txt", "text/plain", b"first")
        video = writer.add_stream("zlibv", 25, width=16, height=16)
        writer.add_attachment("b.txt", "text/plain", b"second")
        audio = writer.add_stream("zliba", 16000, layout="mono", sample_format="s16")
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        frame.pts, frame.time_base = 0, Fraction(1, 25)
        writer.mux(video.encode(frame))
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 320), np.int16), format="s16", layout="mono")
        sound.sample_rate, sound.pts = 16000, 0
        writer.mux(audio.encode(sound))
        for stream in (video, audio):
            writer.mux(stream.encode(None))
    with open(out, "rb") as f:
        assert [e.codec_id for e in ebml.read_tracks(f)] == [carrier.VIDEO_CODEC_ID, carrier.AUDIO_CODEC_ID]
        assert ebml.tracks_crc_valid(f)


def test_a_file_whose_patch_did_not_take_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    # A patch that writes nothing: the read-back check must catch it before the rename.
    monkeypatch.setattr(ebml, "patch_codec_ids", lambda f, new_ids: None)
    out = tmp_path / "out.mkv"
    writer = container.open(out, "w")
    stream = writer.add_stream("zlibv", 25, width=16, height=16)
    frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
    writer.mux(stream.encode(frame))
    writer.mux(stream.encode(None))
    with pytest.raises(InvalidDataError, match="CodecID 'V_MPEG4/ISO/ASP', expected 'V_MS/VFW/FOURCC'"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_a_patch_that_breaks_the_tracks_crc_is_refused(tmp_path, monkeypatch):
    original = ebml.patch_codec_ids

    def patch_and_damage(f, new_ids):
        original(f, new_ids)
        _, data, _ = ebml._find_tracks(f)
        f.seek(data + 2)
        crc = f.read(1)
        f.seek(data + 2)
        f.write(bytes([crc[0] ^ 0xFF]))

    monkeypatch.setattr(ebml, "patch_codec_ids", patch_and_damage)
    writer = container.open(tmp_path / "out.mkv", "w")
    stream = writer.add_stream("zlibv", 25, width=16, height=16)
    writer.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")))
    writer.mux(stream.encode(None))
    with pytest.raises(InvalidDataError, match="CRC-32"):
        writer.close()
    assert list(tmp_path.iterdir()) == []
