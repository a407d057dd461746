"""The integer residual synthesis: what it computes, and why float32 computes it exactly."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from neuralav.plugins.nvc import exact

from .conftest import make_tiny_residual_model


def _latent(model, seed=0, shape=(1, 5, 7)):
    rng = np.random.default_rng(seed)
    return np.round(rng.laplace(0, 3, shape + (model.config.latent_channels,))).astype(np.float32)


def test_integer_synthesis_follows_the_trained_layer():
    model = make_tiny_residual_model()
    y_hat = _latent(model)
    for level in range(model.num_levels):
        inverse_gain = tf.exp(model.log_inverse_gain[level])
        trained = model.synthesis_transform(y_hat * inverse_gain).numpy()[0]
        integer = model.integer_synthesis(y_hat, level)
        assert integer.dtype == np.int32 and integer.shape == trained.shape
        assert np.abs(integer).max() > 3  # the fixture's residuals are not all zero
        # Same quantization points; only ties at a rounding boundary may differ, by a step.
        close = np.abs(integer - np.clip(trained, -255, 255)) <= 1.0
        assert close.mean() > 0.99, close.mean()


def test_phase_bound_counts_the_taps_that_reach_one_output():
    kernel = np.ones((5, 5, 2, 3))
    assert exact.phase_bound(kernel) == 9 * 3  # 3 x 3 taps of one parity class x Cin
    kernel[1, 1, 0, 0] = 100  # an odd-odd tap: its class has 2 x 2 taps
    assert exact.phase_bound(kernel) == 2 * 2 * 3 + 99


def test_a_layer_whose_sums_could_leave_float32_exactness_is_refused():
    kernel = np.full((5, 5, 4, 64), 127, np.float32)  # 9 * 64 * 127 * 255 > 2**24
    layer = exact.IntegerLayer(kernel, np.ones(4, np.int64), np.zeros(4, np.int64), 8, True, exact.ACTIVATION_MAX)
    with pytest.raises(ValueError, match="2\\*\\*24"):
        layer.check()


def test_export_coarsens_a_kernel_too_large_for_exact_sums():
    synthesis = exact.QuantizedSynthesis(64, 64)
    for kernel in synthesis.kernels:
        kernel.assign(np.ones(kernel.shape, np.float32))  # every |w| at the maximum
    integer = exact.export_integer(synthesis, np.ones((1, 64), np.float32))
    for layer in integer.layers:
        assert exact.phase_bound(layer.kernel) * layer.input_max < exact.EXACT_LIMIT
    assert integer.layers[1].kernel.max() < exact.KERNEL_MAX  # 9 * 64 * 127 * 255 was too much
    assert integer.layers[0].kernel.max() == exact.KERNEL_MAX  # 9 * 64 * 127 * 127 was not


def test_arrays_round_trip_to_the_same_network():
    model = make_tiny_residual_model()
    again = exact.IntegerSynthesis.from_arrays(model.integer_synthesis.to_arrays())
    y_hat = _latent(model, seed=1)
    assert np.array_equal(again(y_hat, 2), model.integer_synthesis(y_hat, 2))
