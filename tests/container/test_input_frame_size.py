"""A neural video packet must code the frame size its track header states (issue 27, item 4).

PyAV scales every frame to its encoder's size, so a header claiming 16384x2048 over packets
of 96x64 would turn a few kilobytes into gigabytes of picture. The reader refuses such a
packet from its prefix, before any decoder runs; the writer scales frames to the track's
size, so files it writes always pass.
"""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container.errors import PacketDecodeError
from neuralav.container.writer import Writer


def _frame(width: int, height: int, pts: int) -> av.VideoFrame:
    rng = np.random.default_rng(pts)
    frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (height, width, 3), np.uint8), format="rgb24")
    frame.pts = pts
    return frame


@pytest.fixture()
def lying_header(tmp_path):
    """A zlibv track whose header says 16384x2048 and whose packets code 96x64 frames."""
    path = tmp_path / "lying.mkv"
    with Writer(path) as writer:
        stream = writer.add_stream("zlibv", 25, width=16384, height=2048)
        for pts in range(3):
            packets = stream.encoder.encode(_frame(96, 64, pts))  # around the writer's scaling
            for packet in packets:
                packet.stream = stream.av_stream
            writer.mux(packets)
    return path


def test_a_packet_smaller_than_its_track_header_is_refused_before_decoding(lying_header):
    with container.open(lying_header) as f:
        (track,) = f.streams
        assert (track.width, track.height) == (16384, 2048)
        with pytest.raises(PacketDecodeError, match="96x64 frame, but the track header says 16384x2048"):
            list(f.decode(track))


def test_decoding_the_lying_file_is_one_line_and_allocates_nothing_big(lying_header, tmp_path):
    out = tmp_path / "out.mkv"
    # Peak RSS from VmHWM, which a new program image starts afresh (ru_maxrss would carry
    # over the forking test process's own peak).
    script = ("import re, sys\n"
              "from neuralav.container.cli import main\n"
              f"code = main(['decode', {str(lying_header)!r}, {str(out)!r}])\n"
              "status = open('/proc/self/status').read()\n"
              "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1), file=sys.stderr)\n"
              "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert any("16384x2048" in line and "96x64" in line for line in lines), result.stderr
    assert int(lines[-1]) < 1_000_000  # peak RSS in KiB: far below the 2.7 GB a stretched video took
    assert not out.exists()


def test_the_writer_scales_frames_to_the_track_size(tmp_path):
    path = tmp_path / "scaled.mkv"
    with Writer(path) as writer:
        stream = writer.add_stream("zlibv", 25, width=64, height=48)
        writer.mux(stream.encode(_frame(64, 48, 0)))
        writer.mux(stream.encode(_frame(32, 24, 1)))  # a source whose size changed mid-stream
        writer.mux(stream.encode(None))
    with container.open(path) as f:
        frames = list(f.decode(f.streams[0]))
    assert [(fr.width, fr.height) for fr in frames] == [(64, 48), (64, 48)]
    assert [fr.pts for fr in frames] == [0, 40]
