"""Fixtures of the `cae` tests: a tiny variable-rate model, exported for real."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def make_tiny_variable_rate_model(seed: int = 3):
    """A tiny (N=M=8) variable-rate model shaped like the shipped ``vr.npz`` (a gain row per
    integer quality 0..7), coding-ready; its gains are raised so that even its lowest
    quality codes more than all-zero latents."""
    import numpy as np
    import tensorflow as tf

    from neuralav.plugins.cae.config import ArchConfig
    from neuralav.plugins.cae.quality import VARIABLE_RATE, lmbda_of
    from neuralav.plugins.cae.variable_rate import VariableRateCAE

    tf.keras.utils.set_random_seed(seed)
    qualities = np.arange(VARIABLE_RATE.min_quality, VARIABLE_RATE.max_quality + 1)
    model = VariableRateCAE(ArchConfig.tiny(), [lmbda_of(q) for q in qualities])
    model.log_gain.assign(model.log_gain + 2.0)
    model.log_inverse_gain.assign(model.log_inverse_gain - 2.0)
    model.make_coder()
    return model
