"""`nvc` from the command line: a camera clip transcoded to a Matroska inter track, read back.

(`neuralav decode` of inter tracks, broken chains and `--ignore-errors` are tested with the
example plugin's `zlibp`, tests/container/test_inter_codecs.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av

from neuralav import container
from neuralav.container.samples import SAMPLE

NEURALAV = Path(sys.executable).parent / "neuralav"


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEURALAV), *args], capture_output=True, text=True, timeout=600, env=env)


def test_transcode_writes_keyframes_every_g_and_the_reader_decodes_every_frame(use_tiny_nvc, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    neural = tmp_path / "nvc.mkv"
    result = _run("transcode", "-t", "0.24", "-i", str(SAMPLE), "-map", "0:v", "-c:v", "nvc", "-q:v", "2", "-g", "4",
                  str(neural), env=env)
    assert result.returncode == 0, result.stderr
    with av.open(str(neural)) as f:
        packets = [p for p in f.demux(f.streams.video[0]) if p.size]
    assert [p.is_keyframe for p in packets] == [True, False, False, False, True, False]  # 0.24 s at 25 fps
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_tag_string", "-of", "csv=p=0",
                            str(neural)], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and probe.stdout.strip() == "NNVC"
    with container.open(neural) as f:
        decoded = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    assert len(decoded) == 6 and decoded[0].shape == (288, 352, 3)
