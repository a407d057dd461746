"""Writing neural tracks next to standard ones and reading them back: PyAV, ffprobe, mkvinfo."""

from __future__ import annotations

import json
import struct
import zlib
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container import carrier, ebml
from neuralav.registry import CodecHeader, InvalidDataError

from . import media
from .conftest import run_tool


def write_mixed(path, frames=6, samples_per_frame=640, rate=16000, **kwargs):
    """H.264 + zlibv video, zliba + Opus audio, from the same frames; returns (images, audio)."""
    images = media.video_frames(frames)
    audio = media.tone(frames * samples_per_frame, rate)
    with container.open(path, "w", **kwargs) as out:
        h264 = out.add_stream("libx264", media.FPS, width=media.WIDTH, height=media.HEIGHT)
        zv = out.add_stream("zlibv", media.FPS, width=media.WIDTH, height=media.HEIGHT)
        za = out.add_stream("zliba", rate, layout="mono", sample_format="s16")
        opus = out.add_stream("libopus", rate, layout="mono")
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(h264.encode(frame))
            out.mux(zv.encode(frame))
            chunk = audio[:, i * samples_per_frame:(i + 1) * samples_per_frame]
            sound = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = rate, i * samples_per_frame, Fraction(1, rate)
            out.mux(za.encode(sound))
            out.mux(opus.encode(sound))
        for stream in out.streams:
            out.mux(stream.encode(None))
    return images, audio


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("mixed") / "mixed.mkv"
    images, audio = write_mixed(path)
    return path, images, audio


def test_neural_tracks_read_back_losslessly_with_exact_timestamps(mixed):
    path, images, audio = mixed
    with container.open(path) as f:
        assert [(t.type, t.codec, t.is_neural) for t in f.streams] == [
            ("video", "h264", False), ("video", "zlibv", True), ("audio", "zliba", True), ("audio", "opus", False)]
        video = list(f.decode(f.streams[1]))
    assert [frame.pts for frame in video] == [i * 40 for i in range(len(images))]
    for frame, image in zip(video, images):
        np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), image)
    with container.open(path) as f:
        sound = list(f.decode(audio=0))
    assert all(frame.time_base == Fraction(1, 16000) for frame in sound)
    assert [frame.pts for frame in sound] == [i * 640 for i in range(len(sound))]
    np.testing.assert_array_equal(np.concatenate([s.to_ndarray() for s in sound], axis=1), audio)


def test_neural_track_is_vfw_or_acm_with_codec_header_in_codec_private(mixed):
    path, _, _ = mixed
    with open(path, "rb") as f:
        entries = ebml.read_tracks(f)
    assert [e.codec_id for e in entries] == ["V_MPEG4/ISO/AVC", "V_MS/VFW/FOURCC", "A_MS/ACM", "A_OPUS"]
    video = carrier.parse_codec_private(entries[1].codec_id, entries[1].codec_private)
    assert video.codec == "zlibv" and video.fourcc == "ZLBV"
    assert struct.unpack("<I", entries[1].codec_private[:4])[0] == 40 + len(video.header)
    audio = carrier.parse_codec_private(entries[2].codec_id, entries[2].codec_private)
    assert struct.unpack("<H", entries[2].codec_private[:2])[0] == carrier.NEURAL_FORMAT_TAG
    assert CodecHeader.from_bytes(audio.header).fields["sample_rate"] == 16000
    assert "needs the neuralav `zlibv` plugin" in entries[1].name


def test_tracks_crc32_is_valid_after_the_codec_id_patch(mixed):
    path, _, _ = mixed
    data = path.read_bytes()
    with open(path, "rb") as f:
        _, tracks_data, tracks_size = ebml._find_tracks(f)
    assert data[tracks_data] == ebml.CRC32 and data[tracks_data + 1] == 0x84
    stored = struct.unpack("<I", data[tracks_data + 2:tracks_data + 6])[0]
    assert stored == zlib.crc32(data[tracks_data + 6:tracks_data + tracks_size])


def test_standard_tracks_are_default_and_neural_ones_are_not(mixed):
    path, _, _ = mixed
    with av.open(str(path)) as f:
        defaults = [bool(s.disposition & av.stream.Disposition.default) for s in f.streams]
    assert defaults == [True, False, False, True]


def test_ffprobe_lists_every_track_and_sees_neural_ones_as_unknown(mixed, tools):
    if not tools["ffprobe"]:
        pytest.skip("ffprobe not installed")
    path, _, _ = mixed
    result = run_tool("ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path))
    assert result.returncode == 0 and result.stderr == ""
    streams = json.loads(result.stdout)["streams"]
    assert [(s["codec_type"], s.get("codec_name")) for s in streams] == [
        ("video", "h264"), ("video", None), ("audio", None), ("audio", "opus")]
    assert streams[1]["codec_tag_string"] == "ZLBV"
    assert streams[1]["tags"]["NEURALAV_CODEC"] == "zlibv"


def test_ffmpeg_decodes_the_standard_tracks_and_refuses_the_neural_one_cleanly(mixed, tools, tmp_path):
    if not tools["ffmpeg"]:
        pytest.skip("ffmpeg not installed")
    path, _, _ = mixed
    assert run_tool("ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-").returncode == 0
    neural = run_tool("ffmpeg", "-v", "error", "-i", str(path), "-map", "0:1", "-f", "null", "-")
    assert neural.returncode != 0 and "decoder" in neural.stderr.lower()


def test_mkvinfo_and_mkvmerge_read_the_file_without_errors(mixed, tools):
    if not (tools["mkvinfo"] and tools["mkvmerge"]):
        pytest.skip("mkvtoolnix not installed")
    path, _, _ = mixed
    info = run_tool("mkvinfo", str(path))
    assert info.returncode == 0
    assert 'FourCC: 0x5a4c4256 "ZLBV"' in info.stdout and "format tag: 0x4e41" in info.stdout
    report = json.loads(run_tool("mkvmerge", "-J", str(path)).stdout)
    assert report["errors"] == [] and len(report["tracks"]) == 4


def test_a_neural_codec_is_refused_for_a_non_matroska_output(tmp_path):
    out = container.open(tmp_path / "x.mp4", "w")
    with pytest.raises(container.UnsupportedOutputError, match="needs a Matroska output"):
        out.add_stream("zlibv", 25, width=16, height=16)
    with pytest.raises(container.UnsupportedOutputError, match="no streams"):
        out.close()
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_overwrite(tmp_path):
    target = tmp_path / "out.mkv"
    target.write_bytes(b"precious")
    with pytest.raises(container.OutputExistsError, match="use -y"):
        container.open(target, "w")
    assert target.read_bytes() == b"precious"


def test_output_in_a_missing_folder_or_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(container.OutputPathError, match="does not exist"):
        container.open(tmp_path / "nowhere" / "out.mkv", "w")
    with pytest.raises(container.OutputPathError, match="is a folder"):
        container.open(tmp_path, "w", overwrite=True)


def test_an_error_while_writing_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError):
        with container.open(tmp_path / "out.mkv", "w") as out:
            stream = out.add_stream("zlibv", 25, width=16, height=16)
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_seek_restarts_each_track_at_its_last_keyframe_before_the_target(clip, tmp_path):
    # H.264 with a keyframe every 5 frames (200 ms) next to an all-keyframe neural track.
    from neuralav.container.pipeline import transcode

    out = tmp_path / "both.mkv"
    transcode([clip], out, maps=["0:v", "0:v"], codecs=[container.pipeline.StreamChoice("1", "zlibv")])
    with container.open(out) as f:
        f.seek(0.33)
        first = {}
        for packet in f.demux(f.streams):
            first.setdefault(packet.stream.index, (int(packet.pts * packet.time_base * 1000), packet.is_keyframe))
    assert first == {0: (200, True), 1: (320, True)}


def test_truncated_or_foreign_headers_raise_invalid_data(mixed, tmp_path):
    path, _, _ = mixed
    short = tmp_path / "short.mkv"
    short.write_bytes(path.read_bytes()[:120])
    with pytest.raises((InvalidDataError, container.InputError)):
        container.open(short)
    with open(short, "rb") as f, pytest.raises(InvalidDataError):
        ebml.read_tracks(f)
    text = tmp_path / "notes.mkv"
    text.write_text("not a video")
    with pytest.raises(container.InputError, match="notes.mkv"):
        container.open(text)


def test_mkvmerge_remux_keeps_neural_tracks_decodable(mixed, tools, tmp_path):
    if not tools["mkvmerge"]:
        pytest.skip("mkvtoolnix not installed")
    path, images, _ = mixed
    remuxed = tmp_path / "remuxed.mkv"
    assert run_tool("mkvmerge", "-q", "-o", str(remuxed), str(path)).returncode == 0
    with container.open(remuxed) as f:
        assert [t.codec for t in f.streams] == ["h264", "zlibv", "zliba", "opus"]
        video = list(f.decode(f.streams[1]))
    assert len(video) == len(images)
    np.testing.assert_array_equal(video[-1].to_ndarray(format="rgb24"), images[-1])
