"""Deterministic decoding (issue 8, item 4) of ``cae`` and ``wavenet`` with their shipped weights.

The bundled sample clip is transcoded for real (``neuralav transcode``) into Matroska: 3
frames of 352x288 video with ``cae`` and 1.5 s of speech with ``wavenet``. The files are
decoded here and in fresh processes with other TensorFlow configurations (intra-op
threads 1 and 2, ``TF_ENABLE_ONEDNN_OPTS`` 0 and 1), each in several batchings of the
same packets (``determinism_worker.py``); every decode must give the same bytes.

Both do, everywhere: ``cae`` because its decoder's float kernels happen to agree, ``wavenet``
by construction (its decoder's synthesis is fixed point, ``plugins/wavenet/fixed.py``: exact
integer products in float64 and a basic-operation ``exp``, so neither TensorFlow's kernels nor
the packet grouping can change a bit). Run this file once more with ``TF_ENABLE_ONEDNN_OPTS=0``
to make this process a fourth configuration.

``vae`` is covered by ``tests/vae/test_determinism.py`` (tiny model, four TensorFlow
configurations, scale indices and pictures). Single cross-process checks of ``cae`` live in
``tests/cae/test_codec.py`` and ``tests/cae/test_shipped_model.py``; the wavenet float
exact equality of streamed and whole-stream synthesis in ``tests/wavenet/test_codec.py``, and
the expected hash of the shipped model's decoded samples in ``tests/wavenet/test_shipped_model.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow_compression")

from neuralav.container.cli import main  # noqa: E402
from neuralav.container.samples import SAMPLE  # noqa: E402
from neuralav.plugins.cae.quality import WEIGHTS_DIR as CAE_WEIGHTS  # noqa: E402
from neuralav.plugins.wavenet.levels import WEIGHTS_DIR as WAVENET_WEIGHTS  # noqa: E402

from . import determinism_worker  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [(1, "0"), (2, "1")]
"""(intra-op threads, TF_ENABLE_ONEDNN_OPTS) of the decoding processes; this process is a third
configuration (TensorFlow's defaults: all cores, oneDNN on)."""

pytestmark = pytest.mark.skipif(
    not (CAE_WEIGHTS / "q2.npz").is_file() or not (WAVENET_WEIGHTS / "wavenet.npz").is_file(),
    reason="shipped cae/wavenet weights not found")


@pytest.fixture(scope="module")
def coded(tmp_path_factory, monkeypatch_module) -> Path:
    folder = tmp_path_factory.mktemp("determinism")
    assert main(["transcode", "-i", str(SAMPLE), "-map", "0:v", "-t", "0.12", "-c:v", "cae", "-q:v", "2",
                 str(folder / "video-cae.mkv")]) == 0
    assert main(["transcode", "-i", str(SAMPLE), "-map", "0:a", "-t", "1.5", "-c:a", "wavenet", "-q:a", "2",
                 str(folder / "audio-wavenet.mkv")]) == 0
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    """The shipped weights: no test-model override may leak in from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)
        patch.delenv("NEURALAV_WAVENET_WEIGHTS", raising=False)
        yield patch


@pytest.fixture(scope="module")
def here(coded) -> dict[str, str]:
    return determinism_worker.decode_all(coded)


@pytest.fixture(scope="module")
def elsewhere(coded):
    """``{(threads, onednn): digests}`` of the decoding processes, each run once."""
    reports = {}

    def run(threads: int, onednn: str) -> dict[str, str]:
        if (threads, onednn) not in reports:
            env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_ENABLE_ONEDNN_OPTS=onednn,
                       TF_CPP_MIN_LOG_LEVEL="2")
            result = subprocess.run([sys.executable, "-m", "tests.hardening.determinism_worker", str(coded),
                                     str(threads)], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
            assert result.returncode == 0, result.stderr[-3000:]
            report = json.loads(result.stdout.strip().splitlines()[-1])
            assert report["config"] == {"intra_op": threads, "onednn": onednn == "1"}
            reports[threads, onednn] = report["digests"]
        return reports[threads, onednn]

    return run


FILES = {"cae": "video-cae.mkv", "wavenet": "audio-wavenet.mkv"}


def _batchings(digests: dict[str, str], codec: str) -> dict[str, str]:
    return {key.split("/")[1]: value for key, value in digests.items() if key.startswith(FILES[codec] + "/")}


@pytest.mark.parametrize("codec", ["cae", "wavenet"])
def test_every_batching_decodes_the_same_bytes_in_one_process(here, codec):
    batchings = _batchings(here, codec)
    assert len(batchings) == 4, batchings
    assert len(set(batchings.values())) == 1, f"`{codec}` batchings disagree: {batchings}"


@pytest.mark.parametrize("codec,threads,onednn", [("cae", 1, "0"), ("cae", 2, "1"), ("wavenet", 1, "0"),
                                                  ("wavenet", 2, "1")])
def test_other_processes_and_tensorflow_configurations_decode_the_same_bytes(here, elsewhere, codec, threads,
                                                                             onednn):
    theirs, ours = _batchings(elsewhere(threads, onednn), codec), _batchings(here, codec)
    assert len(set(theirs.values())) == 1, f"intra-op {threads}, oneDNN {onednn}: `{codec}` batchings disagree"
    assert theirs == ours, f"intra-op {threads}, oneDNN {onednn}: `{codec}` decodes to other bytes than here"
