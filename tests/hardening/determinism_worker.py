"""Decode the determinism test's Matroska files in one TensorFlow configuration; print digests.

Run as ``python -m tests.hardening.determinism_worker FOLDER INTRA_OP_THREADS`` (from the
repository root, ``TF_ENABLE_ONEDNN_OPTS`` set by the caller), or call :func:`decode_all`
in-process. For every file it decodes the neural track several ways, each a different
batching of the same packets, and returns the SHA-256 of the decoded frames' bytes:

* ``cae``: through :class:`~neuralav.container.reader.Reader` (file order), one decoder
  for all frames, one fresh decoder per frame, frames in reverse order (one per call);
* ``wavenet``: through the reader, and with the decoder's synthesis batch
  (``codec.DECODE_GROUP`` packets per call) set to 1, 3 and 10 packets.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import av


def _digest_frames(frames: list) -> str:
    """SHA-256 over every frame's format, pts and sample/pixel bytes, in order."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(f"{frame.format.name}:{frame.pts}:".encode())
        digest.update(frame.to_ndarray().tobytes())
    return digest.hexdigest()


def _digest_audio(frames: list) -> str:
    """SHA-256 of the concatenated samples (frame boundaries may differ between batchings)."""
    import numpy as np

    if not frames:
        return hashlib.sha256(b"").hexdigest()
    return hashlib.sha256(np.concatenate([f.to_ndarray() for f in frames], axis=1).tobytes()).hexdigest()


def decode_all(folder: Path) -> dict[str, str]:
    """Decode every ``*.mkv`` of ``folder`` in every batching; returns ``{"file/variant": sha256}``."""
    from neuralav import container, registry
    from neuralav.plugins.wavenet import codec as wavenet_codec

    results: dict[str, str] = {}
    for path in sorted(folder.glob("*.mkv")):
        with container.open(path) as reader:
            (track,) = reader.streams
            header = track.neural.header
            packets = list(reader.demux([track]))
        with container.open(path) as reader:
            results[f"{path.name}/reader"] = (_digest_frames if track.type == "video" else _digest_audio)(
                list(reader.decode(reader.streams[0])))
        name = track.codec
        if track.type == "video":
            one = registry.create_decoder(name, header)
            results[f"{path.name}/one-decoder"] = _digest_frames([f for p in packets for f in one.decode(p)])
            results[f"{path.name}/fresh-decoders"] = _digest_frames(
                [f for p in packets for f in registry.create_decoder(name, header).decode(p)])
            backwards = [f for p in reversed(packets) for f in one.decode(p)]
            results[f"{path.name}/reversed"] = _digest_frames(list(reversed(backwards)))
            continue
        default = wavenet_codec.DECODE_GROUP
        try:
            for group in (1, 3, 10):
                wavenet_codec.DECODE_GROUP = group
                decoder = registry.create_decoder(name, header)
                frames = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
                results[f"{path.name}/group-{group}"] = _digest_audio(frames)
        finally:
            wavenet_codec.DECODE_GROUP = default
    return results


def main(argv: list[str]) -> int:
    folder, threads = Path(argv[0]), int(argv[1])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    results = decode_all(folder)
    from tensorflow.python.util import _pywrap_util_port  # only to confirm the oneDNN setting took

    print(json.dumps({"config": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                                 "onednn": bool(_pywrap_util_port.IsMklEnabled())},
                      "digests": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
