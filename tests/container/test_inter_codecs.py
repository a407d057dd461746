"""A stateful (inter-frame) neural track in Matroska: keyframe flags, seeking, damaged and missing
P-frames, through the pipeline and the command line (issue 28.4).

The track is coded with ``zlibp``, the example plugin's lossless inter codec (keyframes every
``g`` frames, P-frames as the difference from the previous frame), so every decoded frame can
be compared with its source exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container.errors import PacketDecodeError
from neuralav.container.pipeline import StreamChoice, transcode

from .conftest import run_tool

NEURALAV = Path(sys.executable).parent / "neuralav"
FRAMES, FPS, GOP = 25, 25, 6
KEYFRAMES = [0, 6, 12, 18, 24]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """1 s of FFmpeg's testsrc (160x120, 25 fps), coded losslessly (FFV1, yuv420p), in Matroska."""
    path = tmp_path_factory.mktemp("inter") / "source.mkv"
    result = run_tool("ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate={FPS}:duration=1",
                      "-c:v", "ffv1", "-pix_fmt", "yuv420p", str(path))
    assert result.returncode == 0, result.stderr
    return path


def frames_of(path: Path) -> list[tuple[int, np.ndarray]]:
    """(pts in ms, yuv420p planes) of each frame of the file's first video track, decoded by PyAV."""
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return [(int(round(frame.pts * frame.time_base * 1000)), frame.to_ndarray(format="yuv420p"))
                for frame in f.decode(stream)]


@pytest.fixture(scope="module")
def neural(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inter") / "neural.mkv"
    transcode([source], path, codecs=[StreamChoice("v", "zlibp")], codec_options=[StreamChoice("v", f"g={GOP}")])
    return path


def neural_packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as f:
        return [p for p in f.demux(f.streams.video[0]) if p.size]


def test_keyframes_every_g_frames_are_flagged_for_pyav_ffprobe_and_mkvinfo(neural):
    packets = neural_packets(neural)
    assert len(packets) == FRAMES
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == KEYFRAMES
    assert max(p.size for i, p in enumerate(packets) if i not in KEYFRAMES) < packets[0].size
    probe = run_tool("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=flags",
                     "-of", "json", str(neural))
    assert probe.returncode == 0, probe.stderr
    flags = [p["flags"] for p in json.loads(probe.stdout)["packets"]]
    assert [i for i, f in enumerate(flags) if f.startswith("K")] == KEYFRAMES
    info = run_tool("mkvinfo", "-v", str(neural))
    assert info.returncode == 0 and info.stdout.count("key, track number 1") == len(KEYFRAMES)
    assert 'FourCC: 0x5a4c4250 "ZLBP"' in info.stdout


def test_a_whole_stream_decodes_losslessly_through_the_reader_and_decode(neural, source, tmp_path):
    expected = frames_of(source)
    with container.open(neural) as f:
        decoded = [(int(round(frame.pts * frame.time_base * 1000)), frame.to_ndarray(format="yuv420p"))
                   for frame in f.decode(video=0)]
    out = tmp_path / "back.mkv"
    result = subprocess.run([str(NEURALAV), "decode", "-c:v", "ffv1", str(neural), str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for frames in (decoded, frames_of(out)):
        assert [t for t, _ in frames] == [t for t, _ in expected]
        for (_, a), (_, b) in zip(frames, expected):
            np.testing.assert_array_equal(a, b)


def test_seeking_into_a_gop_decodes_from_its_keyframe_and_drops_the_frames_before(neural, source, tmp_path):
    out = tmp_path / "cut.mkv"
    transcode([neural], out, codecs=[StreamChoice("v", "ffv1")], start=0.4)  # frame 10; its GOP starts at 6
    expected = frames_of(source)[10:]
    cut = frames_of(out)
    assert [t for t, _ in cut] == [t - 400 for t, _ in expected]
    for (_, a), (_, b) in zip(cut, expected):
        np.testing.assert_array_equal(a, b)
    with container.open(neural) as f:
        f.seek(0.4)
        first = next(iter(f.decode(video=0)))
        assert round(first.pts * first.time_base * 1000) == 240  # the keyframe before 0.4 s


def test_seeking_finds_the_keyframe_of_an_inter_track_that_is_not_the_first_video_track(source, neural, tmp_path):
    """FFmpeg's cues index the first video track (here H.264 with keyframes every 5 frames): -ss 0.42
    lands on its keyframe at 0.40, after zlibp's keyframe at 0.24; the reader lands g frames earlier."""
    both = tmp_path / "both.mkv"
    transcode([source, neural], both, maps=["0:v", "1:v"], codecs=[StreamChoice("v:0", "libx264"),
                                                                   StreamChoice("v:1", "copy")],
              codec_options=[StreamChoice("v:0", "g=5")])
    out = tmp_path / "cut.mkv"
    transcode([both], out, maps=["0:v:1"], codecs=[StreamChoice("v", "ffv1")], start=0.42)
    expected = frames_of(source)[11:]
    cut = frames_of(out)
    assert len(cut) == len(expected) == 14
    for (_, a), (_, b) in zip(cut, expected):
        np.testing.assert_array_equal(a, b)


def test_a_seek_drops_the_decoder_s_reference(neural):
    """After a seek the decoder holds no reference: a P-frame fed to it is refused, even the one
    that would have followed the frames decoded before the seek."""
    packets = neural_packets(neural)
    with container.open(neural) as f:
        track = f.streams[0]
        for packet in packets[:4]:
            f.decode_packet(track, packet)
        f.seek(0.0)
        with pytest.raises(PacketDecodeError, match=r"packet at 0\.160 s failed to decode: `zlibp` P-frame 4 "
                                                    r"cannot be decoded: its reference \(frame 3\) was not decoded"):
            f.decode_packet(track, packets[4])


@pytest.fixture(scope="module")
def damaged(neural, tmp_path_factory) -> Path:
    """P-frame 8 (0.32 s) with the end of its zlib stream zeroed."""
    path = tmp_path_factory.mktemp("inter-damaged") / "damaged.mkv"
    data = bytearray(neural.read_bytes())
    packet = neural_packets(neural)[8]
    data[packet.pos + packet.size - 40:packet.pos + packet.size] = bytes(40)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def missing(source, tmp_path_factory) -> Path:
    """The zlibp track with P-frame 8 (0.32 s) left out, as a file that lost it would read."""
    path = tmp_path_factory.mktemp("inter-missing") / "missing.mkv"
    with av.open(str(source)) as f, container.open(path, "w") as out:
        video = out.add_stream("zlibp", rate=FPS, width=160, height=120, options={"g": GOP})
        for number, frame in enumerate(f.decode(video=0)):
            packets = video.encode(frame)
            if number != 8:
                out.mux(packets)
    return path


def _decode_cli(path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEURALAV), "decode", *extra, "-c:v", "ffv1", str(path), str(out)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind, cause", [
    ("damaged", "packet at 0.320 s failed to decode: zlib payload decodes to more than 28800 bytes"),
    ("missing", "packet at 0.360 s failed to decode: `zlibp` P-frame 9 follows frame 7: 1 packet is missing"),
])
def test_a_broken_chain_stops_decoding_with_one_line(kind, cause, request, tmp_path):
    out = tmp_path / "out.mkv"
    result = _decode_cli(request.getfixturevalue(kind), out)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "failed to decode" in line]
    assert len(errors) == 1 and cause in errors[0], result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize("kind, lost", [("damaged", [8, 9, 10, 11]), ("missing", [9, 10, 11])])
def test_ignore_errors_resumes_at_the_next_keyframe_and_reports_each_lost_frame(kind, lost, request, source,
                                                                               tmp_path):
    out = tmp_path / "out.mkv"
    result = _decode_cli(request.getfixturevalue(kind), out, "--ignore-errors")
    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.endswith("(skipped)")]
    assert [f"packet at {n * 0.04:.3f} s" in line for n, line in zip(lost, skipped)] == [True] * len(lost)
    assert len(skipped) == len(lost)
    assert all("frames are lost until the next keyframe" in line for line in skipped[1:])
    assert f"{len(lost)} packet(s) failed to decode and were skipped" in result.stdout + result.stderr
    expected = [frame for number, frame in enumerate(frames_of(source)) if number not in lost and number != 8]
    decoded = frames_of(out)
    assert [t for t, _ in decoded] == [t for t, _ in expected]  # frames 12.. again, never one from a wrong reference
    for (_, a), (_, b) in zip(decoded, expected):
        np.testing.assert_array_equal(a, b)
