"""Inputs made by the system ``ffmpeg`` and read back by ``ffprobe``, for the pipeline tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")

needs_ffmpeg = pytest.mark.skipif(FFMPEG is None or FFPROBE is None, reason="system ffmpeg/ffprobe not installed")


def ffmpeg(*args: str) -> None:
    """Run the system ffmpeg (quiet, overwriting); fail the test with its stderr."""
    result = subprocess.run([FFMPEG, "-nostdin", "-y", "-loglevel", "error", *args], capture_output=True,
                            text=True, timeout=120)
    if result.returncode:
        pytest.fail(f"ffmpeg {' '.join(args)} failed:\n{result.stderr}")


def ffprobe(path: Path, *args: str) -> dict:
    """ffprobe's JSON for ``path`` with extra options (``-show_streams``, ``-show_packets``...)."""
    result = subprocess.run([FFPROBE, "-v", "error", "-of", "json", *args, str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def streams(path: Path) -> list[dict]:
    """ffprobe's stream list of ``path``."""
    return ffprobe(path, "-show_streams")["streams"]


def make_h264_aac_mp4(path: Path, seconds: float = 1.0, size: str = "96x64", rate: int = 25) -> Path:
    """An MP4 as libx264 makes it by default (B-frames, so dts < pts) with AAC audio."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}", "-f", "lavfi",
           "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    return path
