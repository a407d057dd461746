"""`nvc` from the command line: a camera clip transcoded to a Matroska inter track and decoded back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from neuralav import container
from neuralav.container.samples import SAMPLE

NEURALAV = Path(sys.executable).parent / "neuralav"


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEURALAV), *args], capture_output=True, text=True, timeout=600, env=env)


def test_transcode_writes_keyframes_every_g_and_decode_reads_every_frame(use_tiny_nvc, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    neural = tmp_path / "nvc.mkv"
    result = _run("transcode", "-t", "0.4", "-i", str(SAMPLE), "-map", "0:v", "-c:v", "nvc", "-q:v", "2", "-g", "4",
                  str(neural), env=env)
    assert result.returncode == 0, result.stderr
    with av.open(str(neural)) as f:
        packets = [p for p in f.demux(f.streams.video[0]) if p.size]
    assert [p.is_keyframe for p in packets] == [True, False, False, False] * 2 + [True, False][:len(packets) - 8]
    assert len(packets) == 10  # 0.4 s at 25 fps
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_tag_string", "-of", "csv=p=0",
                            str(neural)], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and probe.stdout.strip() == "NNVC"
    with container.open(neural) as f:
        decoded = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    assert len(decoded) == 10 and decoded[0].shape == (288, 352, 3)
    back = tmp_path / "back.mkv"
    result = _run("decode", "-c:v", "ffv1", str(neural), str(back), env=env)
    assert result.returncode == 0, result.stderr
    with av.open(str(back)) as f:
        again = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    assert len(again) == 10
    assert all(np.array_equal(a, b) for a, b in zip(again, decoded))
