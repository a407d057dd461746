"""Fixtures of the ``wavenet`` tests: a small synthetic training-data cache."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A ``data.prepare`` cache of 3 s of noisy tones as `speech` and 2 s as `music`."""
    tmp_path = tmp_path_factory.mktemp("cache")
    rng = np.random.default_rng(0)
    manifest = {}
    for kind, seconds in (("speech", 3), ("music", 2)):
        t = np.arange(seconds * 16000) / 16000
        audio = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(len(t))
        np.save(tmp_path / f"{kind}.npy", audio.astype(np.float16))
        manifest[kind] = [[f"synthetic-{kind}", len(t)]]
    (tmp_path / "sources.json").write_text(json.dumps(manifest))
    return tmp_path
