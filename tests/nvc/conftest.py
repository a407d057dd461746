"""Fixtures of the `nvc` tests: tiny keyframe and residual models, exported for real.

The residual coder's gains are raised so that its latents are not all zero (a fresh
model with unit gains would quantize every residual to nothing, and the tests of the
integer synthesis and of the P-frame chain would pass vacuously; they assert it).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")


@functools.lru_cache(maxsize=None)
def make_tiny_residual_model(seed: int = 5, log_gain: float = 3.0):
    """A tiny residual coder (N=M=8) at the shipped levels, its latents spread, coding-ready."""
    import tensorflow as tf

    from neuralav.plugins.nvc.levels import LMBDAS
    from neuralav.plugins.nvc.model import ResidualModel
    from neuralav.plugins.vae.config import ArchConfig

    tf.keras.utils.set_random_seed(seed)
    model = ResidualModel(ArchConfig.tiny(), LMBDAS)
    model.log_gain.assign(model.log_gain + log_gain + np.arange(len(LMBDAS), dtype=np.float32)[:, None] * 0.5)
    model.log_inverse_gain.assign(model.log_inverse_gain - log_gain)
    model.make_coder()
    return model


def export_tiny_weights(folder: Path) -> Path:
    """Writes the tiny ``residual.npz`` and the tiny ``vae`` ``q1..q4.npz`` into `folder`."""
    from neuralav.plugins.nvc.weights import export_weights
    from tests.vae.conftest import export_tiny_levels

    export_tiny_levels(folder)
    export_weights(make_tiny_residual_model(), folder / "residual.npz")
    return folder


@pytest.fixture(scope="session")
def nvc_tiny_dir(tmp_path_factory) -> Path:
    """A folder holding the tiny residual coder and keyframe models."""
    return export_tiny_weights(tmp_path_factory.mktemp("nvc-weights"))


@pytest.fixture
def use_tiny_nvc(nvc_tiny_dir, monkeypatch) -> Path:
    """Points `nvc` (and its `vae` keyframes) at the tiny weights."""
    monkeypatch.setenv("NEURALAV_NVC_WEIGHTS_DIR", str(nvc_tiny_dir))
    monkeypatch.setenv("NEURALAV_VAE_WEIGHTS_DIR", str(nvc_tiny_dir))
    return nvc_tiny_dir


@pytest.fixture(scope="session")
def nvc_registry():
    """The installed codecs, with `nvc` and `vae` passed explicitly (works from a source tree)."""
    import neuralav.plugins.nvc
    import neuralav.plugins.vae
    from neuralav.registry import build_registry

    return build_registry(plugins=[neuralav.plugins.vae, neuralav.plugins.nvc])


def clip(count: int, start: int = 0, crop: tuple[int, int] | None = None) -> list[np.ndarray]:
    """`count` consecutive frames of the bundled sample clip (foreman 352x288), optionally
    the top-left (height, width) crop of each."""
    from tests.conftest import sample_frame

    frames = [sample_frame(start + i) for i in range(count)]
    if crop:
        frames = [f[:crop[0], :crop[1]].copy() for f in frames]
    return frames
