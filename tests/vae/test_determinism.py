"""Deterministic decoding (issue item 2): encode in this process, decode in others.

The decoding processes use other TensorFlow configurations (intra-op threads 1
and 2, ``TF_ENABLE_ONEDNN_OPTS`` 0 and 1). They must derive exactly the
encoder's scale indices (no desync) and exactly the encoder-side picture.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from .conftest import photo
from .determinism import assert_identical_everywhere, encode_cases


def test_tiny_model_decodes_identically_under_every_tensorflow_configuration(
        vae_registry, use_tiny_weights, tmp_path):
    images = [("001", photo(160, 112, (150, 250), frame=10)),
              ("002", photo(77, 45, (300, 100), frame=40))]
    # A one-level file, a row of the variable-rate model and a point between two rows (the
    # inverse gain is interpolated at decode time).
    cases = encode_cases(vae_registry, images, qualities=(2, 5, 4.5), folder=tmp_path)
    assert all(len(np.unique(c["indexes"])) >= 5 for c in cases)  # indices really vary
    assert_identical_everywhere(cases, tmp_path, use_tiny_weights)


def _weights_dir() -> Path | None:
    from neuralav.plugins.vae.quality import VARIABLE_RATE, WEIGHTS_DIR

    override = os.environ.get("NEURALAV_VAE_WEIGHTS_DIR")
    folder = Path(override) if override else WEIGHTS_DIR
    return folder if (folder / VARIABLE_RATE.weights).is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_weights_dir() is None,
                    reason="no vae weights shipped yet (plugins/vae/weights/vr.npz); "
                           "set NEURALAV_VAE_WEIGHTS_DIR to test a candidate model")
def test_shipped_model_decodes_kodak_identically_across_the_quality_range(vae_registry, shared_data, tmp_path):
    """Two Kodak images, kodim01 (768x512) and kodim04 (512x768: both orientations; the
    suite's time budget, the other 22 add scenes, not code paths), between them both ends of
    the range, a point between rows and a one-level file, decoded under every TensorFlow
    configuration."""
    from PIL import Image

    paths = sorted((shared_data / "kodak").glob("*.png"))
    assert len(paths) == 24
    images = [(p.stem, np.asarray(Image.open(p).convert("RGB"))) for p in (paths[0], paths[3])]
    assert [a.shape[:2] for _, a in images] == [(512, 768), (768, 512)]
    landscape, portrait = (name for name, _ in images)
    only = {0: {landscape}, 2: {portrait}, 4.25: {landscape}, 7: {portrait}}
    cases = encode_cases(vae_registry, images, qualities=(0, 2, 4.25, 7), folder=tmp_path, only=only)
    assert_identical_everywhere(cases, tmp_path, _weights_dir())
