"""``wavenet`` training: resumes from its checkpoints, logs progress, exports weights the codec loads.

Runs the real trainer for a few steps of the ``tiny`` architecture on a small synthetic
data cache in ``data.prepare``'s format (no Debian packages needed).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")


@pytest.fixture
def cache(tmp_path):
    """A ``data.prepare`` cache of 3 s of noisy tones as `speech` and 2 s as `music`."""
    rng = np.random.default_rng(0)
    manifest = {}
    for kind, seconds in (("speech", 3), ("music", 2)):
        t = np.arange(seconds * 16000) / 16000
        audio = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(len(t))
        np.save(tmp_path / f"{kind}.npy", audio.astype(np.float16))
        manifest[kind] = [[f"synthetic-{kind}", len(t)]]
    (tmp_path / "sources.json").write_text(json.dumps(manifest))
    return tmp_path


def test_training_resumes_and_exports_weights_the_codec_loads(tmp_path, cache, capsys):
    from neuralav.plugins.wavenet import train
    from neuralav.plugins.wavenet.codec import Bundle

    common = ["--run", "t", "--root", str(tmp_path / "runs"), "--config", "tiny", "--batch", "2",
              "--seconds", "0.1", "--data-cache", str(cache), "--log-every", "1", "--save-every", "100"]
    # One step per run: each run traces only the level it trains (tracing is the slow part).
    assert train.main(common + ["--steps", "1"]) == 0
    first = capsys.readouterr().out
    assert "step 1 level 0 loss" in first and "saved step 1" in first
    assert train.main(common + ["--steps", "2"]) == 0
    second = capsys.readouterr().out
    assert "at step 1" in second and "step 2 level 1 loss" in second and "saved step 2" in second
    log = (tmp_path / "runs" / "t" / "commands.log").read_text().splitlines()
    assert len(log) == 2 and "step 1:" in log[1]

    assert train.main(common + ["--export", str(tmp_path / "export")]) == 0
    path = tmp_path / "export" / "wavenet.npz"
    bundle = Bundle(path)
    assert bundle.meta["step"] == 2 and bundle.config.channels == (4, 4, 8, 8)
    with np.load(path, allow_pickle=False) as archive:
        assert {"level0/cdf", "level2/cdf_offset", "w/enc/in_w"} <= set(archive.files)
