"""What the source says is carried, as ffmpeg carries it (issue 26.7): colour properties of a
BT.2020/PQ source, track languages (neural tracks too), the start rebased to 0, and the frame
rate of a source without frame durations."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import pytest

from neuralav import container
from neuralav.container.cli import main

from .ffmpeg_media import ffmpeg, ffprobe, needs_ffmpeg, streams

pytestmark = needs_ffmpeg

COLOUR = ("color_primaries", "color_transfer", "color_space", "color_range")
HDR = {"color_primaries": "bt2020", "color_transfer": "smpte2084", "color_space": "bt2020nc", "color_range": "tv"}


def _hdr_source(path, pix_fmt="yuv420p10le"):
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
           "-t", "0.4", "-c:v", "libx264", "-pix_fmt", pix_fmt, "-color_primaries", "bt2020",
           "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv", "-c:a", "libopus",
           "-metadata:s:v", "language=eng", "-metadata:s:a", "language=fre", str(path))
    return path


def _colour(path, index=0):
    stream = streams(path)[index]
    return {key: stream.get(key) for key in COLOUR}


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_reencoding_keeps_hdr_colour_properties_and_bit_depth(tmp_path, suffix):
    source = _hdr_source(tmp_path / "hdr.mkv")
    out = tmp_path / f"out{suffix}"
    assert main(["transcode", "-i", str(source), "-map", "0:v", "-c:v", "libx264", str(out)]) == 0
    assert _colour(out) == HDR
    assert streams(out)[0]["pix_fmt"] == "yuv420p10le"  # as ffmpeg: the encoder takes the source's format


@pytest.mark.skipif(shutil.which("mkvinfo") is None, reason="mkvtoolnix not installed")
def test_a_neural_track_carries_colour_and_language_through_decode(tmp_path):
    source = _hdr_source(tmp_path / "hdr.mkv", "yuv420p")  # 8 bits: what the lossless zlibv codes
    neural, decoded = tmp_path / "n.mkv", tmp_path / "out.mp4"
    assert main(["transcode", "-i", str(source), "-c:v", "zlibv", "-c:a", "zliba", str(neural)]) == 0
    # ffprobe and PyAV show no colours for a codec they do not know: mkvinfo reads the Colour element.
    info = subprocess.run(["mkvinfo", str(neural)], capture_output=True, text=True, check=True).stdout
    for line in ("Color transfer: 16", "Color matrix coefficients: 9", "Color primaries: 9", "Color range: 1"):
        assert line in info
    with container.open(neural) as f:
        assert [t.av_stream.metadata.get("language") for t in f.streams] == ["eng", "fre"]
    assert main(["decode", str(neural), str(decoded)]) == 0
    assert _colour(decoded) == HDR
    assert [s.get("tags", {}).get("language") for s in streams(decoded)] == ["eng", "fre"]


def test_reencoded_standard_tracks_keep_language_and_title(tmp_path):
    source = tmp_path / "in.mkv"
    ffmpeg("-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "0.3", "-c:a", "libopus",
           "-metadata:s:a", "language=eng", "-metadata:s:a", "title=Commentary", str(source))
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(source), "-c:a", "flac", str(out)]) == 0
    tags = streams(out)[0]["tags"]
    assert (tags["language"], tags["title"]) == ("eng", "Commentary")


@pytest.mark.parametrize("codec", ["copy", "libx264", "zlibv"])
def test_a_source_starting_at_10_s_starts_at_0_like_ffmpeg(tmp_path, codec):
    source = tmp_path / "late.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
           "-t", "1", "-c:v", "libx264", "-c:a", "libopus", "-output_ts_offset", "10", str(source))
    assert float(ffprobe(source, "-show_format")["format"]["start_time"]) > 9.9
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(source), "-c:v", codec, "-c:a", "copy", str(out)]) == 0
    reference = tmp_path / "ref.mkv"
    ffmpeg("-i", str(source), "-c", "copy", str(reference))
    starts = [float(s["start_time"]) for s in streams(out)]
    assert starts[0] < 0.05 and abs(starts[1] - float(streams(reference)[1]["start_time"])) < 0.002
    # Audio and video keep their offset to each other (a re-encode may land on its frame grid).
    source_gap = [float(s["start_time"]) for s in streams(source)]
    assert abs((starts[0] - starts[1]) - (source_gap[0] - source_gap[1])) < (0.001 if codec == "copy" else 0.041)


@pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="mkvtoolnix not installed")
@pytest.mark.parametrize("codec", ["libx264", "zlibv"])
def test_a_60_fps_source_without_frame_durations_keeps_60_fps(tmp_path, codec):
    source = tmp_path / "s60.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=60", "-t", "0.5", "-c:v", "libx264", str(source))
    subprocess.run(["mkvpropedit", "-q", str(source), "--edit", "track:v1", "--delete", "default-duration"],
                   check=True)
    assert Fraction(streams(source)[0]["avg_frame_rate"]) != 60  # its mean packet spacing: 16 ms ticks
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(source), "-c:v", codec, str(out)]) == 0
    if codec == "zlibv":
        decoded = tmp_path / "decoded.mkv"
        assert main(["decode", str(out), str(decoded)]) == 0
        out = decoded
    assert Fraction(streams(out)[0]["avg_frame_rate"]) == 60
    times = [round(float(p["pts_time"]) * 1000) for p in ffprobe(out, "-show_frames")["frames"]]
    assert times == [round(i * 1000 / 60) for i in range(30)]
