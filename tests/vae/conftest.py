"""Fixtures of the `vae` tests: a tiny model whose scale indices really vary, exported for real.

A freshly initialised hyper-synthesis predicts nearly one index everywhere (that of
``HyperSynthesisTransform.INITIAL_SCALE``), which would make determinism tests vacuous. The fixture model's last hyper-synthesis
layer is therefore rescaled so that its indices spread over the whole table
(tests assert that they do), then exported with the real exporter; the codec is
pointed at it with ``NEURALAV_VAE_WEIGHTS_DIR``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")


def spread_indexes(model, scale: float = 40.0, center: float = 32.0, log_gain: float = 4.0) -> None:
    """Makes an untrained model's scale indices cover ``[0, num_scales)``.

    Raises the gains (so the hyper-latent is not all zeros), scales the last
    hyper-synthesis kernel and centres its bias in the index table.
    """
    model.log_gain.assign(model.log_gain + log_gain)
    model.log_inverse_gain.assign(model.log_inverse_gain - log_gain)
    last = model.hyper_synthesis_transform.layers[-1]
    last.kernel_parameter.assign(last.kernel_parameter * scale)
    bias = np.full(last.bias_parameter.shape, center, np.float32)
    if model.config.mean_scale:  # means around 0, spread by the scaled kernel
        bias[model.config.latent_channels:] = 0
    last.bias_parameter.assign(bias)


@functools.lru_cache(maxsize=None)
def make_tiny_model(seed: int = 3, lmbdas: tuple[float, ...] | None = None, log_gain: float = 4.0,
                    mean_scale: bool = False):
    """A tiny VAE (N=M=8) with spread scale indices, coding-ready (built once per argument set).

    Args:
        seed: TensorFlow seed of the initial weights.
        lmbdas: λ of its levels (gain rows); default :data:`quality.LMBDAS` (four levels).
        log_gain: Added to the log gains by :func:`spread_indexes`.
        mean_scale: A mean-scale hyperprior (its means spread too).
    """
    import tensorflow as tf

    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.quality import LMBDAS

    tf.keras.utils.set_random_seed(seed)
    model = VAEModel(ArchConfig.tiny(mean_scale), LMBDAS if lmbdas is None else lmbdas)
    spread_indexes(model, log_gain=log_gain)
    model.make_coder()
    return model


def make_tiny_level_model(quality: int, seed: int = 3):
    """The tiny one-level model of `quality` (1..4), shaped like a shipped ``q{N}.npz``.

    Higher levels get larger gains, so their rates and PSNRs rise as a trained
    model's do.
    """
    from neuralav.plugins.vae.quality import LEVELS

    return make_tiny_model(seed, (LEVELS[quality].lmbda,), log_gain=3.0 + 0.5 * quality)


def make_tiny_variable_rate_model(seed: int = 3):
    """The tiny variable-rate model, shaped like the shipped ``vr.npz``: a mean-scale hyperprior
    with a gain row per integer quality 0..7, whose gains grow with the quality as a trained
    model's do."""
    import numpy as np

    from neuralav.plugins.vae.quality import VARIABLE_RATE, lmbda_of

    qualities = np.arange(VARIABLE_RATE.min_quality, VARIABLE_RATE.max_quality + 1)
    model = make_tiny_model.__wrapped__(seed, tuple(lmbda_of(q) for q in qualities), log_gain=3.0,
                                        mean_scale=True)
    rise = (0.5 * (qualities - 3.0))[:, None].astype(np.float32)
    model.log_gain.assign(model.log_gain + rise)
    model.log_inverse_gain.assign(model.log_inverse_gain - rise)
    return model


def export_tiny_levels(folder: Path, seed: int = 3) -> Path:
    """Writes ``q1..q4.npz`` of :func:`make_tiny_level_model` and ``vr.npz`` of
    :func:`make_tiny_variable_rate_model` into `folder` (real exporter)."""
    from neuralav.plugins.vae.quality import LEVELS, VARIABLE_RATE
    from neuralav.plugins.vae.weights import export_weights

    folder.mkdir(parents=True, exist_ok=True)
    for quality, level in LEVELS.items():
        export_weights(make_tiny_level_model(quality, seed), folder / level.weights)
    export_weights(make_tiny_variable_rate_model(seed), folder / VARIABLE_RATE.weights)
    return folder


def photo(width: int = 53, height: int = 37, offset: tuple[int, int] = (200, 300),
          frame: int = 10) -> np.ndarray:
    """A real photographic crop (HxWx3 uint8): frame `frame` of the bundled sample clip
    (352x288 camera footage) from ``offset`` (row, column), moved in to fit the frame."""
    from tests.conftest import sample_frame

    array = sample_frame(frame)
    y = min(offset[0], array.shape[0] - height)
    x = min(offset[1], array.shape[1] - width)
    return array[y:y + height, x:x + width].copy()


@pytest.fixture(scope="session")
def tiny_weights_dir(tmp_path_factory) -> Path:
    """A folder holding the tiny ``q1..q4.npz`` (:func:`export_tiny_levels`)."""
    return export_tiny_levels(tmp_path_factory.mktemp("vae-weights"))


@pytest.fixture
def use_tiny_weights(tiny_weights_dir, monkeypatch) -> Path:
    """Points the codec at the tiny weights."""
    monkeypatch.setenv("NEURALAV_VAE_WEIGHTS_DIR", str(tiny_weights_dir))
    return tiny_weights_dir


@pytest.fixture(scope="session")
def vae_registry():
    """The installed codecs, with the `vae` plugin also passed explicitly (so that the
    vae tests run from a source tree whose entry points are not installed)."""
    import neuralav.plugins.vae
    from neuralav.registry import build_registry

    return build_registry(plugins=[neuralav.plugins.vae])
