"""Bit-exact references: a whole GOP decoded in other processes, oneDNN on/off x 1/2 threads.

A P-frame's decoded pixels are the next P-frame's reference, so one pixel rounded
differently would drift to the end of the GOP. The encoder's references (its closed
loop) are compared with every frame decoded elsewhere, through the registry from the
packet bytes, like any user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from neuralav import registry

from .conftest import clip

CONFIGS = [(1, "0"), (2, "0"), (1, "1"), (2, "1")]
"""(TensorFlow intra-op threads, TF_ENABLE_ONEDNN_OPTS) of the decoding processes."""

_DECODER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import numpy as np
    import tensorflow as tf

    folder, threads = Path(sys.argv[1]), int(sys.argv[2])
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    import av
    import neuralav.plugins.nvc, neuralav.plugins.vae
    from neuralav import registry

    reg = registry.build_registry(plugins=[neuralav.plugins.vae, neuralav.plugins.nvc])
    decoder = registry.create_decoder("nvc", (folder / "header").read_bytes(), registry=reg)
    count = int((folder / "count").read_text())
    frames = [decoder.decode(av.Packet((folder / f"{i}.packet").read_bytes()))[0].to_ndarray(format="rgb24")
              for i in range(count)]
    np.save(folder / f"decoded_{threads}_{os.environ['TF_ENABLE_ONEDNN_OPTS']}.npy", np.stack(frames))
    from tensorflow.python.util import _pywrap_util_port
    print(json.dumps({"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                      "onednn": bool(_pywrap_util_port.IsMklEnabled())}))
""")


def encode_gop(reg, images, folder: Path, quality: int) -> np.ndarray:
    """Encodes `images` as one GOP; writes header and packets; returns the encoder's references."""
    encoder = registry.create_encoder("nvc", {"quality": quality, "g": len(images)}, registry=reg)
    references = []
    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        (packet,) = encoder.encode(frame)
        assert packet.is_keyframe == (i == 0)
        (folder / f"{i}.packet").write_bytes(bytes(packet))
        references.append(np.array(encoder._reference))
    (folder / "header").write_bytes(encoder.header)
    (folder / "count").write_text(str(len(images)))
    return np.stack(references)


def decode_elsewhere(folder: Path, threads: int, onednn: str) -> np.ndarray:
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_ENABLE_ONEDNN_OPTS=onednn,
               TF_CPP_MIN_LOG_LEVEL="2", NEURALAV_DISABLE_PLUGIN_AUTOLOAD="1")
    result = subprocess.run([sys.executable, "-c", _DECODER, str(folder), str(threads)],
                            capture_output=True, text=True, env=env, timeout=3000)
    if result.returncode:
        raise AssertionError(f"decoder process failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    assert reported == {"intra_op": threads, "onednn": onednn == "1"}, reported
    return np.load(folder / f"decoded_{threads}_{onednn}.npy")


def assert_gop_identical_everywhere(references: np.ndarray, folder: Path) -> None:
    with ThreadPoolExecutor(max_workers=len(CONFIGS)) as pool:
        results = list(pool.map(lambda config: decode_elsewhere(folder, *config), CONFIGS))
    problems = [f"frame {i} (intra-op {threads}, oneDNN {onednn}) differs from the encoder's reference"
                for (threads, onednn), decoded in zip(CONFIGS, results)
                for i in range(len(references)) if not np.array_equal(decoded[i], references[i])]
    assert not problems, "\n".join(problems)


def _shipped() -> bool:
    from neuralav.plugins.nvc.levels import WEIGHTS_DIR, WEIGHTS_FILE

    return (WEIGHTS_DIR / WEIGHTS_FILE).is_file() and not os.environ.get("NEURALAV_NVC_WEIGHTS_DIR")


@pytest.mark.slow
@pytest.mark.skipif(not _shipped(), reason="no nvc residual coder shipped (plugins/nvc/weights/residual.npz)")
def test_shipped_model_gop_decodes_identically_under_every_tensorflow_configuration(nvc_registry, tmp_path):
    """A 6-frame CIF GOP of the bundled camera clip at the top level (most residual detail)."""
    images = clip(6, start=30)
    references = encode_gop(nvc_registry, images, tmp_path, quality=4)
    # Not vacuous: P-frames change from frame to frame (real residuals and motion).
    assert all(not np.array_equal(references[i], references[i - 1]) for i in range(1, len(references)))
    assert_gop_identical_everywhere(references, tmp_path)
