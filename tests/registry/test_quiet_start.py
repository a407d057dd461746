"""Creating codecs through the Python API prints nothing (issue 26): TensorFlow's start-up on a
machine without a GPU logs "Unable to register cuDNN factory" and the like, which the command
line always hid and the library printed. Run in a fresh interpreter, where TensorFlow starts."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import av, numpy as np
from neuralav import registry

encoder = registry.create_encoder("wavenet", {"quality": 1}, sample_rate=16000, layout="mono", format="flt")
frame = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.float32), format="flt", layout="mono")
frame.sample_rate = 16000
packets = encoder.encode(frame) + encoder.encode(None)
decoder = registry.create_decoder("wavenet", encoder.header)
samples = sum(f.samples for p in packets + [None] for f in decoder.decode(p))

image = av.VideoFrame.from_ndarray(np.zeros((32, 48, 3), np.uint8), format="rgb24")
cae = registry.create_encoder("cae", {"quality": 1})
(packet,) = cae.encode(image)
(decoded,) = registry.create_decoder("cae", cae.header).decode(packet)
print(samples, decoded.width, decoded.height)
"""


def test_creating_and_running_codecs_through_the_api_prints_nothing_on_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    # Run where a user's program runs, not in the clone (whose folder would be on sys.path).
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1600", "48", "32"]
    assert result.stderr == ""
