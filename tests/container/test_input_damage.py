"""Truncated and damaged inputs: what was lost is said (track, time, packets), as ffmpeg prints
an error line; exit status 0 by default, 1 and no output with -xerror (issue 26.10)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest

from neuralav import container
from neuralav.container.damage import DamageWarning
from neuralav.container.pipeline import StreamChoice, transcode

from . import media

NEURALAV = Path(sys.executable).parent / "neuralav"
FRAMES = 50


@pytest.fixture(scope="module")
def neural(tmp_path_factory):
    """2 s of H.264 coded as zlibv next to the source's Opus, in Matroska (50 frames)."""
    folder = tmp_path_factory.mktemp("damage")
    source = media.make_clip(folder / "source.mkv", frames=FRAMES)
    path = folder / "neural.mkv"
    transcode([source], path, maps=["0:v", "0:a"], codecs=[StreamChoice("v", "zlibv"), StreamChoice("a", "copy")])
    return path


def _video_packets(path) -> list[tuple[int, int]]:
    """(pts in ms, byte position) of each packet of the first video track, read by PyAV alone."""
    with av.open(str(path)) as f:
        return [(int(p.pts), p.pos) for p in f.demux(f.streams.video[0]) if p.size]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEURALAV), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def truncated(neural, tmp_path_factory):
    path = tmp_path_factory.mktemp("truncated") / "truncated.mkv"
    data = neural.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


@pytest.fixture(scope="module")
def damaged(neural, tmp_path_factory):
    """The 25th zlibv packet's block header overwritten: the demuxer skips to the next block it can parse."""
    path = tmp_path_factory.mktemp("damaged") / "damaged.mkv"
    data = bytearray(neural.read_bytes())
    _, position = _video_packets(neural)[24]
    data[position - 4:position] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


def test_decode_of_a_truncated_file_names_each_track_the_time_and_the_packets_lost(truncated, tmp_path):
    kept = _video_packets(truncated)
    assert 0 < len(kept) < FRAMES  # a real truncation: some of the 50 frames are gone
    result = _run("decode", str(truncated), str(tmp_path / "out.mkv"))
    assert result.returncode == 0, result.stderr  # as ffmpeg: the error is reported, the run goes on
    lines = [line for line in result.stderr.splitlines() if line.startswith("neuralav decode: error:")]
    video = [line for line in lines if "track #0 (zlibv)" in line]
    assert len(video) == 1, result.stderr
    match = re.search(r"about (\d+) packets lost from ([\d.]+) s to its end at 2\.000 s \(the file is truncated: "
                      r"(\d+) of (\d+) bytes\)", video[0])
    assert match, video[0]
    assert int(match.group(1)) == FRAMES - len(kept)
    assert float(match.group(2)) == pytest.approx((kept[-1][0] + 40) / 1000)
    assert int(match.group(3)) == truncated.stat().st_size
    assert any("track #1 (opus)" in line for line in lines)
    with av.open(str(tmp_path / "out.mkv")) as out:
        assert sum(1 for _ in out.decode(video=0)) == len(kept)


def test_decode_of_a_damaged_file_names_the_hole(damaged, neural, tmp_path):
    kept = [pts for pts, _ in _video_packets(damaged)]
    missing = sorted({pts for pts, _ in _video_packets(neural)} - set(kept))
    assert missing  # the demuxer really dropped packets
    result = _run("decode", str(damaged), str(tmp_path / "out.mkv"))
    assert result.returncode == 0, result.stderr
    video = [line for line in result.stderr.splitlines() if "track #0 (zlibv)" in line]
    assert video == [f"neuralav decode: error: `{damaged}` track #0 (zlibv): {len(missing)} packet"
                     f"{'s' if len(missing) > 1 else ''} lost from {missing[0] / 1000:.3f} s to "
                     f"{(missing[-1] + 40) / 1000:.3f} s (damaged data the demuxer skipped)"]


def test_xerror_stops_at_the_first_damage_with_status_1_and_no_output(truncated, tmp_path):
    out = tmp_path / "out.mkv"
    result = _run("decode", "-xerror", str(truncated), str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("neuralav decode: error: ")
    assert "lost from" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    result = _run("transcode", "-xerror", "-i", str(truncated), "-map", "0:a", "-c", "copy", str(out))
    assert result.returncode == 1 and "track #1 (opus)" in result.stderr and not out.exists()


def test_an_intact_file_reports_nothing(neural, tmp_path):
    result = _run("decode", "-xerror", str(neural), str(tmp_path / "out.mkv"))
    assert result.returncode == 0 and "error" not in result.stderr, result.stderr
    with container.open(neural) as f:
        assert sum(1 for _ in f.demux()) > FRAMES and f.damage == []


def test_probe_and_the_reader_report_the_damage(damaged, truncated):
    with pytest.warns(DamageWarning, match=r"track #0 \(zlibv\)"), container.open(damaged) as f:
        list(f.demux())
    assert len(f.damage) >= 1
    result = _run("probe", "--json", str(truncated))
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert info["damage"] and all(line in result.stderr for line in info["damage"])


def test_a_variable_frame_rate_file_is_not_reported_as_damaged(tmp_path):
    """Irregular timestamps are no holes: only a regular packet step makes a gap a loss."""
    path = tmp_path / "vfr.mkv"
    times = [0, 40, 80, 200, 240, 250, 400, 440, 480, 900, 940, 1000]  # ms
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"bf": "0"})
        video.width, video.height, video.pix_fmt = media.WIDTH, media.HEIGHT, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        for ms, image in zip(times, media.video_frames(len(times))):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    assert [pts for pts, _ in _video_packets(path)] == times
    with container.open(path) as f:
        assert sum(1 for _ in f.demux()) == len(times)
        assert f.damage == []


def test_damage_the_decoder_conceals_is_found_by_the_cluster_crc(tmp_path):
    """Flipped bytes inside an H.264 packet: libavcodec conceals them and every packet is there,
    but the Cluster's CRC-32 (which FFmpeg's muxer writes) no longer matches."""
    source = media.make_clip(tmp_path / "source.mkv", frames=FRAMES)
    with av.open(str(source)) as f:
        packets = [(p.pos, p.size, float(p.pts * p.time_base)) for p in f.demux(f.streams.video[0]) if p.size]
    position, size, _ = packets[30]
    data = bytearray(source.read_bytes())
    for i in range(position + size // 2, position + size // 2 + 8):
        data[i] ^= 0x55
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out.mkv"
    result = _run("transcode", "-i", str(damaged), "-map", "0:v", "-c:v", "libx264", str(out))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and re.fullmatch(
        rf"neuralav transcode: error: `{re.escape(str(damaged))}`: the Cluster at byte \d+ \(packets from "
        r"[\d.]+ s\) fails its CRC-32: its data is damaged", lines[0]), result.stderr
    with av.open(str(out)) as f:
        assert sum(1 for _ in f.decode(video=0)) == FRAMES  # nothing was dropped: only the CRC tells
    with container.open(source) as f:
        list(f.demux())
        assert f.damage == []
