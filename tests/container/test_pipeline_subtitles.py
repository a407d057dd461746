"""Subtitles into formats that cannot hold their codec: converted (SRT -> mov_text) or left out
with a one-line notice (PGS in MP4), as ffmpeg does (issue 26.3)."""

from __future__ import annotations

import struct
import subprocess
import sys

from neuralav.container.cli import main

from .ffmpeg_media import FFMPEG, ffmpeg, make_h264_aac_mp4, needs_ffmpeg, streams

pytestmark = needs_ffmpeg

SRT = "1\n00:00:00,200 --> 00:00:00,800\nHello <i>there</i>\n\n2\n00:00:01,000 --> 00:00:01,500\nSecond line\n"


def _pgs_segment(kind: int, data: bytes, pts: int) -> bytes:
    return b"PG" + struct.pack(">IIBH", pts, 0, kind, len(data)) + data


def _pgs_display_set(pts: int, shown: bool) -> bytes:
    """A PGS display set (90 kHz ``pts``): a 2x2 picture at (10, 10), or the empty set that clears it."""
    objects = struct.pack(">HBBHH", 0, 0, 0, 10, 10) if shown else b""
    data = _pgs_segment(0x16, struct.pack(">HHBHBBBB", 96, 64, 0x10, 0, 0x80, 0, 0, int(shown)) + objects, pts)
    data += _pgs_segment(0x17, struct.pack(">BBHHHH", 1, 0, 10, 10, 2, 2), pts)
    if shown:
        data += _pgs_segment(0x14, bytes([0, 0, 1, 235, 128, 128, 255]), pts)
        rle = b"\x01\x01\x00\x00" * 2
        data += _pgs_segment(0x15, struct.pack(">HBB", 0, 0, 0xC0) + (len(rle) + 4).to_bytes(3, "big")
                             + struct.pack(">HH", 2, 2) + rle, pts)
    return data + _pgs_segment(0x80, b"", pts)


def _neural_with_subtitles(tmp_path, kind: str):
    """A neuralav file (zlibv video, AAC copied) with SRT or PGS subtitles muxed by ffmpeg."""
    source = make_h264_aac_mp4(tmp_path / "in.mp4", seconds=2)
    if kind == "srt":
        subtitles = tmp_path / "s.srt"
        subtitles.write_text(SRT)
    else:
        subtitles = tmp_path / "s.sup"
        subtitles.write_bytes(_pgs_display_set(18000, True) + _pgs_display_set(72000, False))
    muxed = tmp_path / f"with_{kind}.mkv"
    ffmpeg("-i", str(source), "-i", str(subtitles), "-map", "0", "-map", "1", "-c", "copy", str(muxed))
    neural = tmp_path / "neural.mkv"
    assert main(["transcode", "-i", str(muxed), "-c:v", "zlibv", str(neural)]) == 0
    assert [s.get("codec_name") for s in streams(neural)][2] == ("subrip" if kind == "srt" else "hdmv_pgs_subtitle")
    return muxed, neural


def _as_srt(path) -> str:
    return subprocess.run([FFMPEG, "-loglevel", "error", "-i", str(path), "-f", "srt", "-"], capture_output=True,
                          text=True, check=True).stdout


def test_decode_to_mp4_converts_srt_to_mov_text_as_ffmpeg_does(tmp_path, capsys):
    muxed, neural = _neural_with_subtitles(tmp_path, "srt")
    out, reference = tmp_path / "out.mp4", tmp_path / "ref.mp4"
    assert main(["decode", str(neural), str(out)]) == 0
    assert [s["codec_name"] for s in streams(out)] == ["h264", "aac", "mov_text"]
    ffmpeg("-i", str(muxed), "-map", "0", "-c", "copy", "-c:s", "mov_text", str(reference))
    assert _as_srt(out) == _as_srt(reference)
    assert "Hello <i>there</i>" in _as_srt(out)


def test_decode_to_mp4_leaves_pgs_out_with_a_one_line_notice(tmp_path, capsys):
    _, neural = _neural_with_subtitles(tmp_path, "pgs")
    out = tmp_path / "out.mp4"
    # The real command: pytest would record the warning instead of letting it print.
    run = subprocess.run([sys.executable, "-m", "neuralav.container.cli", "decode", str(neural), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("neuralav decode: warning: "), run.stderr
    assert "#2 subtitle" in run.stderr and "left out" in run.stderr
    assert [s["codec_name"] for s in streams(out)] == ["h264", "aac"]


def test_an_explicit_map_of_pgs_into_mp4_is_a_one_line_error(tmp_path, capsys):
    _, neural = _neural_with_subtitles(tmp_path, "pgs")
    capsys.readouterr()
    out = tmp_path / "out.mp4"
    assert main(["decode", str(neural), str(out), "-map", "0:v", "-map", "0:s"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bitmap subtitles" in err and "Traceback" not in err, err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.mp4")]


def test_an_attachment_chosen_by_default_is_left_out_of_mp4_with_a_notice(tmp_path):
    from . import media

    clip = media.make_clip(tmp_path / "att.mkv", frames=5, with_attachment=True)
    out = tmp_path / "out.mp4"
    run = subprocess.run([sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", str(clip), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") == 1 and "attachments" in run.stderr and "left out" in run.stderr, run.stderr
    assert [s["codec_type"] for s in streams(out)] == ["video", "audio"]
