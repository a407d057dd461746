"""`container.open("-", "w", format=...)`: the library's way to stdout is the one Writer (issue 31)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neuralav import container
from neuralav.container.errors import UnsupportedOutputError

from .ffmpeg_media import FFMPEG, needs_ffmpeg

WRITE_TO_STDOUT = """
import av, numpy as np, sys
from fractions import Fraction
from neuralav import container
with container.open("-", "w", format=sys.argv[1]) as out:
    video = out.add_stream(sys.argv[2], 25, width=64, height=48)
    for i in range(5):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
"""


@needs_ffmpeg
@pytest.mark.parametrize("format, codec", [("nut", "ffv1"), ("matroska", "zlibv")])
def test_dash_is_standard_output_for_the_writer(format, codec):
    run = subprocess.run([sys.executable, "-c", WRITE_TO_STDOUT, format, codec], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    if codec == "zlibv":  # neural: read back by neuralav itself, from a pipe
        probe = subprocess.run([sys.executable, "-m", "neuralav.container.cli", "probe", "-"], input=run.stdout,
                               capture_output=True, timeout=120)
        assert probe.returncode == 0 and b"zlibv" in probe.stdout, probe.stderr
        return
    frames = subprocess.run([FFMPEG, "-loglevel", "error", "-i", "-", "-f", "framemd5", "-"], input=run.stdout,
                            capture_output=True, timeout=120)
    assert frames.returncode == 0, frames.stderr
    assert sum(1 for line in frames.stdout.decode().splitlines() if line.startswith("0,")) == 5


def test_dash_without_a_format_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsupportedOutputError, match="needs its format named"):
        container.open("-", "w")
    assert not list(tmp_path.iterdir())  # no file named "-" either
