"""Encode here, decode in subprocesses with other TensorFlow thread / oneDNN settings, compare.

Shared by the tiny-model test and the shipped-weights (Kodak x qualities) test; both code with
the variable-rate model, at whole and fractional qualities.
The decoding processes go through the registry like any user (header + packet
bytes from files) and also report the scale indices their decoder derived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

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
    import neuralav.plugins.vae
    from neuralav import registry
    from neuralav.plugins.vae.codec import VAECodec, load_model_file, unpack_payload
    from neuralav.plugins.vae.quality import VARIABLE_RATE
    from neuralav.registry.api import parse_video_packet

    reg = registry.build_registry(plugins=[neuralav.plugins.vae])
    cases = json.loads((folder / "cases.json").read_text())
    out = {}
    for i, case in enumerate(cases):
        header = (folder / f"{i}.header").read_bytes()
        data = (folder / f"{i}.packet").read_bytes()
        (frame,) = registry.create_decoder("vae", header, registry=reg).decode(av.Packet(data))
        out[f"picture_{i}"] = frame.to_ndarray(format="rgb24")
        payload = parse_video_packet(data).payload
        quality, _, side, string = unpack_payload(payload)
        if payload[0] == 1:  # a one-level file's payload
            model, row = load_model_file(quality).model, 0
        else:
            model, row = VAECodec.load_variable_rate().model, quality - VARIABLE_RATE.min_quality
        out[f"indexes_{i}"] = model.decompress(side, string, row, case["width"], case["height"])[1]
    np.savez(folder / f"decoded_{threads}_{os.environ['TF_ENABLE_ONEDNN_OPTS']}.npz", **out)
    from tensorflow.python.util import _pywrap_util_port  # only to confirm the oneDNN setting took
    print(json.dumps({"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                      "onednn": bool(_pywrap_util_port.IsMklEnabled())}))
""")


def encode_cases(reg, images: list[tuple[str, np.ndarray]], qualities, folder: Path,
                 only: dict | None = None) -> list[dict]:
    """Encodes every image at every quality through the registry (or, with `only`, the images
    whose names ``only[quality]`` lists); writes header/packet files.

    Returns:
        One dict per case: name, quality, width, height, and the encoder's
        ``indexes`` and ``reconstruction`` (not written to the case list).
    """
    from neuralav import registry

    cases = []
    for quality in qualities:
        encoder = registry.create_encoder("vae", {"quality": quality}, registry=reg)
        model, row = encoder.loaded.model, encoder_row(encoder)
        for name, image in images:
            if only is not None and name not in only[quality]:
                continue
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = 0, Fraction(1, 25)
            (packet,) = encoder.encode(frame)
            i = len(cases)
            (folder / f"{i}.header").write_bytes(encoder.header)
            (folder / f"{i}.packet").write_bytes(bytes(packet))
            cases.append({"name": name, "quality": quality, "width": image.shape[1],
                          "height": image.shape[0], "indexes": model.compress(image, row)[2],
                          "reconstruction": model.reconstruct(image, row)})
    (folder / "cases.json").write_text(json.dumps(
        [{k: v for k, v in c.items() if k in ("name", "quality", "width", "height")} for c in cases]))
    return cases


def encoder_row(encoder) -> float:
    """The gain position an encoder codes at: row 0 of a one-level file, or the quality's row
    of the variable-rate model."""
    from neuralav.plugins.vae.quality import VARIABLE_RATE

    return 0 if encoder.level_file else encoder.quality - VARIABLE_RATE.min_quality


def decode_elsewhere(folder: Path, threads: int, onednn: str, weights_dir: Path | None) -> dict[str, np.ndarray]:
    """Decodes every case in a fresh process with the given TensorFlow configuration."""
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_ENABLE_ONEDNN_OPTS=onednn,
               TF_CPP_MIN_LOG_LEVEL="2", NEURALAV_DISABLE_PLUGIN_AUTOLOAD="1")
    if weights_dir is not None:
        env["NEURALAV_VAE_WEIGHTS_DIR"] = str(weights_dir)
    result = subprocess.run([sys.executable, "-c", _DECODER, str(folder), str(threads)],
                            capture_output=True, text=True, env=env, timeout=3000)
    if result.returncode:
        raise AssertionError(f"decoder process failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    assert reported == {"intra_op": threads, "onednn": onednn == "1"}, reported
    with np.load(folder / f"decoded_{threads}_{onednn}.npz") as data:
        return {key: data[key] for key in data.files}


def assert_identical_everywhere(cases: list[dict], folder: Path, weights_dir: Path | None) -> None:
    """Every configuration decodes the encoder's indices and pictures bit for bit (lists every desync)."""
    from concurrent.futures import ThreadPoolExecutor

    problems = []
    with ThreadPoolExecutor(max_workers=len(CONFIGS)) as pool:  # one process per configuration, at once
        results = list(pool.map(lambda config: decode_elsewhere(folder, *config, weights_dir), CONFIGS))
    for (threads, onednn), decoded in zip(CONFIGS, results):
        for i, case in enumerate(cases):
            where = f"{case['name']} q{case['quality']} (intra-op {threads}, oneDNN {onednn})"
            if not np.array_equal(decoded[f"indexes_{i}"], case["indexes"]):
                problems.append(f"{where}: scale indices differ (desync)")
            if not np.array_equal(decoded[f"picture_{i}"], case["reconstruction"]):
                problems.append(f"{where}: picture differs from the encoder-side reconstruction")
    assert not problems, "\n".join(problems)
