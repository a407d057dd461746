"""Streaming behaviour of piped outputs (issue 31.4): memory stays flat, output leaves early.

The bounds checked here are the ones ``docs/pipes.md`` states: the live Matroska header
(with the neural tracks' entries patched) leaves with the first packet muxed, and after it a
Cluster leaves once it holds one second of media (FFmpeg's limit for non-seekable outputs;
or 32 KiB, whichever comes first), so at most about 1 s of packets per stream is held.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np
import psutil
import pytest

from neuralav.container.pipe_output import open_pipe

from . import media
from .ffmpeg_media import FFMPEG, needs_ffmpeg

NEURALAV = [sys.executable, "-m", "neuralav.container.cli"]
FPS = 25


class RecordingSink:
    """A write-only pipe stand-in that notes the size of each write (and keeps nothing)."""

    def __init__(self) -> None:
        self.writes: list[int] = []

    def write(self, data: bytes) -> int:
        self.writes.append(len(data))
        return len(data)

    def flush(self) -> None:
        pass


def test_the_header_leaves_with_the_first_packet_and_a_cluster_each_second_after():
    sink = RecordingSink()
    writer = open_pipe("matroska", stream=sink)
    video = writer.add_stream("zlibv", FPS, width=media.WIDTH, height=media.HEIGHT)
    audio = writer.add_stream("zliba", 16000, layout="mono", sample_format="s16")
    muxed_at_write: list[int] = []  # how many packets had been muxed at each write
    muxed = 0
    for i, image in enumerate(media.video_frames(4 * FPS)):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, FPS)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 640), np.int16), format="s16", layout="mono")
        chunk.sample_rate, chunk.pts = 16000, i * 640
        for packet in video.encode(frame) + audio.encode(chunk):
            writes = len(sink.writes)
            writer.mux(packet)
            muxed += 1
            muxed_at_write += [muxed] * (len(sink.writes) - writes)
    writer.close()
    assert muxed_at_write[0] == 1  # the patched header went out with the first packet
    gaps = np.diff(sorted(set(muxed_at_write)))
    assert len(gaps) >= 3 and gaps.max() <= 2 * (FPS + 1), gaps  # 2 packets (video + audio) per 1/25 s


@needs_ffmpeg
def test_memory_stays_flat_over_a_long_piped_input():
    """ffmpeg generates 12 s of 320x240 noisy video (so frames do not compress away) + audio to a pipe;
    neuralav transcodes it to live Matroska on stdout; its RSS may not grow with the bytes it sends."""
    source = subprocess.Popen([FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                               f"testsrc=size=320x240:rate={FPS},noise=alls=60:allf=t", "-f", "lavfi", "-i",
                               "sine=sample_rate=16000", "-t", "12", "-c:v", "ffv1", "-pix_fmt", "yuv420p",
                               "-c:a", "pcm_s16le", "-f", "matroska", "-"], stdout=subprocess.PIPE)
    neuralav = subprocess.Popen([*NEURALAV, "transcode", "-i", "-", "-c:v", "zlibv", "-c:a", "zliba", "-f",
                                 "matroska", "-"], stdin=source.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    source.stdout.close()
    process = psutil.Process(neuralav.pid)
    written = [0]

    def drain() -> None:
        while chunk := neuralav.stdout.read1(1 << 16):
            written[0] += len(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    samples = []  # (output bytes so far, RSS bytes)
    try:
        while neuralav.poll() is None:
            try:
                samples.append((written[0], process.memory_info().rss))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
    finally:
        reader.join(timeout=300)
        err = neuralav.stderr.read().decode()
    assert neuralav.wait(timeout=60) == 0 and source.wait(timeout=60) == 0, err
    total = written[0]
    assert total > 20_000_000  # the stream is long enough for a leak of its bytes to show
    early = next(i for i, s in enumerate(samples) if s[0] >= total // 4)
    later = samples[early:]
    assert later[-1][0] - samples[early][0] > total // 2  # sampled over most of the stream
    growth = max(rss for _, rss in later) - samples[early][1]
    assert growth < 8_000_000, (samples[early], max(later, key=lambda s: s[1]))
