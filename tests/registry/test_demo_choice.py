"""``neuralav demo`` picks its codecs by capability (issue 32.3), not by the names cae/wavenet."""

from __future__ import annotations

import os
import subprocess
import sys

from neuralav.container.cli import main
from neuralav.container.samples import SAMPLE


def test_demo_codes_with_another_neural_video_codec_when_cae_is_unusable(tmp_path):
    short = tmp_path / "short.mkv"
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.2", "-c", "copy", str(short)]) == 0
    # cae pinned to a distribution that is not installed; nvc (next by name) installed but without
    # weights: the demo goes on to the first one that starts.
    env = dict(os.environ, NEURALAV_PREFER="cae=nobody", NEURALAV_NVC_WEIGHTS_DIR=str(tmp_path / "none"))
    result = subprocess.run([sys.executable, "-m", "neuralav.container.cli", "demo", "--input", str(short),
                             "--output", str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert "demo: coding video with `vae` and audio with `wavenet`" in result.stdout
    assert "#2 video: vae [neural v1" in result.stdout and "#3 audio: wavenet [neural v1" in result.stdout
    assert (tmp_path / "out" / "decoded.mp4").stat().st_size > 0
