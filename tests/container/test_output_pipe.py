"""Neural Matroska written to a pipe: track entries patched on their way out (issue 31.2, writer side).

Before, the writer could only write a seekable file and patch its CodecIDs after the mux.
Here the same streams go to a file and to a real pipe (a `cat` or `ffmpeg` process reading
it); the pipe's bytes must decode to the same frames, read as live Matroska by ffprobe and
mkvtoolnix (no Cues, no Duration, Segment of unknown size).
"""

from __future__ import annotations

import io
import json
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container import carrier, ebml
from neuralav.registry import InvalidDataError

from . import media
from .conftest import run_tool

FRAMES = 8


def write(target, **kwargs) -> None:
    """FFV1 + zlibv + zliba of the same frames, to a path or a file object.

    FFV1 (lossless) rather than libx264: two libx264 runs on the same frames do not always
    give the same bytes, and the test compares two runs.
    """
    audio = media.tone(FRAMES * 640, 16000)
    with container.open(target, "w", **kwargs) as out:
        standard = out.add_stream("ffv1", media.FPS, width=media.WIDTH, height=media.HEIGHT)
        video = out.add_stream("zlibv", media.FPS, width=media.WIDTH, height=media.HEIGHT)
        sound = out.add_stream("zliba", 16000, layout="mono", sample_format="s16")
        for i, image in enumerate(media.video_frames(FRAMES)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(standard.encode(frame))
            out.mux(video.encode(frame))
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i * 640:(i + 1) * 640]), format="s16",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = 16000, i * 640
            out.mux(sound.encode(chunk))
        for stream in (standard, video, sound):
            out.mux(stream.encode(None))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(the file written to disk, the bytes written to a pipe, saved by the `cat` reading it)."""
    folder = tmp_path_factory.mktemp("pipe")
    disk, piped = folder / "disk.mkv", folder / "piped.mkv"
    write(disk)
    with open(piped, "wb") as saved:
        reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=saved)
        write(reader.stdin, format="matroska")
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0
    return disk, piped


def decoded(path):
    with container.open(path) as f:
        video = [frame.to_ndarray(format="rgb24") for frame in f.decode(f.streams[1])]
    with container.open(path) as f:
        sound = np.concatenate([frame.to_ndarray() for frame in f.decode(f.streams[2])], axis=1)
    return video, sound


def test_the_bytes_sent_to_a_pipe_decode_to_the_same_frames_as_the_file(written):
    disk, piped = written
    video, sound = decoded(piped)
    assert len(video) == FRAMES
    reference_video, reference_sound = decoded(disk)
    for a, b in zip(video, reference_video):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sound, reference_sound)
    for index in range(3):
        assert media.packets(piped, index) == media.packets(disk, index)
    assert media.decode_video(piped)[-1][0] == media.decode_video(disk)[-1][0]


def test_the_piped_file_is_live_matroska_with_its_neural_tracks_patched(written, tools):
    if not (tools["mkvinfo"] and tools["mkvmerge"] and tools["ffprobe"]):
        pytest.skip("mkvtoolnix and ffprobe needed")
    _, piped = written
    with open(piped, "rb") as f:
        assert [e.codec_id for e in ebml.read_tracks(f)] == ["V_FFV1", carrier.VIDEO_CODEC_ID,
                                                             carrier.AUDIO_CODEC_ID]
        assert ebml.tracks_crc_valid(f)
    info = run_tool("mkvinfo", str(piped)).stdout
    assert "Segment: size unknown" in info and "Cues" not in info and "+ Duration" not in info
    report = json.loads(run_tool("mkvmerge", "-J", str(piped)).stdout)
    assert report["errors"] == [] and report["warnings"] == []
    probe = run_tool("ffprobe", "-v", "error", "-of", "json", "-show_streams", str(piped))
    assert probe.returncode == 0 and probe.stderr == ""
    assert [s.get("codec_tag_string") for s in json.loads(probe.stdout)["streams"]][1] == "ZLBV"


def test_ffmpeg_reading_the_pipe_decodes_the_standard_track_as_from_the_file(written, tools):
    if not tools["ffmpeg"]:
        pytest.skip("ffmpeg not installed")
    disk, _ = written
    command = ["ffmpeg", "-v", "error", "-i", "-", "-map", "0:0", "-f", "framemd5", "-"]
    reader = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with reader:
        write(reader.stdin, format="matroska")
        reader.stdin.close()
        from_pipe, errors = reader.stdout.read(), reader.stderr.read()
    assert (reader.returncode, errors) == (0, b"")
    from_file = subprocess.run(["ffmpeg", "-v", "error", "-i", str(disk), "-map", "0:0", "-f", "framemd5", "-"],
                               capture_output=True, check=True).stdout
    frames = [line for line in from_pipe.splitlines() if not line.startswith(b"#")]
    assert len(frames) == FRAMES and frames == [line for line in from_file.splitlines() if not line.startswith(b"#")]


def test_a_header_that_fails_its_check_never_leaves_the_writer(monkeypatch):
    monkeypatch.setattr(ebml, "patch_codec_ids", lambda f, new_ids: None)
    sink = io.BytesIO()
    with pytest.raises(InvalidDataError, match="expected 'V_MS/VFW/FOURCC'"):
        write(sink)
    assert sink.getvalue() == b""


def test_a_file_object_without_neural_tracks_gets_the_muxers_bytes_untouched(tmp_path):
    sink = io.BytesIO()
    with container.open(sink, "w", format="matroska") as out:
        stream = out.add_stream("libx264", media.FPS, width=media.WIDTH, height=media.HEIGHT)
        frame = av.VideoFrame.from_ndarray(media.video_frames(1)[0], format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    saved = tmp_path / "plain.mkv"
    saved.write_bytes(sink.getvalue())
    assert len(media.decode_video(saved)) == 1
    assert list(p.name for p in tmp_path.iterdir()) == ["plain.mkv"]  # no temporary file anywhere
